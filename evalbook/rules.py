"""Scoring rules as data: the 评分规则 sheet, its defaults, and reading it back.

One row per indicator.  The defaults below are rows of text, exactly as they stand on the
sheet, and go through the same reader as an edited sheet: what the template shows is what the
engine uses.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from fractions import Fraction

from . import catalogue
from .catalogue import CHECKLIST, COUNT, ENTERED, GRADE, PERCENT, PROPORTION, RATE
from .findings import ERROR, HINT, CellRef, Finding, column_letter, finding
from .numbers import clean_text, fmt_score, quote, read_number

# Methods (计分方法) as the sheet names them.
OVER = "超限扣分"
UNDER = "低于目标扣分"
DEVIATION = "偏离扣分"
BANDS = "分档计分"
CHECKS = "清单计分"
COUNTED = "计数扣分"
PROPORTIONAL = "比例折算"
GRADED = "等级计分"
TYPED = "录入得分"

STEP_METHODS = (OVER, UNDER, DEVIATION)
METHODS_FOR_KIND = {
    RATE: (OVER, UNDER, DEVIATION, BANDS),
    PERCENT: (BANDS, UNDER, OVER, DEVIATION),
    CHECKLIST: (CHECKS,),
    COUNT: (COUNTED,),
    PROPORTION: (PROPORTIONAL,),
    GRADE: (GRADED,),
    ENTERED: (TYPED,),
}

# How a partial step counts (不足一步).
WHOLE_STEPS = "整步"
ROUND_UP = "不足一步按一步"
PRO_RATA = "按比例"
STEP_POLICIES = (WHOLE_STEPS, ROUND_UP, PRO_RATA)

COLUMNS = ("指标", "分值", "计分方法", "基准值", "步长", "每步分值", "不足一步", "分档/等级", "口径说明")

# The seed's rules, as rows of the 评分规则 sheet.
DEFAULT_ROWS: tuple[tuple[str, ...], ...] = (
    ("在职人员控制率", "5", OVER, "100%", "1%", "0.5", WHOLE_STEPS, "", ""),
    ("三公经费变动率", "5", OVER, "0%", "1%", "0.8", WHOLE_STEPS, "",
     "原评分表写“≦0，计8分”，与本指标分值5分矛盾；得分不超过分值，按5分计满分。"),
    ("预算完成率", "5", UNDER, "100%", "5%", "2", WHOLE_STEPS, "", ""),
    ("预算控制率", "5", BANDS, "", "", "", "",
     "=0%:5；(0%,10%]:4；(10%,20%]:3；(20%,30%]:2；>30%:0", "本年追加预算为负时按0%计。"),
    ("楼堂馆所面积控制率", "5", OVER, "100%", "5%", "2", WHOLE_STEPS, "",
     "没有楼堂馆所项目（批复规模、实际规模均未填）按满分计。"),
    ("楼堂馆所投资控制率", "5", OVER, "100%", "5%", "2", WHOLE_STEPS, "",
     "没有楼堂馆所项目（预算投资、实际投资均未填）按满分计。"),
    ("公用经费控制率", "8", OVER, "100%", "1%", "1", WHOLE_STEPS, "", ""),
    ("三公经费控制率", "7", OVER, "100%", "1%", "1", WHOLE_STEPS, "", ""),
    ("政府采购执行率", "6", DEVIATION, "100%", "5%", "2", WHOLE_STEPS, "", "超过或低于100%都按偏离幅度扣分。"),
    ("管理制度健全性", "8", CHECKS, "", "", "2", "", "", "每项“是”得每步分值。"),
    ("资金使用合规性", "6", COUNTED, "", "", "1", "", "", "每出现一例违规扣每步分值。"),
    ("预决算信息公开性", "5", CHECKS, "", "", "1", "", "", "每项“是”得每步分值。"),
    ("重点工作完成率", "8", PROPORTIONAL, "", "", "", "", "", "得分=考核得分/考核总分×分值。"),
    ("经济社会效益", "10", TYPED, "", "", "", "", "", "按部门自评材料录入0至分值之间的得分。"),
    ("行政效能", "6", GRADED, "", "", "", "", "好:6；一般:3；差:0", ""),
    ("满意度", "6", BANDS, "", "", "", "", ">=90%:6；[80%,90%):4；[70%,80%):2；<70%:0", ""),
)

GENERAL_NOTES = (
    "口径说明（默认）：",
    "1. 按步扣分只计整步：“每超过一个百分点扣0.5分”时101.9%扣0.5分；“每低于5%扣2分”时90.1%扣2分。"
    "可在“不足一步”列改为“不足一步按一步”或“按比例”。",
    "2. 得分不低于0分、不高于分值。",
    "3. 分档中“(a,b]”表示大于a且小于等于b（含上限），“[a,b)”表示大于等于a且小于b；"
    "“=0%”表示恰好为0；“>30%”“>=90%”“<70%”为单边。例如预算控制率恰为10%属于“(0%,10%]”档。",
    "4. 比较在精确值上进行，不先四舍五入：10.2万元对10万元的变动率恰为2.00%。",
    "5. 本表任一行填写有误时，该指标不计分并在校验结果中说明，不会改用默认规则。",
)


@dataclass(frozen=True)
class Band:
    low: Fraction | None
    low_closed: bool
    high: Fraction | None
    high_closed: bool
    points: Fraction
    label: str

    def contains(self, value: Fraction) -> bool:
        if self.low is not None:
            if value < self.low or (value == self.low and not self.low_closed):
                return False
        if self.high is not None:
            if value > self.high or (value == self.high and not self.high_closed):
                return False
        return True


@dataclass(frozen=True)
class Rule:
    key: str
    weight: Fraction
    method: str
    base: Fraction | None = None
    step: Fraction | None = None
    per_step: Fraction | None = None
    policy: str = WHOLE_STEPS
    bands: tuple[Band, ...] = ()
    grades: tuple[tuple[str, Fraction], ...] = ()
    note: str = ""
    row: int = 0  # sheet row, for messages


@dataclass
class RuleProblem:
    key: str
    row: int
    column: str
    message: str


@dataclass
class RuleSet:
    rules: dict[str, Rule] = field(default_factory=dict)
    problems: list[RuleProblem] = field(default_factory=list)

    @property
    def total_weight(self) -> Fraction:
        return sum((r.weight for r in self.rules.values()), Fraction(0))


class RowError(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


def cell_at(row: tuple, index: int) -> object:
    return row[index] if index < len(row) else None


def _number(row: tuple, index: int, *, required: bool, positive: bool = False) -> Fraction | None:
    raw = cell_at(row, index)
    reading = read_number(raw)
    column = COLUMNS[index]
    if reading.problem:
        raise RowError(column, f"“{column}”{reading.problem}")
    if reading.value is None or reading.dash:
        if required:
            raise RowError(column, f"“{column}”未填写")
        return None
    if positive and reading.value <= 0:
        raise RowError(column, f"“{column}”应大于0，现为{quote(raw)}")
    if reading.value < 0:
        raise RowError(column, f"“{column}”不能为负数，现为{quote(raw)}")
    return reading.value


_BOUND = r"([+-]?\d+(?:\.\d+)?%?)"
_INTERVAL = re.compile(rf"^([\(\[])\s*{_BOUND}\s*,\s*{_BOUND}\s*([\)\]])$")
_ONE_SIDED = re.compile(rf"^(>=|<=|>|<|=)\s*{_BOUND}$")


def _bound(text: str) -> Fraction:
    reading = read_number(text)
    if reading.value is None:
        raise ValueError(text)
    return reading.value


def parse_bands(text: str) -> tuple[Band, ...]:
    """'=0%:5；(0%,10%]:4；>30%:0' → bands.  Raises ValueError with a Chinese reason."""
    normal = (
        clean_text(text).replace("≥", ">=").replace("≧", ">=").replace("≤", "<=")
        .replace("≦", "<=").replace("＞", ">").replace("＜", "<").replace("，", ",")
    )
    parts = [p.strip() for p in re.split(r"[;\n]", normal) if p.strip()]
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
        interval = interval.strip().replace(" ", "")
        if m := _INTERVAL.match(interval):
            low, high = _bound(m.group(2)), _bound(m.group(3))
            if low > high:
                raise ValueError(f"分档{quote(part)}下限大于上限")
            bands.append(Band(low, m.group(1) == "[", high, m.group(4) == "]", points.value, interval))
        elif m := _ONE_SIDED.match(interval):
            op, value = m.group(1), _bound(m.group(2))
            band = {
                ">=": Band(value, True, None, False, points.value, interval),
                ">": Band(value, False, None, False, points.value, interval),
                "<=": Band(None, False, value, True, points.value, interval),
                "<": Band(None, False, value, False, points.value, interval),
                "=": Band(value, True, value, True, points.value, interval),
            }[op]
            bands.append(band)
        else:
            raise ValueError(f"分档{quote(part)}的区间写法无法识别，应如“(0%,10%]:4”或“>=90%:6”")
    return tuple(bands)


def parse_grades(text: str) -> tuple[tuple[str, Fraction], ...]:
    normal = clean_text(text)
    grades = []
    for part in [p.strip() for p in re.split(r"[;\n]", normal) if p.strip()]:
        word, sep, points_text = part.rpartition(":")
        points = read_number(points_text)
        if not sep or not word.strip() or points.value is None or points.problem or points.value < 0:
            raise ValueError(f"等级{quote(part)}应写成“好:6”的形式")
        grades.append((word.strip(), points.value))
    if not grades:
        raise ValueError("等级为空")
    return tuple(grades)


def parse_row(row: tuple, row_number: int) -> Rule:
    """One 评分规则 row → Rule; raises RowError naming the column."""
    key = clean_text(str(cell_at(row, 0) or ""))
    indicator = catalogue.BY_KEY[key]
    weight = _number(row, 1, required=True, positive=True)
    method = clean_text(str(cell_at(row, 2) or ""))
    allowed = METHODS_FOR_KIND[indicator.kind]
    if method not in allowed:
        raise RowError("计分方法", f"计分方法{quote(method or '（空）')}不适用于本指标，可选：{'、'.join(allowed)}")
    note = clean_text(str(cell_at(row, 8) or ""))
    common = dict(key=key, weight=weight, method=method, note=note, row=row_number)
    if method in STEP_METHODS:
        base = _number(row, 3, required=True) if indicator.key != "三公经费变动率" else _signed(row, 3)
        step = _number(row, 4, required=True, positive=True)
        per_step = _number(row, 5, required=True)
        policy = clean_text(str(cell_at(row, 6) or "")) or WHOLE_STEPS
        if policy not in STEP_POLICIES:
            raise RowError("不足一步", f"“不足一步”应为{'、'.join(STEP_POLICIES)}之一，现为{quote(policy)}")
        return Rule(base=base, step=step, per_step=per_step, policy=policy, **common)
    if method == BANDS:
        try:
            bands = parse_bands(str(cell_at(row, 7) or ""))
        except ValueError as exc:
            raise RowError("分档/等级", str(exc)) from None
        return Rule(bands=bands, **common)
    if method == GRADED:
        try:
            grades = parse_grades(str(cell_at(row, 7) or ""))
        except ValueError as exc:
            raise RowError("分档/等级", str(exc)) from None
        return Rule(grades=grades, **common)
    if method in (CHECKS, COUNTED):
        return Rule(per_step=_number(row, 5, required=True), **common)
    return Rule(**common)


def _signed(row: tuple, index: int) -> Fraction:
    """A base that may be negative (a 变动率 target below zero is legitimate)."""
    reading = read_number(cell_at(row, index))
    if reading.problem:
        raise RowError(COLUMNS[index], f"“{COLUMNS[index]}”{reading.problem}")
    if reading.value is None:
        raise RowError(COLUMNS[index], f"“{COLUMNS[index]}”未填写")
    return reading.value


def read_rules(rows: list[tuple], first_row: int = 2) -> RuleSet:
    """The 评分规则 table (data rows only) → RuleSet; see `_read_rules`."""
    try:
        return _read_rules_cached(tuple(tuple(r) for r in rows), first_row)
    except TypeError:  # an unhashable cell value: read without the cache
        return _read_rules(rows, first_row)


@functools.lru_cache(maxsize=128)
def _read_rules_cached(rows: tuple, first_row: int) -> RuleSet:
    # a batch scores hundreds of workbooks with the same few rule tables; the result is read-only
    return _read_rules(rows, first_row)


def _read_rules(rows, first_row: int) -> RuleSet:
    """The 评分规则 table (data rows only) → RuleSet with every problem found.

    A row that cannot be read leaves its indicator without a rule (it will not be scored);
    defaults are never substituted silently.
    """
    result = RuleSet()
    seen: dict[str, int] = {}
    for offset, row in enumerate(rows):
        row_number = first_row + offset
        key = clean_text(str(cell_at(row, 0) or ""))
        if not key or key.startswith("口径说明") or re.match(r"^\d+\.", key):
            continue
        if key not in catalogue.BY_KEY:
            result.problems.append(RuleProblem(key, row_number, "指标", f"指标名称{quote(key)}不在16项指标之中"))
            continue
        if key in seen:
            result.problems.append(
                RuleProblem(key, row_number, "指标", f"指标“{key}”重复出现（第{seen[key]}行已有），请只保留一行")
            )
            result.rules.pop(key, None)
            continue
        seen[key] = row_number
        try:
            result.rules[key] = parse_row(row, row_number)
        except RowError as exc:
            result.problems.append(RuleProblem(key, row_number, exc.column, exc.message))
    for key in catalogue.KEYS:
        if key not in seen:
            result.problems.append(RuleProblem(key, 0, "指标", f"评分规则中缺少指标“{key}”的行"))
    return result


def problem_findings(problems: list[RuleProblem], sheet: str, first_column: int, columns: tuple[str, ...],
                     table: str, consequence) -> list[Finding]:
    """Rule-table problems as 错误 findings naming their cell; `consequence(key)` says what goes
    unscored because of the row."""
    found = []
    for problem in problems:
        if problem.row:
            column = column_letter(first_column + columns.index(problem.column))
            ref = CellRef(sheet, f"{column}{problem.row}")
            message = f"{ref}（{table}第{problem.row}行，{problem.key}）：{problem.message}；{consequence(problem.key)}"
        else:
            ref = CellRef(sheet, "")
            message = f"{problem.message}；{consequence(problem.key)}"
        found.append(finding(ERROR, ref, problem.key, message))
    return found


def weight_total_hint(total: Fraction, sheet: str, table: str) -> Finding | None:
    if total == 100:
        return None
    return finding(HINT, CellRef(sheet, ""), "分值",
                   f"{table}分值合计为{fmt_score(total)}分，不是100分；等级仍按总分90/80/60分档")


def default_rules() -> RuleSet:
    return read_rules([tuple(r) for r in DEFAULT_ROWS])
