"""The finance bureau's side: a folder of department workbooks scored into one summary, and
summaries merged."""
