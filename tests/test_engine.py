"""The engine on whole departments: the seed end to end, every validation finding, rules as data."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from evalbook.core.ruletable import RulesSource as _Source
from evalbook.department import methods as M
from evalbook.department import rules as R
from evalbook.department.engine import evaluate
from evalbook.department.framework import seed_framework
from evalbook.workbook.serialise import evaluation_json


def RulesSource(rows, first_row=2):
    return _Source(rows, "评分规则", first_row)
from evalbook.core.findings import ERROR, HINT, CellRef

# The seed department, worked out by hand from its 基础数据表 and the assumed figures:
#   在职 20/21 = 95.24% → 5;  三公变动 (37-36)/36 = 2.78% → 2 steps × 0.8 → 3.4
#   预算完成 (1344.63+8300+2064.65-6274.16)/(1344.63+8300+2064.65) = 46.42% → 0
#   预算控制 2064.65/8300 = 24.88% → (20%,30%] → 2;  楼堂馆所: none → 5 + 5
#   公用经费 154.98/124.4 = 124.58% → 24 steps → 0;  三公控制 5.52/37 = 14.92% → 7
#   政府采购 528.91/245 = 215.88% → 23 steps × 2 → 0;  制度 8, 合规 6, 公开 5
#   重点工作 95/100 × 8 = 7.6;  效益 10;  效能 好 6;  满意度 92% → 6
SEED_SCORES = {
    "在职人员控制率": 5, "三公经费变动率": F(17, 5), "预算完成率": 0, "预算控制率": 2,
    "楼堂馆所面积控制率": 5, "楼堂馆所投资控制率": 5, "公用经费控制率": 0, "三公经费控制率": 7,
    "政府采购执行率": 0, "管理制度健全性": 8, "资金使用合规性": 6, "预决算信息公开性": 5,
    "重点工作完成率": F(38, 5), "经济社会效益": 10, "行政效能": 6, "满意度": 6,
}


def scores(evaluation):
    return {r.key: r.score for r in evaluation.indicators}


def messages(evaluation, severity=None):
    return [f.message for f in evaluation.findings if severity is None or f.severity == severity]


def test_seed_department_by_hand(seed_values):
    e = evaluate(seed_values)
    assert scores(e) == SEED_SCORES
    assert e.total == 76 and e.grade == "中"
    assert e.errors == 0
    assert e.by_key("公用经费控制率").value == F(15498, 12440)
    assert e.by_key("公用经费控制率").explanation.startswith("公用经费控制率=154.98/124.40=124.58%，超出24.58个百分点")
    # the self-score audit catches the seed's 8/8 and 6/6
    hints = messages(e, HINT)
    assert "公用经费控制率：自评8分，按数据计算应得0分" in hints
    assert "政府采购执行率：自评6分，按数据计算应得0分" in hints
    assert "预算完成率：自评1分，按数据计算应得0分" in hints
    assert e.self_total == F(183, 2)


def test_missing_input_is_pending_not_zero(seed_values):
    seed_values.pop("年末结余")
    e = evaluate(seed_values)
    assert e.by_key("预算完成率").score is None
    assert "缺少预算完成率所需的输入" in e.by_key("预算完成率").explanation
    assert e.total is None and e.grade is None
    assert evaluation_json(e)["total"] is None
    assert evaluation_json(e)["indicators"][2]["score"] is None


def test_a_gap_is_one_error_naming_the_cell_the_name_and_every_indicator_needing_it(seed_values):
    # 年初预算 feeds both 预算完成率 and 预算控制率: one finding, listing both
    seed_values.pop("年初预算")
    seed_values["满意度"] = "\u3000"  # a full-width space is not a figure
    e = evaluate(seed_values, {"年初预算": CellRef("基础数据表", "B31"), "满意度": CellRef("评分表", "L27")})
    gaps = [f for f in e.findings if f.name in ("年初预算", "满意度")]
    assert [(f.severity, f.sheet, f.cell, f.name, f.message) for f in gaps] == [
        (ERROR, "基础数据表", "B31", "年初预算",
         "基础数据表!B31（年初预算）未填写，预算完成率、预算控制率需要此项数据，暂不计分"),
        (ERROR, "评分表", "L27", "满意度", "评分表!L27（满意度）只有空格，视为未填写，满意度需要此项数据，暂不计分"),
    ]
    assert e.errors == 2
    assert [i for i in evaluation_json(e)["issues"] if i["name"] == "年初预算"] == [
        {"severity": "错误", "sheet": "基础数据表", "cell": "B31", "name": "年初预算",
         "message": "基础数据表!B31（年初预算）未填写，预算完成率、预算控制率需要此项数据，暂不计分"}]


def test_a_blank_that_means_no_project_is_not_a_gap(seed_values):
    for name in ("楼堂馆所_批复规模", "楼堂馆所_实际规模", "楼堂馆所_预算投资", "楼堂馆所_实际投资"):
        seed_values.pop(name, None)
    assert evaluate(seed_values).errors == 0


def test_unreadable_text_is_an_error_quoting_it(seed_values):
    seed_values["公用经费_本年决算"] = "约155"
    e = evaluate(seed_values)
    assert any("“约155”不是数字" in m for m in messages(e, ERROR))
    assert e.by_key("公用经费控制率").score is None


@pytest.mark.parametrize("part, value", [("公务接待_本年决算", 2.01), ("公车运行维护_本年预算", 17)])
def test_sums_must_add_up(seed_values, part, value):
    seed_values[part] = value
    e = evaluate(seed_values)
    errors = messages(e, ERROR)
    assert any("合计为" in m and "相差" in m for m in errors), errors


def test_sum_within_one_cent_passes(seed_values):
    seed_values["公务接待_本年决算"] = 1.02  # 5.52 stated vs 5.53 computed: 0.01 tolerated
    assert evaluate(seed_values).errors == 0


def test_negative_and_fractional_headcount(seed_values):
    seed_values["办公经费_本年预算"] = -40
    seed_values["实际在职人数"] = 20.5
    errors = messages(evaluate(seed_values), ERROR)
    assert any("为负数" in m for m in errors)
    assert any("人数应为整数" in m for m in errors)


def test_negative_supplement_budget_counts_as_zero(seed_values):
    seed_values["本年追加预算"] = -100
    e = evaluate(seed_values)
    assert e.by_key("预算控制率").score == 5
    assert "按0%计" in e.by_key("预算控制率").explanation


def test_zero_denominator_names_the_cell(seed_values):
    seed_values["编制数"] = 0
    e = evaluate(seed_values, refs=None)
    assert e.by_key("在职人员控制率").score is None
    assert any("编制数为0" in m for m in messages(e, ERROR))


def test_satisfaction_outside_range_suggests_percent(seed_values):
    seed_values["满意度"] = 92
    e = evaluate(seed_values)
    assert e.by_key("满意度").score is None
    assert any("应在0%至100%之间" in m and "请填写为92%" in m for m in messages(e, ERROR))


def test_benefit_score_above_weight(seed_values):
    seed_values["效益得分"] = 11
    e = evaluate(seed_values)
    assert e.by_key("经济社会效益").score is None
    assert any("超过本指标分值10" in m for m in messages(e, ERROR))


def test_excel_error_value_in_input(seed_values):
    from evalbook.core.numbers import ExcelError

    seed_values["三公经费_本年预算"] = ExcelError("#DIV/0!")
    e = evaluate(seed_values)
    assert any("#DIV/0!" in m for m in messages(e, ERROR))
    assert e.by_key("三公经费控制率").score is None
    assert e.by_key("三公经费变动率").score is None


def test_plausibility_hints(seed_values):
    seed_values["政府采购_本年决算"] = 900  # 367%
    seed_values["年末结余"] = 20000
    hints = messages(evaluate(seed_values), HINT)
    assert any("超过300%" in m for m in hints)
    assert any("超过可用资金" in m for m in hints)


def test_no_building_project_full_marks_but_half_filled_is_missing(seed_values):
    assert evaluate(seed_values).by_key("楼堂馆所面积控制率").score == 5
    seed_values["楼堂馆所_批复规模"] = 1000
    e = evaluate(seed_values)
    assert e.by_key("楼堂馆所面积控制率").score is None
    seed_values["楼堂馆所_实际规模"] = 1060  # 106%: one whole 5% step → 3
    assert evaluate(seed_values).by_key("楼堂馆所面积控制率").score == 3


def test_checklist_wrong_word_and_grade_wrong_word(seed_values):
    seed_values["管理制度_2"] = "大概"
    seed_values["行政效能"] = "很好"
    e = evaluate(seed_values)
    assert e.by_key("管理制度健全性").score is None
    assert e.by_key("行政效能").score is None
    assert len(messages(e, ERROR)) == 2


def test_key_work_score_above_total(seed_values):
    seed_values["重点工作考核得分"] = 120
    assert evaluate(seed_values).by_key("重点工作完成率").score is None


def rows_with(key, column, value):
    rows = [list(r) for r in seed_framework().rule_rows()]
    row = next(r for r in rows if r[0] == key)
    row[R.COLUMNS.index(column)] = value
    return [tuple(r) for r in rows]


def test_editing_rules_changes_scores(seed_values):
    rows = rows_with("公用经费控制率", "每步分值", "0.25")  # 24 steps × 0.25 = 6 → 2 left
    e = evaluate(seed_values, rules_source=RulesSource(rows))
    assert e.by_key("公用经费控制率").score == 2
    assert e.total == 78


def test_malformed_rule_row_is_not_replaced_by_default(seed_values):
    rows = rows_with("公用经费控制率", "步长", "一个点")
    e = evaluate(seed_values, rules_source=RulesSource(rows, first_row=3))
    assert e.by_key("公用经费控制率").score is None
    problem = next(f for f in e.findings if f.sheet == "评分规则")
    assert problem.severity == ERROR and problem.cell == "E9" and "“步长”" in problem.message


def test_rule_method_must_suit_indicator(seed_values):
    rows = rows_with("管理制度健全性", "计分方法", M.OVER)
    e = evaluate(seed_values, rules_source=RulesSource(rows))
    assert e.by_key("管理制度健全性").score is None
    assert any("不适用于本指标" in m for m in messages(e, ERROR))


def test_missing_and_duplicate_rule_rows(seed_values):
    rows = [r for r in seed_framework().rule_rows() if r[0] != "满意度"] + [seed_framework().rule_rows()[0]]
    e = evaluate(seed_values, rules_source=RulesSource(rows))
    assert e.by_key("满意度").score is None
    assert e.by_key("在职人员控制率").score is None
    errors = messages(e, ERROR)
    assert any("缺少指标“满意度”" in m for m in errors)
    assert any("重复出现" in m for m in errors)


def test_weights_not_summing_to_100_is_a_hint(seed_values):
    rows = rows_with("在职人员控制率", "分值", "8")
    e = evaluate(seed_values, rules_source=RulesSource(rows))
    assert any("合计为103分" in m for m in messages(e, HINT))


def test_json_shape(seed_values):
    d = evaluation_json(evaluate(seed_values))
    assert set(d) >= {"indicators", "total", "grade", "issues"}
    first = d["indicators"][6]
    assert first["key"] == "公用经费控制率" and first["weight"] == 8 and first["score"] == 0
    assert first["rate"] == pytest.approx(1.245820, abs=1e-6)
    assert first["self_score"] == 8
    assert set(d["issues"][0]) == {"severity", "sheet", "cell", "name", "message"}
