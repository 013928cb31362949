"""Lay the template's sheets out with openpyxl, from `evalbook.layout`.

Produces a plain .xlsx package in memory; `evalbook.build.package` then makes it macro-enabled.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Mapping

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference, Series
from openpyxl.comments import Comment
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.pagebreak import Break
from openpyxl.utils import quote_sheetname

from evalbook.adapters import xmledit as XE
from evalbook.core.textsafe import FORMULA_STARTS
from evalbook.department.framework import Framework
from evalbook.workbook import layout, pages
from evalbook.workbook import sheetspec as L

FIXED_TIME = dt.datetime(2021, 1, 1)  # reproducible builds: no build-time timestamps

_THIN = Side(style="thin", color="808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_FONT = "等线"
STYLES = {
    L.TITLE: dict(font=Font(name=_FONT, size=16, bold=True), alignment=Alignment(horizontal="center",
                                                                                 vertical="center")),
    L.HEADER: dict(font=Font(name=_FONT, bold=True), fill=PatternFill("solid", fgColor="D9D9D9"),
                   border=_BORDER, alignment=Alignment(horizontal="center", vertical="center", wrap_text=True)),
    L.SECTION: dict(font=Font(name=_FONT, bold=True), border=_BORDER,
                    alignment=Alignment(vertical="center", wrap_text=True)),
    L.LABEL: dict(font=Font(name=_FONT), border=_BORDER, alignment=Alignment(vertical="center")),
    L.TEXT: dict(font=Font(name=_FONT, size=10), border=_BORDER, alignment=Alignment(vertical="top")),
    # input and output cells stay unlocked, so a department that protects a sheet can still type
    # its data and still have the button write the scores
    L.INPUT: dict(font=Font(name=_FONT, color="1F3864"), fill=PatternFill("solid", fgColor="FFF2CC"),
                  border=_BORDER, alignment=Alignment(vertical="center"), protection=Protection(locked=False)),
    # what a run writes wraps, and the writer gives its rows the height the text needs
    L.OUTPUT: dict(font=Font(name=_FONT), fill=PatternFill("solid", fgColor="DDEBF7"), border=_BORDER,
                   alignment=Alignment(vertical="center", wrap_text=True), protection=Protection(locked=False)),
    L.NOTE: dict(font=Font(name=_FONT, size=9, color="595959"), alignment=Alignment(vertical="center")),
}
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE", bgColor="FFC7CE")
ERROR_FONT = Font(color="9C0006", bold=True)


def _style(cell, spec: L.Cell) -> None:
    style = STYLES[spec.style]
    cell.font = style["font"]
    if "fill" in style:
        cell.fill = style["fill"]
    if "border" in style:
        cell.border = style["border"]
    align = style["alignment"]
    cell.alignment = Alignment(horizontal=align.horizontal, vertical=align.vertical,
                               wrap_text=spec.wrap or align.wrap_text)
    if spec.number_format:
        cell.number_format = spec.number_format
    if "protection" in style:
        cell.protection = style["protection"]


def build_workbook(values: Mapping[str, object] | None = None,
                   comments: Mapping[str, str] | None = None, funds: int = 1,
                   framework: Framework | None = None) -> Workbook:
    """The template as an openpyxl Workbook; `values` fills named input cells (for examples)."""
    values = values or {}
    comments = comments or {}
    wb = Workbook()
    wb.remove(wb.active)
    wb.code_name = "ThisWorkbook"
    wb.calculation.fullCalcOnLoad = True  # the native formulas have no cached values until scored
    wb.properties.creator = "evalbook"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.lastModifiedBy = "evalbook"
    seen_values = set()
    for spec in layout.sheets(funds, framework):
        ws = wb.create_sheet(spec.title)
        ws.sheet_properties.codeName = spec.code_name
        if spec.hidden:
            ws.sheet_state = "hidden"
        for col, width in spec.widths.items():
            ws.column_dimensions[col].width = width
        if spec.hidden_columns:
            first, last = spec.hidden_columns.split(":")
            ws.column_dimensions.group(first, last, hidden=True)
        for row, height in spec.heights.items():
            ws.row_dimensions[row].height = height
        lists: dict[tuple[str, ...], list[str]] = {}
        for c in spec.cells:
            cell = ws[c.ref]
            key = c.name or c.key
            value = values.get(key, c.value) if key else c.value
            if key in values:
                seen_values.add(key)
            cell.value = value
            text = isinstance(value, str) and value.startswith(FORMULA_STARTS) and c.style != L.NOTE and not c.formula
            if text:
                cell.data_type = "s"  # labels and a framework's wording are never formulas
            _style(cell, c)
            if text:
                cell.quotePrefix = True  # and stay text when an accountant edits them in Excel
            if c.merge:
                ws.merge_cells(f"{c.ref}:{c.merge}")
                _border_merged(ws, c)
            if c.name:
                ref = f"{quote_sheetname(spec.title)}!${_col(c.ref)}${_row(c.ref)}"
                wb.defined_names[c.name] = DefinedName(c.name, attr_text=ref)
                if c.name in comments:
                    cell.comment = Comment(comments[c.name], "evalbook")
            if c.choices:
                lists.setdefault(c.choices, []).append(c.ref)
        for choices, refs in lists.items():
            dv = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True,
                                showErrorMessage=True, errorTitle="请从下拉列表选择",
                                error="请选择：" + "、".join(choices))
            for ref in refs:
                dv.add(ref)
            ws.add_data_validation(dv)
        for name, area in spec.ranges.items():
            first, last = area.split(":")
            ref = f"{quote_sheetname(spec.title)}!${_col(first)}${_row(first)}:${_col(last)}${_row(last)}"
            wb.defined_names[name] = DefinedName(name, attr_text=ref)
        if spec.highlight_range:
            # A cell named in 校验结果 with 错误 lights up; the marks live only in 校验结果, so
            # clearing that table clears them and no input cell's own format is ever changed.
            top = spec.highlight_range.split(":")[0]
            formula = (f'COUNTIFS(校验_级别,"错误",校验_工作表,"{spec.title}",'
                       f'校验_单元格,ADDRESS(ROW({top}),COLUMN({top}),4))>0')
            ws.conditional_formatting.add(
                spec.highlight_range, FormulaRule(formula=[formula], fill=ERROR_FILL, font=ERROR_FONT,
                                                  stopIfTrue=False))
        for area, formula, colour in spec.alerts:
            ws.conditional_formatting.add(
                area, FormulaRule(formula=[formula], font=Font(color=colour, bold=True), stopIfTrue=False))
        for chart in spec.charts:
            ws.add_chart(_bar_chart(ws, chart), chart.anchor)
        if spec.freeze:
            ws.freeze_panes = spec.freeze
        if spec.print_area:
            ws.print_area = spec.print_area
        pages.page_setup(ws, spec.landscape)
        if spec.print_titles:
            ws.print_title_rows = spec.print_titles
        for row in spec.row_breaks:
            ws.row_breaks.append(Break(id=row))
    unknown = set(values) - seen_values
    if unknown:
        raise KeyError(f"no input cell named {sorted(unknown)}")
    return wb


def _bar_chart(ws, spec: L.Chart) -> BarChart:
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "clustered"
    chart.title = spec.title
    chart.width, chart.height = spec.width_cm, spec.height_cm
    chart.y_axis.title = "分"
    chart.y_axis.majorGridlines = None
    chart.y_axis.number_format = "0"
    chart.legend.position = "b"
    for legend, area in spec.series:
        first, last = area.split(":")
        ref = Reference(ws, range_string=f"{quote_sheetname(ws.title)}!{first}:{last}")
        series = Series(ref, title=legend)
        chart.series.append(series)
    first, last = spec.categories.split(":")
    chart.set_categories(Reference(ws, range_string=f"{quote_sheetname(ws.title)}!{first}:{last}"))
    # openpyxl hides axes unless told otherwise (delete=True by default in 3.1)
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    return chart


def _border_merged(ws, spec: L.Cell) -> None:
    """openpyxl draws a merged block's border only on its first cell; draw it all round."""
    style = STYLES[spec.style]
    if "border" not in style:
        return
    for row in ws[f"{spec.ref}:{spec.merge}"]:
        for cell in row:
            cell.border = style["border"]
            if "fill" in style:
                cell.fill = style["fill"]


def _col(ref: str) -> str:
    return "".join(ch for ch in ref if ch.isalpha())


def _row(ref: str) -> str:
    return "".join(ch for ch in ref if ch.isdigit())


def workbook_bytes(values=None, comments=None, funds: int = 1, framework: Framework | None = None) -> bytes:
    wb = build_workbook(values, comments, funds, framework)
    buffer = io.BytesIO()
    wb.save(buffer)
    return _with_cached_checks(buffer.getvalue(), layout.sheets(funds, framework))


def _with_cached_checks(xlsx: bytes, specs: list[L.Sheet]) -> bytes:
    """The names index's check formulas with their result saved (TRUE: the build just made every
    name where its row says), as Excel saves it; openpyxl saves formulas without results, which
    a reader that cannot calculate (and the button before Excel calculated) sees as blank."""
    position = next(i for i, spec in enumerate(specs, start=1) if spec.title == layout.FRAMEWORK_SHEET)
    part = f"xl/worksheets/sheet{position}.xml"
    checks = {c.ref for c in specs[position - 1].cells if c.formula}
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    data = source.read(part)
    edits = []

    def end(e: XE.Element, stack) -> None:
        if e.local == "v" and any(a.local == "c" and a.attrs.get("r") in checks for a in stack if a is not e):
            edits.append((e.start, e.end, b"<v>1</v>"))
        elif e.local == "c" and e.attrs.get("r") in checks:
            edits.append((e.start, e.tag_end, XE.edit_tag(data[e.start:e.tag_end], {"t": "b"})))

    XE.walk(data, on_end=end)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, XE.splice(data, edits) if info.filename == part else source.read(info.filename))
    return out.getvalue()
