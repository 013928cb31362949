"""`evalbook.bureau.results`: the bureau's results as pandas DataFrames, for analysts in Jupyter.

From a folder of departments' workbooks the files are scored exactly as `evalbook batch` scores
them; from batch summaries (汇总.xlsx) the tables are read back exactly as `evalbook merge` reads
them.  Either way the rows come from the same Collector and the same tidy tables as the CSV files
of `batch --csv`, so the two give equal DataFrames.  pandas is imported here only, when called:
scoring a workbook never loads it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas


def results(*paths: str | os.PathLike, jobs: int | None = None) -> dict[str, "pandas.DataFrame"]:
    """部门、部门指标、专项资金、专项指标、问题清单、无法读取 as DataFrames (column names in Chinese).

    `paths`: folders or workbooks of departments (scored as `batch` does, a summary among them
    skipped), or one or more summaries written by `batch`/`merge` (read as `merge` does).  A score
    shown as 待补充 is NaN.  `jobs`: worker processes for scoring (default: one per CPU).
    """
    import pandas as pd

    from evalbook.bureau.batch import default_jobs, score_all, spill_folder
    from evalbook.bureau.discover import discover
    from evalbook.bureau.merge import read_summary
    from evalbook.bureau.summary import Collector, is_summary
    from evalbook.bureau.tables import tables
    from evalbook.core.errors import WorkbookUnusable

    if not paths:
        raise WorkbookUnusable("请给出部门工作簿所在的文件夹，或batch生成的汇总表")
    files = [Path(p) for p in paths]
    summaries = all(p.is_file() and is_summary(p) for p in files)
    with spill_folder("evalbook-batch-") as spill:
        collector = Collector(spill)
        try:
            if summaries:
                for path in files:
                    read_summary(path, collector)
            else:
                for result in score_all(discover([str(p) for p in files]), jobs or default_jobs()):
                    collector.add(result)
            return {table.name: pd.DataFrame.from_records(list(table.rows), columns=list(table.columns))
                    for table in tables(collector)}
        finally:
            collector.close()
