"""The live-workbook adapter: an open Excel book through xlwings.

Reads and writes go through defined names like the file adapter, so the button and the command
line run the same service code.  Excel itself saves the book; nothing here does.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping, Sequence

from evalbook.core.cells import cell_position
from evalbook.core.findings import CellRef
from evalbook.core.numbers import ExcelError, as_excel_error
from evalbook.core.textsafe import formula_safe
from evalbook.core.errors import WorkbookUnusable
from evalbook.workbook.book import Formula

# how far down a previous run's findings may reach (matches the template's highlight range)
MAX_TABLE_ROWS = 2000
DEFAULT_ROW_HEIGHT = 15  # the template's rows where it sets none


_REF = re.compile(r"^=?(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Z]{1,3})\$?(\d+)(?::\$?[A-Z]{1,3}\$?\d+)?$")


class LiveBook:
    """Every COM call is a round trip to Excel: names are resolved from their formula text, and
    each sheet's values are read in one call and looked up in memory."""

    def __init__(self, book):
        self.book = book
        self._targets: dict[str, CellRef | None] = {}
        self._snapshots: dict[str, tuple[int, int, list]] = {}
        try:
            self._names = {n.name: n for n in book.names}
        except Exception as exc:  # COM errors surface as many types
            raise WorkbookUnusable(f"无法读取工作簿的定义名称：{exc}") from None

    def locate(self, name: str) -> CellRef | None:
        if name not in self._targets:
            self._targets[name] = self._resolve(name)
        return self._targets[name]

    def _resolve(self, name: str) -> CellRef | None:
        defined = self._names.get(name)
        if defined is None:
            return None
        try:
            text = defined.refers_to
        except Exception:  # noqa: BLE001 - an unreadable name is a missing one
            return None
        m = _REF.match(text or "")
        if m:
            sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
            return CellRef(sheet, f"{m.group(3)}{m.group(4)}")
        try:  # a form the pattern does not know: ask Excel (a name at #REF! has no range)
            rng = defined.refers_to_range
            return CellRef(rng.sheet.name, rng.address.replace("$", "").split(":")[0])
        except Exception:  # noqa: BLE001
            return None

    def extent(self, name: str) -> tuple[str, str] | None:
        """Where a name points; a range as its first cell (Excel resolves the rest on write)."""
        ref = self.locate(name)
        return None if ref is None else (ref.sheet, ref.cell)

    def explain_missing(self, names: Iterable[str]) -> str | None:
        """Excel has already repaired or dropped what is gone: the names are all there is to say."""
        return None

    def _need(self, name: str) -> CellRef:
        ref = self.locate(name)
        if ref is None:
            raise WorkbookUnusable(f"工作簿缺少定义名称“{name}”或其引用的单元格已被删除，请使用evalbook模板")
        return ref

    def _cell(self, ref: CellRef):
        return self.book.sheets[ref.sheet].range(ref.cell)

    def _snapshot(self, sheet_name: str) -> tuple[int, int, list]:
        if sheet_name not in self._snapshots:
            used = self.book.sheets[sheet_name].used_range
            values = used.options(ndim=2, err_to_str=True).value
            self._snapshots[sheet_name] = (used.row, used.column, values)
        return self._snapshots[sheet_name]

    def read_values(self, names: Iterable[str]) -> dict[str, object]:
        found = {}
        for name in names:
            ref = self._need(name)
            top, left, values = self._snapshot(ref.sheet)
            row, column = cell_position(ref.cell)
            r, c = row - top, column - left
            inside = 0 <= r < len(values) and 0 <= c < len(values[r])
            found[name] = _native(values[r][c]) if inside else None
        return found

    def read_range(self, name: str) -> tuple[CellRef, list[tuple]]:
        self._need(name)
        rng = self._names[name].refers_to_range
        rows = rng.options(ndim=2, err_to_str=True).value
        return self.locate(name), [tuple(_native(v) for v in row) for row in rows]

    def write_values(self, values: Mapping[str, object]) -> None:
        for name, value in values.items():
            ref = self._need(name)
            self._cell(ref).value = _cell_value(value)
            self._snapshots.pop(ref.sheet, None)

    def read_formulas(self, names: Iterable[str]) -> dict[str, str | None]:
        found = {}
        for name in names:
            try:
                text = self._cell(self._need(name)).formula
            except NotImplementedError:  # xlwings' remote engine cannot read formulas: nothing known
                return {}
            found[name] = text[1:] if isinstance(text, str) and text.startswith("=") else None
        return found

    def write_formulas(self, formulas: Mapping[str, Formula]) -> None:
        """Excel computes the result itself: only the formula goes over."""
        for name, formula in formulas.items():
            ref = self._need(name)
            self._cell(ref).formula = "=" + formula.text
            self._snapshots.pop(ref.sheet, None)

    def write_blocks(self, blocks: Mapping[str, Sequence[Sequence[object]]]) -> None:
        for name, rows in blocks.items():
            ref = self._need(name)
            self._snapshots.pop(ref.sheet, None)
            first = self._cell(ref)
            width = max((len(r) for r in rows), default=1)
            cleaned = [[_cell_value(v) for v in row] + [None] * (width - len(row)) for row in rows]
            first.sheet.range((first.row, first.column),
                              (first.row + len(rows) - 1, first.column + width - 1)).value = cleaned

    def write_rows(self, name: str, rows: Sequence[Sequence[object]], width: int | None = None) -> None:
        ref = self._need(name)
        self._snapshots.pop(ref.sheet, None)
        first = self._cell(ref)
        width = width or max((len(r) for r in rows), default=1)
        sheet = first.sheet
        top, left = first.row, first.column
        # clear what the previous run wrote, down to its first empty row: anything below (a
        # heading, another table) belongs to someone else
        previous = sheet.range((top, left), (top + MAX_TABLE_ROWS - 1, left)).options(ndim=1).value or []
        used = next((i for i, v in enumerate(previous) if v in (None, "")), len(previous))
        if used:
            sheet.range((top, left), (top + used - 1, left + width - 1)).clear_contents()
        if rows:
            cleaned = [[_cell_value(v) for v in row] + [None] * (width - len(row)) for row in rows]
            sheet.range((top, left), (top + len(rows) - 1, left + width - 1)).value = cleaned

    def write_row_heights(self, sheet: str, heights: Mapping[int, float | None]) -> None:
        """One call per run of neighbouring rows that get the same height."""
        target = self.book.sheets[sheet]
        rows = sorted(heights)
        start = 0
        for i, row in enumerate(rows):
            last = i + 1 == len(rows)
            if last or rows[i + 1] != row + 1 or heights[rows[i + 1]] != heights[row]:
                height = heights[row]
                target.range(f"{rows[start]}:{row}").row_height = DEFAULT_ROW_HEIGHT if height is None else height
                start = i + 1

    def save(self) -> None:
        """The accountant saves in Excel; writing the file under Excel's feet would lose work."""


def _native(value: object) -> object:
    error = as_excel_error(value) if isinstance(value, str) else None
    if error is not None:
        return error
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _cell_value(value: object) -> object:
    if isinstance(value, ExcelError):
        return str(value)
    if isinstance(value, str):
        return formula_safe(value)
    return value
