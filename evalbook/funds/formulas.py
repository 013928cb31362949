"""The pure functions behind the worksheet functions EXEC_RATE and INDICATOR_RATIO.

They go through the same readers as the scoring engine, so a cell formula and the 得分 written by
the engine cannot disagree.  Problems raise `FormulaError` (a ValueError) with a Chinese message;
the UDF wrapper decides how to show it in the cell.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from evalbook.core.numbers import read_number
from .assess import assess
from .qualitative import Tier
from .targets import IndicatorError


class FormulaError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def exec_rate(b: object, a: object) -> Fraction:
    """执行率 = 全年执行数B / 全年预算数A, not capped (the score caps it, the 执行率 column does not).

    b, a: cell values as read (numbers, or text such as "1,080.00" / "1080万元").
    """
    values = []
    for raw, label in ((b, "全年执行数"), (a, "全年预算数")):
        reading = read_number(raw)
        if reading.problem:
            raise FormulaError(f"{label}{reading.problem}")
        if reading.value is None:
            raise FormulaError(f"{label}未填写")
        if reading.value < 0:
            raise FormulaError(f"{label}不能为负数")
        values.append(reading.value)
    spent, budget = values
    if budget == 0:
        raise FormulaError("全年预算数为0，无法计算执行率")
    return spent / budget


def indicator_ratio(
    target: object,
    actual: object,
    tier: object = None,
    *,
    year: int | None = None,
    level2: str = "",
    tiers: Sequence[Tier] | None = None,
    capped: bool = False,
) -> Fraction:
    """完成率 of one indicator: 完成值/指标值 (正向), 指标值/完成值 (反向), 1 or 0 for deadlines and
    达标 words, the 完成比例 for a qualitative row (tier given, or named in the 完成值).

    Not capped unless capped=True (scoring counts at most 100%).  year: the 评价年度 for deadlines
    written without a year; level2: the row's 二级指标 (a 成本指标 without ≤/≥ is a ceiling);
    tiers: the 定性档次 intervals from the 评分规则 sheet, defaults if None.
    """
    try:
        outcome = assess(target, actual, tier, year=year, level2=level2, tiers=tiers)
    except IndicatorError as exc:
        raise FormulaError(exc.message) from None
    return min(outcome.ratio, Fraction(1)) if capped else outcome.ratio
