"""Scoring rules of the 专项资金自评表 as data: rows for the 评分规则 sheet and their reader.

The defaults are rows of text exactly as they will stand on the sheet (table 专项评分规则表,
beside the main 评分规则表), and go through the same reader as an edited sheet.  A row that
cannot be read leaves what it governs unscored and is reported; defaults are never substituted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Sequence

from ..contract import RULES_SHEET
from ..findings import Finding
from ..numbers import quote, read_number
from ..rules import RowError, RuleProblem, cell_at, problem_findings, weight_total_hint
from . import names as N
from .qualitative import TIER_KEYS, Tier
from .targets import compact

FUND_RULE_COLUMNS = ("项目", "分值", "完成比例区间", "口径说明")

EXEC_KEY = N.EXEC  # 预算执行率
LEVEL1_KEYS = {"产出": "产出指标", "效益": "效益指标", "满意度": "满意度指标"}
WEIGHT_KEYS = (EXEC_KEY,) + tuple(LEVEL1_KEYS.values())
ALL_KEYS = WEIGHT_KEYS + TIER_KEYS

_SHARED = "由本类各三级指标平分；某指标填写了“分值”的按所填分值计，其余指标平分剩余分值。"

DEFAULT_FUND_RULE_ROWS: tuple[tuple[str, ...], ...] = (
    (EXEC_KEY, "10", "", "得分=分值×执行率（全年执行数B/全年预算数A），执行率超过100%按100%计。"),
    ("产出指标", "50", "", _SHARED),
    ("效益指标", "30", "", _SHARED),
    ("满意度指标", "10", "", _SHARED),
    (TIER_KEYS[0], "", "[80%,100%]", "定性指标完成比例100%—80%（含）。"),
    (TIER_KEYS[1], "", "[60%,80%)", "定性指标完成比例80%—60%（含）。"),
    (TIER_KEYS[2], "", "[0%,60%)", "定性指标完成比例60%—0%。"),
)

FUND_GENERAL_NOTES = (
    "口径说明（专项资金，默认）：",
    "1. 定量指标：正向指标（≥、不低于、以上，或未写比较符）得分=分值×完成值/指标值；反向指标（≤、不超过、以内，"
    "成本指标未写比较符时亦按反向）得分=分值×指标值/完成值；完成率超过100%按100%计。",
    "2. 时限指标（如“2020年12月底前”）按时完成得满分，否则不得分；所写日期当天完成视为按时。",
    "3. 定性指标选择档次并填写完成比例，完成比例须在该档区间内，得分=分值×完成比例。"
    "区间“[80%,100%]”含两端，“[60%,80%)”含60%不含80%。",
    "4. 等级：90分（含）以上为优，80分（含）至90分为良，60分（含）至80分为中，60分以下为差。",
    "5. 多个专项汇总：全年预算数、全年执行数直接相加，执行率=执行数合计/预算数合计；部门得分按各专项全年预算数加权平均；"
    "同名定量指标的绝对值直接累加，相对值（百分数）按全年预算数加权平均。",
    "6. 比较在精确值上进行，不先四舍五入。本表任一行填写有误时，相应部分不计分并在校验结果中说明，不会改用默认规则。",
)

_BOUND = r"(\d+(?:\.\d+)?%?)"
_INTERVAL = re.compile(rf"^([\[(]){_BOUND},{_BOUND}([\])])$")


@dataclass
class FundRules:
    exec_weight: Fraction | None = None
    level_weights: dict[str, Fraction] = field(default_factory=dict)  # "产出" → 50
    tiers: tuple[Tier, ...] | None = None  # None when any tier row is wrong or missing
    problems: list[RuleProblem] = field(default_factory=list)

    @property
    def total_weight(self) -> Fraction:
        return (self.exec_weight or Fraction(0)) + sum(self.level_weights.values(), Fraction(0))


def _weight(row: tuple) -> Fraction:
    raw = cell_at(row, 1)
    reading = read_number(raw)
    if reading.problem:
        raise RowError("分值", f"“分值”{reading.problem}")
    if reading.value is None or reading.dash:
        raise RowError("分值", "“分值”未填写")
    if reading.value <= 0:
        raise RowError("分值", f"“分值”应大于0，现为{quote(raw)}")
    return reading.value


def _bound(text: str, raw: object) -> Fraction:
    value = read_number(text).value
    if not text.endswith("%") and value != 0:
        raise ValueError(f"“完成比例区间”{quote(raw)}的上下限请写成百分数，如“[80%,100%]”")
    return value


def parse_interval(key: str, raw: object) -> Tier:
    """'[80%,100%]' → Tier; raises ValueError with a Chinese reason."""
    text = compact(raw or "").replace("，", ",")
    if not text:
        raise ValueError("“完成比例区间”未填写")
    m = _INTERVAL.match(text)
    if not m:
        raise ValueError(f"“完成比例区间”{quote(raw)}应写成如“[80%,100%]”或“[60%,80%)”")
    low, high = _bound(m.group(2), raw), _bound(m.group(3), raw)
    low_closed, high_closed = m.group(1) == "[", m.group(4) == "]"
    if not (0 <= low <= high <= 1):
        raise ValueError(f"“完成比例区间”{quote(raw)}应在0%至100%之间且下限不大于上限")
    if low == high and not (low_closed and high_closed):
        raise ValueError(f"“完成比例区间”{quote(raw)}不含任何比例")
    return Tier(key, low, low_closed, high, high_closed)


def read_fund_rules(rows: Sequence[tuple], first_row: int = 2) -> FundRules:
    """The 专项评分规则表 rows (header excluded) → FundRules with every problem found."""
    result = FundRules()
    seen: dict[str, int] = {}
    tiers: dict[str, Tier] = {}
    for offset, row in enumerate(rows):
        row = tuple(row)
        row_number = first_row + offset
        key = compact(cell_at(row, 0) or "")
        if not key or key.startswith("口径说明") or re.match(r"^\d+\.", key):
            continue
        if key not in ALL_KEYS:
            result.problems.append(RuleProblem(
                key, row_number, "项目", f"项目名称{quote(key)}不是{'、'.join(ALL_KEYS)}之一",
            ))
            continue
        if key in seen:
            result.problems.append(RuleProblem(
                key, row_number, "项目", f"项目“{key}”重复出现（第{seen[key]}行已有），请只保留一行",
            ))
            _forget(result, tiers, key)
            continue
        seen[key] = row_number
        try:
            if key in WEIGHT_KEYS:
                weight = _weight(row)
                if key == EXEC_KEY:
                    result.exec_weight = weight
                else:
                    result.level_weights[_level1_of(key)] = weight
            else:
                try:
                    tiers[key] = parse_interval(key, cell_at(row, 2))
                except ValueError as exc:
                    raise RowError("完成比例区间", str(exc)) from None
        except RowError as exc:
            result.problems.append(RuleProblem(key, row_number, exc.column, exc.message))
    for key in ALL_KEYS:
        if key not in seen:
            result.problems.append(RuleProblem(key, 0, "项目", f"专项评分规则中缺少“{key}”行"))
    if all(k in tiers for k in TIER_KEYS):
        result.tiers = tuple(tiers[k] for k in TIER_KEYS)
    return result


def _level1_of(key: str) -> str:
    return next(level for level, k in LEVEL1_KEYS.items() if k == key)


def _forget(result: FundRules, tiers: dict[str, Tier], key: str) -> None:
    """A duplicated row makes the key unusable: which of the two was meant is unknown."""
    if key == EXEC_KEY:
        result.exec_weight = None
    elif key in LEVEL1_KEYS.values():
        result.level_weights.pop(_level1_of(key), None)
    else:
        tiers.pop(key, None)


def default_fund_rules() -> FundRules:
    return read_fund_rules(DEFAULT_FUND_RULE_ROWS)


@dataclass(frozen=True)
class FundRulesSource:
    """Where the 专项评分规则表 rows came from, so problems can name their cell."""

    rows: Sequence[tuple]
    sheet: str = RULES_SHEET
    first_row: int = 2
    first_column: int = 1  # 1 = column A


def _consequence(key: str) -> str:
    if key == EXEC_KEY:
        return "各专项预算执行率不计分"
    if key in LEVEL1_KEYS.values():
        return f"各专项{key}不计分"
    if key in TIER_KEYS:
        return "各专项定性指标不计分"
    return "该行不起作用"


def fund_rule_findings(rules: FundRules, source: FundRulesSource) -> list[Finding]:
    found = problem_findings(rules.problems, source.sheet, source.first_column, FUND_RULE_COLUMNS, "专项评分规则",
                             _consequence)
    hint = None if rules.problems else weight_total_hint(rules.total_weight, source.sheet, "专项评分规则")
    return found + ([hint] if hint else [])
