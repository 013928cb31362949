"""专项资金自评表 end to end: the seed's form filled for two funds, scored by hand below."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from evalbook.core.findings import CellRef
from evalbook.funds import (
    FundInput, evaluate_fund, evaluate_funds, fund_input_keys, fund_input_names, fund_names, fund_output_keys,
    fund_output_names, summary_names,
)
from evalbook.funds import names as N
from evalbook.funds.model import PENDING, IndicatorRow, MoneyRow

from test_funds_forms import sewage, small_fund, waterworks

# ---- fund 1: 湘江水厂提质扩容改造项目 -------------------------------------------------------
# 预算执行率: 1080/1200 = 90%                                           10 × 0.9      = 9
# 产出 50 over 8 indicators = 6.25 each
#   1 新增管道长度 3842米/3000米 = 128.07% → capped                                    6.25
#   2 新增供水用户 2005户/2000户 = 100.25% → capped                                    6.25
#   3 主体构筑物完工数 6个/7个 = 85.71%                           6.25 × 6/7 = 75/14 ≈ 5.36
#   4 水质综合合格率 1.0 (a 100% cell) / 100% → exactly                                6.25
#   5 管网水压合格率 100%/95% → capped                                                 6.25
#   7 主体工程完工时间 2020-12-20 ≤ 2020年12月底                                       6.25
#   8 爆管抢修更换时限 ≤15天, 15天 → 反向 15/15                                        6.25
#  10 项目总投资 成本 "1200万元" (no ≤: a ceiling) / 1080 → 111.11% → capped           6.25
#                                                                  产出 = 43.75 + 75/14 = 1375/28
# 效益 30 over 4 = 7.5 each
#  14 供水产销率 64%/70% = 91.43%                                   7.5 × 32/35 = 48/7 ≈ 6.86
#  17 全年供水总产量 1008万吨/1000万吨 → capped                                        7.5
#  20 饮用水源保护成效: 全部或基本达成, 90%                          7.5 × 0.9       = 6.75
#  23 设备完好率 99%/98% → capped                                                      7.5
#                                                                  效益 = 21.75 + 48/7 = 801/28
# 满意度 10: 95%/90% → capped                                                          10
# total = 9 + 1375/28 + 801/28 + 10 = 19 + 544/7 = 677/7 ≈ 96.71 → 优
FUND1_TOTAL = F(677, 7)

# ---- fund 2: 乡镇污水处理项目 ---------------------------------------------------------------
# 预算执行率: 1500/2000 = 75%                                           10 × 0.75     = 7.5
# 产出 50 over 4 = 12.5 each: 17/17 个 12.5; 通水 0个/2个 0; 验收 合格 12.5; 年底前 已完成 12.5
#                                                                                产出 = 37.5
# 效益 30, typed 分值: 城镇污水处理率 20 (96%/70% capped) = 20; 人居环境 10 × 70% (部分达成) = 7
#                                                                                效益 = 27
# 满意度 10: 88%/90%                                                    10 × 44/45 = 88/9 ≈ 9.78
# total = 7.5 + 37.5 + 27 + 88/9 = 736/9 ≈ 81.78 → 良
FUND2_TOTAL = F(736, 9)

# ---- department -----------------------------------------------------------------------------
# ΣA = 3200, ΣB = 2580, 执行率 = 2580/3200 = 80.625%
# 得分 = (677/7 × 1200 + 736/9 × 2000) / 3200 = 44039/504 ≈ 87.38 → 良
DEPARTMENT_SCORE = F(44039, 504)


@pytest.fixture(scope="module")
def report():
    return evaluate_funds([waterworks(), sewage()])


def test_fund1_scored_by_hand(report):
    fund = report.results[0]
    assert fund.exec_rate == F(9, 10)
    assert fund.exec_score == 9
    assert fund.exec_explanation == "执行率=全年执行数1080.00/全年预算数1200.00=90.00%，得10×90.00%=9分"
    scores = {i.row: i.score for i in fund.indicators}
    assert scores == {
        1: F(25, 4), 2: F(25, 4), 3: F(75, 14), 4: F(25, 4), 5: F(25, 4), 7: F(25, 4), 8: F(25, 4),
        10: F(25, 4), 14: F(48, 7), 17: F(15, 2), 20: F(27, 4), 23: F(15, 2), 27: F(10),
    }
    assert fund.total == FUND1_TOTAL
    assert fund.grade == "优"


def test_fund1_explanations(report):
    fund = report.results[0]
    text = {i.row: i.explanation for i in fund.indicators}
    assert text[1] == "数量指标“新增管道长度”：完成值3842米/指标值3000米=128.07%，按100%计，得6.25分"
    assert text[3] == "数量指标“主体构筑物完工数”：完成值6个/指标值7个=85.71%，得6.25×85.71%=5.36分"
    assert text[4] == "质量指标“水质综合合格率”：完成值100%/指标值100%=100.00%，得满分6.25分"
    assert text[7] == "时效指标“主体工程完工时间”：完成时间2020年12月20日，未晚于指标值2020年12月31日，得满分6.25分"
    assert text[8] == "时效指标“爆管抢修更换时限”：指标值15天/完成值15天=100.00%（反向指标，越低越好），得满分6.25分"
    assert "成本指标未写比较符，按“≤”反向计" in text[10]
    assert text[14] == "经济效益指标“供水产销率”：完成值64%/指标值70%=91.43%，得7.5×91.43%=6.86分"
    assert text[17] == "社会效益指标“全年供水总产量”：完成值1008万吨/指标值1000万吨=100.80%，按100%计，得7.5分"
    assert text[20] == (
        "生态效益指标“饮用水源保护成效”：评定为“全部或基本达成预期指标”，完成比例90%，得7.5×90.00%=6.75分"
    )


def test_fund2_scored_by_hand(report):
    fund = report.results[1]
    assert fund.exec_score == F(15, 2)
    scores = {i.row: i.score for i in fund.indicators}
    assert scores == {1: F(25, 2), 2: 0, 4: F(25, 2), 7: F(25, 2), 17: 7, 20: 20, 27: F(88, 9)}
    weights = {i.row: i.weight for i in fund.indicators}
    assert weights[17] == 10 and weights[20] == 20
    assert fund.total == FUND2_TOTAL
    assert fund.grade == "良"
    text = {i.row: i.explanation for i in fund.indicators}
    assert text[2] == "数量指标“通水运营站点数”：完成值0个/指标值2个=0.00%，得0分"
    assert text[4] == "质量指标“主体工程验收”：指标值“合格”，完成值“合格”，已达成，得满分12.5分"
    assert text[7] == "时效指标“主体工程完工时间”：完成值“已完成”，视为在时限2020年12月31日前完成，得满分12.5分"
    assert text[17] == (
        "社会效益指标“乡镇人居环境改善”：评定为“部分达成预期指标并具有一定效果”，完成比例70%，得10×70.00%=7分"
    )
    assert text[27] == "服务对象满意度指标“服务对象满意度”：完成值88%/指标值90%=97.78%，得10×97.78%=9.78分"


def test_clean_forms_have_no_findings(report):
    assert report.findings == []


def test_department_summary(report):
    summary = report.summary
    assert summary.budget == 3200
    assert summary.spent == 2580
    assert summary.rate == F(2580, 3200)
    assert summary.score == DEPARTMENT_SCORE
    assert summary.grade == "良"
    assert summary.score_text == (
        "部门专项资金得分=Σ(各专项得分×全年预算数)/全年预算数合计=(96.71×1200.00+81.78×2000.00)/3200.00=87.38分"
    )
    assert summary.table() == [
        (1, "湘江水厂提质扩容改造项目", 1200.0, 1080.0, 0.9, 96.71, "优"),
        (2, "乡镇污水处理项目", 2000.0, 1500.0, 0.75, 81.78, "良"),
    ]


def test_department_satisfaction_weighted_by_fund_amount(report):
    merged = {m.name: m for m in report.summary.indicators}
    satisfaction = merged["服务对象满意度"]
    # (95% × 1200 + 88% × 2000) / 3200 = 29/32; the targets are both 90%
    assert satisfaction.actual == F(29, 32)
    assert satisfaction.target == F(9, 10)
    assert satisfaction.funds == (1, 2)
    assert satisfaction.row() == (
        "满意度", "服务对象满意度", "服务对象满意度", "90%", "90.63%", "按资金额度加权平均", "专项1、专项2",
    )
    # a duration limit is not something to add up, even within one fund's list
    assert "爆管抢修更换时限" not in merged


def test_outputs_follow_the_names(report):
    out = report.outputs()
    assert out["专项1_得分"] == 96.71
    assert out["专项1_等级"] == "优"
    assert out["专项2_得分"] == 81.78
    assert out["专项1_年度资金总额_执行率"] == 0.9
    assert out["专项1_中央省市补助_执行率"] == 0.95
    assert out["专项1_预算执行率_得分"] == 9
    assert out["专项1_指标3_得分"] == 5.36
    assert out["专项1_指标3_完成率"] == pytest.approx(6 / 7)
    assert out["专项1_指标6_得分"] is None  # an unused row is cleared
    assert out["专项汇总_得分"] == 87.38
    assert out["专项汇总_等级"] == "良"
    assert out["专项汇总_执行率"] == 0.80625
    assert out["专项汇总_专项个数"] == 2
    expected = set(fund_output_keys(1)) | set(fund_output_keys(2)) | {
        N.summary_name(f) for f in N.SUMMARY_FIELDS
    }
    assert set(out) == expected


def test_as_dict_is_plain(report):
    from evalbook.workbook.serialise import fund_json

    data = fund_json(report.results[0])
    assert data["total"] == 96.71 and data["grade"] == "优"
    assert data["indicators"][0]["score"] == 6.25


# ---- names --------------------------------------------------------------------------------

def test_fund_names_examples_and_counts():
    names = fund_names(1)
    for example in ("专项1_年度资金总额_预算数", "专项1_指标表_完成值", "专项1_指标表_未完成原因和改进措施",
                    "专项1_中央省市补助_执行数", "专项1_说明", "专项1_得分", "专项1_等级",
                    "专项1_预算执行率_扣分说明", "专项1_指标表_定性档次", "专项1_指标表_分值", "专项1_指标表_得分"):
        assert example in names
    assert len(set(names)) == len(names)
    # one name per column of the indicator table (8 inputs, 3 outputs), not one per cell
    assert len(fund_input_names(1)) == 4 + 8 + 2 + 8 + 1
    assert len(fund_output_names(1)) == 4 + 2 + 3 + 2
    # the keys the engine reads and writes by stay one per cell (and name the cells of older workbooks)
    keys = fund_input_keys(1) + fund_output_keys(1)
    assert "专项1_指标3_完成值" in keys and "专项1_指标30_未完成原因和改进措施" in keys
    assert len(fund_input_keys(1)) == 4 + 8 + 2 + 30 * 8 + 1
    assert len(fund_output_keys(1)) == 4 + 2 + 30 * 3 + 2
    assert not set(fund_names(1)) & set(fund_names(11))  # 专项1_ vs 专项11_ never collide
    assert not set(keys) & set(fund_input_keys(11) + fund_output_keys(11))
    assert "专项汇总_得分" in summary_names() and "专项评分规则表" in summary_names()


def test_layout_follows_the_seed_form():
    assert N.INDICATOR_ROWS == 30
    assert N.INDICATOR_LAYOUT[0] == ("产出", "数量")
    assert N.INDICATOR_LAYOUT[12] == ("产出", "")  # the seed's "……" row
    assert N.INDICATOR_LAYOUT[26] == ("满意度", "服务对象满意度")


def test_input_read_through_defined_names_scores_the_same():
    fund = waterworks()
    raw = {}
    for item, row in fund.money_rows():
        raw[N.money_name(1, item, N.BUDGET)] = row.budget
        raw[N.money_name(1, item, N.SPENT)] = row.spent
    for field, value in fund.header().items():
        raw[N.header_name(1, field)] = value
    raw[N.header_name(1, "年初设定目标")] = fund.goal_planned
    raw[N.header_name(1, "全年实际完成情况")] = fund.goal_achieved
    raw[N.header_name(1, "说明")] = fund.remarks
    attrs = {N.LEVEL1: "level1", N.LEVEL2: "level2", N.LEVEL3: "name", N.TARGET: "target", N.ACTUAL: "actual",
             N.TIER: "tier", N.POINTS: "points", N.REASON: "reason"}
    for k, row in enumerate(fund.indicators, start=1):
        for field, attr in attrs.items():
            raw[N.indicator_name(1, k, field)] = getattr(row, attr)
    assert set(raw) == set(fund_input_keys(1))
    again = FundInput.from_names(1, raw, year=2020)
    assert evaluate_fund(again).total == FUND1_TOTAL


def test_blank_blocks_are_skipped():
    empty = FundInput.from_names(3, {N.indicator_name(3, 1, N.LEVEL1): "产出指标"})
    assert empty.is_blank()
    report = evaluate_funds([waterworks(), empty])
    assert [r.number for r in report.results] == [1]
    assert report.summary.score == FUND1_TOTAL
    assert report.summary.score_text == "仅一个专项，部门专项资金得分即专项1得分96.71分"
    out = report.outputs()
    assert out["专项3_得分"] is None and out["专项3_指标1_扣分说明"] is None  # stale values cleared
    assert out["专项1_得分"] == 96.71


def test_refs_place_findings_on_cells():
    fund = waterworks()
    fund.indicators[2].actual = None
    name = "专项1_指标3_完成值"
    report = evaluate_funds([fund], refs={name: CellRef("专项资金自评表", "G20")})
    (hit,) = [f for f in report.findings if f.name == name]
    assert (hit.sheet, hit.cell, hit.severity) == ("专项资金自评表", "G20", "错误")
    assert report.results[0].total is None
    assert report.outputs()["专项1_得分"] == PENDING
    assert report.summary.score is None
    assert "专项1得分待补充" in report.summary.score_text


# ---- aggregation --------------------------------------------------------------------------

def _with_pipes(number: int, target, actual, budget) -> FundInput:
    fund = small_fund(number, total=MoneyRow(budget, budget), higher=MoneyRow(budget, budget),
                      county=MoneyRow(None, None))
    fund.indicators[0].target, fund.indicators[0].actual = target, actual
    return fund


def test_absolute_values_are_added_across_units():
    report = evaluate_funds([
        _with_pipes(1, "3000米", "3842米", 100),
        _with_pipes(2, "≥2公里", "2.5公里", 300),
    ])
    merged = {m.name: m for m in report.summary.indicators}
    pipes = merged["新增管道长度"]
    assert (pipes.target, pipes.actual, pipes.unit, pipes.method) == (5000, 6342, "米", "累加")
    # 供水产销率 70%/70% in both funds: weighted average stays 70%
    assert merged["供水产销率"].actual == F(7, 10)


def test_relative_values_weighted_by_budget_not_averaged():
    one = small_fund(1, total=MoneyRow(100, 100), higher=MoneyRow(100, 100), county=MoneyRow(None, None))
    two = small_fund(2, total=MoneyRow(300, 300), higher=MoneyRow(300, 300), county=MoneyRow(None, None))
    one.indicators[26].actual = "80%"
    two.indicators[26].actual = "100%"
    merged = {m.name: m for m in evaluate_funds([one, two]).summary.indicators}
    # (80% × 100 + 100% × 300) / 400 = 95%, not the plain mean 90%
    assert merged["服务对象满意度"].actual == F(95, 100)


def test_amounts_keep_the_scale_they_were_written_with():
    report = evaluate_funds([
        _with_pipes(1, "1000万吨", "1008万吨", 100),
        _with_pipes(2, "≥500万吨", "520万吨", 300),
    ])
    pipes = {m.name: m for m in report.summary.indicators}["新增管道长度"]
    assert pipes.row()[3:6] == ("1500万吨", "1528万吨", "累加")  # not "15000000吨"
    # written differently in the two funds: the base unit, exactly
    mixed = evaluate_funds([_with_pipes(1, "1000万吨", "1008万吨", 100), _with_pipes(2, "5吨", "5吨", 300)])
    assert {m.name: m for m in mixed.summary.indicators}["新增管道长度"].row()[3:5] == ("10000005吨", "10080005吨")


def test_mismatched_units_are_not_merged():
    report = evaluate_funds([_with_pipes(1, "3000米", "3000米", 100), _with_pipes(2, "30户", "30户", 100)])
    assert "新增管道长度" not in {m.name for m in report.summary.indicators}
    assert any("单位或方向不一致" in note for note in report.summary.notes)


def test_department_rate_is_ratio_of_sums():
    one = small_fund(1, total=MoneyRow(100, 50), higher=MoneyRow(60, 30), county=MoneyRow(40, 20))
    two = small_fund(2, total=MoneyRow(300, 300), higher=MoneyRow(300, 300), county=MoneyRow(None, None))
    summary = evaluate_funds([one, two]).summary
    assert summary.rate == F(350, 400)  # not (50% + 100%) / 2
    # fund 1: 5 + 50 + 30 + 10 = 95; fund 2: 100 → (95 × 100 + 100 × 300) / 400
    assert summary.score == F(95 * 100 + 100 * 300, 400)


def test_department_totals_wait_for_missing_budget():
    one = small_fund(1, total=MoneyRow(None, 50), higher=MoneyRow(None, None), county=MoneyRow(None, None))
    summary = evaluate_funds([one, small_fund(2)]).summary
    assert summary.budget is None and summary.rate is None and summary.score is None
    assert any("专项1的全年预算数" in note for note in summary.notes)


def test_indicator_row_defaults():
    assert not IndicatorRow(level1="产出指标", level2="数量指标").filled()
    assert IndicatorRow(points=5).filled()


# ---- grades on exact totals ---------------------------------------------------------------

@pytest.mark.parametrize("sales, total, grade", [
    ("70%", F(90), "优"),  # 10 + 50 + 30 + 0
    ("69.99%", 90 - F(30) * F(1, 7000), "良"),  # 89.9957…: shown as 90, graded 良
])
def test_grade_is_decided_on_the_exact_total(sales, total, grade):
    fund = small_fund()
    fund.indicators[13].actual, fund.indicators[13].reason = sales, "原因"
    fund.indicators[26].actual, fund.indicators[26].reason = "0%", "原因"
    result = evaluate_fund(fund)
    assert result.total == total
    assert result.grade == grade
    assert result.outputs()["专项1_得分"] == 90.0
