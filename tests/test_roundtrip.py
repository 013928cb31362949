"""Nothing lost in a round trip: a workbook an accountant extended keeps every part after scoring.

The extended workbook has extra, hidden, very hidden and protected sheets, comments, an image, a
chart, conditional formats, data validations, freeze panes, print setup, custom number formats,
column widths, hyperlinks, an unknown extension, the VBA project and the ribbon.  The package is
compared part by part: only the cells the scoring writes may differ.
"""

from __future__ import annotations

import io
import re
import shutil
import struct
import zipfile
import zlib

import openpyxl
import pytest
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.worksheet.datavalidation import DataValidation

from evalbook.funds import names as FN
from evalbook.workbook import contract as C
from evalbook.workbook import native
from evalbook.adapters import sheetxml as X
from evalbook.adapters.xlsx import XlsxBook
from evalbook.build.package import UI_REL, _add_relationship
from evalbook.cli import main
from tests.conftest import EXAMPLE

TABLES = (C.RESULTS_TABLE, "专项汇总表", "专项指标汇总表")  # rows written below these names


def _png() -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def extended_workbook() -> bytes:
    """The example as an accountant might have grown it (openpyxl for what it can write, then the
    parts it cannot: the ribbon relationship, an image, an unknown extension, a custom XML part)."""
    wb = openpyxl.load_workbook(EXAMPLE, keep_vba=True)
    score = wb[C.SCORE_SHEET]
    output = score[XlsxBook(EXAMPLE)._target(C.score_name("预算完成率"))[1]]
    output.number_format = '0.00"分"'  # a custom format on a cell we write
    output.comment = Comment("复核：请核对预算数", "财务科")
    score.column_dimensions["K"].width = 41.5
    score.conditional_formatting.add("M4:M30", ColorScaleRule(start_type="min", start_color="FFFFFF",
                                                              end_type="max", end_color="F8696B"))
    dv = DataValidation(type="whole", operator="between", formula1="0", formula2="100")
    dv.add("M4:M30")
    score.add_data_validation(dv)
    score["M3"] = "备注"
    score["M3"].hyperlink = "https://www.mof.gov.cn/"
    score.row_dimensions[3].height = 33

    extra = wb.create_sheet("附表 （自建）")
    extra.append(["项目", "金额（万元）", "占比"])
    for i, (item, money) in enumerate([("办公", 23.6), ("水电差旅", 9.33), ("会议培训", 0.42)], start=2):
        extra.append([item, money, f"=B{i}/SUM($B$2:$B$4)"])
        extra[f"B{i}"].number_format = '#,##0.00"万元";[红色]-#,##0.00"万元"'
        extra[f"C{i}"].number_format = "0.0%"
    extra.freeze_panes = "A2"
    extra.column_dimensions["A"].width = 20
    extra.page_setup.orientation = "landscape"
    extra.print_title_rows = "1:1"
    extra.oddHeader.center.text = "部门整体支出绩效评价附表"
    extra.merge_cells("A6:C6")
    extra["A6"] = "说明：本表由单位自行增加"
    extra["A2"].comment = Comment("自建表的批注", "会计")
    chart = BarChart()
    chart.add_data(Reference(extra, min_col=2, min_row=1, max_row=4), titles_from_data=True)
    chart.set_categories(Reference(extra, min_col=1, min_row=2, max_row=4))
    extra.add_chart(chart, "E2")

    hidden = wb.create_sheet("隐藏表")
    hidden["A1"] = "隐藏的数据"
    hidden.sheet_state = "hidden"
    very = wb.create_sheet("深度隐藏")
    very["A1"] = 1
    very.sheet_state = "veryHidden"
    protected = wb.create_sheet("受保护表")
    protected["A1"] = "不可修改"
    protected.protection.sheet = True
    protected.protection.password = "1234"
    wb[C.RESULTS_SHEET].sheet_properties.tabColor = "FF0000"

    out = io.BytesIO()
    wb.save(out)
    return _add_raw_parts(out.getvalue())


def _add_raw_parts(data: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    parts = {name: source.read(name) for name in source.namelist()}
    with XlsxBook(EXAMPLE) as book:
        ribbon_present = "customUI/customUI14.xml" in book.package.names
    if ribbon_present and b"customUI" not in parts["_rels/.rels"]:  # openpyxl drops the ribbon's link
        parts["_rels/.rels"] = _add_relationship(parts["_rels/.rels"], "rIdRibbon", UI_REL,
                                                 "customUI/customUI14.xml")
    # an image on the extra sheet, beside openpyxl's chart
    sheet = _sheet_part(parts, "附表 （自建）")
    rels = sheet.replace("worksheets/", "worksheets/_rels/") + ".rels"
    drawing = "xl/" + re.search(rb'Target="/?(?:\.\./|xl/)?(drawings/drawing\d+\.xml)"', parts[rels]).group(1).decode()
    drawing_rels = drawing.replace("drawings/", "drawings/_rels/") + ".rels"
    parts["xl/media/image99.png"] = _png()
    parts[drawing_rels] = parts[drawing_rels].replace(
        b"</Relationships>", b'<Relationship Id="rIdImg" Type="http://schemas.openxmlformats.org/officeDocument/'
                             b'2006/relationships/image" Target="../media/image99.png"/></Relationships>')
    anchor = ('<xdr:oneCellAnchor xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
              'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
              '<xdr:from><xdr:col>0</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>8</xdr:row>'
              '<xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:ext cx="952500" cy="952500"/><xdr:pic><xdr:nvPicPr>'
              '<xdr:cNvPr id="99" name="单位印章"/><xdr:cNvPicPr/></xdr:nvPicPr><xdr:blipFill>'
              '<a:blip xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:embed="rIdImg"/>'
              '<a:stretch><a:fillRect/></a:stretch></xdr:blipFill><xdr:spPr><a:prstGeom prst="rect"><a:avLst/>'
              '</a:prstGeom></xdr:spPr></xdr:pic><xdr:clientData/></xdr:oneCellAnchor>')
    text = parts[drawing].decode()
    close = re.search(r"</(\w+:)?wsDr>", text)
    parts[drawing] = (text[: close.start()] + anchor + text[close.start():]).encode()
    types = parts["[Content_Types].xml"].decode()
    if 'Extension="png"' not in types:
        types = types.replace("<Default ", '<Default Extension="png" ContentType="image/png"/><Default ', 1)
    # a custom XML part and an extension Excel's future versions might write
    parts["customXml/item1.xml"] = "<单位 xmlns=\"urn:example:dept\">衡山县住建局</单位>".encode()
    parts["[Content_Types].xml"] = types.encode()
    score = _sheet_part(parts, C.SCORE_SHEET)
    ext = ('<extLst><ext uri="{78C0D931-6437-407d-A8EE-F0AAD7539E65}" '
           'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"><x14:conditionalFormattings/>'
           '</ext></extLst></worksheet>')
    parts[score] = re.sub(rb"</worksheet>\s*$", ext.encode(), parts[score])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in parts.items():
            z.writestr(name, content)
    return out.getvalue()


def _sheet_part(parts: dict[str, bytes], title: str) -> str:
    workbook = parts["xl/workbook.xml"].decode()
    rid = re.search(rf'<sheet [^>]*name="{re.escape(title)}"[^>]*r:id="([^"]+)"', workbook).group(1)
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    target = re.search(rf'<Relationship[^>]*Target="([^"]+)"[^>]*Id="{rid}"|<Relationship[^>]*Id="{rid}"'
                       rf'[^>]*Target="([^"]+)"', rels)
    path = target.group(1) or target.group(2)
    return path.lstrip("/") if path.startswith("/") else "xl/" + path


def _parts(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {info.filename: z.read(info) for info in z.infolist()}


def _cells(xml: str) -> dict[str, str]:
    data = xml[xml.index("<sheetData"):]
    return {m.group(1): m.group(0) for m in re.finditer(r'<c r="([A-Z]+\d+)"[^>]*?(?:/>|>.*?</c>)', data, re.S)}


def _outside_cells(xml: str) -> tuple[str, str]:
    start = xml.index("<sheetData")
    end = xml.index("</sheetData>") if "</sheetData>" in xml else xml.index("/>", start)
    return xml[:start], xml[end:]


def _changed_cells(before: dict[str, bytes], after: dict[str, bytes], book) -> dict[str, set[str]]:
    """Sheet → refs whose XML changed; asserts everything outside cells is byte-identical."""
    changed = {}
    for sheet, part in book.sheet_parts.items():
        if before[part] == after[part]:
            continue
        b, a = before[part].decode(), after[part].decode()
        head_b, tail_b = _outside_cells(b)
        head_a, tail_a = _outside_cells(a)
        assert re.sub(r'<dimension ref="[^"]*"', "", head_b) == re.sub(r'<dimension ref="[^"]*"', "", head_a), sheet
        assert tail_b == tail_a, sheet
        cb, ca = _cells(b), _cells(a)
        changed[sheet] = {ref for ref in set(cb) | set(ca) if cb.get(ref) != ca.get(ref)}
    return changed


def _written_region(book, sheet: str) -> set[str]:
    """Cells the scoring may write on `sheet`: every non-input name's cell and the tables below."""
    allowed = set()
    for name in book.defined:
        ref = book.locate(name)
        if ref is None or ref.sheet != sheet or name in C.contract_for().input_names:
            continue
        allowed.add(ref.cell)
        field = name.split(f"_{FN.INDICATOR_TABLE}_")[-1]
        if f"_{FN.INDICATOR_TABLE}_" in name and field in FN.INDICATOR_OUTPUTS:  # a named output column
            c1, r1, c2, r2 = X.split_range(book.extent(name)[1])
            allowed |= {f"{X.column_letters(c1)}{r}" for r in range(r1, r2 + 1)}
    return allowed


def _in_tables(book, sheet: str, ref: str) -> bool:
    letters, row = X.split_ref(ref)
    # the hidden formula tables (the 公式计算 sheet's, each fund sheet's parsed targets), by their extent
    for name in (native.SNAPSHOT, native.BANDS_TABLE, *(f"专项{n}_公式_解析" for n in range(1, 4))):
        extent = book.extent(name)
        if extent is not None and extent[0] == sheet:
            c1, r1, c2, r2 = X.split_range(extent[1])
            if c1 <= X.column_index(letters) <= c2 and r1 <= row <= r2:
                return True
    for name in TABLES:
        at = book.locate(name)
        if at is None or at.sheet != sheet:
            continue
        t_letters, t_row = X.split_ref(at.cell)
        if row >= t_row and 0 <= X.column_index(letters) - X.column_index(t_letters) < 12:
            return True
    return False


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    folder = tmp_path_factory.mktemp("扩展 工作簿")
    path = folder / "扩展.xlsm"
    path.write_bytes(extended_workbook())
    return path


def test_extended_workbook_keeps_every_part(extended, tmp_path, capsys):
    target = tmp_path / "评分 后.xlsm"
    shutil.copy(extended, target)
    before = _parts(target)
    assert main(["score", str(target)]) in (0, 1), capsys.readouterr().err
    after = _parts(target)
    assert list(after) == list(before)  # the same parts, in the same order
    with zipfile.ZipFile(extended) as z_before, zipfile.ZipFile(target) as z_after:
        for a, b in zip(z_before.infolist(), z_after.infolist()):
            assert (a.filename, a.compress_type) == (b.filename, b.compress_type)
    with XlsxBook(target) as book:
        written_parts = {book.sheet_parts[s] for s in book.sheet_parts}
        for name in before:
            if name not in written_parts:
                assert after[name] == before[name], name  # VBA, ribbon, styles, charts, images…
        changed = _changed_cells(before, after, book)
        assert C.SCORE_SHEET in changed and C.RESULTS_SHEET in changed
        for sheet, refs in changed.items():
            allowed = _written_region(book, sheet)
            stray = {r for r in refs if r not in allowed and not _in_tables(book, sheet, r)}
            assert not stray, (sheet, sorted(stray)[:10])
    # what the extensions were is still there, as openpyxl reads it back
    wb = openpyxl.load_workbook(target, keep_vba=True)
    assert wb["隐藏表"].sheet_state == "hidden" and wb["深度隐藏"].sheet_state == "veryHidden"
    assert wb["受保护表"].protection.sheet
    assert wb["附表 （自建）"].freeze_panes == "A2"
    assert wb["附表 （自建）"]["B2"].number_format == '#,##0.00"万元";[红色]-#,##0.00"万元"'
    score = wb[C.SCORE_SHEET]
    cell = XlsxBook(target)._target(C.score_name("预算完成率"))[1]
    assert score[cell].number_format == '0.00"分"' and score[cell].comment.text.startswith("复核")
    assert score.column_dimensions["K"].width == 41.5
    assert "customUI/customUI14.xml" in after and b"customUI" in after["_rels/.rels"]
    assert after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"]
    assert after["xl/media/image99.png"] == _png()


def test_untouched_rows_stay_byte_identical(tmp_path, capsys):
    target = tmp_path / "原样.xlsm"
    shutil.copy(EXAMPLE, target)
    before = _parts(target)
    assert main(["score", str(target)]) in (0, 1)
    after = _parts(target)
    with XlsxBook(target) as book:
        part = book.sheet_parts[C.SCORE_SHEET]
        outputs = _written_region(book, C.SCORE_SHEET)
    row = re.compile(r'(<row r="(\d+)"[^>]*>.*?</row>)', re.S)
    rows_b = {m.group(2): m.group(1) for m in row.finditer(before[part].decode())}
    rows_a = {m.group(2): m.group(1) for m in row.finditer(after[part].decode())}
    for number, xml in rows_b.items():
        if not any(re.fullmatch(rf"[A-Z]+{number}", ref) for ref in outputs):
            assert rows_a[number] == xml, number


def test_second_scoring_changes_only_the_timestamp(tmp_path):
    target = tmp_path / "两次.xlsm"
    shutil.copy(EXAMPLE, target)
    assert main(["score", str(target)]) in (0, 1)
    once = _parts(target)
    assert main(["score", str(target)]) in (0, 1)
    twice = _parts(target)
    with XlsxBook(target) as book:
        status_part = book.sheet_parts[book.locate(C.STATUS).sheet]
    for name in once:
        if name != status_part:
            assert once[name] == twice[name], name
    strip = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")
    assert strip.sub("", once[status_part].decode()) == strip.sub("", twice[status_part].decode())


def test_formulas_reading_results_are_recalculated_on_open(tmp_path, capsys):
    """A summary formula elsewhere that reads 总分 would show the old total: ask Excel to
    recalculate on open, and change nothing else in workbook.xml."""
    with XlsxBook(EXAMPLE) as book:
        sheet, cell, _ = book._target(C.TOTAL)
        data_part = book.sheet_parts[C.DATA_SHEET]
    parts = _parts(EXAMPLE)
    # as Excel saves it: the template's "recalculate on open" is gone after the first save
    parts["xl/workbook.xml"] = re.sub(rb'\sfullCalcOnLoad="1"', b"", parts["xl/workbook.xml"])
    formula = f"<c r=\"K2\"><f>'{sheet}'!${cell[0]}${cell[1:]}*1</f><v>0</v></c></row>"
    parts[data_part] = re.sub(r"(<row r=\"2\"[^>]*>.*?)</row>", lambda m: m.group(1) + formula,
                              parts[data_part].decode(), count=1, flags=re.S).encode()
    path = tmp_path / "引用.xlsm"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in parts.items():
            z.writestr(name, content)
    before = _parts(path)
    assert main(["score", str(path)]) in (0, 1)
    after = _parts(path)
    workbook_b, workbook_a = before["xl/workbook.xml"].decode(), after["xl/workbook.xml"].decode()
    assert 'fullCalcOnLoad="1"' in workbook_a
    calc = re.compile(r'\sfullCalcOnLoad="[^"]*"|<calcPr fullCalcOnLoad="1"/>')
    assert calc.sub("", workbook_a) == calc.sub("", workbook_b)  # nothing else in workbook.xml moved
    assert X.with_full_calc_on_load(workbook_a) == workbook_a


@pytest.mark.parametrize("before, after", [
    ('<calcPr calcId="191029"/>', '<calcPr calcId="191029" fullCalcOnLoad="1"/>'),
    ('<calcPr calcId="1" fullCalcOnLoad="0" />', '<calcPr calcId="1" fullCalcOnLoad="1" />'),
    ('<calcPr fullCalcOnLoad="1"/>', '<calcPr fullCalcOnLoad="1"/>'),
    ('<definedNames/>', '<definedNames/><calcPr fullCalcOnLoad="1"/>'),
    ('<x:sheets></x:sheets>', '<x:sheets></x:sheets><x:calcPr fullCalcOnLoad="1"/>'),
])
def test_recalculation_flag_is_a_minimal_edit(before, after):
    assert X.with_full_calc_on_load(f"<workbook>{before}</workbook>") == f"<workbook>{after}</workbook>"


def test_no_recalculation_asked_when_no_formula_reads_results(tmp_path):
    # a template from before the native formulas: no formula anywhere reads what scoring writes
    wb = openpyxl.load_workbook(EXAMPLE, keep_vba=True)
    for sheet in (C.SCORE_SHEET, *[s for s in wb.sheetnames if s.startswith("专项资金")]):
        for row in wb[sheet].iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("="):
                    c.value = None
    del wb[native.HELPER_SHEET]
    for name in [n for n in wb.defined_names if n.startswith("公式_")]:
        del wb.defined_names[name]
    old = tmp_path / "旧模板.xlsm"
    wb.save(old)
    parts = _parts(old)
    parts["xl/workbook.xml"] = re.sub(rb'\sfullCalcOnLoad="1"', b"", parts["xl/workbook.xml"])
    target = tmp_path / "例.xlsm"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in parts.items():
            z.writestr(name, content)
    assert main(["score", str(target)]) in (0, 1)
    assert _parts(target)["xl/workbook.xml"] == parts["xl/workbook.xml"]


# ---- the patcher on its own ---------------------------------------------------------------

def _sheet(rows: str, prefix: str = "") -> str:
    p = prefix
    ns = f'xmlns{":" + p[:-1] if p else ""}="{X.MAIN_NS}"'
    return f'<{p}worksheet {ns}><{p}dimension ref="A1:C3"/><{p}sheetData>{rows}</{p}sheetData></{p}worksheet>'


def test_cells_without_references_are_placed_like_excel_does():
    from defusedxml import ElementTree

    xml = _sheet('<row><c><v>1</v></c><c t="inlineStr"><is><t>乙</t></is></c></row>'
                 '<row r="5"><c r="B5"><v>2</v></c><c><v>3</v></c></row>')
    values = X.read_cells(ElementTree.fromstring(xml), [], set())
    assert values == {"A1": 1, "B1": "乙", "B5": 2, "C5": 3}
    patch = X.SheetPatch(xml)
    patch.set_cells({"C5": 9, "A1": "甲"})
    again = X.read_cells(ElementTree.fromstring(patch.xml), [], set())
    assert again == {"A1": "甲", "B1": "乙", "B5": 2, "C5": 9}


def test_overwriting_a_shared_formula_master_keeps_its_followers():
    xml = _sheet('<row r="1"><c r="A1"><f t="shared" ref="A1:A3" si="0">B1*2</f><v>2</v></c></row>'
                 '<row r="2"><c r="A2"><f t="shared" si="0"/><v>4</v></c></row>'
                 '<row r="3"><c r="A3"><f t="shared" si="0"/><v>6</v></c></row>')
    patch = X.SheetPatch(xml)
    patch.set_cells({"A1": 5})
    assert '<c r="A1"><v>5</v></c>' in patch.xml
    assert "<f>B2*2</f><v>4</v>" in patch.xml and "<f>B3*2</f><v>6</v>" in patch.xml
    assert 'si="0"' not in patch.xml and patch.removed_formula


def test_part_of_an_array_formula_is_refused_whole_is_allowed():
    xml = _sheet('<row r="1"><c r="A1"><f t="array" ref="A1:B1">{1,2}</f><v>1</v></c><c r="B1"><v>2</v></c></row>')
    with pytest.raises(X.PatchRefused, match="数组公式"):
        X.SheetPatch(xml).set_cells({"B1": 3})
    patch = X.SheetPatch(xml)
    patch.set_cells({"A1": 1, "B1": 2})
    assert "<f" not in patch.xml


@pytest.mark.parametrize("prefix", ["", "x:"])
def test_text_round_trips_exactly(prefix):
    from defusedxml import ElementTree

    texts = ["_x0041_ 不是A", "换行\r\n回车", "控制\x01\x1f字符", "<&>\"'", "\u3000全角空格\u3000", "😀 emoji",
             "\ufffe"]
    patch = X.SheetPatch(_sheet("", prefix))
    patch.set_cells({f"A{i}": text for i, text in enumerate(texts, start=1)})
    values = X.read_cells(ElementTree.fromstring(patch.xml), [], set())
    assert [values[f"A{i}"] for i in range(1, len(texts) + 1)] == texts


def test_numbers_excel_cannot_hold_become_num_errors():
    from defusedxml import ElementTree

    patch = X.SheetPatch(_sheet(""))
    patch.set_cells({"A1": float("nan"), "A2": float("inf"), "A3": 10**30, "A4": True})
    values = X.read_cells(ElementTree.fromstring(patch.xml), [], set())
    assert values["A1"].code == "#NUM!" and values["A2"].code == "#NUM!"
    assert float(values["A3"]) == 1e30 and values["A4"] is True


def test_clearing_keeps_formats_and_stops_at_the_first_empty_row():
    xml = _sheet('<row r="4"><c r="A4" s="3"><v>1</v></c><c r="B4" t="inlineStr"><is><t>旧</t></is></c></row>'
                 '<row r="5"><c r="A5" s="3"><v>2</v></c></row>'
                 '<row r="7"><c r="A7" s="5" t="inlineStr"><is><t>另一张表的标题</t></is></c></row>')
    patch = X.SheetPatch(xml)
    patch.clear_block(4, range(1, 3))
    assert '<c r="A4" s="3"/>' in patch.xml and '<c r="A5" s="3"/>' in patch.xml
    assert "旧" not in patch.xml and "另一张表的标题" in patch.xml
