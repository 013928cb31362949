"""审核规则: the relations a framework says the basic data must keep (三公经费 = its parts, …)."""

from __future__ import annotations

from fractions import Fraction

from evalbook.core import expressions as E
from evalbook.core.numbers import fmt_money, fmt_score
from evalbook.department import basic_data as B
from evalbook.department.framework import AuditRule
from evalbook.department.inputs import Inputs

_HOLDS = {
    "=": lambda gap, tol: abs(gap) <= tol,
    "<=": lambda gap, tol: gap <= tol,
    ">=": lambda gap, tol: gap >= -tol,
    "<": lambda gap, tol: gap < tol,
    ">": lambda gap, tol: gap > -tol,
}
_SAID = {"=": "等于", "<=": "不大于", ">=": "不小于", "<": "小于", ">": "大于"}


def check_audits(inputs: Inputs) -> None:
    for rule in inputs.framework.audits:
        _check(inputs, rule)


def _side(inputs: Inputs, node: E.Node) -> Fraction | None:
    """A side's value, blanks counted as 0; None when every name on it is blank (nothing to check)."""
    names = E.names(node)
    if any(n in inputs.bad for n in names) or (names and all(inputs.value(n) is None for n in names)):
        return None
    try:
        return E.evaluate(node, {n: inputs.value(n) or Fraction(0) for n in names})
    except E.DivisionByZero:
        return None


def _check(inputs: Inputs, rule: AuditRule) -> None:
    left, right = _side(inputs, rule.left), _side(inputs, rule.right)
    if left is None or right is None or _HOLDS[rule.relation](left - right, rule.tolerance):
        return
    names = E.names(rule.left) + E.names(rule.right)
    money = all(inputs.framework.inputs[n].kind == B.MONEY for n in names)
    fmt = fmt_money if money else fmt_score
    first = E.names(rule.left)[0] if E.names(rule.left) else names[0]
    subject = inputs.where(first) if E.single_name(rule.left) else f"{E.as_text(rule.left)}（{inputs.where(first)}）"
    other = E.as_text(rule.right)
    total = "合计" if isinstance(rule.right, E.Binary) and rule.right.op == "+" else ""
    if rule.relation == "=":
        message = (f"{subject}为{fmt(left)}，但{other}{total}为{fmt(right)}，相差{fmt(left - right)}"
                   f"{'万元' if money else ''}")
    else:
        message = f"{subject}为{fmt(left)}，应{_SAID[rule.relation]}{other}（{fmt(right)}）"
    if rule.note:
        message += f"；{rule.note}"
    inputs.report(rule.severity, first, message)
