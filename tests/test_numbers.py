"""Reading what accountants type."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction as F

import pytest

from evalbook.core.numbers import (ExcelError, fmt_money, fmt_pct, fmt_score, read_choice, read_number,
                              read_yes_no)


@pytest.mark.parametrize("raw, expected", [
    ("14.73\u3000", F(1473, 100)),  # the seed's trailing full-width space
    ("\u300037", F(37)),
    ("1,234.56", F(123456, 100)),
    ("１２３．５", F(2470, 20)),  # full-width digits and point
    ("95%", F(95, 100)),
    ("95％", F(95, 100)),
    (" 12 万元", F(12)),
    (10.2, F(102, 10)),  # the float's shortest repr, not its binary value
    (0.1, F(1, 10)),
    (7, F(7)),
    ("-5", F(-5)),
    ("1e3", F(1000)),
])
def test_numbers_as_typed(raw, expected):
    reading = read_number(raw)
    assert reading.problem is None and reading.value == expected


@pytest.mark.parametrize("raw", [None, "", "\u3000", "  ", "\u3000\u3000"])
def test_blanks(raw):
    assert read_number(raw).blank


@pytest.mark.parametrize("raw", ["——", "—", "-", "－－"])
def test_dash_means_none(raw):
    reading = read_number(raw)
    assert reading.value == 0 and reading.dash


@pytest.mark.parametrize("raw, fragment", [
    ("abc", "“abc”不是数字"),
    ("12..5", "不是数字"),
    ("1,23", "不是数字"),
    (ExcelError("#DIV/0!"), "#DIV/0!"),
    ("#N/A", "#N/A"),
    (True, "逻辑值"),
    (dt.datetime(2020, 1, 1), "日期"),
    (float("nan"), "不是有效数字"),
])
def test_problems_quote_the_value(raw, fragment):
    reading = read_number(raw)
    assert reading.value is None and fragment in reading.problem


def test_long_text_is_shortened_in_messages():
    reading = read_number("x" * 500)
    assert len(reading.problem) < 80 and "…" in reading.problem


def test_yes_no_and_choices():
    assert read_yes_no("是").value == 1 and read_yes_no("否\u3000").value == 0
    assert read_yes_no("√").value == 1 and read_yes_no(True).value == 1
    assert "应为“是”或“否”" in read_yes_no("可能").problem
    assert read_choice("一般", ("好", "一般", "差")) == ("一般", None)
    assert read_choice("很好", ("好", "一般", "差"))[1].endswith("应为好/一般/差之一")


def test_formatting_rounds_half_up_only_for_display():
    assert fmt_money(F(1244, 10)) == "124.40"
    assert fmt_pct(F(15498, 12440)) == "124.58%"
    assert fmt_pct(F(1, 8)) == "12.50%"
    assert fmt_score(F(17, 5)) == "3.4" and fmt_score(F(5)) == "5" and fmt_score(F(16, 3)) == "5.33"
    assert fmt_money(F(5, 1000)) == "0.01"  # half up, not banker's rounding
