"""计算值 of each indicator from the basic data, with the formula written out in numbers.

Formulas are exactly the seed's 指标说明.  A measure either returns a value or raises
`Unmeasured` naming what is missing or wrong, so no indicator is ever silently scored 0 or full.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .findings import ERROR
from .inputs import Inputs
from .numbers import fmt_money, fmt_pct, fmt_score


@dataclass(frozen=True)
class Measure:
    value: Fraction | None  # None when the indicator is decided without a ratio (no project)
    text: str  # "公用经费控制率=154.98/124.40=124.58%"
    names: tuple[str, ...]  # the inputs it read
    full_marks: bool = False  # the seed's "没有楼堂馆所项目的部门按满分计算"


class Unmeasured(Exception):
    def __init__(self, message: str, missing: tuple[str, ...] = ()):
        super().__init__(message)
        self.message = message
        self.missing = missing


def _need(inputs: Inputs, key: str, names: tuple[str, ...]) -> list[Fraction]:
    bad = [n for n in names if n in inputs.bad]
    if bad:
        raise Unmeasured(f"输入有误（{'、'.join(inputs.where(n) for n in bad)}），见校验结果")
    missing = tuple(n for n in names if inputs.value(n) is None)
    if missing:
        raise Unmeasured(
            f"缺少{key}所需的输入：{'、'.join(inputs.where(n) for n in missing)}，该指标暂不计分", missing
        )
    return [inputs.value(n) for n in names]


def _ratio(inputs: Inputs, key: str, top: str, bottom: str, fmt=fmt_money) -> Measure:
    a, b = _need(inputs, key, (top, bottom))
    if b == 0:
        _zero(inputs, key, bottom)
    value = a / b
    return Measure(value, f"{key}={fmt(a)}/{fmt(b)}={fmt_pct(value)}", (top, bottom))


def _zero(inputs: Inputs, key: str, name: str) -> None:
    message = f"{inputs.where(name)}为0，无法计算{key}（分母不能为0）"
    inputs.report(ERROR, name, message)
    raise Unmeasured(message)


def staff(inputs: Inputs, key: str) -> Measure:
    return _ratio(inputs, key, "实际在职人数", "编制数", fmt_score)


def sangong_change(inputs: Inputs, key: str) -> Measure:
    names = ("三公经费_本年预算", "三公经费_上年预算")
    this_year, last_year = _need(inputs, key, names)
    if last_year == 0:
        _zero(inputs, key, "三公经费_上年预算")
    value = (this_year - last_year) / last_year
    text = f"{key}=({fmt_money(this_year)}-{fmt_money(last_year)})/{fmt_money(last_year)}={fmt_pct(value)}"
    return Measure(value, text, names)


def budget_completion(inputs: Inputs, key: str) -> Measure:
    names = ("上年结转", "年初预算", "本年追加预算", "年末结余")
    carried, initial, added, balance = _need(inputs, key, names)
    available = carried + initial + added
    if available == 0:
        message = f"上年结转+年初预算+本年追加预算合计为0，无法计算{key}（分母不能为0）"
        inputs.report(ERROR, "年初预算", message)
        raise Unmeasured(message)
    value = (available - balance) / available
    parts = f"{fmt_money(carried)}+{fmt_money(initial)}+{fmt_money(added)}"
    text = f"{key}=({parts}-{fmt_money(balance)})/({parts})={fmt_pct(value)}"
    return Measure(value, text, names)


def budget_control(inputs: Inputs, key: str) -> Measure:
    names = ("本年追加预算", "年初预算")
    added, initial = _need(inputs, key, names)
    if initial == 0:
        _zero(inputs, key, "年初预算")
    if added < 0:
        return Measure(Fraction(0), f"{key}：本年追加预算为{fmt_money(added)}（调减），按0%计", names)
    value = added / initial
    return Measure(value, f"{key}={fmt_money(added)}/{fmt_money(initial)}={fmt_pct(value)}", names)


def _buildings(inputs: Inputs, key: str, approved: str, actual: str, fmt) -> Measure:
    names = (approved, actual)
    if not any(n in inputs.bad for n in names) and all(not inputs.value(n) for n in names):
        # blank, 0 or "——" in both: the department had no such project
        return Measure(None, f"没有楼堂馆所项目（{inputs.where(approved)}、{inputs.where(actual)}均未填）",
                       names, full_marks=True)
    return _ratio(inputs, key, actual, approved, fmt)


def building_area(inputs: Inputs, key: str) -> Measure:
    return _buildings(inputs, key, "楼堂馆所_批复规模", "楼堂馆所_实际规模", fmt_money)


def building_cost(inputs: Inputs, key: str) -> Measure:
    return _buildings(inputs, key, "楼堂馆所_预算投资", "楼堂馆所_实际投资", fmt_money)


def public_funds(inputs: Inputs, key: str) -> Measure:
    return _ratio(inputs, key, "公用经费_本年决算", "公用经费_本年预算")


def sangong_control(inputs: Inputs, key: str) -> Measure:
    return _ratio(inputs, key, "三公经费_本年决算", "三公经费_本年预算")


def procurement(inputs: Inputs, key: str) -> Measure:
    return _ratio(inputs, key, "政府采购_本年决算", "政府采购_本年预算")


def satisfaction(inputs: Inputs, key: str) -> Measure:
    (value,) = _need(inputs, key, ("满意度",))
    if value > 1:
        hint = f"（若指{fmt_score(value)}%，请填写为{fmt_score(value)}%）" if value <= 100 else ""
        message = f"{inputs.where('满意度')}为{fmt_pct(value)}，应在0%至100%之间{hint}"
        inputs.report(ERROR, "满意度", message)
        raise Unmeasured(message)
    return Measure(value, f"{key}={fmt_pct(value)}", ("满意度",))


RATE_MEASURES = {
    "在职人员控制率": staff,
    "三公经费变动率": sangong_change,
    "预算完成率": budget_completion,
    "预算控制率": budget_control,
    "楼堂馆所面积控制率": building_area,
    "楼堂馆所投资控制率": building_cost,
    "公用经费控制率": public_funds,
    "三公经费控制率": sangong_control,
    "政府采购执行率": procurement,
    "满意度": satisfaction,
}
