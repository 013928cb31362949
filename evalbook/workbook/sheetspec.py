"""The vocabulary of the template's layout: cells, sheets and charts as plain data.

The build script turns these into the xlsx; `layout` and `fund_layout` say where everything stands.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field

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
    # ranges where a cell listed in 校验结果 with 错误 lights up
    highlight_range: str = ""
    # extra defined names pointing at ranges (name → "A1:B2")
    ranges: dict[str, str] = field(default_factory=dict)
    charts: list[Chart] = field(default_factory=list)

    def add(self, *cells: Cell) -> None:
        self.cells.extend(cells)


LINE_HEIGHT = 13.5


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
