"""Checks on one fund block, reported as Findings against its defined names.

错误 stops what it touches (the row, or the 预算执行率 when a 年度资金总额 cell is wrong); 提示 is
advisory.  Missing figures are reported too: a fund block that has been started should be
finished, and an empty cell must not pass for a zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Mapping

from evalbook.core.findings import ERROR, HINT, CellRef, Finding, finding
from evalbook.core.numbers import fmt_money, fmt_score, read_number, read_text
from . import names as N
from .model import FundInput, IndicatorRow
from .form import GROUPS
from .targets import compact, is_blank

TOLERANCE = Fraction(1, 100)  # 万元: parts may differ from 年度资金总额 by one cent of 万元

LEVEL2_CHOICES = {group.level1: group.level2 for group in GROUPS}
_LEVEL2_ALIASES = {group.alias: group.level2[0] for group in GROUPS if group.alias}
COLUMN_LABELS = {N.BUDGET: "全年预算数", N.SPENT: "全年执行数"}


@dataclass
class FundSheet:
    """One fund being checked: where its cells are, and what has been found so far."""

    fund: FundInput
    refs: Mapping[str, CellRef] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    bad: set[str] = field(default_factory=set)  # names carrying an 错误

    @property
    def n(self) -> int:
        return self.fund.number

    @property
    def title(self) -> str:
        name = read_text(self.fund.name)
        return f"专项{self.n}“{name}”" if name else f"专项{self.n}"

    def where(self, name: str) -> str:
        ref = self.refs.get(name)
        return f"{ref}（{name}）" if ref else name

    def report(self, severity: str, name: str, message: str, *, stop: bool | None = None) -> None:
        self.findings.append(finding(severity, self.refs.get(name), name, message))
        if stop if stop is not None else severity == ERROR:
            self.bad.add(name)


# ---- header, goals, 说明 ------------------------------------------------------------------

def check_header(sheet: FundSheet) -> None:
    fund = sheet.fund
    fields = dict(fund.header())
    fields["年初设定目标"] = fund.goal_planned
    fields["全年实际完成情况"] = fund.goal_achieved
    missing = [f for f, v in fields.items() if not read_text(v)]
    if missing:
        sheet.report(
            HINT, N.header_name(sheet.n, missing[0]),
            f"{sheet.title}未填写：{'、'.join(missing)}", stop=False,
        )


def check_remarks(sheet: FundSheet) -> None:
    if not read_text(sheet.fund.remarks):
        sheet.report(
            HINT, N.header_name(sheet.n, N.REMARKS),
            f"{sheet.title}：说明栏未填写；请简要说明各级监督检查中发现的问题及其所涉及的金额，如没有请填“无”",
            stop=False,
        )


# ---- 项目资金 -----------------------------------------------------------------------------

Money = dict[tuple[str, str], Fraction | None]  # (item, 预算数/执行数) → 万元


def read_money(sheet: FundSheet) -> Money:
    money: Money = {}
    for item, row in sheet.fund.money_rows():
        for column, raw in ((N.BUDGET, row.budget), (N.SPENT, row.spent)):
            money[item, column] = _money_cell(sheet, item, column, raw)
    _check_total_present(sheet, money)
    _check_spent_within_budget(sheet, money)
    _check_parts(sheet, money)
    return money


def money_label(item: str, column: str) -> str:
    return f"{N.MONEY_LABELS[item]}{COLUMN_LABELS[column]}"


def _money_cell(sheet: FundSheet, item: str, column: str, raw: object) -> Fraction | None:
    name = N.money_name(sheet.n, item, column)
    reading = read_number(raw)
    if reading.problem:
        sheet.report(ERROR, name, f"{sheet.title}：{sheet.where(name)}{reading.problem}")
        return None
    if reading.value is not None and reading.value < 0:
        sheet.report(
            ERROR, name,
            f"{sheet.title}：{money_label(item, column)}为负数{fmt_money(reading.value)}，应填写不小于0的数",
        )
        return None
    return reading.value


def _check_total_present(sheet: FundSheet, money: Money) -> None:
    for column in (N.BUDGET, N.SPENT):
        name = N.money_name(sheet.n, N.TOTAL, column)
        if money[N.TOTAL, column] is None and name not in sheet.bad:
            sheet.report(ERROR, name, f"{sheet.title}：未填写{money_label(N.TOTAL, column)}，预算执行率暂不计分")
    budget = money[N.TOTAL, N.BUDGET]
    if budget == 0:
        name = N.money_name(sheet.n, N.TOTAL, N.BUDGET)
        sheet.report(ERROR, name, f"{sheet.title}：年度资金总额全年预算数为0，无法计算执行率")


def _check_spent_within_budget(sheet: FundSheet, money: Money) -> None:
    # Advisory: the score caps the rate at 100%, so an overspend is scorable, but it is usually
    # a budget that was adjusted without the form being updated.
    for item in N.MONEY_ITEMS:
        budget, spent = money[item, N.BUDGET], money[item, N.SPENT]
        if budget is not None and spent is not None and spent > budget:
            sheet.report(
                HINT, N.money_name(sheet.n, item, N.SPENT),
                f"{sheet.title}：{N.MONEY_LABELS[item]}全年执行数{fmt_money(spent)}万元大于全年预算数"
                f"{fmt_money(budget)}万元，请核对（执行率按100%计分）",
                stop=False,
            )


def _check_parts(sheet: FundSheet, money: Money) -> None:
    for column in (N.BUDGET, N.SPENT):
        stated = money[N.TOTAL, column]
        names = [N.money_name(sheet.n, p, column) for p in N.PARTS]
        values = [money[p, column] for p in N.PARTS]
        if stated is None or all(v is None for v in values) or any(n in sheet.bad for n in names):
            continue
        computed = sum((v for v in values if v is not None), Fraction(0))
        if abs(stated - computed) > TOLERANCE:
            total_name = N.money_name(sheet.n, N.TOTAL, column)
            parts_text = "+".join(N.MONEY_LABELS[p] for p in N.PARTS)
            sheet.report(
                ERROR, total_name,
                f"{sheet.title}：年度资金总额{COLUMN_LABELS[column]}为{fmt_money(stated)}万元，但{parts_text}合计为"
                f"{fmt_money(computed)}万元，相差{fmt_money(stated - computed)}万元",
            )


# ---- 绩效指标 rows ------------------------------------------------------------------------

@dataclass
class RowInfo:
    """An indicator row as understood before its values are compared."""

    k: int
    row: IndicatorRow
    level1: str  # 产出 / 效益 / 满意度, "" when missing or wrong
    level2: str
    name: str
    points: Fraction | None  # entered 分值
    points_bad: bool = False
    ready: bool = True  # 指标值 and 完成值 are both there

    @property
    def label(self) -> str:
        kind = self.level2 or self.level1
        name = self.name or f"第{self.k}行"
        return f"{kind}指标“{name}”" if kind else f"指标“{name}”"


def norm_level(raw: object) -> str:
    """'产   出   指   标' → '产出'; '生态效益  指标' → '生态效益'; the seed's '……' → ''."""
    text = compact(raw) if raw is not None else ""
    if text.endswith("指标") and len(text) > 2:
        text = text[:-2]
    if set(text) <= set("….。·"):
        return ""
    return text


def read_rows(sheet: FundSheet) -> list[RowInfo]:
    """The rows with anything typed in them, with presence and label problems reported."""
    infos = []
    for k, row in enumerate(sheet.fund.indicators, start=1):
        if row.filled():
            infos.append(_read_row(sheet, k, row))
    return infos


def _read_row(sheet: FundSheet, k: int, row: IndicatorRow) -> RowInfo:
    n = sheet.n
    level1 = norm_level(row.level1)
    level2 = norm_level(row.level2)
    level2 = _LEVEL2_ALIASES.get(level2, level2)
    info = RowInfo(k, row, level1, level2, read_text(row.name), None)
    if level1 not in LEVEL2_CHOICES:
        message = (
            f"{sheet.title}{info.label}：未填写一级指标" if not level1
            else f"{sheet.title}{info.label}：一级指标“{level1}”应为{'、'.join(LEVEL2_CHOICES)}之一"
        )
        sheet.report(ERROR, N.indicator_name(n, k, N.LEVEL1), message + "，无法分配分值")
        info.level1 = ""
    elif not level2:
        sheet.report(HINT, N.indicator_name(n, k, N.LEVEL2), f"{sheet.title}{info.label}：未填写二级指标", stop=False)
    elif level2 not in LEVEL2_CHOICES[level1]:
        sheet.report(
            HINT, N.indicator_name(n, k, N.LEVEL2),
            f"{sheet.title}{info.label}：二级指标“{level2}”不是{level1}指标的"
            f"{'、'.join(LEVEL2_CHOICES[level1])}之一，请核对",
            stop=False,
        )
    if not info.name:
        sheet.report(HINT, N.indicator_name(n, k, N.LEVEL3), f"{sheet.title}{info.label}：未填写三级指标名称", stop=False)
    _read_points(sheet, info)
    if is_blank(row.target):
        sheet.report(
            ERROR, N.indicator_name(n, k, N.TARGET), f"{sheet.title}{info.label}：未填写年度指标值，该指标暂不计分",
        )
        info.ready = False
    elif is_blank(row.actual):
        sheet.report(
            ERROR, N.indicator_name(n, k, N.ACTUAL),
            f"{sheet.title}{info.label}：已填写年度指标值，但未填写全年完成值，该指标暂不计分",
        )
        info.ready = False
    return info


def _read_points(sheet: FundSheet, info: RowInfo) -> None:
    name = N.indicator_name(sheet.n, info.k, N.POINTS)
    reading = read_number(info.row.points)
    if reading.problem:
        sheet.report(ERROR, name, f"{sheet.title}{info.label}：分值{reading.problem}")
        info.points_bad = True
    elif reading.value is not None and not reading.dash:
        if reading.value <= 0:
            sheet.report(ERROR, name, f"{sheet.title}{info.label}：分值应大于0，现为{fmt_score(reading.value)}")
            info.points_bad = True
        else:
            info.points = reading.value


def check_reason(sheet: FundSheet, info: RowInfo, met: bool) -> None:
    if not met and not read_text(info.row.reason):
        sheet.report(
            HINT, N.indicator_name(sheet.n, info.k, N.REASON),
            f"{sheet.title}{info.label}：未达到年度指标值，请填写未完成原因和改进措施",
            stop=False,
        )
