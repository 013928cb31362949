"""Outputs never onto inputs: a defined name moved onto an input cell (or off its sheet) is refused
with exit 2 before anything is written, naming the name, the cell and the input it would overwrite."""

from __future__ import annotations

import html
import re
import zipfile
from pathlib import Path

import pytest

from evalbook.workbook import contract as C
from evalbook.core.errors import WorkbookUnusable
from evalbook.adapters.xlsx import XlsxBook
from evalbook.cli import main
from evalbook.funds import names as FN
from evalbook.workbook.placement import check_outputs_apart
from tests.conftest import EXAMPLE


def _with_names(tmp_path: Path, targets: dict[str, str], rename: tuple[str, str] | None = None) -> Path:
    """The example with the given defined names pointing elsewhere (and a sheet renamed)."""
    with zipfile.ZipFile(EXAMPLE) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    workbook = parts["xl/workbook.xml"].decode()
    for name, target in targets.items():
        pattern = rf'(<definedName name="{re.escape(name)}"[^>]*>)[^<]*(</definedName>)'
        workbook, count = re.subn(pattern, lambda m: m.group(1) + html.escape(target) + m.group(2), workbook)
        assert count == 1, name
    if rename:
        old, new = rename
        workbook = workbook.replace(f'name="{old}"', f'name="{new}"').replace(f"'{old}'!", f"'{new}'!")
    parts["xl/workbook.xml"] = workbook.encode()
    path = tmp_path / "改名称.xlsm"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def _defined(name: str) -> str:
    with XlsxBook(EXAMPLE) as book:
        return book.defined[name]


def _refused(path: Path, capsys) -> str:
    before = path.read_bytes()
    assert main(["score", str(path)]) == 2
    assert path.read_bytes() == before  # nothing written
    out = capsys.readouterr()
    message = (out.err + out.out).strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message and path.name in message
    return message


def test_a_score_onto_an_input_is_refused(tmp_path, capsys):
    path = _with_names(tmp_path, {"得分_在职人员控制率": _defined("编制数")})
    message = _refused(path, capsys)
    assert "定义名称“得分_在职人员控制率”指向基础数据表!B4，那是输入单元格（编制数）" in message


def test_the_status_line_onto_the_reporting_unit_is_refused(tmp_path, capsys):
    path = _with_names(tmp_path, {C.STATUS: "'基础数据表'!$B$2"})
    message = _refused(path, capsys)
    assert "定义名称“校验状态”指向基础数据表!B2，那是输入单元格（填报单位）" in message


def test_a_fund_output_onto_a_fund_input_is_refused(tmp_path, capsys):
    path = _with_names(tmp_path, {FN.score_name(1): _defined(FN.header_name(1, "专项资金名称"))})
    message = _refused(path, capsys)
    assert f"定义名称“{FN.score_name(1)}”指向专项资金自评表1!C2，那是输入单元格（{FN.header_name(1, '专项资金名称')}）" \
        in message


def test_an_output_off_its_sheet_is_refused(tmp_path, capsys):
    path = _with_names(tmp_path, {C.TOTAL: "'评分规则'!$Z$99"})
    message = _refused(path, capsys)
    assert "定义名称“总分”指向评分规则!Z99，但它应在工作表“评分表”上" in message


def test_the_findings_table_moved_above_inputs_is_refused(tmp_path, capsys):
    path = _with_names(tmp_path, {C.RESULTS_TABLE: "'基础数据表'!$A$3"})
    message = _refused(path, capsys)
    assert "定义名称“校验结果表”下方要写入结果的区域基础数据表!A3:F1048576包含输入单元格基础数据表!B4（编制数）" in message


def test_a_renamed_sheet_with_its_names_still_scores(tmp_path):
    path = _with_names(tmp_path, {}, rename=(C.DATA_SHEET, "基础数据（2020）"))
    assert main(["score", str(path)]) in (0, 1)
    with XlsxBook(path) as book:
        assert book.read_values([C.TOTAL])[C.TOTAL] == 76


def test_the_checker_on_its_own():
    cells = {"甲": ("S", "B2"), "乙": ("S", "A5:C9"), "出1": ("S", "D2"), "出2": ("S", "C7"), "表": ("S", "E1"),
             "他": ("T", "B2")}
    homes = {"甲": "S", "乙": "S", "出1": "S", "出2": "S", "他": "S"}
    where = cells.get
    check_outputs_apart(where, ["甲", "乙"], ["出1"], homes, {"表": 2})
    with pytest.raises(WorkbookUnusable, match="出2”指向S!C7，那是输入单元格（乙）"):
        check_outputs_apart(where, ["甲", "乙"], ["出1", "出2"], homes)
    with pytest.raises(WorkbookUnusable, match="“表”下方要写入结果的区域S!A1:B1048576包含输入单元格S!B2（甲）"):
        check_outputs_apart(lambda n: ("S", "A1") if n == "表" else cells.get(n), ["甲", "乙"], [], homes, {"表": 2})
    with pytest.raises(WorkbookUnusable, match="“他”指向T!B2，但它应在工作表“S”上"):
        check_outputs_apart(where, ["甲", "乙"], ["出1", "他"], homes)
    check_outputs_apart(lambda n: None, ["甲"], ["出1"], homes)  # absent names are the name check's business
