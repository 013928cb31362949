"""A rule as read: what one 评分规则 row says, ready for its method."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from evalbook.core.intervals import Interval

# How a partial step counts (不足一步).
WHOLE_STEPS = "整步"
ROUND_UP = "不足一步按一步"
PRO_RATA = "按比例"
STEP_POLICIES = (WHOLE_STEPS, ROUND_UP, PRO_RATA)


@dataclass(frozen=True)
class Band(Interval):
    low: Fraction | None
    low_closed: bool
    high: Fraction | None
    high_closed: bool
    points: Fraction
    label: str


@dataclass(frozen=True)
class Rule:
    key: str
    weight: Fraction
    method: str
    base: Fraction | None = None
    step: Fraction | None = None
    per_step: Fraction | None = None
    policy: str = WHOLE_STEPS
    bands: tuple[Band, ...] = ()
    grades: tuple[tuple[str, Fraction], ...] = ()
    note: str = ""
    row: int = 0  # sheet row, for messages
