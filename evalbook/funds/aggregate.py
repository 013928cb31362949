"""A department's funds together, as note 2 of the seed form asks: absolute values summed,
relative values weighted by fund amount.

Fund amount is each fund's 年度资金总额 全年预算数 (A).  It is the 资金额度 the fund was given for
the year and is known before execution; weighting by the 执行数 (B) would let a fund that spent
little count little, softening its own poor execution.  The same weight serves the department
score and the merged percentage indicators, so the summary has one notion of "how big a fund is".

Department figures:
  全年预算数 = ΣA, 全年执行数 = ΣB, 执行率 = ΣB/ΣA (not the mean of the funds' rates);
  得分 = Σ(得分ᵢ × Aᵢ) / ΣA, graded with the same 90/80/60 bands;
  an indicator named alike (一级, 二级, 三级指标) in several funds is merged when it is
  quantitative with one direction and convertible units: percentages are weighted by A, other
  amounts (米, 户, 万元 …) are added.  Deadlines, durations ("≤15天"), 达标 words and
  qualitative tiers are not merged: adding them up would mean nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Sequence

from evalbook.core.numbers import fmt_money, fmt_score, fraction_to_float, round2
from . import names as N
from . import units as U
from .model import PENDING, FundResult
from evalbook.core.grading import Grades

from .rules import FUND_GRADES
from .targets import NUMBER

ADDED = "累加"
WEIGHTED = "按资金额度加权平均"

# Durations are limits per fund ("≤15天"); adding them across funds would mean nothing.
DURATION_UNITS = frozenset({"天", "小时", "分钟", "工作日", "个工作日", "月", "个月", "年"})


@dataclass
class FundLine:
    number: int
    name: str
    budget: Fraction | None
    spent: Fraction | None
    rate: Fraction | None
    score: Fraction | None
    grade: str | None

    def row(self, index: int) -> tuple:
        """One row of 专项汇总表 (SUMMARY_COLUMNS)."""
        return (
            index, self.name or f"专项{self.number}", fraction_to_float(self.budget), fraction_to_float(self.spent),
            fraction_to_float(self.rate), PENDING if self.score is None else round2(self.score), self.grade or "",
        )


@dataclass
class MergedIndicator:
    level1: str
    level2: str
    name: str
    unit: str
    direction: str
    target: Fraction
    actual: Fraction
    method: str
    funds: tuple[int, ...]
    scale: str = ""  # 万/亿 as every fund wrote it: "1000万吨" stays 万吨, not "10000000吨"

    def row(self) -> tuple:
        """One row of 专项指标汇总表 (INDICATOR_SUMMARY_COLUMNS)."""
        return (
            self.level1, self.level2, self.name,
            U.fmt_quantity(self.target, self.unit, self.scale), U.fmt_quantity(self.actual, self.unit, self.scale),
            self.method, "、".join(f"专项{n}" for n in self.funds),
        )


@dataclass
class FundsSummary:
    lines: list[FundLine]
    budget: Fraction | None
    spent: Fraction | None
    rate: Fraction | None
    score: Fraction | None
    score_text: str
    indicators: list[MergedIndicator] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    grades: Grades = FUND_GRADES

    @property
    def grade(self) -> str | None:
        return self.grades.grade_for(self.score)

    def outputs(self) -> dict[str, object]:
        """Summary defined name → value (names as in `names.summary_names`)."""
        return {
            N.summary_name("专项个数"): len(self.lines),
            N.summary_name("全年预算数"): fraction_to_float(self.budget),
            N.summary_name("全年执行数"): fraction_to_float(self.spent),
            N.summary_name("执行率"): fraction_to_float(self.rate),
            N.summary_name("得分"): PENDING if self.score is None else round2(self.score),
            N.summary_name("等级"): self.grade or "",
            N.summary_name("得分说明"): self.score_text,
        }

    def table(self) -> list[tuple]:
        return [line.row(i) for i, line in enumerate(self.lines, start=1)]

    def indicator_table(self) -> list[tuple]:
        return [m.row() for m in self.indicators]


def summarize(results: Sequence[FundResult], grades: Grades = FUND_GRADES) -> FundsSummary:
    lines = [
        FundLine(r.number, r.name, r.budget, r.spent, r.money[0].rate, r.total, r.grade) for r in results
    ]
    notes: list[str] = []
    budget = _sum(lines, "budget", "全年预算数", notes)
    spent = _sum(lines, "spent", "全年执行数", notes)
    rate = spent / budget if budget and spent is not None else None
    score, score_text = _weighted_score(lines, budget)
    indicators = _merge_indicators(results, notes)
    return FundsSummary(lines, budget, spent, rate, score, score_text, indicators, notes, grades)


def _sum(lines: list[FundLine], attr: str, label: str, notes: list[str]) -> Fraction | None:
    missing = [f"专项{line.number}" for line in lines if getattr(line, attr) is None]
    if missing:
        notes.append(f"{'、'.join(missing)}的{label}缺失或有误，{label}合计暂不计算")
        return None
    return sum((getattr(line, attr) for line in lines), Fraction(0))


def _weighted_score(lines: list[FundLine], budget: Fraction | None) -> tuple[Fraction | None, str]:
    if not lines:
        return None, "没有填写专项资金"
    pending = [f"专项{line.number}" for line in lines if line.score is None]
    if pending:
        return None, f"{'、'.join(pending)}得分待补充，部门专项资金得分暂不计算"
    if not budget:
        return None, "全年预算数合计缺失或为0，无法按资金额度加权，部门专项资金得分暂不计算"
    score = sum((line.score * line.budget for line in lines), Fraction(0)) / budget
    if len(lines) == 1:
        return score, f"仅一个专项，部门专项资金得分即专项{lines[0].number}得分{fmt_score(score)}分"
    terms = "+".join(f"{fmt_score(line.score)}×{fmt_money(line.budget)}" for line in lines)
    return score, (
        f"部门专项资金得分=Σ(各专项得分×全年预算数)/全年预算数合计=({terms})/{fmt_money(budget)}"
        f"={fmt_score(score)}分"
    )


def _merge_indicators(results: Sequence[FundResult], notes: list[str]) -> list[MergedIndicator]:
    groups: dict[tuple[str, str, str], list[tuple[FundResult, object]]] = {}
    for result in results:
        for ind in result.indicators:
            outcome = ind.outcome
            if outcome is None or outcome.kind != NUMBER or not ind.name or not ind.level1:
                continue
            groups.setdefault((ind.level1, ind.level2, ind.name), []).append((result, outcome.comparison))
    merged = []
    for (level1, level2, name), entries in groups.items():
        unit = entries[0][1].unit
        direction = entries[0][1].direction
        if unit in DURATION_UNITS:
            if len({r.number for r, _ in entries}) > 1:
                notes.append(f"同名时限指标“{name}”（单位{unit}）不宜累加，未汇总")
            continue
        if any(not U.convertible(c.unit, unit) or c.direction != direction for _, c in entries):
            notes.append(f"同名指标“{name}”在各专项中的单位或方向不一致，未汇总")
            continue
        targets = [U.convert(c.target_value, c.unit, unit) for _, c in entries]
        actuals = [U.convert(c.actual_value, c.unit, unit) for _, c in entries]
        funds = tuple(r.number for r, _ in entries)
        if unit == U.PERCENT:
            amounts = [r.budget for r, _ in entries]
            if any(a is None for a in amounts) or not sum(amounts, Fraction(0)):
                notes.append(f"指标“{name}”所属专项缺少全年预算数，无法按资金额度加权，未汇总")
                continue
            whole = sum(amounts, Fraction(0))
            target = sum((t * a for t, a in zip(targets, amounts)), Fraction(0)) / whole
            actual = sum((v * a for v, a in zip(actuals, amounts)), Fraction(0)) / whole
            method = WEIGHTED
        else:
            target, actual, method = sum(targets, Fraction(0)), sum(actuals, Fraction(0)), ADDED
        scales = {c.scale for _, c in entries}
        scale = scales.pop() if len(scales) == 1 else ""
        merged.append(MergedIndicator(level1, level2, name, unit, direction, target, actual, method, funds, scale))
    return merged
