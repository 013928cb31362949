"""Reading cell values from SpreadsheetML, and patching cells in it as text.

Writes patch the sheet XML textually, cell by cell, instead of re-serialising it: every attribute,
namespace prefix and extension the department's Excel wrote stays exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import re
from html import escape
from typing import Mapping

from ..numbers import ExcelError

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_M = "{%s}" % MAIN_NS

_BUILTIN_DATE_FORMATS = set(range(14, 23)) | {45, 46, 47} | set(range(27, 37)) | set(range(50, 59))
_DATE_CODE = re.compile(r"[ymdhs]", re.IGNORECASE)
_CELL_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d{1,7})$")


def split_ref(ref: str) -> tuple[str, int]:
    m = _CELL_REF.match(ref.upper())
    if not m:
        raise ValueError(ref)
    return m.group(1), int(m.group(2))


def column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index


def column_letters(index: int) -> str:
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def is_date_format(code: str) -> bool:
    # drop quoted text, escaped characters and [colour]/[locale] brackets before looking for y/m/d
    bare = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code)
    return bool(_DATE_CODE.search(bare)) and "General" not in code


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
    xfs = styles_root.find(f"{_M}cellXfs")
    if xfs is None:
        return found
    for index, xf in enumerate(xfs.findall(f"{_M}xf")):
        try:
            fmt_id = int(xf.get("numFmtId", "0"))
        except ValueError:
            continue
        if fmt_id in _BUILTIN_DATE_FORMATS or (fmt_id in custom and is_date_format(custom[fmt_id])):
            found.add(index)
    return found


def shared_strings(root) -> list[str]:
    if root is None:
        return []
    return ["".join(t.text or "" for t in si.iter(f"{_M}t")
                    if not _inside_phonetic(si, t)) for si in root.findall(f"{_M}si")]


def _inside_phonetic(si, t) -> bool:
    for rph in si.findall(f"{_M}rPh"):
        if t in list(rph.iter()):
            return True
    return False


def excel_serial_to_datetime(serial: float) -> dt.datetime:
    return dt.datetime(1899, 12, 30) + dt.timedelta(days=serial)


def read_cells(sheet_root, strings: list[str], dates: set[int], wanted: set[str] | None = None) -> dict:
    """Cell reference → Python value for the cells of one sheet (or only `wanted`)."""
    values = {}
    data = sheet_root.find(f"{_M}sheetData")
    if data is None:
        return values
    for row in data.iter(f"{_M}row"):
        for c in row.iter(f"{_M}c"):
            ref = c.get("r")
            if ref is None or (wanted is not None and ref not in wanted):
                continue
            values[ref] = _cell_value(c, strings, dates)
    return values


def _cell_value(c, strings: list[str], dates: set[int]) -> object:
    kind = c.get("t", "n")
    v = c.find(f"{_M}v")
    text = v.text if v is not None else None
    if kind == "inlineStr":
        node = c.find(f"{_M}is")
        return "".join(t.text or "" for t in node.iter(f"{_M}t")) if node is not None else None
    if text is None:
        return None
    if kind == "s":
        try:
            return strings[int(text)]
        except (ValueError, IndexError):
            return ExcelError("#REF!")
    if kind == "str":
        return text
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
    if number.is_integer() and "." not in text and "E" not in text.upper():
        return int(number)
    return number


# ---- patching ---------------------------------------------------------------------------------

_SHEETDATA = re.compile(r"<((?:\w+:)?)sheetData(\s[^>]*)?(/>|>)", re.S)
_ROW = re.compile(r"<((?:\w+:)?)row\b([^>]*?)(/>|>(.*?)</\1row>)", re.S)
_CELL = re.compile(r"<((?:\w+:)?)c\b([^>]*?)(/>|>(.*?)</\1c>)", re.S)
_ATTR_R = re.compile(r'\sr="([^"]*)"')
_ATTR_S = re.compile(r'\ss="(\d+)"')
_FORMULA = re.compile(r"<(?:\w+:)?f\b")
_DIMENSION = re.compile(r'(<(?:\w+:)?dimension\s+ref=")([^"]*)(")')
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text_xml(text: str) -> str:
    return escape(_XML_BAD.sub("", text), quote=False)


def cell_xml(prefix: str, ref: str, style: str | None, value: object) -> str:
    """One <c> element holding a literal value: text can never turn into a formula here."""
    s = f' s="{style}"' if style is not None else ""
    if value is None or value == "":
        return f'<{prefix}c r="{ref}"{s}/>'
    if isinstance(value, bool):
        return f'<{prefix}c r="{ref}"{s} t="b"><{prefix}v>{int(value)}</{prefix}v></{prefix}c>'
    if isinstance(value, (int, float)):
        return f'<{prefix}c r="{ref}"{s}><{prefix}v>{repr(float(value)) if isinstance(value, float) else value}' \
               f'</{prefix}v></{prefix}c>'
    text = _text_xml(str(value))
    return (f'<{prefix}c r="{ref}"{s} t="inlineStr"><{prefix}is><{prefix}t xml:space="preserve">{text}'
            f'</{prefix}t></{prefix}is></{prefix}c>')


class SheetPatch:
    """Textual edits of one worksheet part."""

    def __init__(self, xml: str):
        self.xml = xml
        m = _SHEETDATA.search(xml)
        if m is None:
            raise ValueError("no sheetData")
        self.prefix = m.group(1)
        self.removed_formula = False

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
        rows = []
        for m in _ROW.finditer(inner):
            attrs = m.group(2)
            r = _ATTR_R.search(attrs)
            number = int(r.group(1)) if r else (rows[-1][0] + 1 if rows else 1)
            cells = []
            for c in _CELL.finditer(m.group(4) or ""):
                cref = _ATTR_R.search(c.group(2))
                cells.append([cref.group(1) if cref else "", c.group(0)])
            rows.append([number, attrs, cells])
        return rows

    def set_cells(self, values: Mapping[str, object], column_styles: Mapping[int, str | None] | None = None) -> None:
        """Literal values into cells; a new cell takes its column's style from `column_styles`."""
        if not values:
            return
        start, end, inner = self._rows_span()
        rows = self._parse_rows(inner)
        by_number = {row[0]: row for row in rows}
        for ref, value in values.items():
            letters, number = split_ref(ref)
            row = by_number.get(number)
            if row is None:
                row = [number, f' r="{number}"', []]
                by_number[number] = row
                rows.append(row)
            style = None
            for cell in row[2]:
                if cell[0] == ref:
                    s = _ATTR_S.search(cell[1].split(">", 1)[0])
                    style = s.group(1) if s else None
                    if _FORMULA.search(cell[1]):
                        self.removed_formula = True
                    break
            else:
                cell = [ref, ""]
                row[2].append(cell)
                style = (column_styles or {}).get(column_index(letters)) or self._row_style(row[1])
            cell[1] = cell_xml(self.prefix, ref, style, value)
        self._write_rows(start, end, rows)

    def clear_block(self, first_row: int, columns: range) -> dict[int, str | None]:
        """Empties cells in `columns` from `first_row` down; returns the style each column had
        in `first_row`, so new rows can look like the template's."""
        start, end, inner = self._rows_span()
        rows = self._parse_rows(inner)
        styles: dict[int, str | None] = {}
        kept = []
        for row in rows:
            if row[0] < first_row:
                kept.append(row)
                continue
            remaining = []
            for cell in row[2]:
                letters, _ = split_ref(cell[0]) if cell[0] else ("", 0)
                col = column_index(letters) if letters else 0
                if col in columns:
                    if row[0] == first_row:
                        s = _ATTR_S.search(cell[1].split(">", 1)[0])
                        styles[col] = s.group(1) if s else None
                    if _FORMULA.search(cell[1]):
                        self.removed_formula = True
                    continue
                remaining.append(cell)
            row[2] = remaining
            if remaining or re.search(r'\s(customHeight|hidden|s|ht)="', row[1]):
                kept.append(row)
        self._write_rows(start, end, kept)
        return styles

    def _row_style(self, attrs: str) -> str | None:
        if 'customFormat="1"' in attrs:
            s = _ATTR_S.search(attrs)
            return s.group(1) if s else None
        return None

    def _write_rows(self, start: int, end: int, rows: list[list]) -> None:
        p = self.prefix
        parts = []
        for number, attrs, cells in sorted(rows, key=lambda r: r[0]):
            # 'spans' is only an optimisation hint; drop it rather than let it go stale
            attrs = re.sub(r'\sspans="[^"]*"', "", attrs)
            if not _ATTR_R.search(attrs):
                attrs = f' r="{number}"' + attrs
            cells = sorted(cells, key=lambda c: column_index(split_ref(c[0])[0]) if c[0] else 0)
            body = "".join(c[1] for c in cells)
            parts.append(f"<{p}row{attrs}>{body}</{p}row>" if body else f"<{p}row{attrs.rstrip('/')}/>")
        self.xml = self.xml[:start] + "".join(parts) + self.xml[end:]

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
