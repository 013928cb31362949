"""The finance bureau's side: a folder of department workbooks scored into one summary, and
summaries merged; `results` gives the same as pandas DataFrames."""

from evalbook.bureau.analysis import results  # the analysts' entry point: evalbook.bureau.results(path)

__all__ = ["results"]
