"""年度指标值 and 全年完成值 as accountants write them, and how far a 完成值 reaches its 指标值.

A 指标值 is one of
  定量  a comparison, a number and a unit: "≥95%", "≤500万元", "12个", "3842米", "不低于90%",
        "1200万元以内", "30天内".  ≥ ≧ >= 不低于 不少于 以上 … are 正向 (more is better); ≤ ≦ <=
        不高于 不超过 以内 以下 … are 反向 (cost and time limits: less is better); "=" or no
        comparison is 正向, except on a 成本指标, which is a limit by nature.
  时限  a deadline: "2020年12月底前", "2020年12月31日前", "12月底前", "2020年底前", "年底前";
        the day named is included ("12月31日前" is met by a 完成值 of 12月31日).
  达标  "达标", "合格", "完成", …: met or not met.
Qualitative indicators (the seed's three tiers) are read in `qualitative`.

Parsing never guesses: what cannot be read raises `TargetError`/`ActualError` with a Chinese
reason, and the caller reports it quoting the cell.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re
from dataclasses import dataclass
from fractions import Fraction

from evalbook.core.numbers import as_excel_error, clean_text, fmt_pct, quote, read_number
from . import units as U
from .units import PERCENT, Quantity, UnitError

POSITIVE = "正向"
NEGATIVE = "反向"

NUMBER = "定量"
DEADLINE = "时限"
WORD = "达标"

# kinds of 完成值
AMOUNT = "数值"
DATE = "日期"
MET = "达成"
NOT_MET = "未达成"

AT_LEAST = "≥"
AT_MOST = "≤"
EQUAL = "="

# Above this a bare number typed against a percentage is more likely 96 for 96% than 9600%.
PLAUSIBLE_FRACTION = Fraction(3)

TARGET_WORDS = frozenset({
    "达标", "合格", "完成", "全部完成", "按时完成", "按期完成", "通过验收", "验收合格", "是",
})
MET_WORDS = frozenset({
    "达标", "已达标", "合格", "完成", "已完成", "全部完成", "已全部完成", "按时完成", "已按时完成",
    "按期完成", "如期完成", "提前完成", "通过验收", "已通过验收", "验收合格", "是",
})
NOT_MET_WORDS = frozenset({
    "未达标", "不达标", "不合格", "未完成", "未全部完成", "未按时完成", "延期完成", "逾期完成",
    "延期", "逾期", "未通过验收", "否",
})

# Longest first, so "不超过" is never read as "超过".
_PREFIXES = sorted(
    [
        ("大于或等于", AT_LEAST), ("大于等于", AT_LEAST), ("不低于", AT_LEAST), ("不少于", AT_LEAST),
        ("至少", AT_LEAST), ("达到", AT_LEAST), ("高于", AT_LEAST), ("大于", AT_LEAST), ("超过", AT_LEAST),
        ("≥", AT_LEAST), ("≧", AT_LEAST), (">=", AT_LEAST), ("=>", AT_LEAST), (">", AT_LEAST),
        ("小于或等于", AT_MOST), ("小于等于", AT_MOST), ("不高于", AT_MOST), ("不超过", AT_MOST),
        ("不多于", AT_MOST), ("不大于", AT_MOST), ("至多", AT_MOST), ("控制在", AT_MOST), ("低于", AT_MOST),
        ("小于", AT_MOST), ("≤", AT_MOST), ("≦", AT_MOST), ("<=", AT_MOST), ("=<", AT_MOST), ("<", AT_MOST),
        ("=", EQUAL),
    ],
    key=lambda p: -len(p[0]),
)
PREFIXES = _PREFIXES  # (word, meaning), longest first: what the native formulas follow too
_SUFFIXES = sorted(
    [
        ("及以上", AT_LEAST), ("以上", AT_LEAST),
        ("及以下", AT_MOST), ("以下", AT_MOST), ("以内", AT_MOST), ("之内", AT_MOST), ("内", AT_MOST),
    ],
    key=lambda p: -len(p[0]),
)
_DONE = ("完成", "完工", "竣工", "建成", "交付")
_BEFORE = ("之前", "以前", "前")

_ISO_DAY = re.compile(r"^((?:19|20)\d\d)[-/.](\d{1,2})[-/.](\d{1,2})$")
# No "." here: "1000.5" is a number, not May of the year 1000.
_ISO_MONTH = re.compile(r"^((?:19|20)\d\d)[-/](\d{1,2})$")
_CN_DAY = re.compile(r"^(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号]$")
_CN_MONTH = re.compile(r"^(?:(\d{4})年)?(\d{1,2})月(底|末|份)?$")
_CN_YEAR_END = re.compile(r"^(\d{4})?年(底|末|内)$")
_CN_YEAR = re.compile(r"^(\d{4})年$")


class IndicatorError(ValueError):
    """A 指标值/完成值/定性档次 cell that cannot be read; `field` names the column."""

    field = ""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TargetError(IndicatorError):
    field = "指标值"


class ActualError(IndicatorError):
    field = "完成值"


@dataclass(frozen=True)
class Target:
    kind: str  # NUMBER / DEADLINE / WORD
    text: str  # as written, cleaned
    op: str = ""  # AT_LEAST / AT_MOST / EQUAL / "" (none written) — NUMBER only
    quantity: Quantity | None = None
    deadline: _dt.date | None = None
    from_cell: bool = False  # a number cell rather than text (Excel stores 95% as 0.95)


@dataclass(frozen=True)
class Actual:
    kind: str  # AMOUNT / DATE / MET / NOT_MET
    text: str
    quantity: Quantity | None = None
    day: _dt.date | None = None
    from_cell: bool = False


@dataclass(frozen=True)
class Comparison:
    """How far a 完成值 reaches its 指标值."""

    ratio: Fraction  # 1 = exactly reached; above 1 is over-achievement (not capped here)
    met: bool
    text: str  # "完成值3842米/指标值3000米=128.07%"
    direction: str = ""  # NUMBER only
    unit: str = ""  # the unit both values are expressed in (NUMBER only)
    target_value: Fraction | None = None
    actual_value: Fraction | None = None
    scale: str = ""  # the 万/亿 the 指标值 was written with, when it is in `unit` itself


def compact(raw: object) -> str:
    """Text with full-width forms folded and every blank removed ("产   出" → "产出")."""
    return re.sub(r"\s+", "", clean_text(str(raw)))


def is_blank(raw: object) -> bool:
    """Empty, blanks only, or a dash ("——" means nothing to report)."""
    if raw is None:
        return True
    if not isinstance(raw, str):
        return False
    text = compact(raw)
    return not text or all(ch in "—–―-－‐‑‒﹣" for ch in text)


def fmt_date(day: _dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# ---- 指标值 --------------------------------------------------------------------------------

def parse_target(raw: object, *, year: int | None = None) -> Target | None:
    """A 年度指标值 cell → Target (None when blank); raises TargetError."""
    if is_blank(raw):
        return None
    bad = _cell_problem(raw)
    if bad:
        raise TargetError(f"年度指标值{bad}")
    if isinstance(raw, (_dt.date, _dt.datetime)):
        day = raw.date() if isinstance(raw, _dt.datetime) else raw
        return Target(DEADLINE, fmt_date(day), deadline=day)
    if not isinstance(raw, str):
        reading = read_number(raw)
        if reading.value is None or reading.value < 0:
            raise TargetError(f"年度指标值{quote(raw)}不是有效的数值")
        return Target(NUMBER, str(raw), quantity=Quantity(reading.value), from_cell=True)
    text = compact(raw)
    if text in TARGET_WORDS:
        return Target(WORD, text)
    day = _deadline(text, year, TargetError, "年度指标值")
    if day is not None:
        return Target(DEADLINE, text, deadline=day)
    op, body = _comparison(text)
    try:
        quantity = U.parse_quantity(body)
    except UnitError as exc:
        raise TargetError(
            f"年度指标值{quote(raw)}无法识别（{exc}）：应为数值（如“≥95%”“3000米”“≤500万元”）、"
            f"时限（如“2020年12月底前”）或“达标/合格/完成”；定性指标请填写定性档次和完成比例"
        ) from None
    return Target(NUMBER, text, op=op, quantity=quantity)


def _comparison(text: str) -> tuple[str, str]:
    """'≥95%' → ('≥', '95%'); '1200万元以内' → ('≤', '1200万元'); conflicting words raise."""
    op, body = "", text
    for word, meaning in _PREFIXES:
        if body.startswith(word):
            op, body = meaning, body[len(word):]
            break
    for word, meaning in _SUFFIXES:
        if body.endswith(word) and len(body) > len(word):
            if op not in ("", EQUAL, meaning):
                raise TargetError(f"年度指标值{quote(text)}前后比较方向矛盾（如“≤…以上”）")
            op, body = meaning, body[: -len(word)]
            break
    return op, body


def _deadline(text: str, year: int | None, error: type[IndicatorError], label: str) -> _dt.date | None:
    """A deadline or completion date written in words, or None when the text is not a date."""
    body = text
    for prefix in ("已于", "于"):
        if body.startswith(prefix) and len(body) > len(prefix):
            body = body[len(prefix):]
    for word in _DONE:
        if body.endswith(word) and len(body) > len(word):
            body = body[: -len(word)]
            break
    before = False
    for word in _BEFORE:
        if body.endswith(word) and len(body) > len(word):
            body, before = body[: -len(word)], True
            break
    try:
        if m := _ISO_DAY.match(body):
            return _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m := _ISO_MONTH.match(body):
            return _month_end(int(m.group(1)), int(m.group(2)))
        if m := _CN_DAY.match(body):
            return _dt.date(_year(m.group(1), year, text, error, label), int(m.group(2)), int(m.group(3)))
        if m := _CN_MONTH.match(body):
            if before and not m.group(3):
                raise error(
                    f"{label}{quote(text)}含义不明确（是该月之前还是该月底之前？），请写成如“11月底前”或“12月底前”"
                )
            return _month_end(_year(m.group(1), year, text, error, label), int(m.group(2)))
        if m := _CN_YEAR_END.match(body):
            return _dt.date(_year(m.group(1), year, text, error, label), 12, 31)
        if m := _CN_YEAR.match(body):
            return _dt.date(int(m.group(1)), 12, 31)
    except ValueError as exc:
        if isinstance(exc, IndicatorError):
            raise
        raise error(f"{label}{quote(text)}不是有效日期") from None
    return None


def _year(written: str | None, year: int | None, text: str, error: type[IndicatorError], label: str) -> int:
    if written:
        return int(written)
    if year is None:
        raise error(f"{label}{quote(text)}未写年份，且未提供评价年度，无法确定日期")
    return year


def _month_end(year: int, month: int) -> _dt.date:
    return _dt.date(year, month, calendar.monthrange(year, month)[1])


def _cell_problem(raw: object) -> str | None:
    error = as_excel_error(raw)
    if error is not None:
        return f"是错误值{error.code}，请先修正该单元格"
    if isinstance(raw, bool):
        return f"是逻辑值{'TRUE' if raw else 'FALSE'}，应填写指标值"
    if isinstance(raw, _dt.time):
        return "是时间，应填写指标值"
    return None


# ---- 完成值 --------------------------------------------------------------------------------

def parse_actual(raw: object, target: Target, *, year: int | None = None) -> Actual | None:
    """A 全年完成值 cell read against its 指标值 (None when blank); raises ActualError."""
    if is_blank(raw):
        return None
    bad = _cell_problem(raw)
    if bad:
        raise ActualError(f"全年完成值{bad}")
    if target.kind == NUMBER:
        return _amount(raw)
    if target.kind == DEADLINE:
        return _completion(raw, year)
    return _word(raw)


def _amount(raw: object) -> Actual:
    if isinstance(raw, (_dt.date, _dt.datetime)):
        raise ActualError("全年完成值是日期，而年度指标值是数值，应填写实际完成数")
    if not isinstance(raw, str):
        reading = read_number(raw)
        if reading.value is None or reading.value < 0:
            raise ActualError(f"全年完成值{quote(raw)}不是有效的数值")
        return Actual(AMOUNT, str(raw), quantity=Quantity(reading.value), from_cell=True)
    text = compact(raw)
    if text in MET_WORDS or text in NOT_MET_WORDS:
        raise ActualError(f"全年完成值{quote(raw)}不是数值；年度指标值是数值，应填写实际完成数")
    if any(text.startswith(word) for word, _ in _PREFIXES):
        raise ActualError(f"全年完成值{quote(raw)}应填写实际完成数，不带“≥”“≤”等比较符")
    try:
        quantity = U.parse_quantity(text)
    except UnitError as exc:
        raise ActualError(f"全年完成值{quote(raw)}无法识别为数值（{exc}）") from None
    return Actual(AMOUNT, text, quantity=quantity)


def _completion(raw: object, year: int | None) -> Actual:
    if isinstance(raw, (_dt.date, _dt.datetime)):
        day = raw.date() if isinstance(raw, _dt.datetime) else raw
        return Actual(DATE, fmt_date(day), day=day)
    if not isinstance(raw, str):
        raise ActualError(f"全年完成值{quote(raw)}是数字；年度指标值是时限，应填写完成日期或“已完成”“未完成”")
    text = compact(raw)
    if text in NOT_MET_WORDS:
        return Actual(NOT_MET, text)
    if text in MET_WORDS:
        return Actual(MET, text)
    day = _deadline(text, year, ActualError, "全年完成值")
    if day is None:
        raise ActualError(
            f"全年完成值{quote(raw)}无法识别：年度指标值是时限，应填写完成日期（如“2020年11月20日”）"
            f"或“已完成”“按时完成”“未完成”"
        )
    return Actual(DATE, text, day=day)


def _word(raw: object) -> Actual:
    text = compact(str(raw)) if isinstance(raw, str) else str(raw)
    if text in NOT_MET_WORDS:
        return Actual(NOT_MET, text)
    if text in MET_WORDS:
        return Actual(MET, text)
    raise ActualError(f"全年完成值{quote(raw)}无法识别：年度指标值为达标类，应填写如“达标”“合格”“完成”或“未达标”“不合格”“未完成”")


# ---- comparing ------------------------------------------------------------------------------

def direction_of(target: Target, level2: str = "") -> tuple[str, bool]:
    """(正向/反向, whether it was assumed rather than written)."""
    if target.op == AT_MOST:
        return NEGATIVE, False
    if target.op in (AT_LEAST, EQUAL):
        return POSITIVE, False
    if level2 == "成本":
        return NEGATIVE, True
    return POSITIVE, True


def compare(target: Target, actual: Actual, *, level2: str = "") -> Comparison:
    if target.kind == NUMBER:
        return _compare_amounts(target, actual, level2)
    if target.kind == DEADLINE:
        deadline = fmt_date(target.deadline)
        if actual.kind == MET:
            return Comparison(Fraction(1), True, f"完成值“{actual.text}”，视为在时限{deadline}前完成")
        if actual.kind == NOT_MET:
            return Comparison(Fraction(0), False, f"完成值“{actual.text}”，未在时限{deadline}前完成")
        done = fmt_date(actual.day)
        if actual.day <= target.deadline:
            return Comparison(Fraction(1), True, f"完成时间{done}，未晚于指标值{deadline}")
        return Comparison(Fraction(0), False, f"完成时间{done}，晚于指标值{deadline}，未按时完成")
    if actual.kind == MET:
        return Comparison(Fraction(1), True, f"指标值“{target.text}”，完成值“{actual.text}”，已达成")
    return Comparison(Fraction(0), False, f"指标值“{target.text}”，完成值“{actual.text}”，未达成")


def _compare_amounts(target: Target, actual: Actual, level2: str) -> Comparison:
    t, a, unit = _common_unit(target, actual)
    direction, assumed = direction_of(target, level2)
    shown_t = _shown(target.quantity, t, unit)
    shown_a = _shown(actual.quantity, a, unit)
    note = ""
    if direction == NEGATIVE:
        note = "（成本指标未写比较符，按“≤”反向计）" if assumed else "（反向指标，越低越好）"
    scale = target.quantity.scale if target.quantity.unit == unit else ""
    common = dict(direction=direction, unit=unit, target_value=t, actual_value=a, scale=scale)
    if t == 0:
        # "0起" (no accidents) is a ceiling; only an explicit "≥0" is a floor every value meets.
        met = a >= 0 if target.op == AT_LEAST else a == 0
        verb = "达到" if met else "超过"
        return Comparison(Fraction(int(met)), met, f"指标值为{shown_t}，完成值{shown_a}，{verb}指标值", **common)
    if direction == POSITIVE:
        ratio = a / t
        return Comparison(ratio, ratio >= 1, f"完成值{shown_a}/指标值{shown_t}={fmt_pct(ratio)}", **common)
    if a == 0:
        return Comparison(Fraction(1), True, f"完成值为{shown_a}，未超过指标值{shown_t}{note}", **common)
    ratio = t / a
    return Comparison(ratio, ratio >= 1, f"指标值{shown_t}/完成值{shown_a}={fmt_pct(ratio)}{note}", **common)


def _shown(quantity: Quantity, value: Fraction, unit: str) -> str:
    """As typed when no conversion happened ("1008万吨"), else with the converted figure."""
    converted = U.fmt_quantity(value, unit)
    if not quantity.written:
        return converted
    if quantity.unit == unit:
        return quantity.written
    if quantity.unit == "":
        return quantity.written + unit
    return f"{quantity.written}（即{converted}）"


def _common_unit(target: Target, actual: Actual) -> tuple[Fraction, Fraction, str]:
    """Both values in one unit, or an error naming the mismatch."""
    tq, aq = target.quantity, actual.quantity
    tu, au = tq.unit, aq.unit
    if tu == au:
        return tq.value, aq.value, tu
    if U.convertible(tu, au):
        return tq.value, U.convert(aq.value, au, tu), tu
    if PERCENT in (tu, au) and "" in (tu, au):
        # Excel keeps a cell typed as 96% as 0.96, so a number cell is read as a fraction; a bare
        # "96" typed as text could mean 96% or 9600% and is sent back.
        bare_is_target = tu == ""
        bare = target if bare_is_target else actual
        error = TargetError if bare_is_target else ActualError
        label = "年度指标值" if bare_is_target else "全年完成值"
        other = "全年完成值" if bare_is_target else "年度指标值"
        value = bare.quantity.value
        typed = U.fmt_quantity(value, "")
        if not bare.from_cell:
            raise error(f"{label}{quote(bare.text)}未写“%”，而{other}是百分数；请写成如“{typed}%”")
        if value > PLAUSIBLE_FRACTION:
            raise error(f"{label}为{typed}，按百分数单元格理解为{fmt_pct(value)}，明显不合理；请写成如“{typed}%”")
        return tq.value, aq.value, PERCENT
    if tu == "":
        return tq.value, aq.value, au
    if au == "":
        return tq.value, aq.value, tu
    raise ActualError(
        f"全年完成值{quote(actual.text)}的单位“{au}”与年度指标值{quote(target.text)}的单位“{tu}”不一致，无法比较"
    )
