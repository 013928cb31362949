"""What the scoring service needs from a workbook, whichever library holds it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Protocol, Sequence

from evalbook.core.findings import CellRef


@dataclass(frozen=True)
class Formula:
    """A formula evalbook owns (`text` without the leading '='), written with the value it shows
    until the spreadsheet recalculates: any reader sees the engine's result at once."""

    text: str
    cached: object = None


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

    def read_formulas(self, names: Iterable[str]) -> dict[str, str | None]:
        """The formula each named cell holds (without '='), None where it holds a plain value."""

    def write_formulas(self, formulas: Mapping[str, Formula]) -> None:
        """Formulas into named cells, each with its cached value."""

    def write_blocks(self, blocks: Mapping[str, Sequence[Sequence[object]]]) -> None:
        """Each named block's cells, every one given (None empties it): a fixed-size table."""

    def write_range(self, name: str, rows: Sequence[Sequence[object]]) -> None:
        """Rows written into the cells a named range covers (from its top-left cell; a value past
        the range's edge is an error, a cell the rows do not reach is left as it is)."""

    def write_rows(self, name: str, rows: Sequence[Sequence[object]], width: int | None = None) -> None:
        """Rows written from the named cell downwards, replacing what a previous run wrote."""

    def write_row_heights(self, sheet: str, heights: Mapping[int, float | None]) -> None:
        """Rows of `sheet` given these heights in points (None: back to the sheet's default), so
        the wrapped text just written shows whole."""
