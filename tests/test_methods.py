"""Every scoring method at its boundaries, against answers worked out by hand from the rules."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from evalbook.department import methods as M
from evalbook.department import rules as R
from evalbook.department.framework import seed_framework
from evalbook.core.numbers import read_number


def rule(key: str, **changes) -> R.Rule:
    row = list(next(r for r in seed_framework().rule_rows() if r[0] == key))
    for column, value in changes.items():
        row[R.COLUMNS.index(column)] = value
    return parse(row)


def parse(row, row_number: int = 2) -> R.Rule:
    return R.parse_rule(seed_framework().by_key[row[0]], dict(zip(R.COLUMNS, row)), row_number)


def score_rate(rule: R.Rule, value: F) -> M.Scored:
    """A rate scored through the one dispatcher, as the engine and the UDFs score it."""
    return M.score(rule, M.Measurement(value, None))


def checklist(rule: R.Rule, answers: list[int]) -> M.Scored:
    return M.score(rule, M.Measurement(None, None, answers=tuple(answers), items=len(answers)))


def count(rule: R.Rule, n: int) -> M.Scored:
    return M.score(rule, M.Measurement(F(n), n, noun="违规事项"))


def proportion(rule: R.Rule, got: F, total: F) -> M.Scored:
    return M.score(rule, M.Measurement(got / total, None, parts=("考核得分", got, "考核总分", total)))


def grade(rule: R.Rule, word: str) -> M.Scored:
    return M.score(rule, M.Measurement(None, word, word=word))


def pct(text: str) -> F:
    return read_number(text).value


# 在职人员控制率: 5 points, 0.5 per whole percentage point above 100%
@pytest.mark.parametrize("rate, expected", [
    ("100%", 5),  # exactly at the limit
    ("99%", 5),
    ("100.99%", 5),  # less than one step over: whole steps only
    ("101%", F(9, 2)),  # exactly one step
    ("101.9%", F(9, 2)),  # the README's example: 0.5 deducted
    ("104.76%", 3),  # 22/21: 4 steps
    ("110%", 0),  # 10 steps x 0.5 = 5: nothing left
    ("150%", 0),  # never below zero
])
def test_over_limit_whole_steps(rate, expected):
    assert score_rate(rule("在职人员控制率"), pct(rate)).score == expected


def test_over_limit_exact_fraction_of_22_over_21():
    scored = score_rate(rule("在职人员控制率"), F(22, 21))
    assert scored.score == 3
    assert "超出4.76个百分点" in scored.text and "扣2分" in scored.text and "得3分" in scored.text


@pytest.mark.parametrize("policy, rate, expected", [
    (M.ROUND_UP, "100.5%", F(9, 2)),  # a partial step counts as one
    (M.ROUND_UP, "100%", 5),
    (M.ROUND_UP, "101%", F(9, 2)),  # exactly one step stays one step
    (M.PRO_RATA, "101.9%", F(5) - F(19, 10) * F(1, 2)),  # 4.05
])
def test_step_policies(policy, rate, expected):
    assert score_rate(rule("在职人员控制率", 不足一步=policy), pct(rate)).score == expected


# 三公经费变动率: base 0%, 0.8 per whole point; the seed's "计8分" cannot exceed 分值 5
@pytest.mark.parametrize("this_year, last_year, expected", [
    ("10.2", "10", F(17, 5)),  # exactly 2.00% despite 10.2 being inexact in binary: 2 steps
    ("63.46", "32", 0),  # 98.3%: 98 steps
    ("10", "10", 5),  # 0% is full marks, not 8
    ("9", "10", 5),  # a fall is full marks
    ("10.1", "10", F(21, 5)),  # exactly 1%: one step
    ("10.099", "10", 5),  # 0.99%: not a whole step
])
def test_sangong_change_float_noise(this_year, last_year, expected):
    a = read_number(float(this_year)).value
    b = read_number(float(last_year)).value
    assert score_rate(rule("三公经费变动率"), (a - b) / b).score == expected


# 预算完成率: 2 per whole 5 points below 100%
@pytest.mark.parametrize("rate, expected", [
    ("100%", 5), ("95%", 3), ("95.01%", 5), ("90.1%", 3), ("90%", 1), ("85%", 0), ("46.42%", 0),
])
def test_under_target(rate, expected):
    assert score_rate(rule("预算完成率"), pct(rate)).score == expected


# 政府采购执行率: two-sided, 2 per whole 5 points away from 100%
@pytest.mark.parametrize("rate, expected", [
    ("100%", 6), ("104.99%", 6), ("105%", 4), ("95%", 4), ("94.99%", 6 - 2),
    ("90%", 2), ("110%", 2), ("115%", 0), ("215.88%", 0),
])
def test_two_sided_deviation(rate, expected):
    assert score_rate(rule("政府采购执行率"), pct(rate)).score == expected


# 预算控制率 bands are right-closed
@pytest.mark.parametrize("rate, expected", [
    ("0%", 5), ("0.01%", 4), ("10%", 4), ("10.01%", 3), ("20%", 3), ("30%", 2), ("30.01%", 0),
])
def test_budget_control_bands(rate, expected):
    assert score_rate(rule("预算控制率"), pct(rate)).score == expected


# 满意度 bands are left-closed
@pytest.mark.parametrize("rate, expected", [
    ("100%", 6), ("90%", 6), ("89.99%", 4), ("80%", 4), ("79.99%", 2), ("70%", 2), ("69.99%", 0), ("0%", 0),
])
def test_satisfaction_bands(rate, expected):
    assert score_rate(rule("满意度"), pct(rate)).score == expected


def test_band_gap_is_not_scorable():
    gappy = rule("预算控制率", **{"分档/等级": "=0%:5；(0%,10%]:4"})
    with pytest.raises(M.NotScorable, match="不在评分规则的任何分档内"):
        score_rate(gappy, pct("15%"))


def test_band_points_above_weight_are_capped():
    generous = rule("满意度", **{"分档/等级": ">=0%:8"})
    scored = score_rate(generous, pct("95%"))
    assert scored.score == 6 and "按分值计" in scored.text


def test_checklist_and_count_and_proportion_and_grade():
    assert checklist(rule("管理制度健全性"), [1, 1, 0, 1]).score == 6
    assert "第3项" in checklist(rule("管理制度健全性"), [1, 1, 0, 1]).text
    assert checklist(rule("预决算信息公开性"), [1] * 5).score == 5
    assert count(rule("资金使用合规性"), 0).score == 6
    assert count(rule("资金使用合规性"), 2).score == 4
    assert count(rule("资金使用合规性"), 9).score == 0
    assert proportion(rule("重点工作完成率"), F(95), F(100)).score == F(38, 5)
    assert proportion(rule("重点工作完成率"), F(2), F(3)).score == F(16, 3)
    assert grade(rule("行政效能"), "好").score == 6
    assert grade(rule("行政效能"), "一般").score == 3
    assert grade(rule("行政效能"), "差").score == 0


def test_explanation_matches_the_issue_wording():
    text = score_rate(rule("公用经费控制率"), F(15498, 12440)).text
    assert text == ("，超出24.58个百分点，按每超1个百分点扣1分（不足1个百分点的部分不扣）扣24分，扣完为止，得0分")


def test_2018_table_eight_points_with_bands():
    """Another county's table: 8 points for 在职人员控制率 scored in bands 8/6/4/2."""
    eight = parse(("在职人员控制率", "8", M.BANDS, "", "", "", "",
                         "<=100%:8；(100%,105%]:6；(105%,110%]:4；(110%,120%]:2；>120%:0", ""), 3)
    assert score_rate(eight, pct("100%")).score == 8
    assert score_rate(eight, pct("105%")).score == 6
    assert score_rate(eight, pct("120.5%")).score == 0
