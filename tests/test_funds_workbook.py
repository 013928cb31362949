"""Special funds end to end in a workbook: add-fund, fill two funds, score, read the sheets back."""

from __future__ import annotations

import json
import shutil
import zipfile

import openpyxl
import pytest

from evalbook.adapters.xlsx import XlsxBook
from evalbook.cli import main
from evalbook.funds import names as N
from evalbook.build.example import example_values
from tests.conftest import EXAMPLE, TEMPLATE
from tests.legacy_names import write_by_key
from tests.test_funds import DEPARTMENT_SCORE, FUND1_TOTAL, FUND2_TOTAL
from evalbook.build.example_funds import fund_values, sewage, waterworks


@pytest.fixture
def two_funds(tmp_path, capsys):
    """The template, a second fund sheet added with add-fund, both funds typed in."""
    book = tmp_path / "专项.xlsm"
    shutil.copy(TEMPLATE, book)
    with XlsxBook(book) as wb:
        wb.write_values(example_values()[0])
        wb.save()
    assert main(["add-fund", str(book)]) == 0
    capsys.readouterr()
    with XlsxBook(book) as wb:
        write_by_key(wb, {**fund_values(waterworks(1)), **fund_values(sewage(2))})
        wb.save()
    return book


def test_add_fund_gives_an_empty_sheet_with_its_own_names(tmp_path, capsys):
    book = tmp_path / "加表.xlsm"
    shutil.copy(EXAMPLE, book)
    with XlsxBook(book) as wb:
        wb.write_values({"专项1_专项资金名称": "湘江水厂"})
        wb.save()
    assert main(["add-fund", str(book)]) == 0  # the example has two funds: this is the third
    assert "专项资金自评表3" in capsys.readouterr().out
    wb = openpyxl.load_workbook(book)
    # right after the last fund sheet, not after the hidden xlwings.conf at the end of the tabs
    assert wb.sheetnames[wb.sheetnames.index("专项资金自评表2") + 1] == "专项资金自评表3"
    dest = dict(wb.defined_names["专项3_指标表_完成值"].destinations)
    assert dest == {"专项资金自评表3": "$E$12:$E$41"}
    assert wb["专项资金自评表3"]["C2"].value is None  # the copy starts empty
    assert wb["专项资金自评表3"]["A12"].value == "产出"  # but keeps the prefilled labels
    assert wb["专项资金自评表3"]["D14"].value is None
    assert wb["专项资金自评表1"]["C2"].value == "湘江水厂"
    assert wb["专项资金自评表1"]["D13"].value == "≥2000户"
    assert len([n for n in wb.defined_names if n.startswith("专项3_")]) == len(N.fund_names(3))
    with XlsxBook(book) as added:
        part = added.sheet_parts["专项资金自评表3"]
    with zipfile.ZipFile(book) as z:
        sheet = z.read(part).decode()
        assert 'codeName="shtFund3"' in sheet and '"专项资金自评表3"' in sheet  # own code name, own highlight rule
        assert z.testzip() is None


def test_two_funds_scored_by_hand(two_funds, capsys):
    code = main(["score", str(two_funds), "--json"])
    d = json.loads(capsys.readouterr().out)
    assert code == 0, [i for i in d["issues"] if i["severity"] == "错误"]
    assert [f["total"] for f in d["funds"]] == [round(float(FUND1_TOTAL), 2), round(float(FUND2_TOTAL), 2)]
    assert [f["grade"] for f in d["funds"]] == ["优", "良"]
    summary = d["funds_summary"]
    assert summary["count"] == 2 and summary["score"] == round(float(DEPARTMENT_SCORE), 2)
    assert summary["rate"] == pytest.approx(2580 / 3200)
    wb = openpyxl.load_workbook(two_funds, data_only=True)  # the cached results a reader sees

    def at(name):
        sheet, ref = next(iter(wb.defined_names[name].destinations))
        return wb[sheet][ref.replace("$", "")].value

    assert at("专项1_得分") == 96.71 and at("专项1_等级") == "优"
    assert at("专项2_得分") == 81.78 and at("专项2_等级") == "良"
    assert at("专项1_年度资金总额_执行率") == pytest.approx(0.9)
    assert wb["专项资金自评表1"]["J12"].value == "数量指标“新增管道长度”：完成值3842米/指标值3000米=128.07%，按100%计，得6.25分"
    assert at("专项汇总_得分") == 87.38 and at("专项汇总_等级") == "良"
    sheet, ref = next(iter(wb.defined_names[N.SUMMARY_TABLE].destinations))
    first = wb[sheet][ref.replace("$", "")].row
    rows = [r for r in wb[sheet].iter_rows(min_row=first, max_row=first + 5, values_only=True) if r[0]]
    assert [r[1] for r in rows] == ["湘江水厂提质扩容改造项目", "乡镇污水处理项目"]


def test_fund_error_names_the_cell(two_funds, capsys):
    with XlsxBook(two_funds) as wb:
        write_by_key(wb, {"专项2_指标1_完成值": "很多"})
        wb.save()
    code = main(["check", str(two_funds), "--json"])
    d = json.loads(capsys.readouterr().out)
    assert code == 1
    errors = [i for i in d["issues"] if i["severity"] == "错误"]
    assert any(i["sheet"] == "专项资金自评表2" and i["cell"] == "E12" and "很多" in i["message"] for i in errors)


def test_summary_rows_show_rates_as_percent_and_amounts_as_money(two_funds, capsys):
    assert main(["score", str(two_funds)]) in (0, 1)
    capsys.readouterr()
    wb = openpyxl.load_workbook(two_funds)
    ws = wb[N.SUMMARY_SHEET]
    sheet, cell = next(iter(wb.defined_names[N.SUMMARY_TABLE].destinations))
    top = int(cell.replace("$", "").lstrip("A"))
    for row in (top, top + 1):  # the template's first row and a row the adapter added
        assert ws[f"B{row}"].value  # a fund's name
        assert ws[f"E{row}"].number_format == "0.00%"
        assert (ws[f"C{row}"].number_format, ws[f"D{row}"].number_format) == ("0.00", "0.00")
        assert ws[f"B{row}"].alignment.wrap_text
    assert ws.column_dimensions["F"].width >= 19  # "按资金额度加权平均" is 18 half-width places
