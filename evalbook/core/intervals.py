"""Intervals of rates, as rule tables write them: ``(0%,10%]``, ``[80%,100%]``, ``>=90%``, ``<70%``,
``=0%``, and ``0%`` alone for "exactly 0".

One grammar and one membership test for the department's 分档 and the special funds' 定性档次.
"""

from __future__ import annotations

import re
from fractions import Fraction

from evalbook.core.numbers import clean_text, read_number

BOUND = r"([+-]?\d+(?:\.\d+)?%?)"
_TWO_SIDED = re.compile(rf"^([\(\[])\s*{BOUND}\s*,\s*{BOUND}\s*([\)\]])$")
_ONE_SIDED = re.compile(rf"^(>=|<=|>|<|=)?\s*{BOUND}$")

Bounds = tuple[Fraction | None, bool, Fraction | None, bool]  # low, low closed, high, high closed


class Interval:
    """Anything with low/low_closed/high/high_closed (None: unbounded on that side)."""

    low: Fraction | None
    low_closed: bool
    high: Fraction | None
    high_closed: bool

    def contains(self, value: Fraction) -> bool:
        if self.low is not None:
            if value < self.low or (value == self.low and not self.low_closed):
                return False
        if self.high is not None:
            if value > self.high or (value == self.high and not self.high_closed):
                return False
        return True


def normalise(text: str) -> str:
    """Full-width and typographic comparison signs as ASCII, blanks removed."""
    return (
        clean_text(text).replace("≥", ">=").replace("≧", ">=").replace("≤", "<=").replace("≦", "<=")
        .replace("＞", ">").replace("＜", "<").replace("，", ",").replace(" ", "")
    )


def bound_value(text: str) -> Fraction:
    reading = read_number(text)
    if reading.value is None:
        raise ValueError(text)
    return reading.value


def parse_bounds(text: str) -> Bounds | None:
    """'(0%,10%]' → (0, False, 1/10, True); None when the text is no interval at all."""
    text = normalise(text)
    if m := _TWO_SIDED.match(text):
        return bound_value(m.group(2)), m.group(1) == "[", bound_value(m.group(3)), m.group(4) == "]"
    if m := _ONE_SIDED.match(text):
        op, value = m.group(1) or "=", bound_value(m.group(2))
        return {
            ">=": (value, True, None, False),
            ">": (value, False, None, False),
            "<=": (None, False, value, True),
            "<": (None, False, value, False),
            "=": (value, True, value, True),
        }[op]
    return None
