"""Checks on the basic data that do not belong to any one indicator."""

from __future__ import annotations

from fractions import Fraction

from evalbook.core.findings import ERROR, HINT
from evalbook.core.numbers import fmt_money, fmt_pct, fmt_score
from evalbook.department import basic_data as B
from evalbook.department.audit import check_audits
from evalbook.department.inputs import Inputs

TOLERANCE = Fraction(1, 100)  # 万元: a sum may differ by at most one cent of 万元
PLAUSIBLE_RATE = Fraction(3)  # above 300% a rate is more likely a typo than a fact
SIGNED_KINDS = (B.MONEY, B.HEADCOUNT_KIND, B.NUMBER, B.PERCENT, B.COUNT, B.TYPED)


def check_basic_data(inputs: Inputs) -> None:
    _check_signs(inputs)
    _check_whole(inputs)
    check_audits(inputs)
    _check_project_detail(inputs)
    _check_balance(inputs)


def _numbers(inputs: Inputs, kinds) -> list[str]:
    return [item.name for item in inputs.framework.inputs.values() if item.kind in kinds]


def _check_signs(inputs: Inputs) -> None:
    for name in _numbers(inputs, SIGNED_KINDS):
        value = inputs.value(name)
        if value is not None and value < 0 and name not in B.MAY_BE_NEGATIVE:
            inputs.report(ERROR, name, f"{inputs.where(name)}为负数{fmt_money(value)}，应填写不小于0的数")


def _check_whole(inputs: Inputs) -> None:
    for name in _numbers(inputs, B.WHOLE_KINDS):
        value = inputs.value(name)
        if value is not None and value.denominator != 1:
            unit = "人数" if inputs.framework.inputs[name].kind == B.HEADCOUNT_KIND else "例数"
            inputs.report(ERROR, name, f"{inputs.where(name)}为{fmt_score(value)}，{unit}应为整数")


def _check_project_detail(inputs: Inputs) -> None:
    """项目支出 detail rows are optional; when filled they should add up (advisory)."""
    for period in B.PERIODS:
        total_name = f"项目支出_{period}"
        stated = inputs.value(total_name)
        values = [inputs.value(f"{p}_{period}") for p in B.PROJECT_DETAIL_ITEMS]
        if stated is None or all(v is None for v in values):
            continue
        computed = sum((v for v in values if v is not None), Fraction(0))
        if abs(stated - computed) > TOLERANCE:
            inputs.report(
                HINT, total_name,
                f"{inputs.where(total_name)}为{fmt_money(stated)}，分项（业务工作专项+运行维护专项+省市级专项资金）"
                f"合计为{fmt_money(computed)}，请核对",
            )


def _check_balance(inputs: Inputs) -> None:
    parts = [inputs.value(n) for n in ("上年结转", "年初预算", "本年追加预算")]
    balance = inputs.value("年末结余")
    if balance is None or any(p is None for p in parts):
        return
    available = sum(parts, Fraction(0))
    if balance > available:
        inputs.report(
            HINT, "年末结余",
            f"{inputs.where('年末结余')}为{fmt_money(balance)}，超过可用资金（上年结转+年初预算+本年追加预算）"
            f"{fmt_money(available)}，请核对",
            stop=False,
        )


def check_plausible_rate(inputs: Inputs, key: str, value: Fraction, names: tuple[str, ...]) -> None:
    if value > PLAUSIBLE_RATE:
        inputs.report(
            HINT, names[0],
            f"{key}为{fmt_pct(value)}，超过300%，请核对{'、'.join(inputs.where(n) for n in names)}是否填错单位或位数",
            stop=False,
        )
