"""The summary workbook written from a `Collector`: 汇总, 图表, 部门指标, 专项资金, 专项指标, 问题清单,
无法读取, 框架.

Streamed with openpyxl's write-only mode, so memory stays flat however many departments there
are.  Departments scored under different frameworks share one 汇总 table (filterable by 框架) but
are ranked and charted only within their own framework.
"""

from __future__ import annotations

import functools
import json
import math
import unicodedata
from copy import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabel, DataLabelList
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break

from evalbook.adapters.package import atomic_write
from evalbook.bureau.summary import (
    CHART_SHEET, ERRORS, FAILED_COLUMNS, FAILED_SHEET, FINDING_COLUMNS, FINDINGS_SHEET, FRAMEWORK,
    FRAMEWORK_COLUMNS, FRAMEWORKS_SHEET, FUND_COLUMNS, FUND_INDICATOR_COLUMNS, FUND_INDICATORS_SHEET, FUNDS_SHEET,
    INDICATOR_COLUMNS, INDICATORS_SHEET, NO_UNIT, RATE_COLUMNS, RATES_HEADER_ROW, SELF_GAP, SUMMARY_HEAD,
    SUMMARY_SHEET, TOTAL, UNIT, WHOLE_SUMMARY, Collector,
)
from evalbook.core.numbers import PENDING
from evalbook.core.textsafe import FORMULA_STARTS
from evalbook.workbook import pages
from evalbook.workbook.sheetspec import DEFAULT_HEIGHT, DEFAULT_WIDTH, needed_height

MAX_CELL_TEXT = 32767  # Excel's limit for one cell

_THIN = Side(style="thin", color="A6A6A6")
_HEADER_FONT = Font(name="等线", bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
_HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
_HEADER_BORDER = Border(bottom=_THIN)
_BLOCK_BORDER = Border(top=Side(style="thin", color="404040"))
_TITLE_FONT = Font(name="等线", bold=True, size=12)
_PENDING_FONT = Font(name="等线", color="9C5700")
_ERROR_FONT = Font(name="等线", color="9C0006", bold=True)
# a row taller than one line (a wrapped name) keeps its numbers level with its text
_ALIGN = Alignment(vertical="center")
_WRAP = Alignment(vertical="center", wrap_text=True)
_CENTER = Alignment(horizontal="center", vertical="center")
SCORE_FORMAT = "0.00"
GAP_FORMAT = "+0.00;-0.00;0.00"
RATE_FORMAT = "0.0%"
COUNT_FORMAT = "0"
MONEY_FORMAT = "#,##0.00"  # 万元, as on the fund sheets
EXEC_RATE_FORMAT = "0.00%"  # the fund sheets show 执行率 with two decimals


@functools.lru_cache(maxsize=4096)
def _needed_height(text: str, width: float) -> float:
    """`needed_height`, once per text: the same messages recur across departments."""
    return needed_height(text, width)


def clean(value: object) -> str:
    """Workbook text made safe for a cell: no control characters, within Excel's length limit."""
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))[:MAX_CELL_TEXT]


class _Cells:
    """Styled write-only cells for one sheet, appended a row at a time at the height its wrapped
    text needs (a write-only sheet takes a row's height before the row is written)."""

    def __init__(self, ws, widths: Mapping[int, float] | None = None):
        self.ws = ws
        self.widths = dict(widths or {})
        self.heights: list[float] = []  # of every row appended, in points: where pages end
        # each distinct style is looked up in the workbook's tables once, then copied: setting a
        # font or alignment hashes it afresh every time, most of a styled sheet's writing time
        self._styles: dict[tuple, StyleArray] = {}
        self._alignments = ws.parent._alignments

    @property
    def rows(self) -> int:
        return len(self.heights)

    def append(self, cells: list, span: float | None = None) -> None:
        """One row; `span` is the width of the columns its first cell is merged across."""
        need = DEFAULT_HEIGHT
        for index, cell in enumerate(cells, 1):
            if not isinstance(cell, Cell) or not isinstance(cell.value, str):
                continue
            width = span if span is not None and index == 1 else self.widths.get(index, DEFAULT_WIDTH)
            # a text shorter than its column (CJK counted double) is one line: skip the measuring
            if 2 * len(cell.value) > width - 1 and self._alignments[cell._style.alignmentId].wrap_text:
                need = max(need, _needed_height(cell.value, width))
        if need > DEFAULT_HEIGHT:
            self.ws.row_dimensions[self.rows + 1].height = need
        self.heights.append(need)
        self.ws.append(cells)

    def _style(self, cell, key: tuple, font=None, alignment=_ALIGN, number_format=None) -> None:
        style = self._styles.get(key)
        if style is not None:
            cell._style = copy(style)
            return
        if font is not None:
            cell.font = font
        if number_format is not None:
            cell.number_format = number_format
        cell.alignment = alignment
        self._styles[key] = copy(cell._style)

    def text(self, value, font=None, wrap=False, alignment=None) -> WriteOnlyCell | None:
        if value is None or value == "":
            return None
        text = clean(value)
        cell = WriteOnlyCell(self.ws, value=text)
        # text from a department's workbook is never a formula, whatever it starts with…
        cell.data_type = "s"
        alignment = alignment or (_WRAP if wrap else _ALIGN)
        self._style(cell, ("text", id(font), id(alignment)), font, alignment)
        if text.startswith(FORMULA_STARTS):
            # …nor after someone edits the cell, or exports the sheet as CSV: Excel's own text mark
            cell.quotePrefix = True
        return cell

    def number(self, value, fmt: str) -> WriteOnlyCell | None:
        if value is None:
            return None
        cell = WriteOnlyCell(self.ws, value=value)
        self._style(cell, ("number", fmt), number_format=fmt)
        return cell

    def grade(self, grade) -> WriteOnlyCell:
        """优/良/中/差 centred in its narrow column, clear of the 总分 beside it."""
        return self.text(grade or PENDING, None if grade else _PENDING_FONT, alignment=_CENTER)

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
    ws.freeze_panes = freeze
    ws.auto_filter.ref = f"A1:{get_column_letter(columns)}{max(rows + 1, 2)}"
    ws.print_title_rows = "1:1"
    pages.page_setup(ws, wide)


@dataclass(frozen=True)
class Block:
    """One framework's departments on 汇总: rows first_row.. , those with a 总分 first."""

    label: str
    first_row: int
    rows: int
    totals: tuple[float, ...]  # of the departments with a 总分, in their order


def _summary_sheet(wb: Workbook, collector: Collector) -> list[Block]:
    """汇总, one framework after another (the one most departments use first), each ranked on its
    own; returns where each framework's rows are, for the charts."""
    ws = wb.create_sheet(SUMMARY_SHEET)
    columns = collector.columns()
    n = collector.count("dept")
    # all columns on one A4 width, as narrow as their text allows (headers wrap, 3 CJK characters a
    # line under an indicator): names over two lines, a framework's label (name, fingerprint) too
    widths = {1: 5, 2: 18, 3: 18, 4: 24}
    first_key = len(SUMMARY_HEAD) + 1
    tail = columns.index(TOTAL) + 1
    for index in range(first_key, tail):
        widths[index] = 7
    widths.update({tail: 8, tail + 1: 5, tail + 2: 5, tail + 3: 5, tail + 4: 7, tail + 5: 8, tail + 6: 7,
                   tail + 7: 7})
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
    cells = _Cells(ws, widths)
    cells.append(cells.header(columns))
    union = columns[first_key - 1:tail - 1]
    blocks = []
    for label in collector.labels():
        keys = collector.frameworks[label].keys
        block_start = cells.rows + 1
        totals = []
        for rank, (name, unit, scores, total, grade, errors, hints, self_total, self_gap, fund_count,
                   fund_score) in collector.ranked(label):
            if total is not None:
                totals.append(total)
            by_key = dict(zip(keys, json.loads(scores)))
            row = [cells.number(rank, COUNT_FORMAT),
                   cells.text(name, wrap=True), cells.text(unit or NO_UNIT, wrap=True), cells.text(label, wrap=True)]
            # blank under an indicator the department's framework does not have
            row += [cells.score(by_key[key]) if key in by_key else None for key in union]
            row += [cells.score(total), cells.grade(grade),
                    cells.number(errors, COUNT_FORMAT), cells.number(hints, COUNT_FORMAT),
                    cells.number(self_total, SCORE_FORMAT), cells.number(self_gap, GAP_FORMAT)]
            # blank for a department without funds; 待补充 while one of its funds has no 得分 yet
            row += [cells.number(fund_count, COUNT_FORMAT), cells.score(fund_score) if fund_count else None]
            if blocks and cells.rows + 1 == block_start:
                row = _ruled(ws, row)
            cells.append(row)
        blocks.append(Block(label, block_start, cells.rows + 1 - block_start, tuple(totals)))
    if len(blocks) > 1:
        _break_between_blocks(ws, cells, blocks, widths)
    return blocks


def _ruled(ws, row: list) -> list:
    """A framework's first row under a line across the table: its ranks start again at 1."""
    row = [WriteOnlyCell(ws) if cell is None else cell for cell in row]
    for cell in row:
        cell.border = _BLOCK_BORDER
    return row


def _break_between_blocks(ws, cells: _Cells, blocks: list[Block], widths: Mapping[int, float]) -> None:
    """Each framework's ranking starts on a fresh page when what is left of the page would cut it
    (one framework on one page can be read as one list); the application breaks the rest."""
    width = sum(pages.column_points(w) for w in widths.values())
    heights = cells.heights
    prefer = [(b.first_row, b.first_row + b.rows - 1) for b in blocks[1:]]
    for row in pages.paginate(1, cells.rows, lambda r: heights[r - 1], pages.page_height(width, True),
                              heights[0], prefer=prefer):
        ws.row_breaks.append(Break(id=row))


def _findings_sheet(wb: Workbook, collector: Collector) -> None:
    ws = wb.create_sheet(FINDINGS_SHEET)
    note = collector.mixed_note()
    widths = {1: 22, 2: 20, 3: 6, 4: 16, 5: 8, 6: 80}
    _setup_table(ws, widths, collector.count("finding") + bool(note), len(FINDING_COLUMNS), "A2")
    cells = _Cells(ws, widths)
    cells.append(cells.header(FINDING_COLUMNS))
    if note:
        # about the summary itself, so first, before any one file's findings
        column = get_column_letter(SUMMARY_HEAD.index(FRAMEWORK) + 1)
        cells.append([cells.text(WHOLE_SUMMARY, wrap=True), None, cells.text("提示"), cells.text(SUMMARY_SHEET),
                      cells.text(f"{column}:{column}"), cells.text(note, wrap=True)])
    for name, unit, severity, sheet, cell, message in collector.findings():
        cells.append([cells.text(name, wrap=True), cells.text(unit or NO_UNIT, wrap=True),
                      cells.text(severity, _ERROR_FONT if severity == "错误" else None),
                      cells.text(sheet, wrap=True), cells.text(cell, wrap=True), cells.text(message, wrap=True)])


def _funds_sheet(wb: Workbook, collector: Collector) -> None:
    """专项资金: every fund of every department; written (header only) even when there are none,
    so that `merge` can tell a summary without funds from one made before funds were summarised."""
    ws = wb.create_sheet(FUNDS_SHEET)
    widths = {1: 22, 2: 20, 3: 7, 4: 30, 5: 13, 6: 13, 7: 9, 8: 9, 9: 7}
    _setup_table(ws, widths, collector.count("fund"), len(FUND_COLUMNS), "C2")
    cells = _Cells(ws, widths)
    cells.append(cells.header(FUND_COLUMNS))
    for name, unit, number, fund_name, budget, spent, rate, score, grade in collector.funds():
        cells.append([cells.text(name, wrap=True), cells.text(unit or NO_UNIT, wrap=True),
                      cells.number(number, COUNT_FORMAT), cells.text(fund_name, wrap=True),
                      cells.number(budget, MONEY_FORMAT), cells.number(spent, MONEY_FORMAT),
                      cells.number(rate, EXEC_RATE_FORMAT), cells.score(score), cells.grade(grade)])


def _indicators_sheet(wb: Workbook, collector: Collector) -> None:
    """部门指标: 汇总's scores one per row, with 分值, 计算值 and 自评: what a pivot table wants.
    Bare values (no wrapping: a row per indicator is read by filters, not on paper)."""
    ws = wb.create_sheet(INDICATORS_SHEET)
    widths = {1: 28, 2: 24, 3: 44, 4: 6, 5: 12, 6: 20, 7: 7, 8: 10, 9: 8, 10: 9}
    _setup_table(ws, widths, collector.count("indicator"), len(INDICATOR_COLUMNS), "C2")
    cells = _Cells(ws, widths)
    cells.append(cells.header(INDICATOR_COLUMNS))
    plain = cells.plain
    for name, unit, label, position, level2, key, weight, value, score, self_score in collector.indicators():
        ws.append([plain(name), plain(unit or NO_UNIT), plain(label), position, plain(level2), plain(key),
                   weight, value, PENDING if score is None else score, self_score])


def _fund_indicators_sheet(wb: Workbook, collector: Collector) -> None:
    """专项指标: every scored row of every fund sheet, 预算执行率 first (bare values, as 部门指标)."""
    ws = wb.create_sheet(FUND_INDICATORS_SHEET)
    widths = {1: 28, 2: 24, 3: 7, 4: 30, 5: 10, 6: 12, 7: 30, 8: 7, 9: 9, 10: 7}
    _setup_table(ws, widths, collector.count("fund_indicator"), len(FUND_INDICATOR_COLUMNS), "C2")
    cells = _Cells(ws, widths)
    cells.append(cells.header(FUND_INDICATOR_COLUMNS))
    plain = cells.plain
    for name, unit, number, fund_name, level1, level2, indicator, weight, ratio, score in collector.fund_indicators():
        ws.append([plain(name), plain(unit or NO_UNIT), number, plain(fund_name), plain(level1), plain(level2),
                   plain(indicator), weight, ratio, PENDING if score is None else score])


def _failed_sheet(wb: Workbook, collector: Collector) -> None:
    ws = wb.create_sheet(FAILED_SHEET)
    widths = {1: 36, 2: 90}
    _setup_table(ws, widths, collector.count("failure"), len(FAILED_COLUMNS), "A2")
    cells = _Cells(ws, widths)
    cells.append(cells.header(FAILED_COLUMNS))
    for name, reason in collector.failures():
        cells.append([cells.text(name, wrap=True), cells.text(reason, wrap=True)])


def _frameworks_sheet(wb: Workbook, collector: Collector) -> None:
    """框架: each framework's indicators in its own order (what `merge` reads the columns by)."""
    ws = wb.create_sheet(FRAMEWORKS_SHEET)
    labels = collector.labels()
    rows = sum(len(collector.frameworks[label].keys) for label in labels)
    # the fingerprint (64 hex digits) over two lines, so the sheet prints at a readable size
    widths = {1: 26, 2: 24, 3: 34, 4: 6, 5: 14, 6: 22}
    _setup_table(ws, widths, rows, len(FRAMEWORK_COLUMNS), "A2")
    cells = _Cells(ws, widths)
    cells.append(cells.header(FRAMEWORK_COLUMNS))
    for label in labels:
        info = collector.frameworks[label]
        for position, (key, level2) in enumerate(zip(info.keys, info.level2), start=1):
            cells.append([cells.text(label, wrap=True), cells.text(info.name, wrap=True),
                          cells.text(info.fingerprint, wrap=True), cells.number(position, COUNT_FORMAT),
                          cells.text(level2, wrap=True), cells.text(key, wrap=True)])


CHART_ROW_HEIGHT = 15.0  # every row of 图表 under a chart, so where a chart ends on the page is known
CHART_PAGE_CM = 24.0  # the tallest chart: a portrait A4 page, with room to spare
BAR_CM, CHART_FRAME_CM = 0.6, 3.0
BARS_PER_CHART = int((CHART_PAGE_CM - CHART_FRAME_CM) / BAR_CM)  # 35
CHART_WIDTH_CM = 17.0  # within a portrait A4 page's width
# 指标, 二级指标, 计分单位数, 平均得分率 (a header on one line), then 框架 as wide as its labels:
# the page prints at full size with the 17 cm charts
RATE_WIDTHS = (20, 10, 11, 11)
MAX_LABEL_WIDTH = 50


def _chart_sheet(wb: Workbook, collector: Collector, summary_ws, blocks: list[Block]) -> None:
    """图表: the rate table of every framework (lowest 得分率 first within each), then per framework
    its rate chart and its departments' 总分 charts.  Each chart is whole on a page of its own (the
    first one beside the table when both fit), split into charts of at most 35 bars."""
    ws = wb.create_sheet(CHART_SHEET)
    longest = max((_units(block.label) for block in blocks), default=10)
    widths = dict(enumerate(RATE_WIDTHS + (min(longest + 2, MAX_LABEL_WIDTH),), start=1))
    for index, width in widths.items():
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.sheet_format.defaultRowHeight = CHART_ROW_HEIGHT
    ws.sheet_format.customHeight = True
    pages.page_setup(ws, landscape=False)
    cells = _Cells(ws, widths)
    cells.append([cells.text("各指标平均得分率（得分÷分值）：从低到高排列，越靠前越值得优先关注", _TITLE_FONT)])
    cells.append(cells.header(RATE_COLUMNS))
    mixed = len(blocks) > 1
    total_col = collector.columns().index(TOTAL) + 1
    charts: list[BarChart] = []
    top = RATES_HEADER_ROW + 1
    for block in blocks:
        rows = collector.rates[block.label].rows()
        for key, level2, n, average in rows:
            cells.append([cells.text(key, wrap=True), cells.text(level2, wrap=True), cells.number(n, COUNT_FORMAT),
                          cells.number(average, RATE_FORMAT), cells.text(block.label, wrap=True)])
        suffix = f"——{block.label}" if mixed else ""
        scored_rates = sum(1 for r in rows if r[3] is not None)
        averages = [r[3] for r in rows[:scored_rates]]
        parts = _shares(scored_rates)
        for first, last in parts:
            part = f"：第{first + 1}—{last}项" if len(parts) > 1 else ""
            charts.append(_rate_chart(ws, top + first, averages[first:last], suffix + part))
        best = collector.best_total(block.label)
        parts = _shares(len(block.totals))
        for first, last in parts:
            part = f"：第{first + 1}—{last}名" if len(parts) > 1 else ""
            charts.append(_total_chart(summary_ws, total_col, block.first_row + first, block.totals[first:last],
                                       best, suffix + part))
        top += len(rows)
    cells.append([])
    # the tally (and the note on frameworks) spans the table's width and wraps there
    span = sum(widths.values())
    last_column = get_column_letter(len(widths))
    lines = [collector.tally.line() + "；明细见“汇总”“专项资金”“问题清单”“无法读取”表。", collector.mixed_note()]
    for line in filter(None, lines):
        cells.append([cells.text(line, wrap=True)], span=span)
        ws.merged_cells.add(f"A{cells.rows}:{last_column}{cells.rows}")
    content = max(sum(pages.column_points(w) for w in widths.values()), CHART_WIDTH_CM / 2.54 * pages.INCH)
    _place_charts(ws, charts, cells, pages.page_height(content, landscape=False))


def _place_charts(ws, charts: list[BarChart], cells: _Cells, page: float) -> None:
    """Below the table, each after a page break: no chart is ever printed in halves.  The first
    joins the table's page when both fit on it."""
    used = sum(cells.heights)
    end = cells.rows  # the last row taken on the sheet
    for number, chart in enumerate(charts):
        if number == 0 and used + CHART_ROW_HEIGHT + chart.height / 2.54 * pages.INCH <= page:
            anchor = end + 2  # a blank row between the table and the chart
        else:
            # a row's gap under the break: LibreOffice draws a chart's top edge that starts the
            # page at the foot of the page before
            ws.row_breaks.append(Break(id=end))
            anchor = end + 2
        ws.add_chart(chart, f"A{anchor}")
        end = anchor + _chart_rows(chart.height)


def _chart_rows(height_cm: float) -> int:
    """The rows of 图表 a chart `height_cm` tall covers."""
    return math.ceil(height_cm / 2.54 * pages.INCH / CHART_ROW_HEIGHT)


def _shares(count: int) -> list[tuple[int, int]]:
    """(first, last) positions of `count` bars shared evenly between as few charts as hold them."""
    if not count:
        return []
    charts = -(-count // BARS_PER_CHART)
    size = -(-count // charts)
    return [(first, min(first + size, count)) for first in range(0, count, size)]


def _units(text: str) -> int:
    """A text's width in characters of a column (CJK count double), as `sheetspec` measures."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _rate_chart(ws, top: int, averages: list[float], suffix: str) -> BarChart:
    chart = BarChart()
    chart.type = "bar"
    chart.style = 10
    chart.title = f"各指标平均得分率（越短越需关注）{suffix}"
    chart.legend = None
    count = len(averages)
    chart.add_data(Reference(ws, min_col=4, min_row=top, max_row=top + count - 1), titles_from_data=False)
    chart.set_categories(Reference(ws, min_col=1, min_row=top, max_row=top + count - 1))
    _bars(chart, count)
    chart.y_axis.scaling.max = 1
    chart.y_axis.number_format = "0%"
    chart.y_axis.majorUnit = 0.2
    _values_on_bars(chart, averages, 1.0, "0.0%")
    return chart


SHORT_BAR = 0.15  # of the axis: a bar too short to hold its value, which goes after its end


def _values_on_bars(chart: BarChart, values, axis_max: float, fmt: str) -> None:
    """Each bar's value inside its end (a 100% label is not cut off), after the end of a bar too
    short for it (a 0% label would sit on the indicator's name)."""
    labels = DataLabelList(showVal=True, showSerName=False, showCatName=False, showLegendKey=False,
                           showPercent=False)
    labels.numFmt = fmt
    labels.position = "inEnd"
    labels.dLbl = [DataLabel(idx=i, numFmt=fmt, dLblPos="outEnd", showVal=True, showSerName=False,
                             showCatName=False, showLegendKey=False, showPercent=False)
                   for i, value in enumerate(values) if value < SHORT_BAR * axis_max]
    chart.dataLabels = labels


def _total_chart(summary_ws, total_col: int, first_row: int, totals: tuple[float, ...], best: float | None,
                 suffix: str) -> BarChart:
    chart = BarChart()
    chart.type = "bar"
    chart.style = 10
    chart.title = f"各部门总分（按总分排序）{suffix}"
    chart.legend = None
    unit_col = SUMMARY_HEAD.index(UNIT) + 1
    count = len(totals)
    last = first_row + count - 1
    chart.add_data(Reference(summary_ws, min_col=total_col, min_row=first_row, max_row=last),
                   titles_from_data=False)
    chart.set_categories(Reference(summary_ws, min_col=unit_col, min_row=first_row, max_row=last))
    _bars(chart, count)
    if best is not None and best <= 100:
        chart.y_axis.scaling.max = 100
    chart.y_axis.number_format = "0"
    _values_on_bars(chart, totals, max(100.0, best or 0), "0.00")
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
    chart.width = CHART_WIDTH_CM
    chart.height = max(8.0, BAR_CM * count + CHART_FRAME_CM)


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
