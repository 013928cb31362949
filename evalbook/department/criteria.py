"""评价标准 from a rule: the sentence the 评分表 prints when a 评分规则 row no longer says what the
framework's own wording says (an accountant changed 分值, 步长 or 分档).  The default rule keeps
the framework's wording, which is what the published table says."""

from __future__ import annotations

from evalbook.core.numbers import fmt_points, fmt_score, fmt_threshold
from evalbook.department import methods as M
from evalbook.department.framework import Framework, Indicator
from evalbook.department.rule import PRO_RATA, ROUND_UP, Rule

_PART_STEP = {ROUND_UP: "，不足一步按一步计", PRO_RATA: "，不足一步按比例计"}


def _same_rule(a: Rule, b: Rule) -> bool:
    fields = ("weight", "method", "base", "step", "per_step", "policy", "bands", "grades")
    return all(getattr(a, f) == getattr(b, f) for f in fields)


def criteria(framework: Framework, ind: Indicator, rule: Rule | None, default: Rule | None) -> str:
    """The 评价标准 to print: the framework's wording while `rule` is the default, else written
    from `rule` (an unreadable rule keeps the wording: 校验结果 says what is wrong with it)."""
    if rule is None or default is None or _same_rule(rule, default):
        return ind.criteria
    return describe(framework, ind, rule)


def describe(framework: Framework, ind: Indicator, rule: Rule) -> str:
    w = fmt_score(rule.weight)
    name = ind.title
    if rule.method in M.STEP_METHODS:
        step = f"{fmt_points(rule.step)}个百分点"
        tail = f"{_PART_STEP.get(rule.policy, '')}，扣完为止。"
        base = fmt_threshold(rule.base)
        if rule.method == M.OVER:
            return f"{name}≤{base}，计{w}分；每超过{step}扣{fmt_score(rule.per_step)}分{tail}"
        if rule.method == M.UNDER:
            return f"{name}≥{base}，计{w}分；每低于{step}扣{fmt_score(rule.per_step)}分{tail}"
        return f"{name}等于{base}，计{w}分；每偏离{step}扣{fmt_score(rule.per_step)}分{tail}"
    if rule.method == M.BANDS:
        bands = "；".join(f"{band.label}，计{fmt_score(min(band.points, rule.weight))}分" for band in rule.bands)
        return f"{name}：{bands}。"
    if rule.method == M.CHECKS:
        return f"共{len(ind.inputs)}项，每项为“是”计{fmt_score(rule.per_step)}分，最高{w}分。"
    if rule.method == M.COUNTED:
        noun = framework.inputs[ind.inputs[0]].spoken
        return f"无{noun}计{w}分；每发生1例扣{fmt_score(rule.per_step)}分，扣完为止。"
    if rule.method == M.PROPORTIONAL:
        return f"按{ind.formula_text}×{w}分计分。"
    if rule.method == M.GRADED:
        grades = "、".join(f"“{word}”计{fmt_score(min(points, rule.weight))}分" for word, points in rule.grades)
        return f"评定为{grades}。"
    return f"按部门自评材料录入得分，最高{w}分。"
