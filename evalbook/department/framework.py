"""An indicator framework: every indicator one record, and the inputs its formulas read.

A framework is data with the sections a finance bureau writes in Excel: 评分规则 (one row per
indicator: wording, 指标键, 分值, 计算公式, 计分方法 and the same rule columns as the 评分规则
sheet), 基础数据项 (inputs beyond the 基础数据表), 审核规则 (relations the basic data must keep),
等级 and 说明.  The seed's lives in `seed_framework.toml` beside this module; a bureau's comes
from a workbook (`evalbook.adapters.framework_book`).  Scoring, the template, the UDFs and the
names contract all come from it.  `load_framework` refuses a framework with problems, listing
every one with where it is.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import resources
from typing import Callable, Mapping, Sequence

from evalbook.core import expressions as E
from evalbook.core.cells import column_letter
from evalbook.core.errors import FrameworkInvalid
from evalbook.core.findings import ERROR, HINT
from evalbook.core.grading import Grades
from evalbook.core.numbers import clean_text, fmt_score, read_number
from evalbook.core.ruletable import RowError
from evalbook.department import basic_data as B
from evalbook.department import methods as M
from evalbook.department.rule import OPTIONS
from evalbook.department.rules import parse_rule

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
ALL_METHODS = (M.OVER, M.UNDER, M.DEVIATION, M.BANDS, M.CHECKS, M.COUNTED, M.PROPORTIONAL, M.GRADED, M.TYPED)
NUMERIC_KINDS = (B.MONEY, B.HEADCOUNT_KIND, B.NUMBER, B.PERCENT, B.COUNT, B.TYPED)

RULE_COLUMNS = ("分值", "计分方法", "基准值", "步长", "每步分值", "不足一步", "分档/等级", "口径说明")
SECTION_COLUMNS = {
    "评分规则": ("一级指标", "二级指标", "三级指标", "指标键", "分值", "计算公式", "计分方法", "基准值", "步长",
             "每步分值", "不足一步", "分档/等级", "评价标准", "指标说明", "口径说明", "规则选项"),
    "基础数据项": ("名称", "标签", "简称", "单位", "类型", "选项", "所在表"),
    "审核规则": ("左式", "关系", "右式", "容差", "级别", "说明"),
    "等级": ("等级", "下限"),
    "说明": ("项目", "内容"),
}
INFO_FIELDS = ("名称", "适用地区", "年度", "文号", "总分")
REQUIRED_COLUMNS = {
    "评分规则": ("指标键", "分值", "计算公式", "计分方法"),
    "基础数据项": ("名称", "类型"),
    "审核规则": ("左式", "关系", "右式"),
    "等级": ("等级", "下限"),
    "说明": ("项目", "内容"),
}
RELATIONS = ("=", "<=", ">=", "<", ">")
INPUT_SHEETS = ("基础数据表", "评分表")
# a defined name part: letters (CJK included), digits, underscore, period; not starting with a digit
_NAME_PART = re.compile(r"^[^\W\d][\w.]*$")


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
    declared: bool = False  # declared by the framework (not one of the 基础数据表's own)

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
    options_text: str = ""  # 规则选项 as written

    @property
    def methods(self) -> tuple[str, ...]:
        return METHODS_FOR_KIND[self.kind]

    def option(self, name: str) -> str | None:
        return self.options.get(name)


@dataclass(frozen=True)
class AuditRule:
    """审核规则: 左式 关系 右式 within 容差, else a finding of 级别 with 说明."""

    left: E.Node
    relation: str
    right: E.Node
    tolerance: Fraction
    severity: str
    note: str
    cells: Mapping[str, object]  # the row as written, for export


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: rule tables are cached per framework
class Framework:
    indicators: tuple[Indicator, ...]
    inputs: Mapping[str, InputItem]  # every name a formula may read, 基础数据表 first
    grades: Grades
    info: Mapping[str, str]
    notes: tuple[str, ...] = ()  # 口径说明 lines printed below the 评分规则 table
    audits: tuple[AuditRule, ...] = ()

    @functools.cached_property
    def by_key(self) -> dict[str, Indicator]:
        return {ind.key: ind for ind in self.indicators}

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(ind.key for ind in self.indicators)

    @property
    def name(self) -> str:
        return self.info.get("名称", "")

    @property
    def total(self) -> Fraction:
        """总分 the weights are meant to add up to (100 for the seed)."""
        reading = read_number(self.info.get("总分") or "100")
        return reading.value if reading.value else Fraction(100)

    def item(self, name: str) -> InputItem | None:
        return self.inputs.get(name)

    def declared(self) -> tuple[InputItem, ...]:
        """Inputs the framework declares beyond the 基础数据表, in declaration order."""
        return tuple(item for item in self.inputs.values() if item.declared)

    def rule_rows(self) -> tuple[tuple[object, ...], ...]:
        """The default 评分规则 rows as the sheet holds them: 指标, then RULE_COLUMNS."""
        return tuple((ind.key,) + tuple(ind.rule_cells.get(c, "") for c in RULE_COLUMNS) for ind in self.indicators)

    def level2_groups(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(ind.level2 for ind in self.indicators))

    def sections(self) -> dict[str, list[dict[str, object]]]:
        """The framework as its five sections of rows (column → text): what export writes."""
        rules = []
        for ind in self.indicators:
            row = {"一级指标": ind.level1, "二级指标": ind.level2, "三级指标": ind.title, "指标键": ind.key,
                   "计算公式": ind.formula_text, "评价标准": ind.criteria, "指标说明": ind.note,
                   "规则选项": ind.options_text}
            row.update({c: ind.rule_cells.get(c, "") for c in RULE_COLUMNS})
            rules.append({c: _as_text(row.get(c)) for c in SECTION_COLUMNS["评分规则"]})
        items = [{"名称": i.name, "标签": i.label, "简称": i.short, "单位": i.unit, "类型": i.kind,
                  "选项": "、".join(i.choices), "所在表": i.sheet} for i in self.declared()]
        audits = [{c: _as_text(a.cells.get(c)) for c in SECTION_COLUMNS["审核规则"]} for a in self.audits]
        grades = [{"等级": name, "下限": fmt_score(floor)} for floor, name in self.grades.bands]
        info = [{"项目": k, "内容": v} for k, v in self.info.items() if k != "指纹"]
        info += [{"项目": "口径说明", "内容": line} for line in self.notes]
        return {"评分规则": rules, "基础数据项": items, "审核规则": audits, "等级": grades, "说明": info}

    @functools.cached_property
    def fingerprint(self) -> str:
        """12 hex digits that change whenever anything that decides a score changes."""
        sections = self.sections()
        sections["说明"] = [r for r in sections["说明"] if r["项目"] == "总分"]
        text = json.dumps(sections, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---- reading a framework ----------------------------------------------------------------------

@dataclass
class Section:
    """A section's rows (column → cell value) and how to name a cell for a message."""

    name: str
    rows: list[Mapping[str, object]]
    where: Callable[[int, str], str]  # (row index from 0, column) → "评分规则!F3" or "评分规则第3项“计算公式”"

    def at(self, index: int, column: str) -> str:
        return self.where(index, column)


def data_section(name: str, rows: Sequence[Mapping[str, object]]) -> Section:
    """A section read from a data file: cells are named by item number and column."""
    return Section(name, list(rows), lambda index, column: f"{name}第{index + 1}项的“{column}”")


def grid_section(name: str, sheet: str, first_row: int, first_column: int, grid: Sequence[Sequence[object]],
                 problems: list[str] | None = None) -> Section:
    """A section laid out as a table: a header row naming the columns (in any order), then a row
    per item; blank rows are skipped.  Cells are named as the sheet names them (评分规则!F3).
    Required columns that are missing are appended to `problems`."""
    header = [_text(h) for h in (grid[0] if grid else ())]
    columns = {h: i for i, h in enumerate(header) if h}
    if problems is not None:
        missing = [c for c in REQUIRED_COLUMNS.get(name, ()) if c not in columns]
        if missing:
            problems.append(f"{sheet}!{column_letter(first_column)}{first_row}：{name}缺少列{'、'.join('“' + m + '”' for m in missing)}")
    rows, numbers = [], []
    for offset, raw in enumerate(grid[1:], 1):
        cells = {c: (raw[i] if i < len(raw) else None) for c, i in columns.items()}
        if all(v is None or _text(v) == "" for v in cells.values()):
            continue
        rows.append(cells)
        numbers.append(first_row + offset)

    def where(index: int, column: str) -> str:
        row = numbers[index] if index < len(numbers) else first_row + 1
        col = columns.get(column)
        cell = f"{column_letter(first_column + col)}{row}" if col is not None else f"第{row}行"
        return f"{sheet}!{cell}"

    return Section(name, rows, where)


def _text(raw: object) -> str:
    """A name or keyword: full-width forms folded, as the engine compares them."""
    return clean_text("" if raw is None else str(raw))


def _words(raw: object) -> str:
    """Wording printed for people: kept as written (① stays ①), only blanks around it dropped."""
    return "" if raw is None else str(raw).strip(" \t\r\n\u3000")


class _Problems(list):
    def add(self, where: str, message: str) -> None:
        self.append(f"{where}：{message}")


def _options(raw: object, where: str, problems: _Problems) -> dict[str, str]:
    found = {}
    for part in [p for p in _text(raw).replace(";", "；").split("；") if p.strip()]:
        name, _, rest = part.strip().partition("(")  # clean_text has made （） ASCII
        name = name.strip()
        if name not in OPTIONS:
            problems.add(where, f"规则选项“{name}”不可用，可选：{'、'.join(OPTIONS)}")
            continue
        found[name] = rest.rstrip(")").strip()
    return found


def _input_items(section: Section, problems: _Problems) -> dict[str, InputItem]:
    items = {name: InputItem(name, kind) for name, kind in B.basic_kinds().items()}
    for index, row in enumerate(section.rows):
        name, kind = _text(row.get("名称")), _text(row.get("类型"))
        if not name:
            problems.add(section.at(index, "名称"), "未填写名称")
            continue
        if not _NAME_PART.match(name) or len(name) > 200:
            problems.add(section.at(index, "名称"), f"名称“{name}”不能用作定义名称（只能含文字、数字、下划线和点，不能以数字开头）")
            continue
        if name in items:
            problems.add(section.at(index, "名称"), f"名称“{name}”重复（基础数据表或本表已有）")
            continue
        if kind not in B.KINDS:
            problems.add(section.at(index, "类型"), f"类型“{kind or '（空）'}”不可用，可选：{'、'.join(B.KINDS)}")
            continue
        choices = tuple(c for c in _text(row.get("选项")).split("、") if c)
        if kind == B.CHOICE and not choices:
            problems.add(section.at(index, "选项"), "类型为“选项”时须填写选项，如“好、一般、差”")
        sheet = _text(row.get("所在表")) or "基础数据表"
        if sheet not in INPUT_SHEETS:
            problems.add(section.at(index, "所在表"), f"所在表应为{'或'.join(INPUT_SHEETS)}，现为“{sheet}”")
        items[name] = InputItem(name, kind, label=_words(row.get("标签")), short=_words(row.get("简称")),
                                unit=_words(row.get("单位")), choices=choices, sheet=sheet, declared=True)
    return items


def _kind(method: str, formula: E.Node | None, items: Mapping[str, InputItem]) -> str:
    if method in KIND_OF_METHOD:
        return KIND_OF_METHOD[method]
    name = E.single_name(formula) if formula is not None else None
    if name is not None and items.get(name) and items[name].kind == B.PERCENT:
        return PERCENT
    return RATE


def _fits(method: str, inputs: tuple[str, ...], items: Mapping[str, InputItem]) -> str | None:
    """Why a method does not fit the inputs its formula reads, or None."""
    kinds = [items[n].kind for n in inputs]
    one = len(inputs) == 1
    if method == M.CHECKS:
        return None if inputs and all(k == B.YES_NO for k in kinds) else "清单计分的计算公式应列出“是否”类输入，用“、”分隔"
    if method == M.COUNTED:
        return None if one and kinds[0] == B.COUNT else "计数扣分的计算公式应为一个“计数”类输入"
    if method == M.GRADED:
        return None if one and kinds[0] == B.CHOICE else "等级计分的计算公式应为一个“选项”类输入"
    if method == M.TYPED:
        return None if one and kinds[0] in (B.TYPED, B.NUMBER) else "录入得分的计算公式应为一个“录入”类输入"
    bad = [n for n, k in zip(inputs, kinds) if k not in NUMERIC_KINDS]
    if bad:
        return f"{method}的计算公式只能用数值类输入，{'、'.join(bad)}不是"
    return None


def _rule_cells(row: Mapping[str, object]) -> dict[str, object]:
    """The rule columns, band text in the form Excel keeps as text: '=0%:5' is written '0%:5'."""
    cells = {c: row.get(c, "") for c in RULE_COLUMNS}
    bands = cells.get("分档/等级")
    if isinstance(bands, str) and "=" in bands:
        parts = re.split(r"([；;\n])", bands)
        cells["分档/等级"] = "".join(p.strip()[1:] if p.strip().startswith("=") and not p.strip().startswith("==")
                                   else p for p in parts)
    return cells


def _indicator(section: Section, index: int, items: Mapping[str, InputItem], problems: _Problems) -> Indicator | None:
    row = section.rows[index]
    key = _text(row.get("指标键"))
    if not key:
        problems.add(section.at(index, "指标键"), "未填写指标键")
        return None
    if not _NAME_PART.match(key) or len(key) > 200:
        problems.add(section.at(index, "指标键"),
                     f"指标键“{key}”不能用作定义名称的一部分（只能含文字、数字、下划线和点，不能以数字开头）")
        return None
    method = _text(row.get("计分方法"))
    if method not in ALL_METHODS:
        problems.add(section.at(index, "计分方法"), f"计分方法“{method or '（空）'}”不可用，可选：{'、'.join(ALL_METHODS)}")
        return None
    formula_text = _text(row.get("计算公式"))
    formula: E.Node | None = None
    if method == M.CHECKS:
        inputs = tuple(n.strip() for n in formula_text.split("、") if n.strip())
    else:
        try:
            formula = E.parse(formula_text)
        except E.ExpressionError as exc:
            problems.add(section.at(index, "计算公式"), exc.message)
            return None
        inputs = E.names(formula)
    unknown = [n for n in inputs if n not in items]
    if unknown:
        problems.add(section.at(index, "计算公式"),
                     f"名称{'、'.join(unknown)}不是基础数据表或“基础数据项”中的输入")
        return None
    misfit = _fits(method, inputs, items)
    if misfit:
        problems.add(section.at(index, "计分方法"), misfit)
        return None
    weight = read_number(row.get("分值")).value
    if weight is None or weight <= 0:
        problems.add(section.at(index, "分值"), "分值应为大于0的数字")
        return None
    options = _options(row.get("规则选项"), section.at(index, "规则选项"), problems)
    indicator = Indicator(
        key=key, level1=_words(row.get("一级指标")), level2=_words(row.get("二级指标")),
        title=_words(row.get("三级指标")) or key, weight=weight, formula_text=formula_text, formula=formula,
        inputs=inputs, kind=_kind(method, formula, items),
        criteria=_words(row.get("评价标准")), note=_words(row.get("指标说明")),
        rule_cells=_rule_cells(row), options=options,
        options_text=_words(row.get("规则选项")),
    )
    try:  # the default rule must read as the 评分规则 sheet will read it
        parse_rule(indicator, indicator.rule_cells)
    except RowError as exc:
        problems.add(section.at(index, exc.column), exc.message)
        return None
    return indicator


def _audits(section: Section, items: Mapping[str, InputItem], problems: _Problems) -> tuple[AuditRule, ...]:
    found = []
    for index, row in enumerate(section.rows):
        sides = []
        for column in ("左式", "右式"):
            try:
                node = E.parse(_text(row.get(column)))
            except E.ExpressionError as exc:
                problems.add(section.at(index, column), exc.message)
                break
            unknown = [n for n in E.names(node) if n not in items or items[n].kind not in NUMERIC_KINDS]
            if unknown:
                problems.add(section.at(index, column), f"名称{'、'.join(unknown)}不是数值类输入")
                break
            sides.append(node)
        relation = _text(row.get("关系")).replace("≤", "<=").replace("≥", ">=").replace("==", "=")
        if relation not in RELATIONS:
            problems.add(section.at(index, "关系"), f"关系“{relation or '（空）'}”应为{'、'.join(RELATIONS)}之一")
        tolerance = read_number(row.get("容差")) if _text(row.get("容差")) else None
        if tolerance is not None and (tolerance.value is None or tolerance.value < 0):
            problems.add(section.at(index, "容差"), "容差应为不小于0的数字")
        severity = _text(row.get("级别")) or ERROR
        if severity not in (ERROR, HINT):
            problems.add(section.at(index, "级别"), f"级别应为{ERROR}或{HINT}")
        if len(sides) == 2 and relation in RELATIONS and severity in (ERROR, HINT) and (
                tolerance is None or (tolerance.value is not None and tolerance.value >= 0)):
            found.append(AuditRule(sides[0], relation, sides[1], tolerance.value if tolerance else Fraction(0),
                                   severity, _words(row.get("说明")), dict(row)))
    return tuple(found)


def _grades(section: Section, problems: _Problems) -> Grades:
    bands = []
    for index, row in enumerate(section.rows):
        floor = read_number(row.get("下限")).value
        name = _text(row.get("等级"))
        if not name:
            problems.add(section.at(index, "等级"), "未填写等级")
        elif floor is None:
            problems.add(section.at(index, "下限"), "下限应为数字")
        elif name in [n for _, n in bands]:
            problems.add(section.at(index, "等级"), f"等级“{name}”重复")
        else:
            bands.append((floor, name))
    if not section.rows:
        return DEFAULT_GRADES
    return Grades(tuple(sorted(bands, key=lambda b: -b[0])))


DEFAULT_GRADES = Grades(((Fraction(90), "优"), (Fraction(80), "良"), (Fraction(60), "中"), (Fraction(0), "差")))


def _info(section: Section) -> tuple[dict[str, str], tuple[str, ...]]:
    info, notes = {}, []
    for row in section.rows:
        item, text = _text(row.get("项目")), _words(row.get("内容"))
        if item == "口径说明":
            notes.append(text)
        elif item:
            info[item] = text
    return info, tuple(notes)


def load_framework(sections: Mapping[str, Section], source: str) -> Framework:
    """A framework from its sections; raises FrameworkInvalid listing every problem found."""
    problems = _Problems()
    given = set(sections)  # a framework without a 审核规则 section keeps the 基础数据表's own sums
    empty = {name: data_section(name, []) for name in SECTION_COLUMNS}
    sections = {**empty, **sections}
    items = _input_items(sections["基础数据项"], problems)
    rules = sections["评分规则"]
    indicators = []
    seen: dict[str, int] = {}
    for index in range(len(rules.rows)):
        indicator = _indicator(rules, index, items, problems)
        if indicator is None:
            continue
        if indicator.key in seen:
            problems.add(rules.at(index, "指标键"), f"指标键“{indicator.key}”重复（{rules.at(seen[indicator.key], '指标键')}已有）")
            continue
        seen[indicator.key] = index
        indicators.append(indicator)
    if not rules.rows:
        problems.add("评分规则", "没有任何指标")
    info, notes = _info(sections["说明"])
    total = read_number(info.get("总分") or "100").value
    if total is None or total <= 0:
        problems.add("说明", f"总分“{info.get('总分')}”应为大于0的数字")
    elif indicators and not problems and sum(i.weight for i in indicators) != total:
        problems.add("评分规则", f"各指标分值合计为{fmt_score(sum(i.weight for i in indicators))}分，与总分"
                               f"{fmt_score(total)}分不符")
    audit_rows = sections.get("审核规则") if "审核规则" in given else data_section("审核规则", B.default_audit_rows())
    audits = _audits(audit_rows, items, problems)
    grades = _grades(sections["等级"], problems)
    if problems:
        raise FrameworkInvalid(f"指标框架“{source}”有{len(problems)}处问题", list(problems))
    return Framework(tuple(indicators), items, grades, info, notes, audits)


def sections_from_data(data: Mapping[str, object]) -> dict[str, Section]:
    """The sections of a data file (seed_framework.toml's layout)."""
    info = dict(data.get("说明") or {})
    info_rows = [{"项目": k, "内容": v} for k, v in info.items() if isinstance(v, str)]
    info_rows += [{"项目": "口径说明", "内容": line} for line in info.get("口径说明") or ()]
    found = {name: data_section(name, list(data[name])) for name in ("评分规则", "基础数据项", "审核规则", "等级")
             if name in data}
    found["说明"] = data_section("说明", info_rows)
    return found


@functools.cache
def seed_framework() -> Framework:
    """The seed county's table, shipped with the package."""
    data = resources.files("evalbook.department").joinpath("seed_framework.toml").read_bytes()
    return load_framework(sections_from_data(tomllib.loads(data.decode("utf-8"))), "seed_framework.toml")
