"""Every check on a fund block, and what it does to the score."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from evalbook.funds import evaluate_fund
from evalbook.funds.model import MoneyRow

from test_funds_forms import sewage, small_fund, waterworks


def findings(result, severity=None, name=None):
    return [
        f for f in result.findings
        if (severity is None or f.severity == severity) and (name is None or f.name == name)
    ]


def only(result, severity, name):
    hits = findings(result, severity, name)
    assert len(hits) == 1, result.findings
    return hits[0]


# ---- money --------------------------------------------------------------------------------

def test_spent_above_budget_is_a_hint_and_the_rate_is_capped():
    fund = small_fund(total=MoneyRow(100, 105), higher=MoneyRow(60, 65), county=MoneyRow(40, 40))
    result = evaluate_fund(fund)
    hit = only(result, "提示", "专项1_年度资金总额_执行数")
    assert "全年执行数105.00万元大于全年预算数100.00万元" in hit.message
    assert only(result, "提示", "专项1_中央省市补助_执行数")
    assert result.exec_rate == F(105, 100)
    assert result.exec_score == 10
    assert result.exec_explanation == "执行率=全年执行数105.00/全年预算数100.00=105.00%，按100%计，得10分"
    assert result.total == 100


def test_parts_must_add_up_per_column():
    fund = waterworks()
    fund.county.budget = 290  # 800 + 290 + 100 = 1190 ≠ 1200
    result = evaluate_fund(fund)
    hit = only(result, "错误", "专项1_年度资金总额_预算数")
    assert hit.message == (
        "专项1“湘江水厂提质扩容改造项目”：年度资金总额全年预算数为1200.00万元，"
        "但中央、省、市补助+县级资金+其他资金合计为1190.00万元，相差10.00万元"
    )
    assert not findings(result, "错误", "专项1_年度资金总额_执行数")  # the 执行数 column adds up
    assert result.exec_score is None and "输入有误" in result.exec_explanation
    assert result.total is None and result.grade is None


def test_spent_column_checked_separately():
    fund = waterworks()
    fund.other.spent = 80  # 760 + 250 + 80 = 1090 ≠ 1080
    result = evaluate_fund(fund)
    assert "相差-10.00万元" in only(result, "错误", "专项1_年度资金总额_执行数").message
    assert not findings(result, "错误", "专项1_年度资金总额_预算数")


@pytest.mark.parametrize("county, ok", [("299.99", True), ("300.01", True), ("299.989", False), ("300.011", False)])
def test_parts_tolerance_is_one_cent(county, ok):
    fund = waterworks()
    fund.county.budget = county
    assert bool(findings(evaluate_fund(fund), "错误", "专项1_年度资金总额_预算数")) is not ok


def test_blank_parts_are_not_checked():
    fund = small_fund(higher=MoneyRow(None, None), county=MoneyRow(None, None))
    assert evaluate_fund(fund).findings == []


def test_dash_part_counts_as_zero():
    fund = small_fund(other=MoneyRow("——", "——"))
    assert evaluate_fund(fund).findings == []


@pytest.mark.parametrize("raw, words", [("一百万", "不是数字"), ("#REF!", "#REF!"), (-5, "负数")])
def test_unreadable_money(raw, words):
    fund = small_fund()
    fund.total.spent = raw
    result = evaluate_fund(fund)
    assert words in only(result, "错误", "专项1_年度资金总额_执行数").message
    assert result.exec_score is None and result.total is None


def test_missing_and_zero_budget():
    result = evaluate_fund(small_fund(total=MoneyRow(None, 100)))
    assert "未填写年度资金总额全年预算数" in only(result, "错误", "专项1_年度资金总额_预算数").message
    assert result.exec_score is None
    result = evaluate_fund(small_fund(total=MoneyRow(0, 0), higher=MoneyRow(0, 0), county=MoneyRow(0, 0)))
    assert "为0" in only(result, "错误", "专项1_年度资金总额_预算数").message
    assert result.exec_score is None


# ---- indicator rows -----------------------------------------------------------------------

def test_target_without_actual():
    fund = waterworks()
    fund.indicators[2].actual = "　"
    result = evaluate_fund(fund)
    hit = only(result, "错误", "专项1_指标3_完成值")
    assert hit.message == (
        "专项1“湘江水厂提质扩容改造项目”数量指标“主体构筑物完工数”：已填写年度指标值，但未填写全年完成值，该指标暂不计分"
    )
    assert result.indicator(3).score is None
    assert result.indicator(3).weight == F(25, 4)  # it keeps its share: the others do not grow
    assert result.total is None


def test_actual_without_target():
    fund = small_fund()
    fund.indicators[1].name, fund.indicators[1].actual = "新增用户", "2005户"
    result = evaluate_fund(fund)
    assert "未填写年度指标值" in only(result, "错误", "专项1_指标2_指标值").message


def test_below_target_without_reason_is_a_hint():
    fund = waterworks()
    fund.indicators[2].reason = None  # 6个 of 7个
    result = evaluate_fund(fund)
    hit = only(result, "提示", "专项1_指标3_未完成原因和改进措施")
    assert hit.message == (
        "专项1“湘江水厂提质扩容改造项目”数量指标“主体构筑物完工数”：未达到年度指标值，请填写未完成原因和改进措施"
    )
    assert result.indicator(3).score == F(75, 14)  # advisory only
    assert result.total is not None


@pytest.mark.parametrize("k, target, actual, tier", [
    (1, "2个", "0个", None),  # nothing done
    (7, "2020年底前", "未完成", None),  # deadline missed
    (4, "合格", "不合格", None),  # 达标 word not met
    (17, "明显改善", "70%", "部分达成预期指标并具有一定效果"),  # a lower tier
])
def test_each_kind_of_shortfall_asks_for_a_reason(k, target, actual, tier):
    fund = sewage()
    row = fund.indicators[k - 1]
    row.target, row.actual, row.tier, row.reason = target, actual, tier, None
    result = evaluate_fund(fund)
    assert only(result, "提示", f"专项2_指标{k}_未完成原因和改进措施")


def test_met_targets_need_no_reason():
    fund = waterworks()
    fund.indicators[2].actual = "7个"
    fund.indicators[2].reason = None
    assert evaluate_fund(fund).findings == []


def test_unparseable_value_is_an_error_quoting_it():
    fund = waterworks()
    fund.indicators[0].actual = "约3800米"
    result = evaluate_fund(fund)
    hit = only(result, "错误", "专项1_指标1_完成值")
    assert "“约3800米”" in hit.message
    assert result.indicator(1).score is None
    assert "该指标暂不计分" in result.indicator(1).explanation


def test_qualitative_target_without_tier_is_an_error_on_the_target():
    fund = waterworks()
    fund.indicators[19].tier = None  # 明显改善 / 90% with no tier
    hit = only(evaluate_fund(fund), "错误", "专项1_指标20_指标值")
    assert "“明显改善”" in hit.message and "定性档次" in hit.message


def test_unreadable_target_reported_even_before_the_actual():
    fund = small_fund()
    fund.indicators[0].target, fund.indicators[0].actual = "若干米", None
    result = evaluate_fund(fund)
    assert only(result, "错误", "专项1_指标1_完成值")
    assert "“若干米”" in only(result, "错误", "专项1_指标1_指标值").message


def test_qualitative_share_outside_its_tier():
    fund = waterworks()
    fund.indicators[19].actual = "75%"  # tier 1 needs 80%—100%
    result = evaluate_fund(fund)
    hit = only(result, "错误", "专项1_指标20_完成值")
    assert "完成比例75.00%不在“全部或基本达成预期指标”档的80%（含）—100%（含）范围内" in hit.message
    assert result.indicator(20).score is None


@pytest.mark.parametrize("tier, share, score", [
    ("全部或基本达成预期指标", "80%", F(6)),  # 7.5 × 80%
    ("部分达成预期指标并具有一定效果", "60%", F(9, 2)),  # 7.5 × 60%
])
def test_tier_lower_bounds_score(tier, share, score):
    fund = waterworks()
    row = fund.indicators[19]
    row.tier, row.actual, row.reason = tier, share, "原因"
    assert evaluate_fund(fund).indicator(20).score == score


def test_unknown_tier_word():
    fund = waterworks()
    fund.indicators[19].tier = "很好"
    assert "应为全部或基本达成预期指标、" in only(evaluate_fund(fund), "错误", "专项1_指标20_定性档次").message


def test_units_mismatch_is_an_error():
    fund = waterworks()
    fund.indicators[0].actual = "3842户"
    assert "不一致" in only(evaluate_fund(fund), "错误", "专项1_指标1_完成值").message


# ---- levels and weights -------------------------------------------------------------------

def test_missing_level1_is_an_error():
    fund = small_fund()
    fund.indicators[0].level1 = None
    result = evaluate_fund(fund)
    hit = only(result, "错误", "专项1_指标1_一级指标")
    assert "未填写一级指标" in hit.message
    assert result.indicator(1).score is None
    assert "一级指标有误" in result.indicator(1).explanation


def test_wrong_level1_is_an_error():
    fund = small_fund()
    fund.indicators[0].level1 = "投入指标"
    assert "一级指标“投入”应为产出、效益、满意度之一" in only(
        evaluate_fund(fund), "错误", "专项1_指标1_一级指标").message


def test_no_satisfaction_indicator_leaves_the_fund_unscored():
    fund = small_fund()
    fund.indicators[26].name = fund.indicators[26].target = fund.indicators[26].actual = None
    result = evaluate_fund(fund)
    hit = only(result, "错误", "专项1_指标27_一级指标")  # the template's first 满意度 row
    assert "未填写任何满意度指标，满意度指标10分无法计分" in hit.message
    assert result.gaps == ["未填写满意度指标"]
    assert result.total is None and result.scored_total == 90


def test_unknown_level2_is_a_hint_only():
    fund = small_fund()
    fund.indicators[0].level2 = "效率指标"
    result = evaluate_fund(fund)
    assert only(result, "提示", "专项1_指标1_二级指标")
    assert result.total == 100


def test_free_row_without_level2_is_a_hint():
    fund = small_fund()
    row = fund.indicators[12]  # the seed's "……" row of 产出
    row.name, row.target, row.actual = "新建泵站", "1座", "1座"
    result = evaluate_fund(fund)
    assert "未填写二级指标" in only(result, "提示", "专项1_指标13_二级指标").message
    assert result.indicator(13).weight == 25  # 产出 50 shared by two rows now
    assert result.total == 100


def test_missing_name_is_a_hint():
    fund = small_fund()
    fund.indicators[0].name = None
    result = evaluate_fund(fund)
    assert only(result, "提示", "专项1_指标1_三级指标")
    assert result.indicator(1).explanation.startswith("数量指标“第1行”：")


def test_typed_points_share_the_rest():
    fund = waterworks()
    fund.indicators[0].points = 15  # 产出: 15 here, 35 shared by the other 7 → 5 each
    result = evaluate_fund(fund)
    assert result.indicator(1).weight == 15
    assert {result.indicator(k).weight for k in (2, 3, 4, 5, 7, 8, 10)} == {F(5)}
    assert result.findings == []


@pytest.mark.parametrize("points, words", [
    ({1: 30, 2: 30}, "合计60分，超过该类分值50分"),
    ({1: 10, 2: 10, 3: 10, 4: 10, 5: 1, 7: 1, 8: 1, 10: 1}, "合计44分，不等于该类分值50分"),
    ({1: 25, 2: 25}, "其余指标（第3行、第4行、第5行、第7行、第8行、第10行）分不到分值"),
])
def test_typed_points_that_cannot_be_honoured(points, words):
    fund = waterworks()
    for k, p in points.items():
        fund.indicators[k - 1].points = p
    result = evaluate_fund(fund)
    hit = only(result, "错误", "专项1_指标1_分值")
    assert words in hit.message
    produced = [i for i in result.indicators if i.level1 == "产出"]
    assert all(i.score is None for i in produced)
    assert "分值分配有误" in produced[0].explanation
    assert all(i.score is not None for i in result.indicators if i.level1 != "产出")


@pytest.mark.parametrize("raw, words", [("五分", "不是数字"), (0, "应大于0")])
def test_unreadable_points(raw, words):
    fund = waterworks()
    fund.indicators[1].points = raw
    result = evaluate_fund(fund)
    assert words in only(result, "错误", "专项1_指标2_分值").message
    assert result.indicator(1).score is None  # the whole 产出 split is unknown


# ---- header and 说明 ---------------------------------------------------------------------

def test_missing_header_fields_are_one_hint():
    fund = small_fund()
    fund.manager = None
    fund.goal_achieved = "　"
    hit = only(evaluate_fund(fund), "提示", "专项1_负责人及电话")
    assert hit.message == "专项1“测试专项”未填写：负责人及电话、全年实际完成情况"


def test_remarks_should_say_none():
    fund = small_fund()
    fund.remarks = None
    assert "如没有请填“无”" in only(evaluate_fund(fund), "提示", "专项1_说明").message


def test_title_without_a_name():
    fund = small_fund()
    fund.name = None
    fund.indicators[0].actual = None
    assert only(evaluate_fund(fund), "错误", "专项1_指标1_完成值").message.startswith("专项1数量指标")
