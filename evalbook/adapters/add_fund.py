"""新增专项资金: a new, empty fund sheet copied from the workbook's first fund sheet.

The copy keeps the department's own formatting of that sheet; its typed cells go back to the
template's blanks, and it gets its own defined names (专项n_…) pointing at the same cells.  It is
placed after the last fund sheet.  This module decides only that (which number, which cells,
which names); the file version has the adapter copy the sheet inside the package
(`adapters.sheet_copy`), the live version asks Excel to copy it.

At most MAX_FUNDS fund sheets: the number after that is refused, never given twice.
"""

from __future__ import annotations

from pathlib import Path

from evalbook.adapters import sheetxml as X
from evalbook.adapters.package import writable_check
from evalbook.adapters.sheet_copy import copy_sheet
from evalbook.adapters.xlsx import XlsxBook
from evalbook.adapters.xmltree import XmlRefused, decode_xml
from evalbook.core.cells import column_letter, split_range
from evalbook.core.errors import WorkbookUnusable
from evalbook.funds import names as N
from evalbook.workbook import fund_layout as FL
from evalbook.workbook.funds_io import MAX_FUNDS, fund_numbers
from evalbook.workbook.layout import FRAMEWORK_SHEET
from evalbook.workbook.names_index import FIRST_COLUMN as INDEX_COLUMN

INDEX_TITLE_CELL = f"{column_letter(INDEX_COLUMN)}1"


def template_cells(n: int) -> dict[str, object]:
    """Defined name or cell key of fund n → what a fresh sheet holds there (prefilled labels or blank)."""
    return {c.name or c.key: c.value for c in FL.fund_sheet(n).cells if c.name or c.key}


def blank_cells(area: str, suffix: str) -> dict[str, object]:
    """Cell → what a fresh sheet holds there, for the cells of one of fund 1's names (`suffix`
    after 专项1_) standing at `area` on the sheet being copied: a named column is reset cell by
    cell (rows an accountant inserted become blank), a per-cell name of an older sheet as itself."""
    blank = template_cells(1)
    c1, r1, c2, r2 = split_range(area)
    table = f"{N.INDICATOR_TABLE}_"
    cells = {}
    for row in range(r1, r2 + 1):
        for col in range(c1, c2 + 1):
            if suffix.startswith(table) and c1 == c2:
                key = N.indicator_name(1, row - r1 + 1, suffix[len(table):])
            else:
                key = f"专项1_{suffix}" if (row, col) == (r1, c1) else None
            cells[f"{column_letter(col)}{row}"] = blank.get(key)
    return cells


def fund_name_suffixes(book_names, n: int) -> list[str]:
    prefix = f"专项{n}_"
    return [name[len(prefix):] for name in book_names if name.startswith(prefix)]


def next_fund_number(numbers: list[int], book_names, where: str) -> int:
    """The number the new fund gets: one past the last, refused past MAX_FUNDS, and refused if a
    name of that number is somehow there already (two sheets must never share 专项n_ names)."""
    if not numbers:
        raise WorkbookUnusable(f"{where}没有专项资金自评表（缺少定义名称“专项1_专项资金名称”），请使用evalbook模板")
    new_n = numbers[-1] + 1
    if new_n > MAX_FUNDS:
        raise WorkbookUnusable(
            f"{where}已有{MAX_FUNDS}张专项资金自评表，达到上限（每个工作簿最多{MAX_FUNDS}个专项）；"
            f"更多的专项请另用一个工作簿填报")
    if fund_name_suffixes(book_names, new_n):
        raise WorkbookUnusable(
            f"{where}中已有“专项{new_n}_”开头的定义名称，但没有“专项{new_n}_专项资金名称”；"
            f"请删除这些名称（公式→名称管理器）后再新增专项")
    return new_n


def add_fund_to_file(path: str | Path, target: str | Path | None = None, macros=None) -> int:
    """Adds fund sheet n+1 to a workbook file; returns its number.  The result is a .xlsx or a
    .xlsm as its name says (`XlsxBook.save`; `macros` for a .xlsm that has no project)."""
    path = Path(path)
    target = Path(target) if target else path
    writable_check(target)
    with XlsxBook(path) as book:
        numbers = fund_numbers(book)
        new_n = next_fund_number(numbers, book.defined, f"工作簿“{path.name}”")
        source_n = numbers[0]
        source_sheet = book.locate(N.header_name(source_n, "专项资金名称")).sheet
        last_sheet = book.locate(N.header_name(numbers[-1], "专项资金名称")).sheet
        title = _free_title(FL.sheet_title(new_n), book.sheet_order)

        resets, names = {}, {}
        for suffix in fund_name_suffixes(book.defined, source_n):
            extent = book.extent(f"专项{source_n}_{suffix}")
            if extent is not None and extent[0] == source_sheet:
                resets.update(blank_cells(extent[1], suffix))
                names[f"专项{new_n}_{suffix}"] = f"专项{source_n}_{suffix}"
        part = book.sheet_parts[source_sheet]
        try:
            patch = X.SheetPatch(decode_xml(book.package.read(part)))
        except (XmlRefused, ValueError):
            raise WorkbookUnusable(f"工作簿“{path.name}”的工作表“{source_sheet}”内容无法识别，无法复制；原文件未被改动") \
                from None
        patch.set_cells(resets)
        # the highlight rule names its own sheet in a string: the copy's names the copy
        quoted = {f'"{source_sheet}"': f'"{title}"'}
        copy_sheet(book, source_sheet, title, patch.xml, after=last_sheet, names=names, literals=quoted,
                   code_name=FL.code_name(new_n))
        _retire_names_index(book)
        book.save(target, macros=macros)
    return new_n


def _retire_names_index(book: XlsxBook) -> None:
    """The names index no longer lists every name: without its title it is not used, and the
    button, finding none, asks Excel for the names and writes the index afresh (with the check
    formulas, which this adapter never writes)."""
    if book.has_sheet(FRAMEWORK_SHEET) and book.read_sheet(FRAMEWORK_SHEET).get(INDEX_TITLE_CELL) is not None:
        book.write_cells(FRAMEWORK_SHEET, {INDEX_TITLE_CELL: None})


def _free_title(title: str, existing: list[str]) -> str:
    folded = {name.casefold() for name in existing}  # Excel's sheet names ignore case
    candidate, i = title, 2
    while candidate.casefold() in folded:
        candidate, i = f"{title}（{i}）", i + 1
    return candidate


def add_fund_to_live(live_book) -> int:
    """The button's version: Excel copies the sheet, then the names are re-pointed."""
    from evalbook.adapters.live import LiveBook

    book = LiveBook(live_book, exhaustive=True)
    numbers = fund_numbers(book)
    new_n = next_fund_number(numbers, book.all_names(), "工作簿")
    source_n = numbers[0]
    source = book.locate(N.header_name(source_n, "专项资金名称"))
    sheet = live_book.sheets[source.sheet]
    existing = [s.name for s in live_book.sheets]
    title = _free_title(FL.sheet_title(new_n), existing)
    copy = sheet.copy(after=live_book.sheets[len(existing) - 1], name=title)
    try:  # Excel gives the copy sheet-scoped duplicates of the source's names: not wanted
        for local in list(copy.names):
            local.delete()
    except Exception:  # noqa: BLE001 - an engine without sheet names has nothing to clean
        pass
    for suffix in fund_name_suffixes(book.all_names(), source_n):
        extent = book.extent(f"专项{source_n}_{suffix}")
        if extent is None or extent[0] != source.sheet:
            continue
        live_book.names.add(f"专项{new_n}_{suffix}", f"='{title}'!{_absolute(extent[1])}")
        cells = blank_cells(extent[1], suffix)
        c1, r1, c2, r2 = split_range(extent[1])
        rows = [[_literal(cells[f"{column_letter(c)}{r}"]) for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)]
        copy.range(extent[1]).value = rows[0][0] if len(rows) == 1 and len(rows[0]) == 1 else rows
    from evalbook.workbook.service import template_spans

    fresh = LiveBook(live_book, exhaustive=True)  # the names just added included
    fresh.rewrite_index(template_spans(fresh))
    return new_n


def _literal(value: object) -> object:
    from evalbook.core.textsafe import formula_safe

    return formula_safe(value) if isinstance(value, str) else value


def _absolute(area: str) -> str:
    def one(cell: str) -> str:
        letters = "".join(ch for ch in cell if ch.isalpha())
        return f"${letters}${cell[len(letters):]}"

    return ":".join(one(cell) for cell in area.split(":"))
