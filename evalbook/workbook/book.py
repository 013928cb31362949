"""What the scoring service needs from a workbook, whichever library holds it."""

from __future__ import annotations

from typing import Iterable, Mapping, Protocol, Sequence

from evalbook.core.findings import CellRef


class Book(Protocol):
    """A workbook seen through its defined names (the file adapter and the live Excel adapter).

    Values come back as Python scalars (None, float, int, str, bool, datetime) or
    `numbers.ExcelError` for error cells.  Written strings are always literal text.
    """

    def locate(self, name: str) -> CellRef | None: ...

    def extent(self, name: str) -> tuple[str, str] | None:
        """(sheet, 'B4' or 'A5:I40') a defined name covers, None if it leads to no cell."""

    def explain_missing(self, names: Iterable[str]) -> str | None:
        """Why these names lead to no cell, in words that say what to fix (None: no more to say)."""

    def read_values(self, names: Iterable[str]) -> dict[str, object]: ...

    def read_range(self, name: str) -> tuple[CellRef, list[tuple]]:
        """The rows of a named range and its top-left cell."""

    def write_values(self, values: Mapping[str, object]) -> None: ...

    def write_range(self, name: str, rows: Sequence[Sequence[object]]) -> None:
        """Rows written into the cells a named range covers (from its top-left cell; a value past
        the range's edge is an error, a cell the rows do not reach is left as it is)."""

    def write_rows(self, name: str, rows: Sequence[Sequence[object]], width: int | None = None) -> None:
        """Rows written from the named cell downwards, replacing what a previous run wrote."""
