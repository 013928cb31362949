"""The department's scoring engine: inputs and rule rows in, scores with reasons and findings out.

Pure Python: no workbook library is imported here.  The command line, the ribbon button and the
UDFs all come through this module, so they cannot disagree:

    evaluate            a whole department (the command, the button, the batch)
    evaluate_indicator  one indicator from just its inputs (STAFF_SCORE and friends)
    score_value         one indicator from its 计算值 (INDICATOR_SCORE, SCORE_NOTE)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Mapping

from evalbook.core.findings import ERROR, HINT, CellRef, Finding
from evalbook.core.grading import Graded, Grades
from evalbook.core.numbers import BAD_DATA, PENDING, RULE_INVALID, clean_text, fmt_score, quote, rounded
from evalbook.core.ruletable import RulesSource
from evalbook.department import methods
from evalbook.department.framework import Framework, Indicator, seed_framework
from evalbook.department.inputs import Inputs, read_inputs
from evalbook.department.names import score_name, self_score_name
from evalbook.department.measure import Unmeasured, measure, measure_value
from evalbook.department.rule import Rule
from evalbook.department.rules import RuleSet, read_rules, rule_findings
from evalbook.department.validation import check_basic_data

RULES_SHEET = "评分规则"


@dataclass
class IndicatorResult:
    key: str
    weight: Fraction | None
    value: Fraction | None  # 计算值 as an exact fraction (rates), None otherwise
    display_value: object  # what the 计算值 cell shows
    score: Fraction | None
    self_score: Fraction | None
    explanation: str
    marker: str | None = None  # why score is None: PENDING, BAD_DATA or RULE_INVALID


@dataclass
class Evaluation(Graded):
    indicators: list[IndicatorResult]
    findings: list[Finding] = field(default_factory=list)
    unit: str = ""
    framework: Framework = field(default_factory=seed_framework)
    funds: object = None  # funds.scoring.FundsReport when the workbook has fund sheets
    raw: Mapping[str, object] = field(default_factory=dict)  # the inputs as read
    rules_source: RulesSource | None = None  # the 评分规则 rows as read

    @property
    def grades(self) -> Grades:
        return self.framework.grades

    @property
    def complete(self) -> bool:
        return all(r.score is not None for r in self.indicators)

    @property
    def total(self) -> Fraction | None:
        if not self.complete:
            return None
        return sum((r.score for r in self.indicators), Fraction(0))

    @property
    def scored_total(self) -> Fraction:
        return sum((r.score for r in self.indicators if r.score is not None), Fraction(0))

    @property
    def self_total(self) -> Fraction | None:
        scores = [r.self_score for r in self.indicators]
        if all(s is None for s in scores):
            return None
        return sum((s for s in scores if s is not None), Fraction(0))

    def by_key(self, key: str) -> IndicatorResult:
        return next(r for r in self.indicators if r.key == key)


def evaluate(
    raw: Mapping[str, object],
    refs: Mapping[str, CellRef] | None = None,
    rules_source: RulesSource | None = None,
    framework: Framework | None = None,
) -> Evaluation:
    """Validate and score one department.

    raw: defined name → cell value as read (None, number, str, bool, date, ExcelError).
    refs: defined name → cell, for messages.  rules_source: the 评分规则 rows; the framework's
    defaults if None.
    """
    framework = framework or seed_framework()
    inputs = read_inputs(raw, refs or {}, framework)
    check_basic_data(inputs)
    source = rules_source or RulesSource(framework.rule_rows(), RULES_SHEET)
    ruleset = read_rules(framework, source.rows, source.first_row)
    problems = rule_findings(framework, ruleset, source)
    results = [_score_one(inputs, ruleset.rules.get(ind.key), ind) for ind in framework.indicators]
    _audit_self_scores(inputs, results)
    inputs.report_lacking()
    return Evaluation(results, problems + inputs.findings, unit=inputs.text("填报单位"), framework=framework,
                      raw=raw, rules_source=source)


def _score_one(inputs: Inputs, rule: Rule | None, ind: Indicator) -> IndicatorResult:
    self_score = inputs.value(self_score_name(ind.key))
    if rule is None:
        return IndicatorResult(ind.key, None, None, None, None, self_score, "评分规则有误，见校验结果，该指标不计分",
                               RULE_INVALID)
    try:
        measured = measure(ind, rule, inputs)
        scored = methods.score(rule, measured)
    except Unmeasured as exc:
        return IndicatorResult(ind.key, rule.weight, None, None, None, self_score, exc.message,
                               PENDING if exc.missing else BAD_DATA)
    except methods.NotScorable as exc:
        inputs.report(ERROR, score_name(ind.key), f"{ind.key}：{exc}")
        return IndicatorResult(ind.key, rule.weight, None, None, None, self_score, str(exc), RULE_INVALID)
    return IndicatorResult(ind.key, rule.weight, measured.value, measured.display, scored.score, self_score,
                           scored.text)


def _audit_self_scores(inputs: Inputs, results: list[IndicatorResult]) -> None:
    for result in results:
        name = self_score_name(result.key)
        if result.self_score is None or name in inputs.bad:
            continue
        if result.weight is not None and result.self_score > result.weight:
            inputs.report(HINT, name, f"{result.key}自评得分{fmt_score(result.self_score)}超过分值"
                                      f"{fmt_score(result.weight)}", stop=False)
        if result.score is None:
            continue
        if rounded(result.score) != result.self_score:
            inputs.report(
                HINT, name,
                f"{result.key}：自评{fmt_score(result.self_score)}分，按数据计算应得{fmt_score(result.score)}分",
                stop=False,
            )


# ---- one indicator, for the worksheet functions -----------------------------------------------

class NotScored(Exception):
    """One indicator could not be scored; the message is what a cell shows."""


def evaluate_indicator(key: str, raw: Mapping[str, object], *, weight: Fraction | None = None,
                       framework: Framework | None = None) -> IndicatorResult:
    """Indicator `key` scored from just the inputs in `raw` (every check of `evalbook score` that
    concerns them included), under the framework's default rule with `weight` as 分值 if given.
    Raises NotScored with the first 错误 about those inputs, or the reason."""
    framework = framework or seed_framework()
    ind = framework.by_key[key]
    rows = framework.rule_rows()
    if weight is not None:
        rows = tuple((row[0], weight) + tuple(row[2:]) if row[0] == key else row for row in rows)
    ruleset = read_rules(framework, rows)
    inputs = read_inputs(raw, {}, framework)
    check_basic_data(inputs)
    result = _score_one(inputs, ruleset.rules.get(key), ind)
    if result.score is None:
        message = next((f.message for f in inputs.findings if f.severity == ERROR and f.name in raw),
                       result.explanation)
        raise NotScored(message)
    return result


def _plain(text: str) -> str:
    return re.sub(r"[“”\"'‘’\s]", "", clean_text(text))


def find_indicator(framework: Framework, text: str) -> Indicator:
    """An indicator by its key or its printed 三级指标 title, quotes and blanks ignored."""
    wanted = _plain(text)
    for ind in framework.indicators:
        if wanted in (_plain(ind.key), _plain(ind.title)):
            return ind
    raise NotScored(f"指标名称{quote(text)}不在{len(framework.indicators)}项指标之中")


def rule_for(framework: Framework, ind: Indicator, source: RulesSource | None = None) -> Rule:
    """The rule of `ind` from a workbook's 评分规则 rows (the framework's defaults without one);
    a malformed row raises NotScored with the engine's own message, never falls back."""
    source = source or RulesSource(framework.rule_rows(), RULES_SHEET)
    ruleset: RuleSet = read_rules(framework, list(source.rows), source.first_row)
    rule = ruleset.rules.get(ind.key)
    if rule is not None:
        return rule
    problems = [f.message for f in rule_findings(framework, ruleset, source) if f.name == ind.key]
    raise NotScored(problems[0] if problems else f"评分规则中“{ind.key}”一行有误，该指标不计分")


def score_value(ind: Indicator, rule: Rule, raw: object, framework: Framework | None = None) -> methods.Scored:
    """(score, 扣分说明) of one indicator from its 计算值 (one cell value or a flat list of them)."""
    framework = framework or seed_framework()
    try:
        return methods.score(rule, measure_value(ind, rule, framework, raw))
    except (Unmeasured, methods.NotScorable) as exc:
        raise NotScored(getattr(exc, "message", str(exc))) from None
