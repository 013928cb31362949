"""绩效评价 Excel 自定义函数（xlwings UDF）。

Excel 如何找到这些函数：工作簿的 xlwings.conf 工作表中 “UDF Modules” 一项填写 udfs（即本模块，
不带 .py）。模板已内置这些函数的 VBA 包装（由构建脚本按本模块生成），打开工作簿、启用宏即可使用，
无需点击 “Import Functions”；函数出现在函数向导的 “绩效评价” 类别中，每个参数都有中文说明。
函数只在 Windows 版 Excel 中可用（xlwings 的限制）。

所有得分都由 evalbook 的同一套代码算出（evalbook.core.numbers 读数、指标框架中的规则、
evalbook.department.engine 计分），与命令 `evalbook score` 的结果一致。参数有误时
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
from fractions import Fraction

import xlwings as xw

# Pure-Python modules; importing them costs a few milliseconds (see bench/bench_udf_import.py).
from evalbook.core.numbers import (
    ExcelError, as_excel_error, clean_text, fmt_money, fmt_score, fraction_to_float, read_number, round2,
)
from evalbook.core.ruletable import RulesSource
from evalbook.department import engine
from evalbook.department.framework import seed_framework
from evalbook.department.measure import Unmeasured, read_figure
from evalbook.funds import formulas as fund_formulas
from evalbook.workbook.contract import RULES_TABLE

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
    try:
        return read_figure(_cell(raw), label)
    except Unmeasured as bad:
        raise _Bad(bad.message) from None


def _cells(raw: object) -> object:
    """A cell value as is; a range as the flat list of its values (xlwings gives nested lists)."""
    if isinstance(raw, (list, tuple)):
        return [_cell(x) for row in raw for x in (row if isinstance(row, (list, tuple)) else (row,))]
    return _cell(raw)


# ---- rates from two numbers ---------------------------------------------------------------------

@_udf(actual="实际数（如公用经费实际支出、三公经费实际支出、实际政府采购金额、楼堂馆所实际规模或投资）",
      plan="计划数（如对应的预算数、政府采购预算数、批复规模或预算投资），不能为0")
def CONTROL_RATE(actual, plan):
    """控制率=实际数/计划数，返回小数（单元格设为百分比格式）。用于公用经费、三公经费、楼堂馆所控制率和政府采购执行率。"""
    try:
        a, b = _number(actual, "实际数"), _number(plan, "计划数")
    except _Bad as bad:
        return str(bad)
    for value, label in ((a, "实际数"), (b, "计划数")):
        if value < 0:
            return f"{label}为负数{fmt_money(value)}，应填写不小于0的数"
    if b == 0:
        return "计划数为0，无法计算"
    return fraction_to_float(a / b)


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


# ---- indicators named after themselves: scored by the engine from just their inputs ----------

def _indicator_result(key: str, args: dict[str, tuple[object, str]], weight: object = None) -> engine.IndicatorResult:
    """Indicator `key` scored by the engine from the inputs given (defined name → (argument, label)),
    every check of `evalbook score` included; messages name the arguments by their labels."""
    raw = {}
    for name, (value, label) in args.items():
        _number(value, label)  # a blank or unreadable argument is named by its label
        raw[name] = _single(value, label)
    try:
        result = engine.evaluate_indicator(key, raw, weight=_weight(weight))
    except engine.NotScored as exc:
        message = str(exc)
        for name, (_, label) in args.items():
            message = message.replace(name, label)
        raise _Bad(message) from None
    return result


def _weight(raw: object) -> Fraction | None:
    """An optional 分值 argument: blank keeps the framework's."""
    if raw is None or read_number(_single(raw, "分值")).blank:
        return None
    points = _number(raw, "分值")
    if points <= 0:
        raise _Bad(f"分值应大于0，现为{fmt_score(points)}")
    return points


def _score_of(key: str, args: dict[str, tuple[object, str]], weight: object = None) -> float | str:
    try:
        return round2(_indicator_result(key, args, weight).score)
    except _Bad as bad:
        return str(bad)


def _value_of(key: str, args: dict[str, tuple[object, str]]) -> float | str:
    try:
        return fraction_to_float(_indicator_result(key, args).value)
    except _Bad as bad:
        return str(bad)


def _sangong_args(this_year, last_year) -> dict[str, tuple[object, str]]:
    return {"三公经费_本年预算": (this_year, "本年三公经费预算数"), "三公经费_上年预算": (last_year, "上年三公经费预算数")}


@_udf(this_year="本年度“三公经费”预算数，万元", last_year="上年度“三公经费”预算数，万元，不能为0")
def SANGONG_CHANGE_RATE(this_year, last_year):
    """“三公经费”变动率=（本年预算数-上年预算数）/上年预算数，返回小数（单元格设为百分比格式），按精确值计算。"""
    return _value_of("三公经费变动率", _sangong_args(this_year, last_year))


@_udf(this_year="本年度“三公经费”预算数，万元", last_year="上年度“三公经费”预算数，万元，不能为0",
      weight="可选：本指标分值，省略时为5分")
def SANGONG_SCORE(this_year, last_year, weight=None):
    """“三公经费”变动率得分（默认规则）：变动率≤0得满分，每超过1个百分点扣0.8分（只计整步），扣完为止。"""
    return _score_of("三公经费变动率", _sangong_args(this_year, last_year), weight)


@_udf(staff="实际在职人数（部门决算口径），整数", quota="编制数（机构编制部门核定），整数，不能为0")
def STAFF_SCORE(staff, quota):
    """在职人员控制率得分（默认规则，5分）：在职人数/编制数≤100%得满分，每超过1个百分点扣0.5分（只计整步）。"""
    return _score_of("在职人员控制率", {"实际在职人数": (staff, "实际在职人数"), "编制数": (quota, "编制数")})


@_udf(carried_over="上年结转，万元", initial_budget="年初预算，万元",
      added_budget="本年追加预算，万元（调减填负数）", year_end_balance="年末结余，万元")
def BUDGET_COMPLETION_RATE(carried_over, initial_budget, added_budget, year_end_balance):
    """预算完成率=（上年结转+年初预算+本年追加-年末结余）/（上年结转+年初预算+本年追加），返回小数（百分比格式）。"""
    return _value_of("预算完成率", {
        "上年结转": (carried_over, "上年结转"),
        "年初预算": (initial_budget, "年初预算"),
        "本年追加预算": (added_budget, "本年追加预算"),
        "年末结余": (year_end_balance, "年末结余"),
    })


@_udf(added_budget="本年追加预算，万元（调减填负数，按0%计）", initial_budget="年初预算，万元，不能为0")
def BUDGET_CONTROL_SCORE(added_budget, initial_budget):
    """预算控制率得分（默认规则，5分）：追加/年初预算=0得5分，(0,10%]得4分，(10%,20%]得3分，(20%,30%]得2分，>30%得0分。"""
    return _score_of("预算控制率", {"本年追加预算": (added_budget, "本年追加预算"), "年初预算": (initial_budget, "年初预算")})


# ---- any indicator from its 计算值, under the workbook's rules ---------------------------------

def _workbook_rules(caller) -> RulesSource | None:
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
        if RULES_TABLE not in book.names:
            return None  # not an evalbook workbook: the seed's rules are the only meaning
        rng = book.names[RULES_TABLE].refers_to_range
        rows = [tuple(row) for row in rng.options(ndim=2, err_to_str=True).value]
        return RulesSource(rows, sheet=rng.sheet.name, first_row=rng.row, first_column=rng.column)
    except Exception:  # noqa: BLE001 - a broken name must not fall back to the defaults silently
        raise _Bad(f"无法读取本工作簿的“{RULES_TABLE}”（评分规则区域），请检查该名称") from None


def _score(indicator: object, value: object, caller=None):
    """The engine's Scored for one indicator from its 计算值; raises _Bad with the cell's message."""
    raw = _single(indicator, "指标名称")
    error = as_excel_error(raw)
    if error is not None:
        raise _Bad(f"指标名称是错误值{error.code}")
    text = "" if raw is None else clean_text(str(raw))
    if not text:
        raise _Bad("请填写指标名称，如“公用经费控制率”")
    framework = seed_framework()
    try:
        ind = engine.find_indicator(framework, text)
        rule = engine.rule_for(framework, ind, _workbook_rules(caller))
        return engine.score_value(ind, rule, _cells(value), framework)
    except engine.NotScored as exc:
        raise _Bad(str(exc)) from None


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
        return round2(_score(indicator, value, caller).score)
    except _Bad as bad:
        return str(bad)


@_udf(volatile=True, indicator=_INDICATOR_DOC, value=_VALUE_DOC)
def SCORE_NOTE(indicator, value, caller=None):
    """返回一项指标的扣分说明（与INDICATOR_SCORE同一规则、同一计算），如“公用经费控制率=124.58%，超出24.58个百分点…”。"""
    try:
        return _score(indicator, value, caller).text
    except _Bad as bad:
        return str(bad)
