"""`evalbook merge`: several 汇总.xlsx (one per folder, county or machine) into one, re-ranked.

Past one machine the batch is split by folder and each part runs `evalbook batch` on its own;
this reads the parts' 汇总, 专项资金, 问题清单, 无法读取 and the 图表 rate table back and writes one summary
exactly as `batch` would have, with ranks and averages over everyone.  Averages combine as
count-weighted means, so the merged 得分率 equals the one a single batch would give.

A merge is all or nothing: a part that is not a batch summary stops it (exit 2) rather than
silently leaving a county out of the ranking.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from evalbook.department.framework import seed_framework
from . import summary as S
from evalbook.core.errors import WorkbookUnusable
from evalbook.core.numbers import PENDING

EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2


def cmd_merge(args) -> int:
    from .batch import check_output, check_writable, discover

    target = check_output(args.output)
    # anything found that is not a summary stops the merge with its name: better than a county
    # silently missing from the ranking
    parts = [Path(t.path) for t in discover(args.inputs, target)]
    check_writable(target)
    tally, duplicates, without_funds = merge_summaries(parts, target)
    if without_funds:
        shown = "、".join(without_funds[:3]) + ("等" if len(without_funds) > 3 else "")
        print(f"evalbook: 注意：{shown}由旧版evalbook生成，没有专项资金信息；合并结果中这些部门的专项资金为空，"
              "如需要请用新版重新运行batch", file=sys.stderr)
    if duplicates:
        shown = "、".join(duplicates[:3]) + ("等" if len(duplicates) > 3 else "")
        print(f"evalbook: 注意：有{len(duplicates)}个文件在多份汇总中重复出现（{shown}），请核对是否重复汇总",
              file=sys.stderr)
    print(f"合并{len(parts)}份汇总，{tally.line()}；合并结果已写入：{target}")
    if tally.unreadable:
        return EXIT_UNUSABLE
    return EXIT_FINDINGS if tally.with_errors else EXIT_OK


def merge_summaries(parts: list[Path], target: Path):
    """Read every part, then write the merged summary; returns (Tally, duplicated file names,
    names of parts made before funds were summarised)."""
    with tempfile.TemporaryDirectory(prefix="evalbook-merge-") as spill:
        collector = S.Collector(spill)
        try:
            without_funds = [part.name for part in parts if not read_summary(part, collector)]
            duplicates = collector.duplicates()
            S.write_summary(target, collector)
            return collector.tally, duplicates, without_funds
        finally:
            collector.close()


def read_summary(path: Path, collector: S.Collector) -> bool:
    """Add one part to `collector`; False when it has no 专项资金 sheet (made by an older version,
    which is still worth merging, but its departments' funds are unknown rather than none)."""
    from openpyxl import load_workbook

    from .adapters.package import Package

    Package(path).close()  # the same zip-bomb and corruption checks as any workbook we open
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise WorkbookUnusable(f"无法打开汇总表“{path.name}”（{type(exc).__name__}）") from None
    try:
        missing = [s for s in (S.SUMMARY_SHEET, S.FINDINGS_SHEET, S.FAILED_SHEET) if s not in wb.sheetnames]
        if missing:
            raise WorkbookUnusable(f"“{path.name}”不是evalbook batch生成的汇总表（缺少“{'”“'.join(missing)}”表）")
        for row in _rows(wb[S.SUMMARY_SHEET], S.SUMMARY_COLUMNS, path, optional=(S.FUND_COUNT, S.FUND_SCORE)):
            collector.add(_department(row, path))
        for row in _rows(wb[S.FINDINGS_SHEET], S.FINDING_COLUMNS, path):
            collector.add_finding(_text(row["文件"]), _unit(row["单位"]), _text(row["级别"]), _text(row["工作表"]),
                                  _text(row["单元格"]), _text(row["说明"]))
        for row in _rows(wb[S.FAILED_SHEET], S.FAILED_COLUMNS, path):
            collector.add({"ok": False, "name": _text(row["文件"]), "reason": _text(row["原因"])})
        has_funds = S.FUNDS_SHEET in wb.sheetnames
        if has_funds:
            for row in _rows(wb[S.FUNDS_SHEET], S.FUND_COLUMNS, path):
                collector.add_fund(_text(row[S.FILE]), _unit(row[S.UNIT]), _fund(row, path))
        if S.CHART_SHEET in wb.sheetnames:
            _read_rates(wb[S.CHART_SHEET], collector)
        return has_funds
    finally:
        wb.close()


def _rows(ws, columns: tuple[str, ...], path: Path, optional: tuple[str, ...] = ()):
    """Rows as {header: value}, found by header name so moved columns still read right.

    `optional` columns may be missing (summaries made before they existed): they read as None.
    """
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None) or ()
    where = {str(title).strip(): i for i, title in enumerate(header) if title is not None}
    missing = [c for c in columns if c not in where and c not in optional]
    if missing:
        raise WorkbookUnusable(f"汇总表“{path.name}”的“{ws.title}”表缺少列：{'、'.join(missing)}")
    for values in rows:
        if values is None or all(v is None or v == "" for v in values):
            continue
        yield {c: (values[where[c]] if c in where and where[c] < len(values) else None) for c in columns}


def _text(value) -> str:
    return "" if value is None else str(value)


def _unit(value) -> str:
    text = _text(value)
    return "" if text == S.NO_UNIT else text


def _number(value, path: Path, what: str) -> float | None:
    if value is None or value == "" or value == PENDING:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WorkbookUnusable(f"汇总表“{path.name}”中{what}的值“{value}”不是数字，可能被手工改动过")
    return float(value)


def _count(value, path: Path, what: str) -> int:
    number = _number(value, path, what)
    return 0 if number is None else int(number)


def _department(row: dict, path: Path) -> dict:
    name = _text(row[S.FILE])
    where = f"“{name}”的"
    total = _number(row[S.TOTAL], path, where + S.TOTAL)
    grade = _text(row[S.GRADE])
    return {
        "ok": True, "name": name, "path": name, "unit": _unit(row[S.UNIT]),
        "scores": [_number(row[k], path, where + k) for k in seed_framework().keys],
        "rates": None,  # averages come from the parts' rate tables, weighted by their counts
        "total": total,
        "grade": None if grade in ("", PENDING) else grade,
        "self_total": _number(row[S.SELF_TOTAL], path, where + S.SELF_TOTAL),
        "self_gap": _number(row[S.SELF_GAP], path, where + S.SELF_GAP),
        "errors": _count(row[S.ERRORS], path, where + S.ERRORS),
        "hints": _count(row[S.HINTS], path, where + S.HINTS),
        "findings": [],
        "funds": [],  # the part's 专项资金 sheet is read on its own, like 问题清单
        "fund_count": _count(row[S.FUND_COUNT], path, where + S.FUND_COUNT),
        "fund_score": _number(row[S.FUND_SCORE], path, where + S.FUND_SCORE),
    }


def _fund(row: dict, path: Path) -> dict:
    where = f"“{_text(row[S.FILE])}”专项资金的"
    number = _number(row[S.FUND_NUMBER], path, where + S.FUND_NUMBER)
    grade = _text(row[S.GRADE])
    return {
        "number": None if number is None else int(number), "name": _text(row[S.FUND_NAME]),
        "budget": _number(row[S.FUND_BUDGET], path, where + S.FUND_BUDGET),
        "spent": _number(row[S.FUND_SPENT], path, where + S.FUND_SPENT),
        "rate": _number(row[S.FUND_RATE], path, where + S.FUND_RATE),
        "score": _number(row[S.SCORE], path, where + S.SCORE),
        "grade": None if grade in ("", PENDING) else grade,
    }


def _read_rates(ws, collector: S.Collector) -> None:
    rows = ws.iter_rows(min_row=S.RATES_HEADER_ROW, values_only=True)
    header = next(rows, None) or ()
    where = {str(t).strip(): i for i, t in enumerate(header) if t is not None}
    if any(c not in where for c in S.RATE_COLUMNS):
        return
    for values in rows:
        key = values[where["指标"]] if values else None
        if key not in seed_framework().by_key:
            break
        count, average = values[where["计分单位数"]], values[where["平均得分率"]]
        if isinstance(count, (int, float)) and isinstance(average, (int, float)) and count > 0:
            collector.add_rates(key, float(average), int(count))
