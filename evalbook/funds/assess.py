"""One indicator row's 指标值, 完成值 and 定性档次 → how far the target was reached.

The one place that decides whether a row is qualitative or quantitative, so the scoring engine
and the INDICATOR_RATIO function cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from . import qualitative as Q
from . import targets as T
from .rules import default_fund_rules
from .units import PERCENT, fmt_quantity


@dataclass(frozen=True)
class Outcome:
    kind: str  # 定量 / 时限 / 达标 / 定性
    ratio: Fraction  # 完成率, not capped; for 定性 the 完成比例
    met: bool  # target reached (定性: the first tier)
    text: str  # the explanation up to the score: "完成值3842米/指标值3000米=128.07%"
    comparison: T.Comparison | None = None  # 定量/时限/达标
    tier: int | None = None  # 定性: index into qualitative.TIER_KEYS


def assess(
    target_raw: object,
    actual_raw: object,
    tier_raw: object = None,
    *,
    year: int | None = None,
    level2: str = "",
    tiers: Sequence[Q.Tier] | None = None,
) -> Outcome:
    """Both 指标值 and 完成值 must be filled; raises targets.IndicatorError naming the column."""
    if Q.is_qualitative(tier_raw, actual_raw):
        if tiers is None:
            tiers = default_fund_rules().tiers
        tier, share = Q.read_tier_and_share(tier_raw, actual_raw)
        Q.check_share(tiers[tier], share)
        text = f"评定为“{Q.TIER_KEYS[tier]}”，完成比例{fmt_quantity(share, PERCENT)}"
        return Outcome(Q.QUALITATIVE, share, tier == 0, text, tier=tier)
    target = T.parse_target(target_raw, year=year)
    if target is None:
        raise T.TargetError("未填写年度指标值")
    actual = T.parse_actual(actual_raw, target, year=year)
    if actual is None:
        raise T.ActualError("未填写全年完成值")
    comparison = T.compare(target, actual, level2=level2)
    return Outcome(target.kind, comparison.ratio, comparison.met, comparison.text, comparison)
