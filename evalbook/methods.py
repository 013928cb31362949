"""Scoring methods: a rule applied to an exact 计算值, with the sentence that explains it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from . import rules as R
from .numbers import fmt_pct, fmt_points, fmt_score, fmt_threshold


@dataclass(frozen=True)
class Scored:
    score: Fraction
    text: str  # the part of 扣分说明 after the 计算值


class NotScorable(Exception):
    """The value does not fit the rule (e.g. falls in no band); the message says why."""


def clamp(score: Fraction, weight: Fraction) -> Fraction:
    return max(Fraction(0), min(weight, score))


def _steps(amount: Fraction, step: Fraction, policy: str) -> Fraction:
    exact = amount / step
    if policy == R.PRO_RATA:
        return exact
    if policy == R.ROUND_UP:
        return Fraction(math.ceil(exact))
    return Fraction(math.floor(exact))


def _deduct(rule: R.Rule, amount: Fraction, verb: str) -> Scored:
    steps = _steps(amount, rule.step, rule.policy)
    deduction = steps * rule.per_step
    score = clamp(rule.weight - deduction, rule.weight)
    step_text = f"{fmt_points(rule.step)}个百分点"
    text = f"按每{verb}{step_text}扣{fmt_score(rule.per_step)}分"
    remainder = amount - Fraction(math.floor(amount / rule.step)) * rule.step
    if remainder and rule.policy == R.WHOLE_STEPS:
        text += f"（不足{step_text}的部分不扣）"
    elif remainder and rule.policy == R.ROUND_UP:
        text += f"（不足{step_text}按{step_text}计）"
    elif rule.policy == R.PRO_RATA:
        text += "（按比例计算）"
    text += f"扣{fmt_score(deduction)}分"
    if deduction >= rule.weight:
        text += "，扣完为止"
    return Scored(score, f"{text}，得{fmt_score(score)}分")


def score_over(rule: R.Rule, value: Fraction) -> Scored:
    excess = value - rule.base
    if excess <= 0:
        return Scored(rule.weight, f"，未超过{fmt_threshold(rule.base)}，得满分{fmt_score(rule.weight)}分")
    lead = f"超出{fmt_points(excess)}个百分点" if rule.base == 1 else \
        f"高于{fmt_threshold(rule.base)}达{fmt_points(excess)}个百分点"
    scored = _deduct(rule, excess, "超")
    return Scored(scored.score, f"，{lead}，{scored.text}")


def score_under(rule: R.Rule, value: Fraction) -> Scored:
    shortfall = rule.base - value
    if shortfall <= 0:
        return Scored(rule.weight, f"，达到{fmt_threshold(rule.base)}，得满分{fmt_score(rule.weight)}分")
    scored = _deduct(rule, shortfall, "低")
    return Scored(scored.score, f"，低于{fmt_threshold(rule.base)}达{fmt_points(shortfall)}个百分点，{scored.text}")


def score_deviation(rule: R.Rule, value: Fraction) -> Scored:
    gap = abs(value - rule.base)
    if gap == 0:
        return Scored(rule.weight, f"，等于{fmt_threshold(rule.base)}，得满分{fmt_score(rule.weight)}分")
    direction = "超过" if value > rule.base else "低于"
    scored = _deduct(rule, gap, "偏离")
    return Scored(scored.score, f"，{direction}{fmt_threshold(rule.base)}达{fmt_points(gap)}个百分点，{scored.text}")


def score_bands(rule: R.Rule, value: Fraction) -> Scored:
    for band in rule.bands:
        if band.contains(value):
            score = clamp(band.points, rule.weight)
            text = f"，属于“{band.label}”档，得{fmt_score(score)}分"
            if band.points > rule.weight:
                text += f"（该档{fmt_score(band.points)}分超过分值，按分值计）"
            return Scored(score, text)
    raise NotScorable(f"计算值{fmt_pct(value)}不在评分规则的任何分档内，请补全分档")


def score_grade(rule: R.Rule, grade: str) -> Scored:
    for word, points in rule.grades:
        if word == grade:
            score = clamp(points, rule.weight)
            return Scored(score, f"评定为“{grade}”，得{fmt_score(score)}分")
    raise NotScorable(f"等级“{grade}”不在评分规则的等级中（{'、'.join(w for w, _ in rule.grades)}）")


def score_checklist(rule: R.Rule, answers: list[int]) -> Scored:
    yes = sum(answers)
    score = clamp(rule.per_step * yes, rule.weight)
    missing = [f"第{i + 1}项" for i, a in enumerate(answers) if not a]
    text = f"{len(answers)}项中{yes}项为“是”，每项{fmt_score(rule.per_step)}分"
    if missing:
        text += f"（{'、'.join(missing)}为“否”）"
    return Scored(score, f"{text}，得{fmt_score(score)}分")


def score_count(rule: R.Rule, count: int) -> Scored:
    if count == 0:
        return Scored(rule.weight, f"无违规事项，得满分{fmt_score(rule.weight)}分")
    deduction = rule.per_step * count
    score = clamp(rule.weight - deduction, rule.weight)
    text = f"违规事项{count}例，每例扣{fmt_score(rule.per_step)}分，扣{fmt_score(deduction)}分"
    if deduction >= rule.weight:
        text += "，扣完为止"
    return Scored(score, f"{text}，得{fmt_score(score)}分")


def score_proportion(rule: R.Rule, got: Fraction, total: Fraction) -> Scored:
    score = clamp(got / total * rule.weight, rule.weight)
    return Scored(
        score,
        f"考核得分{fmt_score(got)}/考核总分{fmt_score(total)}×{fmt_score(rule.weight)}={fmt_score(score)}分",
    )


def score_entered(rule: R.Rule, value: Fraction) -> Scored:
    return Scored(value, f"按部门自评材料录入得分{fmt_score(value)}分（分值{fmt_score(rule.weight)}分）")


RATE_METHODS = {
    R.OVER: score_over,
    R.UNDER: score_under,
    R.DEVIATION: score_deviation,
    R.BANDS: score_bands,
}


def score_value(rule: R.Rule, value: Fraction) -> Scored:
    """Rate-like indicators: the method named by the rule."""
    return RATE_METHODS[rule.method](rule, value)
