"""A workbook's package follows its file name: .xlsx without macros, .xlsm with them.

The macro-free copy (`score BOOK -o OUT.xlsx`) is compared part by part with the macro-enabled
one (`-o OUT.xlsm`) made from the same book: every part but the VBA project, the ribbon and the
three control parts is the same bytes, so its scores and cached values are the xlsm's by
construction, and the control parts are checked on their own.  Readers other than ours open it:
openpyxl without keep_vba, olevba (finds no macros), LibreOffice (headless, to CSV).
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import openpyxl
import pytest
from oletools.olevba import VBA_Parser

from evalbook.adapters import workbook_kind as WK
from evalbook.adapters.package import resolve
from evalbook.adapters.xlsx import XlsxBook
from evalbook.build import vba
from evalbook.build.macros import TemplateMacros
from evalbook.cli import main
from evalbook.workbook import contract as C, layout
from tests.conftest import EXAMPLE, TEMPLATE, libreoffice_unavailable

ROOT = Path(__file__).resolve().parent.parent
MACRO_FREE_TEMPLATE = ROOT / "workbook_template.xlsx"
TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
CONTROL_PARTS = {"[Content_Types].xml", "_rels/.rels", "xl/_rels/workbook.xml.rels"}
MACRO_PARTS = {"xl/vbaProject.bin", "customUI/customUI14.xml"}
EXAMPLE_FUNDS = 2


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def parts_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def content_types(parts: dict[str, bytes]) -> tuple[dict[str, str], dict[str, str]]:
    """(Default extension → type, Override part name → type), both lower-cased keys."""
    root = ET.fromstring(parts["[Content_Types].xml"])
    defaults = {e.get("Extension").lower(): e.get("ContentType") for e in root.iter(f"{TYPES}Default")}
    overrides = {e.get("PartName").lower(): e.get("ContentType") for e in root.iter(f"{TYPES}Override")}
    return defaults, overrides


def check_package(parts: dict[str, bytes], kind: str) -> None:
    """Every part typed, every override and internal relationship pointing at a part, and the
    main type (and macro parts) as the kind requires."""
    defaults, overrides = content_types(parts)
    names = {n.lower() for n in parts}
    for name in parts:
        if name != "[Content_Types].xml":
            assert "/" + name.lower() in overrides or name.rpartition(".")[2].lower() in defaults, name
    assert all(p.lstrip("/") in names for p in overrides), overrides
    for name, data in parts.items():
        if not name.endswith(".rels"):
            continue
        folder = name.replace("_rels/", "").rpartition("/")[0]
        for rel in ET.fromstring(data).iter(f"{RELS}Relationship"):
            if rel.get("TargetMode") == "External":
                continue
            target = rel.get("Target")
            full = resolve(folder, target)
            assert full.lower() in names, (name, target)
    main_type = overrides["/xl/workbook.xml"]
    every_type = set(defaults.values()) | set(overrides.values())
    every_rel = b"".join(data for name, data in parts.items() if name.endswith(".rels"))
    if kind == WK.XLSX:
        assert main_type == WK.PLAIN_MAIN
        assert not [n for n in parts if "vbaproject" in n.lower() or n.lower().startswith("customui")]
        assert not every_type & WK.MACRO_TYPES
        assert b"vbaProject" not in every_rel and b"ui/extensibility" not in every_rel
    else:
        assert main_type == WK.MACRO_MAIN
        assert {"xl/vbaProject.bin", "customUI/customUI14.xml"} <= set(parts)
        assert content_types(parts)[0]["bin"] == WK.VBA_TYPE or overrides["/xl/vbaproject.bin"] == WK.VBA_TYPE


def olevba_modules(path: Path) -> dict[str, str]:
    parser = VBA_Parser(str(path))
    try:
        if not parser.detect_vba_macros():
            return {}
        return {filename.rsplit(".", 1)[0]: code for _, _, filename, code in parser.extract_macros()}
    finally:
        parser.close()


def sheet_values(path: Path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path)  # no keep_vba: a plain reader
    return {ws.title: [tuple(c.value for c in row) for row in ws.iter_rows()] for ws in wb.worksheets}


@pytest.fixture
def example(tmp_path):
    target = tmp_path / "衡山县住建局.xlsm"
    shutil.copy(EXAMPLE, target)
    return target


@pytest.fixture
def copies(example, tmp_path, capsys):
    """The example scored into a .xlsx and into a .xlsm."""
    before = example.read_bytes()
    xlsx, xlsm = tmp_path / "发主管部门.xlsx", tmp_path / "评分后.xlsm"
    assert run(capsys, "score", example, "-o", xlsx)[0] == 0
    assert run(capsys, "score", example, "-o", xlsm)[0] == 0
    assert example.read_bytes() == before  # the input stays as it was
    return xlsx, xlsm


# ---- the macro-free copy -----------------------------------------------------------------------

def test_the_macro_free_copy_is_the_scored_workbook_without_its_macros(copies):
    xlsx, xlsm = copies
    plain, macro = parts_of(xlsx), parts_of(xlsm)
    check_package(plain, WK.XLSX)
    check_package(macro, WK.XLSM)
    assert set(plain) == set(macro) - MACRO_PARTS
    # sheets (scores, cached values, formulas), names, styles, chart, code names: the same bytes
    assert [n for n in plain if n not in CONTROL_PARTS and plain[n] != macro[n]] == []
    assert b'codeName="ThisWorkbook"' in plain["xl/workbook.xml"]  # kept, as Excel keeps it in a .xlsx
    # the control parts differ by exactly the macro entries
    defaults, overrides = content_types(plain)
    macro_defaults, macro_overrides = content_types(macro)
    assert macro_defaults == {**defaults, "bin": WK.VBA_TYPE}
    assert macro_overrides == {**overrides, "/xl/workbook.xml": WK.MACRO_MAIN}
    for rels in ("_rels/.rels", "xl/_rels/workbook.xml.rels"):
        kept = {r.get("Id"): r.attrib for r in ET.fromstring(plain[rels]).iter(f"{RELS}Relationship")}
        full = {r.get("Id"): r.attrib for r in ET.fromstring(macro[rels]).iter(f"{RELS}Relationship")}
        assert set(full) - set(kept) == {"rIdRibbon" if rels == "_rels/.rels" else "rIdVBA"}
        assert all(full[i] == kept[i] for i in kept)


def test_the_macro_free_copy_opens_in_plain_readers_with_the_same_scores(copies):
    xlsx, xlsm = copies
    assert sheet_values(xlsx) == sheet_values(xlsm)
    wb = openpyxl.load_workbook(xlsx)
    assert not wb.vba_archive and wb.mime_type == WK.PLAIN_MAIN
    total = wb.defined_names["总分"].destinations
    sheet, cell = next(iter(total))
    assert wb[sheet][cell.replace("$", "")].value.startswith("=")  # the native formula, kept
    cached = openpyxl.load_workbook(xlsx, data_only=True)  # and its result, before any recalculation
    assert cached[sheet][cell.replace("$", "")].value == 76
    assert olevba_modules(xlsx) == {}
    assert "Ribbon" in olevba_modules(xlsm)


def test_libreoffice_opens_the_macro_free_copy(copies, tmp_path):
    assert libreoffice_unavailable() is None
    xlsx, _ = copies
    out = tmp_path / "lo"
    done = subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--headless",
                           "--convert-to", 'csv:Text - txt - csv (StarCalc):44,34,76', "--outdir", str(out),
                           str(xlsx)], capture_output=True, timeout=180)
    converted = out / (xlsx.stem + ".csv")
    assert done.returncode == 0 and converted.exists(), done.stderr
    rows = list(csv.reader(io.StringIO(converted.read_text(encoding="utf-8"))))
    wb = openpyxl.load_workbook(xlsx)
    sheet, cell = next(iter(wb.defined_names["总分"].destinations))
    assert sheet == C.SCORE_SHEET  # the sheet a CSV export holds: the first, the active one
    column, row = openpyxl.utils.cell.coordinate_from_string(cell.replace("$", ""))
    assert float(rows[row - 1][openpyxl.utils.column_index_from_string(column) - 1]) == 76


def test_a_macro_free_copy_scored_again_stays_macro_free(copies, capsys):
    xlsx, _ = copies
    assert run(capsys, "score", xlsx)[0] == 0
    check_package(parts_of(xlsx), WK.XLSX)


# ---- back to .xlsm -----------------------------------------------------------------------------

def test_a_xlsx_scored_into_a_xlsm_gets_the_builds_project_and_ribbon(copies, tmp_path, capsys):
    xlsx, xlsm = copies
    again = tmp_path / "又启用宏.xlsm"
    assert run(capsys, "score", xlsx, "-o", again)[0] == 0
    parts, direct = parts_of(again), parts_of(xlsm)
    check_package(parts, WK.XLSM)
    # the very project and ribbon the build puts into the example, for the same code names
    assert parts["xl/vbaProject.bin"] == parts_of(EXAMPLE)["xl/vbaProject.bin"]
    assert parts["xl/vbaProject.bin"] == vba.build_project(EXAMPLE_FUNDS)
    assert parts["customUI/customUI14.xml"] == parts_of(EXAMPLE)["customUI/customUI14.xml"]
    assert content_types(parts) == content_types(direct)
    assert [n for n in parts if n not in CONTROL_PARTS and parts[n] != direct.get(n)] == []
    modules = olevba_modules(again)
    codes = [sheet.code_name for sheet in layout.sheets(EXAMPLE_FUNDS)]
    assert set(modules) == {"ThisWorkbook", *codes, "xlwings", "Dictionary", "Ribbon", "xlwings_udfs", "UdfHelp", "Startup"}
    assert "RunPython" in modules["Ribbon"]


def test_a_workbook_without_code_names_gets_them_for_its_document_modules(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "甲"
    wb.active["A1"] = 1
    second = wb.create_sheet("乙")
    second.sheet_properties.tabColor = "FF0000"  # a sheetPr without a code name
    plain = tmp_path / "无代码名.xlsx"
    wb.save(plain)
    before = parts_of(plain)
    # as other writers leave them: the first sheet without a sheetPr, the workbook without workbookPr
    sheet_pr = b'<sheetPr><outlinePr summaryBelow="1" summaryRight="1" /><pageSetUpPr /></sheetPr>'
    assert sheet_pr in before["xl/worksheets/sheet1.xml"] and b"<workbookPr />" in before["xl/workbook.xml"]
    before["xl/worksheets/sheet1.xml"] = before["xl/worksheets/sheet1.xml"].replace(sheet_pr, b"")
    before["xl/workbook.xml"] = before["xl/workbook.xml"].replace(b"<workbookPr />", b"")
    with zipfile.ZipFile(plain, "w") as z:
        for name, data in before.items():
            z.writestr(name, data)
    assert b"codeName" not in b"".join(before.values())
    target = tmp_path / "有宏.xlsm"
    with XlsxBook(plain) as book:
        book.save(target, macros=TemplateMacros())
    after = parts_of(target)
    check_package(after, WK.XLSM)
    assert ET.fromstring(after["xl/workbook.xml"]).find(f"{MAIN}workbookPr").get("codeName") == "ThisWorkbook"
    codes = [ET.fromstring(after[f"xl/worksheets/sheet{i}.xml"]).find(f"{MAIN}sheetPr").get("codeName")
             for i in (1, 2)]
    assert codes == ["Sheet1", "Sheet2"]
    # one attribute (or one empty sheetPr) added, every other byte as it was
    first, second_part = after["xl/worksheets/sheet1.xml"], after["xl/worksheets/sheet2.xml"]
    assert first.replace(b'<sheetPr codeName="Sheet1"/>', b"", 1) == before["xl/worksheets/sheet1.xml"]
    assert second_part.replace(b' codeName="Sheet2"', b"", 1) == before["xl/worksheets/sheet2.xml"]
    workbook = after["xl/workbook.xml"]
    assert workbook.replace(b'<workbookPr codeName="ThisWorkbook"/>', b"", 1) == before["xl/workbook.xml"]
    modules = olevba_modules(target)
    assert {"ThisWorkbook", "Sheet1", "Sheet2", "Ribbon"} <= set(modules)
    assert openpyxl.load_workbook(target, keep_vba=True)["乙"]["A1"].value is None
    assert parts_of(plain) == before


def test_libreoffice_reads_the_project_of_a_converted_workbook(copies, tmp_path, capsys):
    from tests.conftest import SYSTEM_PYTHON
    import json

    assert libreoffice_unavailable() is None
    xlsx, _ = copies
    again = tmp_path / "启用宏.xlsm"
    assert run(capsys, "score", xlsx, "-o", again)[0] == 0
    done = subprocess.run([SYSTEM_PYTHON, str(Path(__file__).with_name("lo_vba_reader.py")), str(again)],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    modules = json.loads(done.stdout)
    assert {"ThisWorkbook", "Ribbon", "UdfHelp", "xlwings"} <= set(modules)
    assert "OnScore" in modules["Ribbon"]


def test_a_xlsm_named_file_without_a_project_gets_one_when_scored_in_place(make_book, seed_values, capsys):
    book = make_book(seed_values, name="改了扩展名.xlsm")  # openpyxl's plain package, named .xlsm
    assert WK.PLAIN_MAIN.encode() in parts_of(book)["[Content_Types].xml"]
    assert run(capsys, "score", book)[0] in (0, 1)
    check_package(parts_of(book), WK.XLSM)
    assert "Ribbon" in olevba_modules(book)


# ---- the macro-free template -------------------------------------------------------------------

def test_new_xlsx_is_the_committed_macro_free_template(tmp_path, capsys):
    target = tmp_path / "空白模板.xlsx"
    code, out, err = run(capsys, "new", target)
    assert code == 0, err
    assert "不含宏" in out
    assert target.read_bytes() == MACRO_FREE_TEMPLATE.read_bytes(), "run python -m evalbook.build"
    plain, macro = parts_of(target), parts_of(TEMPLATE)
    check_package(plain, WK.XLSX)
    assert set(plain) == set(macro) - MACRO_PARTS
    assert [n for n in plain if n not in CONTROL_PARTS and plain[n] != macro[n]] == []
    assert olevba_modules(target) == {}
    wb = openpyxl.load_workbook(target)
    assert set(wb.defined_names) == set(openpyxl.load_workbook(TEMPLATE).defined_names)


def test_a_macro_free_template_is_filled_and_scored_as_a_xlsx(tmp_path, capsys):
    target = tmp_path / "空白.xlsx"
    assert run(capsys, "new", target)[0] == 0
    code, out, err = run(capsys, "score", target)
    assert code in (0, 1), err
    check_package(parts_of(target), WK.XLSX)


# ---- add-fund keeps the kind -------------------------------------------------------------------

def test_add_fund_on_a_xlsx_keeps_it_a_xlsx(copies, tmp_path, capsys):
    xlsx, _ = copies
    code, out, err = run(capsys, "add-fund", xlsx)
    assert code == 0, err
    parts = parts_of(xlsx)
    check_package(parts, WK.XLSX)
    assert "专项资金自评表3" in openpyxl.load_workbook(xlsx, read_only=True).sheetnames
    # and -o a .xlsm from it: the project has a document module for the new sheet too
    target = tmp_path / "加专项.xlsm"
    assert run(capsys, "add-fund", xlsx, "-o", target)[0] == 0
    check_package(parts_of(target), WK.XLSM)
    assert {"shtFund3", "shtFund4"} <= set(olevba_modules(target))


# ---- what Excel would not open is never written ------------------------------------------------

@pytest.mark.parametrize("name", ["评分后.xls", "评分后.csv", "评分后", "评分后.xlsb", "评分后.xlsm.txt"])
def test_other_extensions_are_refused_for_every_command_that_writes(example, tmp_path, capsys, name):
    before = example.read_bytes()
    target = tmp_path / name
    for argv in (["score", example, "-o", target], ["new", target], ["add-fund", example, "-o", target]):
        code, out, err = run(capsys, *argv)
        assert code == 2, (argv, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and f"不能保存为“{name}”" in lines[0] and ".xlsx" in lines[0], err
        assert not target.exists()
    assert example.read_bytes() == before


def test_in_place_on_a_name_excel_would_not_open_is_refused(example, tmp_path, capsys):
    odd = example.with_name("部门.xls")
    shutil.copy(example, odd)
    before = odd.read_bytes()
    for command in ("score", "add-fund"):
        code, _, err = run(capsys, command, odd)
        assert code == 2 and "不能保存为“部门.xls”" in err and "请用 -o 另存为" in err, err
        assert len(err.strip().splitlines()) == 1
    assert odd.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([example.name, odd.name])  # no temporary left
    # a real Excel 97-2003 file is still named for what it is, not for its extension
    old = tmp_path / "旧格式.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    code, _, err = run(capsys, "score", old)
    assert code == 2 and "不能保存为" not in err


def test_an_upper_case_extension_is_the_same_kind(example, tmp_path, capsys):
    upper = tmp_path / "评分后.XLSM"
    assert run(capsys, "score", example, "-o", upper)[0] == 0
    check_package(parts_of(upper), WK.XLSM)
    plain = tmp_path / "副本.XLSX"
    assert run(capsys, "score", example, "-o", plain)[0] == 0
    check_package(parts_of(plain), WK.XLSX)


# ---- every macro part goes, whatever hangs off it ----------------------------------------------

SIGNATURE_RELS = (b'<?xml version="1.0" encoding="UTF-8"?>'
                  b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                  b'<Relationship Id="rId1" Type="http://schemas.microsoft.com/office/2006/relationships/'
                  b'vbaProjectSignature" Target="vbaProjectSignature.bin"/></Relationships>')
RIBBON_2007_RELS = (b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                    b'<Relationship Id="rImg" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    b'relationships/image" Target="images/logo.png"/></Relationships>')


def signed_with_two_ribbons(source: Path, target: Path) -> None:
    """The example as Excel leaves a signed project with an Office 2007 ribbon beside the 2010 one
    (which has an image of its own): more parts hanging off the macros."""
    parts = parts_of(source)
    parts["xl/_rels/vbaProject.bin.rels"] = SIGNATURE_RELS
    parts["xl/vbaProjectSignature.bin"] = b"\x01\x02signature"
    parts["customUI/customUI.xml"] = b'<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui"/>'
    parts["customUI/_rels/customUI.xml.rels"] = RIBBON_2007_RELS
    parts["customUI/images/logo.png"] = b"\x89PNG\r\n\x1a\n"
    parts["_rels/.rels"] = WK.with_relationship(
        parts["_rels/.rels"], "rIdOld", "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility",
        "customUI/customUI.xml")
    # with the ribbon relationship of the other type still there
    assert b"2007/relationships/ui" in parts["_rels/.rels"] and b"2006/relationships/ui" in parts["_rels/.rels"]
    types = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Default Extension="png" ContentType="image/png"/>'
                     b'<Override PartName="/xl/vbaProjectSignature.bin" '
                     b'ContentType="application/vnd.ms-office.vbaProjectSignature"/></Types>')
    parts["[Content_Types].xml"] = types
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def test_signatures_old_ribbons_and_their_images_go_too(tmp_path, capsys):
    signed = tmp_path / "签名.xlsm"
    signed_with_two_ribbons(EXAMPLE, signed)
    target = tmp_path / "无宏.xlsx"
    code, _, err = run(capsys, "score", signed, "-o", target)
    assert code == 0, err
    parts = parts_of(target)
    check_package(parts, WK.XLSX)
    assert not [n for n in parts if "signature" in n.lower() or "customui" in n.lower()]
    defaults, overrides = content_types(parts)
    assert defaults["png"] == "image/png"  # a Default is ordinary: only macro ones go
    assert not any("signature" in t.lower() for t in overrides.values())


def test_excel4_macro_sheets_cannot_become_a_xlsx(example, tmp_path, capsys):
    parts = parts_of(example)
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/macrosheets/sheet1.xml" '
                     b'ContentType="application/vnd.ms-excel.macrosheet+xml"/></Types>')
    parts["xl/macrosheets/sheet1.xml"] = (b'<xm:macrosheet xmlns:xm="http://schemas.microsoft.com/office/excel/'
                                          b'2006/main"/>')
    with zipfile.ZipFile(example, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    target = tmp_path / "宏表.xlsx"
    code, _, err = run(capsys, "score", example, "-o", target)
    assert code == 2 and "Excel 4.0宏表" in err and ".xlsm" in err
    assert not target.exists()
