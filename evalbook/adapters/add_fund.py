"""新增专项资金: a new, empty fund sheet copied from the workbook's first fund sheet.

The copy keeps the department's own formatting of that sheet; its typed cells go back to the
template's blanks, and it gets its own defined names (专项n_…) pointing at the same cells.
The file version patches the package; the live version asks Excel to copy the sheet.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

from evalbook.adapters import sheetxml as X
from evalbook.adapters.live import LiveBook
from evalbook.adapters.package import writable_check
from evalbook.adapters.xlsx import XlsxBook
from evalbook.core.errors import WorkbookUnusable
from evalbook.core.textsafe import formula_safe
from evalbook.funds import names as N
from evalbook.workbook import fund_layout as FL
from evalbook.workbook.funds_io import fund_numbers

SHEET_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
SHEET_CONTENT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


def template_cells(n: int) -> dict[str, object]:
    """Defined name of fund n → what a fresh sheet holds there (prefilled labels or blank)."""
    return {c.name: c.value for c in FL.fund_sheet(n).cells if c.name}


def fund_name_suffixes(book_names, n: int) -> list[str]:
    prefix = f"专项{n}_"
    return [name[len(prefix):] for name in book_names if name.startswith(prefix)]


def add_fund_to_file(path: str | Path, target: str | Path | None = None) -> int:
    """Adds fund sheet n+1 to a workbook file; returns its number."""
    path = Path(path)
    target = Path(target) if target else path
    writable_check(target)
    with XlsxBook(path) as book:
        numbers = fund_numbers(book)
        if not numbers:
            raise WorkbookUnusable(f"工作簿“{path.name}”没有专项资金自评表（缺少定义名称“专项1_专项资金名称”），请使用evalbook模板")
        source_n, new_n = numbers[0], numbers[-1] + 1
        source_sheet = book.locate(N.header_name(source_n, "专项资金名称")).sheet
        title = _free_title(FL.sheet_title(new_n), book.sheet_order)
        pkg = book.package
        source_part = book.sheet_parts[source_sheet]
        new_part = _free_part(pkg.names)

        blank = template_cells(1)
        resets = {}
        for suffix in fund_name_suffixes(book.defined, source_n):
            ref = book.locate(f"专项{source_n}_{suffix}")
            if ref is not None and ref.sheet == source_sheet:
                resets[ref.cell] = blank.get(f"专项1_{suffix}")
        patch = X.SheetPatch(pkg.read(source_part).decode("utf-8"))
        patch.set_cells(resets)
        sheet_xml = _detach(patch.xml, source_sheet, title)

        workbook = pkg.read(book.main_part).decode("utf-8")
        rels_part = _rels_part(book.main_part)
        rels = pkg.read(rels_part).decode("utf-8")
        rel_id = _free_rel_id(rels)
        rels = rels.replace("</Relationships>",
                            f'<Relationship Id="{rel_id}" Type="{SHEET_TYPE}" '
                            f'Target="{_relative(book.main_part, new_part)}"/></Relationships>')
        workbook = _add_sheet_entry(workbook, title, rel_id)
        workbook = _add_names(workbook, book, source_n, new_n, source_sheet, title)
        types = pkg.read("[Content_Types].xml").decode("utf-8").replace(
            "</Types>", f'<Override PartName="/{new_part}" ContentType="{SHEET_CONTENT}"/></Types>')
        book.put_part(book.main_part, workbook.encode("utf-8"))
        book.put_part(rels_part, rels.encode("utf-8"))
        book.put_part("[Content_Types].xml", types.encode("utf-8"))
        book.put_part(new_part, sheet_xml.encode("utf-8"))
        book.save(target)
    return new_n


def _free_title(title: str, existing: list[str]) -> str:
    candidate, i = title, 2
    while candidate in existing:
        candidate, i = f"{title}（{i}）", i + 1
    return candidate


def _free_part(parts: set[str]) -> str:
    i = 1
    while f"xl/worksheets/sheet{i}.xml" in parts:
        i += 1
    return f"xl/worksheets/sheet{i}.xml"


def _rels_part(part: str) -> str:
    folder, _, base = part.rpartition("/")
    return f"{folder}/_rels/{base}.rels"


def _relative(main_part: str, part: str) -> str:
    folder = main_part.rpartition("/")[0]
    return part[len(folder) + 1:] if folder and part.startswith(folder + "/") else "/" + part


def _free_rel_id(rels: str) -> str:
    used = set(re.findall(r'Id="([^"]+)"', rels))
    i = 1
    while f"rId{i}" in used:
        i += 1
    return f"rId{i}"


def _detach(xml: str, old_title: str, new_title: str) -> str:
    """The copied sheet's XML, without what ties it to the original."""
    # Excel gives a sheet without a code name its own document module on the next save
    xml = re.sub(r'(<(?:\w+:)?sheetPr\b[^>]*?)\scodeName="[^"]*"', r"\1", xml, count=1)
    xml = re.sub(r'\stabSelected="1"', "", xml)
    # parts hanging off the original (comments, drawings, tables) are not copied
    xml = re.sub(r"<(?:\w+:)?(?:drawing|legacyDrawing|legacyDrawingHF|picture)\b[^>]*/>", "", xml)
    xml = re.sub(r"<((?:\w+:)?)tableParts\b.*?</\1tableParts>", "", xml, flags=re.S)
    for quote in ('"', "&quot;"):  # the highlight rule names its own sheet
        xml = xml.replace(f"{quote}{escape(old_title, quote=False)}{quote}",
                          f"{quote}{escape(new_title, quote=False)}{quote}")
    return xml


def _add_sheet_entry(workbook: str, title: str, rel_id: str) -> str:
    ids = [int(i) for i in re.findall(r'<(?:\w+:)?sheet\b[^>]*\ssheetId="(\d+)"', workbook)]
    prefix = re.search(r"<(\w+:)?sheets\b", workbook).group(1) or ""
    r_prefix = re.search(r'xmlns:(\w+)="http://schemas.openxmlformats.org/officeDocument/2006/relationships"',
                         workbook).group(1)
    entry = (f'<{prefix}sheet name="{escape(title)}" sheetId="{max(ids, default=0) + 1}" '
             f'{r_prefix}:id="{rel_id}"/>')
    return workbook.replace(f"</{prefix}sheets>", entry + f"</{prefix}sheets>", 1)


def _add_names(workbook: str, book: XlsxBook, source_n: int, new_n: int, source_sheet: str, title: str) -> str:
    prefix = re.search(r"<(\w+:)?workbook\b", workbook).group(1) or ""
    quoted_old = "'" + source_sheet.replace("'", "''") + "'"
    quoted_new = "'" + title.replace("'", "''") + "'"
    entries = []
    for suffix in fund_name_suffixes(book.defined, source_n):
        refers = book.defined[f"专项{source_n}_{suffix}"]
        refers = refers.replace(quoted_old + "!", quoted_new + "!").replace(source_sheet + "!", quoted_new + "!")
        entries.append(f'<{prefix}definedName name="{escape(f"专项{new_n}_{suffix}")}">{escape(refers, quote=False)}'
                       f"</{prefix}definedName>")
    block = "".join(entries)
    if f"</{prefix}definedNames>" in workbook:
        return workbook.replace(f"</{prefix}definedNames>", block + f"</{prefix}definedNames>", 1)
    return re.sub(rf"(</{prefix}sheets>)", rf"\1<{prefix}definedNames>{block}</{prefix}definedNames>", workbook,
                  count=1)


def add_fund_to_live(live_book) -> int:
    """The button's version: Excel copies the sheet, then the names are re-pointed."""
    from ..adapters.live import LiveBook
    from evalbook.core.textsafe import formula_safe

    book = LiveBook(live_book)
    numbers = fund_numbers(book)
    if not numbers:
        raise WorkbookUnusable("工作簿没有专项资金自评表（缺少定义名称“专项1_专项资金名称”），请使用evalbook模板")
    source_n, new_n = numbers[0], numbers[-1] + 1
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
    blank = template_cells(1)
    for suffix in fund_name_suffixes(book._names, source_n):
        ref = book.locate(f"专项{source_n}_{suffix}")
        if ref is None or ref.sheet != source.sheet:
            continue
        live_book.names.add(f"专项{new_n}_{suffix}", f"='{title}'!{_absolute(ref.cell)}")
        value = blank.get(f"专项1_{suffix}")
        copy.range(ref.cell).value = formula_safe(value) if isinstance(value, str) else value
    return new_n


def _absolute(cell: str) -> str:
    letters = "".join(ch for ch in cell if ch.isalpha())
    return f"${letters}${cell[len(letters):]}"
