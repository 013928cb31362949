"""The seed's indicators as one record each, read from the framework file by the rule reader."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from evalbook.core.errors import FrameworkInvalid
from evalbook.department import rule as FW
from evalbook.department import methods as M
from evalbook.department.framework import data_section, load_framework, seed_framework
from evalbook.department.rules import default_rules
from evalbook.workbook import contract as C
from evalbook.workbook import layout


def test_sixteen_records_weighing_100():
    fw = seed_framework()
    assert len(fw.indicators) == 16
    assert sum(i.weight for i in fw.indicators) == 100 == fw.total
    assert [g for _, g in fw.grades.bands] == ["优", "良", "中", "差"]


def test_from_a_score_cell_to_its_rule_is_two_hops():
    """得分_公用经费控制率 → its record (formula, options) → its method with parameters."""
    fw = seed_framework()
    record = fw.by_key["公用经费控制率"]
    assert C.score_name(record.key) == "得分_公用经费控制率"
    assert record.formula_text == "公用经费_本年决算/公用经费_本年预算"
    rule = default_rules(fw).rules[record.key]
    assert (rule.method, rule.base, rule.step, rule.per_step) == (M.OVER, 1, F(1, 100), 1)


def test_rule_options_are_data_not_code():
    fw = seed_framework()
    assert fw.by_key["预算控制率"].option(FW.NEGATIVE_AS_ZERO) == "调减"
    assert fw.by_key["楼堂馆所面积控制率"].option(FW.EMPTY_FULL_MARKS) == "没有楼堂馆所项目"
    assert fw.by_key["三公经费变动率"].option(FW.ALLOW_NEGATIVE) == ""
    assert fw.by_key["公用经费控制率"].options == {}


def test_the_template_rule_rows_are_the_frameworks():
    fw = seed_framework()
    rules = next(s for s in layout.sheets() if s.title == C.RULES_SHEET)
    keys = [c.value for c in rules.cells if c.ref.startswith("A") and c.value in fw.by_key]
    assert keys == list(fw.keys)


def test_an_options_typo_a_bad_formula_and_an_unknown_name_are_refused_together():
    rows = [
        {"指标键": "甲", "分值": "5", "计算公式": "甲数/", "计分方法": M.OVER},
        {"指标键": "乙", "分值": "5", "计算公式": "未知输入/编制数", "计分方法": M.OVER},
        {"指标键": "丙", "分值": "5", "计算公式": "编制数", "计分方法": M.OVER, "规则选项": "负数满分",
         "基准值": "100%", "步长": "1%", "每步分值": "1"},
    ]
    with pytest.raises(FrameworkInvalid) as caught:
        load_framework({"评分规则": data_section("评分规则", rows)}, "测试")
    problems = caught.value.problems
    assert len(problems) == 3
    assert problems[0].startswith("评分规则第1项的“计算公式”：")
    assert "未知输入" in problems[1]
    assert "规则选项“负数满分”不可用" in problems[2]


def test_a_new_indicator_over_a_declared_input_scores_through_the_same_engine():
    from evalbook.department.engine import evaluate
    from evalbook.core.ruletable import RulesSource

    rows = [{"一级指标": "产出", "二级指标": "职责履行", "三级指标": "重点支出安排率", "指标键": "重点支出安排率",
             "分值": "5", "计算公式": "重点项目支出/项目支出_本年决算", "计分方法": M.BANDS,
             "分档/等级": ">=90%:5；[80%,90%):4；[70%,80%):3；[60%,70%):2；<60%:0"}]
    inputs = [{"名称": "重点项目支出", "类型": "金额"}]
    grades = [{"等级": "优", "下限": "80"}, {"等级": "良", "下限": "70"}, {"等级": "中", "下限": "60"},
              {"等级": "差", "下限": "0"}]
    fw = load_framework({"评分规则": data_section("评分规则", rows), "基础数据项": data_section("基础数据项", inputs),
                         "等级": data_section("等级", grades),
                         "说明": data_section("说明", [{"项目": "总分", "内容": "5"}])}, "测试")
    e = evaluate({"重点项目支出": 85, "项目支出_本年决算": 100}, framework=fw,
                 rules_source=RulesSource(fw.rule_rows(), "评分规则"))
    assert e.by_key("重点支出安排率").score == 4  # 85% is in [80%,90%)
    assert e.by_key("重点支出安排率").explanation.startswith("重点支出安排率=85.00/100.00=85.00%")
    assert e.grade == "差"  # 4 of 5 points: below the 60 floor of this framework's 等级
