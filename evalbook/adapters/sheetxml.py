"""Reading cell values from SpreadsheetML, and patching cells in it.

Writes change only the cells evalbook owns, at the places an XML parser found them, instead of
re-serialising the part: every attribute, namespace prefix and extension the department's Excel
(or WPS, or a library) wrote stays exactly as it was, and any well-formed sheet stays well-formed.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import re
from decimal import Decimal
from fractions import Fraction
from html import escape, unescape
from typing import BinaryIO, Callable, Iterable, Mapping, NamedTuple

from evalbook.core.cells import MAX_COLUMN, MAX_ROW, column_index, range_text, split_range, split_ref
from evalbook.core.cells import column_letter as column_letters
from evalbook.core.numbers import ExcelError, UnreadableCell
from evalbook.workbook.book import Formula
from . import limits as L
from . import xmledit as XE
from .xmlparse import XmlTooBig, iter_limited

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_M = "{%s}" % MAIN_NS

_BUILTIN_DATE_FORMATS = set(range(14, 23)) | {45, 46, 47} | set(range(27, 37)) | set(range(50, 59))
_DATE_CODE = re.compile(r"[ymdhs]", re.IGNORECASE)

FORMULA_WITHOUT_VALUE = UnreadableCell(
    "#公式无结果",
    "是公式，但文件中没有保存它的计算结果（保存该文件的软件不计算公式）；请在Excel中打开该文件并保存后再试")


class PatchRefused(ValueError):
    """A write Excel itself would refuse (part of an array formula); the message is Chinese."""








# ---- Excel's escapes for characters XML cannot hold --------------------------------------------

_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
_LOOKS_ESCAPED = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def excel_unescape(text: str) -> str:
    """'_x000D_' → CR: Excel writes characters XML cannot hold this way (ST_Xstring)."""
    if "_x" not in text:
        return text

    def one(m):
        code = int(m.group(1), 16)
        return "\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code)

    return _ESCAPED.sub(one, text)


def excel_escape(text: str) -> str:
    """The inverse of `excel_unescape`, then XML-escaped: any text survives the round trip."""
    text = _LOOKS_ESCAPED.sub(r"_x005F_\1", text)

    def one(m):
        ch = m.group(0)
        return "\ufffd" if "\ud800" <= ch <= "\udfff" else f"_x{ord(ch):04X}_"

    return escape(_XML_BAD.sub(one, text), quote=False)


# ---- reading -----------------------------------------------------------------------------------

def is_date_format(code: str) -> bool:
    # drop quoted text, escaped characters and [colour]/[locale] brackets before looking for y/m/d
    bare = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code)
    return bool(_DATE_CODE.search(bare)) and "General" not in code


def _cell_xfs(styles_root) -> list:
    if styles_root is None:
        return []
    xfs = styles_root.find(f"{_M}cellXfs")
    return [] if xfs is None else xfs.findall(f"{_M}xf")


def date_styles(styles_root) -> set[int]:
    """Indexes into cellXfs whose number format shows a date or time."""
    if styles_root is None:
        return set()
    custom = {}
    num_fmts = styles_root.find(f"{_M}numFmts")
    if num_fmts is not None:
        for fmt in num_fmts.findall(f"{_M}numFmt"):
            try:
                custom[int(fmt.get("numFmtId", "-1"))] = fmt.get("formatCode", "")
            except ValueError:
                continue
    found = set()
    for index, xf in enumerate(_cell_xfs(styles_root)):
        try:
            fmt_id = int(xf.get("numFmtId", "0"))
        except ValueError:
            continue
        if fmt_id in _BUILTIN_DATE_FORMATS or (fmt_id in custom and is_date_format(custom[fmt_id])):
            found.add(index)
    return found


def unlocked_styles(styles_root) -> set[int]:
    """Indexes into cellXfs marked 'not locked' (cells a protected sheet still lets anyone edit)."""
    found = set()
    for index, xf in enumerate(_cell_xfs(styles_root)):
        protection = xf.find(f"{_M}protection")
        if protection is not None and protection.get("locked", "1").strip().lower() in ("0", "false"):
            found.add(index)
    return found


def sheet_protected(sheet_root) -> bool:
    node = sheet_root.find(f"{_M}sheetProtection")
    return node is not None and node.get("sheet", "0").strip().lower() in ("1", "true")


def merged_ranges(sheet_root) -> list[tuple[int, int, int, int]]:
    found = []
    merges = sheet_root.find(f"{_M}mergeCells")
    for merge in (merges if merges is not None else []):
        try:
            found.append(split_range(merge.get("ref", "")))
        except ValueError:
            continue
    return found


def merged_ranges_text(xml: str) -> list[tuple[int, int, int, int]]:
    """`merged_ranges` of a sheet held as text (a sheet being patched)."""
    return SheetPatch(xml).merged_ranges()


def sheet_protected_text(xml: str) -> bool:
    return SheetPatch(xml).protected()


def covering_merge(ranges: Iterable[tuple[int, int, int, int]], ref: str) -> tuple[int, int, int, int] | None:
    """The merged range that hides `ref` (contains it without starting at it), if any."""
    if not ranges:
        return None
    letters, row = split_ref(ref)
    col = column_index(letters)
    for c1, r1, c2, r2 in ranges:
        if c1 <= col <= c2 and r1 <= row <= r2 and (col, row) != (c1, r1):
            return c1, r1, c2, r2
    return None




def covered_by_merge(rng: tuple[int, int, int, int]) -> UnreadableCell:
    top_left = f"{column_letters(rng[0])}{rng[1]}"
    return UnreadableCell(
        "#合并单元格",
        f"位于合并单元格{range_text(rng)}中（合并后只有左上角{top_left}的内容有效）；请取消合并后重新填写")


def shared_strings(root) -> list[str]:
    if root is None:
        return []
    return [_si_text(si) for si in root.findall(f"{_M}si")]


def _si_text(si) -> str:
    # the phonetic guide (rPh) is reading help, not text the accountant typed
    phonetic = {id(t) for rph in si.findall(f"{_M}rPh") for t in rph.iter(f"{_M}t")}
    return excel_unescape("".join(t.text or "" for t in si.iter(f"{_M}t") if id(t) not in phonetic))


def excel_serial_to_datetime(serial: float) -> dt.datetime:
    return dt.datetime(1899, 12, 30) + dt.timedelta(days=serial)


def cell_positions(row_elements, ref_of: Callable, row_attr: Callable, cells_of: Callable):
    """(row number, [(ref, cell)]) for each row, filling in the row and cell references a writer
    may leave out: the spec lets each follow the previous one."""
    row_number = 0
    for row in row_elements:
        r = row_attr(row)
        row_number = int(r) if r and r.isdigit() and 0 < int(r) <= MAX_ROW else row_number + 1
        column = 0
        placed = []
        for cell in cells_of(row):
            try:
                letters, number = split_ref(ref_of(cell))
                column = column_index(letters)
                placed.append((f"{letters}{number}", cell))
            except ValueError:
                column += 1
                if column <= MAX_COLUMN:
                    placed.append((f"{column_letters(column)}{row_number}", cell))
        yield row_number, placed


def read_cells(sheet_root, strings: list[str], dates: set[int], wanted: set[str] | None = None) -> dict:
    """Cell reference → Python value for the cells of one sheet (or only `wanted`)."""
    values = {}
    data = sheet_root.find(f"{_M}sheetData")
    if data is None:
        return values
    rows = cell_positions(data.findall(f"{_M}row"), lambda c: c.get("r"), lambda r: r.get("r"),
                          lambda r: r.findall(f"{_M}c"))
    for _, placed in rows:
        for ref, c in placed:
            if wanted is None or ref in wanted:
                values[ref] = _cell_value(c, strings, dates)
    return values


def _cell_value(c, strings: list[str], dates: set[int]) -> object:
    kind = c.get("t", "n")
    v = c.find(f"{_M}v")
    text = v.text if v is not None else None
    if kind == "inlineStr":
        node = c.find(f"{_M}is")
        if node is not None:
            return excel_unescape("".join(t.text or "" for t in node.iter(f"{_M}t")))
    if text is None or (not text.strip() and kind not in ("str", "s")):
        if c.find(f"{_M}f") is not None and (v is None or kind != "str"):
            # a tool that cannot calculate saved the formula alone; blank would hide that
            return FORMULA_WITHOUT_VALUE
        return None
    if kind == "s":
        try:
            return strings[int(text)]
        except (ValueError, IndexError):
            return ExcelError("#REF!")
    if kind == "str":
        return excel_unescape(text)
    if kind == "b":
        return text.strip() in ("1", "true")
    if kind == "e":
        return ExcelError(text.strip())
    if kind == "d":
        try:
            return dt.datetime.fromisoformat(text.strip())
        except ValueError:
            return text
    try:
        number = float(text)
    except ValueError:
        return text
    style = c.get("s")
    if style is not None and style.isdigit() and int(style) in dates:
        try:
            return excel_serial_to_datetime(number)
        except (OverflowError, ValueError):
            return number
    if number.is_integer() and "." not in text and "E" not in text.upper() and "N" not in text.upper():
        return int(number)
    return number


# ---- streamed reading: only values are kept, within the documented limits ------------------------

class SheetContent(NamedTuple):
    """What evalbook needs from a worksheet it does not parse as a tree."""
    values: dict  # cell reference → Python value
    merges: list  # (first column, first row, last column, last row)
    protected: bool


_SHEET_DATA, _ROW_TAG, _CELL_TAG = f"{_M}sheetData", f"{_M}row", f"{_M}c"
_MERGE_CELLS, _MERGE_CELL, _PROTECTION, _SI = f"{_M}mergeCells", f"{_M}mergeCell", f"{_M}sheetProtection", f"{_M}si"


def read_sheet_stream(source: BinaryIO, strings: list[str], dates: set[int]) -> SheetContent:
    """One worksheet read from a stream of its XML: each row's values are taken and the row thrown
    away, so memory holds values, not elements.  XmlTooBig (naming the limit) past
    MAX_SHEET_ROWS rows, MAX_SHEET_CELLS cells, MAX_SHEET_ELEMENTS elements in all,
    MAX_XML_ELEMENTS held at once or MAX_XML_DEPTH levels; XmlRefused if it is not safe XML."""
    values: dict = {}
    merges: list = []
    protected = False
    root = data = None
    rows = cells = held = 0
    row_number = 0
    for event, element, depth in iter_limited(source, L.MAX_XML_DEPTH, L.MAX_SHEET_ELEMENTS):
        if event == "start":
            held += 1
            if held > L.MAX_XML_ELEMENTS:
                raise XmlTooBig(f"中一行（或一个区域）的元素超过{L.MAX_XML_ELEMENTS}个（evalbook读取工作表的上限）")
            if depth == 1:
                root = element
            elif depth == 2 and element.tag == _SHEET_DATA:
                data = element
            continue
        if depth == 3 and element.tag == _ROW_TAG and data is not None:
            rows += 1
            if rows > L.MAX_SHEET_ROWS:
                raise XmlTooBig(f"中的数据超过{L.MAX_SHEET_ROWS}行（evalbook读取工作表的上限）")
            r = element.get("r")
            row_number = int(r) if r and r.isdigit() and 0 < int(r) <= MAX_ROW else row_number + 1
            column = 0
            for c in element:
                if c.tag != _CELL_TAG:
                    continue
                cells += 1
                if cells > L.MAX_SHEET_CELLS:
                    raise XmlTooBig(f"中的单元格超过{L.MAX_SHEET_CELLS}个（evalbook读取工作表的上限）")
                try:
                    letters, number = split_ref(c.get("r"))
                    column = column_index(letters)
                    ref = f"{letters}{number}"
                except ValueError:  # references may be left out: each cell follows the previous one
                    column += 1
                    if column > MAX_COLUMN:
                        continue
                    ref = f"{column_letters(column)}{row_number}"
                values[ref] = _cell_value(c, strings, dates)
            element.clear()
            del data[:]
            held = 0
        elif depth == 2:
            if element.tag == _MERGE_CELLS:
                for merge in element.iter(_MERGE_CELL):
                    try:
                        merges.append(split_range(merge.get("ref", "")))
                    except ValueError:
                        continue
            elif element.tag == _PROTECTION:
                protected = element.get("sheet", "0").strip().lower() in ("1", "true")
            elif element is data:
                data = None
            element.clear()
            del root[:]
            held = 0
    return SheetContent(values, merges, protected)


def shared_strings_stream(source: BinaryIO) -> list[str]:
    """The shared-strings table read from a stream, one string at a time; XmlTooBig past
    MAX_SHARED_STRINGS strings or MAX_SHARED_CHARS characters (or the element limits)."""
    found: list[str] = []
    root = None
    chars = held = 0
    for event, element, depth in iter_limited(source, L.MAX_XML_DEPTH, L.MAX_SHARED_ELEMENTS):
        if event == "start":
            held += 1
            if held > L.MAX_XML_ELEMENTS:
                raise XmlTooBig(f"中一个字符串的元素超过{L.MAX_XML_ELEMENTS}个（evalbook读取共享字符串的上限）")
            if depth == 1:
                root = element
            continue
        if depth != 2:
            continue
        if element.tag == _SI:
            text = _si_text(element)
            found.append(text)
            chars += len(text)
            if len(found) > L.MAX_SHARED_STRINGS:
                raise XmlTooBig(f"中的字符串超过{L.MAX_SHARED_STRINGS}个（evalbook读取共享字符串的上限）")
            if chars > L.MAX_SHARED_CHARS:
                raise XmlTooBig(f"中的文字超过{L.MAX_SHARED_CHARS}个字符（evalbook读取共享字符串的上限）")
        element.clear()
        del root[:]
        held = 0
    return found


# ---- patching ---------------------------------------------------------------------------------
#
# A real parser (expat, see xmledit) finds the rows and cells; only the rows evalbook writes are
# rebuilt, from their own bytes with the changed cells swapped in, and everything else in the part
# is copied as written.  Comments, CDATA, processing instructions, prefixes, quoting style and
# extensions the parser walks past are therefore never mistaken for cells.

_FORMAT_ROW_ATTRS = {"customHeight", "hidden", "s", "ht", "customFormat", "outlineLevel", "collapsed"}


def cell_xml(prefix: str, ref: str, style: str | None, value: object) -> str:
    """One <c> element holding a literal value: text can never turn into a formula here.  Only a
    `Formula` (evalbook's own, built from its records) becomes one, with its cached value."""
    s = f' s="{style}"' if style is not None else ""
    p = prefix
    if isinstance(value, Formula):
        return _formula_xml(p, ref, s, value)
    if value is None or value == "":
        return f'<{p}c r="{ref}"{s}/>'
    if isinstance(value, bool):
        return f'<{p}c r="{ref}"{s} t="b"><{p}v>{int(value)}</{p}v></{p}c>'
    if isinstance(value, UnreadableCell):
        return f'<{p}c r="{ref}"{s}/>'
    if isinstance(value, ExcelError):
        return f'<{p}c r="{ref}"{s} t="e"><{p}v>{escape(value.code, quote=False)}</{p}v></{p}c>'
    if isinstance(value, (Fraction, Decimal)):
        value = float(value)
    if isinstance(value, int):
        return f'<{p}c r="{ref}"{s}><{p}v>{value}</{p}v></{p}c>'
    if isinstance(value, float):
        if not math.isfinite(value):  # Excel has no NaN or infinity; it shows #NUM!
            return f'<{p}c r="{ref}"{s} t="e"><{p}v>#NUM!</{p}v></{p}c>'
        return f'<{p}c r="{ref}"{s}><{p}v>{repr(value)}</{p}v></{p}c>'
    text = excel_escape(str(value))
    return (f'<{p}c r="{ref}"{s} t="inlineStr"><{p}is><{p}t xml:space="preserve">{text}'
            f'</{p}t></{p}is></{p}c>')


def _formula_xml(p: str, ref: str, s: str, formula: Formula) -> str:
    f = f"<{p}f>{excel_escape(formula.text)}</{p}f>"
    cached = formula.cached
    if isinstance(cached, bool):
        return f'<{p}c r="{ref}"{s} t="b">{f}<{p}v>{int(cached)}</{p}v></{p}c>'
    if isinstance(cached, (int, float, Fraction, Decimal)) and math.isfinite(float(cached)):
        return f'<{p}c r="{ref}"{s}>{f}<{p}v>{repr(float(cached))}</{p}v></{p}c>'
    text = "" if cached is None else excel_escape(str(cached))
    return f'<{p}c r="{ref}"{s} t="str">{f}<{p}v>{text}</{p}v></{p}c>'


class _Cell:
    __slots__ = ("element", "ref", "col", "style", "valued", "formulas", "replacement")

    def __init__(self, element: XE.Element | None, ref: str):
        self.element = element
        self.ref = ref
        self.col = column_index(split_ref(ref)[0])
        s = element.attrs.get("s") if element is not None else None
        self.style = s if s is not None and s.isdigit() else None
        self.valued = False
        self.formulas: list[tuple[XE.Element, str]] = []
        self.replacement: bytes | None = None  # b"" removes the cell


class _Row:
    __slots__ = ("element", "number", "cells", "changed", "deleted", "next_row")

    def __init__(self, element: XE.Element | None, number: int):
        self.element = element
        self.number = number
        self.cells: list[_Cell] = []
        self.changed = False
        self.deleted = False
        self.next_row: tuple[XE.Element, int] | None = None  # the row element after it, if any

    @property
    def explicit(self) -> bool:
        return self.element is not None and self.element.attrs.get("r") == str(self.number)


def _implied_ref(row_number: int, r_values: list[str | None]) -> str | None:
    """The reference of the last of a row's cells, given each cell's r (None where left out)."""
    column, ref = 0, None
    for r in r_values:
        try:
            letters, number = split_ref(r)
            column, ref = column_index(letters), f"{letters}{number}"
        except (ValueError, TypeError):
            column += 1
            ref = f"{column_letters(column)}{row_number}" if column <= MAX_COLUMN else None
    return ref


class _SheetScan:
    """One pass of the parser over a worksheet, keeping only what an edit needs: the rows
    `wanted` picks (with their cells), where missing rows would go, array formulas, followers of
    the shared formulas in `follow`, and the sheet-level facts (merges, protection, formulas)."""

    def __init__(self, data: bytes, wanted: Callable[[int], bool] | None = None,
                 anchors: Iterable[int] = (), follow: Iterable[str] = ()):
        self.sheet_data: XE.Element | None = None
        self.dimension: XE.Element | None = None
        self.protected = False
        self.merges: list[str] = []
        self.has_formula = False
        self.rows: list[_Row] = []
        self.arrays: list[tuple[str, tuple[int, int, int, int]]] = []
        self.anchors: dict[int, tuple[XE.Element, int]] = {}  # missing row → the first row after it
        self.followers: list[tuple[str, XE.Element]] = []
        self._wanted = wanted
        self._pending = sorted(set(anchors))
        self._follow = set(follow)
        self._in_data = False
        self._row_number = 0
        self._row_element: XE.Element | None = None
        self._row: _Row | None = None
        self._previous: _Row | None = None
        self._r_values: list[str | None] = []
        self._cell: _Cell | None = None
        self._cell_element: XE.Element | None = None
        self._formula: XE.Element | None = None
        self._text: list[str] = []
        XE.walk(data, self._start, self._end, self._chars)

    def _start(self, e: XE.Element, stack: list[XE.Element]) -> None:
        depth = e.depth
        if depth == 2:
            if self.sheet_data is None and XE.is_main(e, "sheetData", MAIN_NS):
                self.sheet_data, self._in_data = e, True
            elif self.dimension is None and XE.is_main(e, "dimension", MAIN_NS):
                self.dimension = e
            elif XE.is_main(e, "sheetProtection", MAIN_NS):
                self.protected = e.attrs.get("sheet", "0").strip().lower() in ("1", "true")
        elif depth == 3 and XE.is_main(e, "mergeCell", MAIN_NS) and XE.is_main(stack[1], "mergeCells", MAIN_NS):
            self.merges.append(e.attrs.get("ref", ""))
        if not self._in_data or depth < 3:
            return
        if depth == 3:
            if XE.is_main(e, "row", MAIN_NS):
                self._start_row(e)
        elif depth == 4:
            if self._row_element is not None and XE.is_main(e, "c", MAIN_NS):
                self._start_cell(e)
        elif depth == 5 and self._cell_element is not None:
            formula = XE.is_main(e, "f", MAIN_NS)
            if formula:
                self.has_formula = True
                self._formula, self._text = e, []
            if self._cell is not None and (formula or XE.is_main(e, "v", MAIN_NS) or XE.is_main(e, "is", MAIN_NS)):
                self._cell.valued = True

    def _start_row(self, e: XE.Element) -> None:
        r = e.attrs.get("r")
        number = int(r) if r and r.isdigit() and 0 < int(r) <= MAX_ROW else self._row_number + 1
        self._row_number, self._row_element, self._r_values = number, e, []
        if self._previous is not None:
            self._previous.next_row = (e, number)
            self._previous = None
        if self._pending and self._pending[0] < number:
            cut = bisect.bisect_left(self._pending, number)
            for missing in self._pending[:cut]:
                self.anchors[missing] = (e, number)
            del self._pending[:cut]
        if self._wanted is not None and self._wanted(number):
            self._row = _Row(e, number)
            self.rows.append(self._row)
            self._previous = self._row
        else:
            self._row = None

    def _start_cell(self, e: XE.Element) -> None:
        self._cell_element = e
        self._r_values.append(e.attrs.get("r"))
        if self._row is not None:
            ref = self._ref()
            self._cell = _Cell(e, ref) if ref is not None else None
            if self._cell is not None:
                self._row.cells.append(self._cell)
        else:
            self._cell = None

    def _ref(self) -> str | None:
        return _implied_ref(self._row_number, self._r_values)

    def _chars(self, text: str, stack: list[XE.Element]) -> None:
        if self._formula is not None and stack[-1] is self._formula:
            self._text.append(text)

    def _end(self, e: XE.Element, stack: list[XE.Element]) -> None:
        if e is self._formula:
            self._formula = None
            text = "".join(self._text)
            kind = e.attrs.get("t")
            if self._cell is not None:
                self._cell.formulas.append((e, text))
            if kind in ("array", "dataTable") and e.attrs.get("ref"):
                ref = self._cell.ref if self._cell is not None else self._ref()
                try:
                    self.arrays.append((ref or "", split_range(e.attrs["ref"])))
                except ValueError:
                    pass
            elif kind == "shared" and self._follow and e.attrs.get("si") in self._follow and not text.strip():
                ref = self._ref()
                if ref is not None:
                    self.followers.append((ref, e))
        elif e is self._cell_element:
            self._cell_element = self._cell = None
        elif e is self._row_element:
            self._row_element = self._row = None
        elif e is self.sheet_data:
            self._in_data = False


class SheetPatch:
    """Edits of one worksheet part, made where the parser found the cells."""

    def __init__(self, xml: str):
        self.xml = xml
        facts = self._scan()
        if facts.sheet_data is None:
            raise ValueError("no sheetData")
        self._facts = facts  # merges and protection: cell edits never change them
        self.removed_formula = False
        self.last_touched: dict[str, str | None] = {}  # ref → style, for the protection check

    def _data(self) -> bytes:
        return self.xml.encode("utf-8")

    def _scan(self, **kwargs) -> _SheetScan:
        try:
            return _SheetScan(self._data(), **kwargs)
        except XE.XmlRefused as exc:
            raise ValueError(f"sheet XML: {exc}") from None

    def forget(self) -> None:
        """Kept for callers that set `xml` from outside (an undo): every edit parses afresh."""

    def merged_ranges(self) -> list[tuple[int, int, int, int]]:
        return _ranges(self._facts.merges)

    def formulas_at(self, refs: Iterable[str]) -> dict[str, str | None]:
        """The formula text of each cell (None for a value or no cell)."""
        wanted = {f"{split_ref(r)[0]}{split_ref(r)[1]}" for r in refs}
        numbers = {split_ref(r)[1] for r in wanted}
        found: dict[str, str | None] = dict.fromkeys(wanted)
        for row in self._scan(wanted=numbers.__contains__).rows:
            for cell in row.cells:
                if cell.ref in found and cell.formulas:
                    found[cell.ref] = cell.formulas[0][1]
        return found

    def protected(self) -> bool:
        return self._facts.protected

    def has_formulas(self) -> bool:
        if not self.removed_formula:
            return self._facts.has_formula
        return self._scan().has_formula

    @property
    def prefix(self) -> str:
        """The prefix the sheet writes its SpreadsheetML elements with ('' or e.g. 'x:')."""
        return self._scan().sheet_data.prefix

    # -- formulas that span cells ------------------------------------------------------------

    @staticmethod
    def _refuse_partial_arrays(arrays, touches: Callable[[tuple[int, int, int, int]], bool],
                               covers: Callable[[tuple[int, int, int, int]], bool]) -> None:
        """Array formulas and data tables span cells and Excel edits them only whole."""
        for ref, rng in arrays:
            if touches(rng) and not covers(rng):
                raise PatchRefused(
                    f"单元格{ref}起的区域{range_text(rng)}是数组公式（或模拟运算表），evalbook需要改写其中的"
                    f"一部分，Excel不允许这样做；请在Excel中选中整个区域删除该公式后再试")

    def _note_removed(self, cell: _Cell, broken: dict[str, tuple[str, str]]) -> None:
        for f, text in cell.formulas:
            self.removed_formula = True
            if f.attrs.get("t") == "shared" and f.attrs.get("ref") and text.strip():
                broken[f.attrs.get("si")] = (text, cell.ref)

    def _repair_shared(self, broken: dict[str, tuple[str, str]]) -> None:
        """Cells that shared a formula whose master we overwrote get the formula written out."""
        if not broken:
            return
        data = self._data()
        edits = []
        for ref, f in self._scan(follow=broken).followers:
            text, origin = broken[f.attrs["si"]]
            translated = _translate(text, origin, ref)
            self.removed_formula = True
            if translated is None:  # keeps the computed value; better than a formula Excel rejects
                edits.append((f.start, f.end, b""))
            else:
                q = f.qname.encode("utf-8")
                edits.append((f.start, f.end, b"<%s>%s</%s>" % (q, XE.escape_text(translated), q)))
        if edits:
            self.xml = XE.splice(data, edits).decode("utf-8")

    # -- edits ---------------------------------------------------------------------------------

    def set_cells(self, values: Mapping[str, object], column_styles: Mapping[int, str | None] | None = None,
                  restyle: Callable[[str | None, object], str | None] | None = None) -> None:
        """Literal values into cells; a new cell takes its column's style from `column_styles`,
        and `restyle` may swap a cell's style for the value it gets (text kept as text)."""
        self.last_touched = {}
        if not values:
            return
        targets = {}
        for ref, value in values.items():
            letters, number = split_ref(ref)
            targets[f"{letters}{number}"] = value
        positions = {(column_index(split_ref(r)[0]), split_ref(r)[1]) for r in targets}
        numbers = {number for _, number in positions}
        data = self._data()
        scan = self._scan(wanted=numbers.__contains__, anchors=numbers)
        self._refuse_partial_arrays(
            scan.arrays,
            lambda g: any(g[0] <= c <= g[2] and g[1] <= r <= g[3] for c, r in positions),
            lambda g: (g[2] - g[0] + 1) * (g[3] - g[1] + 1) <= len(positions) and all(
                (c, r) in positions for c in range(g[0], g[2] + 1) for r in range(g[1], g[3] + 1)))
        by_number: dict[int, _Row] = {}
        for row in scan.rows:
            by_number.setdefault(row.number, row)
        broken: dict[str, tuple[str, str]] = {}
        for ref, value in targets.items():
            letters, number = split_ref(ref)
            row = by_number.get(number)
            if row is None:
                row = by_number[number] = _Row(None, number)
            existing = [cell for cell in row.cells if cell.ref == ref]
            if existing:
                cell = existing[0]
                style = cell.style
                for twin in existing:
                    self._note_removed(twin, broken)
                for twin in existing[1:]:
                    twin.replacement = b""  # a duplicate is damage
            else:
                cell = _Cell(None, ref)
                at = next((i for i, c in enumerate(row.cells) if c.col > cell.col), len(row.cells))
                row.cells.insert(at, cell)
                style = (column_styles or {}).get(cell.col) or _row_style(row)
            self.last_touched[ref] = style  # protection is judged on the style the cell has now
            if restyle is not None:
                style = restyle(style, value)
            prefix = row.element.prefix if row.element is not None else self.prefix
            cell.replacement = cell_xml(prefix, ref, style, value).encode("utf-8")
            row.changed = True
        self._write_rows(data, scan, by_number.values())
        self._repair_shared(broken)

    def clear_block(self, first_row: int, columns: range) -> dict[int, str | None]:
        """Empties what a previous run wrote: the rows from `first_row` down, in `columns`, until
        the first row with nothing in them (a table's current region, as Excel sees it), so text
        further down — another table's headings, the accountant's notes — is never touched.
        Returns the style each column had in `first_row`, so new rows look like the template's."""
        self.last_touched = {}
        data = self._data()
        scan = self._scan(wanted=lambda n: n >= first_row)
        rows = scan.rows
        last = first_row - 1
        by_number = {row.number: row for row in rows}
        while last + 1 in by_number and any(
                cell.col in columns and cell.valued for cell in by_number[last + 1].cells):
            last += 1
        self._refuse_partial_arrays(
            scan.arrays,
            lambda g: last >= first_row and g[1] <= last and g[3] >= first_row and g[0] <= columns[-1]
            and g[2] >= columns[0] if columns else False,
            lambda g: g[0] in columns and g[2] in columns and g[1] >= first_row and g[3] <= last)
        styles: dict[int, str | None] = {}
        broken: dict[str, tuple[str, str]] = {}
        for row in rows:
            if row.number < first_row or row.number > max(last, first_row):
                continue
            for cell in row.cells:
                if cell.col not in columns:
                    continue
                if row.number == first_row:
                    styles[cell.col] = cell.style
                if cell.valued:
                    self._note_removed(cell, broken)
                    self.last_touched[cell.ref] = cell.style
                    # like Excel's Clear Contents: the value goes, the cell's format stays
                    cell.replacement = (cell_xml(row.element.prefix, cell.ref, cell.style, None).encode("utf-8")
                                        if cell.style is not None else b"")
                    row.changed = True
            if row.changed and all(c.replacement == b"" for c in row.cells) and \
                    not _FORMAT_ROW_ATTRS & set(row.element.attrs):
                row.deleted = True
        self._write_rows(data, scan, rows)
        self._repair_shared(broken)
        return styles

    def _write_rows(self, data: bytes, scan: _SheetScan, rows: Iterable[_Row]) -> None:
        edits: list[tuple[int, int, bytes]] = []
        rewritten = {id(row.element) for row in rows if row.changed and row.element is not None}
        deleted = {id(row.element) for row in rows if row.deleted}
        fixed: set[int] = set()

        def make_explicit(anchor: tuple[XE.Element, int] | None) -> None:
            # a row that left its number implied would be renumbered by what we insert or remove
            if anchor is None:
                return
            element, number = anchor
            if element.attrs.get("r") == str(number) or id(element) in rewritten | fixed:
                return
            fixed.add(id(element))
            tag = data[element.start:element.tag_end]
            edits.append((element.start, element.tag_end, XE.edit_tag(tag, {"r": str(number)}, first=["r"])))

        new_rows: dict[int, list[_Row]] = {}
        for row in sorted(rows, key=lambda r: r.number):
            if not row.changed:
                continue
            if row.element is None:
                anchor = scan.anchors.get(row.number)
                at = anchor[0].start if anchor else -1
                new_rows.setdefault(at, []).append(row)
                continue
            if row.deleted:
                edits.append((row.element.start, row.element.end, b""))
                following = row.next_row
                while following is not None and id(following[0]) in deleted:
                    following = next((r.next_row for r in rows if r.element is following[0]), None)
                make_explicit(following)
            else:
                edits.append((row.element.start, row.element.end, _row_bytes(data, row)))
        sheet_data = scan.sheet_data
        for at, group in new_rows.items():
            p = sheet_data.prefix
            text = b"".join(b'<%srow r="%d">%s</%srow>' % (p.encode(), row.number, b"".join(
                c.replacement for c in row.cells), p.encode()) for row in group)
            if at >= 0:
                edits.append((at, at, text))
                make_explicit(scan.anchors.get(group[0].number))
            elif sheet_data.empty:
                tag = XE.edit_tag(data[sheet_data.start:sheet_data.tag_end], open_empty=True)
                edits.append((sheet_data.start, sheet_data.end,
                              tag + text + b"</%s>" % sheet_data.qname.encode("utf-8")))
            else:
                edits.append((sheet_data.close_start, sheet_data.close_start, text))
        if edits:
            self.xml = XE.splice(data, edits).decode("utf-8")

    def set_row_heights(self, heights: Mapping[int, float | None]) -> None:
        """Rows given a custom height in points (None: the sheet's default again). Only the row
        start tags change; a row that is not there yet is added, empty, where it belongs."""
        if not heights:
            return
        data = self._data()
        scan = self._scan(wanted=heights.__contains__, anchors=heights)
        tags: dict[int, tuple[XE.Element, dict[str, str], list[str]]] = {}
        present = set()
        for row in scan.rows:
            present.add(row.number)
            height = heights[row.number]
            attrs = row.element.attrs
            if height is None:
                if "ht" in attrs or "customHeight" in attrs:
                    tags[id(row.element)] = (row.element, {}, ["ht", "customHeight"])
            elif attrs.get("ht") != _points(height) or attrs.get("customHeight") not in ("1", "true"):
                tags[id(row.element)] = (row.element, {"ht": _points(height), "customHeight": "1"}, [])
        new_rows: dict[int, list[int]] = {}
        for number in sorted(heights):
            if number in present or heights[number] is None:
                continue
            anchor = scan.anchors.get(number)
            new_rows.setdefault(anchor[0].start if anchor else -1, []).append(number)
            if anchor is not None and anchor[0].attrs.get("r") != str(anchor[1]):
                # a row that left its number implied would be renumbered by the row put before it
                element, set_attrs, remove = tags.get(id(anchor[0]), (anchor[0], {}, []))
                tags[id(anchor[0])] = (element, dict(set_attrs, r=str(anchor[1])), remove)
        edits = [(e.start, e.tag_end, XE.edit_tag(data[e.start:e.tag_end], set_attrs, remove, first=["r"]))
                 for e, set_attrs, remove in tags.values()]
        sheet_data = scan.sheet_data
        p = sheet_data.prefix.encode("utf-8")
        for at, numbers in new_rows.items():
            text = b"".join(b'<%srow r="%d" ht="%s" customHeight="1"/>' % (p, n, _points(heights[n]).encode())
                            for n in numbers)
            if at >= 0:
                edits.append((at, at, text))
            elif sheet_data.empty:
                tag = XE.edit_tag(data[sheet_data.start:sheet_data.tag_end], open_empty=True)
                edits.append((sheet_data.start, sheet_data.end,
                              tag + text + b"</%s>" % sheet_data.qname.encode("utf-8")))
            else:
                edits.append((sheet_data.close_start, sheet_data.close_start, text))
        if edits:
            self.xml = XE.splice(data, edits).decode("utf-8")

    def widen_dimension(self, last_ref: str) -> None:
        data = self._data()
        dimension = self._scan().dimension
        if dimension is None or "ref" not in dimension.attrs:
            return
        first, _, last = dimension.attrs["ref"].partition(":")
        last = last or first
        try:
            lc, lr = split_ref(last)
            nc, nr = split_ref(last_ref)
        except ValueError:
            return
        new_last = f"{column_letters(max(column_index(lc), column_index(nc)))}{max(lr, nr)}"
        tag = XE.edit_tag(data[dimension.start:dimension.tag_end], {"ref": f"{first}:{new_last}"})
        self.xml = XE.splice(data, [(dimension.start, dimension.tag_end, tag)]).decode("utf-8")


def _points(height: float) -> str:
    """A row height as Excel writes it: 30, 70.5."""
    return f"{round(float(height), 2):g}"


def _row_style(row: _Row) -> str | None:
    if row.element is None:
        return None
    attrs = row.element.attrs
    if attrs.get("customFormat", "").strip().lower() in ("1", "true"):
        s = attrs.get("s")
        return s if s is not None and s.isdigit() else None
    return None


def _row_bytes(data: bytes, row: _Row) -> bytes:
    """The row rebuilt from its own bytes: changed cells swapped in, new ones in column order,
    every reference written out, everything between the cells kept."""
    e = row.element
    # 'spans' is only an optimisation hint; drop it rather than let it go stale
    tag = XE.edit_tag(data[e.start:e.tag_end], {} if row.explicit else {"r": str(row.number)},
                      remove=["spans"], first=["r"], open_empty=True)
    parts, pos = [tag], e.tag_end
    for cell in row.cells:
        c = cell.element
        if c is None:
            parts.append(cell.replacement)
            continue
        parts.append(data[pos:c.start])
        pos = c.end
        if cell.replacement is not None:
            parts.append(cell.replacement)
        elif c.attrs.get("r") != cell.ref:
            parts.append(XE.edit_tag(data[c.start:c.tag_end], {"r": cell.ref}, first=["r"]) + data[c.tag_end:c.end])
        else:
            parts.append(data[c.start:c.end])
    parts.append(b"</%s>" % e.qname.encode("utf-8") if e.empty else data[pos:e.end])
    return b"".join(parts)


def _ranges(texts: Iterable[str]) -> list[tuple[int, int, int, int]]:
    found = []
    for text in texts:
        try:
            found.append(split_range(text))
        except ValueError:
            continue
    return found


def _translate(formula: str, origin: str, target: str) -> str | None:
    """A shared formula as it reads in another cell of its range (None if it cannot be moved)."""
    try:
        from openpyxl.formula.translate import Translator

        return Translator("=" + formula, origin=origin).translate_formula(target)[1:]
    except Exception:  # an exotic formula: the caller keeps the computed value instead
        return None


def formula_texts(xml: str) -> Iterable[str]:
    """The text of every cell formula in a worksheet's XML."""
    found: list[str] = []
    current: list[list[str]] = []

    def start(e: XE.Element, stack: list[XE.Element]) -> None:
        if len(stack) >= 2 and XE.is_main(e, "f", MAIN_NS) and XE.is_main(stack[-2], "c", MAIN_NS):
            current.append([])

    def end(e: XE.Element, stack: list[XE.Element]) -> None:
        if current and len(stack) >= 2 and XE.is_main(e, "f", MAIN_NS) and XE.is_main(stack[-2], "c", MAIN_NS):
            text = "".join(current.pop())
            if text:
                found.append(text)

    def chars(text: str, stack: list[XE.Element]) -> None:
        if current and XE.is_main(stack[-1], "f", MAIN_NS):
            current[-1].append(text)

    XE.walk(xml.encode("utf-8"), start, end, chars)
    return found


# ---- styles and workbook settings ------------------------------------------------------------

class StylesPatch:
    """Edits of styles.xml: a copy of a cell style with Excel's 'text, not formula' mark
    (quotePrefix, what typing a leading apostrophe sets)."""

    def __init__(self, xml: str):
        self.xml = xml
        self.changed = False

    def quote_prefixed(self, style: str | None) -> str | None:
        data = self.xml.encode("utf-8")
        found = XE.children(data, ("styleSheet", "cellXfs"), MAIN_NS)
        if not found or found[0].empty:
            return style
        cell_xfs = found[0]
        xfs = [e for e in XE.children(data, ("styleSheet", "cellXfs", "xf"), MAIN_NS)
               if cell_xfs.start < e.start < cell_xfs.end]
        index = int(style) if style is not None and style.isdigit() else 0
        if index >= len(xfs):
            return style
        xf = xfs[index]
        if xf.attrs.get("quotePrefix", "").strip().lower() in ("1", "true"):
            return style
        wanted = dict(xf.attrs, quotePrefix="1")
        inner = data[xf.tag_end:xf.close_start]
        for i, other in enumerate(xfs):
            if other.attrs == wanted and data[other.tag_end:other.close_start] == inner:
                return str(i)
        copy = XE.edit_tag(data[xf.start:xf.tag_end], {"quotePrefix": "1"}) + data[xf.tag_end:xf.end]
        edits = [(cell_xfs.close_start, cell_xfs.close_start, copy)]
        if "count" in cell_xfs.attrs:
            tag = XE.edit_tag(data[cell_xfs.start:cell_xfs.tag_end], {"count": str(len(xfs) + 1)})
            edits.append((cell_xfs.start, cell_xfs.tag_end, tag))
        self.xml = XE.splice(data, edits).decode("utf-8")
        self.changed = True
        return str(len(xfs))


def with_full_calc_on_load(xml: str) -> str:
    """workbook.xml asking Excel to recalculate on open: formulas elsewhere that read the cells we
    wrote would otherwise show their stale cached results.  Changes only that one attribute."""
    data = xml.encode("utf-8")
    calc = XE.children(data, ("workbook", "calcPr"), MAIN_NS)
    if calc:
        e = calc[0]
        if e.attrs.get("fullCalcOnLoad") in ("1", "true"):
            return xml
        tag = XE.edit_tag(data[e.start:e.tag_end], {"fullCalcOnLoad": "1"})
        return XE.splice(data, [(e.start, e.tag_end, tag)]).decode("utf-8")
    # CT_Workbook order: sheets, functionGroups, externalReferences, definedNames, calcPr
    for tag in ("definedNames", "externalReferences", "functionGroups", "sheets"):
        found = XE.children(data, ("workbook", tag), MAIN_NS)
        if found:
            e = found[-1]
            new = b'<%scalcPr fullCalcOnLoad="1"/>' % e.prefix.encode("utf-8")
            return XE.splice(data, [(e.end, e.end, new)]).decode("utf-8")
    return xml
