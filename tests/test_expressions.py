"""计算公式: parsed into trees, evaluated exactly, written out with figures and as Excel formulas."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from evalbook.core import expressions as E
from evalbook.department.engine import evaluate
from evalbook.department.framework import seed_framework


def test_seed_formulas_parse_and_read_their_names():
    completion = E.parse("(上年结转+年初预算+本年追加预算-年末结余)/(上年结转+年初预算+本年追加预算)")
    assert E.names(completion) == ("上年结转", "年初预算", "本年追加预算", "年末结余")
    assert E.as_text(completion) == "(上年结转+年初预算+本年追加预算-年末结余)/(上年结转+年初预算+本年追加预算)"


def test_exact_arithmetic_no_float_noise():
    change = E.parse("(三公经费_本年预算-三公经费_上年预算)/三公经费_上年预算")
    values = {"三公经费_本年预算": F("10.2"), "三公经费_上年预算": F(10)}
    assert E.evaluate(change, values) == F(2, 100)  # exactly 2.00%, not 0.0199999…


@pytest.mark.parametrize("text, expected", [
    ("1+2*3", 7), ("(1+2)*3", 9), ("10-4-3", 3), ("2/4/2", F(1, 4)), ("-3+5", 2), ("5%*200", 10),
    ("6×2÷4", 3), ("MAX(1,5,3)", 5), ("MIN(4,2)", 2), ("ABS(-7)", 7), ("SUM(1,2,3)", 6),
    ("（１＋２）×３", 9),  # full-width forms as accountants type them
])
def test_operators_and_functions(text, expected):
    assert E.evaluate(E.parse(text), {}) == expected


def test_division_by_zero_names_the_divisor():
    tree = E.parse("a/(b+c)")
    with pytest.raises(E.DivisionByZero) as caught:
        E.evaluate(tree, {"a": F(1), "b": F(2), "c": F(-2)})
    assert E.as_text(caught.value.divisor) == "b+c"


@pytest.mark.parametrize("text, words", [
    ("", "为空"), ("a+", "不完整"), ("a b", "多余"), ("(a+b", "缺少“)”"), ("LET(a,1)", "不可用"),
    ("a$b", "不能出现"), ("ABS(1,2)", "只有一个参数"),
])
def test_syntax_errors_are_chinese_sentences(text, words):
    with pytest.raises(E.ExpressionError) as caught:
        E.parse(text)
    assert words in caught.value.message


def test_rendering_as_an_excel_formula():
    completion = E.parse("(上年结转+年初预算+本年追加预算-年末结余)/(上年结转+年初预算+本年追加预算)")
    assert E.excel_formula(completion) == "=(上年结转+年初预算+本年追加预算-年末结余)/(上年结转+年初预算+本年追加预算)"
    assert E.excel_formula(E.parse("a-(b-c)")) == "=a-(b-c)"
    assert E.excel_formula(E.parse("a/(b*c)")) == "=a/(b*c)"
    assert E.excel_formula(E.parse("a*(b/c)")) == "=a*(b/c)"
    assert E.excel_formula(E.parse("a*-b")) == "=a*(-b)"
    assert E.excel_formula(E.parse("95%*x")) == "=0.95*x"
    assert E.excel_formula(E.parse("x/3"), lambda name: f"辅助!{name}") == "=辅助!x/3"
    assert E.excel_formula(E.parse("MAX(a,0)")) == "=MAX(a,0)"


def test_every_seed_formula_renders_to_an_excel_formula_over_its_names():
    for ind in seed_framework().indicators:
        if ind.formula is None:  # 清单计分 lists its items
            continue
        formula = E.excel_formula(ind.formula)
        assert formula.startswith("=") and all(name in formula for name in ind.inputs)
        assert E.names(E.parse(formula[1:])) == ind.inputs  # what it renders reads back the same


def test_the_explanation_shows_the_formula_with_the_accountants_figures(seed_values):
    e = evaluate(seed_values)
    assert e.by_key("预算完成率").explanation.startswith(
        "预算完成率=(1344.63+8300.00+2064.65-6274.16)/(1344.63+8300.00+2064.65)=46.42%")
    assert e.by_key("在职人员控制率").explanation.startswith("在职人员控制率=20/21=95.24%")
    assert e.by_key("满意度").explanation.startswith("满意度=92.00%，属于")


def test_a_zero_sum_denominator_is_pending_with_a_finding(seed_values):
    seed_values.update({"上年结转": 0, "年初预算": 0, "本年追加预算": 0, "年末结余": 0})
    e = evaluate(seed_values)
    assert e.by_key("预算完成率").score is None
    found = [f for f in e.findings if "合计为0" in f.message]
    assert found and found[0].message.startswith("上年结转+年初预算+本年追加预算合计为0，无法计算预算完成率")
