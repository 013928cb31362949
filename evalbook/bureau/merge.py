"""`evalbook merge`: several 汇总.xlsx (one per folder, county or machine) into one, re-ranked.

Past one machine the batch is split by folder and each part runs `evalbook batch` on its own;
this reads the parts' 汇总, 专项资金, 问题清单, 无法读取, 框架 and the 图表 rate table back and writes one summary
exactly as `batch` would have, with ranks and averages over everyone.  Averages combine as
count-weighted means, so the merged 得分率 equals the one a single batch would give.

A part that is not a batch summary at all (a department's workbook given by mistake) stops the
merge (exit 2) rather than silently leaving a county out of the ranking.  A part that is a summary
but damaged or hand-edited is merged not at all, rather than in part: it is listed in 无法读取
with the cell at fault, the others are merged, and the exit code is 2.
"""

from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path

from evalbook.bureau import summary as S
from evalbook.bureau.frameworks import SEED, FrameworkInfo, union_keys
from evalbook.bureau.summary_book import write_summary
from evalbook.bureau.tables import check_csv_folder, write_csv
from evalbook.core.errors import WorkbookUnusable
from evalbook.core.numbers import PENDING
from evalbook.core.numbers import quote
from evalbook.core.textsafe import terminal_safe



def cmd_merge(args) -> int:
    from evalbook.bureau.discover import check_output, check_writable, discover

    target = check_output(args.output)
    # anything found that is not a summary stops the merge with its name: better than a county
    # silently missing from the ranking
    parts = discover(args.inputs, target)
    check_writable(target)
    csv_folder = check_csv_folder(args.csv) if args.csv else None
    tally, duplicates, without_funds, unreadable = merge_summaries(parts, target, csv_folder)
    for name, reason in unreadable:
        print(f"evalbook: 注意：{terminal_safe(reason)}（已列入“无法读取”表）", file=sys.stderr)
    if without_funds:
        shown = terminal_safe("、".join(without_funds[:3])) + ("等" if len(without_funds) > 3 else "")
        print(f"evalbook: 注意：{shown}由旧版evalbook生成，没有专项资金信息；合并结果中这些部门的专项资金为空，"
              "如需要请用新版重新运行batch", file=sys.stderr)
    if duplicates:
        shown = terminal_safe("、".join(duplicates[:3])) + ("等" if len(duplicates) > 3 else "")
        print(f"evalbook: 注意：有{len(duplicates)}个文件在多份汇总中重复出现（{shown}），请核对是否重复汇总",
              file=sys.stderr)
    if tally.framework_note:
        print(f"evalbook: 提示：{terminal_safe(tally.framework_note)}", file=sys.stderr)
    csv_note = f"；CSV表格已写入：{terminal_safe(csv_folder)}" if csv_folder is not None else ""
    print(f"合并{len(parts)}份汇总，{tally.line()}；合并结果已写入：{terminal_safe(target)}{csv_note}")
    return tally.exit_code()


class NotASummary(WorkbookUnusable):
    """A part that is not a batch summary at all (a department's workbook given by mistake):
    the whole merge stops, rather than silently leaving a county out of the ranking."""


class _Discard:
    """A collector that keeps nothing: the first, checking read of a part (its frameworks are
    checked against those already merged, so a clash leaves nothing of the part behind)."""

    def __init__(self, merged: S.Collector):
        self.merged = merged

    def add_framework(self, info: FrameworkInfo) -> None:
        known = self.merged.frameworks.get(info.label)
        if known is not None and known != info:
            self.merged.add_framework(info)  # raises, naming the framework

    def add(self, result) -> None: ...
    def add_finding(self, *fields) -> None: ...
    def add_fund(self, *fields) -> None: ...
    def add_indicator(self, *fields) -> None: ...
    def add_fund_indicator(self, *fields) -> None: ...
    def add_rates(self, *fields) -> None: ...


def merge_summaries(parts, target: Path, csv_folder: Path | None = None):
    """Read every part (a `batch.Task`), then write the merged summary (and the tidy tables to
    `csv_folder`); returns (Tally, duplicated
    file names, names of parts made before funds were summarised, (part, reason) of the parts that
    could not be read and are listed in 无法读取)."""
    with tempfile.TemporaryDirectory(prefix="evalbook-merge-") as spill:
        collector = S.Collector(spill)
        try:
            without_funds, unreadable = [], []
            for part in parts:
                reason = _merge_one(part, collector)
                if reason is True:
                    continue
                if reason is False:
                    without_funds.append(part.name)
                else:
                    unreadable.append((part.name, reason))
            duplicates = collector.duplicates()
            write_summary(target, collector)
            if csv_folder is not None:
                write_csv(csv_folder, collector)
            return collector.finish(), duplicates, without_funds, unreadable
        finally:
            collector.close()


def _merge_one(part, collector: S.Collector) -> bool | str:
    """Adds one part to `collector`: True, or False for a part without 专项资金; a part that is
    damaged or hand-edited adds nothing but its row in 无法读取, and its reason is returned.

    The part is read twice: once to check every cell, then into the collector, so a part with one
    bad cell in its last row leaves no half of itself in the ranking (and memory stays flat)."""
    path = Path(part.path)
    try:
        if part.problem is not None:
            raise WorkbookUnusable(part.problem)  # a pipe, a broken link: never opened
        read_summary(path, _Discard(collector))
        return read_summary(path, collector)
    except NotASummary:
        raise
    except WorkbookUnusable as exc:
        reason = str(exc)
    except Exception as exc:  # one bad part must never stop the merge
        reason = f"读取汇总表“{path.name}”时发生意外错误（{type(exc).__name__}），请把该文件发给技术支持"
    collector.add({"ok": False, "name": part.name, "reason": reason})
    return reason


def read_summary(path: Path, collector) -> bool:
    """Add one part to `collector`; False when it has no 专项资金 sheet (made by an older version,
    which is still worth merging, but its departments' funds are unknown rather than none)."""
    from openpyxl import load_workbook

    from evalbook.adapters.package import Package

    Package(path).close()  # the same zip-bomb and corruption checks as any workbook we open
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise WorkbookUnusable(f"无法打开汇总表“{path.name}”（{type(exc).__name__}）") from None
    try:
        missing = [s for s in (S.SUMMARY_SHEET, S.FINDINGS_SHEET, S.FAILED_SHEET) if s not in wb.sheetnames]
        if missing:
            raise NotASummary(f"“{path.name}”不是evalbook batch生成的汇总表（缺少“{'”“'.join(missing)}”表）")
        frameworks = _read_frameworks(wb, path)
        for info in frameworks.values():
            collector.add_framework(info)
        # a summary from before frameworks has no 框架 column: all its departments used the seed's
        head = S.SUMMARY_HEAD if S.FRAMEWORKS_SHEET in wb.sheetnames else S.SUMMARY_HEAD[:-1]
        columns = head + union_keys(frameworks.values()) + S.SUMMARY_TAIL
        for row in _rows(wb[S.SUMMARY_SHEET], columns, path, optional=(S.FUND_COUNT, S.FUND_SCORE)):
            collector.add(_department(row, frameworks))
        for row in _rows(wb[S.FINDINGS_SHEET], S.FINDING_COLUMNS, path):
            if _text(row["文件"]) == S.WHOLE_SUMMARY:
                continue  # the part's own note on mixed frameworks: the merged summary writes its own
            collector.add_finding(_text(row["文件"]), _unit(row["单位"]), _text(row["级别"]), _text(row["工作表"]),
                                  _text(row["单元格"]), _text(row["说明"]))
        for row in _rows(wb[S.FAILED_SHEET], S.FAILED_COLUMNS, path):
            collector.add({"ok": False, "name": _text(row["文件"]), "reason": _text(row["原因"])})
        has_funds = S.FUNDS_SHEET in wb.sheetnames
        if has_funds:
            for row in _rows(wb[S.FUNDS_SHEET], S.FUND_COLUMNS, path):
                collector.add_fund(_text(row[S.FILE]), _unit(row[S.UNIT]), _fund(row))
        # the tidy sheets; a summary made before them merges without (its 汇总 still has every score)
        if S.INDICATORS_SHEET in wb.sheetnames:
            for row in _rows(wb[S.INDICATORS_SHEET], S.INDICATOR_COLUMNS, path):
                collector.add_indicator(*_indicator(row, frameworks))
        if S.FUND_INDICATORS_SHEET in wb.sheetnames:
            for row in _rows(wb[S.FUND_INDICATORS_SHEET], S.FUND_INDICATOR_COLUMNS, path):
                collector.add_fund_indicator(
                    _text(row[S.FILE]), _unit(row[S.UNIT]), _count(row, S.FUND_NUMBER, blank=None),
                    _text(row[S.FUND_NAME]), _text(row[S.LEVEL1]), _text(row[S.LEVEL2]), _text(row[S.LEVEL3]),
                    _number(row, S.WEIGHT), _number(row, S.RATIO), _number(row, S.SCORE))
        if S.CHART_SHEET in wb.sheetnames:
            _read_rates(wb[S.CHART_SHEET], collector, path, frameworks)
        return has_funds
    finally:
        wb.close()


class _Row:
    """One row of a part's sheet, by header name, that can name the cell a value came from."""

    __slots__ = ("path", "sheet", "number", "values", "where")

    def __init__(self, path: Path, sheet: str, number: int, values: tuple, where: dict[str, int]):
        self.path, self.sheet, self.number, self.values, self.where = path, sheet, number, values, where

    def __getitem__(self, column: str):
        i = self.where.get(column)
        return self.values[i] if i is not None and i < len(self.values) else None

    def bad(self, column: str, problem: str) -> WorkbookUnusable:
        from openpyxl.utils import get_column_letter

        i = self.where.get(column, 0)
        return WorkbookUnusable(
            f"汇总表“{self.path.name}”的“{self.sheet}”表{get_column_letter(i + 1)}{self.number}单元格（{column}）"
            f"{problem}，可能被手工改动过；该汇总表未合并")


def _rows(ws, columns: tuple[str, ...], path: Path, optional: tuple[str, ...] = (), header_row: int = 1):
    """Rows as _Row, found by header name so moved columns still read right.

    `optional` columns may be missing (summaries made before they existed): they read as None.
    """
    rows = ws.iter_rows(min_row=header_row, values_only=True)
    header = next(rows, None) or ()
    where: dict[str, int] = {}
    for i, title in enumerate(header):
        if title is not None:
            where.setdefault(str(title).strip(), i)  # a copied column: the first one is batch's
    missing = [c for c in columns if c not in where and c not in optional]
    if missing:
        raise WorkbookUnusable(f"汇总表“{path.name}”的“{ws.title}”表缺少列：{'、'.join(missing)}；该汇总表未合并")
    for number, values in enumerate(rows, start=header_row + 1):
        if values is None or all(v is None or v == "" for v in values):
            continue
        yield _Row(path, ws.title, number, values, where)


def _text(value) -> str:
    return "" if value is None else str(value)


def _unit(value) -> str:
    text = _text(value)
    return "" if text == S.NO_UNIT else text


def _number(row: _Row, column: str) -> float | None:
    value = row[column]
    if value is None or value == "" or value == PENDING:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise row.bad(column, f"的值{quote(value)}不是数字")
    if not math.isfinite(value):
        raise row.bad(column, "不是有效数字")
    return float(value)


def _count(row: _Row, column: str, blank: int | None = 0) -> int | None:
    """A count or a number (专项序号): a whole number from 0 to MAX_COUNT."""
    number = _number(row, column)
    if number is None:
        return blank
    if number != int(number) or not 0 <= number <= MAX_COUNT:
        raise row.bad(column, f"的值{quote(row[column])}不是0到{MAX_COUNT}之间的整数")
    return int(number)


MAX_COUNT = 10 ** 9  # far above any real count, far below what SQLite's integers can hold


def _grade(row: _Row):
    grade = _text(row[S.GRADE])
    return None if grade in ("", PENDING) else grade


def _read_frameworks(wb, path: Path) -> dict[str, FrameworkInfo]:
    """The part's 框架 sheet: label → the framework's indicators in order; the seed's alone for a
    summary made before frameworks were summarised."""
    if S.FRAMEWORKS_SHEET not in wb.sheetnames:
        return {SEED.label: SEED}
    found: dict[str, tuple[_Row, list[tuple[str, str]]]] = {}
    for row in _rows(wb[S.FRAMEWORKS_SHEET], S.FRAMEWORK_COLUMNS, path):
        label = _text(row[S.FRAMEWORK])
        first, indicators = found.setdefault(label, (row, []))
        for column in (S.FRAMEWORK_NAME, S.FINGERPRINT):
            if _text(row[column]) != _text(first[column]):
                raise row.bad(column, f"与同一框架第{first.number}行的不同")
        if _count(row, S.POSITION, blank=None) != len(indicators) + 1:
            raise row.bad(S.POSITION, f"应为{len(indicators) + 1}")
        key = _text(row[S.INDICATOR])
        if not key or key in (k for k, _ in indicators):
            raise row.bad(S.INDICATOR, "为空或重复")
        indicators.append((key, _text(row[S.LEVEL2])))
    frameworks = {}
    for label, (first, indicators) in found.items():
        info = FrameworkInfo(_text(first[S.FRAMEWORK_NAME]), _text(first[S.FINGERPRINT]),
                             tuple(k for k, _ in indicators), tuple(level2 for _, level2 in indicators))
        if info.label != label:
            raise first.bad(S.FRAMEWORK, f"应为“{info.label}”（框架名称加指纹前几位）")
        frameworks[label] = info
    return frameworks


def _department(row: _Row, frameworks: dict[str, FrameworkInfo]) -> dict:
    label = _text(row[S.FRAMEWORK]) if S.FRAMEWORK in row.where else SEED.label
    info = frameworks.get(label)
    if info is None:
        raise row.bad(S.FRAMEWORK, f"的框架{quote(label)}不在“{S.FRAMEWORKS_SHEET}”表中")
    fund_count = _count(row, S.FUND_COUNT)
    return {
        "ok": True, "name": _text(row[S.FILE]), "path": _text(row[S.FILE]), "unit": _unit(row[S.UNIT]),
        "framework": info.name, "fingerprint": info.fingerprint, "keys": info.keys, "level2": info.level2,
        "scores": [_number(row, k) for k in info.keys],
        "rates": None,  # averages come from the parts' rate tables, weighted by their counts
        "total": _number(row, S.TOTAL),
        "grade": _grade(row),
        "self_total": _number(row, S.SELF_TOTAL),
        "self_gap": _number(row, S.SELF_GAP),
        "errors": _count(row, S.ERRORS),
        "hints": _count(row, S.HINTS),
        "findings": [],
        "funds": [],  # the part's 专项资金 sheet is read on its own, like 问题清单
        "fund_count": fund_count,
        "fund_score": _number(row, S.FUND_SCORE),
    }


def _indicator(row: _Row, frameworks: dict[str, FrameworkInfo]) -> tuple:
    label = _text(row[S.FRAMEWORK])
    info = frameworks.get(label)
    if info is None:
        raise row.bad(S.FRAMEWORK, f"的框架{quote(label)}不在“{S.FRAMEWORKS_SHEET}”表中")
    key = _text(row[S.INDICATOR])
    if key not in info.keys:
        raise row.bad(S.INDICATOR, f"{quote(key)}不是框架“{label}”的指标")
    return (_text(row[S.FILE]), _unit(row[S.UNIT]), label, _count(row, S.POSITION), _text(row[S.LEVEL2]), key,
            _number(row, S.WEIGHT), _number(row, S.VALUE), _number(row, S.SCORE), _number(row, S.SELF_SCORE))


def _fund(row: _Row) -> dict:
    return {
        "number": _count(row, S.FUND_NUMBER, blank=None), "name": _text(row[S.FUND_NAME]),
        "budget": _number(row, S.FUND_BUDGET),
        "spent": _number(row, S.FUND_SPENT),
        "rate": _number(row, S.FUND_RATE),
        "score": _number(row, S.SCORE),
        "grade": _grade(row),
    }


def _read_rates(ws, collector, path: Path, frameworks: dict[str, FrameworkInfo]) -> None:
    """The part's 图表 rate table: one row per indicator of each framework; an indicator no
    department of the part scored has 0 and no average (and openpyxl gives such a row fewer cells)."""
    try:
        rows = _rows(ws, S.RATE_COLUMNS, path, optional=(S.FRAMEWORK,), header_row=S.RATES_HEADER_ROW)
        first = next(rows, None)
    except WorkbookUnusable:
        return  # a summary from before the rate table: its departments still merge, unaveraged
    for row in ([first] if first is not None else []) + list(rows):
        if row["计分单位数"] is None:
            break  # the table ends where the tally line starts
        label = _text(row[S.FRAMEWORK]) if S.FRAMEWORK in row.where else SEED.label
        if label not in frameworks:
            raise row.bad(S.FRAMEWORK, f"的框架{quote(label)}不在“{S.FRAMEWORKS_SHEET}”表中")
        key = _text(row["指标"])
        if key not in frameworks[label].keys:
            raise row.bad("指标", f"{quote(key)}不是框架“{label}”的指标")
        count = _count(row, "计分单位数")
        average = _number(row, "平均得分率")
        if count and average is None:
            raise row.bad("平均得分率", "为空，而计分单位数不为0")
        if count:
            collector.add_rates(label, key, average, count)
