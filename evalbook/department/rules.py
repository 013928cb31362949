"""Scoring rules as data: a 评分规则 row (on the sheet or in a framework) read into a `Rule`.

`framework` arguments are `framework.Framework` records (keys, by_key, total, grades); this
module reads rows for them and is imported by the framework reader, not the other way round.

The framework's default rules are rows of the same columns, read by the same `parse_rule`, so
what the template shows is what the engine uses.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Mapping, Sequence

from evalbook.core import ruletable as T
from evalbook.core.findings import Finding
from evalbook.core.intervals import normalise, parse_bounds
from evalbook.core.numbers import clean_text, quote, read_number
from evalbook.department import methods as M
from evalbook.department.rule import ALLOW_NEGATIVE, STEP_POLICIES, WHOLE_STEPS, Band, Rule

# the 评分规则 sheet's columns, in order (the first holds the 指标键)
COLUMNS = ("指标", "分值", "计分方法", "基准值", "步长", "每步分值", "不足一步", "分档/等级", "口径说明")


@dataclass
class RuleSet:
    rules: dict[str, Rule] = field(default_factory=dict)
    problems: list[T.RuleProblem] = field(default_factory=list)

    @property
    def total_weight(self) -> Fraction:
        return sum((r.weight for r in self.rules.values()), Fraction(0))


def _number(cells: Mapping[str, object], column: str, *, required: bool, positive: bool = False,
            signed: bool = False) -> Fraction | None:
    raw = cells.get(column)
    reading = read_number(raw)
    if reading.problem:
        raise T.RowError(column, f"“{column}”{reading.problem}")
    if reading.value is None or (reading.dash and not signed):
        if required:
            raise T.RowError(column, f"“{column}”未填写")
        return None
    if positive and reading.value <= 0:
        raise T.RowError(column, f"“{column}”应大于0，现为{quote(raw)}")
    if reading.value < 0 and not signed:
        raise T.RowError(column, f"“{column}”不能为负数，现为{quote(raw)}")
    return reading.value


def parse_bands(text: str) -> tuple[Band, ...]:
    """'=0%:5；(0%,10%]:4；>30%:0' → bands.  Raises ValueError with a Chinese reason."""
    parts = [p.strip() for p in re.split(r"[;；\n]", normalise(text)) if p.strip()]
    if not parts:
        raise ValueError("分档为空")
    bands = []
    for part in parts:
        interval, sep, points_text = part.rpartition(":")
        if not sep:
            raise ValueError(f"分档{quote(part)}缺少“:得分”")
        points = read_number(points_text)
        if points.value is None or points.problem or points.value < 0:
            raise ValueError(f"分档{quote(part)}的得分不是非负数字")
        bounds = parse_bounds(interval) if interval else None
        if bounds is None:
            raise ValueError(f"分档{quote(part)}的区间写法无法识别，应如“(0%,10%]:4”或“>=90%:6”")
        low, low_closed, high, high_closed = bounds
        if low is not None and high is not None and low > high:
            raise ValueError(f"分档{quote(part)}下限大于上限")
        bands.append(Band(low, low_closed, high, high_closed, points.value, interval))
    return tuple(bands)


def parse_grades(text: str) -> tuple[tuple[str, Fraction], ...]:
    grades = []
    for part in [p.strip() for p in re.split(r"[;；\n]", clean_text(text)) if p.strip()]:
        word, sep, points_text = part.rpartition(":")
        points = read_number(points_text)
        if not sep or not word.strip() or points.value is None or points.problem or points.value < 0:
            raise ValueError(f"等级{quote(part)}应写成“好:6”的形式")
        grades.append((word.strip(), points.value))
    if not grades:
        raise ValueError("等级为空")
    return tuple(grades)


def _text(cells: Mapping[str, object], column: str) -> str:
    return clean_text(str(cells.get(column) or ""))


def parse_rule(indicator, cells: Mapping[str, object], row_number: int = 0) -> Rule:
    """One rule (column name → cell value) for `indicator` (a framework record: its key, the
    methods that fit it, its options); raises RowError naming the column."""
    weight = _number(cells, "分值", required=True, positive=True)
    method = _text(cells, "计分方法")
    if method not in indicator.methods:
        raise T.RowError("计分方法", f"计分方法{quote(method or '（空）')}不适用于本指标，可选：{'、'.join(indicator.methods)}")
    common = dict(key=indicator.key, weight=weight, method=method, note=_text(cells, "口径说明"), row=row_number)
    if method in M.STEP_METHODS:
        signed = indicator.option(ALLOW_NEGATIVE) is not None
        base = _number(cells, "基准值", required=True, signed=signed)
        step = _number(cells, "步长", required=True, positive=True)
        per_step = _number(cells, "每步分值", required=True)
        policy = _text(cells, "不足一步") or WHOLE_STEPS
        if policy not in STEP_POLICIES:
            raise T.RowError("不足一步", f"“不足一步”应为{'、'.join(STEP_POLICIES)}之一，现为{quote(policy)}")
        return Rule(base=base, step=step, per_step=per_step, policy=policy, **common)
    if method in (M.BANDS, M.GRADED):
        parse = parse_bands if method == M.BANDS else parse_grades
        try:
            parsed = parse(str(cells.get("分档/等级") or ""))
        except ValueError as exc:
            raise T.RowError("分档/等级", str(exc)) from None
        return Rule(**({"bands": parsed} if method == M.BANDS else {"grades": parsed}), **common)
    if method in (M.CHECKS, M.COUNTED):
        return Rule(per_step=_number(cells, "每步分值", required=True), **common)
    return Rule(**common)


def read_rules(framework, rows: Sequence[tuple], first_row: int = 2) -> RuleSet:
    """The 评分规则 table (data rows only, in COLUMNS order) → RuleSet with every problem found."""
    try:
        return _read_rules_cached(framework, tuple(tuple(r) for r in rows), first_row)
    except TypeError:  # an unhashable cell value: read without the cache
        return _read_rules(framework, rows, first_row)


@functools.lru_cache(maxsize=128)
def _read_rules_cached(framework, rows: tuple, first_row: int) -> RuleSet:
    # a batch scores hundreds of workbooks with the same few rule tables; the result is read-only
    return _read_rules(framework, rows, first_row)


def _read_rules(framework: Framework, rows, first_row: int) -> RuleSet:
    table = T.read_keyed_rows(
        rows, first_row, keys=framework.keys, noun="指标",
        parse=lambda key, row, number: parse_rule(framework.by_key[key], dict(zip(COLUMNS, row)), number),
        unknown=lambda key: f"指标名称{quote(key)}不在{len(framework.keys)}项指标之中",
        missing=lambda key: f"评分规则中缺少指标“{key}”的行",
    )
    return RuleSet(table.parsed, table.problems)


def rule_findings(framework, ruleset: RuleSet, source: T.RulesSource) -> list[Finding]:
    found = T.problem_findings(ruleset.problems, source, COLUMNS, "评分规则", lambda key: "该指标不计分")
    if ruleset.problems:
        return found
    hint = T.weight_total_hint(ruleset.total_weight, framework.total, source.sheet, "评分规则各指标",
                               f"等级仍按总分{framework.grades.describe()}分档")
    return found + ([hint] if hint else [])


def default_rules(framework) -> RuleSet:
    return read_rules(framework, framework.rule_rows())
