"""The vocabulary of the template's layout: cells, sheets and charts as plain data.

The build script turns these into the xlsx; `layout` and `fund_layout` say where everything stands.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field

from evalbook.core.cells import column_index, column_letter, split_ref

# style keys understood by the builder
TITLE, HEADER, LABEL, TEXT, INPUT, OUTPUT, NOTE, SECTION = (
    "title", "header", "label", "text", "input", "output", "note", "section")

MONEY_FMT = "0.00"
RATE_FMT = "0.00%"
COUNT_FMT = "0"
SCORE_FMT = "0.00"


@dataclass
class Cell:
    ref: str
    value: object = None
    style: str = TEXT
    name: str | None = None  # workbook-scope defined name
    # what the cell holds when it has no name of its own (a cell of a named column): the key its
    # value goes by, e.g. 专项1_指标3_完成值 inside 专项1_指标表_完成值
    key: str | None = None
    formula: bool = False  # the value is a formula the template computes (only the names index has any)
    merge: str | None = None  # bottom-right cell of a merged block starting here
    number_format: str | None = None
    choices: tuple[str, ...] = ()  # dropdown list
    wrap: bool = False
    formula: bool = False  # value is a formula evalbook wrote (anything else starting with "=" stays text)


@dataclass(frozen=True)
class Chart:
    """A native bar chart over cells of its own sheet."""

    title: str
    categories: str
    series: tuple[tuple[str, str], ...]  # (legend, range)
    anchor: str
    width_cm: float = 16
    height_cm: float = 7.5


@dataclass
class Sheet:
    title: str
    code_name: str
    cells: list[Cell] = field(default_factory=list)
    widths: dict[str, float] = field(default_factory=dict)
    heights: dict[int, float] = field(default_factory=dict)
    landscape: bool = True
    print_area: str = ""
    freeze: str | None = None
    hidden: bool = False
    hidden_columns: str = ""  # "M:BI": helper columns of the native formulas
    # ranges where a cell listed in 校验结果 with 错误 lights up
    highlight_range: str = ""
    # extra defined names pointing at ranges (name → "A1:B2")
    ranges: dict[str, str] = field(default_factory=dict)
    charts: list[Chart] = field(default_factory=list)
    # conditional formats beyond the error highlight: (range, formula, colour of the font)
    alerts: list[tuple[str, str, str]] = field(default_factory=list)
    # printing: rows repeated at the top of every page ("3:3") and the rows after which a page ends
    print_titles: str = ""
    row_breaks: list[int] = field(default_factory=list)

    def add(self, *cells: Cell) -> None:
        self.cells.extend(cells)

    def width_of(self, column: str) -> float:
        return self.widths.get(column, DEFAULT_WIDTH)

    def height_of(self, row: int) -> float:
        return self.heights.get(row, DEFAULT_HEIGHT)

    def merges(self) -> dict[str, str]:
        """Top-left cell → bottom-right cell of every merged block."""
        return {c.ref: c.merge for c in self.cells if c.merge}

    def span(self, ref: str, merges: dict[str, str] | None = None) -> tuple[list[str], list[int]]:
        """The columns and rows a cell's text has: its merged block if one starts at `ref`."""
        column, row = split_ref(ref)
        last = (self.merges() if merges is None else merges).get(f"{column}{row}")
        if last is None:
            return [column], [row]
        last_column, last_row = split_ref(last)
        columns = [column_letter(i) for i in range(column_index(column), column_index(last_column) + 1)]
        return columns, list(range(row, last_row + 1))

    def fit_text(self, ref: str, text: str, heights: dict[int, float] | None = None,
                 merges: dict[str, str] | None = None) -> None:
        """Grow the rows under `ref` until its wrapped text shows whole (never shrinks them);
        into `heights` (rows not in it have the sheet's own heights) or the sheet's own."""
        heights = self.heights if heights is None else heights
        columns, rows = self.span(ref, merges)

        def height(r: int) -> float:
            return heights.get(r, self.height_of(r))

        need = needed_height(text, sum(self.width_of(c) for c in columns))
        have = sum(height(r) for r in rows)
        if need > have:
            extra = (need - have) / len(rows)
            for r in rows:
                heights[r] = math.ceil((height(r) + extra) * 2) / 2

    def fit_rows(self) -> None:
        """Every wrapped text the template itself carries, given the room it needs."""
        merges = self.merges()
        for cell in self.cells:
            if wraps(cell) and isinstance(cell.value, str) and not cell.value.startswith("="):
                self.fit_text(cell.ref, cell.value, merges=merges)


DEFAULT_WIDTH = 8.43  # Excel's column width when a sheet sets none
DEFAULT_HEIGHT = 15.0  # and its row height (the template's Normal font)
LINE_HEIGHT = 13.5


def wraps(cell: Cell) -> bool:
    """Headers, section titles and what a run writes wrap by their style; other cells when they ask to."""
    return cell.wrap or cell.style in (HEADER, SECTION, OUTPUT)


def needed_height(text: str, width: float) -> float:
    """Points a wrapped text of a cell `width` characters wide needs (one line: the default)."""
    lines = text_lines(text, width)
    return DEFAULT_HEIGHT if lines <= 1 else LINE_HEIGHT * lines + 3


def text_lines(text: str, width: float) -> int:
    """Lines a wrapped cell of `width` characters needs (CJK characters count double)."""
    total = 0
    for line in (text or "").split("\n"):
        units = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
        total += max(1, math.ceil(units / max(width - 1, 1)))
    return total


def rule_number(value: str):
    """Percent and plain numbers in the default rows become real numbers on the sheet."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if text.endswith("%"):
            return float(text[:-1]) / 100
        return float(text) if "." in text else int(text)
    except ValueError:
        return None
