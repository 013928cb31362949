"""Scoring one fund, and all of a department's funds, with a 扣分说明 for every part.

得分 = 预算执行率 (10 × min(B/A, 1)) + every indicator's weight × min(完成率, 1); weights are the
rule rows' 产出 50 / 效益 30 / 满意度 10, shared evenly among the indicators under each 一级指标
unless a 分值 is typed for an indicator.  Everything stays an exact Fraction; only text rounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Mapping, Sequence

from evalbook.core.findings import ERROR, CellRef, Finding
from evalbook.core.ruletable import RulesSource
from evalbook.core.numbers import fmt_money, fmt_pct, fmt_score, read_text
from . import names as N
from . import validation as V
from .aggregate import FundsSummary, summarize
from .assess import Outcome, assess
from .model import FundInput, FundResult, IndicatorScore, MoneyLine
from .qualitative import is_qualitative
from .rules import (
    LEVEL1_KEYS, FundRules, default_fund_rules, default_source, fund_rule_findings,
    read_fund_rules,
)
from .form import GROUPS
from .targets import NUMBER as T_QUANTITATIVE
from .targets import IndicatorError, parse_target

ONE = Fraction(1)


def evaluate_fund(
    fund: FundInput, rules: FundRules | None = None, refs: Mapping[str, CellRef] | None = None,
) -> FundResult:
    """Validate and score one fund block.  refs: defined name → cell, for messages."""
    rules = rules if rules is not None else default_fund_rules()
    sheet = V.FundSheet(fund, refs or {})
    V.check_header(sheet)
    money = V.read_money(sheet)
    lines = _money_lines(money)
    exec_rate, exec_score, exec_text = _score_exec(sheet, money, rules)
    rows = V.read_rows(sheet)
    gaps: list[str] = []
    weights, weight_notes = _allocate(sheet, rows, rules, gaps)
    indicators = [_score_row(sheet, info, weights.get(info.k), weight_notes.get(info.k), rules) for info in rows]
    V.check_remarks(sheet)
    cap = _cap(rules, exec_rate)
    if cap is not None:
        exec_text += f"；执行率{fmt_pct(exec_rate)}，按评分规则专项得分不超过{fmt_score(cap)}分"
    return FundResult(
        number=fund.number, name=read_text(fund.name), money=lines, exec_weight=rules.exec_weight,
        exec_rate=exec_rate, exec_score=exec_score, exec_explanation=exec_text,
        indicators=indicators, gaps=gaps, findings=sheet.findings, grades=rules.grades, cap=cap,
    )


def _cap(rules: FundRules, exec_rate: Fraction | None) -> Fraction | None:
    """The highest total the 执行率 allows (执行率封顶), None when no cap applies."""
    if exec_rate is None:
        return None
    return next((cap for span, cap in rules.caps if span.contains(exec_rate)), None)


@dataclass
class FundsReport:
    results: list[FundResult]
    summary: FundsSummary
    findings: list[Finding] = field(default_factory=list)  # rule problems first, then fund by fund
    blank: list[int] = field(default_factory=list)  # unused blocks: their outputs are cleared
    inputs: list[FundInput] = field(default_factory=list)  # what was read, fund by fund

    def outputs(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for n in self.blank:
            out.update(dict.fromkeys(N.fund_output_keys(n)))
        for result in self.results:
            out.update(result.outputs())
        out.update(self.summary.outputs())
        return out


def evaluate_funds(
    funds: Sequence[FundInput],
    rules_source: RulesSource | None = None,
    refs: Mapping[str, CellRef] | None = None,
) -> FundsReport:
    """Every fund block that has anything typed in it, and the department's summary."""
    source = rules_source or default_source()
    rules = read_fund_rules([tuple(r) for r in source.rows], source.first_row)
    findings = fund_rule_findings(rules, source)
    results = [evaluate_fund(f, rules, refs) for f in funds if not f.is_blank()]
    for result in results:
        findings.extend(result.findings)
    blank = [f.number for f in funds if f.is_blank()]
    return FundsReport(results, summarize(results, rules.grades), findings, blank, list(funds))


# ---- 预算执行率 ---------------------------------------------------------------------------

def _money_lines(money: V.Money) -> list[MoneyLine]:
    lines = []
    for item in N.MONEY_ITEMS:
        budget, spent = money[item, N.BUDGET], money[item, N.SPENT]
        rate = spent / budget if budget and spent is not None else None
        lines.append(MoneyLine(item, budget, spent, rate))
    return lines


def _score_exec(sheet: V.FundSheet, money: V.Money, rules: FundRules):
    names = [N.money_name(sheet.n, N.TOTAL, c) for c in (N.BUDGET, N.SPENT)]
    budget, spent = money[N.TOTAL, N.BUDGET], money[N.TOTAL, N.SPENT]
    if any(n in sheet.bad for n in names):
        bad = "、".join(sheet.where(n) for n in names if n in sheet.bad)
        return None, None, f"输入有误（{bad}），见校验结果，预算执行率暂不计分"
    rate = spent / budget if budget and spent is not None else None
    weight = rules.exec_weight
    if weight is None:
        return rate, None, "评分规则中“预算执行率”行有误，见校验结果，预算执行率不计分"
    if rate is None:
        return None, None, "缺少年度资金总额的全年预算数或全年执行数，预算执行率暂不计分"
    text = f"执行率=全年执行数{fmt_money(spent)}/全年预算数{fmt_money(budget)}={fmt_pct(rate)}"
    score = weight * min(rate, ONE)
    return rate, score, text + "，" + _scored(weight, rate, score)


def _scored(weight: Fraction, ratio: Fraction, score: Fraction) -> str:
    if ratio > 1:
        return f"按100%计，得{fmt_score(score)}分"
    if ratio == 1:
        return f"得满分{fmt_score(score)}分"
    if ratio == 0:
        return "得0分"
    return f"得{fmt_score(weight)}×{fmt_pct(ratio)}={fmt_score(score)}分"


# ---- weights ------------------------------------------------------------------------------

def _allocate(sheet: V.FundSheet, rows: list[V.RowInfo], rules: FundRules, gaps: list[str]):
    """(row k → weight, row k → why it has none)."""
    weights: dict[int, Fraction] = {}
    notes: dict[int, str] = {}
    moved = _moved_weight(rows, rules)
    for level, key in LEVEL1_KEYS.items():
        group = [r for r in rows if r.level1 == level]
        total = rules.level_weights.get(level)
        if level in moved and total is not None:
            total += moved[level]
        if not group and level in _MOVED_FROM and moved:
            continue  # its weight went to the group before (评分规则: 满意度指标缺省时转入效益指标)
        if not group:
            gaps.append(f"未填写{key}")
            sheet.report(
                ERROR, _level_anchor(sheet, level),
                f"{sheet.title}：未填写任何{key}，{key}"
                f"{'' if total is None else fmt_score(total) + '分'}无法计分，专项得分暂不计算",
            )
            continue
        if total is None:
            for r in group:
                notes[r.k] = f"评分规则中“{key}”行有误，见校验结果，该指标不计分"
            continue
        if any(r.points_bad for r in group):
            for r in group:
                notes[r.k] = f"{key}中有分值填写有误，见校验结果，该指标暂不计分"
            continue
        problem = _split(group, total)
        if problem:
            anchor = next((r for r in group if r.points is not None), group[0])
            sheet.report(ERROR, N.indicator_name(sheet.n, anchor.k, N.POINTS), f"{sheet.title}：{key}{problem}")
            for r in group:
                notes[r.k] = f"{key}分值分配有误，见校验结果，该指标暂不计分"
            continue
        free = [r for r in group if r.points is None]
        entered = sum((r.points for r in group if r.points is not None), Fraction(0))
        for r in group:
            weights[r.k] = r.points if r.points is not None else (total - entered) / len(free)
    return weights, notes


_MOVED_FROM = (GROUPS[-1].level1,)


def _moved_weight(rows: list[V.RowInfo], rules: FundRules) -> dict[str, Fraction]:
    """{group that receives → weight} when the last group is absent and the rule moves it."""
    last, before = GROUPS[-1].level1, GROUPS[-2].level1
    weight = rules.level_weights.get(last)
    if not rules.move_missing_level or weight is None or any(r.level1 == last for r in rows):
        return {}
    return {before: weight}


def _split(group: list[V.RowInfo], total: Fraction) -> str | None:
    """Why the typed 分值 cannot be honoured, or None."""
    typed = [r for r in group if r.points is not None]
    if not typed:
        return None
    entered = sum((r.points for r in typed), Fraction(0))
    free = [r for r in group if r.points is None]
    rows = "、".join(f"第{r.k}行" for r in typed)
    if entered > total:
        return f"所填分值（{rows}）合计{fmt_score(entered)}分，超过该类分值{fmt_score(total)}分"
    if not free and entered != total:
        return f"各指标所填分值合计{fmt_score(entered)}分，不等于该类分值{fmt_score(total)}分"
    if free and entered == total:
        others = "、".join(f"第{r.k}行" for r in free)
        return f"所填分值（{rows}）合计已达该类分值{fmt_score(total)}分，其余指标（{others}）分不到分值"
    return None


def _level_anchor(sheet: V.FundSheet, level: str) -> str:
    """The 一级指标 cell of the template row meant for this level, else row 1's."""
    for k, row in enumerate(sheet.fund.indicators, start=1):
        if V.norm_level(row.level1) == level:
            return N.indicator_name(sheet.n, k, N.LEVEL1)
    return N.indicator_name(sheet.n, 1, N.LEVEL1)


# ---- one indicator ------------------------------------------------------------------------

def _score_row(
    sheet: V.FundSheet, info: V.RowInfo, weight: Fraction | None, weight_note: str | None, rules: FundRules,
) -> IndicatorScore:
    def result(explanation: str, outcome: Outcome | None = None, score: Fraction | None = None) -> IndicatorScore:
        return IndicatorScore(
            info.k, info.level1, info.level2, info.name, outcome.kind if outcome else "", weight,
            outcome.ratio if outcome else None, score, explanation, outcome,
        )

    row = info.row
    qualitative = is_qualitative(row.tier, row.actual)
    if not info.ready:
        if not qualitative:
            _report_target_problem(sheet, info)
        return result("缺少年度指标值或全年完成值，该指标暂不计分")
    if not info.level1:
        weight_note = "一级指标有误，见校验结果，该指标不计分"
    if qualitative and rules.tiers is None:
        return result("评分规则中定性档次区间有误，见校验结果，该指标不计分")
    try:
        outcome = assess(
            row.target, row.actual, row.tier, year=sheet.fund.year, level2=info.level2, tiers=rules.tiers,
        )
    except IndicatorError as exc:
        name = N.indicator_name(sheet.n, info.k, exc.field)
        sheet.report(ERROR, name, f"{sheet.title}{info.label}：{exc.message}")
        return result(f"{exc.message}，该指标暂不计分")
    V.check_reason(sheet, info, outcome.met)
    lead = f"{info.label}：{outcome.text}"
    if weight is None:
        return result(f"{lead}；{weight_note or '分值无法确定'}", outcome)
    # A qualitative 完成比例 never exceeds 100% (its tier ends there), so one formula serves both.
    score = weight * min(outcome.ratio, ONE)
    tail = _scored(weight, outcome.ratio, score)
    if rules.overrun is not None and outcome.kind == T_QUANTITATIVE and outcome.ratio >= rules.overrun[0]:
        threshold, points = rules.overrun
        score = max(Fraction(0), score - points)
        tail += f"；完成率达到{fmt_pct(threshold)}以上，按评分规则扣{fmt_score(points)}分，得{fmt_score(score)}分"
    return result(f"{lead}，{tail}", outcome, score)


def _report_target_problem(sheet: V.FundSheet, info: V.RowInfo) -> None:
    """A 指标值 that cannot be read is worth knowing even while its 完成值 is still missing."""
    try:
        parse_target(info.row.target, year=sheet.fund.year)
    except IndicatorError as exc:
        sheet.report(ERROR, N.indicator_name(sheet.n, info.k, exc.field), f"{sheet.title}{info.label}：{exc.message}")
