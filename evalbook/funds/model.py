"""What a fund block holds (as read from its cells) and what evaluating it produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Mapping

from evalbook.core.grading import Graded, Grades
from evalbook.core.findings import Finding
from evalbook.core.numbers import PENDING, fraction_to_float, read_text, round2
from . import names as N
from .rules import FUND_GRADES

if TYPE_CHECKING:  # only for annotations: assess imports nothing from here at run time
    from .assess import Outcome



@dataclass
class MoneyRow:
    """One line of 项目资金（万元）: raw cell values."""

    budget: object = None  # 全年预算数（A）
    spent: object = None  # 全年执行数（B）


@dataclass
class IndicatorRow:
    """One 绩效指标 row: raw cell values, exactly as read."""

    level1: object = None  # 一级指标: 产出 / 效益 / 满意度 (the template may prefill it)
    level2: object = None  # 二级指标: 数量 / 质量 / … (the template may prefill it)
    name: object = None  # 三级指标
    target: object = None  # 年度指标值
    actual: object = None  # 全年完成值
    reason: object = None  # 未完成原因和改进措施
    points: object = None  # 分值 typed for this indicator; blank = share the 一级指标 evenly
    tier: object = None  # 定性档次 for qualitative indicators

    def filled(self) -> bool:
        """Whether the accountant wrote anything in the row (prefilled labels do not count)."""
        return any(
            read_text(v) for v in (self.name, self.target, self.actual, self.reason, self.points, self.tier)
        )


@dataclass
class FundInput:
    """One fund's block, plain Python values as read from its cells (None for a blank cell)."""

    number: int  # n in 专项n_…
    name: object = None  # 专项资金名称
    manager: object = None  # 负责人及电话
    department: object = None  # 县级主管部门
    implementer: object = None  # 实施单位
    total: MoneyRow = field(default_factory=MoneyRow)  # 年度资金总额
    higher: MoneyRow = field(default_factory=MoneyRow)  # 其中：中央、省、市补助
    county: MoneyRow = field(default_factory=MoneyRow)  # 县级资金
    other: MoneyRow = field(default_factory=MoneyRow)  # 其他资金
    goal_planned: object = None  # 年度总体目标：年初设定目标
    goal_achieved: object = None  # 年度总体目标：全年实际完成情况
    indicators: list[IndicatorRow] = field(default_factory=list)  # row k = position + 1
    remarks: object = None  # 说明
    year: int | None = None  # 评价年度, for deadlines written without a year ("12月底前")

    def money_rows(self) -> tuple[tuple[str, MoneyRow], ...]:
        return (
            (N.TOTAL, self.total), ("中央省市补助", self.higher), ("县级资金", self.county), ("其他资金", self.other),
        )

    def header(self) -> dict[str, object]:
        return {
            "专项资金名称": self.name, "负责人及电话": self.manager,
            "县级主管部门": self.department, "实施单位": self.implementer,
        }

    def is_blank(self) -> bool:
        """An unused block of the template: nothing typed at all."""
        values = list(self.header().values()) + [self.goal_planned, self.goal_achieved, self.remarks]
        values += [v for _, row in self.money_rows() for v in (row.budget, row.spent)]
        return not any(read_text(v) for v in values) and not any(r.filled() for r in self.indicators)

    @classmethod
    def from_names(
        cls, n: int, raw: Mapping[str, object], rows: int = N.INDICATOR_ROWS, year: int | None = None,
    ) -> "FundInput":
        """Fund n from key → cell value (keys as in `names.fund_input_keys`)."""
        def get(name: str) -> object:
            return raw.get(name)

        def money(item: str) -> MoneyRow:
            return MoneyRow(get(N.money_name(n, item, N.BUDGET)), get(N.money_name(n, item, N.SPENT)))

        def row(k: int) -> IndicatorRow:
            def cell(f: str) -> object:
                return get(N.indicator_name(n, k, f))
            return IndicatorRow(
                level1=cell(N.LEVEL1), level2=cell(N.LEVEL2), name=cell(N.LEVEL3), target=cell(N.TARGET),
                actual=cell(N.ACTUAL), reason=cell(N.REASON), points=cell(N.POINTS), tier=cell(N.TIER),
            )

        return cls(
            number=n,
            name=get(N.header_name(n, "专项资金名称")),
            manager=get(N.header_name(n, "负责人及电话")),
            department=get(N.header_name(n, "县级主管部门")),
            implementer=get(N.header_name(n, "实施单位")),
            total=money(N.TOTAL), higher=money("中央省市补助"), county=money("县级资金"), other=money("其他资金"),
            goal_planned=get(N.header_name(n, "年初设定目标")),
            goal_achieved=get(N.header_name(n, "全年实际完成情况")),
            indicators=[row(k) for k in range(1, rows + 1)],
            remarks=get(N.header_name(n, N.REMARKS)),
            year=year,
        )


@dataclass
class MoneyLine:
    item: str
    budget: Fraction | None
    spent: Fraction | None
    rate: Fraction | None  # B/A, not capped


@dataclass
class IndicatorScore:
    row: int  # k
    level1: str
    level2: str
    name: str
    kind: str  # 定量 / 时限 / 达标 / 定性, "" when it could not be read
    weight: Fraction | None
    ratio: Fraction | None  # 完成率 before the 100% cap
    score: Fraction | None
    explanation: str
    outcome: "Outcome | None" = None


@dataclass
class FundResult(Graded):
    number: int
    name: str
    money: list[MoneyLine]
    exec_weight: Fraction | None
    exec_rate: Fraction | None  # 年度资金总额 B/A, not capped
    exec_score: Fraction | None
    exec_explanation: str
    indicators: list[IndicatorScore]
    gaps: list[str] = field(default_factory=list)  # why the total cannot be formed beyond single rows
    findings: list[Finding] = field(default_factory=list)
    grades: Grades = FUND_GRADES
    cap: Fraction | None = None  # highest total the 执行率 allows (评分规则: 执行率封顶)

    @property
    def budget(self) -> Fraction | None:
        return self.money[0].budget

    @property
    def spent(self) -> Fraction | None:
        return self.money[0].spent

    @property
    def complete(self) -> bool:
        return (
            not self.gaps and self.exec_score is not None and all(i.score is not None for i in self.indicators)
        )

    @property
    def scored_total(self) -> Fraction:
        parts = [self.exec_score] + [i.score for i in self.indicators]
        return sum((p for p in parts if p is not None), Fraction(0))

    @property
    def total(self) -> Fraction | None:
        if not self.complete:
            return None
        return self.scored_total if self.cap is None else min(self.scored_total, self.cap)

    def indicator(self, row: int) -> IndicatorScore:
        return next(i for i in self.indicators if i.row == row)

    def outputs(self, rows: int = N.INDICATOR_ROWS) -> dict[str, object]:
        """Key → value to write (keys as in `names.fund_output_keys`)."""
        n = self.number
        out: dict[str, object] = {}
        for line in self.money:
            out[N.money_name(n, line.item, N.RATE)] = fraction_to_float(line.rate)
        out[N.exec_score_name(n)] = PENDING if self.exec_score is None else round2(self.exec_score)
        out[N.exec_note_name(n)] = self.exec_explanation
        for k in range(1, rows + 1):
            for f in N.INDICATOR_OUTPUTS:
                out[N.indicator_name(n, k, f)] = None
        for ind in self.indicators:
            out[N.indicator_name(n, ind.row, "完成率")] = fraction_to_float(ind.ratio)
            out[N.indicator_name(n, ind.row, "得分")] = PENDING if ind.score is None else round2(ind.score)
            out[N.indicator_name(n, ind.row, "扣分说明")] = ind.explanation
        total = self.total
        out[N.score_name(n)] = PENDING if total is None else round2(total)
        out[N.grade_name(n)] = self.grade or ""
        return out
