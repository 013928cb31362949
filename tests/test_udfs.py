"""The Excel UDFs (udfs.py): known answers, agreement with the engine, bad arguments, help texts."""

from __future__ import annotations

import ast
import datetime as dt
import importlib.util
import inspect
import math
import re
import sys
import typing
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # udfs.py is a top-level module next to the evalbook package
    sys.path.insert(0, str(ROOT))

import xlwings as xw  # noqa: E402

import udfs  # noqa: E402
from evalbook.department import engine  # noqa: E402
from evalbook.department import framework as F_  # noqa: E402
from evalbook.department.framework import seed_framework
from evalbook.department import methods as M  # noqa: E402
from evalbook.department import rules as R  # noqa: E402
from evalbook.core.numbers import ExcelError, round2  # noqa: E402

CJK = re.compile(r"[\u4e00-\u9fff]")


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=0, abs_tol=1e-12)


# ---- known answers, worked out by hand from the seed's 评分表 ------------------------------------

def test_control_rate():
    assert close(udfs.CONTROL_RATE(154.98, 124.4), 154.98 / 124.4)
    assert round(udfs.CONTROL_RATE(154.98, 124.4), 7) == 1.2458199
    assert udfs.CONTROL_RATE(0, 5) == 0
    assert udfs.EXEC_RATE(45, 50) == 0.9


def test_sangong_score_exact_steps():
    assert udfs.SANGONG_SCORE(10.2, 10) == 3.4  # exactly 2.00%: two steps of 0.8, no float noise
    assert (10.2 - 10) / 10 < 0.02  # what float arithmetic would have floored to one step
    assert udfs.SANGONG_CHANGE_RATE(10.2, 10) == 0.02
    assert udfs.SANGONG_SCORE(63.46, 32) == 0
    assert udfs.SANGONG_SCORE(10, 10) == 5
    assert udfs.SANGONG_SCORE(9, 10) == 5  # a cut scores full marks
    assert udfs.SANGONG_SCORE(10.1, 10) == 4.2  # exactly 1%: one whole step
    assert udfs.SANGONG_SCORE(10.099, 10) == 5  # 0.99%: no whole step yet


def test_sangong_weight_override():
    assert udfs.SANGONG_SCORE(10.2, 10, 8) == 6.4
    assert udfs.SANGONG_SCORE(10.2, 10, "8") == 6.4
    assert udfs.SANGONG_SCORE(10.2, 10, None) == 3.4  # omitted optional argument
    assert udfs.SANGONG_SCORE(10.2, 10, "\u3000") == 3.4  # a blank cell keeps the default
    assert udfs.SANGONG_SCORE(10.2, 10, weight=8) == 6.4
    assert isinstance(udfs.SANGONG_SCORE(10.2, 10, 0), str)
    assert isinstance(udfs.SANGONG_SCORE(10.2, 10, -5), str)


def test_staff_score():
    assert udfs.STAFF_SCORE(21, 21) == 5
    assert udfs.STAFF_SCORE(20, 21) == 5
    assert udfs.STAFF_SCORE(22, 21) == 3  # 104.76%: 4 whole steps of 0.5
    assert udfs.STAFF_SCORE(22.0, 21.0) == 3  # what COM hands over for whole numbers
    message = udfs.STAFF_SCORE(21.5, 21)
    assert isinstance(message, str) and "整数" in message


def test_budget_completion_rate():
    # (1344.63+8300+2064.65-6274.16)/(1344.63+8300+2064.65) = 5435.12/11709.28
    expected = Fraction(543512, 1170928)
    assert udfs.BUDGET_COMPLETION_RATE(1344.63, 8300, 2064.65, 6274.16) == float(expected)
    assert round(udfs.BUDGET_COMPLETION_RATE(1344.63, 8300, 2064.65, 6274.16), 6) == 0.464172
    assert udfs.BUDGET_COMPLETION_RATE(0, 100, -10, 0) == 1  # a budget cut may be negative
    assert "为0" in udfs.BUDGET_COMPLETION_RATE(0, 0, 0, 0)


def test_budget_control_score_bands():
    assert udfs.BUDGET_CONTROL_SCORE(10, 100) == 4  # exactly 10%: (0%,10%] is closed on the right
    assert udfs.BUDGET_CONTROL_SCORE(0, 100) == 5
    assert udfs.BUDGET_CONTROL_SCORE(-5, 100) == 5  # a cut counts as 0%
    assert udfs.BUDGET_CONTROL_SCORE(0.01, 100) == 4
    assert udfs.BUDGET_CONTROL_SCORE(20, 100) == 3
    assert udfs.BUDGET_CONTROL_SCORE(30, 100) == 2
    assert udfs.BUDGET_CONTROL_SCORE(30.01, 100) == 0
    assert udfs.BUDGET_CONTROL_SCORE("——", 100) == 5  # a dash is explicitly nothing
    assert udfs.BUDGET_CONTROL_SCORE(1, 0) == "年初预算为0，无法计算预算控制率（分母不能为0）"


def test_indicator_score_known_answers():
    assert udfs.INDICATOR_SCORE("公用经费控制率", 1.2458) == 0
    assert udfs.INDICATOR_SCORE("公用经费控制率", 1.0) == 8
    assert udfs.INDICATOR_SCORE("公用经费控制率", "124.58%") == 0
    assert udfs.INDICATOR_SCORE("满意度", 0.9) == 6
    assert udfs.INDICATOR_SCORE("满意度", 0.8999) == 4
    assert udfs.INDICATOR_SCORE("满意度", "95%") == 6
    assert udfs.INDICATOR_SCORE("“三公经费”变动率", 0.02) == 3.4  # the 评分表's printed title
    assert udfs.INDICATOR_SCORE("三公经费变动率", -0.1) == 5
    assert udfs.INDICATOR_SCORE("新建楼堂馆所面积控制率", 1.06) == 3
    assert udfs.INDICATOR_SCORE("楼堂馆所投资控制率", "无项目") == 5
    assert udfs.INDICATOR_SCORE("政府采购执行率", 0.9) == 2  # 6 - two steps of 2 (10 points below)
    assert udfs.INDICATOR_SCORE("预算完成率", 0.464172) == 0
    assert udfs.INDICATOR_SCORE("预算控制率", -0.05) == 5  # as the engine: negative → 0%


def test_indicator_score_other_kinds():
    assert udfs.INDICATOR_SCORE("管理制度健全性", 3) == 6
    assert udfs.INDICATOR_SCORE("管理制度健全性", ["是", "否", "是", "是"]) == 6
    assert udfs.INDICATOR_SCORE("管理制度健全性", [["是"], ["是"], ["是"], ["是"]]) == 8
    assert udfs.INDICATOR_SCORE("预决算信息公开性", 5) == 5
    assert udfs.INDICATOR_SCORE("资金使用合规性", 0) == 6
    assert udfs.INDICATOR_SCORE("资金使用合规性", 2) == 4
    assert udfs.INDICATOR_SCORE("资金使用合规性", 9) == 0
    assert udfs.INDICATOR_SCORE("行政效能", "好") == 6
    assert udfs.INDICATOR_SCORE("行政效能", "一般　") == 3
    assert udfs.INDICATOR_SCORE("经济社会效益", 8.5) == 8.5
    assert udfs.INDICATOR_SCORE("重点工作完成率", 0.9) == 7.2
    assert udfs.INDICATOR_SCORE("重点工作完成率", [90, 100]) == 7.2
    for bad in [("管理制度健全性", 5), ("管理制度健全性", 2.5), ("管理制度健全性", ["是", "否"]),
                ("管理制度健全性", ["是", "否", "也许", "是"]), ("资金使用合规性", -1),
                ("资金使用合规性", 1.5), ("行政效能", "很好"), ("经济社会效益", 11),
                ("经济社会效益", -1), ("重点工作完成率", 1.2), ("重点工作完成率", [110, 100]),
                ("重点工作完成率", [90, 0]), ("满意度", 95), ("满意度", -0.1), ("公用经费控制率", -1)]:
        result = udfs.INDICATOR_SCORE(*bad)
        assert isinstance(result, str) and CJK.search(result), bad


def test_score_note_contains_the_numbers():
    note = udfs.SCORE_NOTE("公用经费控制率", 1.2458)
    assert "124.58%" in note and "24.58" in note and "得0分" in note
    note = udfs.SCORE_NOTE("三公经费变动率", 0.02)
    assert "2.00%" in note and "0.8" in note and "3.4" in note
    assert "90.00%" in udfs.SCORE_NOTE("满意度", 0.9)
    assert "第2项" in udfs.SCORE_NOTE("管理制度健全性", ["是", "否", "是", "是"])
    # from a count only, which items were 否 is unknown and must not be invented
    assert "第" not in udfs.SCORE_NOTE("管理制度健全性", 3)
    assert "2例" in udfs.SCORE_NOTE("资金使用合规性", 2)


def test_unknown_indicator():
    for name in ("未知指标", "公用经费", 12, "#N/A", None, "\u3000"):
        result = udfs.INDICATOR_SCORE(name, 1)
        assert isinstance(result, str) and CJK.search(result)
        assert udfs.SCORE_NOTE(name, 1) == result
    assert "不在16项指标之中" in udfs.INDICATOR_SCORE("未知指标", 1)


def test_text_numbers_read_like_the_engine():
    assert close(udfs.CONTROL_RATE("14.73\u3000", "1,234.5"), 14.73 / 1234.5)
    assert udfs.CONTROL_RATE("95%", 1) == 0.95
    assert udfs.CONTROL_RATE("１０", "２０") == 0.5  # full-width digits
    assert udfs.SANGONG_SCORE("10.2\u3000", "10") == 3.4
    assert udfs.STAFF_SCORE("22", "21") == 3


# ---- agreement with the engine -------------------------------------------------------------------

def _raw_for(key: str, pct: Decimal) -> dict[str, object]:
    """Basic data whose 计算值 for `key` is exactly pct%."""
    f = float
    if key == "在职人员控制率":
        return {"实际在职人数": int(pct * 100), "编制数": 10000}
    if key == "三公经费变动率":
        return {"三公经费_本年预算": f(100 + pct), "三公经费_上年预算": 100}
    if key == "预算完成率":
        return {"上年结转": 0, "年初预算": 100, "本年追加预算": 0, "年末结余": f(100 - pct)}
    if key == "预算控制率":
        return {"本年追加预算": f(pct), "年初预算": 100}
    if key == "满意度":
        return {"满意度": f(pct / 100)}
    top, bottom = {
        "楼堂馆所面积控制率": ("楼堂馆所_实际规模", "楼堂馆所_批复规模"),
        "楼堂馆所投资控制率": ("楼堂馆所_实际投资", "楼堂馆所_预算投资"),
        "公用经费控制率": ("公用经费_本年决算", "公用经费_本年预算"),
        "三公经费控制率": ("三公经费_本年决算", "三公经费_本年预算"),
        "政府采购执行率": ("政府采购_本年决算", "政府采购_本年预算"),
    }[key]
    return {top: f(pct), bottom: 100}


RATE_KEYS = [ind.key for ind in seed_framework().indicators if ind.kind in (F_.RATE, F_.PERCENT)]
PERCENTS = ["0", "0.01", "0.99", "1", "4.99", "5", "9.99", "10", "10.01", "20", "30", "30.01", "46.42",
            "69.99", "70", "79.99", "80", "89.99", "90", "95", "99.99", "100", "100.99", "101",
            "104.76", "105", "110", "124.58", "200"]


# valid basic data cannot give these above 100% (满意度 is a share, 年末结余 is not negative)
BOUNDED = ("满意度", "预算完成率")


def _cases():
    for key in RATE_KEYS:
        for text in PERCENTS:
            pct = Decimal(text)
            if key in BOUNDED and pct > 100:
                continue
            yield key, pct
    for text in ("-0.01", "-5", "-30"):
        yield "三公经费变动率", Decimal(text)
        yield "预算控制率", Decimal(text)


@pytest.mark.parametrize("key,pct", list(_cases()))
def test_indicator_score_agrees_with_engine(key, pct):
    result = engine.evaluate(_raw_for(key, pct)).by_key(key)
    assert result.score is not None, result.explanation
    rate = float(pct / 100)
    assert udfs.INDICATOR_SCORE(key, rate) == round2(result.score)
    if key != "预算控制率" or pct >= 0:  # the engine shows a cut as 0%, the UDF says so too
        assert udfs.SCORE_NOTE(key, rate).endswith(result.explanation.split("%", 1)[1]), result.explanation


def test_indicator_score_agrees_with_engine_everywhere():
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(st.sampled_from(RATE_KEYS), st.integers(min_value=0, max_value=30000))
    def check(key, hundredths):
        pct = Decimal(hundredths) / 100
        if key in BOUNDED and pct > 100:
            return
        result = engine.evaluate(_raw_for(key, pct)).by_key(key)
        assert udfs.INDICATOR_SCORE(key, float(pct / 100)) == round2(result.score)

    check()


@pytest.mark.parametrize("this_year,last_year", [(10.2, 10), (63.46, 32), (10.1, 10), (10.099, 10),
                                                 (9.5, 10), (124.4, 120), (0, 7)])
def test_sangong_agrees_with_engine(this_year, last_year):
    result = engine.evaluate({"三公经费_本年预算": this_year, "三公经费_上年预算": last_year}).by_key("三公经费变动率")
    assert udfs.SANGONG_SCORE(this_year, last_year) == round2(result.score)
    assert udfs.SANGONG_CHANGE_RATE(this_year, last_year) == float(result.value)
    assert udfs.INDICATOR_SCORE("三公经费变动率", float(result.value)) == round2(result.score)


@pytest.mark.parametrize("staff,quota", [(21, 21), (22, 21), (30, 21), (19, 21), (101, 100)])
def test_staff_agrees_with_engine(staff, quota):
    result = engine.evaluate({"实际在职人数": staff, "编制数": quota}).by_key("在职人员控制率")
    assert udfs.STAFF_SCORE(staff, quota) == round2(result.score)


# ---- bad arguments: always a short Chinese message, never an exception ---------------------------

BAD = [None, "", "\u3000", "abc", "#DIV/0!", "#N/A", ExcelError("#REF!"), -2146826281, -2146826243,
       True, dt.date(2020, 1, 1), float("nan"), float("inf"), [1, 2], [[1], [2]], object()]

VALID = {
    "CONTROL_RATE": (154.98, 124.4),
    "EXEC_RATE": (45, 50),
    "SANGONG_CHANGE_RATE": (10.2, 10),
    "SANGONG_SCORE": (10.2, 10, 5),
    "STAFF_SCORE": (21, 21),
    "BUDGET_COMPLETION_RATE": (1344.63, 8300, 2064.65, 6274.16),
    "BUDGET_CONTROL_SCORE": (10, 100),
    "INDICATOR_SCORE": ("公用经费控制率", 1.2),
    "SCORE_NOTE": ("公用经费控制率", 1.2),
    "INDICATOR_RATIO": ("≥95%", "96%"),
}


def test_every_udf_is_covered():
    assert set(VALID) == set(udfs.__all__)


@pytest.mark.parametrize("name", sorted(VALID))
def test_bad_arguments_give_messages(name):
    func = getattr(udfs, name)
    assert not isinstance(func(*VALID[name]), str) or name == "SCORE_NOTE"
    for position in range(len(VALID[name])):
        for bad in BAD:
            if name == "SANGONG_SCORE" and position == 2 and bad in (None, "", "\u3000"):
                continue  # an empty 分值 means the default
            args = list(VALID[name])
            args[position] = bad
            result = func(*args)
            assert isinstance(result, str) and CJK.search(result), (name, position, bad, result)
            assert "Traceback" not in result and len(result) < 120


@pytest.mark.parametrize("func,args,expected", [
    (udfs.CONTROL_RATE, (5, 0), "计划数为0，无法计算"),
    (udfs.EXEC_RATE, (5, 0), "全年预算数为0，无法计算执行率"),
    (udfs.CONTROL_RATE, (-5, 10), "实际数为负数-5.00，应填写不小于0的数"),
    (udfs.SANGONG_SCORE, (10, 0), "上年三公经费预算数为0，无法计算三公经费变动率（分母不能为0）"),
    (udfs.SANGONG_SCORE, (None, 10), "本年三公经费预算数未填写"),
    (udfs.STAFF_SCORE, (21, 0), "编制数为0，无法计算在职人员控制率（分母不能为0）"),
    (udfs.CONTROL_RATE, ("#DIV/0!", 10), "实际数是错误值#DIV/0!，请先修正该单元格的公式或内容"),
    (udfs.CONTROL_RATE, (-2146826243, 10), "实际数是错误值#SPILL!，请先修正该单元格的公式或内容"),
    (udfs.CONTROL_RATE, ("abc", 10), "实际数的内容“abc”不是数字"),
    (udfs.CONTROL_RATE, ("\u3000", 10), "实际数未填写"),
    (udfs.CONTROL_RATE, ([1, 2], 10), "实际数应引用单个单元格，不能是区域"),
])
def test_bad_argument_messages(func, args, expected):
    assert func(*args) == expected


def test_unexpected_failure_is_a_message(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(udfs.engine, "evaluate_indicator", boom)
    result = udfs.STAFF_SCORE(21, 21)
    assert isinstance(result, str) and "RuntimeError" in result


# ---- the calling workbook's 评分规则 -------------------------------------------------------------

class FakeRange:
    def __init__(self, rows, row=3, column=1):
        self.rows, self.row, self.column = rows, row, column
        self.sheet = type("Sheet", (), {"name": "评分规则"})()

    def options(self, **options):
        assert options.get("ndim") == 2 and options.get("err_to_str") is True
        return self

    @property
    def value(self):
        return [list(r) for r in self.rows]


class FakeNames:
    def __init__(self, table):
        self.table = table

    def __contains__(self, name):
        return self.table is not None and name == "评分规则表"

    def __getitem__(self, name):
        if isinstance(self.table, Exception):
            raise self.table
        return type("Name", (), {"refers_to_range": self.table})()


def use_workbook(table):
    """The reserved `caller` argument xlwings passes: the calling cell, whose book has the rules."""
    book = type("Book", (), {"names": FakeNames(table)})()
    sheet = type("Sheet", (), {"book": book})()
    return type("Caller", (), {"sheet": sheet})()


def rows_with(key, **changes):
    rows = []
    for row in seed_framework().rule_rows():
        row = list(row)
        if row[0] == key:
            for column, value in changes.items():
                row[R.COLUMNS.index(column)] = value
        rows.append(tuple(row))
    return rows


def test_defaults_without_a_calling_workbook():
    assert udfs.INDICATOR_SCORE("公用经费控制率", 1.05) == 3


def test_workbook_rules_are_used():
    caller = use_workbook(FakeRange(rows_with("公用经费控制率", 分值=10.0, 每步分值=0.5)))
    assert udfs.INDICATOR_SCORE("公用经费控制率", 1.05, caller=caller) == 7.5
    assert "扣0.5分" in udfs.SCORE_NOTE("公用经费控制率", 1.05, caller=caller)
    # numbers as Excel stores them (100% → 1.0) read the same as the text defaults
    caller = use_workbook(FakeRange(rows_with("公用经费控制率", 基准值=1.0, 步长=0.01)))
    assert udfs.INDICATOR_SCORE("公用经费控制率", 1.05, caller=caller) == 3


def test_malformed_workbook_rule_is_reported_not_defaulted():
    caller = use_workbook(FakeRange(rows_with("满意度", **{"分档/等级": "九十分以上:6"})))
    message = udfs.INDICATOR_SCORE("满意度", 0.95, caller=caller)
    assert isinstance(message, str)
    assert "评分规则!H" in message and "满意度" in message and "不计分" in message
    assert udfs.SCORE_NOTE("满意度", 0.95, caller=caller) == message
    assert udfs.INDICATOR_SCORE("公用经费控制率", 1.0, caller=caller) == 8  # other rows still work

    caller = use_workbook(FakeRange(rows_with("公用经费控制率", 分值="#REF!")))
    message = udfs.INDICATOR_SCORE("公用经费控制率", 1.0, caller=caller)
    assert isinstance(message, str) and "#REF!" in message and "评分规则!B" in message

    missing = [r for r in seed_framework().rule_rows() if r[0] != "行政效能"]
    caller = use_workbook(FakeRange(missing))
    assert "缺少指标“行政效能”" in udfs.INDICATOR_SCORE("行政效能", "好", caller=caller)


def test_workbook_without_rules_table_uses_defaults():
    caller = use_workbook(None)
    assert udfs.INDICATOR_SCORE("满意度", 0.9, caller=caller) == 6


def test_unreadable_rules_table_is_reported():
    caller = use_workbook(RuntimeError("COM error"))
    message = udfs.INDICATOR_SCORE("满意度", 0.9, caller=caller)
    assert isinstance(message, str) and "评分规则表" in message


# ---- help texts for Excel's function wizard --------------------------------------------------------

def _params(func) -> list[str]:
    return list(inspect.signature(func).parameters)


@pytest.mark.parametrize("name", udfs.__all__)
def test_chinese_help(name):
    func = getattr(udfs, name)
    assert func.__doc__ and CJK.search(func.__doc__) and len(func.__doc__) <= 255
    docs = func.__udf_arg_docs__
    assert list(docs) == [p for p in _params(func) if p != "caller"]
    for doc in docs.values():
        assert CJK.search(doc) and len(doc) <= 255
    assert all(p.isidentifier() and p.isascii() for p in _params(func))
    assert not typing.get_type_hints(func)  # an annotation would become an xlwings converter


@pytest.mark.skipif(sys.platform.startswith("win"), reason="off Windows the decorators are pass-through")
def test_decorators_are_pass_through_here():
    def f(x):
        return x

    assert xw.func(category=udfs.CATEGORY)(f) is f
    assert xw.arg("x", doc="说明")(f) is f
    assert not hasattr(udfs.CONTROL_RATE, "__xlfunc__")


def _windows_decorators():
    """xlwings' own Windows xlfunc/xlarg, lifted out of xlwings/udfs.py (it imports pywin32)."""
    source = Path(xw.__file__).with_name("udfs.py").read_text(encoding="utf-8")
    wanted = {"func_sig", "get_category", "get_async_mode", "check_bool",
              "extract_type_and_annotations", "xlfunc", "xlarg"}
    nodes = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name in wanted]
    if {n.name for n in nodes} != wanted:
        pytest.skip("xlwings/udfs.py no longer has the expected decorators")
    namespace = {"inspect": inspect, "dt": dt, "Any": typing.Any, "Callable": typing.Callable,
                 "Annotated": typing.Annotated, "get_args": typing.get_args, "get_origin": typing.get_origin,
                 "get_type_hints": typing.get_type_hints, "_F": typing.TypeVar("_F")}
    exec(compile(ast.Module(body=nodes, type_ignores=[]), "xlwings/udfs.py", "exec"), namespace)
    return namespace["xlfunc"], namespace["xlarg"]


def test_what_windows_registration_records(monkeypatch):
    xlfunc, xlarg = _windows_decorators()
    monkeypatch.setattr(xw, "func", xlfunc)
    monkeypatch.setattr(xw, "arg", xlarg)
    spec = importlib.util.spec_from_file_location("udfs_as_on_windows", ROOT / "udfs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in module.__all__:
        info = getattr(module, name).__xlfunc__
        assert info["name"] == name and info["category"] == "绩效评价"
        assert info["ret"]["doc"] == getattr(udfs, name).__doc__ and info["ret"]["options"] == {}
        assert info["volatile"] is (name in ("INDICATOR_SCORE", "SCORE_NOTE"))
        assert [a["name"] for a in info["args"]] == _params(getattr(udfs, name))
        for arg in info["args"]:
            if arg["name"] == "caller":  # xlwings fills it with the calling cell; Excel never sees it
                assert name in ("INDICATOR_SCORE", "SCORE_NOTE")
                continue
            assert CJK.search(arg["doc"]), (name, arg)
            assert arg["options"] == {"err_to_str": True}, (name, arg)
    weight = module.SANGONG_SCORE.__xlfunc__["argmap"]["weight"]
    assert weight["optional"] is None
    assert module.SANGONG_SCORE(10.2, 10) == 3.4


# ---- special funds ----------------------------------------------------------------------------------

def test_exec_rate_and_indicator_ratio_agree_with_the_fund_engine():
    assert udfs.EXEC_RATE(1080, "1,200.00") == pytest.approx(0.9)
    assert udfs.EXEC_RATE(1300, 1200) == pytest.approx(13 / 12)  # not capped: the score caps
    assert udfs.EXEC_RATE(1, 0) == "全年预算数为0，无法计算执行率"
    assert udfs.INDICATOR_RATIO("3000米", "3842米") == pytest.approx(3842 / 3000)
    assert udfs.INDICATOR_RATIO("≤500万元", "450万元") == pytest.approx(500 / 450)
    assert udfs.INDICATOR_RATIO("1200万元", "1080万元", "成本") == pytest.approx(1200 / 1080)
    assert udfs.INDICATOR_RATIO("2020年12月底前", "2020年12月31日") == 1
    assert udfs.INDICATOR_RATIO("2020年12月底前", "2021年1月1日") == 0
    assert udfs.INDICATOR_RATIO("12月底前", "2020年12月1日", None, 2020) == 1
    assert "很多" in udfs.INDICATOR_RATIO("≥95%", "很多")
    assert isinstance(udfs.INDICATOR_RATIO(None, "\u3000"), str)
