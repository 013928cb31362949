"""Row heights that follow the text a run writes.

Neither Excel nor LibreOffice grows a row for wrapped text when a file is opened, and Excel never
does for a merged cell, so a long 扣分说明 or 校验结果 message would print cut off.  Whatever is
written through a `FittedBook` is remembered; `fit()` then gives each row the height its text
needs at the template's column widths (CJK characters count double), never less than the
template's own height, and puts rows a previous run's longer table grew back to the template's.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from evalbook.core.cells import cell_at, cell_position
from evalbook.workbook.book import Book, Formula
from evalbook.workbook.sheetspec import Sheet

# how far below what a table holds now a previous run's rows may reach (the highlight range's depth)
RESET_ROWS = 2000


class FittedBook:
    """A Book passed through: writes go on to it and are remembered for `fit()`."""

    def __init__(self, book: Book, sheets: Iterable[Sheet]):
        self._book = book
        self._sheets = {s.title: s for s in sheets}
        self._written: dict[str, dict[str, object]] = {}  # sheet → cell → value
        self._reset: dict[str, set[int]] = {}

    def __getattr__(self, name: str):
        return getattr(self._book, name)

    def write_values(self, values: Mapping[str, object]) -> None:
        self._book.write_values(values)
        for name, value in values.items():
            ref = self._book.locate(name)
            if ref is not None:
                self._written.setdefault(ref.sheet, {})[ref.cell] = value

    def write_range(self, name: str, rows: Sequence[Sequence[object]]) -> None:
        self._book.write_range(name, rows)
        self._remember(name, [[v.cached if isinstance(v, Formula) else v for v in row] for row in rows])

    def _remember(self, name: str, rows: Sequence[Sequence[object]]) -> tuple[str, int] | None:
        """The cells `rows` went to from the named cell down; (sheet, top row), None if unnamed."""
        ref = self._book.locate(name)
        if ref is None:
            return None
        top, left = cell_position(ref.cell)
        written = self._written.setdefault(ref.sheet, {})
        for offset, row in enumerate(rows):
            for i, value in enumerate(row):
                written[cell_at(top + offset, left + i)] = value
        return ref.sheet, top

    def write_rows(self, name: str, rows: Sequence[Sequence[object]], width: int | None = None) -> None:
        self._book.write_rows(name, rows, width)
        at = self._remember(name, rows)
        if at is None:
            return
        sheet, top = at
        self._reset.setdefault(sheet, set()).update(range(top + len(rows), top + RESET_ROWS))

    def fit(self) -> None:
        for sheet in sorted(set(self._written) | set(self._reset)):
            spec = self._sheets.get(sheet)
            if spec is not None:
                self._book.write_row_heights(sheet, fitted_heights(
                    spec, self._written.get(sheet, {}), self._reset.get(sheet, ())))


def fitted_heights(spec: Sheet, written: Mapping[str, object], reset: Iterable[int] = ()) -> dict[int, float | None]:
    """Row → height (None: the sheet's default) for every row a written cell covers and every
    row in `reset`: the template's height, grown for the text written."""
    merges = spec.merges()
    grown: dict[int, float] = {}
    rows = set(reset)
    for ref, value in written.items():
        rows.update(spec.span(ref, merges)[1])
        if isinstance(value, str) and value:
            spec.fit_text(ref, value, grown, merges)
    return {r: grown.get(r, spec.heights.get(r)) for r in sorted(rows)}
