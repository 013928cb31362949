"""The defined names each indicator K has in every template (the names contract, per indicator)."""

from __future__ import annotations


def weight_name(key: str) -> str:
    return f"分值_{key}"


def value_name(key: str) -> str:
    return f"计算值_{key}"


def score_name(key: str) -> str:
    return f"得分_{key}"


def note_name(key: str) -> str:
    return f"扣分说明_{key}"


def self_score_name(key: str) -> str:
    return f"自评_{key}"


def criteria_name(key: str) -> str:
    """The 评价标准 cell: rewritten from the rule when the 评分规则 row differs from the default."""
    return f"评价标准_{key}"
