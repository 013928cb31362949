"""Differential corpus: the example workbook's XML written the ways other writers write it.

Each variant re-serialises the example's worksheets (and styles/workbook where it matters) in one
form OOXML allows — prefixes on every element, single quotes, rows and cells without `r`,
comments/CDATA/processing instructions that contain `</row><row r="4">`, self-closing rows,
`mc:AlternateContent`, a commented-out `<sheetData>` before the real one, `>` and `/>` inside
attribute values — then goes through `evalbook score`.  Whatever the form: the exit code is the
plain example's, every XML part parses, every input cell reads the same (by parsing, not bytes),
the outputs equal the plain example's (总分 76, 等级 中), and openpyxl opens the result;
LibreOffice opens a few of them and shows the total.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import openpyxl
import pytest
from defusedxml import ElementTree as SafeET
from defusedxml import minidom

from evalbook.workbook import contract as C
from evalbook.workbook import layout
from evalbook.adapters import sheetxml as X
from evalbook.adapters.xlsx import XlsxBook
from evalbook.cli import main
from evalbook.funds import names as FN
from tests.conftest import EXAMPLE, libreoffice_unavailable

MAIN = X.MAIN_NS
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
EV = "urn:evalbook:test"
ROW_LOOKALIKE = '</row><row r="4"><c r="B4"><v>999</v></c>'
FORMS = ("prefix", "single_quotes", "no_r", "comments", "cdata", "pis", "self_closing_rows",
         "alternate_content", "commented_sheet_data", "gt_in_attributes")


# ---- re-serialising a part in a given form (independent of the code under test) -----------------

def _escape(text: str, quote: str | None = None) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    if not quote:
        text = text.replace(">", "&gt;")
    else:  # '>' stays literal in attribute values, as XML allows and some writers do
        text = text.replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;")
        text = text.replace(quote, "&quot;" if quote == '"' else "&apos;")
    return text


class _Writer:
    def __init__(self, forms: set[str], sheet: bool):
        self.forms = forms
        self.sheet = sheet  # a worksheet: the sheet-only forms apply
        self.out: list[str] = []

    def attr(self, name: str, value: str) -> str:
        q = "'" if "single_quotes" in self.forms else '"'
        return f" {name}={q}{_escape(value, q)}{q}"

    def name(self, node, default_main: bool) -> str:
        if "prefix" in self.forms and default_main and ":" not in node.tagName:
            return "x:" + node.tagName
        return node.tagName

    def noise(self) -> None:
        if "comments" in self.forms:
            self.out.append(f"<!-- {ROW_LOOKALIKE} -->")
        if "pis" in self.forms:
            self.out.append(f"<?evalbook {ROW_LOOKALIKE}?>")

    def element(self, node, default_main: bool, path: tuple[str, ...], state: dict) -> None:
        attrs = [(a.name, a.value) for a in node.attributes.values()]
        if any(n == "xmlns" for n, _ in attrs):
            default_main = dict(attrs)["xmlns"] == MAIN
        local = node.tagName.rpartition(":")[2]
        root = len(path) == 0
        if root:
            if "prefix" in self.forms:
                attrs = [("xmlns:x", v) if n == "xmlns" and v == MAIN else (n, v) for n, v in attrs]
            if "gt_in_attributes" in self.forms and self.sheet:
                attrs += [("xmlns:mc", MC), ("xmlns:ev", EV), ("mc:Ignorable", "ev")]
        in_data = path[-1:] == ("sheetData",)
        if self.sheet and local == "row" and in_data:
            number = int(node.getAttribute("r"))
            gap = range(state["row"] + 1, number) if "self_closing_rows" in self.forms else ()
            for missing in gap:
                self.out.append(f"<{self.name(node, default_main)}{self.attr('r', str(missing))}/>")
            if "no_r" in self.forms and number == state["row"] + 1:
                attrs = [(n, v) for n, v in attrs if n not in ("r", "spans")]
            state["row"], state["col"] = number, 0
        if self.sheet and local == "c" and path[-1:] == ("row",):
            letters, _ = X.split_ref(node.getAttribute("r"))
            col = X.column_index(letters)
            if "no_r" in self.forms and col == state["col"] + 1:
                attrs = [(n, v) for n, v in attrs if n != "r"]
            state["col"] = col
        if self.sheet and local in ("row", "c") and "gt_in_attributes" in self.forms:
            attrs.append(("ev:note", 'a>b/>c"\'<'))
        if self.sheet and local == "sheetData" and "commented_sheet_data" in self.forms:
            self.out.append(f'<!--<sheetData><row r="4"><c r="B4"><v>999</v></c></row></sheetData>-->')
        tag = self.name(node, default_main)
        self.out.append(f"<{tag}" + "".join(self.attr(n, v) for n, v in attrs))
        kids = list(node.childNodes)
        if not kids:
            self.out.append("/>")
        else:
            self.out.append(">")
            spaced = self.sheet and local in ("sheetData", "row")  # between rows, between cells
            for kid in kids:
                if spaced:
                    self.noise()
                self.node(kid, default_main, path + (local,), state)
            if spaced:
                self.noise()
            if self.sheet and local == "sheetData" and "self_closing_rows" in self.forms:
                # empty rows below the last one, where the findings will be written
                for missing in range(state["row"] + 1, state["row"] + 31):
                    self.out.append(f"<{self.name(node, default_main)[:-len('sheetData')]}row"
                                    f"{self.attr('r', str(missing))}/>")
            if local == "t" and state.pop("lookalike", False):
                self.out.append(f"<![CDATA[{ROW_LOOKALIKE}]]>")
            self.out.append(f"</{tag}>")
        if self.sheet and local == "sheetData" and "alternate_content" in self.forms:
            self.out.append(
                f'<mc:AlternateContent xmlns:mc="{MC}"><mc:Choice xmlns:ev="{EV}" Requires="ev">'
                f'<ev:rows>&lt;/sheetData&gt;<ev:row r="4"/></ev:rows></mc:Choice>'
                f'<mc:Fallback><!-- <sheetData><row r="4"/></sheetData> --></mc:Fallback></mc:AlternateContent>')

    def node(self, node, default_main: bool, path: tuple[str, ...], state: dict) -> None:
        if node.nodeType == node.ELEMENT_NODE:
            if path[-1:] == ("c",) and node.tagName.rpartition(":")[2] == "is" and state.get("title"):
                state["lookalike"], state["title"] = True, False
            self.element(node, default_main, path, state)
        elif node.nodeType in (node.TEXT_NODE, node.CDATA_SECTION_NODE):
            if "cdata" in self.forms and self.sheet and path[-1:] in (("t",), ("v",), ("f",)) and "]]>" not in node.data:
                self.out.append(f"<![CDATA[{node.data}]]>")
            else:
                self.out.append(_escape(node.data))
        elif node.nodeType == node.COMMENT_NODE:
            self.out.append(f"<!--{node.data}-->")
        elif node.nodeType == node.PROCESSING_INSTRUCTION_NODE:
            self.out.append(f"<?{node.target} {node.data}?>")


def reserialise(data: bytes, forms: set[str], sheet: bool) -> bytes:
    document = minidom.parseString(data)
    writer = _Writer(forms, sheet)
    writer.out.append("<?xml version='1.0' encoding='UTF-8' standalone='yes'?>"
                      if "single_quotes" in forms else '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>')
    # the first text cell (a sheet's title, never an input) gets a CDATA section that looks like rows
    writer.node(document.documentElement, False, (), {"row": 0, "col": 0, "title": "cdata" in forms})
    return "".join(writer.out).encode("utf-8")


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def variant(forms: set[str], target: Path) -> Path:
    parts = _parts(EXAMPLE)
    for name, data in parts.items():
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            parts[name] = reserialise(data, forms, sheet=True)
        elif name in ("xl/styles.xml", "xl/workbook.xml") and forms & {"prefix", "single_quotes"}:
            parts[name] = reserialise(data, forms, sheet=False)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return target


# ---- what must hold after scoring ----------------------------------------------------------------

def input_names(book: XlsxBook) -> list[str]:
    names = [name for name in layout.input_cells() if book.has_name(name)]  # fund table cells have keys, not names
    n = 1
    while book.has_name(FN.header_name(n, "专项资金名称")):
        names += [name for name in FN.fund_input_names(n) if book.has_name(name)]
        n += 1
    assert n > 1  # the example has special funds: their inputs are compared too
    return names


def fund_output_names(book: XlsxBook) -> list[str]:
    found, n = [], 1
    while book.has_name(FN.header_name(n, "专项资金名称")):
        found += [name for name in FN.fund_output_names(n) if book.has_name(name)]
        n += 1
    return found


def _stable(value):
    # the status line starts with the minute of the run
    return re.sub(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2} ", "", value) if isinstance(value, str) else value


def values_of(book: XlsxBook, names: list[str]) -> dict:
    """Name → its cell's value, or a named column's values row by row."""
    cells = [n for n in names if ":" not in book.extent(n)[1]]
    found = book.read_values(cells)
    found.update({n: tuple(book.read_range(n)[1]) for n in names if n not in found})
    return found


def snapshot(path: Path) -> dict:
    with XlsxBook(path) as book:
        inputs = values_of(book, input_names(book))
        outputs = values_of(book, list(C.contract_for().output_names) + fund_output_names(book))
        first = X.split_ref(book.locate(C.RESULTS_TABLE).cell)[1]
        results = {ref: v for ref, v in book.read_sheet(C.RESULTS_SHEET).items() if X.split_ref(ref)[1] >= first}
        where = {name: book.locate(name) for name in inputs if ":" not in book.extent(name)[1]}
    return {"inputs": inputs, "outputs": {k: _stable(v) for k, v in outputs.items()},
            "results": {k: _stable(v) for k, v in results.items()}, "where": where}


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    path = tmp_path_factory.mktemp("plain") / "例.xlsm"
    shutil.copy(EXAMPLE, path)
    code = main(["score", str(path)])
    return code, snapshot(path)


def _assert_sound(path: Path, before: dict, expected_code: int, code: int, plain_after: dict) -> None:
    assert code == expected_code
    for name, data in _parts(path).items():
        if name.endswith((".xml", ".rels", ".vml")):
            SafeET.fromstring(data)  # every part still parses
    after = snapshot(path)
    assert after["inputs"] == before["inputs"]
    assert after["outputs"] == plain_after["outputs"]
    assert after["outputs"][C.TOTAL] == 76 and after["outputs"][C.GRADE] == "中"
    assert after["results"] == plain_after["results"]
    # an independent reader agrees: openpyxl opens the file and sees the same inputs
    wb = openpyxl.load_workbook(path)
    for name, ref in after["where"].items():
        value = wb[ref.sheet][ref.cell].value
        if isinstance(before["inputs"][name], (int, float)) and not isinstance(before["inputs"][name], bool):
            assert value == before["inputs"][name], name
    total = XlsxBook(path).locate(C.TOTAL)
    cached = openpyxl.load_workbook(path, data_only=True)  # the result a reader sees before recalculating
    assert cached[total.sheet][total.cell].value == 76


@pytest.mark.parametrize("form", FORMS + ("all",))
def test_every_form_scores_like_the_plain_example(form, tmp_path, plain, capsys):
    forms = set(FORMS) if form == "all" else {form}
    path = variant(forms, tmp_path / f"形式-{form}.xlsm")
    before = snapshot(path)
    assert before["outputs"][C.TOTAL] != 76  # not scored yet: the writer has work to do
    code = main(["score", str(path)])
    _assert_sound(path, before, plain[0], code, plain[1])
    # scoring the scored file again changes no input and gives the same outputs
    assert main(["score", str(path)]) == plain[0]
    again = snapshot(path)
    assert again["inputs"] == before["inputs"] and again["outputs"] == plain[1]["outputs"]


def test_the_variants_really_have_their_forms(tmp_path):
    """Guard against a corpus that silently lost its point."""
    sheet = "xl/worksheets/sheet1.xml"
    def text(form):
        return _parts(variant({form}, tmp_path / f"{form}.xlsm"))[sheet].decode()

    assert "<x:c " in text("prefix") and "<c " not in text("prefix")
    assert "r='A1'" in text("single_quotes")
    no_r = text("no_r")
    assert "<row>" in no_r and re.search(r"<c( [st]=\"[^\"]*\")*>", no_r)
    assert f"<!-- {ROW_LOOKALIKE} -->" in text("comments")
    assert f"<![CDATA[{ROW_LOOKALIKE}]]>" in text("cdata")
    assert f"<?evalbook {ROW_LOOKALIKE}?>" in text("pis")
    assert re.search(r'<row r="\d+"/>', text("self_closing_rows"))
    assert "<mc:AlternateContent" in text("alternate_content")
    assert text("commented_sheet_data").index("<!--<sheetData>") < text("commented_sheet_data").index("<sheetData>")
    assert 'ev:note="a>b/>c&quot;\'&lt;"' in text("gt_in_attributes")


# ---- LibreOffice opens some of them ---------------------------------------------------------------

def _libreoffice_csv(path: Path) -> list[list[str]]:
    with tempfile.TemporaryDirectory(prefix="lo-h1-") as tmp:
        profile = Path(tmp) / "profile"
        result = subprocess.run(
            ["soffice", "--headless", f"-env:UserInstallation={profile.as_uri()}", "--convert-to",
             "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", tmp, str(path)],
            capture_output=True, timeout=240)
        out = Path(tmp) / (path.stem + ".csv")
        assert result.returncode == 0 and out.exists(), result.stderr
        return list(csv.reader(io.StringIO(out.read_text("utf-8"))))


@pytest.mark.parametrize("form", ["all", "prefix"])
def test_libreoffice_opens_scored_variants(form, tmp_path):
    reason = libreoffice_unavailable()
    assert reason is None, reason
    path = variant(set(FORMS) if form == "all" else {form}, tmp_path / f"lo-{form}.xlsm")
    assert main(["score", str(path)]) in (0, 1)
    with XlsxBook(path) as book:
        total, grade = book.locate(C.TOTAL), book.locate(C.GRADE)
    assert total.sheet == grade.sheet == C.SCORE_SHEET == book.sheet_order[0]  # csv is the first sheet
    rows = _libreoffice_csv(path)

    def at(ref):
        letters, row = X.split_ref(ref.cell)
        return rows[row - 1][X.column_index(letters) - 1]

    assert float(at(total)) == 76 and at(grade) == "中"  # shown in its number format, 76.00


# ---- the patcher and the other rewriters, one form at a time ---------------------------------------

def _sheet(rows: str, head: str = "", prefix: str = "") -> str:
    p = prefix
    ns = f'xmlns{":" + p[:-1] if p else ""}="{MAIN}" xmlns:ev="{EV}"'
    return f"<{p}worksheet {ns}>{head}<{p}sheetData>{rows}</{p}sheetData></{p}worksheet>"


def _values(xml: str) -> dict:
    return X.read_cells(SafeET.fromstring(xml), [], set())


def _refs(xml: str) -> list[str]:
    root = SafeET.fromstring(xml)
    return [c.get("r") for c in root.iter(f"{{{MAIN}}}c")]


def test_single_quoted_references_are_replaced_not_duplicated():
    patch = X.SheetPatch(_sheet("<row r='4' spans='1:2'><c r='B4' s='3'><v>1</v></c><c r='C4'><v>7</v></c></row>"))
    patch.set_cells({"B4": 5, "D4": "新"})
    assert _values(patch.xml) == {"B4": 5, "C4": 7, "D4": "新"}
    assert _refs(patch.xml) == ["B4", "C4", "D4"]
    assert "s=\"3\"" in patch.xml and "spans" not in patch.xml


def test_markup_lookalikes_in_comments_cdata_pis_and_attributes_stay_what_they_are():
    rows = (f'<!--<row r="4"><c r="B4"><v>9</v></c></row>-->'
            f'<row r="4" ev:note="a>b/>c"><?pi </row><row r="4">?><c r="A4" t="inlineStr" ev:x=\'/>\'><is><t>'
            f'<![CDATA[</row><row r="4">]]></t></is></c><!-- </row> --><c r="B4"><v>1</v></c></row>')
    xml = _sheet(rows, head='<!--<sheetData><row r="4"/></sheetData>-->')
    patch = X.SheetPatch(xml)
    patch.set_cells({"B4": 2, "C4": 3})
    assert _values(patch.xml) == {"A4": '</row><row r="4">', "B4": 2, "C4": 3}
    assert patch.xml.count("<!--") == 3 and "<?pi </row><row r=\"4\">?>" in patch.xml
    assert 'ev:note="a>b/>c"' in patch.xml


def test_every_element_prefixed_and_an_empty_sheet_data():
    patch = X.SheetPatch(_sheet("", prefix="x:").replace("<x:sheetData></x:sheetData>", "<x:sheetData/>"))
    patch.set_cells({"B2": 1, "A1": "甲"})
    assert _values(patch.xml) == {"A1": "甲", "B2": 1}
    assert "<c" not in patch.xml.replace("<x:c", "")


def test_self_closing_row_gets_its_cells():
    patch = X.SheetPatch(_sheet('<row r="3" ht="20" customHeight="1" />'))
    patch.set_cells({"C3": 1})
    assert _values(patch.xml) == {"C3": 1}
    assert 'ht="20"' in patch.xml


def test_rows_left_implied_keep_their_numbers_when_a_row_before_them_goes():
    # row 4 is emptied and removed; the row after it said nothing about its number
    patch = X.SheetPatch(_sheet('<row r="4"><c><v>1</v></c></row><row><c/><c><v>2</v></c></row>'))
    patch.clear_block(4, range(1, 2))
    assert _values(patch.xml) == {"A5": None, "B5": 2}
    patch = X.SheetPatch(_sheet('<row r="9"><c><v>1</v></c></row><row><c><v>2</v></c></row>'))
    patch.set_cells({"A1": 0})  # inserted before rows whose numbers are implied
    assert _values(patch.xml) == {"A1": 0, "A9": 1, "A10": 2}


def test_shared_formula_followers_found_through_prefixes_and_quotes():
    rows = ("<x:row r='1'><x:c r='A1'><x:f t='shared' ref='A1:A2' si='0'>B1*2</x:f><x:v>2</x:v></x:c></x:row>"
            "<x:row r='2'><x:c r='A2'><x:f t='shared' si='0'/><x:v>4</x:v></x:c></x:row>")
    patch = X.SheetPatch(_sheet(rows, prefix="x:"))
    patch.set_cells({"A1": 5})
    assert "<x:f>B2*2</x:f>" in patch.xml and "si=" not in patch.xml and patch.removed_formula
    assert X.formula_texts(patch.xml) == ["B2*2"]


def test_a_sheet_declaring_a_dtd_is_refused():
    with pytest.raises(ValueError):
        X.SheetPatch('<!DOCTYPE w [<!ENTITY e "x">]>' + _sheet("<row r='1'><c r='A1'><v>&e;</v></c></row>"))


def test_merges_and_protection_are_read_by_the_parser():
    xml = _sheet("", head="<!-- <sheetProtection sheet='1'/> -->") .replace(
        "</sheetData>", "</sheetData><mergeCells count='1'><mergeCell ref='A1:B2'/></mergeCells>")
    assert X.merged_ranges_text(xml) == [(1, 1, 2, 2)] and not X.sheet_protected_text(xml)
    assert X.sheet_protected_text(xml.replace("</worksheet>", "<sheetProtection sheet='true'/></worksheet>"))


def test_recalculation_flag_found_past_comments_and_quotes():
    before = (f"<x:workbook xmlns:x='{MAIN}'><!-- <x:calcPr fullCalcOnLoad='1'/> --><x:sheets/>"
              f"<x:calcPr calcId='1' fullCalcOnLoad='0' ev:y='>' xmlns:ev='{EV}'/></x:workbook>")
    after = X.with_full_calc_on_load(before)
    assert after == before.replace("fullCalcOnLoad='0'", "fullCalcOnLoad='1'")


def test_styles_copy_with_quote_prefix_in_prefixed_single_quoted_styles():
    xml = (f"<x:styleSheet xmlns:x='{MAIN}'><!-- <x:cellXfs count='9'> --><x:cellXfs count='2'>"
           "<x:xf numFmtId='0' fontId='0'/><x:xf numFmtId='0' fontId='1'><x:alignment wrapText='1'/></x:xf>"
           "</x:cellXfs></x:styleSheet>")
    styles = X.StylesPatch(xml)
    assert styles.quote_prefixed("1") == "2" and styles.changed
    root = SafeET.fromstring(styles.xml)
    xfs = root.find(f"{{{MAIN}}}cellXfs")
    assert xfs.get("count") == "3" and xfs[2].get("quotePrefix") == "1" and xfs[2].get("fontId") == "1"
    assert xfs[2][0].get("wrapText") == "1"
    assert styles.quote_prefixed("1") == "2"  # the copy is found again, not made twice
    assert X.StylesPatch(styles.xml).quote_prefixed("2") == "2"


def test_calc_chain_references_removed_as_elements():
    from evalbook.adapters.xlsx import _without_calc_chain_refs

    types = ("<Types xmlns='http://schemas.openxmlformats.org/package/2006/content-types'>"
             "<!-- <Override PartName='/xl/calcChain.xml'/> -->"
             "<Override PartName='/xl/calcChain.xml' ContentType='application/vnd.openxmlformats-officedocument"
             ".spreadsheetml.calcChain+xml'/><Override PartName='/xl/a.xml' ContentType='x>y'/></Types>")
    out = _without_calc_chain_refs("[Content_Types].xml", types.encode("utf-16")).decode("utf-16")
    root = SafeET.fromstring(out.encode("utf-8"))
    assert [e.get("PartName") for e in root] == ["/xl/a.xml"]
    assert "<!-- <Override PartName='/xl/calcChain.xml'/> -->" in out
