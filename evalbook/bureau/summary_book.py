"""The summary workbook written from a `Collector`: 汇总, 图表, 部门指标, 专项资金, 专项指标, 问题清单,
无法读取, 框架.

Streamed with openpyxl's write-only mode, so memory stays flat however many departments there
are.  Departments scored under different frameworks share one 汇总 table (filterable by 框架) but
are ranked and charted only within their own framework.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from evalbook.adapters.package import atomic_write
from evalbook.bureau.summary import (
    CHART_SHEET, ERRORS, FAILED_COLUMNS, FAILED_SHEET, FINDING_COLUMNS, FINDINGS_SHEET, FRAMEWORK,
    FRAMEWORK_COLUMNS, FRAMEWORKS_SHEET, FUND_COLUMNS, FUND_INDICATOR_COLUMNS, FUND_INDICATORS_SHEET, FUNDS_SHEET,
    INDICATOR_COLUMNS, INDICATORS_SHEET, NO_UNIT, RATE_COLUMNS, RATES_HEADER_ROW, SELF_GAP, SUMMARY_HEAD,
    SUMMARY_SHEET, TOTAL, UNIT, WHOLE_SUMMARY, Collector,
)
from evalbook.core.numbers import PENDING
from evalbook.core.textsafe import FORMULA_STARTS

MAX_CELL_TEXT = 32767  # Excel's limit for one cell

_THIN = Side(style="thin", color="A6A6A6")
_HEADER_FONT = Font(name="等线", bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
_HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
_HEADER_BORDER = Border(bottom=_THIN)
_TITLE_FONT = Font(name="等线", bold=True, size=12)
_PENDING_FONT = Font(name="等线", color="9C5700")
_ERROR_FONT = Font(name="等线", color="9C0006", bold=True)
SCORE_FORMAT = "0.00"
GAP_FORMAT = "+0.00;-0.00;0.00"
RATE_FORMAT = "0.0%"
COUNT_FORMAT = "0"
MONEY_FORMAT = "#,##0.00"  # 万元, as on the fund sheets
EXEC_RATE_FORMAT = "0.00%"  # the fund sheets show 执行率 with two decimals
ROW_CM = 0.53  # a default row (15 pt) in centimetres: charts are stacked by it


def clean(value: object) -> str:
    """Workbook text made safe for a cell: no control characters, within Excel's length limit."""
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))[:MAX_CELL_TEXT]


class _Cells:
    """Styled write-only cells for one sheet."""

    def __init__(self, ws):
        self.ws = ws

    def text(self, value, font=None) -> WriteOnlyCell | None:
        if value is None or value == "":
            return None
        text = clean(value)
        cell = WriteOnlyCell(self.ws, value=text)
        # text from a department's workbook is never a formula, whatever it starts with…
        cell.data_type = "s"
        if text.startswith(FORMULA_STARTS):
            # …nor after someone edits the cell, or exports the sheet as CSV: Excel's own text mark
            cell.quotePrefix = True
        if font is not None:
            cell.font = font
        return cell

    def number(self, value, fmt: str) -> WriteOnlyCell | None:
        if value is None:
            return None
        cell = WriteOnlyCell(self.ws, value=value)
        cell.number_format = fmt
        return cell

    def plain(self, value):
        """A cell of a long tidy sheet: the bare value (styling every cell would triple the time
        a summary takes to write), except text that must be marked as text."""
        if isinstance(value, str):
            text = clean(value)
            return self.text(text) if text.startswith(FORMULA_STARTS) else (text or None)
        return value

    def score(self, value) -> WriteOnlyCell:
        return self.text(PENDING, _PENDING_FONT) if value is None else self.number(value, SCORE_FORMAT)

    def header(self, titles: Iterable[str]) -> list[WriteOnlyCell]:
        cells = []
        for title in titles:
            cell = self.text(title)
            cell.font, cell.fill, cell.alignment, cell.border = _HEADER_FONT, _HEADER_FILL, _HEADER_ALIGN, _HEADER_BORDER
            cells.append(cell)
        return cells


def _setup_table(ws, widths: Mapping[int, float], rows: int, columns: int, freeze: str, *, wide=True) -> None:
    """Widths, frozen header, filter buttons and print settings; write-only sheets need these first."""
    for index, width in widths.items():
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.row_dimensions[1].height = 30
    ws.freeze_panes = freeze
    ws.auto_filter.ref = f"A1:{get_column_letter(columns)}{max(rows + 1, 2)}"
    ws.print_title_rows = "1:1"
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.orientation = "landscape" if wide else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.3


@dataclass(frozen=True)
class Block:
    """One framework's departments on 汇总: rows first_row.. , those with a 总分 first."""

    label: str
    first_row: int
    complete: int


def _summary_sheet(wb: Workbook, collector: Collector) -> list[Block]:
    """汇总, one framework after another (the one most departments use first), each ranked on its
    own; returns where each framework's rows are, for the charts."""
    ws = wb.create_sheet(SUMMARY_SHEET)
    columns = collector.columns()
    n = collector.count("dept")
    widths = {1: 6, 2: 28, 3: 26, 4: 40}
    first_key = len(SUMMARY_HEAD) + 1
    tail = columns.index(TOTAL) + 1
    for index in range(first_key, tail):
        widths[index] = 9
    widths.update({tail: 9, tail + 1: 7, tail + 2: 7, tail + 3: 7, tail + 4: 9, tail + 5: 10, tail + 6: 9,
                   tail + 7: 9})
    _setup_table(ws, widths, n, len(columns), "D2")
    if n:
        errors_col = get_column_letter(columns.index(ERRORS) + 1)
        ws.conditional_formatting.add(
            f"{errors_col}2:{errors_col}{n + 1}",
            CellIsRule(operator="greaterThan", formula=["0"], fill=PatternFill("solid", bgColor="FFC7CE"),
                       font=Font(color="9C0006")))
        gap_col = get_column_letter(columns.index(SELF_GAP) + 1)
        ws.conditional_formatting.add(
            f"{gap_col}2:{gap_col}{n + 1}",
            CellIsRule(operator="greaterThan", formula=["0"], font=Font(color="9C0006")))
    cells = _Cells(ws)
    ws.append(cells.header(columns))
    union = columns[first_key - 1:tail - 1]
    blocks = []
    row_number = 2
    for label in collector.labels():
        keys = collector.frameworks[label].keys
        block_start = row_number
        complete = 0
        for rank, (name, unit, scores, total, grade, errors, hints, self_total, self_gap, fund_count,
                   fund_score) in collector.ranked(label):
            complete += total is not None
            by_key = dict(zip(keys, json.loads(scores)))
            row = [cells.number(rank, COUNT_FORMAT),
                   cells.text(name), cells.text(unit or NO_UNIT), cells.text(label)]
            # blank under an indicator the department's framework does not have
            row += [cells.score(by_key[key]) if key in by_key else None for key in union]
            row += [cells.score(total), cells.text(grade or PENDING, None if grade else _PENDING_FONT),
                    cells.number(errors, COUNT_FORMAT), cells.number(hints, COUNT_FORMAT),
                    cells.number(self_total, SCORE_FORMAT), cells.number(self_gap, GAP_FORMAT)]
            # blank for a department without funds; 待补充 while one of its funds has no 得分 yet
            row += [cells.number(fund_count, COUNT_FORMAT), cells.score(fund_score) if fund_count else None]
            ws.append(row)
            row_number += 1
        blocks.append(Block(label, block_start, complete))
    return blocks


def _findings_sheet(wb: Workbook, collector: Collector) -> None:
    ws = wb.create_sheet(FINDINGS_SHEET)
    note = collector.mixed_note()
    _setup_table(ws, {1: 28, 2: 26, 3: 6, 4: 10, 5: 8, 6: 100}, collector.count("finding") + bool(note),
                 len(FINDING_COLUMNS), "A2")
    cells = _Cells(ws)
    ws.append(cells.header(FINDING_COLUMNS))
    if note:
        # about the summary itself, so first, before any one file's findings
        column = get_column_letter(SUMMARY_HEAD.index(FRAMEWORK) + 1)
        ws.append([cells.text(WHOLE_SUMMARY), None, cells.text("提示"), cells.text(SUMMARY_SHEET),
                   cells.text(f"{column}:{column}"), cells.text(note)])
    for name, unit, severity, sheet, cell, message in collector.findings():
        ws.append([cells.text(name), cells.text(unit or NO_UNIT),
                   cells.text(severity, _ERROR_FONT if severity == "错误" else None),
                   cells.text(sheet), cells.text(cell), cells.text(message)])


def _funds_sheet(wb: Workbook, collector: Collector) -> None:
    """专项资金: every fund of every department; written (header only) even when there are none,
    so that `merge` can tell a summary without funds from one made before funds were summarised."""
    ws = wb.create_sheet(FUNDS_SHEET)
    _setup_table(ws, {1: 28, 2: 26, 3: 7, 4: 34, 5: 13, 6: 13, 7: 9, 8: 9, 9: 7}, collector.count("fund"),
                 len(FUND_COLUMNS), "C2")
    cells = _Cells(ws)
    ws.append(cells.header(FUND_COLUMNS))
    for name, unit, number, fund_name, budget, spent, rate, score, grade in collector.funds():
        ws.append([cells.text(name), cells.text(unit or NO_UNIT), cells.number(number, COUNT_FORMAT),
                   cells.text(fund_name), cells.number(budget, MONEY_FORMAT), cells.number(spent, MONEY_FORMAT),
                   cells.number(rate, EXEC_RATE_FORMAT), cells.score(score),
                   cells.text(grade or PENDING, None if grade else _PENDING_FONT)])


def _indicators_sheet(wb: Workbook, collector: Collector) -> None:
    """部门指标: 汇总's scores one per row, with 分值, 计算值 and 自评: what a pivot table wants."""
    ws = wb.create_sheet(INDICATORS_SHEET)
    _setup_table(ws, {1: 28, 2: 26, 3: 40, 4: 6, 5: 12, 6: 20, 7: 7, 8: 10, 9: 8, 10: 8},
                 collector.count("indicator"), len(INDICATOR_COLUMNS), "C2")
    cells = _Cells(ws)
    ws.append(cells.header(INDICATOR_COLUMNS))
    plain = cells.plain
    for name, unit, label, position, level2, key, weight, value, score, self_score in collector.indicators():
        ws.append([plain(name), plain(unit or NO_UNIT), plain(label), position, plain(level2), plain(key),
                   weight, value, PENDING if score is None else score, self_score])


def _fund_indicators_sheet(wb: Workbook, collector: Collector) -> None:
    """专项指标: every scored row of every fund sheet, 预算执行率 first."""
    ws = wb.create_sheet(FUND_INDICATORS_SHEET)
    _setup_table(ws, {1: 28, 2: 26, 3: 7, 4: 34, 5: 10, 6: 12, 7: 30, 8: 7, 9: 9, 10: 8},
                 collector.count("fund_indicator"), len(FUND_INDICATOR_COLUMNS), "C2")
    cells = _Cells(ws)
    ws.append(cells.header(FUND_INDICATOR_COLUMNS))
    plain = cells.plain
    for name, unit, number, fund_name, level1, level2, indicator, weight, ratio, score in collector.fund_indicators():
        ws.append([plain(name), plain(unit or NO_UNIT), number, plain(fund_name), plain(level1), plain(level2),
                   plain(indicator), weight, ratio, PENDING if score is None else score])


def _failed_sheet(wb: Workbook, collector: Collector) -> None:
    ws = wb.create_sheet(FAILED_SHEET)
    _setup_table(ws, {1: 40, 2: 110}, collector.count("failure"), len(FAILED_COLUMNS), "A2")
    cells = _Cells(ws)
    ws.append(cells.header(FAILED_COLUMNS))
    for name, reason in collector.failures():
        ws.append([cells.text(name), cells.text(reason)])


def _frameworks_sheet(wb: Workbook, collector: Collector) -> None:
    """框架: each framework's indicators in its own order (what `merge` reads the columns by)."""
    ws = wb.create_sheet(FRAMEWORKS_SHEET)
    labels = collector.labels()
    rows = sum(len(collector.frameworks[label].keys) for label in labels)
    _setup_table(ws, {1: 40, 2: 34, 3: 14, 4: 6, 5: 14, 6: 22}, rows, len(FRAMEWORK_COLUMNS), "A2")
    cells = _Cells(ws)
    ws.append(cells.header(FRAMEWORK_COLUMNS))
    for label in labels:
        info = collector.frameworks[label]
        for position, (key, level2) in enumerate(zip(info.keys, info.level2), start=1):
            ws.append([cells.text(label), cells.text(info.name), cells.text(info.fingerprint),
                       cells.number(position, COUNT_FORMAT), cells.text(level2), cells.text(key)])


def _chart_sheet(wb: Workbook, collector: Collector, summary_ws, blocks: list[Block]) -> None:
    """图表: per framework, its indicators' average 得分率 (lowest first) and its departments' 总分."""
    ws = wb.create_sheet(CHART_SHEET)
    for col, width in zip("ABCDE", (20, 12, 11, 11, 40)):
        ws.column_dimensions[col].width = width
    cells = _Cells(ws)
    ws.append([cells.text("各指标平均得分率（得分÷分值）：从低到高排列，越靠前越值得优先关注", _TITLE_FONT)])
    ws.append(cells.header(RATE_COLUMNS))
    mixed = len(blocks) > 1
    total_col = collector.columns().index(TOTAL) + 1
    charts: list[BarChart] = []
    top = RATES_HEADER_ROW + 1
    for block in blocks:
        rows = collector.rates[block.label].rows()
        for key, level2, n, average in rows:
            ws.append([cells.text(key), cells.text(level2), cells.number(n, COUNT_FORMAT),
                       cells.number(average, RATE_FORMAT), cells.text(block.label)])
        scored_rates = sum(1 for r in rows if r[3] is not None)
        suffix = f"——{block.label}" if mixed else ""
        if scored_rates:
            charts.append(_rate_chart(ws, top, scored_rates, suffix))
        if block.complete:
            charts.append(_total_chart(summary_ws, total_col, block, collector.best_total(block.label), suffix))
        top += len(rows)
    ws.append([])
    ws.append([cells.text(collector.tally.line() + "；明细见“汇总”“专项资金”“问题清单”“无法读取”表。")])
    note = collector.mixed_note()
    if note:
        ws.append([cells.text(note)])
    anchor = 2
    for chart in charts:  # one below the other, each as tall as its bars need
        ws.add_chart(chart, f"G{anchor}")
        anchor += math.ceil(chart.height / ROW_CM) + 2


def _rate_chart(ws, top: int, count: int, suffix: str) -> BarChart:
    chart = BarChart()
    chart.type = "bar"
    chart.style = 10
    chart.title = f"各指标平均得分率（越短越需关注）{suffix}"
    chart.legend = None
    chart.add_data(Reference(ws, min_col=4, min_row=top, max_row=top + count - 1), titles_from_data=False)
    chart.set_categories(Reference(ws, min_col=1, min_row=top, max_row=top + count - 1))
    _bars(chart, count)
    chart.y_axis.scaling.max = 1
    chart.y_axis.number_format = "0%"
    chart.y_axis.majorUnit = 0.2
    chart.dataLabels = DataLabelList(showVal=True, showSerName=False, showCatName=False,
                                     showLegendKey=False, showPercent=False)
    chart.dataLabels.numFmt = "0.0%"
    chart.dataLabels.position = "inEnd"  # inside the bar: a 100% label is not cut off
    return chart


def _total_chart(summary_ws, total_col: int, block: Block, best: float | None, suffix: str) -> BarChart:
    chart = BarChart()
    chart.type = "bar"
    chart.style = 10
    chart.title = f"各部门总分（按总分排序）{suffix}"
    chart.legend = None
    unit_col = SUMMARY_HEAD.index(UNIT) + 1
    last = block.first_row + block.complete - 1
    chart.add_data(Reference(summary_ws, min_col=total_col, min_row=block.first_row, max_row=last),
                   titles_from_data=False)
    chart.set_categories(Reference(summary_ws, min_col=unit_col, min_row=block.first_row, max_row=last))
    _bars(chart, block.complete)
    if best is not None and best <= 100:
        chart.y_axis.scaling.max = 100
    chart.y_axis.number_format = "0"
    return chart


def _bars(chart: BarChart, count: int) -> None:
    """Horizontal bars in table order, every label shown: one readable bar per row."""
    chart.x_axis.scaling.orientation = "maxMin"  # first row on top, as in the table
    chart.y_axis.crosses = "max"  # …and the value axis back at the bottom
    chart.y_axis.scaling.min = 0
    chart.x_axis.tickLblSkip = 1
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.gapWidth = 60
    chart.width = 18
    chart.height = min(max(8.0, 0.6 * count + 3), 400.0)  # Excel's limit is about 1,400 cm


def write_summary(target: Path, collector: Collector) -> None:
    """The eight sheets, written to a temporary file beside `target` that then replaces it."""
    wb = Workbook(write_only=True)
    wb.properties.creator = "evalbook"
    blocks = _summary_sheet(wb, collector)
    summary_ws = wb[SUMMARY_SHEET]
    _chart_sheet(wb, collector, summary_ws, blocks)
    _indicators_sheet(wb, collector)
    _funds_sheet(wb, collector)
    _fund_indicators_sheet(wb, collector)
    _findings_sheet(wb, collector)
    _failed_sheet(wb, collector)
    _frameworks_sheet(wb, collector)
    save_atomically(wb, target)


def save_atomically(wb: Workbook, target: Path) -> None:
    """The summary through the same atomic routine as every other write (temp file, fsync, replace)."""
    atomic_write(target, wb.save)
