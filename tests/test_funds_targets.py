"""Reading 年度指标值/全年完成值 as accountants write them, and the 完成率 that follows."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction as F

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evalbook.funds import FormulaError, assess, exec_rate, indicator_ratio
from evalbook.funds import targets as T
from evalbook.funds.qualitative import Tier
from evalbook.funds.units import Quantity, parse_quantity


def target(text, year=2020):
    return T.parse_target(text, year=year)


# ---- the issue's examples -----------------------------------------------------------------

@pytest.mark.parametrize("text, op, value, unit", [
    ("≥95%", "≥", F(95, 100), "%"),
    ("≤500万元", "≤", F(500), "万元"),
    ("100%", "", F(1), "%"),
    ("12个", "", F(12), "个"),
    ("3842米", "", F(3842), "米"),
    ("≥90%", "≥", F(9, 10), "%"),
])
def test_issue_examples(text, op, value, unit):
    parsed = target(text)
    assert parsed.kind == T.NUMBER
    assert (parsed.op, parsed.quantity.value, parsed.quantity.unit) == (op, value, unit)


def test_issue_deadline_example():
    parsed = target("2020年12月底前")
    assert parsed.kind == T.DEADLINE and parsed.deadline == dt.date(2020, 12, 31)


# ---- comparisons --------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "≥95%", "≧95%", ">=95%", "＞＝95%", "不低于95%", "不少于95%", "95%以上", "95%及以上", "大于等于95%", "达到95%",
])
def test_positive_words(text):
    parsed = target(text)
    assert parsed.op == T.AT_LEAST
    assert T.direction_of(parsed) == (T.POSITIVE, False)
    assert parsed.quantity == Quantity(F(95, 100), "%", "95%")


@pytest.mark.parametrize("text", [
    "≤500万元", "≦500万元", "<=500万元", "不高于500万元", "不超过500万元", "500万元以内", "500万元以下",
    "控制在500万元以内", "小于等于500万元",
])
def test_negative_words(text):
    parsed = target(text)
    assert parsed.op == T.AT_MOST
    assert T.direction_of(parsed) == (T.NEGATIVE, False)
    assert parsed.quantity.value == 500 and parsed.quantity.unit == "万元"


def test_equal_or_nothing_is_positive_except_cost():
    assert T.direction_of(target("=100%")) == (T.POSITIVE, False)
    assert T.direction_of(target("100%")) == (T.POSITIVE, True)
    assert T.direction_of(target("1200万元"), "成本") == (T.NEGATIVE, True)
    assert T.direction_of(target("≥1200万元"), "成本") == (T.POSITIVE, False)  # what is written wins


def test_conflicting_directions_are_refused():
    with pytest.raises(T.TargetError, match="矛盾"):
        target("≤95%以上")


# ---- numbers and units --------------------------------------------------------------------

@pytest.mark.parametrize("text, value, unit", [
    ("１２个", 12, "个"),  # full-width digits
    ("\u3000３８４２米\u3000", 3842, "米"),
    ("1,250盏", 1250, "盏"),
    ("12.5万元", F(25, 2), "万元"),
    ("3000元", 3000, "元"),
    ("2.5km", F(5, 2), "公里"),
    ("2.5KM", F(5, 2), "公里"),
    ("2005户", 2005, "户"),
    ("84套", 84, "套"),
    ("1235人", 1235, "人"),
    ("13次", 13, "次"),
    ("15天", 15, "天"),
    ("598件", 598, "件"),
    ("6514.8㎡", F(65148, 10), "平方米"),
    ("6514.8m²", F(65148, 10), "平方米"),
    ("6514.8平方米", F(65148, 10), "平方米"),
    ("7万平方米", 70000, "平方米"),
    ("95％", F(95, 100), "%"),
])
def test_numbers_with_units(text, value, unit):
    parsed = target(text)
    assert parsed.quantity.value == value and parsed.quantity.unit == unit


def test_number_cells():
    parsed = target(0.95)
    assert parsed.kind == T.NUMBER and parsed.quantity == Quantity(F(95, 100)) and parsed.from_cell
    assert T.parse_target(None) is None and T.parse_target("　") is None and T.parse_target("——") is None


@pytest.mark.parametrize("text", ["有效改善", "约3800米", "3842米/年", "1,25", "-5%", "若干"])
def test_unreadable_targets_quote_the_text(text):
    with pytest.raises(T.TargetError) as caught:
        target(text)
    assert f"“{text}”" in caught.value.message


def test_excel_errors_and_booleans():
    with pytest.raises(T.TargetError, match="#N/A"):
        target("#N/A")
    with pytest.raises(T.TargetError, match="逻辑值"):
        target(True)


def test_money_units_convert():
    assert indicator_ratio("≤500万元", "4800000元") == F(500, 480)
    assert indicator_ratio("3000米", "3.842公里") == F(3842, 3000)
    assert "（即480万元）" in assess("≤500万元", "4800000元").text


def test_units_that_do_not_match_are_errors():
    with pytest.raises(T.ActualError, match="单位“户”与年度指标值“3000米”的单位“米”不一致"):
        assess("3000米", "3842户")
    with pytest.raises(T.ActualError, match="不一致"):
        assess("12个", "12个月")


def test_bare_numbers_take_the_other_unit():
    assert indicator_ratio("3000米", "3842") == F(3842, 3000)
    assert indicator_ratio("3000", "3842米") == F(3842, 3000)
    assert indicator_ratio("≥95%", 0.96) == F(96, 95)  # Excel keeps 96% as 0.96
    assert indicator_ratio(1, "98%") == F(98, 100)
    with pytest.raises(T.ActualError, match="未写“%”"):
        assess("≥95%", "96")
    with pytest.raises(T.ActualError, match="9600.00%"):
        assess("≥95%", 96)
    with pytest.raises(T.TargetError, match="未写“%”"):
        assess("95", "96%")


def test_actual_with_comparison_or_word_is_refused():
    with pytest.raises(T.ActualError, match="比较符"):
        assess("≥95%", "≥95%")
    with pytest.raises(T.ActualError, match="不是数值"):
        assess("3000米", "已完成")


def test_exact_fractions_never_float_noise():
    # 0.1 + 0.2 in a cell is shown as 0.30000000000000004 by Python, 30% by Excel
    assert indicator_ratio("30%", 0.3) == 1
    assert indicator_ratio("≥95%", "94.99%") == F(9499, 9500)


# ---- boundaries ---------------------------------------------------------------------------

def test_exactly_at_target_and_just_under():
    assert indicator_ratio("≥95%", "95%") == 1
    assert indicator_ratio("≤500万元", "500万元") == 1
    just_under = indicator_ratio("≥95%", "94.999%")
    assert just_under < 1 and just_under == F(94999, 95000)
    assert indicator_ratio("≤500万元", "500.01万元") < 1


def test_over_achievement_capped_only_on_request():
    assert indicator_ratio("3000米", "3842米") == F(3842, 3000)
    assert indicator_ratio("3000米", "3842米", capped=True) == 1


def test_zero_targets():
    assert indicator_ratio("0起", "0起") == 1  # none allowed, none happened
    assert indicator_ratio("0起", "1起") == 0
    assert indicator_ratio("≥0个", "3个") == 1
    assert indicator_ratio("≤5%", "0%") == 1  # 反向 with nothing spent: not a division by zero


# ---- deadlines ----------------------------------------------------------------------------

@pytest.mark.parametrize("text, day", [
    ("2020年12月底前", dt.date(2020, 12, 31)),
    ("2020年12月31日前", dt.date(2020, 12, 31)),
    ("12月底前", dt.date(2020, 12, 31)),
    ("2020年底前", dt.date(2020, 12, 31)),
    ("年底前", dt.date(2020, 12, 31)),
    ("2020年6月底前完成", dt.date(2020, 6, 30)),
    ("2020年2月底", dt.date(2020, 2, 29)),
    ("2020-09-30", dt.date(2020, 9, 30)),
    ("2020年内", dt.date(2020, 12, 31)),
    ("2020年", dt.date(2020, 12, 31)),
])
def test_deadline_forms(text, day):
    parsed = target(text)
    assert parsed.kind == T.DEADLINE and parsed.deadline == day


def test_deadline_without_year_needs_the_evaluation_year():
    with pytest.raises(T.TargetError, match="未写年份"):
        T.parse_target("12月底前")


def test_ambiguous_month_deadline_is_refused():
    with pytest.raises(T.TargetError, match="含义不明确"):
        target("2020年12月前")


def test_invalid_date():
    with pytest.raises(T.TargetError, match="不是有效日期"):
        target("2020年2月30日前")


@pytest.mark.parametrize("actual, ratio", [
    (dt.date(2020, 12, 31), 1),  # the day named is included
    (dt.datetime(2020, 12, 31, 18, 0), 1),
    (dt.date(2021, 1, 1), 0),  # one day late
    ("2020年11月20日", 1),
    ("2020.12.31", 1),
    ("2020年12月", 1),
    ("2021年1月", 0),
    ("已完成", 1),
    ("按时完成", 1),
    ("如期完成", 1),
    ("未完成", 0),
    ("延期", 0),
    ("已于2020年10月8日完成", 1),
])
def test_deadline_met_or_not(actual, ratio):
    assert indicator_ratio("2020年12月31日前", actual, year=2020) == ratio


def test_month_only_completion_counts_at_month_end():
    # conservative: "2020年12月" may have been the 20th, but cannot be shown to be before the 15th
    assert indicator_ratio("2020年12月15日前", "2020年12月") == 0


def test_deadline_actual_must_be_a_date_or_word():
    with pytest.raises(T.ActualError, match="应填写完成日期"):
        assess("2020年底前", "基本完成")
    with pytest.raises(T.ActualError, match="是数字"):
        assess("2020年底前", 44196)
    with pytest.raises(T.ActualError, match="是日期"):
        assess("3000米", dt.date(2020, 12, 1))


def test_deadline_texts():
    assert assess("2020年12月底前", dt.date(2021, 1, 5)).text == (
        "完成时间2021年1月5日，晚于指标值2020年12月31日，未按时完成"
    )


# ---- 达标 words ---------------------------------------------------------------------------

@pytest.mark.parametrize("target_text", ["达标", "合格", "完成"])
@pytest.mark.parametrize("actual, met", [
    ("达标", True), ("合格", True), ("已完成", True), ("全部完成", True),
    ("不达标", False), ("不合格", False), ("未完成", False),
])
def test_qualified_words(target_text, actual, met):
    outcome = assess(target_text, actual)
    assert outcome.kind == T.WORD and outcome.met is met and outcome.ratio == int(met)


def test_qualified_word_actual_must_be_a_word():
    with pytest.raises(T.ActualError, match="达标类"):
        assess("达标", "100%")


# ---- qualitative tiers --------------------------------------------------------------------

@pytest.mark.parametrize("tier, share, ok", [
    ("全部或基本达成预期指标", "100%", True),
    ("全部或基本达成预期指标", "80%", True),  # "100%—80%（含）"
    ("全部或基本达成预期指标", "79.99%", False),
    ("部分达成预期指标并具有一定效果", "80%", False),
    ("部分达成预期指标并具有一定效果", "79.99%", True),
    ("部分达成预期指标并具有一定效果", "60%", True),  # "80%—60%（含）"
    ("部分达成预期指标并具有一定效果", "59.99%", False),
    ("未达成预期指标且效果较差", "60%", False),
    ("未达成预期指标且效果较差", "59.99%", True),
    ("未达成预期指标且效果较差", "0%", True),
    ("全部或基本达成预期指标", "100.5%", False),
])
def test_tier_boundaries(tier, share, ok):
    if ok:
        assert indicator_ratio("明显改善", share, tier) == F(share[:-1]) / 100
    else:
        with pytest.raises(FormulaError, match="不在“"):
            indicator_ratio("明显改善", share, tier)


def test_tier_named_in_the_actual_text():
    outcome = assess("明显改善", "基本达成，85%")
    assert outcome.kind == "定性" and outcome.tier == 0 and outcome.ratio == F(85, 100) and outcome.met
    assert assess("明显改善", "部分达成 65%").tier == 1
    assert assess("明显改善", "未达成，30%").tier == 2


def test_tier_problems():
    with pytest.raises(T.IndicatorError) as caught:
        assess("明显改善", "90%", "很好")
    assert caught.value.field == "定性档次"
    with pytest.raises(T.ActualError, match="请在全年完成值中填写完成比例"):
        assess("明显改善", "基本达成", "全部或基本达成预期指标")
    with pytest.raises(T.ActualError, match="不一致"):
        assess("明显改善", "部分达成，70%", "全部或基本达成预期指标")
    with pytest.raises(T.ActualError, match="写成百分数"):
        assess("明显改善", "90", "全部或基本达成预期指标")
    with pytest.raises(T.ActualError, match="超过100%"):
        assess("明显改善", 90, "全部或基本达成预期指标")
    assert indicator_ratio("明显改善", 0.9, "全部或基本达成预期指标") == F(9, 10)


def test_edited_tiers_are_honoured():
    tiers = (Tier("全部或基本达成预期指标", F(9, 10), True, F(1), True),
             Tier("部分达成预期指标并具有一定效果", F(6, 10), True, F(9, 10), False),
             Tier("未达成预期指标且效果较差", F(0), True, F(6, 10), False))
    with pytest.raises(FormulaError, match="90%（含）—100%（含）"):
        indicator_ratio("明显改善", "85%", "全部或基本达成预期指标", tiers=tiers)


# ---- EXEC_RATE ----------------------------------------------------------------------------

def test_exec_rate():
    assert exec_rate(1080, 1200) == F(9, 10)
    assert exec_rate("1,080.00", "1200万元") == F(9, 10)
    assert exec_rate(1300, 1200) == F(13, 12)  # the column shows the real rate; the score caps it
    assert exec_rate(10.2, 10) == F(102, 100)
    for b, a, message in [(1, 0, "为0"), (1, None, "未填写"), ("abc", 1, "不是数字"), (-1, 1, "负数")]:
        with pytest.raises(FormulaError, match=message):
            exec_rate(b, a)


def test_indicator_ratio_takes_level2_for_cost():
    assert indicator_ratio("1200万元", "1080万元") == F(1080, 1200)  # no context: 正向
    assert indicator_ratio("1200万元", "1080万元", level2="成本") == F(1200, 1080)


def test_indicator_ratio_errors_are_formula_errors():
    with pytest.raises(FormulaError, match="“有效改善”"):
        indicator_ratio("有效改善", "好")


# ---- properties ---------------------------------------------------------------------------

@given(st.integers(1, 10**6), st.integers(0, 10**6), st.sampled_from(["米", "户", "万元", "个", "%"]))
def test_positive_ratio_is_exact(t, a, unit):
    assert indicator_ratio(f"≥{t}{unit}", f"{a}{unit}") == F(a, t)


@given(st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False))
def test_written_numbers_read_exactly(value):
    assert parse_quantity(f"{value:,}米").value == F(value)
