"""`add-fund` on a workbook as Excel saves it: every relationship of every part still resolves.

The template is turned into what Excel writes when it saves the file — shared strings, a
calculation chain, Excel's namespaces (x14ac, xr, mc:Ignorable), an xr:uid on each sheet, the
relationships namespace declared on each <sheet>, and on the fund sheet printer settings, an
external hyperlink, a drawing, header/footer pictures, a background picture, an OLE object and
a form control (the last two inside mc:AlternateContent, as Excel writes them).  After add-fund
every part parses, every r:id of every part names a relationship of that part, every internal
target exists, every part has a content type, and openpyxl, LibreOffice and evalbook open it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path, PurePosixPath
from xml.dom import minidom

import openpyxl
import pytest
from defusedxml import ElementTree as ET
from defusedxml.minidom import parseString

from evalbook.adapters.sheet_copy import rename_sheet_refs
from evalbook.adapters.xlsx import XlsxBook
from evalbook.cli import main
from evalbook.funds import names as N
from evalbook.adapters import add_fund as fund_add
from evalbook.workbook import funds_io as fund_service
from tests.conftest import TEMPLATE, libreoffice_unavailable

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
XR = "http://schemas.microsoft.com/office/spreadsheetml/2014/revision"
X14AC = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"
XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
PRINTER_SETTINGS = b"\x00evalbook test DEVMODE" + bytes(range(256))
SOURCE_UID = "{00000000-0001-0000-0400-000000000000}"
GUID = re.compile(r"^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$")
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
ANCHOR = ('<anchor moveWithCells="1"><from><xdr:col>11</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row>'
          '<xdr:rowOff>0</xdr:rowOff></from><to><xdr:col>12</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>2</xdr:row>'
          '<xdr:rowOff>0</xdr:rowOff></to></anchor>')
# what Excel puts after <pageSetup> on a sheet with pictures, an OLE object and a form control
TAIL = (
    '<headerFooter><oddHeader>&amp;C&amp;G</oddHeader></headerFooter>'
    '<drawing r:id="rIdDrawing"/><legacyDrawingHF r:id="rIdHF"/><drawingHF r:id="rIdDHF" lho="1"/>'
    '<picture r:id="rIdBg"/>'
    '<oleObjects><mc:AlternateContent><mc:Choice Requires="x14">'
    f'<oleObject progId="Package" shapeId="1026" r:id="rIdOle"><objectPr defaultSize="0" r:id="rIdOleImg">{ANCHOR}'
    '</objectPr></oleObject></mc:Choice><mc:Fallback><oleObject progId="Package" shapeId="1026" r:id="rIdOle"/>'
    '</mc:Fallback></mc:AlternateContent></oleObjects>'
    '<controls><mc:AlternateContent><mc:Choice Requires="x14">'
    f'<control shapeId="1025" r:id="rIdCtrl" name="复选框 1"><controlPr defaultSize="0" autoPict="0">{ANCHOR}'
    '</controlPr></control></mc:Choice><mc:Fallback><control shapeId="1025" r:id="rIdCtrl" name="复选框 1"/>'
    '</mc:Fallback></mc:AlternateContent></controls>'
)
FUND_SHEET_RELS = {  # id → (type, target, external)
    "rIdPrint": ("printerSettings", "../printerSettings/printerSettings1.bin", False),
    "rIdLink": ("hyperlink", "https://example.invalid/填报说明", True),
    "rIdDrawing": ("drawing", "../drawings/drawing9.xml", False),
    "rIdHF": ("vmlDrawing", "../drawings/vmlDrawingHF1.vml", False),
    "rIdDHF": ("drawing", "../drawings/drawing10.xml", False),
    "rIdBg": ("image", "../media/image1.png", False),
    "rIdOle": ("oleObject", "../embeddings/oleObject1.bin", False),
    "rIdOleImg": ("image", "../media/image2.png", False),
    "rIdCtrl": ("ctrlProp", "../ctrlProps/ctrlProp1.xml", False),
}
EMPTY_DRAWING = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                 b'<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
                 b'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"/>')
EXTRA_PARTS = {
    "xl/printerSettings/printerSettings1.bin": PRINTER_SETTINGS,
    "xl/drawings/drawing9.xml": EMPTY_DRAWING,
    "xl/drawings/drawing10.xml": EMPTY_DRAWING,
    "xl/drawings/vmlDrawingHF1.vml": b'<xml xmlns:v="urn:schemas-microsoft-com:vml" '
                                      b'xmlns:o="urn:schemas-microsoft-com:office:office"></xml>',
    "xl/media/image1.png": PNG,
    "xl/media/image2.png": PNG,
    "xl/embeddings/oleObject1.bin": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
    "xl/ctrlProps/ctrlProp1.xml": b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                                  b'<formControlPr xmlns="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"'
                                  b' objectType="CheckBox" lockText="1"/>',
}
EXTRA_TYPES = {
    "/xl/drawings/drawing9.xml": "application/vnd.openxmlformats-officedocument.drawing+xml",
    "/xl/drawings/drawing10.xml": "application/vnd.openxmlformats-officedocument.drawing+xml",
    "/xl/embeddings/oleObject1.bin": "application/vnd.openxmlformats-officedocument.oleObject",
    "/xl/ctrlProps/ctrlProp1.xml": "application/vnd.ms-excel.controlproperties+xml",
    "/xl/sharedStrings.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml",
    "/xl/calcChain.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml",
    "/xl/vbaProject.bin": "application/vnd.ms-office.vbaProject",
}


# ---- the Excel-style workbook --------------------------------------------------------------------

def _sheet_parts(parts: dict[str, bytes]) -> dict[str, str]:
    """Sheet name → part name, read from the template's own workbook.xml and relationships."""
    workbook = ET.fromstring(parts["xl/workbook.xml"])
    rels = {r.get("Id"): r.get("Target") for r in ET.fromstring(parts["xl/_rels/workbook.xml.rels"])}
    found = {}
    for sheet in workbook.find(f"{{{MAIN}}}sheets"):
        target = rels[sheet.get(f"{{{REL}}}id")]
        found[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return found


def _shared_strings(doc: minidom.Document, strings: list[str]) -> None:
    """Every inline string as Excel writes it: an index into sharedStrings.xml."""
    for c in list(doc.getElementsByTagName("c")):
        if c.getAttribute("t") != "inlineStr":
            continue
        texts = c.getElementsByTagName("t")
        for child in list(c.childNodes):
            c.removeChild(child)
        if not texts:
            c.removeAttribute("t")
            continue
        text = "".join(node.data for t in texts for node in t.childNodes if node.nodeType == node.TEXT_NODE)
        if text not in strings:
            strings.append(text)
        c.setAttribute("t", "s")
        v = doc.createElement("v")
        v.appendChild(doc.createTextNode(str(strings.index(text))))
        c.appendChild(v)


def _fragment(doc: minidom.Document, xml: str) -> list:
    wrapper = parseString(
        f'<w xmlns="{MAIN}" xmlns:r="{REL}" xmlns:mc="{MC}" xmlns:xdr="{XDR}" xmlns:xr="{XR}">{xml}</w>')
    return [doc.importNode(node, True) for node in wrapper.documentElement.childNodes]


def excel_style(source: Path, target: Path, encoding: str = "utf-8") -> None:
    with zipfile.ZipFile(source) as z:
        names = z.namelist()
        parts = {n: z.read(n) for n in names}
    sheets = _sheet_parts(parts)
    fund_part = sheets["专项资金自评表1"]
    strings: list[str] = []

    # workbook.xml: Excel's namespaces, and the relationships namespace declared on each <sheet>
    wb = parseString(parts["xl/workbook.xml"])
    root = wb.documentElement
    root.removeAttribute("xmlns:r")
    for prefix, uri in (("mc", MC), ("x15", "http://schemas.microsoft.com/office/spreadsheetml/2010/11/main"),
                        ("xr", XR), ("xr6", "http://schemas.microsoft.com/office/spreadsheetml/2016/revision6"),
                        ("xr10", "http://schemas.microsoft.com/office/spreadsheetml/2016/revision10"),
                        ("xr2", "http://schemas.microsoft.com/office/spreadsheetml/2015/revision2")):
        root.setAttribute(f"xmlns:{prefix}", uri)
    root.setAttribute("mc:Ignorable", "x15 xr xr6 xr10 xr2")
    for sheet in wb.getElementsByTagName("sheet"):
        rel_id = sheet.getAttribute("r:id")
        sheet.removeAttribute("r:id")
        sheet.setAttribute("xmlns:rel", REL)
        sheet.setAttribute("rel:id", rel_id)
    pointer = _fragment(wb, '<xr:revisionPtr revIDLastSave="0" documentId="8_{11111111-2222-3333-4444-555555555555}"'
                            ' xr6:coauthVersionLast="47" xr6:coauthVersionMax="47"'
                            ' xr10:uidLastSave="{00000000-0000-0000-0000-000000000000}"'
                            ' xmlns:xr6="http://schemas.microsoft.com/office/spreadsheetml/2016/revision6"'
                            ' xmlns:xr10="http://schemas.microsoft.com/office/spreadsheetml/2016/revision10"/>')[0]
    book_views = wb.getElementsByTagName("bookViews")[0]
    root.insertBefore(pointer, book_views)
    parts["xl/workbook.xml"] = wb.toxml(encoding="utf-8")

    for title, part in sheets.items():
        doc = parseString(parts[part])
        _shared_strings(doc, strings)
        sheet = doc.documentElement
        for prefix, uri in (("r", REL), ("mc", MC), ("x14ac", X14AC), ("xr", XR),
                            ("xr2", "http://schemas.microsoft.com/office/spreadsheetml/2015/revision2"),
                            ("xr3", "http://schemas.microsoft.com/office/spreadsheetml/2016/revision3")):
            sheet.setAttribute(f"xmlns:{prefix}", uri)
        sheet.setAttribute("mc:Ignorable", "x14ac xr xr2 xr3")
        index = list(sheets).index(title)
        sheet.setAttribute("xr:uid", "{00000000-0001-0000-%04d-000000000000}" % index)
        for row in doc.getElementsByTagName("row"):
            row.setAttribute("x14ac:dyDescent", "0.25")
        for fmt in doc.getElementsByTagName("sheetFormatPr"):
            fmt.setAttribute("x14ac:dyDescent", "0.25")
        if part == fund_part:
            sheet.setAttribute("xmlns:xdr", XDR)
            doc.getElementsByTagName("sheetView")[0].setAttribute("tabSelected", "1")
            first_row = doc.getElementsByTagName("row")[0]
            for node in _fragment(doc, '<c r="L1"><f>1+1</f><v>2</v></c>'):
                first_row.appendChild(node)
            print_options = doc.getElementsByTagName("printOptions")[0]
            for node in _fragment(doc, '<hyperlinks><hyperlink ref="A47" r:id="rIdLink" '
                                       'xr:uid="{AAAAAAAA-0000-0000-0000-000000000001}"/></hyperlinks>'):
                sheet.insertBefore(node, print_options)
            page_setup = doc.getElementsByTagName("pageSetup")[0]
            page_setup.setAttribute("r:id", "rIdPrint")
            for node in _fragment(doc, TAIL):
                sheet.appendChild(node)
        parts[part] = doc.toxml(encoding="utf-8")

    rels = "".join(
        f'<Relationship Id="{i}" Type="{RT}{t}" Target="{target}"' + (' TargetMode="External"' if ext else "") + "/>"
        for i, (t, target, ext) in FUND_SHEET_RELS.items())
    folder, base = fund_part.rsplit("/", 1)
    parts[f"{folder}/_rels/{base}.rels"] = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                                            f'<Relationships xmlns="{PKG_REL}">{rels}</Relationships>').encode()
    parts.update(EXTRA_PARTS)
    sst = "".join(f"<si><t xml:space=\"preserve\">{_escape(s)}</t></si>"
                  for s in strings)
    parts["xl/sharedStrings.xml"] = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN}" '
                                     f'count="{len(strings)}" uniqueCount="{len(strings)}">{sst}</sst>').encode()
    fund_sheet_id = next(s.getAttribute("sheetId") for s in wb.getElementsByTagName("sheet")
                         if s.getAttribute("name") == "专项资金自评表1")
    parts["xl/calcChain.xml"] = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<calcChain xmlns="{MAIN}">'
                                 f'<c r="L1" i="{fund_sheet_id}"/></calcChain>').encode()
    book_rels = parseString(parts["xl/_rels/workbook.xml.rels"])
    for rel_id, kind, rel_target in (("rIdSst", "sharedStrings", "sharedStrings.xml"),
                                 ("rIdCalc", "calcChain", "calcChain.xml")):
        rel = book_rels.createElement("Relationship")
        for key, value in (("Id", rel_id), ("Type", RT + kind), ("Target", rel_target)):
            rel.setAttribute(key, value)
        book_rels.documentElement.appendChild(rel)
    parts["xl/_rels/workbook.xml.rels"] = book_rels.toxml(encoding="utf-8")
    types = parseString(parts["[Content_Types].xml"])
    for default in types.getElementsByTagName("Default"):
        if default.getAttribute("Extension") == "bin":  # as Excel has it: .bin is printer settings
            default.setAttribute("ContentType", "application/vnd.openxmlformats-officedocument."
                                                "spreadsheetml.printerSettings")
    for extension, content_type in (("png", "image/png"),
                                    ("vml", "application/vnd.openxmlformats-officedocument.vmlDrawing")):
        default = types.createElement("Default")
        default.setAttribute("Extension", extension)
        default.setAttribute("ContentType", content_type)
        types.documentElement.insertBefore(default, types.documentElement.firstChild)
    for name, content_type in EXTRA_TYPES.items():
        override = types.createElement("Override")
        override.setAttribute("PartName", name)
        override.setAttribute("ContentType", content_type)
        types.documentElement.appendChild(override)
    parts["[Content_Types].xml"] = types.toxml(encoding="utf-8")

    if encoding != "utf-8":  # what other writers may produce, and score accepts
        for part in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml", fund_part):
            text = parts[part].decode("utf-8").replace('encoding="utf-8"', 'encoding="UTF-16"')
            parts[part] = text.encode(encoding)
    order = names + [n for n in parts if n not in names]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for name in order:
            out.writestr(name, parts[name])


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---- what a consistent package is ---------------------------------------------------------------

def _rels_of(part: str) -> str:
    folder, _, base = part.rpartition("/")
    return f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"


def _resolve(part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    pieces: list[str] = []
    for piece in PurePosixPath(part).parent.joinpath(target).parts:
        if piece == "..":
            pieces.pop()
        elif piece != ".":
            pieces.append(piece)
    return "/".join(pieces)


def check_package(path: Path) -> dict[str, bytes]:
    """Asserts the package is whole; returns its parts."""
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        parts = {n: z.read(n) for n in z.namelist()}
    types = ET.fromstring(parts["[Content_Types].xml"])
    defaults = {e.get("Extension").lower() for e in types if e.tag.endswith("Default")}
    overrides = {e.get("PartName").lstrip("/").lower() for e in types if e.tag.endswith("Override")}
    names = {n.lower() for n in parts}
    for rel in ET.fromstring(parts["_rels/.rels"]):  # the package's own: officeDocument, docProps, ribbon
        assert rel.get("TargetMode") == "External" or rel.get("Target").lstrip("/") in parts, rel.get("Target")
    assert overrides <= names, overrides - names  # no content type for a part that is gone
    for name, data in parts.items():
        assert name.lower() in overrides or name.rpartition(".")[2].lower() in defaults, name
        if not name.endswith((".xml", ".rels", ".vml")):
            continue
        root = ET.fromstring(data)  # well-formed, every prefix bound
        dom = parseString(data).documentElement
        for prefix in dom.getAttribute("mc:Ignorable").split():
            assert dom.hasAttribute(f"xmlns:{prefix}"), (name, prefix)  # Excel refuses undeclared ones
        if name.endswith(".rels"):
            continue
        rels_part = _rels_of(name)
        ids = {}
        if rels_part in parts:
            for rel in ET.fromstring(parts[rels_part]):
                ids[rel.get("Id")] = rel
                if rel.get("TargetMode") != "External":
                    assert _resolve(name, rel.get("Target")) in parts, (rels_part, rel.get("Target"))
        used = [v for e in root.iter() for k, v in e.attrib.items() if k.startswith(f"{{{REL}}}")]
        missing = [v for v in used if v not in ids]
        assert not missing, (name, missing)
    return parts


def sheet_entries(parts: dict[str, bytes]) -> list[tuple[str, str]]:
    workbook = ET.fromstring(parts["xl/workbook.xml"])
    return [(s.get("name"), s.get("sheetId")) for s in workbook.find(f"{{{MAIN}}}sheets")]


@pytest.fixture
def excel_book(tmp_path) -> Path:
    path = tmp_path / "Excel保存.xlsm"
    excel_style(TEMPLATE, path)
    return path


def _new_sheet(parts: dict[str, bytes], title: str) -> tuple[str, bytes]:
    part = _sheet_parts(parts)[title]
    return part, parts[part]


# ---- the tests -------------------------------------------------------------------------------------

def test_the_excel_style_workbook_is_itself_whole(excel_book, capsys):
    parts = check_package(excel_book)
    fund_part, sheet = _new_sheet(parts, "专项资金自评表1")
    root = ET.fromstring(sheet)
    assert {e.tag.rpartition("}")[2] for e in root} >= {"hyperlinks", "drawing", "legacyDrawingHF", "drawingHF",
                                                         "picture", "oleObjects", "controls", "pageSetup"}
    assert main(["check", str(excel_book)]) in (0, 1)
    capsys.readouterr()


def test_add_fund_leaves_every_relationship_resolving(excel_book, capsys):
    before = check_package(excel_book)
    assert main(["add-fund", str(excel_book)]) == 0
    assert "专项资金自评表2" in capsys.readouterr().out
    parts = check_package(excel_book)

    # placed right after the last fund sheet, with a sheetId of its own
    entries = sheet_entries(parts)
    titles = [t for t, _ in entries]
    assert titles[titles.index("专项资金自评表1") + 1] == "专项资金自评表2"
    assert titles[-1] == "xlwings.conf"
    assert len({i for _, i in entries}) == len(entries)

    source_part, source = _new_sheet(parts, "专项资金自评表1")
    new_part, copy = _new_sheet(parts, "专项资金自评表2")
    assert source == before[source_part]  # the source sheet is not touched
    for kept in ("xl/calcChain.xml", "xl/sharedStrings.xml", "xl/vbaProject.bin", *EXTRA_PARTS):
        assert parts[kept] == before[kept], kept

    root = ET.fromstring(copy)
    children = [e.tag.rpartition("}")[2] for e in root]
    assert not {"drawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls"} & set(children)
    assert not list(root.iter(f"{{{MC}}}AlternateContent"))
    # printer settings copied into a part of the copy's own; the external hyperlink kept
    rels = {r.get("Id"): r for r in ET.fromstring(parts[_rels_of(new_part)])}
    assert set(rels) == {"rIdPrint", "rIdLink"}
    printer = _resolve(new_part, rels["rIdPrint"].get("Target"))
    assert printer != "xl/printerSettings/printerSettings1.bin" and parts[printer] == PRINTER_SETTINGS
    assert rels["rIdLink"].get("Target") == "https://example.invalid/填报说明"
    assert root.find(f"{{{MAIN}}}pageSetup").get(f"{{{REL}}}id") == "rIdPrint"
    link = root.find(f"{{{MAIN}}}hyperlinks/{{{MAIN}}}hyperlink")
    assert link.get(f"{{{REL}}}id") == "rIdLink"

    # its own identity: xr:uid, code name, not the selected tab
    uids = [ET.fromstring(parts[p]).get(f"{{{XR}}}uid") for p in _sheet_parts(parts).values()]
    assert len(set(uids)) == len(uids) and GUID.match(root.get(f"{{{XR}}}uid"))
    assert root.get(f"{{{XR}}}uid") != SOURCE_UID
    assert GUID.match(link.get(f"{{{XR}}}uid")) and link.get(f"{{{XR}}}uid") != "{AAAAAAAA-0000-0000-0000-000000000001}"
    codes = [ET.fromstring(parts[p]).find(f"{{{MAIN}}}sheetPr").get("codeName") for p in _sheet_parts(parts).values()]
    assert root.find(f"{{{MAIN}}}sheetPr").get("codeName") == "shtFund2"
    assert len(set(c.lower() for c in codes)) == len(codes)
    assert root.find(f"{{{MAIN}}}sheetViews/{{{MAIN}}}sheetView").get("tabSelected") is None
    # x14ac and friends still declared where mc:Ignorable names them (check_package), still used
    assert root.find(f"{{{MAIN}}}sheetFormatPr").get(f"{{{X14AC}}}dyDescent") == "0.25"
    # the highlight rule names the copy
    rule = root.find(f"{{{MAIN}}}conditionalFormatting/{{{MAIN}}}cfRule/{{{MAIN}}}formula").text
    assert '"专项资金自评表2"' in rule and "专项资金自评表1" not in rule

    # the new <sheet> brings its own declaration of the relationships namespace, like its siblings
    dom = parseString(parts["xl/workbook.xml"])
    entry = next(s for s in dom.getElementsByTagName("sheet") if s.getAttribute("name") == "专项资金自评表2")
    prefix = next(k[6:] for k, v in entry.attributes.items() if k.startswith("xmlns:") and v == REL)
    book_rels = {r.get("Id"): r.get("Target") for r in ET.fromstring(parts["xl/_rels/workbook.xml.rels"])}
    assert _resolve("xl/workbook.xml", book_rels[entry.getAttribute(f"{prefix}:id")]) == new_part


def test_defined_names_follow_the_copy_and_sheet_positions(excel_book, capsys):
    assert main(["add-fund", str(excel_book)]) == 0
    capsys.readouterr()
    with zipfile.ZipFile(excel_book) as z:
        workbook = ET.fromstring(z.read("xl/workbook.xml"))
    names = [(d.get("name"), d.get("localSheetId"), d.text) for d in workbook.find(f"{{{MAIN}}}definedNames")]
    assert len({(n, s) for n, s, _ in names}) == len(names)  # no name twice
    fund1 = {n[len("专项1_"):]: t for n, s, t in names if n.startswith("专项1_")}
    fund2 = {n[len("专项2_"):]: t for n, s, t in names if n.startswith("专项2_")}
    assert set(fund2) == set(fund1) and len(fund2) == len(N.fund_names(2))
    assert all(fund2[k] == fund1[k].replace("'专项资金自评表1'!", "'专项资金自评表2'!") for k in fund1)
    # template: 0 评分表 … 4 专项资金自评表1, 5 专项资金汇总; the copy goes to 5, the summary to 6
    areas = {s: t for n, s, t in names if n == "_xlnm.Print_Area"}
    assert areas["4"] == "'专项资金自评表1'!$A$1:$K$47"
    assert areas["5"] == "'专项资金自评表2'!$A$1:$K$47"
    assert areas["6"].startswith("'专项资金汇总'!")


def test_the_result_opens_in_openpyxl_and_evalbook(excel_book, capsys):
    assert main(["add-fund", str(excel_book)]) == 0
    wb = openpyxl.load_workbook(excel_book)
    ws = wb["专项资金自评表2"]
    assert ws["A12"].value == "产出" and ws["C2"].value is None  # labels kept, typed cells blank
    assert ws["A1"].value == wb["专项资金自评表1"]["A1"].value  # shared strings still read right
    assert ws["L1"].value == "=1+1"
    capsys.readouterr()
    # evalbook reads and writes the copy by its new names (a blank fund is not listed: both named)
    with XlsxBook(excel_book) as book:
        book.write_values({"专项1_专项资金名称": "水厂", "专项2_专项资金名称": "污水处理"})
        book.save()
    assert main(["check", "--json", str(excel_book)]) in (0, 1)
    data = json.loads(capsys.readouterr().out)
    assert [(f["number"], f["name"]) for f in data["funds"]] == [(1, "水厂"), (2, "污水处理")]
    check_package(excel_book)


def test_the_result_opens_in_libreoffice(excel_book, tmp_path, capsys):
    assert libreoffice_unavailable() is None
    assert main(["add-fund", str(excel_book)]) == 0
    profile = tmp_path / "lo-profile"
    out = tmp_path / "lo"
    done = subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "xlsx",
                           "--outdir", str(out), str(excel_book)], capture_output=True, timeout=180)
    converted = out / (excel_book.stem + ".xlsx")
    assert done.returncode == 0 and converted.exists(), done.stderr
    titles = openpyxl.load_workbook(converted, read_only=True).sheetnames
    assert titles[titles.index("专项资金自评表1") + 1] == "专项资金自评表2"


def test_a_second_and_third_fund_stay_unique(excel_book, capsys):
    for _ in range(2):
        assert main(["add-fund", str(excel_book)]) == 0
    capsys.readouterr()
    parts = check_package(excel_book)
    titles = [t for t, _ in sheet_entries(parts)]
    assert titles[4:7] == ["专项资金自评表1", "专项资金自评表2", "专项资金自评表3"]
    printers = [p for p in parts if p.startswith("xl/printerSettings/")]
    assert len(printers) == 3 and all(parts[p] == PRINTER_SETTINGS for p in printers)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_utf16_parts_are_read_and_written(tmp_path, capsys, encoding):
    # UTF-16 with a BOM, and without one (the zero bytes show it): workbook.xml, its relationships,
    # the content types and the fund sheet itself
    path = tmp_path / "utf16.xlsm"
    excel_style(TEMPLATE, path, encoding=encoding)
    with zipfile.ZipFile(path) as z:
        assert z.read("xl/workbook.xml")[:2] in (b"\xff\xfe", b"<\x00")
    assert main(["add-fund", str(path)]) == 0, capsys.readouterr().err
    check_package(path)
    assert "专项资金自评表2" in openpyxl.load_workbook(path, read_only=True).sheetnames


def test_past_the_maximum_it_refuses_rather_than_number_twice(tmp_path, capsys, monkeypatch):
    # the cap is 99; at 3 the same code path is reached in three steps instead of ninety-nine
    monkeypatch.setattr(fund_service, "MAX_FUNDS", 3)
    monkeypatch.setattr(fund_add, "MAX_FUNDS", 3)
    book = tmp_path / "多.xlsm"
    shutil.copy(TEMPLATE, book)
    assert main(["add-fund", str(book)]) == 0
    assert main(["add-fund", str(book)]) == 0
    capsys.readouterr()
    before = book.read_bytes()
    assert main(["add-fund", str(book)]) == 2
    err = capsys.readouterr().err
    assert "已有3张专项资金自评表，达到上限（每个工作簿最多3个专项）" in err and err.count("\n") == 1
    assert book.read_bytes() == before
    with zipfile.ZipFile(book) as z:
        workbook = ET.fromstring(z.read("xl/workbook.xml"))
    names = [(d.get("name"), d.get("localSheetId")) for d in workbook.find(f"{{{MAIN}}}definedNames")]
    assert len(set(names)) == len(names)


def test_the_real_maximum_is_99(capsys):
    assert fund_service.MAX_FUNDS == fund_add.MAX_FUNDS == 99


def test_leftover_names_of_the_next_number_are_refused(tmp_path, capsys):
    from evalbook.build.sheets import build_workbook
    from openpyxl.workbook.defined_name import DefinedName

    wb = build_workbook()
    wb.defined_names["专项2_说明"] = DefinedName("专项2_说明", attr_text="'专项资金自评表1'!$B$43")
    path = tmp_path / "残留.xlsx"
    wb.save(path)
    assert main(["add-fund", str(path)]) == 2
    assert "已有“专项2_”开头的定义名称" in capsys.readouterr().err


@pytest.mark.parametrize("formula, expected", [
    ("'专项资金自评表1'!A1+1", "'专项资金自评表2'!A1+1"),
    ("专项资金自评表1!A1", "'专项资金自评表2'!A1"),
    ("SUM(专项资金自评表1!A1:B2)", "SUM('专项资金自评表2'!A1:B2)"),
    ("新专项资金自评表1!A1", "新专项资金自评表1!A1"),  # another sheet whose name ends the same
    ("'专项资金自评表11'!A1", "'专项资金自评表11'!A1"),
    ('"专项资金自评表1!A1"&1', '"专项资金自评表1!A1"&1'),  # inside a string: text, not a reference
])
def test_references_to_the_source_are_re_pointed_exactly(formula, expected):
    assert rename_sheet_refs(formula, "专项资金自评表1", "专项资金自评表2") == expected
