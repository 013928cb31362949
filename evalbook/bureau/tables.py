"""The bureau's results as tidy tables: one row per department, per department × indicator, per
fund, per fund × indicator, per finding, per unreadable file.

The same Collector queries feed the summary's sheets, the CSV files of `batch --csv` and the
DataFrames of `evalbook.bureau.results`, so a table means the same wherever it is read.  A number is a float,
or None where the workbook shows 待补充 (blank in a CSV, NaN in pandas).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterator, NamedTuple

from evalbook.bureau.summary import (
    ERRORS, FAILED_COLUMNS, FILE, FINDING_COLUMNS, FRAMEWORK, FUND_COLUMNS, FUND_COUNT, FUND_INDICATOR_COLUMNS,
    FUND_SCORE, GRADE, HINTS, INDICATOR_COLUMNS, NO_UNIT, RANK, SELF_GAP, SELF_TOTAL, TOTAL, UNIT,
    Collector,
)
from evalbook.core.errors import WorkbookUnusable
from evalbook.core.textsafe import formula_safe

DEPARTMENT_COLUMNS = (FILE, UNIT, FRAMEWORK, RANK, TOTAL, GRADE, ERRORS, HINTS, SELF_TOTAL, SELF_GAP,
                      FUND_COUNT, FUND_SCORE)


class Table(NamedTuple):
    name: str  # also the CSV file's name and, for the summary, its sheet's
    columns: tuple[str, ...]
    rows: Iterator[tuple]


def _unit(unit: str | None) -> str:
    return unit or NO_UNIT


def _departments(collector: Collector) -> Iterator[tuple]:
    """In 汇总's order: framework by framework, each ranked on its own."""
    for label in collector.labels():
        for rank, (name, unit, _scores, total, grade, errors, hints, self_total, self_gap, fund_count,
                   fund_score) in collector.ranked(label):
            yield (name, _unit(unit), label, rank, total, grade, errors, hints, self_total, self_gap,
                   fund_count, fund_score if fund_count else None)


def _indicators(collector: Collector) -> Iterator[tuple]:
    for name, unit, *rest in collector.indicators():
        yield (name, _unit(unit), *rest)


def _funds(collector: Collector) -> Iterator[tuple]:
    for name, unit, *rest in collector.funds():
        yield (name, _unit(unit), *rest)


def _fund_indicators(collector: Collector) -> Iterator[tuple]:
    for name, unit, *rest in collector.fund_indicators():
        yield (name, _unit(unit), *rest)


def _findings(collector: Collector) -> Iterator[tuple]:
    for name, unit, *rest in collector.findings():
        yield (name, _unit(unit), *rest)


def tables(collector: Collector) -> list[Table]:
    """Every table, in the order a reader meets them; rows are produced as they are read."""
    return [
        Table("部门", DEPARTMENT_COLUMNS, _departments(collector)),
        Table("部门指标", INDICATOR_COLUMNS, _indicators(collector)),
        Table("专项资金", FUND_COLUMNS, _funds(collector)),
        Table("专项指标", FUND_INDICATOR_COLUMNS, _fund_indicators(collector)),
        Table("问题清单", FINDING_COLUMNS, _findings(collector)),
        Table("无法读取", FAILED_COLUMNS, iter(collector.failures())),
    ]


# ---- CSV ----------------------------------------------------------------------------------------


def check_csv_folder(folder: str) -> Path:
    """The folder for `--csv`, made if missing (before any file is scored, so a typo costs nothing)."""
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise WorkbookUnusable(f"“{path}”不是文件夹；--csv 请给出保存CSV文件的文件夹")
    if not path.parent.is_dir():
        raise WorkbookUnusable(f"保存CSV文件的文件夹“{path.parent}”不存在")
    try:
        path.mkdir(exist_ok=True)
    except OSError as exc:
        from evalbook.adapters.package import describe_os_error

        raise WorkbookUnusable(f"无法创建文件夹“{path}”（{describe_os_error(exc)}）") from None
    return path


def csv_cell(value: object) -> object:
    """Text stays text when Excel opens the file: a leading = + - @ gets Excel's apostrophe.  A
    whole number is written without ".0" (76, not 76.0); a missing one is an empty cell."""
    if isinstance(value, str):
        return formula_safe(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return "" if value is None else value


def write_csv(folder: Path, collector: Collector) -> list[Path]:
    """One UTF-8 file with a byte-order mark (so Excel reads the Chinese right) per table."""
    from evalbook.adapters.package import atomic_write

    written = []
    for table in tables(collector):
        def fill(fh, table=table):
            text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
            writer = csv.writer(text)
            writer.writerow(table.columns)
            for row in table.rows:
                writer.writerow([csv_cell(v) for v in row])
            text.flush()
            text.detach()  # leave the file to atomic_write, which syncs and closes it

        written.append(atomic_write(folder / f"{table.name}.csv", fill))
    return written

