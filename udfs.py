"""绩效评价 Excel 自定义函数（xlwings UDF）。

Excel 如何找到这些函数：工作簿的 xlwings.conf 工作表中 “UDF Modules” 一项填写 udfs（即本模块，
不带 .py）。模板已内置这些函数的 VBA 包装（由构建脚本按本模块生成），打开工作簿、启用宏即可使用，
无需点击 “Import Functions”；函数出现在函数向导的 “绩效评价” 类别中，每个参数都有中文说明。
函数只在 Windows 版 Excel 中可用（xlwings 的限制）。

所有得分都由 evalbook 的同一套代码算出（evalbook.numbers.read_number 读数、evalbook.rules 的
规则、evalbook.methods / evalbook.engine 计分），与命令 `evalbook score` 的结果一致。参数有误时
（空单元格、文字、全角空格、分母为0、错误值）函数返回一句中文说明，不会在单元格中出现 Python 报错。

English: how Excel finds these functions.  The workbook's ``xlwings.conf`` sheet sets
``UDF Modules`` to ``udfs`` (this module, without ``.py``).  The template ships the VBA wrappers
xlwings' "Import Functions" would write (generated from this module at build time), so the
functions work on first open, with their Chinese description and argument help under the
category "绩效评价".  Classic xlwings
UDFs are Windows-only; on other platforms ``xw.func``/``xw.arg`` return the function unchanged,
which is what lets the tests call these functions directly.

How arguments arrive (xlwings 0.37 on Windows, read from xlwings/udfs.py and _xlwindows.py):
an empty cell or omitted optional argument comes as ``None``; numbers as ``float``; with the
``err_to_str=True`` option set on every argument below, the seven classic error values come as
strings ("#DIV/0!", "#N/A", ...), and newer ones (#SPILL!, #CALC!, ...) as the raw COM error
code, an ``int`` near -2146826200, which ``_cell`` turns back into an error.  Without
``err_to_str`` an error cell would be indistinguishable from an empty one.

Scores are returned rounded half-up to two decimals (what `evalbook score` writes into the 得分
cells); rates are returned unrounded as floats (the cells are formatted as %).

Rules: INDICATOR_SCORE and SCORE_NOTE read the calling workbook's 评分规则 rows through the
workbook-scope name 评分规则表 (no calling workbook, or no such name: the seed's default rules;
a malformed row: the engine's message for it, never the default).  They are volatile because
Excel cannot see that dependency: an edited rule shows at the next recalculation.  The other
score functions use the default rules of the seed's 评分表, as their Chinese help says.
"""

from __future__ import annotations

import functools
import re
from fractions import Fraction

import xlwings as xw

# Pure-Python modules; importing them costs a few milliseconds (see bench/bench_udf_import.py).
from evalbook import catalogue, engine, measures, methods
from evalbook import contract as C
from evalbook import rules as R
from evalbook.findings import ERROR
from evalbook.funds import formulas as fund_formulas
from evalbook.inputs import read_inputs
from evalbook.numbers import (
    ExcelError, as_excel_error, clean_text, fmt_money, fmt_pct, fmt_score, fraction_to_float,
    quote, read_choice, read_number, read_yes_no, round2,
)

__all__ = (
    "CONTROL_RATE",
    "EXEC_RATE",
    "INDICATOR_RATIO",
    "SANGONG_CHANGE_RATE",
    "SANGONG_SCORE",
    "STAFF_SCORE",
    "BUDGET_COMPLETION_RATE",
    "BUDGET_CONTROL_SCORE",
    "INDICATOR_SCORE",
    "SCORE_NOTE",
)

CATEGORY = "绩效评价"  # the function wizard's category

# An Excel error value reaches Python through COM as VT_ERROR with scode 0x800A0000 + the
# xlErr number.  xlwings maps only seven of them to text; the rest arrive as this raw int.
_XLERR_BASE = -2146828288
_XLERR_CODES = {
    2000: "#NULL!", 2007: "#DIV/0!", 2015: "#VALUE!", 2023: "#REF!", 2029: "#NAME?",
    2036: "#NUM!", 2042: "#N/A", 2043: "#GETTING_DATA", 2045: "#SPILL!", 2046: "#CONNECT!",
    2047: "#BLOCKED!", 2048: "#UNKNOWN!", 2049: "#FIELD!", 2050: "#CALC!",
}

_BUILDINGS = ("楼堂馆所面积控制率", "楼堂馆所投资控制率")
_NO_PROJECT = ("无项目", "无")  # what the 计算值 cell shows when there is no project (engine)
_MAY_BE_NEGATIVE = ("三公经费变动率",)  # a budget cut is a legitimate negative change


# ---- registration -----------------------------------------------------------------------------

def _udf(*, volatile: bool = False, **arg_docs: str):
    """Register a UDF: Chinese help per argument, category, and a guard so nothing ever raises.

    Every argument gets err_to_str=True so an error cell is reported as such instead of
    arriving as None (indistinguishable from an empty cell).  The docs are also kept on the
    function as __udf_arg_docs__, because off Windows xw.func/xw.arg record nothing.
    """

    def wrap(f):
        guarded = _guarded(f)
        for name, doc in arg_docs.items():
            guarded = xw.arg(name, doc=doc, err_to_str=True)(guarded)
        guarded = xw.func(category=CATEGORY, volatile=volatile)(guarded)
        guarded.__udf_arg_docs__ = dict(arg_docs)
        return guarded

    return wrap


def _guarded(f):
    # A traceback in a cell helps nobody: an unexpected failure becomes a short message.
    @functools.wraps(f)
    def call(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the cell must show a message, not a crash
            return f"计算出错（{type(exc).__name__}），请检查参数或联系维护人员"

    return call


# ---- reading arguments -------------------------------------------------------------------------

class _Bad(Exception):
    """An argument that cannot be used; the message is what the cell shows."""


def _cell(raw: object) -> object:
    """One argument as the engine's readers expect it (raw COM error codes become errors)."""
    if isinstance(raw, int) and not isinstance(raw, bool) and _XLERR_BASE < raw < _XLERR_BASE + 3000:
        return ExcelError(_XLERR_CODES.get(raw - _XLERR_BASE, "#错误值"))
    return raw


def _single(raw: object, label: str) -> object:
    raw = _cell(raw)
    if isinstance(raw, (list, tuple)):
        raise _Bad(f"{label}应引用单个单元格，不能是区域")
    return raw


def _number(raw: object, label: str) -> Fraction:
    reading = read_number(_single(raw, label))
    if reading.problem:
        raise _Bad(f"{label}{reading.problem}")
    if reading.value is None:
        raise _Bad(f"{label}未填写")
    return reading.value


def _flat(raw: object) -> list:
    if isinstance(raw, (list, tuple)):
        return [_cell(x) for row in raw for x in (row if isinstance(row, (list, tuple)) else (row,))]
    return [_cell(raw)]


# ---- rates from two numbers ---------------------------------------------------------------------

def _ratio(top: object, bottom: object, top_label: str, bottom_label: str) -> float | str:
    try:
        a = _number(top, top_label)
        b = _number(bottom, bottom_label)
    except _Bad as bad:
        return str(bad)
    for value, label in ((a, top_label), (b, bottom_label)):
        if value < 0:
            return f"{label}为负数{fmt_money(value)}，应填写不小于0的数"
    if b == 0:
        return f"{bottom_label}为0，无法计算"
    return fraction_to_float(a / b)


@_udf(actual="实际数（如公用经费实际支出、三公经费实际支出、实际政府采购金额、楼堂馆所实际规模或投资）",
      plan="计划数（如对应的预算数、政府采购预算数、批复规模或预算投资），不能为0")
def CONTROL_RATE(actual, plan):
    """控制率=实际数/计划数，返回小数（单元格设为百分比格式）。用于公用经费、三公经费、楼堂馆所控制率和政府采购执行率。"""
    return _ratio(actual, plan, "实际数", "计划数")


@_udf(executed="全年执行数（B），万元", budget="全年预算数（A），万元，不能为0")
def EXEC_RATE(executed, budget):
    """专项资金执行率=全年执行数（B）/全年预算数（A），返回小数（单元格设为百分比格式），超过100%不截断。"""
    try:
        return fraction_to_float(fund_formulas.exec_rate(_single(executed, "全年执行数"), _single(budget, "全年预算数")))
    except (fund_formulas.FormulaError, _Bad) as bad:
        return getattr(bad, "message", str(bad))


@_udf(target="年度指标值，如“≥95%”“3000米”“≤500万元”“2020年12月底前”“达标”",
      actual="全年完成值，如“96%”“3842米”“2020年12月20日”“已完成”；定性指标填完成比例",
      level2="可选：二级指标（如“成本”：未写比较符的成本指标按不超过计）",
      year="可选：评价年度（指标值只写“12月底前”时需要）")
def INDICATOR_RATIO(target, actual, level2=None, year=None):
    """专项资金绩效指标完成率：正向指标=完成值/指标值，反向指标（≤、成本、时限）=指标值/完成值，时限按时完成为100%；不截断。"""
    try:
        year_value = read_number(_single(year, "评价年度")).value
        ratio = fund_formulas.indicator_ratio(
            _single(target, "年度指标值"), _single(actual, "全年完成值"),
            year=int(year_value) if year_value is not None else None,
            level2=clean_text(str(_single(level2, "二级指标") or "")))
    except (fund_formulas.FormulaError, _Bad) as bad:
        return getattr(bad, "message", str(bad))
    return fraction_to_float(ratio)


# ---- indicators computed by the engine from basic data -----------------------------------------

def _engine_result(key: str, args: dict[str, tuple[object, str]],
                   rows: tuple[tuple, ...] = R.DEFAULT_ROWS) -> engine.IndicatorResult:
    """Score one indicator with engine.evaluate from just the inputs it needs.

    args: defined name → (argument, label).  Going through evaluate keeps every check of
    `evalbook score` (signs, whole headcounts, zero denominators, 追加 below zero → 0%).
    """
    raw = {}
    for name, (value, label) in args.items():
        value = _single(value, label)
        reading = read_number(value)
        if reading.problem:
            raise _Bad(f"{label}{reading.problem}")
        if reading.value is None:
            raise _Bad(f"{label}未填写")
        raw[name] = value
    evaluation = engine.evaluate(raw, rules_source=engine.RulesSource(rows))
    result = evaluation.by_key(key)
    if result.score is None:
        message = next(
            (f.message for f in evaluation.findings if f.severity == ERROR and f.name in raw),
            result.explanation,
        )
        for name, (_, label) in args.items():
            message = message.replace(name, label)
        raise _Bad(message)
    return result


def _with_weight(key: str, weight: object) -> tuple[tuple, ...]:
    """The default rule rows with 分值 of `key` replaced (an empty argument keeps the default)."""
    if read_number(_single(weight, "分值")).blank:
        return R.DEFAULT_ROWS
    points = _number(weight, "分值")
    if points <= 0:
        raise _Bad(f"分值应大于0，现为{fmt_score(points)}")
    return tuple((row[0], points) + tuple(row[2:]) if row[0] == key else row for row in R.DEFAULT_ROWS)


_SANGONG = {
    "三公经费_本年预算": "本年三公经费预算数",
    "三公经费_上年预算": "上年三公经费预算数",
}


def _sangong_args(this_year, last_year) -> dict[str, tuple[object, str]]:
    return {name: (raw, label) for (name, label), raw in zip(_SANGONG.items(), (this_year, last_year))}


@_udf(this_year="本年度“三公经费”预算数，万元", last_year="上年度“三公经费”预算数，万元，不能为0")
def SANGONG_CHANGE_RATE(this_year, last_year):
    """“三公经费”变动率=（本年预算数-上年预算数）/上年预算数，返回小数（单元格设为百分比格式），按精确值计算。"""
    try:
        result = _engine_result("三公经费变动率", _sangong_args(this_year, last_year))
    except _Bad as bad:
        return str(bad)
    return fraction_to_float(result.value)


@_udf(this_year="本年度“三公经费”预算数，万元", last_year="上年度“三公经费”预算数，万元，不能为0",
      weight="可选：本指标分值，省略时为5分")
def SANGONG_SCORE(this_year, last_year, weight=None):
    """“三公经费”变动率得分（默认规则）：变动率≤0得满分，每超过1个百分点扣0.8分（只计整步），扣完为止。"""
    try:
        rows = _with_weight("三公经费变动率", weight)
        result = _engine_result("三公经费变动率", _sangong_args(this_year, last_year), rows)
    except _Bad as bad:
        return str(bad)
    return round2(result.score)


@_udf(staff="实际在职人数（部门决算口径），整数", quota="编制数（机构编制部门核定），整数，不能为0")
def STAFF_SCORE(staff, quota):
    """在职人员控制率得分（默认规则，5分）：在职人数/编制数≤100%得满分，每超过1个百分点扣0.5分（只计整步）。"""
    args = {"实际在职人数": (staff, "实际在职人数"), "编制数": (quota, "编制数")}
    try:
        result = _engine_result("在职人员控制率", args)
    except _Bad as bad:
        return str(bad)
    return round2(result.score)


@_udf(carried_over="上年结转，万元", initial_budget="年初预算，万元",
      added_budget="本年追加预算，万元（调减填负数）", year_end_balance="年末结余，万元")
def BUDGET_COMPLETION_RATE(carried_over, initial_budget, added_budget, year_end_balance):
    """预算完成率=（上年结转+年初预算+本年追加-年末结余）/（上年结转+年初预算+本年追加），返回小数（百分比格式）。"""
    args = {
        "上年结转": (carried_over, "上年结转"),
        "年初预算": (initial_budget, "年初预算"),
        "本年追加预算": (added_budget, "本年追加预算"),
        "年末结余": (year_end_balance, "年末结余"),
    }
    try:
        result = _engine_result("预算完成率", args)
    except _Bad as bad:
        return str(bad)
    return fraction_to_float(result.value)


@_udf(added_budget="本年追加预算，万元（调减填负数，按0%计）", initial_budget="年初预算，万元，不能为0")
def BUDGET_CONTROL_SCORE(added_budget, initial_budget):
    """预算控制率得分（默认规则，5分）：追加/年初预算=0得5分，(0,10%]得4分，(10%,20%]得3分，(20%,30%]得2分，>30%得0分。"""
    args = {"本年追加预算": (added_budget, "本年追加预算"), "年初预算": (initial_budget, "年初预算")}
    try:
        result = _engine_result("预算控制率", args)
    except _Bad as bad:
        return str(bad)
    return round2(result.score)


# ---- any indicator from its 计算值, under the workbook's rules ---------------------------------

def _plain(text: str) -> str:
    return re.sub(r"[“”\"'‘’\s]", "", clean_text(text))


_BY_NAME = {_plain(name): ind for ind in catalogue.INDICATORS for name in (ind.key, ind.title)}


def _indicator(raw: object) -> catalogue.Indicator:
    raw = _single(raw, "指标名称")
    error = as_excel_error(raw)
    if error is not None:
        raise _Bad(f"指标名称是错误值{error.code}")
    text = "" if raw is None else clean_text(str(raw))
    if not text:
        raise _Bad("请填写指标名称，如“公用经费控制率”")
    indicator = _BY_NAME.get(_plain(text))
    if indicator is None:
        raise _Bad(f"指标名称{quote(text)}不在16项指标之中")
    return indicator


@functools.cache
def _default_ruleset() -> R.RuleSet:
    return R.default_rules()


def _workbook_rules(caller) -> tuple[R.RuleSet, engine.RulesSource] | None:
    """The calling workbook's 评分规则 rows, or None when there is no calling workbook/table.

    `caller` is xlwings' reserved UDF argument (the calling cell); Book.caller() does not work
    inside a UDF, which is called from xlwings' COM server rather than through RunPython.
    """
    if caller is None:
        return None  # not called from a workbook (tests, command line): the defaults
    try:
        book = caller.sheet.book
    except Exception:  # noqa: BLE001 - COM errors come in many types
        return None
    try:
        if C.RULES_TABLE not in book.names:
            return None  # not an evalbook workbook: the seed's rules are the only meaning
        rng = book.names[C.RULES_TABLE].refers_to_range
        rows = [tuple(row) for row in rng.options(ndim=2, err_to_str=True).value]
        source = engine.RulesSource(rows, sheet=rng.sheet.name, first_row=rng.row, first_column=rng.column)
    except Exception:  # noqa: BLE001 - a broken name must not fall back to the defaults silently
        raise _Bad(f"无法读取本工作簿的“{C.RULES_TABLE}”（评分规则区域），请检查该名称") from None
    return R.read_rules(list(rows), source.first_row), source


def _rule(key: str, caller=None) -> R.Rule:
    found = _workbook_rules(caller)
    if found is None:
        return _default_ruleset().rules[key]
    ruleset, source = found
    rule = ruleset.rules.get(key)
    if rule is None:
        # The engine's own wording, naming the cell; never the default rule instead.
        problems = [f.message for f in engine.rule_findings(ruleset, source) if f.name == key]
        raise _Bad(problems[0] if problems else f"评分规则中“{key}”一行有误，该指标不计分")
    return rule


def _rate(ind: catalogue.Indicator, rule: R.Rule, raw: object) -> tuple[Fraction, str]:
    raw = _single(raw, "计算值")
    if ind.key in _BUILDINGS and isinstance(raw, str) and clean_text(raw) in _NO_PROJECT:
        return rule.weight, f"没有楼堂馆所项目，按满分计{fmt_score(rule.weight)}分"
    value = _number(raw, "计算值")
    lead = f"{ind.key}={fmt_pct(value)}"
    if ind.key == "满意度":
        try:  # the engine's own range check (a 满意度 above 100% is a typing slip)
            lead = measures.satisfaction(read_inputs({C.PERCENT_INPUT: value}, {}), ind.key).text
        except measures.Unmeasured as exc:
            raise _Bad(exc.message) from None
    if value < 0 and ind.key == "预算控制率":
        # as measures.budget_control: a negative 本年追加预算 counts as 0%
        value, lead = Fraction(0), f"{ind.key}为{fmt_pct(value)}（本年追加预算为负），按0%计"
    elif value < 0 and ind.key not in _MAY_BE_NEGATIVE:
        raise _Bad(f"计算值为{fmt_pct(value)}，{ind.key}不能为负数")
    try:
        scored = methods.score_value(rule, value)
    except methods.NotScorable as exc:
        raise _Bad(str(exc)) from None
    return scored.score, lead + scored.text


def _whole(raw: object, label: str, top: int | None = None) -> int:
    value = _number(raw, label)
    if value.denominator != 1 or value < 0 or (top is not None and value > top):
        limit = f"0至{top}之间的整数" if top is not None else "不小于0的整数"
        raise _Bad(f"{label}为{fmt_score(value)}，应为{limit}")
    return int(value)


def _checklist(ind: catalogue.Indicator, rule: R.Rule, raw: object) -> tuple[Fraction, str]:
    items = len(ind.inputs)
    if isinstance(raw, (list, tuple)):
        cells = _flat(raw)
        if len(cells) != items:
            raise _Bad(f"{ind.key}共{items}项，所选区域有{len(cells)}个单元格")
        answers = []
        for number, cell in enumerate(cells, 1):
            reading = read_yes_no(cell)
            if reading.problem:
                raise _Bad(f"第{number}项{reading.problem}")
            if reading.value is None:
                raise _Bad(f"第{number}项未填写（应为“是”或“否”）")
            answers.append(int(reading.value))
        scored = methods.score_checklist(rule, answers)
        return scored.score, scored.text
    yes = _whole(raw, "“是”的项数", items)
    scored = methods.score_checklist(rule, [1] * yes + [0] * (items - yes))
    # Only the count is known, not which items were 否: drop the engine's item list.
    return scored.score, re.sub(r"（[^（）]*为“否”）", "", scored.text)


def _proportion(rule: R.Rule, raw: object) -> tuple[Fraction, str]:
    if isinstance(raw, (list, tuple)):
        cells = _flat(raw)
        if len(cells) != 2:
            raise _Bad("请选择两个单元格：考核得分、考核总分")
        got, total = _number(cells[0], "考核得分"), _number(cells[1], "考核总分")
        if got < 0:
            raise _Bad(f"考核得分为{fmt_score(got)}，不能为负数")
        if total <= 0:
            raise _Bad("考核总分应大于0")
        if got > total:
            raise _Bad(f"考核得分{fmt_score(got)}超过考核总分{fmt_score(total)}")
        scored = methods.score_proportion(rule, got, total)
        return scored.score, scored.text
    rate = _number(raw, "得分率")
    if rate < 0 or rate > 1:
        raise _Bad(f"得分率为{fmt_pct(rate)}，应在0%至100%之间")
    scored = methods.score_proportion(rule, rate, Fraction(1))
    return scored.score, f"得分率{fmt_pct(rate)}×{fmt_score(rule.weight)}={fmt_score(scored.score)}分"


def _entered(rule: R.Rule, raw: object) -> tuple[Fraction, str]:
    typed = _number(raw, "录入得分")
    if typed < 0:
        raise _Bad(f"录入得分为{fmt_score(typed)}，不能为负数")
    if typed > rule.weight:
        raise _Bad(f"录入得分为{fmt_score(typed)}，超过本指标分值{fmt_score(rule.weight)}")
    scored = methods.score_entered(rule, typed)
    return scored.score, scored.text


def _grade(rule: R.Rule, raw: object) -> tuple[Fraction, str]:
    choice, problem = read_choice(_single(raw, "等级"), C.GRADE_CHOICES)
    if problem:
        raise _Bad(f"等级{problem}")
    if choice is None:
        raise _Bad(f"请填写等级（{'/'.join(C.GRADE_CHOICES)}）")
    try:
        scored = methods.score_grade(rule, choice)
    except methods.NotScorable as exc:
        raise _Bad(str(exc)) from None
    return scored.score, scored.text


def _score(indicator: object, value: object, caller=None) -> tuple[Fraction, str]:
    """(score, 扣分说明) of one indicator from its 计算值; raises _Bad with the cell's message."""
    ind = _indicator(indicator)
    rule = _rule(ind.key, caller)
    if ind.kind in (catalogue.RATE, catalogue.PERCENT):
        return _rate(ind, rule, value)
    if ind.kind == catalogue.CHECKLIST:
        return _checklist(ind, rule, value)
    if ind.kind == catalogue.COUNT:
        scored = methods.score_count(rule, _whole(value, "违规事项数"))
        return scored.score, scored.text
    if ind.kind == catalogue.PROPORTION:
        return _proportion(rule, value)
    if ind.kind == catalogue.GRADE:
        return _grade(rule, value)
    return _entered(rule, value)


_INDICATOR_DOC = "指标名称，如“公用经费控制率”“满意度”（16项指标之一，可引用评分表的指标单元格）"
_VALUE_DOC = (
    "计算值：比率类填比率（如124.58%或1.2458，楼堂馆所无项目填“无项目”）；管理制度健全性、预决算信息公开性"
    "填“是”的项数或选中各项是/否；资金使用合规性填违规数；行政效能填好/一般/差；经济社会效益填录入得分；"
    "重点工作完成率填得分率或选中考核得分、考核总分两格"
)


@_udf(volatile=True, indicator=_INDICATOR_DOC, value=_VALUE_DOC)
def INDICATOR_SCORE(indicator, value, caller=None):
    """按本工作簿“评分规则”表计算一项指标的得分（不在工作簿中时按默认规则）；规则行有误时返回原因，不改用默认规则。"""
    try:
        score, _ = _score(indicator, value, caller)
    except _Bad as bad:
        return str(bad)
    return round2(score)


@_udf(volatile=True, indicator=_INDICATOR_DOC, value=_VALUE_DOC)
def SCORE_NOTE(indicator, value, caller=None):
    """返回一项指标的扣分说明（与INDICATOR_SCORE同一规则、同一计算），如“公用经费控制率=124.58%，超出24.58个百分点…”。"""
    try:
        _, text = _score(indicator, value, caller)
    except _Bad as bad:
        return str(bad)
    return text
