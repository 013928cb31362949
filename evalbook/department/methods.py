"""计分方法: a rule applied to a measured 计算值, with the sentence that explains it.

The nine methods by their names on the 评分规则 sheet, and `score`, the one dispatcher: the
engine (from the basic data) and the UDFs (from a typed 计算值) both come through it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from evalbook.core.numbers import fmt_pct, fmt_points, fmt_score, fmt_threshold
from evalbook.department.rule import PRO_RATA, ROUND_UP, WHOLE_STEPS, Rule

OVER = "超限扣分"
UNDER = "低于目标扣分"
DEVIATION = "偏离扣分"
BANDS = "分档计分"
CHECKS = "清单计分"
COUNTED = "计数扣分"
PROPORTIONAL = "比例折算"
GRADED = "等级计分"
TYPED = "录入得分"
STEP_METHODS = (OVER, UNDER, DEVIATION)



@dataclass(frozen=True)
class Measurement:
    """What an indicator measured, ready for its method.

    value: the exact 计算值 (a rate, a share, a typed score, a count); display: what the 计算值 cell
    shows; lead: the 扣分说明 up to the method's part ("公用经费控制率=154.98/124.40=124.58%").
    """

    value: Fraction | None
    display: object
    lead: str = ""
    answers: tuple[int, ...] | None = None  # 清单计分: 1/0 per item, when the items are known
    items: int = 0  # 清单计分: how many items
    parts: tuple[str, Fraction, str, Fraction] | None = None  # 比例折算: (label, a, label, b) of a/b
    word: str | None = None  # 等级计分
    noun: str = ""  # 计数扣分: what is counted (违规事项)
    full_marks: bool = False  # a rule option decided it ("没有楼堂馆所项目")


@dataclass(frozen=True)
class Scored:
    score: Fraction
    text: str  # the whole 扣分说明


class NotScorable(Exception):
    """The value does not fit the rule (e.g. falls in no band); the message says why."""


def clamp(score: Fraction, weight: Fraction) -> Fraction:
    return max(Fraction(0), min(weight, score))


def _steps(amount: Fraction, step: Fraction, policy: str) -> Fraction:
    exact = amount / step
    if policy == PRO_RATA:
        return exact
    if policy == ROUND_UP:
        return Fraction(math.ceil(exact))
    return Fraction(math.floor(exact))


def _deduct(rule: Rule, amount: Fraction, verb: str) -> tuple[Fraction, str]:
    steps = _steps(amount, rule.step, rule.policy)
    deduction = steps * rule.per_step
    score = clamp(rule.weight - deduction, rule.weight)
    step_text = f"{fmt_points(rule.step)}个百分点"
    text = f"按每{verb}{step_text}扣{fmt_score(rule.per_step)}分"
    remainder = amount - Fraction(math.floor(amount / rule.step)) * rule.step
    if remainder and rule.policy == WHOLE_STEPS:
        text += f"（不足{step_text}的部分不扣）"
    elif remainder and rule.policy == ROUND_UP:
        text += f"（不足{step_text}按{step_text}计）"
    elif rule.policy == PRO_RATA:
        text += "（按比例计算）"
    text += f"扣{fmt_score(deduction)}分"
    if deduction >= rule.weight:
        text += "，扣完为止"
    return score, f"{text}，得{fmt_score(score)}分"


def score_over(rule: Rule, value: Fraction) -> tuple[Fraction, str]:
    excess = value - rule.base
    if excess <= 0:
        return rule.weight, f"，未超过{fmt_threshold(rule.base)}，得满分{fmt_score(rule.weight)}分"
    lead = f"超出{fmt_points(excess)}个百分点" if rule.base == 1 else \
        f"高于{fmt_threshold(rule.base)}达{fmt_points(excess)}个百分点"
    score, text = _deduct(rule, excess, "超")
    return score, f"，{lead}，{text}"


def score_under(rule: Rule, value: Fraction) -> tuple[Fraction, str]:
    shortfall = rule.base - value
    if shortfall <= 0:
        return rule.weight, f"，达到{fmt_threshold(rule.base)}，得满分{fmt_score(rule.weight)}分"
    score, text = _deduct(rule, shortfall, "低")
    return score, f"，低于{fmt_threshold(rule.base)}达{fmt_points(shortfall)}个百分点，{text}"


def score_deviation(rule: Rule, value: Fraction) -> tuple[Fraction, str]:
    gap = abs(value - rule.base)
    if gap == 0:
        return rule.weight, f"，等于{fmt_threshold(rule.base)}，得满分{fmt_score(rule.weight)}分"
    direction = "超过" if value > rule.base else "低于"
    score, text = _deduct(rule, gap, "偏离")
    return score, f"，{direction}{fmt_threshold(rule.base)}达{fmt_points(gap)}个百分点，{text}"


def score_bands(rule: Rule, value: Fraction) -> tuple[Fraction, str]:
    for band in rule.bands:
        if band.contains(value):
            score = clamp(band.points, rule.weight)
            text = f"，属于“{band.label}”档，得{fmt_score(score)}分"
            if band.points > rule.weight:
                text += f"（该档{fmt_score(band.points)}分超过分值，按分值计）"
            return score, text
    raise NotScorable(f"计算值{fmt_pct(value)}不在评分规则的任何分档内，请补全分档")


_RATE_METHODS = {OVER: score_over, UNDER: score_under, DEVIATION: score_deviation, BANDS: score_bands}


def _rate(rule: Rule, m: Measurement) -> Scored:
    score, text = _RATE_METHODS[rule.method](rule, m.value)
    return Scored(score, m.lead + text)


def _checklist(rule: Rule, m: Measurement) -> Scored:
    yes = sum(m.answers) if m.answers is not None else int(m.value * m.items)
    score = clamp(rule.per_step * yes, rule.weight)
    text = f"{m.items}项中{yes}项为“是”，每项{fmt_score(rule.per_step)}分"
    missing = [f"第{i + 1}项" for i, a in enumerate(m.answers or ()) if not a]
    if missing:
        text += f"（{'、'.join(missing)}为“否”）"
    return Scored(score, f"{text}，得{fmt_score(score)}分")


def _count(rule: Rule, m: Measurement) -> Scored:
    count = int(m.value)
    noun = m.noun
    if count == 0:
        return Scored(rule.weight, f"无{noun}，得满分{fmt_score(rule.weight)}分")
    deduction = rule.per_step * count
    score = clamp(rule.weight - deduction, rule.weight)
    text = f"{noun}{count}例，每例扣{fmt_score(rule.per_step)}分，扣{fmt_score(deduction)}分"
    if deduction >= rule.weight:
        text += "，扣完为止"
    return Scored(score, f"{text}，得{fmt_score(score)}分")


def _proportion(rule: Rule, m: Measurement) -> Scored:
    score = clamp(m.value * rule.weight, rule.weight)
    if m.parts is not None:
        top_label, top, bottom_label, bottom = m.parts
        lead = f"{top_label}{fmt_score(top)}/{bottom_label}{fmt_score(bottom)}"
    else:
        lead = f"得分率{fmt_pct(m.value)}"
    return Scored(score, f"{lead}×{fmt_score(rule.weight)}={fmt_score(score)}分")


def _grade(rule: Rule, m: Measurement) -> Scored:
    for word, points in rule.grades:
        if word == m.word:
            score = clamp(points, rule.weight)
            return Scored(score, f"评定为“{m.word}”，得{fmt_score(score)}分")
    raise NotScorable(f"等级“{m.word}”不在评分规则的等级中（{'、'.join(w for w, _ in rule.grades)}）")


def _entered(rule: Rule, m: Measurement) -> Scored:
    return Scored(m.value, f"按部门自评材料录入得分{fmt_score(m.value)}分（分值{fmt_score(rule.weight)}分）")


_METHODS = {
    OVER: _rate, UNDER: _rate, DEVIATION: _rate, BANDS: _rate,
    CHECKS: _checklist, COUNTED: _count, PROPORTIONAL: _proportion, GRADED: _grade, TYPED: _entered,
}


def score(rule: Rule, m: Measurement) -> Scored:
    """The one scoring step: the rule's method applied to what was measured."""
    if m.full_marks:
        return Scored(rule.weight, f"{m.lead}，按满分计{fmt_score(rule.weight)}分")
    return _METHODS[rule.method](rule, m)
