"""Scoring rules of the 专项资金自评表 as data: rows for the 评分规则 sheet and their reader.

The defaults are rows of text exactly as they will stand on the sheet (table 专项评分规则表,
beside the main 评分规则表), and go through the same reader as an edited sheet.  A row that
cannot be read leaves what it governs unscored and is reported; defaults are never substituted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Sequence

from evalbook.core import ruletable as T
from evalbook.core.findings import Finding
from evalbook.core.grading import Grades
from evalbook.core.intervals import Interval, parse_bounds
from evalbook.core.numbers import quote, read_number
from evalbook.funds import names as N
from evalbook.funds.form import GROUPS
from evalbook.funds.qualitative import TIER_KEYS, Tier
from evalbook.funds.targets import compact

RULES_SHEET = "评分规则"  # where the template puts the fund rule rows
# the fund 等级, as on the department's 评分表 (see the notes below)
FUND_GRADES = Grades(((Fraction(90), "优"), (Fraction(80), "良"), (Fraction(60), "中"), (Fraction(0), "差")))

FUND_RULE_COLUMNS = ("项目", "分值", "完成比例区间", "口径说明")

EXEC_KEY = N.EXEC  # 预算执行率
LEVEL1_KEYS = {group.level1: group.rule_key for group in GROUPS}
WEIGHT_KEYS = (EXEC_KEY,) + tuple(LEVEL1_KEYS.values())
# Options found in use elsewhere, each off (today's scoring) while its 完成比例区间 cell is blank.
MOVE_KEY = f"{GROUPS[-1].rule_key}缺省时转入{GROUPS[-2].rule_key}"  # 财预〔2020〕10号
OVERRUN_KEY = "大幅超目标扣分"
CAP_KEY = "执行率封顶"
GRADES_KEY = "专项等级"
OPTION_KEYS = (MOVE_KEY, OVERRUN_KEY, CAP_KEY, GRADES_KEY)
ALL_KEYS = WEIGHT_KEYS + TIER_KEYS + OPTION_KEYS
REQUIRED_KEYS = WEIGHT_KEYS + TIER_KEYS  # a template made before the options has none of their rows

_SHARED = "由本类各三级指标平分；某指标填写了“分值”的按所填分值计，其余指标平分剩余分值。"

DEFAULT_FUND_RULE_ROWS: tuple[tuple[str, ...], ...] = (
    (EXEC_KEY, "10", "", "得分=分值×执行率（全年执行数B/全年预算数A），执行率超过100%按100%计。"),
    *((group.rule_key, group.weight, "", _SHARED) for group in GROUPS),
    (TIER_KEYS[0], "", "[80%,100%]", "定性指标完成比例100%—80%（含）。"),
    (TIER_KEYS[1], "", "[60%,80%)", "定性指标完成比例80%—60%（含）。"),
    (TIER_KEYS[2], "", "[0%,60%)", "定性指标完成比例60%—0%。"),
    (MOVE_KEY, "", "", f"填“是”时，没有{GROUPS[-1].rule_key}的专项，其分值并入{GROUPS[-2].rule_key}（财预〔2020〕10号）；空白为不并入。"),
    (OVERRUN_KEY, "", "", "填如“130%:2”：定量指标完成值超过指标值30%及以上的，该指标扣2分；空白为不扣。"),
    (CAP_KEY, "", "", "填如“[70%,80%):89；[60%,70%):79；[50%,60%):69；<50%:59”：按执行率限定专项得分上限；空白为不限定。"),
    (GRADES_KEY, "", "", "填如“优:90；良:80；中:60；差:0”（等级:下限）；空白按90/80/60分档。"),
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


@dataclass
class FundRules:
    exec_weight: Fraction | None = None
    level_weights: dict[str, Fraction] = field(default_factory=dict)  # "产出" → 50
    tiers: tuple[Tier, ...] | None = None  # None when any tier row is wrong or missing
    problems: list[T.RuleProblem] = field(default_factory=list)
    grades: Grades = FUND_GRADES
    move_missing_level: bool = False  # the last group's weight goes to the one before when it is absent
    overrun: tuple[Fraction, Fraction] | None = None  # (完成率 from which, points deducted)
    caps: tuple[tuple[Interval, Fraction], ...] = ()  # 执行率 interval → highest total

    @property
    def total_weight(self) -> Fraction:
        return (self.exec_weight or Fraction(0)) + sum(self.level_weights.values(), Fraction(0))


def _weight(row: tuple) -> Fraction:
    raw = T.cell_at(row, 1)
    reading = read_number(raw)
    if reading.problem:
        raise T.RowError("分值", f"“分值”{reading.problem}")
    if reading.value is None or reading.dash:
        raise T.RowError("分值", "“分值”未填写")
    if reading.value <= 0:
        raise T.RowError("分值", f"“分值”应大于0，现为{quote(raw)}")
    return reading.value


def parse_interval(key: str, raw: object) -> Tier:
    """'[80%,100%]' → Tier; raises ValueError with a Chinese reason."""
    text = compact(raw or "").replace("，", ",")
    if not text:
        raise ValueError("“完成比例区间”未填写")
    bounds = parse_bounds(text) if text[0] in "[(" else None
    if bounds is None or bounds[0] is None or bounds[2] is None:
        raise ValueError(f"“完成比例区间”{quote(raw)}应写成如“[80%,100%]”或“[60%,80%)”")
    low, low_closed, high, high_closed = bounds
    written = text[1:-1].split(",")
    if any(not part.endswith("%") and read_number(part).value != 0 for part in written):
        raise ValueError(f"“完成比例区间”{quote(raw)}的上下限请写成百分数，如“[80%,100%]”")
    if not (0 <= low <= high <= 1):
        raise ValueError(f"“完成比例区间”{quote(raw)}应在0%至100%之间且下限不大于上限")
    if low == high and not (low_closed and high_closed):
        raise ValueError(f"“完成比例区间”{quote(raw)}不含任何比例")
    return Tier(key, low, low_closed, high, high_closed)


def _option_text(row: tuple) -> str:
    return compact(T.cell_at(row, 2) or "").replace("，", ",").replace("；", ";")


def _parse_option(key: str, row: tuple) -> object:
    """An option row's value, None when its cell is blank (the option is off)."""
    text = _option_text(row)
    if not text:
        return None
    try:
        if key == MOVE_KEY:
            if text not in ("是", "否"):
                raise ValueError("应填“是”或留空")
            return text == "是"
        if key == GRADES_KEY:
            bands = []
            for part in filter(None, text.split(";")):
                name, _, floor = part.rpartition(":")
                value = read_number(floor).value
                if not name or value is None:
                    raise ValueError(f"“{part}”应写成“优:90”的形式")
                bands.append((value, name))
            return Grades(tuple(sorted(bands, key=lambda b: -b[0])))
        pairs = []
        for part in filter(None, text.split(";")):
            where, _, points = part.rpartition(":")
            bounds, value = parse_bounds(where), read_number(points).value
            if bounds is None or value is None or value < 0:
                raise ValueError(f"“{part}”应写成“区间:分数”的形式")
            pairs.append((Span(*bounds), value))
        if key == OVERRUN_KEY:
            if len(pairs) != 1 or pairs[0][0].low is None:
                raise ValueError("应写成如“130%:2”（完成率达到130%及以上扣2分）")
            return pairs[0][0].low, pairs[0][1]
        return tuple(pairs)
    except ValueError as exc:
        raise T.RowError("完成比例区间", f"“{key}”{exc}") from None


@dataclass(frozen=True)
class Span(Interval):
    low: Fraction | None
    low_closed: bool
    high: Fraction | None
    high_closed: bool


def _parse_row(key: str, row: tuple, row_number: int) -> Fraction | Tier | object:
    if key in OPTION_KEYS:
        return _parse_option(key, row)
    if key in WEIGHT_KEYS:
        return _weight(row)
    try:
        return parse_interval(key, T.cell_at(row, 2))
    except ValueError as exc:
        raise T.RowError("完成比例区间", str(exc)) from None


def read_fund_rules(rows: Sequence[tuple], first_row: int = 2) -> FundRules:
    """The 专项评分规则表 rows (header excluded) → FundRules with every problem found."""
    table = T.read_keyed_rows(
        rows, first_row, keys=ALL_KEYS, required=REQUIRED_KEYS, noun="项目", parse=_parse_row,
        unknown=lambda key: f"项目名称{quote(key)}不是{'、'.join(ALL_KEYS)}之一",
        missing=lambda key: f"专项评分规则中缺少“{key}”行",
        key_text=lambda raw: compact(raw or ""),
    )
    parsed = table.parsed
    tiers = tuple(parsed[k] for k in TIER_KEYS) if all(k in parsed for k in TIER_KEYS) else None
    return FundRules(
        exec_weight=parsed.get(EXEC_KEY),
        level_weights={level: parsed[key] for level, key in LEVEL1_KEYS.items() if key in parsed},
        tiers=tiers, problems=table.problems,
        grades=parsed.get(GRADES_KEY) or FUND_GRADES, move_missing_level=bool(parsed.get(MOVE_KEY)),
        overrun=parsed.get(OVERRUN_KEY), caps=parsed.get(CAP_KEY) or (),
    )


def default_fund_rules() -> FundRules:
    return read_fund_rules(DEFAULT_FUND_RULE_ROWS)


def default_source() -> T.RulesSource:
    return T.RulesSource(DEFAULT_FUND_RULE_ROWS, RULES_SHEET)


def _consequence(key: str) -> str:
    if key == EXEC_KEY:
        return "各专项预算执行率不计分"
    if key in LEVEL1_KEYS.values():
        return f"各专项{key}不计分"
    if key in TIER_KEYS:
        return "各专项定性指标不计分"
    if key in OPTION_KEYS:
        return "该选项按空白（不启用）处理" if key != GRADES_KEY else "专项等级按90/80/60分档"
    return "该行不起作用"


def fund_rule_findings(rules: FundRules, source: T.RulesSource) -> list[Finding]:
    found = T.problem_findings(rules.problems, source, FUND_RULE_COLUMNS, "专项评分规则", _consequence)
    if rules.problems:
        return found
    hint = T.weight_total_hint(rules.total_weight, Fraction(100), source.sheet, "专项评分规则",
                               f"等级仍按总分{rules.grades.describe()}分档")
    return found + ([hint] if hint else [])
