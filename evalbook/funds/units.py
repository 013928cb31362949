"""Quantities as accountants write them in 年度指标值/全年完成值: an exact number and a unit.

Units are kept as written (after folding aliases such as ㎡ → 平方米), so "12个" and "12户" never
compare equal by accident.  Only units of one family convert into each other (万元 and 元, 公里
and 米), and the conversion is exact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from evalbook.core.numbers import fmt_score

PERCENT = "%"

# What people type → the unit as shown in explanations.  NFKC has already turned ㎡ into "m2".
_ALIASES = {
    "m2": "平方米", "㎡": "平方米", "平米": "平方米", "平方米": "平方米",
    "km2": "平方公里", "平方千米": "平方公里",
    "m3": "立方米", "方": "立方米",
    "m": "米", "km": "公里", "千米": "公里",
    "kg": "千克", "公斤": "千克", "t": "吨",
    "日": "天",
    "%": PERCENT,
}

# unit → (family, how many base units it is)
_FAMILIES = {
    "元": ("金额", Fraction(1)),
    "千元": ("金额", Fraction(10**3)),
    "万元": ("金额", Fraction(10**4)),
    "亿元": ("金额", Fraction(10**8)),
    "米": ("长度", Fraction(1)),
    "公里": ("长度", Fraction(1000)),
    "平方米": ("面积", Fraction(1)),
    "平方公里": ("面积", Fraction(10**6)),
    "千克": ("重量", Fraction(1)),
    "吨": ("重量", Fraction(1000)),
}

# "7万平方米", "1.2万户": a multiplier in front of a unit that is not itself a money unit.
_MULTIPLIERS = {"万": Fraction(10**4), "亿": Fraction(10**8)}

_NUMBER = re.compile(r"^(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(.*)$")
# A unit is a short run of letters (CJK or Latin); digits or punctuation after the number mean
# something else was written ("1,25", "3842米/年").
_UNIT = re.compile(r"^[A-Za-z\u4e00-\u9fff]{1,8}$")


class UnitError(ValueError):
    """The text is not one number followed by a recognisable unit; the message says why."""


@dataclass(frozen=True)
class Quantity:
    value: Fraction  # percentages as fractions: 95% → 19/20
    unit: str = ""  # "" when only a number was written
    written: str = ""  # as typed ("1008万吨"), to quote it back unchanged; "" for a number cell
    scale: str = ""  # the multiplier typed before the unit ("万" in "1008万吨"), to show sums the same way

    def __str__(self) -> str:
        return fmt_quantity(self.value, self.unit)


def normalise_unit(unit: str) -> str:
    key = unit.lower() if unit.isascii() else unit
    return _ALIASES.get(key, unit)


def parse_quantity(text: str) -> Quantity:
    """'3842米', '1,250盏', '95%', '7万平方米', '1200万元' → Quantity; raises UnitError."""
    m = _NUMBER.match(text)
    if not m:
        raise UnitError("不是以数字开头")
    number, unit = m.group(1), m.group(2)
    value = Fraction(Decimal(number.replace(",", "")))
    if unit in ("%", "％"):
        return Quantity(value / 100, PERCENT, text)
    if not unit:
        return Quantity(value, "", text)
    unit = normalise_unit(unit)
    scale = ""
    if unit not in _FAMILIES and unit[0] in _MULTIPLIERS and len(unit) > 1:
        scale = unit[0]
        value *= _MULTIPLIERS[scale]
        unit = normalise_unit(unit[1:])
    if not _UNIT.match(unit):
        raise UnitError(f"数字后的“{unit}”不是计量单位")
    return Quantity(value, unit, text, scale)


def family(unit: str) -> str | None:
    entry = _FAMILIES.get(unit)
    return entry[0] if entry else None


def convertible(a: str, b: str) -> bool:
    return a == b or (family(a) is not None and family(a) == family(b))


def convert(value: Fraction, from_unit: str, to_unit: str) -> Fraction:
    """The same amount in another unit of its family (exact)."""
    if from_unit == to_unit:
        return value
    return value * _FAMILIES[from_unit][1] / _FAMILIES[to_unit][1]


def fmt_quantity(value: Fraction, unit: str, scale: str = "") -> str:
    """'3842米', '96%', '3.842公里', '1000万吨' (with `scale` 万) — as typed where possible: no
    trailing zeros, percentages to two decimals, other amounts to four."""
    if unit == PERCENT:
        return f"{fmt_score(value * 100)}%"
    if scale in _MULTIPLIERS:
        value, unit = value / _MULTIPLIERS[scale], scale + unit
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    text = f"{exact.quantize(Decimal('0.0001'), rounding=ROUND_HALF_UP):f}".rstrip("0").rstrip(".")
    return f"{text or '0'}{unit}"
