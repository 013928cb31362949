"""Any county's table: frameworks written in Excel, checked cell by cell, templates built from them."""

from __future__ import annotations

import json
from fractions import Fraction as F
from pathlib import Path

import openpyxl
import pytest

from evalbook.adapters.framework_book import framework_book_bytes, read_framework_book
from evalbook.adapters.xlsx import XlsxBook
from evalbook.build.example import FRAMEWORK_EXAMPLE_VALUES, example_framework, example_values
from evalbook.build.sheets import workbook_bytes
from evalbook.build.template import build_template_bytes
from evalbook.cli import main
from evalbook.department.framework import SECTION_COLUMNS, seed_framework
from evalbook.workbook.service import framework_of, read_evaluation
from tests.conftest import ROOT, TEMPLATE

EXAMPLE_FRAMEWORK = ROOT / "examples" / "示例框架.xlsx"
EXAMPLE_DEPARTMENT = ROOT / "examples" / "示例部门2021.xlsm"

# The example department under the example framework, worked out by hand from its figures:
#   财政供养 31/30 = 103.33% → 3 whole steps × 0.5 → 3.5;  三公变动 (19-20)/20 = -5% → 5
#   重点支出 850/1000 = 85% → [80%,90%) → 4;  预算调整 150/1000 = 15% → (10%,20%] → 1
#   支付进度 2 behind × 0.5 → 2;  资金结余 50/100 = 50% → (0%,100%] → 2
#   公用经费 102.5% → 2 steps → 6;  三公控制 17/19 = 89.47% → 7;  政府采购 95% → 1 step × 2 → 4
#   制度 3 × 2 → 6;  固定资产 88% → 12 points below → 2 steps × 1 → 5;  信息公开 3 × 2 → 6
#   重点工作 90/100 × 10 → 9;  效益 8;  效能 一般 3;  满意度 90% → [85%,95%) → 6
#   total 77.5 → 良 under this framework's 80/70/60 (中 under the seed's 90/80/60)
EXAMPLE_SCORES = {
    "财政供养人员控制率": F(7, 2), "三公经费变动率": 5, "重点支出安排率": 4, "预算调整率": 1, "支付进度": 2,
    "资金结余": 2, "公用经费控制率": 6, "三公经费控制率": 7, "政府采购执行率": 4, "管理制度健全性": 6,
    "固定资产利用率": 5, "信息公开": 6, "重点工作完成率": 9, "经济社会效益": 8, "行政效能": 3, "满意度": 6,
}


def run(*args):
    return main([str(a) for a in args])


def test_export_new_export_gives_the_same_framework(tmp_path):
    first = tmp_path / "框架.xlsx"
    assert run("framework", "export", "-o", first) == 0
    book = tmp_path / "模板.xlsm"
    assert run("new", book, "--framework", first) == 0
    again = tmp_path / "再导出.xlsx"
    assert run("framework", "export", book, "-o", again) == 0
    assert read_framework_book(first).sections() == read_framework_book(again).sections() == seed_framework().sections()
    assert read_framework_book(again).fingerprint == seed_framework().fingerprint


def test_the_seed_exported_and_rebuilt_is_todays_template_and_scores_76(tmp_path):
    exported = tmp_path / "框架.xlsx"
    exported.write_bytes(framework_book_bytes(seed_framework()))
    rebuilt = read_framework_book(exported)
    assert build_template_bytes(framework=rebuilt) == TEMPLATE.read_bytes()
    values, _ = example_values()
    book = tmp_path / "部门.xlsx"
    book.write_bytes(workbook_bytes(values, framework=rebuilt))
    with XlsxBook(book) as opened:
        evaluation = read_evaluation(opened)
    assert evaluation.total == 76 and evaluation.grade == "中"


def test_the_example_framework_scores_its_department_by_hand(capsys):
    assert read_framework_book(EXAMPLE_FRAMEWORK).sections() == example_framework().sections()
    with XlsxBook(EXAMPLE_DEPARTMENT) as book:
        assert framework_of(book).fingerprint == example_framework().fingerprint
        evaluation = read_evaluation(book)
    assert {r.key: r.score for r in evaluation.indicators} == EXAMPLE_SCORES
    assert evaluation.total == F(155, 2) and evaluation.grade == "良" and evaluation.errors == 0
    assert run("check", "--json", EXAMPLE_DEPARTMENT) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["total"] == 77.5 and shown["grade"] == "良"


def test_the_example_template_shows_the_frameworks_name_and_inputs():
    wb = openpyxl.load_workbook(EXAMPLE_DEPARTMENT)
    assert wb["评分表"]["A1"].value == "部门整体支出绩效评价指标（示例框架）（示例，非正式文件）"
    for name, sheet in (("重点项目支出", "基础数据表"), ("固定资产原值", "基础数据表"), ("支付进度滞后专项数", "评分表")):
        assert next(iter(wb.defined_names[name].destinations))[0] == sheet
    for key in EXAMPLE_SCORES:
        for prefix in ("分值_", "计算值_", "得分_", "扣分说明_", "自评_"):
            assert prefix + key in wb.defined_names
    assert wb["指标框架"].sheet_state == "hidden"


def test_a_failing_audit_row_gives_its_level_note_and_cell(tmp_path):
    values = dict(FRAMEWORK_EXAMPLE_VALUES, 重点项目支出=1200)
    book = tmp_path / "部门.xlsx"
    book.write_bytes(workbook_bytes(values, framework=example_framework()))
    with XlsxBook(book) as opened:
        evaluation = read_evaluation(opened)
        where = opened.locate("重点项目支出")
    found = [f for f in evaluation.findings if f.name == "重点项目支出"]
    assert len(found) == 1 and found[0].severity == "错误"
    assert (found[0].sheet, found[0].cell) == (where.sheet, where.cell) == ("基础数据表", found[0].cell)
    assert "1200.00" in found[0].message and "应不大于项目支出_本年决算（1000.00）" in found[0].message
    assert found[0].message.endswith("重点项目支出是项目支出的一部分")
    assert evaluation.by_key("重点支出安排率").score is None  # an 错误 stops what reads the cell


def _write(path: Path, sheets: dict[str, list[tuple]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r, row in enumerate(rows, 1):
            for c, value in enumerate(row, 1):
                cell = ws.cell(r, c, value)
                if isinstance(value, str) and value.startswith("="):
                    cell.data_type = "s"  # text, as older templates stored it
    wb.save(path)
    return path


RULE_HEADER = ("一级指标", "二级指标", "三级指标", "指标键", "分值", "计算公式", "计分方法", "基准值", "步长", "每步分值",
               "分档/等级")


def test_every_problem_is_refused_with_its_cell(tmp_path, capsys):
    bad = _write(tmp_path / "坏框架.xlsx", {
        "评分规则": [
            RULE_HEADER,
            ("投入", "配置", "甲", "甲", 50, "实际在职人数/编制数", "超限扣分", "100%", "1%", 0.5),
            ("投入", "配置", "乙", "乙", 20, "实际在职人数/未知数", "超限扣分", "100%", "1%", 0.5),  # unknown name
            ("投入", "配置", "丙", "丙", 10, "(编制数", "超限扣分", "100%", "1%", 0.5),  # syntax error
            ("过程", "执行", "丁", "丁", 10, "年末结余/上年结转", "分档计分", None, None, None, "0%-5"),  # bands
            ("过程", "执行", "戊", "甲", 5, "编制数/实际在职人数", "超限扣分", "100%", "1%", 0.5),  # duplicate key
            ("过程", "执行", "己", "己", 5, "年初预算、上年结转", "清单计分", None, None, 1),  # 清单 over 金额
            ("过程", "执行", "庚", "1号 指标", 5, "编制数", "录入得分"),  # not a defined-name part
        ],
        "审核规则": [("左式", "关系", "右式", "级别"), ("年初预算", "≈", "上年结转", "错误")],
    })
    assert run("framework", "check", bad) == 2
    err = capsys.readouterr().err
    for expected in ("评分规则!F3：名称未知数", "评分规则!F4：计算公式缺少“)”", "评分规则!K5：分档",
                     "评分规则!D6：指标键“甲”重复（评分规则!D2已有）", "评分规则!G7：清单计分",
                     "评分规则!D8：指标键“1号 指标”", "审核规则!B2：关系"):
        assert expected in err, (expected, err)
    assert "Traceback" not in err
    target = tmp_path / "模板.xlsm"
    assert run("new", target, "--framework", bad) == 2
    assert not target.exists()  # never a half-built template


def test_weights_that_do_not_add_up_are_refused(tmp_path, capsys):
    framework = _write(tmp_path / "框架.xlsx", {
        "评分规则": [RULE_HEADER, ("投入", "配置", "甲", "甲", 50, "实际在职人数/编制数", "超限扣分", "100%", "1%", 0.5)],
        "说明": [("项目", "内容"), ("总分", 100)],
    })
    assert run("framework", "check", framework) == 2
    assert "各指标分值合计为50分，与总分100分不符" in capsys.readouterr().err


def test_a_missing_column_is_named_with_the_sheet(tmp_path, capsys):
    framework = _write(tmp_path / "框架.xlsx", {"评分规则": [("指标键", "分值", "计分方法"), ("甲", 100, "录入得分")]})
    assert run("framework", "check", framework) == 2
    assert "评分规则!A1：评分规则缺少列“计算公式”" in capsys.readouterr().err


def test_band_text_written_without_a_leading_equals_and_the_old_form_still_read(tmp_path):
    sections = seed_framework().sections()
    rows = sections["评分规则"]
    control = next(r for r in rows if r["指标键"] == "预算控制率")
    assert control["分档/等级"].startswith("0%:5；")
    control["分档/等级"] = "=" + control["分档/等级"]
    path = _write(tmp_path / "旧写法.xlsx", {
        name: [tuple(SECTION_COLUMNS[name])] + [tuple(r.get(c) or None for c in SECTION_COLUMNS[name]) for r in table]
        for name, table in sections.items()})
    wb = openpyxl.load_workbook(path)
    cell = next(c for c in wb["评分规则"][1] if c.value == "分档/等级")
    assert str(wb["评分规则"].cell(5, cell.column).value).startswith("=0%")  # as an accountant typed it long ago
    framework = read_framework_book(path)
    from evalbook.department.rules import default_rules

    assert default_rules(framework).rules["预算控制率"].bands[0].label == "0%"  # read, and kept in the new form
    assert framework.sections() == seed_framework().sections()


def test_a_framework_book_never_writes_a_formula(tmp_path):
    path = tmp_path / "框架.xlsx"
    path.write_bytes(framework_book_bytes(seed_framework()))
    wb = openpyxl.load_workbook(path)
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate)
    assert "填写说明" in wb.sheetnames
