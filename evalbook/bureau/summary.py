"""The bureau's summary workbook (汇总.xlsx): what `evalbook batch` and `evalbook merge` write.

Results are spilled to a temporary SQLite file as they arrive and streamed out with openpyxl's
write-only mode, so memory stays flat however many departments there are.  The sheets' headers
are the contract `evalbook merge` reads back, so they live here as constants.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break

from evalbook.department.framework import seed_framework
from evalbook.workbook import pages
from evalbook.workbook.sheetspec import DEFAULT_HEIGHT, DEFAULT_WIDTH, needed_height
from evalbook.core.errors import EXIT_FINDINGS, EXIT_OK, EXIT_UNUSABLE, WorkbookUnusable
from evalbook.adapters.package import atomic_write
from evalbook.core.numbers import PENDING
from evalbook.core.textsafe import FORMULA_STARTS

SUMMARY_SHEET = "汇总"
CHART_SHEET = "图表"
FINDINGS_SHEET = "问题清单"
FAILED_SHEET = "无法读取"
FUNDS_SHEET = "专项资金"

RANK, FILE, UNIT = "排名", "文件", "单位名称"
TOTAL, GRADE, ERRORS, HINTS = "总分", "等级", "错误数", "提示数"
SELF_TOTAL, SELF_GAP = "自评总分", "自评−总分"
FUND_COUNT, FUND_SCORE = "专项资金个数", "专项资金得分"
# the fund columns go last, so the columns before them (and the chart's references) stay put
SUMMARY_COLUMNS = (RANK, FILE, UNIT) + seed_framework().keys + (TOTAL, GRADE, ERRORS, HINTS, SELF_TOTAL, SELF_GAP,
                                                          FUND_COUNT, FUND_SCORE)
FUND_NUMBER, FUND_NAME = "专项序号", "专项资金名称"
FUND_BUDGET, FUND_SPENT, FUND_RATE = "全年预算数(A)", "全年执行数(B)", "执行率"
SCORE = "得分"
FUND_COLUMNS = (FILE, UNIT, FUND_NUMBER, FUND_NAME, FUND_BUDGET, FUND_SPENT, FUND_RATE, SCORE, GRADE)
FINDING_COLUMNS = ("文件", "单位", "级别", "工作表", "单元格", "说明")
FAILED_COLUMNS = ("文件", "原因")
RATE_COLUMNS = ("指标", "二级指标", "计分单位数", "平均得分率")
RATES_HEADER_ROW = 2  # row 1 of 图表 is its title

NO_UNIT = "（未填报单位）"
MAX_CELL_TEXT = 32767  # Excel's limit for one cell

_THIN = Side(style="thin", color="A6A6A6")
_HEADER_FONT = Font(name="等线", bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
_HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
_HEADER_BORDER = Border(bottom=_THIN)
_TITLE_FONT = Font(name="等线", bold=True, size=12)
_PENDING_FONT = Font(name="等线", color="9C5700")
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


# ---- collecting results -------------------------------------------------------------------------


@dataclass
class Tally:
    files: int = 0
    scored: int = 0
    pending: int = 0  # scored, but 总分 待补充
    with_errors: int = 0
    unreadable: int = 0
    skipped_names: list[str] = field(default_factory=list)  # summaries found among the inputs

    def exit_code(self) -> int:
        """2 when some file could not be read, else 1 when some has 错误, else 0 (batch and merge)."""
        if self.unreadable:
            return EXIT_UNUSABLE
        return EXIT_FINDINGS if self.with_errors else EXIT_OK

    def line(self) -> str:
        parts = [f"共{self.files}个文件：已评分{self.scored}个"]
        notes = []
        if self.pending:
            notes.append(f"总分待补充{self.pending}个")
        if self.with_errors:
            notes.append(f"有错误的{self.with_errors}个")
        if notes:
            parts.append(f"（其中{'，'.join(notes)}）")
        parts.append(f"，无法读取{self.unreadable}个")
        if self.skipped_names:
            parts.append(f"，跳过汇总表{len(self.skipped_names)}个")
        return "".join(parts)


@dataclass
class RateSums:
    """Exact running sums of 得分率 per indicator: flat memory, the same whatever order results
    arrive in (float sums are not), and mergeable across summaries as count-weighted means."""

    sums: dict[str, Fraction] = field(default_factory=lambda: {k: Fraction(0) for k in seed_framework().keys})
    counts: dict[str, int] = field(default_factory=lambda: {k: 0 for k in seed_framework().keys})

    def add(self, key: str, rate: Fraction, count: int = 1) -> None:
        self.sums[key] += rate * count
        self.counts[key] += count

    def rows(self) -> list[tuple[str, str, int, float | None]]:
        """(指标, 二级指标, 计分单位数, 平均得分率), lowest average first: where to look first."""
        rows = []
        for ind in seed_framework().indicators:
            n = self.counts[ind.key]
            rows.append((ind.key, ind.level2, n, float(self.sums[ind.key] / n) if n else None))
        order = {k: i for i, k in enumerate(seed_framework().keys)}
        rows.sort(key=lambda r: (r[3] is None, r[3] if r[3] is not None else 0.0, order[r[0]]))
        return rows


class Collector:
    """Department results, findings and failures, kept on disk until the summary is written.

    A result is the plain dict a batch worker returns (see `evalbook.batch.score_file`);
    `merge` builds the same dicts from summaries read back.
    """

    def __init__(self, folder: str | os.PathLike):
        self._db = sqlite3.connect(Path(folder) / "results.sqlite3")
        self._db.executescript("""
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            PRAGMA cache_size = -4096;
            CREATE TABLE dept (seq INTEGER PRIMARY KEY, name TEXT, path TEXT, unit TEXT, scores TEXT,
                               total REAL, grade TEXT, errors INTEGER, hints INTEGER,
                               self_total REAL, self_gap REAL, fund_count INTEGER, fund_score REAL);
            CREATE TABLE finding (seq INTEGER PRIMARY KEY, name TEXT, path TEXT, unit TEXT, errfirst INTEGER,
                                  severity TEXT, sheet TEXT, cell TEXT, message TEXT);
            CREATE TABLE failure (seq INTEGER PRIMARY KEY, name TEXT, path TEXT, reason TEXT);
            CREATE TABLE fund (seq INTEGER PRIMARY KEY, name TEXT, path TEXT, unit TEXT, number INTEGER,
                               fund_name TEXT, budget REAL, spent REAL, rate REAL, score REAL, grade TEXT);
        """)
        self.tally = Tally()
        self.rates = RateSums()

    def add(self, result: Mapping) -> None:
        name, path = result["name"], result.get("path", result["name"])
        if result.get("skipped"):
            self.tally.skipped_names.append(name)
            return
        self.tally.files += 1
        keys = result.get("keys")
        if result["ok"] and keys is not None and tuple(keys) != seed_framework().keys:
            # the summary's columns are the built-in table's; another table's scores would land under
            # the wrong indicators, so such a workbook is listed, not summed
            result = {"ok": False, "name": name, "path": path, "reason": (
                f"该工作簿按指标框架“{result.get('framework') or '未命名'}”（指纹{result.get('fingerprint')}）评分，"
                f"其指标与本汇总所用的内置框架不同；请把同一框架的工作簿放在一起，另行汇总")}
        if not result["ok"]:
            self.tally.unreadable += 1
            self._db.execute("INSERT INTO failure (name, path, reason) VALUES (?, ?, ?)",
                             (name, path, result["reason"]))
            return
        self.tally.scored += 1
        if result["total"] is None:
            self.tally.pending += 1
        if result["errors"]:
            self.tally.with_errors += 1
        for key, rate in zip(seed_framework().keys, result.get("rates") or ()):
            if rate is not None:
                self.rates.add(key, Fraction(*rate))
        unit = result["unit"]
        self._db.execute(
            "INSERT INTO dept (name, path, unit, scores, total, grade, errors, hints, self_total, self_gap,"
            " fund_count, fund_score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, path, unit, json.dumps(result["scores"]), result["total"], result["grade"],
             result["errors"], result["hints"], result["self_total"], result["self_gap"],
             result.get("fund_count") or None, result.get("fund_score")))
        for fund in result.get("funds") or ():
            self._add_fund(name, path, unit, fund)
        self._db.executemany(
            "INSERT INTO finding (name, path, unit, errfirst, severity, sheet, cell, message)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(name, path, unit, 0 if f[0] == "错误" else 1, *f) for f in result["findings"]])

    def add_rates(self, key: str, average: float, count: int) -> None:
        self.rates.add(key, Fraction(average), count)

    def add_finding(self, name: str, unit: str, severity: str, sheet: str, cell: str, message: str) -> None:
        """A 问题清单 row read back from another summary (`merge`)."""
        self._db.execute(
            "INSERT INTO finding (name, path, unit, errfirst, severity, sheet, cell, message)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (name, name, unit, 0 if severity == "错误" else 1, severity, sheet, cell, message))

    def add_fund(self, name: str, unit: str, fund: Mapping) -> None:
        """A 专项资金 row read back from another summary (`merge`)."""
        self._add_fund(name, name, unit, fund)

    def _add_fund(self, name: str, path: str, unit: str, fund: Mapping) -> None:
        self._db.execute(
            "INSERT INTO fund (name, path, unit, number, fund_name, budget, spent, rate, score, grade)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, path, unit, fund["number"], fund["name"], fund["budget"], fund["spent"], fund["rate"],
             fund["score"], fund["grade"]))

    def duplicates(self) -> list[str]:
        """File names that occur more than once (the same department summarised twice?)."""
        return [row[0] for row in self._db.execute(
            "SELECT name FROM (SELECT name FROM dept UNION ALL SELECT name FROM failure)"
            " GROUP BY name HAVING COUNT(*) > 1 ORDER BY name")]

    def departments(self) -> Iterator[tuple]:
        """Ranked rows: best 总分 first, incomplete ones last; ties in file-name order."""
        return iter(self._db.execute(
            "SELECT name, unit, scores, total, grade, errors, hints, self_total, self_gap, fund_count, fund_score"
            " FROM dept"
            " ORDER BY total IS NULL, total DESC, name, path, seq"))

    def findings(self) -> Iterator[tuple]:
        return iter(self._db.execute(
            "SELECT name, unit, severity, sheet, cell, message FROM finding"
            " ORDER BY name, path, errfirst, seq"))

    def funds(self) -> Iterator[tuple]:
        """专项资金 rows by file, then 专项序号 (path and seq only part ties between duplicates)."""
        return iter(self._db.execute(
            "SELECT name, unit, number, fund_name, budget, spent, rate, score, grade FROM fund"
            " ORDER BY name, number, path, seq"))

    def failures(self) -> Iterator[tuple]:
        return iter(self._db.execute("SELECT name, reason FROM failure ORDER BY name, path, seq"))

    def best_total(self) -> float | None:
        return self._db.execute("SELECT MAX(total) FROM dept").fetchone()[0]

    def count(self, table: str) -> int:
        return self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    def close(self) -> None:
        self._db.close()


# ---- writing ------------------------------------------------------------------------------------


def clean(value: object) -> str:
    """Workbook text made safe for a cell: no control characters, within Excel's length limit."""
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))[:MAX_CELL_TEXT]


class _Cells:
    """Styled write-only cells for one sheet, appended a row at a time at the height its wrapped
    text needs (a write-only sheet takes a row's height before the row is written)."""

    def __init__(self, ws, widths: Mapping[int, float] | None = None):
        self.ws = ws
        self.widths = dict(widths or {})
        self.rows = 0

    def append(self, cells: list) -> None:
        self.rows += 1
        need = max((needed_height(c.value, self.widths.get(i, DEFAULT_WIDTH)) for i, c in enumerate(cells, 1)
                    if c is not None and c.alignment.wrap_text and isinstance(c.value, str)), default=0)
        if need > DEFAULT_HEIGHT:
            self.ws.row_dimensions[self.rows].height = need
        self.ws.append(cells)

    def text(self, value, font=None, wrap=False) -> WriteOnlyCell | None:
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
        cell.alignment = _WRAP if wrap else _ALIGN
        return cell

    def number(self, value, fmt: str) -> WriteOnlyCell | None:
        if value is None:
            return None
        cell = WriteOnlyCell(self.ws, value=value)
        cell.number_format = fmt
        cell.alignment = _ALIGN
        return cell

    def grade(self, grade) -> WriteOnlyCell:
        """优/良/中/差 centred in its narrow column, clear of the 总分 beside it."""
        cell = self.text(grade or PENDING, None if grade else _PENDING_FONT)
        cell.alignment = _CENTER
        return cell

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


def _summary_sheet(wb: Workbook, collector: Collector) -> int:
    """汇总; returns how many departments have a 总分 (they come first, for the chart)."""
    ws = wb.create_sheet(SUMMARY_SHEET)
    n = collector.count("dept")
    # 27 columns on one A4 width: names wrap in narrower columns, indicator headers over 3 lines
    widths = {1: 6, 2: 18, 3: 18}
    first_key = len((RANK, FILE, UNIT)) + 1
    for i in range(len(seed_framework().keys)):
        widths[first_key + i] = 7.5
    tail = first_key + len(seed_framework().keys)
    widths.update({tail: 9, tail + 1: 7, tail + 2: 7, tail + 3: 7, tail + 4: 9, tail + 5: 10, tail + 6: 9,
                   tail + 7: 9})
    _setup_table(ws, widths, n, len(SUMMARY_COLUMNS), "D2")
    errors_col = get_column_letter(tail + 2)
    if n:
        ws.conditional_formatting.add(
            f"{errors_col}2:{errors_col}{n + 1}",
            CellIsRule(operator="greaterThan", formula=["0"], fill=PatternFill("solid", bgColor="FFC7CE"),
                       font=Font(color="9C0006")))
        gap_col = get_column_letter(tail + 5)
        ws.conditional_formatting.add(
            f"{gap_col}2:{gap_col}{n + 1}",
            CellIsRule(operator="greaterThan", formula=["0"], font=Font(color="9C0006")))
    cells = _Cells(ws, widths)
    cells.append(cells.header(SUMMARY_COLUMNS))
    complete = 0
    rank = 0
    previous = None
    for position, (name, unit, scores, total, grade, errors, hints, self_total, self_gap, fund_count,
                   fund_score) in enumerate(collector.departments(), start=1):
        if total is not None:
            complete += 1
            if total != previous:  # competition ranking: ties share a rank, the next rank skips
                rank, previous = position, total
        row = [cells.number(rank, COUNT_FORMAT) if total is not None else None,
               cells.text(name, wrap=True), cells.text(unit or NO_UNIT, wrap=True)]
        row += [cells.score(s) for s in json.loads(scores)]
        row += [cells.score(total), cells.grade(grade),
                cells.number(errors, COUNT_FORMAT), cells.number(hints, COUNT_FORMAT),
                cells.number(self_total, SCORE_FORMAT), cells.number(self_gap, GAP_FORMAT)]
        # blank for a department without funds; 待补充 while one of its funds has no 得分 yet
        row += [cells.number(fund_count, COUNT_FORMAT), cells.score(fund_score) if fund_count else None]
        cells.append(row)
    return complete


def _findings_sheet(wb: Workbook, collector: Collector) -> None:
    ws = wb.create_sheet(FINDINGS_SHEET)
    widths = {1: 22, 2: 20, 3: 6, 4: 16, 5: 8, 6: 80}
    _setup_table(ws, widths, collector.count("finding"), len(FINDING_COLUMNS), "A2")
    cells = _Cells(ws, widths)
    cells.append(cells.header(FINDING_COLUMNS))
    error_font = Font(name="等线", color="9C0006", bold=True)
    for name, unit, severity, sheet, cell, message in collector.findings():
        cells.append([cells.text(name, wrap=True), cells.text(unit or NO_UNIT, wrap=True),
                      cells.text(severity, error_font if severity == "错误" else None),
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
                      cells.number(rate, EXEC_RATE_FORMAT), cells.score(score),
                      cells.grade(grade)])


def _failed_sheet(wb: Workbook, collector: Collector) -> None:
    ws = wb.create_sheet(FAILED_SHEET)
    widths = {1: 36, 2: 90}
    _setup_table(ws, widths, collector.count("failure"), len(FAILED_COLUMNS), "A2")
    cells = _Cells(ws, widths)
    cells.append(cells.header(FAILED_COLUMNS))
    for name, reason in collector.failures():
        cells.append([cells.text(name, wrap=True), cells.text(reason, wrap=True)])


CHART_ROW_HEIGHT = 15.0  # every row of 图表, so where a chart ends on the page is known
CHART_PAGE_CM = 24.0  # a chart's height on a portrait A4 page, with room to spare
BAR_CM, CHART_FRAME_CM = 0.6, 3.0


def _chart_sheet(wb: Workbook, collector: Collector, summary_ws, complete: int) -> None:
    """The rates and their chart on the first page; the departments' totals after it, one chart
    per page (as many charts as it takes), so no chart is ever printed in halves."""
    ws = wb.create_sheet(CHART_SHEET)
    widths = {1: 20, 2: 12, 3: 11, 4: 11}
    for index, width in widths.items():
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.sheet_format.defaultRowHeight = CHART_ROW_HEIGHT
    ws.sheet_format.customHeight = True
    pages.page_setup(ws, landscape=False)
    cells = _Cells(ws, {1: sum(width for width in widths.values()) + 4 * DEFAULT_WIDTH})
    cells.append([cells.text("各指标平均得分率（得分÷分值）：从低到高排列，越靠前越值得优先关注", _TITLE_FONT)])
    cells.append(cells.header(RATE_COLUMNS))
    rows = collector.rates.rows()
    for key, level2, n, average in rows:
        cells.append([cells.text(key), cells.text(level2), cells.number(n, COUNT_FORMAT),
                      cells.number(average, RATE_FORMAT)])
    cells.append([])
    # the tally spans the page's width (A–H) and wraps there
    cells.append([cells.text(collector.tally.line() + "；明细见“汇总”“专项资金”“问题清单”“无法读取”表。", wrap=True)])
    ws.merged_cells.add(f"A{cells.rows}:H{cells.rows}")
    page_end = cells.rows + 1

    scored_rates = sum(1 for r in rows if r[3] is not None)
    if scored_rates:
        chart = BarChart()
        chart.type = "bar"
        chart.style = 10
        chart.title = "各指标平均得分率（越短越需关注）"
        chart.legend = None
        top = RATES_HEADER_ROW + 1
        chart.add_data(Reference(ws, min_col=4, min_row=top, max_row=top + scored_rates - 1), titles_from_data=False)
        chart.set_categories(Reference(ws, min_col=1, min_row=top, max_row=top + scored_rates - 1))
        _bars(chart, scored_rates)
        chart.y_axis.scaling.max = 1
        chart.y_axis.number_format = "0%"
        chart.y_axis.majorUnit = 0.2
        chart.dataLabels = DataLabelList(showVal=True, showSerName=False, showCatName=False,
                                         showLegendKey=False, showPercent=False)
        chart.dataLabels.numFmt = "0.0%"
        chart.dataLabels.position = "inEnd"  # inside the bar: a 100% label is not cut off
        anchor = page_end + 1
        ws.add_chart(chart, f"A{anchor}")
        page_end = anchor + _chart_rows(chart.height)

    if complete:
        best = collector.best_total()
        total_col = SUMMARY_COLUMNS.index(TOTAL) + 1
        unit_col = SUMMARY_COLUMNS.index(UNIT) + 1
        per_chart = int((CHART_PAGE_CM - CHART_FRAME_CM) / BAR_CM)
        charts = -(-complete // per_chart)
        size = -(-complete // charts)  # the departments shared evenly between the charts
        for first in range(0, complete, size):
            last = min(first + size, complete)
            chart = BarChart()
            chart.type = "bar"
            chart.style = 10
            chart.title = "各部门总分（按总分排序）" + (f"：第{first + 1}—{last}名" if charts > 1 else "")
            chart.legend = None
            chart.add_data(Reference(summary_ws, min_col=total_col, min_row=2 + first, max_row=1 + last),
                           titles_from_data=False)
            chart.set_categories(Reference(summary_ws, min_col=unit_col, min_row=2 + first, max_row=1 + last))
            _bars(chart, last - first)
            if best is not None and best <= 100:
                chart.y_axis.scaling.max = 100
            chart.y_axis.number_format = "0"
            ws.row_breaks.append(Break(id=page_end))
            anchor = page_end + 1
            ws.add_chart(chart, f"A{anchor}")
            page_end = anchor + _chart_rows(chart.height)


def _chart_rows(height_cm: float) -> int:
    """The rows of 图表 a chart `height_cm` tall covers."""
    return math.ceil(height_cm / 2.54 * pages.INCH / CHART_ROW_HEIGHT)


def _bars(chart: BarChart, count: int) -> None:
    """Horizontal bars in table order, every label shown: one readable bar per row."""
    chart.x_axis.scaling.orientation = "maxMin"  # first row on top, as in the table
    chart.y_axis.crosses = "max"  # …and the value axis back at the bottom
    chart.y_axis.scaling.min = 0
    chart.x_axis.tickLblSkip = 1
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.gapWidth = 60
    chart.width = 17  # within a portrait A4 page's width
    chart.height = max(8.0, BAR_CM * count + CHART_FRAME_CM)


def write_summary(target: Path, collector: Collector) -> None:
    """The five sheets, written to a temporary file beside `target` that then replaces it."""
    wb = Workbook(write_only=True)
    wb.properties.creator = "evalbook"
    complete = _summary_sheet(wb, collector)
    summary_ws = wb[SUMMARY_SHEET]
    _chart_sheet(wb, collector, summary_ws, complete)
    _funds_sheet(wb, collector)
    _findings_sheet(wb, collector)
    _failed_sheet(wb, collector)
    save_atomically(wb, target)


def save_atomically(wb: Workbook, target: Path) -> None:
    """The summary through the same atomic routine as every other write (temp file, fsync, replace)."""
    atomic_write(target, wb.save)


def is_summary(path: Path) -> bool:
    """A workbook written by `batch`/`merge` (it has 汇总 and none of the template's names)."""
    from evalbook.adapters.xlsx import XlsxBook

    try:
        with XlsxBook(path) as book:
            return book.has_sheet(SUMMARY_SHEET) and not book.has_name("填报单位")
    except WorkbookUnusable:
        return False
