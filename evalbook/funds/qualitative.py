"""Qualitative indicators: the seed's three tiers, entered as a tier plus a 完成比例 in it.

Note 3 of the seed form: 全部或基本达成预期指标 100%—80%（含）, 部分达成预期指标并具有一定效果
80%—60%（含）, 未达成预期指标且效果较差 60%—0%.  "（含）" belongs to the lower figure it follows,
so 80% is in the first tier and 60% in the second.  The intervals themselves are rule rows
(`funds.rules`), so a finance bureau with other bands can change them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from evalbook.core.numbers import fmt_pct, fmt_score, quote, read_number
from .targets import ActualError, IndicatorError, compact, is_blank

TIER_KEYS = ("全部或基本达成预期指标", "部分达成预期指标并具有一定效果", "未达成预期指标且效果较差")
TIER_SHORT = ("全部或基本达成", "部分达成", "未达成")
QUALITATIVE = "定性"

_PERCENT_IN_TEXT = re.compile(r"(\d+(?:\.\d+)?)%")


class TierError(IndicatorError):
    field = "定性档次"


@dataclass(frozen=True)
class Tier:
    key: str
    low: Fraction
    low_closed: bool
    high: Fraction
    high_closed: bool

    def contains(self, value: Fraction) -> bool:
        above = value > self.low or (self.low_closed and value == self.low)
        below = value < self.high or (self.high_closed and value == self.high)
        return above and below

    def describe(self) -> str:
        """'80%（含）—100%（含）'."""
        low = fmt_pct(self.low).replace(".00%", "%") + ("（含）" if self.low_closed else "（不含）")
        high = fmt_pct(self.high).replace(".00%", "%") + ("（含）" if self.high_closed else "（不含）")
        return f"{low}—{high}"


def tier_in(raw: object) -> int | None:
    """Which tier a text names (0, 1, 2), or None.  '未达成' is tested before '达成'."""
    if is_blank(raw) or not isinstance(raw, str):
        return None
    text = compact(raw)
    if "未达成" in text or "未达到" in text or text in ("三档", "第三档"):
        return 2
    if "部分达成" in text or "部分达到" in text or text in ("二档", "第二档"):
        return 1
    if any(w in text for w in ("全部或基本达成", "全部达成", "基本达成", "全部达到", "基本达到")) or \
            text in ("一档", "第一档"):
        return 0
    return None


def is_qualitative(tier_raw: object, actual_raw: object) -> bool:
    """A row is qualitative when a tier is chosen, or its 完成值 names one ("基本达成，90%")."""
    return not is_blank(tier_raw) or tier_in(actual_raw) is not None


def read_tier_and_share(tier_raw: object, actual_raw: object) -> tuple[int, Fraction]:
    """(tier index, 完成比例) from the 定性档次 cell and the 完成值; raises IndicatorError."""
    chosen = None
    if not is_blank(tier_raw):
        chosen = tier_in(tier_raw)
        if chosen is None:
            raise TierError(f"定性档次{quote(tier_raw)}应为{'、'.join(TIER_KEYS)}之一")
    named = tier_in(actual_raw)
    if chosen is not None and named is not None and chosen != named:
        raise ActualError(
            f"全年完成值{quote(actual_raw)}写的是“{TIER_SHORT[named]}”，与定性档次“{TIER_KEYS[chosen]}”不一致"
        )
    tier = chosen if chosen is not None else named
    share = _share(actual_raw)
    if share is None:
        raise ActualError(f"定性指标已选“{TIER_KEYS[tier]}”，请在全年完成值中填写完成比例（如“90%”）")
    return tier, share


def _share(raw: object) -> Fraction | None:
    if is_blank(raw):
        return None
    if not isinstance(raw, str):
        reading = read_number(raw)
        if reading.problem or reading.value is None:
            raise ActualError(f"全年完成值{reading.problem or '无法识别'}")
        if reading.value > 1:
            # Excel keeps 90% as 0.9; a 90 here was typed without the percent sign.
            typed = fmt_score(reading.value)
            raise ActualError(f"完成比例{typed}超过100%；如为百分数请写成如“{typed}%”")
        if reading.value < 0:
            raise ActualError(f"完成比例{quote(raw)}不能为负数")
        return reading.value
    found = _PERCENT_IN_TEXT.findall(compact(raw))
    if len(found) > 1:
        raise ActualError(f"全年完成值{quote(raw)}中有多个百分数，请只填写一个完成比例")
    if not found:
        if tier_in(raw) is not None:
            return None
        raise ActualError(f"全年完成值{quote(raw)}应为完成比例，写成百分数如“90%”")
    reading = read_number(found[0] + "%")
    return reading.value


def check_share(tier: Tier, share: Fraction) -> None:
    if not tier.contains(share):
        raise ActualError(f"完成比例{fmt_pct(share)}不在“{tier.key}”档的{tier.describe()}范围内")
