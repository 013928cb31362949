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

# 规则选项: named options of a rule, written in a framework's 规则选项 column
ALLOW_NEGATIVE = "允许负值"  # the 计算值 and the 基准值 may be below zero (a budget cut)
NEGATIVE_AS_ZERO = "负值按0"  # a negative 计算值 counts as 0%; the parenthesis says why (调减)
EMPTY_FULL_MARKS = "全空按满分"  # all inputs blank or 0: full marks; the parenthesis says what that means
OPTIONS = (ALLOW_NEGATIVE, NEGATIVE_AS_ZERO, EMPTY_FULL_MARKS)


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
