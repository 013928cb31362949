"""Reading cell values from SpreadsheetML, and patching cells in it as text.

Writes patch the sheet XML textually, cell by cell, instead of re-serialising it: every attribute,
namespace prefix and extension the department's Excel wrote stays exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from fractions import Fraction
from html import escape, unescape
from typing import Callable, Iterable, Mapping

from evalbook.core.findings import column_letter as column_letters
from evalbook.core.numbers import ExcelError, UnreadableCell

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_M = "{%s}" % MAIN_NS

_BUILTIN_DATE_FORMATS = set(range(14, 23)) | {45, 46, 47} | set(range(27, 37)) | set(range(50, 59))
_DATE_CODE = re.compile(r"[ymdhs]", re.IGNORECASE)
_CELL_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d{1,7})$")
MAX_ROW, MAX_COLUMN = 1_048_576, 16_384

FORMULA_WITHOUT_VALUE = UnreadableCell(
    "#公式无结果",
    "是公式，但文件中没有保存它的计算结果（保存该文件的软件不计算公式）；请在Excel中打开该文件并保存后再试")


class PatchRefused(ValueError):
    """A write Excel itself would refuse (part of an array formula); the message is Chinese."""


def split_ref(ref: str) -> tuple[str, int]:
    if ref in _REF_CACHE:
        return _REF_CACHE[ref]
    m = _CELL_REF.match(ref.upper()) if isinstance(ref, str) else None
    if not m or not 1 <= int(m.group(2)) <= MAX_ROW or column_index(m.group(1)) > MAX_COLUMN:
        raise ValueError(ref)
    if len(_REF_CACHE) < 200_000:  # every cell is looked at several times per patch
        _REF_CACHE[ref] = m.group(1), int(m.group(2))
    return m.group(1), int(m.group(2))


_REF_CACHE: dict[str, tuple[str, int]] = {}


def column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index


def split_range(text: str) -> tuple[int, int, int, int]:
    """'B4:C6' → (first column, first row, last column, last row); a single cell is a 1×1 range."""
    first, _, last = text.partition(":")
    c1, r1 = split_ref(first)
    c2, r2 = split_ref(last or first)
    a, b = column_index(c1), column_index(c2)
    return min(a, b), min(r1, r2), max(a, b), max(r1, r2)


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


_MERGE_TEXT = re.compile(r'<(?:\w+:)?mergeCell\b[^>]*?\sref="([^"]+)"')
_PROTECTION_TEXT = re.compile(r"<(?:\w+:)?sheetProtection\b([^>]*)>")


def merged_ranges_text(xml: str) -> list[tuple[int, int, int, int]]:
    """`merged_ranges` from the sheet's text (a sheet being patched need not be parsed)."""
    found = []
    for m in _MERGE_TEXT.finditer(xml):
        try:
            found.append(split_range(m.group(1)))
        except ValueError:
            continue
    return found


def sheet_protected_text(xml: str) -> bool:
    m = _PROTECTION_TEXT.search(xml)
    return m is not None and (_attr(m.group(1), "sheet") or "0").strip().lower() in ("1", "true")


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


def range_text(rng: tuple[int, int, int, int]) -> str:
    c1, r1, c2, r2 = rng
    return f"{column_letters(c1)}{r1}:{column_letters(c2)}{r2}"


def covered_by_merge(rng: tuple[int, int, int, int]) -> UnreadableCell:
    top_left = f"{column_letters(rng[0])}{rng[1]}"
    return UnreadableCell(
        "#合并单元格",
        f"位于合并单元格{range_text(rng)}中（合并后只有左上角{top_left}的内容有效）；请取消合并后重新填写")


def shared_strings(root) -> list[str]:
    if root is None:
        return []
    found = []
    for si in root.findall(f"{_M}si"):
        # the phonetic guide (rPh) is reading help, not text the accountant typed
        phonetic = {id(t) for rph in si.findall(f"{_M}rPh") for t in rph.iter(f"{_M}t")}
        found.append(excel_unescape("".join(t.text or "" for t in si.iter(f"{_M}t") if id(t) not in phonetic)))
    return found


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


# ---- patching ---------------------------------------------------------------------------------

_SHEETDATA = re.compile(r"<((?:\w+:)?)sheetData(\s[^>]*)?(/>|>)", re.S)
_ROW = re.compile(r"<((?:\w+:)?)row\b([^>]*?)(/>|>(.*?)</\1row>)", re.S)
_CELL = re.compile(r"<((?:\w+:)?)c\b([^>]*?)(/>|>(.*?)</\1c>)", re.S)
_ATTR_R = re.compile(r'\sr="([^"]*)"')
_ATTR_S = re.compile(r'\ss="(\d+)"')
_FORMULA = re.compile(r"<(?:\w+:)?f\b")
_F_ELEMENT = re.compile(r"<((?:\w+:)?)f\b([^>]*?)(?:/>|>(.*?)</\1f>)", re.S)
_DIMENSION = re.compile(r'(<(?:\w+:)?dimension\s+ref=")([^"]*)(")')


_ATTRS: dict[str, re.Pattern] = {}


def _attr(attrs: str, name: str) -> str | None:
    pattern = _ATTRS.get(name)
    if pattern is None:
        pattern = _ATTRS[name] = re.compile(rf'\s{name}="([^"]*)"')
    m = pattern.search(attrs)
    return m.group(1) if m else None


def cell_xml(prefix: str, ref: str, style: str | None, value: object) -> str:
    """One <c> element holding a literal value: text can never turn into a formula here."""
    s = f' s="{style}"' if style is not None else ""
    p = prefix
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


class SheetPatch:
    """Textual edits of one worksheet part."""

    def __init__(self, xml: str):
        self.xml = xml
        m = _SHEETDATA.search(xml)
        if m is None:
            raise ValueError("no sheetData")
        self.prefix = m.group(1)
        self.removed_formula = False
        self.last_touched: dict[str, str | None] = {}  # ref → style, for the protection check
        self._parsed: tuple | None = None  # (xml, start, end, rows) as the last edit left them

    def _rows(self) -> tuple[int, int, list[list]]:
        """(start, end, rows) of sheetData: parsed once, then kept in step by `_write_rows`."""
        if self._parsed is not None and self._parsed[0] is self.xml:
            return self._parsed[1], self._parsed[2], self._parsed[3]
        start, end, inner = self._rows_span()
        return start, end, self._parse_rows(inner)

    def forget(self) -> None:
        """Drop the parsed rows (after `xml` was set from outside, e.g. an undo)."""
        self._parsed = None

    def _rows_span(self) -> tuple[int, int, str]:
        """(start, end, inner) of the sheetData contents; expands an empty <sheetData/>."""
        m = _SHEETDATA.search(self.xml)
        if m.group(3) == "/>":
            p = self.prefix
            replacement = f"<{p}sheetData{m.group(2) or ''}></{p}sheetData>"
            self.xml = self.xml[: m.start()] + replacement + self.xml[m.end():]
            m = _SHEETDATA.search(self.xml)
        start = m.end()
        end = self.xml.index(f"</{self.prefix}sheetData>", start)
        return start, end, self.xml[start:end]

    def _parse_rows(self, inner: str) -> list[list]:
        """[row number, row attributes, [[ref, cell xml], ...]] with every reference explicit."""
        matches = list(_ROW.finditer(inner))
        placed_rows = cell_positions(
            matches, lambda c: _attr(c.group(2), "r"), lambda m: _attr(m.group(2), "r"),
            lambda m: list(_CELL.finditer(m.group(4) or "")))
        rows = []
        for m, (number, placed) in zip(matches, placed_rows):
            cells = []
            for ref, c in placed:
                xml = c.group(0)
                if _attr(c.group(2), "r") != ref:
                    # rewrite the start tag only: a reference left implicit becomes explicit
                    prefix, attrs = c.group(1), c.group(2)
                    rest = xml[1 + len(prefix) + 1 + len(attrs):]
                    xml = f'<{prefix}c r="{ref}"' + re.sub(r'\sr="[^"]*"', "", attrs) + rest
                cells.append([ref, xml])
            rows.append([number, m.group(2), cells, m.group(0), [c[1] for c in cells]])
        return rows

    # -- formulas that span cells ------------------------------------------------------------

    def _refuse_partial_arrays(self, rows: list[list], touches: Callable[[tuple[int, int, int, int]], bool],
                               covers: Callable[[tuple[int, int, int, int]], bool]) -> None:
        """Array formulas and data tables span cells and Excel edits them only whole."""
        if 'array"' not in self.xml and 'dataTable"' not in self.xml:
            return  # the usual case: nothing to look for
        for row in rows:
            for ref, xml in row[2]:
                for f in _F_ELEMENT.finditer(xml):
                    if _attr(f.group(2), "t") not in ("array", "dataTable") or not _attr(f.group(2), "ref"):
                        continue
                    try:
                        rng = split_range(_attr(f.group(2), "ref"))
                    except ValueError:
                        continue
                    if touches(rng) and not covers(rng):
                        raise PatchRefused(
                            f"单元格{ref}起的区域{range_text(rng)}是数组公式（或模拟运算表），evalbook需要改写其中的"
                            f"一部分，Excel不允许这样做；请在Excel中选中整个区域删除该公式后再试")

    def _repair_shared(self, broken: dict[str, tuple[str, str]], rows: list[list]) -> None:
        """Cells that shared a formula whose master we overwrote get the formula written out."""
        if not broken:
            return
        for row in rows:
            for cell in row[2]:
                def own_formula(m, ref=cell[0]):
                    si = _attr(m.group(2), "si")
                    if _attr(m.group(2), "t") != "shared" or si not in broken or (m.group(3) or "").strip():
                        return m.group(0)
                    text, origin = broken[si]
                    translated = _translate(text, origin, ref)
                    self.removed_formula = True
                    if translated is None:
                        return ""  # keeps the computed value; better than a formula Excel rejects
                    return f"<{m.group(1)}f>{escape(translated, quote=False)}</{m.group(1)}f>"

                cell[1] = _F_ELEMENT.sub(own_formula, cell[1])

    def _note_removed(self, ref: str, xml: str, broken: dict[str, tuple[str, str]]) -> None:
        for f in _F_ELEMENT.finditer(xml):
            self.removed_formula = True
            if _attr(f.group(2), "t") == "shared" and _attr(f.group(2), "ref") and (f.group(3) or "").strip():
                broken[_attr(f.group(2), "si")] = (unescape(f.group(3)), ref)

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
        start, end, rows = self._rows()
        self._refuse_partial_arrays(
            rows,
            lambda g: any(g[0] <= c <= g[2] and g[1] <= r <= g[3] for c, r in positions),
            lambda g: (g[2] - g[0] + 1) * (g[3] - g[1] + 1) <= len(positions) and all(
                (c, r) in positions for c in range(g[0], g[2] + 1) for r in range(g[1], g[3] + 1)))
        by_number = {}
        for row in rows:
            by_number.setdefault(row[0], row)
        broken: dict[str, tuple[str, str]] = {}
        for ref, value in targets.items():
            letters, number = split_ref(ref)
            row = by_number.get(number)
            if row is None:
                row = [number, f' r="{number}"', [], None, None]
                by_number[number] = row
                rows.append(row)
            existing = [cell for cell in row[2] if cell[0] == ref]
            if existing:
                cell = existing[0]
                s = _ATTR_S.search(cell[1].split(">", 1)[0])
                style = s.group(1) if s else None
                for twin in existing:
                    self._note_removed(ref, twin[1], broken)
                row[2] = [c for c in row[2] if c[0] != ref or c is cell]  # a duplicate is damage
            else:
                cell = [ref, ""]
                row[2].append(cell)
                style = (column_styles or {}).get(column_index(letters)) or self._row_style(row[1])
            self.last_touched[ref] = style  # protection is judged on the style the cell has now
            if restyle is not None:
                style = restyle(style, value)
            cell[1] = cell_xml(self.prefix, ref, style, value)
        self._repair_shared(broken, rows)
        self._write_rows(start, end, rows)

    def clear_block(self, first_row: int, columns: range) -> dict[int, str | None]:
        """Empties what a previous run wrote: the rows from `first_row` down, in `columns`, until
        the first row with nothing in them (a table's current region, as Excel sees it), so text
        further down — another table's headings, the accountant's notes — is never touched.
        Returns the style each column had in `first_row`, so new rows look like the template's."""
        self.last_touched = {}
        start, end, rows = self._rows()
        valued = re.compile(r"<(?:\w+:)?(?:v|f|is)\b")
        last = first_row - 1
        by_number = {row[0]: row for row in rows}
        while last + 1 in by_number and any(
                column_index(split_ref(ref)[0]) in columns and valued.search(xml)
                for ref, xml in by_number[last + 1][2]):
            last += 1
        self._refuse_partial_arrays(
            rows,
            lambda g: last >= first_row and g[1] <= last and g[3] >= first_row and g[0] <= columns[-1]
            and g[2] >= columns[0] if columns else False,
            lambda g: g[0] in columns and g[2] in columns and g[1] >= first_row and g[3] <= last)
        styles: dict[int, str | None] = {}
        broken: dict[str, tuple[str, str]] = {}
        for row in rows:
            if row[0] < first_row or row[0] > max(last, first_row):
                continue
            for cell in row[2]:
                col = column_index(split_ref(cell[0])[0])
                if col not in columns:
                    continue
                s = _ATTR_S.search(cell[1].split(">", 1)[0])
                style = s.group(1) if s else None
                if row[0] == first_row:
                    styles[col] = style
                if valued.search(cell[1]):
                    self._note_removed(cell[0], cell[1], broken)
                    self.last_touched[cell[0]] = style
                    # like Excel's Clear Contents: the value goes, the cell's format stays
                    cell[1] = cell_xml(self.prefix, cell[0], style, None) if style is not None else ""
            row[2] = [cell for cell in row[2] if cell[1]]
        rows = [row for row in rows if row[0] < first_row or row[2] or not row[4]
                or re.search(r'\s(customHeight|hidden|s|ht|customFormat|outlineLevel|collapsed)="', row[1])]
        self._repair_shared(broken, rows)
        self._write_rows(start, end, rows)
        return styles

    def _row_style(self, attrs: str) -> str | None:
        if 'customFormat="1"' in attrs:
            s = _ATTR_S.search(attrs)
            return s.group(1) if s else None
        return None

    def _write_rows(self, start: int, end: int, rows: list[list]) -> None:
        p = self.prefix
        parts = []
        rows = sorted(rows, key=lambda r: r[0])
        for row in rows:
            number, attrs, cells, original, was = row
            if original is not None and was == [c[1] for c in cells] and _attr(attrs, "r") == str(number):
                parts.append(original)  # untouched rows stay byte for byte as Excel wrote them
                continue
            # 'spans' is only an optimisation hint; drop it rather than let it go stale
            attrs = re.sub(r'\sspans="[^"]*"', "", attrs)
            if _attr(attrs, "r") != str(number):
                attrs = f' r="{number}"' + re.sub(r'\sr="[^"]*"', "", attrs)
            cells = sorted(cells, key=lambda c: column_index(split_ref(c[0])[0]))
            body = "".join(c[1] for c in cells)
            attrs = attrs.rstrip().rstrip("/")
            text = f"<{p}row{attrs}>{body}</{p}row>" if body else f"<{p}row{attrs}/>"
            parts.append(text)
            row[1], row[2], row[3], row[4] = attrs, cells, text, [c[1] for c in cells]
        body = "".join(parts)
        self.xml = self.xml[:start] + body + self.xml[end:]
        self._parsed = (self.xml, start, start + len(body), rows)

    def widen_dimension(self, last_ref: str) -> None:
        m = _DIMENSION.search(self.xml)
        if not m:
            return
        first, _, last = m.group(2).partition(":")
        last = last or first
        try:
            lc, lr = split_ref(last)
            nc, nr = split_ref(last_ref)
        except ValueError:
            return
        new_last = f"{column_letters(max(column_index(lc), column_index(nc)))}{max(lr, nr)}"
        self.xml = self.xml[: m.start(2)] + f"{first}:{new_last}" + self.xml[m.end(2):]

    def has_formulas(self) -> bool:
        return _FORMULA.search(self.xml) is not None


def _translate(formula: str, origin: str, target: str) -> str | None:
    """A shared formula as it reads in another cell of its range (None if it cannot be moved)."""
    try:
        from openpyxl.formula.translate import Translator

        return Translator("=" + formula, origin=origin).translate_formula(target)[1:]
    except Exception:  # an exotic formula: the caller keeps the computed value instead
        return None


def formula_texts(xml: str) -> Iterable[str]:
    for m in _F_ELEMENT.finditer(xml):
        if m.group(3):
            yield unescape(m.group(3))


# ---- styles and workbook settings ------------------------------------------------------------

_CELL_XFS = re.compile(r"<((?:\w+:)?)cellXfs\b([^>]*?)(/>|>(.*?)</\1cellXfs>)", re.S)
_XF = re.compile(r"<((?:\w+:)?)xf\b([^>]*?)(/>|>(.*?)</\1xf>)", re.S)


class StylesPatch:
    """Textual edits of styles.xml: a copy of a cell style with Excel's 'text, not formula' mark
    (quotePrefix, what typing a leading apostrophe sets)."""

    def __init__(self, xml: str):
        self.xml = xml
        self.changed = False

    def quote_prefixed(self, style: str | None) -> str | None:
        m = _CELL_XFS.search(self.xml)
        if m is None or m.group(3) == "/>":
            return style
        xfs = list(_XF.finditer(m.group(4)))
        index = int(style) if style is not None and style.isdigit() else 0
        if index >= len(xfs):
            return style
        xf = xfs[index]
        if (_attr(xf.group(2), "quotePrefix") or "").lower() in ("1", "true"):
            return style
        attrs = re.sub(r'\squotePrefix="[^"]*"', "", xf.group(2)).rstrip()
        wanted = f"<{xf.group(1)}xf{attrs} quotePrefix=\"1\"{xf.group(3)}"
        for i, other in enumerate(xfs):
            if other.group(0) == wanted:
                return str(i)
        inner_end = m.start(4) + len(m.group(4))
        head = re.sub(r'\scount="\d+"', f' count="{len(xfs) + 1}"', m.group(2))
        self.xml = (self.xml[: m.start(2)] + head + self.xml[m.end(2): inner_end] + wanted
                    + self.xml[inner_end:])
        self.changed = True
        return str(len(xfs))


_CALC_PR = re.compile(r"<((?:\w+:)?)calcPr\b([^>]*?)(\s*/?>)", re.S)


def with_full_calc_on_load(xml: str) -> str:
    """workbook.xml asking Excel to recalculate on open: formulas elsewhere that read the cells we
    wrote would otherwise show their stale cached results.  Changes only that one attribute."""
    m = _CALC_PR.search(xml)
    if m:
        current = _attr(m.group(2), "fullCalcOnLoad")
        if current in ("1", "true"):
            return xml
        if current is not None:
            attrs = re.sub(r'(\sfullCalcOnLoad=")[^"]*(")', r"\g<1>1\2", m.group(2))
        else:
            attrs = m.group(2) + ' fullCalcOnLoad="1"'
        return xml[: m.start(2)] + attrs + xml[m.end(2):]
    # CT_Workbook order: sheets, functionGroups, externalReferences, definedNames, calcPr
    for tag in ("definedNames", "externalReferences", "functionGroups", "sheets"):
        m = re.search(rf"</((?:\w+:)?){tag}>|<((?:\w+:)?){tag}\b[^>]*/>", xml)
        if m:
            prefix = m.group(1) or m.group(2) or ""
            return xml[: m.end()] + f'<{prefix}calcPr fullCalcOnLoad="1"/>' + xml[m.end():]
    return xml
