"""The live-workbook adapter: an open Excel book through xlwings.

Reads and writes go through defined names like the file adapter, so the button and the command
line run the same service code.  Excel itself saves the book; nothing here does.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from ..findings import CellRef
from ..numbers import ExcelError, as_excel_error
from ..textsafe import formula_safe
from .base import WorkbookUnusable

# how far down a previous run's findings may reach (matches the template's highlight range)
MAX_TABLE_ROWS = 2000


class LiveBook:
    def __init__(self, book):
        self.book = book
        self._ranges: dict[str, object] = {}
        try:
            self._names = {n.name: n for n in book.names}
        except Exception as exc:  # COM errors surface as many types
            raise WorkbookUnusable(f"无法读取工作簿的定义名称：{exc}") from None

    def _range(self, name: str):
        if name not in self._ranges:
            defined = self._names.get(name)
            if defined is None:
                return None
            try:
                self._ranges[name] = defined.refers_to_range
            except Exception:  # a name pointing at #REF! has no range
                self._ranges[name] = None
        return self._ranges[name]

    def _need(self, name: str):
        rng = self._range(name)
        if rng is None:
            raise WorkbookUnusable(f"工作簿缺少定义名称“{name}”或其引用的单元格已被删除，请使用evalbook模板")
        return rng

    def locate(self, name: str) -> CellRef | None:
        rng = self._range(name)
        if rng is None:
            return None
        first = rng.address.replace("$", "").split(":")[0]
        return CellRef(rng.sheet.name, first)

    def read_values(self, names: Iterable[str]) -> dict[str, object]:
        found = {}
        for name in names:
            rng = self._need(name)
            value = rng[0, 0].options(err_to_str=True).value if rng.count > 1 else \
                rng.options(err_to_str=True).value
            found[name] = _native(value)
        return found

    def read_range(self, name: str) -> tuple[CellRef, list[tuple]]:
        rng = self._need(name)
        rows = rng.options(ndim=2, err_to_str=True).value
        return self.locate(name), [tuple(_native(v) for v in row) for row in rows]

    def write_values(self, values: Mapping[str, object]) -> None:
        for name, value in values.items():
            self._need(name).value = _cell_value(value)

    def write_rows(self, name: str, rows: Sequence[Sequence[object]], width: int | None = None) -> None:
        first = self._need(name)
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
