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

from evalbook import contract as C
from evalbook import layout
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
    names = list(layout.input_cells())
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


def snapshot(path: Path) -> dict:
    with XlsxBook(path) as book:
        inputs = book.read_values(input_names(book))
        outputs = book.read_values(list(C.OUTPUT_NAMES) + fund_output_names(book))
        first = X.split_ref(book.locate(C.RESULTS_TABLE).cell)[1]
        results = {ref: v for ref, v in book.read_sheet(C.RESULTS_SHEET).items() if X.split_ref(ref)[1] >= first}
        where = {name: book.locate(name) for name in inputs}
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
    assert wb[total.sheet][total.cell].value == 76


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
