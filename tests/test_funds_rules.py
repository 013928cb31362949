"""The fund rule rows: defaults as sheet text, edits honoured, malformed rows reported."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from evalbook.core.ruletable import RulesSource
from evalbook.funds import DEFAULT_FUND_RULE_ROWS, evaluate_fund, evaluate_funds, read_fund_rules


def FundRulesSource(rows, first_row=2):
    return RulesSource(rows, "评分规则", first_row)
from evalbook.funds.rules import FUND_GENERAL_NOTES, FUND_RULE_COLUMNS, default_fund_rules, parse_interval

from test_funds_forms import sewage, small_fund, waterworks


def rows_with(key, column, value):
    index = FUND_RULE_COLUMNS.index(column)
    rows = [list(r) for r in DEFAULT_FUND_RULE_ROWS]
    for row in rows:
        if row[0] == key:
            row[index] = value
    return [tuple(r) for r in rows]


def test_defaults_are_text_rows_read_like_the_sheet():
    assert all(isinstance(c, str) for row in DEFAULT_FUND_RULE_ROWS for c in row)
    assert all(len(row) == len(FUND_RULE_COLUMNS) for row in DEFAULT_FUND_RULE_ROWS)
    rules = default_fund_rules()
    assert rules.problems == []
    assert rules.exec_weight == 10
    assert rules.level_weights == {"产出": 50, "效益": 30, "满意度": 10}
    assert rules.total_weight == 100
    first, second, third = rules.tiers
    assert (first.low, first.low_closed, first.high, first.high_closed) == (F(4, 5), True, 1, True)
    assert (second.low, second.low_closed, second.high, second.high_closed) == (F(3, 5), True, F(4, 5), False)
    assert (third.low, third.low_closed, third.high, third.high_closed) == (0, True, F(3, 5), False)


def test_notes_rows_are_skipped():
    rows = list(DEFAULT_FUND_RULE_ROWS) + [(line,) for line in FUND_GENERAL_NOTES]
    assert read_fund_rules(rows).problems == []


def test_edited_weights_are_used():
    rows = rows_with("产出指标", "分值", "40")
    rows = [r if r[0] != "效益指标" else ("效益指标", "40") + r[2:] for r in rows]
    report = evaluate_funds([small_fund()], FundRulesSource(rows))
    assert report.findings == []  # still 100 in all
    assert report.results[0].indicator(1).weight == 40
    assert report.results[0].indicator(14).weight == 40


def test_weights_not_adding_to_100_is_a_hint():
    report = evaluate_funds([small_fund()], FundRulesSource(rows_with("满意度指标", "分值", "20")))
    (hit,) = report.findings
    assert hit.severity == "提示" and "合计为110分" in hit.message
    assert report.results[0].total == 110


@pytest.mark.parametrize("key, column, value, words", [
    ("产出指标", "分值", "五十", "“分值”的内容“五十”不是数字"),
    ("产出指标", "分值", "", "“分值”未填写"),
    ("预算执行率", "分值", "0", "“分值”应大于0"),
    ("部分达成预期指标并具有一定效果", "完成比例区间", "60%-80%", "应写成如“[80%,100%]”"),
    ("部分达成预期指标并具有一定效果", "完成比例区间", "[60,80)", "请写成百分数"),
    ("全部或基本达成预期指标", "完成比例区间", "[80%,120%]", "0%至100%之间"),
    ("全部或基本达成预期指标", "完成比例区间", "[80%,80%)", "不含任何比例"),
])
def test_malformed_rows_are_reported_with_their_cell(key, column, value, words):
    rows = rows_with(key, column, value)
    report = evaluate_funds([small_fund()], FundRulesSource(rows, 20))
    (hit,) = [f for f in report.findings if f.sheet == "评分规则"]
    assert hit.severity == "错误" and words in hit.message
    row_number = 20 + [r[0] for r in rows].index(key)
    column_letter = "ABCD"[FUND_RULE_COLUMNS.index(column)]
    assert hit.cell == f"{column_letter}{row_number}"
    assert hit.name == key


def test_broken_level_row_leaves_its_indicators_unscored_no_fallback():
    report = evaluate_funds([small_fund()], FundRulesSource(rows_with("产出指标", "分值", "abc")))
    result = report.results[0]
    assert result.indicator(1).score is None
    assert "评分规则中“产出指标”行有误" in result.indicator(1).explanation
    assert result.indicator(14).score == 30
    assert result.total is None


def test_broken_exec_row():
    report = evaluate_funds([small_fund()], FundRulesSource(rows_with("预算执行率", "分值", "x")))
    result = report.results[0]
    assert result.exec_score is None and "评分规则" in result.exec_explanation
    assert result.exec_rate == 1


def test_broken_tier_row_stops_qualitative_rows_only():
    rows = rows_with("未达成预期指标且效果较差", "完成比例区间", "低")
    report = evaluate_funds([waterworks()], FundRulesSource(rows))
    result = report.results[0]
    assert result.indicator(20).score is None  # qualitative, though its tier row is fine
    assert "定性档次区间有误" in result.indicator(20).explanation
    assert result.indicator(1).score == F(25, 4)


def test_edited_tier_intervals_are_used():
    rows = rows_with("全部或基本达成预期指标", "完成比例区间", "[95%,100%]")
    report = evaluate_funds([waterworks()], FundRulesSource(rows))
    hits = [f for f in report.findings if f.name == "专项1_指标20_完成值"]
    assert len(hits) == 1 and "95%（含）—100%（含）" in hits[0].message


def test_missing_duplicate_and_unknown_rows():
    rows = [r for r in DEFAULT_FUND_RULE_ROWS if r[0] != "满意度指标"]
    rows.append(("产出指标", "40", "", ""))
    rows.append(("投入指标", "10", "", ""))
    rules = read_fund_rules(rows)
    messages = [p.message for p in rules.problems]
    assert any("缺少“满意度指标”行" in m for m in messages)
    assert any("重复出现（第3行已有）" in m for m in messages)
    assert any("“投入指标”不是" in m for m in messages)
    assert "产出" not in rules.level_weights  # which of the two was meant is unknown
    missing = [p for p in rules.problems if p.row == 0]
    report = evaluate_funds([small_fund()], FundRulesSource(rows))
    assert any(f.cell == "" and "缺少“满意度指标”行" in f.message for f in report.findings)
    assert len(missing) == 1


def test_rules_apply_to_every_fund():
    report = evaluate_funds([waterworks(), sewage()], FundRulesSource(rows_with("预算执行率", "分值", "x")))
    assert all(r.exec_score is None for r in report.results)
    assert report.summary.score is None


def test_parse_interval_accepts_full_width_brackets():
    tier = parse_interval("x", "［80%，100%］")
    assert (tier.low, tier.high, tier.low_closed, tier.high_closed) == (F(4, 5), 1, True, True)


def test_evaluate_fund_takes_rules_directly():
    rules = read_fund_rules(rows_with("满意度指标", "分值", "20"))
    assert evaluate_fund(small_fund(), rules).total == 110
