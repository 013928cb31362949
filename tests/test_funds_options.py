"""The fund rule options found in use elsewhere: off by default (today's scoring), each worked by hand."""

from __future__ import annotations

from fractions import Fraction as F

from evalbook.core.ruletable import RulesSource
from evalbook.funds import DEFAULT_FUND_RULE_ROWS, evaluate_funds, read_fund_rules
from evalbook.funds.model import MoneyRow
from evalbook.funds.rules import CAP_KEY, GRADES_KEY, MOVE_KEY, OVERRUN_KEY, REQUIRED_KEYS

from test_funds_forms import small_fund
from test_funds_rules import rows_with


def score(fund, rows=DEFAULT_FUND_RULE_ROWS):
    report = evaluate_funds([fund], RulesSource(rows, "评分规则"))
    return report.results[0], report


def test_every_option_is_off_by_default_and_old_tables_without_them_still_read():
    rules = read_fund_rules(DEFAULT_FUND_RULE_ROWS)
    assert (rules.move_missing_level, rules.overrun, rules.caps) == (False, None, ())
    old = [r for r in DEFAULT_FUND_RULE_ROWS if r[0] in REQUIRED_KEYS]
    assert read_fund_rules(old).problems == []


def test_no_satisfaction_indicator_moves_its_weight_to_benefit_when_asked():
    fund = small_fund()
    fund.indicators[26].name = fund.indicators[26].target = fund.indicators[26].actual = None  # no 满意度 row
    result, _ = score(fund)
    assert result.total is None and result.gaps  # today: 满意度指标 unscored, total pending
    result, report = score(fund, rows_with(MOVE_KEY, "完成比例区间", "是"))
    benefit = next(i for i in result.indicators if i.level1 == "效益")
    assert benefit.weight == 40  # 30 + the 10 of 满意度指标
    assert result.total == 100 and not result.gaps
    assert not [f for f in report.findings if f.severity == "错误"]


def test_an_overrun_of_30_percent_loses_two_points_when_asked():
    fund = small_fund()
    fund.indicators[0].actual = "3900米"  # 3900/3000 = 130%: exactly the threshold
    result, _ = score(fund)
    assert result.indicator(1).score == 50
    result, _ = score(fund, rows_with(OVERRUN_KEY, "完成比例区间", "130%:2"))
    assert result.indicator(1).score == 48 and "扣2分" in result.indicator(1).explanation
    fund.indicators[0].actual = "3899米"  # 129.97%: below the threshold, no deduction
    result, _ = score(fund, rows_with(OVERRUN_KEY, "完成比例区间", "130%:2"))
    assert result.indicator(1).score == 50


def test_the_total_is_capped_by_the_execution_rate_when_asked():
    caps = "[70%,80%):89；[60%,70%):79；[50%,60%):69；<50%:59"
    fund = small_fund(total=MoneyRow(100, 75), higher=MoneyRow(60, 45), county=MoneyRow(40, 30))
    result, _ = score(fund)
    assert result.total == F(195, 2)  # 10 × 75% + 50 + 30 + 10 = 97.5
    result, _ = score(fund, rows_with(CAP_KEY, "完成比例区间", caps))
    assert result.total == 89 and "不超过89分" in result.exec_explanation
    fund = small_fund(total=MoneyRow(100, 49), higher=MoneyRow(60, 29), county=MoneyRow(40, 20))
    result, _ = score(fund, rows_with(CAP_KEY, "完成比例区间", caps))
    assert result.total == 59  # 4.9 + 90 = 94.9, capped below 50%


def test_fund_grades_follow_the_rule_row():
    result, report = score(small_fund(), rows_with(GRADES_KEY, "完成比例区间", "优:101；良:80；中:60；差:0"))
    assert result.total == 100 and result.grade == "良" and report.summary.grade == "良"


def test_a_malformed_option_is_reported_with_its_cell_and_stays_off():
    rows = rows_with(OVERRUN_KEY, "完成比例区间", "很多")
    _, report = score(small_fund(), rows)
    problem = next(f for f in report.findings if f.name == OVERRUN_KEY)
    row = 2 + [r[0] for r in rows].index(OVERRUN_KEY)
    assert problem.severity == "错误" and problem.cell == f"C{row}" and "不启用" in problem.message
