"""计算值: what an indicator measures, from the basic data or from a value typed into a UDF.

Both paths end in a `methods.Measurement`, so one `methods.score` scores them.  A measurement
either succeeds or raises `Unmeasured` naming what is missing or wrong: no indicator is ever
silently scored 0 or full marks.
"""

from __future__ import annotations

from fractions import Fraction

from evalbook.core import expressions as E
from evalbook.core.findings import ERROR
from evalbook.core.numbers import (
    clean_text, fmt_money, fmt_pct, fmt_score, fraction_to_float, read_choice, read_number, read_yes_no,
)
from evalbook.department import basic_data as B
from evalbook.department import framework as F
from evalbook.department.framework import Indicator
from evalbook.department.inputs import Inputs
from evalbook.department.methods import Measurement
from evalbook.department.rule import ALLOW_NEGATIVE, EMPTY_FULL_MARKS, NEGATIVE_AS_ZERO, Rule
from evalbook.department.validation import check_plausible_rate

NO_PROJECT_WORDS = ("无项目", "无")  # what a 计算值 cell says when 全空按满分 applies


class Unmeasured(Exception):
    def __init__(self, message: str, missing: tuple[str, ...] = ()):
        super().__init__(message)
        self.message = message
        self.missing = missing


# ---- from the basic data ----------------------------------------------------------------------

def _need(inputs: Inputs, key: str, names: tuple[str, ...]) -> dict[str, Fraction]:
    bad = [n for n in names if n in inputs.bad]
    if bad:
        raise Unmeasured(f"输入有误（{'、'.join(inputs.where(n) for n in bad)}），见校验结果")
    missing = tuple(n for n in names if inputs.value(n) is None)
    if missing:
        for name in missing:
            inputs.lack(name, key)
        raise Unmeasured(
            f"缺少{key}所需的输入：{'、'.join(inputs.where(n) for n in missing)}，该指标暂不计分", missing
        )
    return {n: inputs.value(n) for n in names}


def _figure(inputs: Inputs, name: str, value: Fraction) -> str:
    kind = inputs.framework.inputs[name].kind
    if kind in B.WHOLE_KINDS:
        return fmt_score(value)
    if kind == B.PERCENT:
        return fmt_pct(value)
    return fmt_money(value)


def _evaluate(ind: Indicator, inputs: Inputs, values: dict[str, Fraction]) -> Fraction:
    try:
        return E.evaluate(ind.formula, values)
    except E.DivisionByZero as zero:
        name = E.single_name(zero.divisor)
        if name is not None:
            message = f"{inputs.where(name)}为0，无法计算{ind.key}（分母不能为0）"
        else:
            name = E.names(zero.divisor)[0]
            message = f"{E.as_text(zero.divisor)}合计为0，无法计算{ind.key}（分母不能为0）"
        inputs.report(ERROR, name, message)
        raise Unmeasured(message) from None


def _check_percent_range(inputs: Inputs, values: dict[str, Fraction]) -> None:
    for name, value in values.items():
        if inputs.framework.inputs[name].kind == B.PERCENT and value > 1:
            message = _percent_range_message(inputs.where(name), value)
            inputs.report(ERROR, name, message)
            raise Unmeasured(message)


def _percent_range_message(where: str, value: Fraction) -> str:
    hint = f"（若指{fmt_score(value)}%，请填写为{fmt_score(value)}%）" if value <= 100 else ""
    return f"{where}为{fmt_pct(value)}，应在0%至100%之间{hint}"


def _in_sheet_order(inputs: Inputs, names: tuple[str, ...]) -> list[str]:
    order = {name: i for i, name in enumerate(inputs.framework.inputs)}
    return sorted(names, key=lambda n: order[n])


def _numerator(ind: Indicator) -> E.Node | None:
    return ind.formula.left if E.is_ratio(ind.formula) else None


def _rate(ind: Indicator, inputs: Inputs) -> Measurement:
    names = ind.inputs
    empty_means = ind.option(EMPTY_FULL_MARKS)
    if empty_means is not None and not any(n in inputs.bad for n in names) \
            and all(not inputs.value(n) for n in names):
        # blank, 0 or "——" in every input: the department had no such project
        listed = "、".join(inputs.where(n) for n in _in_sheet_order(inputs, names))
        return Measurement(None, "无项目", f"{empty_means}（{listed}均未填）", full_marks=True)
    values = _need(inputs, ind.key, names)
    _check_percent_range(inputs, values)
    value = _evaluate(ind, inputs, values)
    if value < 0 and (why := ind.option(NEGATIVE_AS_ZERO)) is not None:
        top = _numerator(ind)
        if top is not None and E.single_name(top):
            name = E.single_name(top)
            lead = f"{ind.key}：{name}为{_figure(inputs, name, values[name])}（{why}），按0%计"
        else:
            lead = f"{ind.key}为{fmt_pct(value)}（{why}），按0%计"
        return Measurement(Fraction(0), 0.0, lead)
    if E.single_name(ind.formula):
        lead = f"{ind.key}={fmt_pct(value)}"
    else:
        written = E.render(ind.formula, lambda leaf: _figure(inputs, leaf.name, values[leaf.name])
                           if isinstance(leaf, E.Name) else leaf.text)
        lead = f"{ind.key}={written}={fmt_pct(value)}"
    if ind.kind == F.RATE:
        check_plausible_rate(inputs, ind.key, value, names)
    return Measurement(value, fraction_to_float(value), lead)


def _checklist(ind: Indicator, inputs: Inputs) -> Measurement:
    answers = tuple(int(v) for v in _need(inputs, ind.key, ind.inputs).values())
    share = Fraction(sum(answers), len(answers))
    return Measurement(share, fraction_to_float(share), answers=answers, items=len(answers))


def _count(ind: Indicator, inputs: Inputs) -> Measurement:
    (count,) = _need(inputs, ind.key, ind.inputs).values()
    return Measurement(count, int(count), noun=inputs.framework.inputs[ind.inputs[0]].spoken)


def _spoken(framework: F.Framework, node: E.Node | None) -> str | None:
    """The word a 扣分说明 uses for a formula part that is one input (考核总分), else None."""
    name = E.single_name(node) if node is not None else None
    return framework.inputs[name].spoken if name else None


def _proportion(ind: Indicator, inputs: Inputs) -> Measurement:
    values = _need(inputs, ind.key, ind.inputs)
    share = _evaluate(ind, inputs, values)
    top, bottom = (ind.formula.left, ind.formula.right) if E.is_ratio(ind.formula) else (None, None)
    top_name, bottom_name = (E.single_name(top) if top else None), (E.single_name(bottom) if bottom else None)
    parts = None
    if top_name and bottom_name:
        got, total = values[top_name], values[bottom_name]
        parts = (_spoken(inputs.framework, top), got, _spoken(inputs.framework, bottom), total)
    if share > 1:
        if parts:
            message = f"{inputs.where(top_name)}为{fmt_score(parts[1])}，超过{parts[2]}{fmt_score(parts[3])}"
            name = top_name
        else:
            message = f"{ind.key}的比例为{fmt_pct(share)}，超过100%"
            name = ind.inputs[0]
        inputs.report(ERROR, name, message)
        raise Unmeasured(message)
    return Measurement(share, fraction_to_float(share), parts=parts)


def _grade(ind: Indicator, inputs: Inputs) -> Measurement:
    name = ind.inputs[0]
    if name in inputs.bad:
        raise Unmeasured(f"输入有误（{inputs.where(name)}），见校验结果")
    word = inputs.choices.get(name)
    if word is None:
        choices = "/".join(inputs.framework.inputs[name].choices)
        inputs.lack(name, ind.key)
        raise Unmeasured(f"缺少{ind.key}所需的输入：{inputs.where(name)}（{choices}），该指标暂不计分", (name,))
    return Measurement(None, word, word=word)


def _entered(ind: Indicator, rule: Rule, inputs: Inputs) -> Measurement:
    (name,) = ind.inputs
    typed = _need(inputs, ind.key, ind.inputs)[name]
    if typed > rule.weight:
        message = f"{inputs.where(name)}为{fmt_score(typed)}，超过本指标分值{fmt_score(rule.weight)}"
        inputs.report(ERROR, name, message)
        raise Unmeasured(message)
    return Measurement(typed, fraction_to_float(typed))


def measure(ind: Indicator, rule: Rule, inputs: Inputs) -> Measurement:
    """The indicator's 计算值 from the workbook's inputs; raises Unmeasured."""
    if ind.kind in (F.RATE, F.PERCENT):
        return _rate(ind, inputs)
    if ind.kind == F.CHECKLIST:
        return _checklist(ind, inputs)
    if ind.kind == F.COUNT:
        return _count(ind, inputs)
    if ind.kind == F.PROPORTION:
        return _proportion(ind, inputs)
    if ind.kind == F.GRADE:
        return _grade(ind, inputs)
    return _entered(ind, rule, inputs)


# ---- from a 计算值 typed into a cell (the UDFs) ------------------------------------------------

def _single(raw: object, label: str) -> object:
    if isinstance(raw, (list, tuple)):
        raise Unmeasured(f"{label}应引用单个单元格，不能是区域")
    return raw


def read_figure(raw: object, label: str) -> Fraction:
    """One cell as a number, as the engine reads it; raises Unmeasured with the cell's message."""
    reading = read_number(_single(raw, label))
    if reading.problem:
        raise Unmeasured(f"{label}{reading.problem}")
    if reading.value is None:
        raise Unmeasured(f"{label}未填写")
    return reading.value


def _whole(raw: object, label: str, top: int | None = None) -> int:
    value = read_figure(raw, label)
    if value.denominator != 1 or value < 0 or (top is not None and value > top):
        limit = f"0至{top}之间的整数" if top is not None else "不小于0的整数"
        raise Unmeasured(f"{label}为{fmt_score(value)}，应为{limit}")
    return int(value)


def _rate_value(ind: Indicator, raw: object) -> Measurement:
    raw = _single(raw, "计算值")
    empty_means = ind.option(EMPTY_FULL_MARKS)
    if empty_means is not None and isinstance(raw, str) and clean_text(raw) in NO_PROJECT_WORDS:
        return Measurement(None, "无项目", empty_means, full_marks=True)
    value = read_figure(raw, "计算值")
    if ind.kind == F.PERCENT and value > 1:  # the engine's own range check (a typing slip)
        raise Unmeasured(_percent_range_message(ind.inputs[0], value))
    if value < 0 and ind.option(NEGATIVE_AS_ZERO) is not None:
        top = _numerator(ind)
        why = f"{E.single_name(top)}为负" if top is not None and E.single_name(top) else "为负"
        return Measurement(Fraction(0), 0.0, f"{ind.key}为{fmt_pct(value)}（{why}），按0%计")
    if value < 0 and ind.option(ALLOW_NEGATIVE) is None:
        raise Unmeasured(f"计算值为{fmt_pct(value)}，{ind.key}不能为负数")
    return Measurement(value, fraction_to_float(value), f"{ind.key}={fmt_pct(value)}")


def _checklist_value(ind: Indicator, raw: object) -> Measurement:
    items = len(ind.inputs)
    if isinstance(raw, (list, tuple)):
        if len(raw) != items:
            raise Unmeasured(f"{ind.key}共{items}项，所选区域有{len(raw)}个单元格")
        answers = []
        for number, cell in enumerate(raw, 1):
            reading = read_yes_no(cell)
            if reading.problem:
                raise Unmeasured(f"第{number}项{reading.problem}")
            if reading.value is None:
                raise Unmeasured(f"第{number}项未填写（应为“是”或“否”）")
            answers.append(int(reading.value))
        share = Fraction(sum(answers), items)
        return Measurement(share, fraction_to_float(share), answers=tuple(answers), items=items)
    yes = _whole(raw, "“是”的项数", items)
    return Measurement(Fraction(yes, items), yes, items=items)  # which items were 否 is unknown


def _proportion_value(ind: Indicator, framework: F.Framework, raw: object) -> Measurement:
    top, bottom = (ind.formula.left, ind.formula.right) if E.is_ratio(ind.formula) else (None, None)
    top_label = _spoken(framework, top) or "分子"
    bottom_label = _spoken(framework, bottom) or "分母"
    if isinstance(raw, (list, tuple)):
        if len(raw) != 2:
            raise Unmeasured(f"请选择两个单元格：{top_label}、{bottom_label}")
        got, total = read_figure(raw[0], top_label), read_figure(raw[1], bottom_label)
        if got < 0:
            raise Unmeasured(f"{top_label}为{fmt_score(got)}，不能为负数")
        if total <= 0:
            raise Unmeasured(f"{bottom_label}应大于0")
        if got > total:
            raise Unmeasured(f"{top_label}{fmt_score(got)}超过{bottom_label}{fmt_score(total)}")
        return Measurement(got / total, fraction_to_float(got / total), parts=(top_label, got, bottom_label, total))
    share = read_figure(raw, "得分率")
    if share < 0 or share > 1:
        raise Unmeasured(f"得分率为{fmt_pct(share)}，应在0%至100%之间")
    return Measurement(share, fraction_to_float(share))


def _grade_value(ind: Indicator, framework: F.Framework, raw: object) -> Measurement:
    choices = framework.inputs[ind.inputs[0]].choices
    word, problem = read_choice(_single(raw, "等级"), choices)
    if problem:
        raise Unmeasured(f"等级{problem}")
    if word is None:
        raise Unmeasured(f"请填写等级（{'/'.join(choices)}）")
    return Measurement(None, word, word=word)


def _entered_value(rule: Rule, raw: object) -> Measurement:
    typed = read_figure(raw, "录入得分")
    if typed < 0:
        raise Unmeasured(f"录入得分为{fmt_score(typed)}，不能为负数")
    if typed > rule.weight:
        raise Unmeasured(f"录入得分为{fmt_score(typed)}，超过本指标分值{fmt_score(rule.weight)}")
    return Measurement(typed, fraction_to_float(typed))


def measure_value(ind: Indicator, rule: Rule, framework: F.Framework, raw: object) -> Measurement:
    """The measurement a typed 计算值 stands for: a rate, a 是/否 range or count, two cells or a
    share, a grade word, a typed score.  `raw` is one cell value or a flat list of them."""
    if ind.kind in (F.RATE, F.PERCENT):
        return _rate_value(ind, raw)
    if ind.kind == F.CHECKLIST:
        return _checklist_value(ind, raw)
    if ind.kind == F.COUNT:
        count = _whole(raw, ind.inputs[0])
        return Measurement(Fraction(count), count, noun=framework.inputs[ind.inputs[0]].spoken)
    if ind.kind == F.PROPORTION:
        return _proportion_value(ind, framework, raw)
    if ind.kind == F.GRADE:
        return _grade_value(ind, framework, raw)
    return _entered_value(rule, raw)
