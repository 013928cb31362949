"""The one scoring engine: inputs and rule rows in, scores with reasons and findings out.

Pure Python: no workbook library is imported here.  The command line, the ribbon button and the
UDFs all come through `evaluate` (or the same `methods`), so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Mapping, Sequence

from . import catalogue, measures, methods
from . import contract as C
from . import rules as R
from .catalogue import CHECKLIST, COUNT, ENTERED, GRADE, GRADE_BANDS, PROPORTION
from .findings import ERROR, HINT, CellRef, Finding, count
from .inputs import Inputs, read_inputs
from .numbers import fmt_score, fraction_to_float, round2, rounded
from .validation import check_basic_data, check_plausible_rate


def funds_json(report) -> dict:
    from .funds.service import funds_json as as_json  # funds builds on this module

    return as_json(report)

PENDING = "待补充"  # what 得分 shows when an indicator cannot be scored yet


@dataclass
class IndicatorResult:
    key: str
    weight: Fraction | None
    value: Fraction | None  # 计算值 as an exact fraction (rates), None otherwise
    display_value: object  # what the 计算值 cell shows
    score: Fraction | None
    self_score: Fraction | None
    explanation: str

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "weight": None if self.weight is None else fraction_to_float(self.weight),
            "rate": None if self.value is None else round(fraction_to_float(self.value), 6),
            "score": None if self.score is None else round2(self.score),
            "self_score": None if self.self_score is None else fraction_to_float(self.self_score),
            "explanation": self.explanation,
        }


class Graded:
    """A total with findings: the 等级 and the 错误/提示 counts (department or special fund)."""

    findings: list[Finding]

    @property
    def total(self) -> Fraction | None:
        raise NotImplementedError

    @property
    def grade(self) -> str | None:
        return grade_for(self.total)

    @property
    def errors(self) -> int:
        return count(self.findings, ERROR)

    @property
    def hints(self) -> int:
        return count(self.findings, HINT)


@dataclass
class Evaluation(Graded):
    indicators: list[IndicatorResult]
    findings: list[Finding] = field(default_factory=list)
    unit: str = ""
    funds: object = None  # funds.scoring.FundsReport when the workbook has fund sheets

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

    def as_dict(self) -> dict:
        total = self.total
        return {
            "unit": self.unit,
            "indicators": [r.as_dict() for r in self.indicators],
            "total": None if total is None else round2(total),
            "grade": self.grade,
            "issues": [f.as_dict() for f in self.findings],
            **funds_json(self.funds),
        }


def grade_for(total: Fraction | None) -> str | None:
    if total is None:
        return None
    for floor, name in GRADE_BANDS:
        if total >= floor:
            return name
    return GRADE_BANDS[-1][1]


@dataclass(frozen=True)
class RulesSource:
    """Where the 评分规则 rows came from, so problems can name their cell."""

    rows: Sequence[tuple]
    sheet: str = C.RULES_SHEET
    first_row: int = 2
    first_column: int = 1  # 1 = column A


def rule_findings(ruleset: R.RuleSet, source: RulesSource) -> list[Finding]:
    found = R.problem_findings(ruleset.problems, source.sheet, source.first_column, R.COLUMNS, "评分规则",
                               lambda key: "该指标不计分")
    hint = None if ruleset.problems else R.weight_total_hint(ruleset.total_weight, source.sheet, "评分规则各指标")
    return found + ([hint] if hint else [])


def evaluate(
    raw: Mapping[str, object],
    refs: Mapping[str, CellRef] | None = None,
    rules_source: RulesSource | None = None,
) -> Evaluation:
    """Validate and score one department.

    raw: defined name → cell value as read (None, number, str, bool, date, ExcelError).
    refs: defined name → cell, for messages.  rules_source: the 评分规则 rows; defaults if None.
    """
    inputs = read_inputs(raw, refs or {})
    check_basic_data(inputs)
    source = rules_source or RulesSource(R.DEFAULT_ROWS)
    ruleset = R.read_rules([tuple(r) for r in source.rows], source.first_row)
    rule_problems = rule_findings(ruleset, source)
    results = [_score_one(inputs, ruleset.rules.get(ind.key), ind) for ind in catalogue.INDICATORS]
    _audit_self_scores(inputs, results)
    return Evaluation(results, rule_problems + inputs.findings, unit=inputs.text("填报单位"))


def _score_one(inputs: Inputs, rule: R.Rule | None, ind: catalogue.Indicator) -> IndicatorResult:
    self_score = inputs.value(C.self_score_name(ind.key))
    if rule is None:
        return IndicatorResult(ind.key, None, None, None, None, self_score, "评分规则有误，见校验结果，该指标不计分")
    try:
        value, display, scored_text, score = _apply(inputs, rule, ind)
    except measures.Unmeasured as exc:
        return IndicatorResult(ind.key, rule.weight, None, None, None, self_score, exc.message)
    except methods.NotScorable as exc:
        inputs.report(ERROR, C.score_name(ind.key), f"{ind.key}：{exc}")
        return IndicatorResult(ind.key, rule.weight, None, None, None, self_score, str(exc))
    return IndicatorResult(ind.key, rule.weight, value, display, score, self_score, scored_text)


def _apply(inputs: Inputs, rule: R.Rule, ind: catalogue.Indicator):
    """(value, display value, 扣分说明, score) for one indicator; raises when it cannot."""
    kind = ind.kind
    if kind in (catalogue.RATE, catalogue.PERCENT):
        measure = measures.RATE_MEASURES[ind.key](inputs, ind.key)
        if measure.full_marks:
            return None, "无项目", f"{measure.text}，按满分计{fmt_score(rule.weight)}分", rule.weight
        if kind == catalogue.RATE:
            check_plausible_rate(inputs, ind.key, measure.value, measure.names)
        scored = methods.score_value(rule, measure.value)
        return measure.value, fraction_to_float(measure.value), measure.text + scored.text, scored.score
    if kind == CHECKLIST:
        answers = measures._need(inputs, ind.key, ind.inputs)
        scored = methods.score_checklist(rule, [int(a) for a in answers])
        value = Fraction(sum(answers), len(answers))
        return value, fraction_to_float(value), scored.text, scored.score
    if kind == COUNT:
        (violations,) = measures._need(inputs, ind.key, ind.inputs)
        scored = methods.score_count(rule, int(violations))
        return None, int(violations), scored.text, scored.score
    if kind == PROPORTION:
        got, total = measures._need(inputs, ind.key, ind.inputs)
        if total == 0:
            measures._zero(inputs, ind.key, ind.inputs[1])
        if got > total:
            message = f"{inputs.where(ind.inputs[0])}为{fmt_score(got)}，超过考核总分{fmt_score(total)}"
            inputs.report(ERROR, ind.inputs[0], message)
            raise measures.Unmeasured(message)
        scored = methods.score_proportion(rule, got, total)
        return got / total, fraction_to_float(got / total), scored.text, scored.score
    if kind == GRADE:
        if C.GRADE_INPUT in inputs.bad:
            raise measures.Unmeasured(f"输入有误（{inputs.where(C.GRADE_INPUT)}），见校验结果")
        if inputs.grade is None:
            raise measures.Unmeasured(
                f"缺少{ind.key}所需的输入：{inputs.where(C.GRADE_INPUT)}（好/一般/差），该指标暂不计分",
                (C.GRADE_INPUT,),
            )
        scored = methods.score_grade(rule, inputs.grade)
        return None, inputs.grade, scored.text, scored.score
    if kind == ENTERED:
        (typed,) = measures._need(inputs, ind.key, ind.inputs)
        if typed > rule.weight:
            message = f"{inputs.where(ind.inputs[0])}为{fmt_score(typed)}，超过本指标分值{fmt_score(rule.weight)}"
            inputs.report(ERROR, ind.inputs[0], message)
            raise measures.Unmeasured(message)
        scored = methods.score_entered(rule, typed)
        return None, fraction_to_float(typed), scored.text, scored.score
    raise AssertionError(kind)


def _audit_self_scores(inputs: Inputs, results: list[IndicatorResult]) -> None:
    for result in results:
        name = C.self_score_name(result.key)
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
