"""Reading numbers the way accountants type them, and writing them back for people.

Everything is kept as an exact `Fraction`: a float's shortest repr is what Excel showed the
accountant, so 10.2 is read as 102/10 and (10.2 - 10) / 10 is exactly 2%.  Rounding happens
only when a number is turned into text.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

PENDING = "待补充"  # what a score cell shows while an input is missing
BAD_DATA = "数据有误"  # … while an input it needs is wrong (not a number, negative, fails a check)
RULE_INVALID = "规则有误"  # … while its 评分规则 row cannot be read or does not fit the value
NEEDS_PYTHON = "需运行校验并评分"  # … (formula only) while a rule text has changed that no formula can read

EXCEL_ERROR_CODES = (
    "#DIV/0!", "#N/A", "#REF!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!",
    "#SPILL!", "#CALC!", "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#UNKNOWN!",
)


@dataclass(frozen=True)
class ExcelError:
    """An error value held by a cell (what Excel shows as #DIV/0! and friends)."""

    code: str

    def __str__(self) -> str:
        return self.code


@dataclass(frozen=True)
class UnreadableCell(ExcelError):
    """A cell the file holds no usable value for (a formula saved without its result, a cell
    covered by a merge).  The adapter knows why; `reason` follows the cell in the finding."""

    reason: str = ""

    def __str__(self) -> str:
        return ""  # as text it is blank: never shown or read as if the accountant had typed it


def _error_problem(error: ExcelError, advice: str = "") -> str:
    if isinstance(error, UnreadableCell):
        return error.reason
    return f"是错误值{error.code}{advice}"


def as_excel_error(raw: object) -> ExcelError | None:
    if isinstance(raw, ExcelError):
        return raw
    if isinstance(raw, str) and raw.strip().upper() in EXCEL_ERROR_CODES:
        return ExcelError(raw.strip().upper())
    return None


@dataclass(frozen=True)
class Reading:
    """One input cell as understood: a number, a blank, or a problem to report."""

    value: Fraction | None = None
    problem: str | None = None
    dash: bool = False  # the cell said "——": explicitly nothing

    @property
    def blank(self) -> bool:
        return self.value is None and self.problem is None


BLANK = Reading()

# Characters accountants use for "none": em dashes, hyphens, full-width minus, and so on.
_DASHES = set("—–―-－‐‑‒﹣")
_WHITESPACE = "\u3000\u00a0\u2002\u2003\u2009\u200b\ufeff \t\r\n"
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_PLAIN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_UNIT_SUFFIXES = ("万元",)


def clean_text(text: str) -> str:
    """Full-width forms folded to ASCII, surrounding blanks (including U+3000) removed."""
    return unicodedata.normalize("NFKC", text).strip(_WHITESPACE)


def quote(raw: object, limit: int = 40) -> str:
    """A user's value, shortened and made safe to show inside a message."""
    text = str(raw)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"“{text}”"


def read_number(raw: object) -> Reading:
    """What an input cell's value means as a number (in the cell's own unit)."""
    if raw is None:
        return BLANK
    kind = type(raw)  # exact types first: this runs for every input of every workbook
    if kind is float:
        if math.isnan(raw) or math.isinf(raw):
            return Reading(problem="不是有效数字")
        return Reading(value=Fraction(repr(raw)))
    if kind is int:
        return Reading(value=Fraction(raw))
    if kind is str:
        if raw.strip().upper() in EXCEL_ERROR_CODES:
            return Reading(problem=f"是错误值{raw.strip().upper()}，请先修正该单元格的公式或内容")
        return _read_text_number(raw)
    if isinstance(raw, ExcelError):
        return Reading(problem=_error_problem(raw, "，请先修正该单元格的公式或内容"))
    if isinstance(raw, bool):
        return Reading(problem=f"是逻辑值{'TRUE' if raw else 'FALSE'}，应填写数字")
    if isinstance(raw, (_dt.date, _dt.datetime, _dt.time)):
        return Reading(problem="是日期或时间，应填写数字（检查单元格格式）")
    if isinstance(raw, Fraction):
        return Reading(value=raw)
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            return Reading(problem="不是有效数字")
        return Reading(value=Fraction(raw))
    if isinstance(raw, int):  # numpy and other integer types
        return Reading(value=Fraction(int(raw)))
    if isinstance(raw, float):
        return read_number(float(raw))
    return Reading(problem=f"的值{quote(raw)}无法识别为数字")


def _read_text_number(raw: str) -> Reading:
    text = clean_text(raw)
    if not text:
        return BLANK
    if all(ch in _DASHES for ch in text):
        return Reading(value=Fraction(0), dash=True)
    body = text.replace(" ", "")
    percent = body.endswith("%")
    if percent:
        body = body[:-1]
    for suffix in _UNIT_SUFFIXES:
        if not percent and body.endswith(suffix):
            body = body[: -len(suffix)]
    if _THOUSANDS.match(body):
        body = body.replace(",", "")
    if not _PLAIN.match(body):
        return Reading(problem=f"的内容{quote(raw)}不是数字")
    value = Fraction(body)
    if percent:
        value /= 100
    return Reading(value=value)


_YES = {"是", "有", "√", "✓", "Y", "YES", "TRUE", "1"}
_NO = {"否", "无", "×", "✗", "N", "NO", "FALSE", "0"}


def read_yes_no(raw: object) -> Reading:
    """是/否 answers: 1 for 是, 0 for 否."""
    if raw is None:
        return BLANK
    if isinstance(raw, bool):
        return Reading(value=Fraction(int(raw)))
    error = as_excel_error(raw)
    if error is not None:
        return Reading(problem=_error_problem(error))
    text = clean_text(str(raw)).upper()
    if not text:
        return BLANK
    if text in _YES:
        return Reading(value=Fraction(1))
    if text in _NO:
        return Reading(value=Fraction(0))
    return Reading(problem=f"的内容{quote(raw)}应为“是”或“否”")


def read_choice(raw: object, choices: tuple[str, ...]) -> tuple[str | None, str | None]:
    """One of a fixed list of words (好/一般/差): (choice, problem)."""
    if raw is None:
        return None, None
    error = as_excel_error(raw)
    if error is not None:
        return None, _error_problem(error)
    text = clean_text(str(raw))
    if not text:
        return None, None
    if text in choices:
        return text, None
    return None, f"的内容{quote(raw)}应为{'/'.join(choices)}之一"


def read_text(raw: object) -> str:
    if raw is None:
        return ""
    return clean_text(str(raw))


# ---- writing numbers for people ------------------------------------------------------------

def _round(value: Fraction, places: int) -> Decimal:
    """Half-up rounding in integers: exact for any figure a cell can hold (1E+308 included)."""
    numerator, denominator = value.numerator * 10 ** places, value.denominator  # plain ints: fast
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return Decimal(-quotient if numerator < 0 else quotient).scaleb(-places)


def fmt_money(value: Fraction) -> str:
    """万元 with two decimals: 124.4 → '124.40'."""
    return f"{_round(value, 2):.2f}"


def fmt_pct(value: Fraction) -> str:
    """A rate as a percentage with two decimals: 1.2458 → '124.58%'."""
    return f"{_round(value * 100, 2):.2f}%"


def fmt_threshold(value: Fraction) -> str:
    """A rule's threshold as written in rules: 1 → '100%', 0.305 → '30.5%'."""
    return f"{fmt_score(value * 100)}%"


def fmt_points(value: Fraction) -> str:
    """Percentage points without trailing zeros: '24.58', '5'."""
    return fmt_score(value * 100)


def fmt_score(value: Fraction) -> str:
    """A score as people write it: 3.4, 7.6, 5 (at most two decimals, no trailing zeros)."""
    text = f"{_round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def round2(value: Fraction) -> float:
    """The two-decimal figure written into a cell."""
    return float(_round(value, 2))


def rounded(value: Fraction, places: int = 2) -> Fraction:
    """The exact value of `value` rounded half-up to `places` decimals."""
    return Fraction(_round(value, places))


def fraction_to_float(value: Fraction | None) -> float | None:
    return None if value is None else value.numerator / value.denominator
