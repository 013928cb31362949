"""An indicator framework: every indicator one record, and the inputs its formulas read.

A framework is data — the seed's lives in `seed_framework.toml` beside this module — with the
sections a finance bureau would write in Excel: 评分规则 (one row per indicator, the same columns
as the 评分规则 sheet plus wording and 计算公式), 基础数据项 (inputs beyond the 基础数据表),
等级 and 说明.  Scoring, the template's rows, the UDFs and the names contract all come from it.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import resources
from typing import Mapping, Sequence

from evalbook.core import expressions as E
from evalbook.core.errors import FrameworkInvalid
from evalbook.core.grading import Grades
from evalbook.core.numbers import clean_text, read_number
from evalbook.department import basic_data as B
from evalbook.department import methods as M

# what a 计算值 is, which decides the methods that fit it
RATE = "rate"  # a ratio computed from the basic data
PERCENT = "percent"  # a percentage typed in (满意度)
CHECKLIST = "checklist"  # several 是/否 items
COUNT = "count"  # a number of occurrences
PROPORTION = "proportion"  # a share scored as 分值 × share
GRADE = "grade"  # a word from a list
ENTERED = "entered"  # a score typed in directly

KIND_OF_METHOD = {
    M.CHECKS: CHECKLIST, M.COUNTED: COUNT, M.PROPORTIONAL: PROPORTION, M.GRADED: GRADE, M.TYPED: ENTERED,
}
METHODS_FOR_KIND = {
    RATE: (M.OVER, M.UNDER, M.DEVIATION, M.BANDS),
    PERCENT: (M.BANDS, M.UNDER, M.OVER, M.DEVIATION),
    CHECKLIST: (M.CHECKS,),
    COUNT: (M.COUNTED,),
    PROPORTION: (M.PROPORTIONAL,),
    GRADE: (M.GRADED,),
    ENTERED: (M.TYPED,),
}

# 规则选项: named options of a rule, written in the framework's 规则选项 column
ALLOW_NEGATIVE = "允许负值"  # the 计算值 and the 基准值 may be below zero (a budget cut)
NEGATIVE_AS_ZERO = "负值按0"  # a negative 计算值 counts as 0%; the parenthesis says why (调减)
EMPTY_FULL_MARKS = "全空按满分"  # all inputs blank or 0: full marks; the parenthesis says what that means
OPTIONS = (ALLOW_NEGATIVE, NEGATIVE_AS_ZERO, EMPTY_FULL_MARKS)

RULE_COLUMNS = ("分值", "计分方法", "基准值", "步长", "每步分值", "不足一步", "分档/等级", "口径说明")


@dataclass(frozen=True)
class InputItem:
    """One input a formula may name: a 基础数据表 figure or a qualitative input on the 评分表."""

    name: str
    kind: str  # basic_data.KINDS
    label: str = ""
    short: str = ""  # the word a 扣分说明 uses for it (考核总分); the name when empty
    unit: str = ""
    choices: tuple[str, ...] = ()
    sheet: str = "基础数据表"

    @property
    def spoken(self) -> str:
        return self.short or self.name


@dataclass(frozen=True)
class Indicator:
    key: str
    level1: str  # 一级指标
    level2: str  # 二级指标
    title: str  # 三级指标 as printed
    weight: Fraction  # 分值 of the default rule
    formula_text: str  # 计算公式 as written
    formula: E.Node | None  # the parsed expression (None for 清单计分, which lists its items)
    inputs: tuple[str, ...]  # the names it reads, in the formula's order
    kind: str
    criteria: str  # 评价标准
    note: str  # 指标说明
    rule_cells: Mapping[str, object]  # the default rule as 评分规则 columns (分值 … 口径说明)
    options: Mapping[str, str] = field(default_factory=dict)  # 规则选项 → its parenthesis

    @property
    def methods(self) -> tuple[str, ...]:
        return METHODS_FOR_KIND[self.kind]

    def option(self, name: str) -> str | None:
        return self.options.get(name)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: rule tables are cached per framework
class Framework:
    indicators: tuple[Indicator, ...]
    inputs: Mapping[str, InputItem]  # every name a formula may read, 基础数据表 first
    grades: Grades
    info: Mapping[str, str]
    notes: tuple[str, ...] = ()  # 口径说明 lines printed below the 评分规则 table

    @functools.cached_property
    def by_key(self) -> dict[str, Indicator]:
        return {ind.key: ind for ind in self.indicators}

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(ind.key for ind in self.indicators)

    @property
    def total(self) -> Fraction:
        """总分 the weights are meant to add up to (100 for the seed)."""
        reading = read_number(self.info.get("总分") or "100")
        return reading.value if reading.value else Fraction(100)

    def item(self, name: str) -> InputItem | None:
        return self.inputs.get(name)

    def declared(self) -> tuple[InputItem, ...]:
        """Inputs the framework declares beyond the 基础数据表, in declaration order."""
        basic = B.basic_kinds()
        return tuple(item for name, item in self.inputs.items() if name not in basic)

    def rule_rows(self) -> tuple[tuple[object, ...], ...]:
        """The default 评分规则 rows as the sheet holds them: 指标, then RULE_COLUMNS."""
        return tuple((ind.key,) + tuple(ind.rule_cells.get(c, "") for c in RULE_COLUMNS) for ind in self.indicators)

    def level2_groups(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(ind.level2 for ind in self.indicators))


# ---- reading a framework ----------------------------------------------------------------------

def _text(raw: object) -> str:
    """A name or keyword: full-width forms folded, as the engine compares them."""
    return clean_text("" if raw is None else str(raw))


def _words(raw: object) -> str:
    """Wording printed for people: kept as written (① stays ①), only blanks around it dropped."""
    return "" if raw is None else str(raw).strip(" \t\r\n\u3000")


def _options(raw: object, where: str, problems: list[str]) -> dict[str, str]:
    found = {}
    for part in [p for p in _text(raw).replace(";", "；").split("；") if p.strip()]:
        name, _, rest = part.strip().partition("(")  # clean_text has made （） ASCII
        name = name.strip()
        if name not in OPTIONS:
            problems.append(f"{where}：规则选项“{name}”不可用，可选：{'、'.join(OPTIONS)}")
            continue
        found[name] = rest.rstrip(")").strip()
    return found


def _input_items(rows: Sequence[Mapping[str, object]], problems: list[str]) -> dict[str, InputItem]:
    items = {name: InputItem(name, kind) for name, kind in B.basic_kinds().items()}
    for index, row in enumerate(rows, start=1):
        where = f"基础数据项第{index}项"
        name, kind = _text(row.get("名称")), _text(row.get("类型"))
        if not name:
            problems.append(f"{where}：未填写名称")
            continue
        if kind not in B.KINDS:
            problems.append(f"{where}（{name}）：类型“{kind}”不可用，可选：{'、'.join(B.KINDS)}")
            continue
        choices = tuple(c for c in _text(row.get("选项")).split("、") if c)
        if kind == B.CHOICE and not choices:
            problems.append(f"{where}（{name}）：类型为“选项”时须填写选项，如“好、一般、差”")
        items[name] = InputItem(name, kind, label=_words(row.get("标签")), short=_words(row.get("简称")),
                                unit=_text(row.get("单位")), choices=choices,
                                sheet=_text(row.get("所在表")) or "基础数据表")
    return items


def _kind(method: str, formula: E.Node | None, items: Mapping[str, InputItem]) -> str:
    if method in KIND_OF_METHOD:
        return KIND_OF_METHOD[method]
    name = E.single_name(formula) if formula is not None else None
    if name is not None and items.get(name) and items[name].kind == B.PERCENT:
        return PERCENT
    return RATE


def _indicator(row: Mapping[str, object], where: str, items: Mapping[str, InputItem],
               problems: list[str]) -> Indicator | None:
    key = _text(row.get("指标键"))
    if not key:
        problems.append(f"{where}：未填写指标键")
        return None
    where = f"{where}（{key}）"
    method = _text(row.get("计分方法"))
    formula_text = _text(row.get("计算公式"))
    formula: E.Node | None = None
    if method == M.CHECKS:
        inputs = tuple(n.strip() for n in formula_text.split("、") if n.strip())
    else:
        try:
            formula = E.parse(formula_text)
        except E.ExpressionError as exc:
            problems.append(f"{where}：计算公式{exc.message}")
            return None
        inputs = E.names(formula)
    unknown = [n for n in inputs if n not in items]
    if unknown:
        problems.append(f"{where}：计算公式中的名称{'、'.join(unknown)}不是基础数据表或基础数据项中的输入")
        return None
    weight = read_number(row.get("分值")).value
    if weight is None or weight <= 0:
        problems.append(f"{where}：分值应为大于0的数字")
        return None
    options = _options(row.get("规则选项"), where, problems)
    return Indicator(
        key=key, level1=_words(row.get("一级指标")), level2=_words(row.get("二级指标")),
        title=_words(row.get("三级指标")) or key, weight=weight, formula_text=formula_text, formula=formula,
        inputs=inputs, kind=_kind(method, formula, items),
        criteria=str(row.get("评价标准") or ""), note=str(row.get("指标说明") or ""),
        rule_cells={c: row.get(c, "") for c in RULE_COLUMNS}, options=options,
    )


def _grades(rows: Sequence[Mapping[str, object]], problems: list[str]) -> Grades:
    bands = []
    for index, row in enumerate(rows, start=1):
        floor = read_number(row.get("下限")).value
        name = _text(row.get("等级"))
        if floor is None or not name:
            problems.append(f"等级第{index}项：应填写等级和下限")
            continue
        bands.append((floor, name))
    return Grades(tuple(sorted(bands, key=lambda b: -b[0])))


def framework_from_sections(sections: Mapping[str, object], source: str) -> Framework:
    """A framework from its sections (评分规则, 基础数据项, 等级, 说明); raises FrameworkInvalid
    listing every problem found."""
    problems: list[str] = []
    items = _input_items(list(sections.get("基础数据项") or ()), problems)
    indicators = []
    for index, row in enumerate(sections.get("评分规则") or (), start=1):
        indicator = _indicator(row, f"评分规则第{index}项", items, problems)
        if indicator is not None:
            indicators.append(indicator)
    info = {k: v for k, v in dict(sections.get("说明") or {}).items() if isinstance(v, str)}
    notes = tuple(dict(sections.get("说明") or {}).get("口径说明") or ())
    grades = _grades(list(sections.get("等级") or ()), problems)
    if problems:
        raise FrameworkInvalid(f"指标框架“{source}”有{len(problems)}处问题", problems)
    return Framework(tuple(indicators), items, grades, info, notes)


@functools.cache
def seed_framework() -> Framework:
    """The seed county's table, shipped with the package."""
    data = resources.files("evalbook.department").joinpath("seed_framework.toml").read_bytes()
    return framework_from_sections(tomllib.loads(data.decode("utf-8")), "seed_framework.toml")
