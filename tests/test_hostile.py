"""A generated corpus of bad workbooks: every one gets its exit code and one clear Chinese message.

Each case is built from the example workbook by damaging it the way real files arrive damaged —
a cell given text, an error value or a formula without a result; a sheet renamed or deleted; a
name gone or pointing at #REF!; merged cells; a protected sheet; a truncated or bit-flipped zip;
another format renamed to .xlsm; an XML entity; an encrypted workbook — and scored through the
real command line.  Whatever happens: no traceback, no "unexpected error", exit 2 leaves the file
byte for byte as it was, and exit 0/1 leaves a complete workbook whose exit code matches its
findings.  Hypothesis runs derandomized, so the corpus is the same on every run.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import html
import io
import os
import re
import struct
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from evalbook.department import basic_data as B
from evalbook.workbook import contract as C
from evalbook.adapters import sheetxml as X
from evalbook.adapters.xlsx import XlsxBook
from evalbook.build.cfb import write_cfb
from evalbook.cli import main
from evalbook.core.numbers import ExcelError, read_choice, read_number, read_yes_no
from tests.conftest import EXAMPLE, ROOT

BASE = EXAMPLE.read_bytes()  # one snapshot: the corpus is built from the same bytes throughout
BOOK_NAME = "坏 文件（测试）.xlsm"  # Chinese, a space and full-width brackets in every path

def corpus(max_examples: int) -> settings:
    return settings(CORPUS, max_examples=max_examples)


CORPUS = settings(derandomize=True, database=None, deadline=None, print_blob=False,
                  suppress_health_check=list(HealthCheck),
                  phases=(Phase.explicit, Phase.generate, Phase.shrink))

TALLY: collections.Counter = collections.Counter()  # (family, outcome) → cases
FAMILIES_RUN: set[str] = set()


def _parts(data: bytes = BASE) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {info.filename: z.read(info) for info in z.infolist()}


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return out.getvalue()


with XlsxBook(EXAMPLE) as _book:
    SHEET_PARTS = dict(_book.sheet_parts)
    TARGETS = {name: _book._target(name)[:2] for name in C.contract_for().required_names}
PARTS = _parts()
WORKBOOK = PARTS["xl/workbook.xml"].decode()


def _run(data: bytes, *, prepare=None):
    """Write `data` as a workbook in a fresh folder, score it; returns the evidence."""
    with tempfile.TemporaryDirectory(prefix="评分 测试-") as folder:
        path = Path(folder) / BOOK_NAME
        path.write_bytes(data)
        if prepare is not None:
            prepare(path)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["score", str(path)])
        after = path.read_bytes() if path.exists() else None
        leftovers = sorted(p.name for p in Path(folder).iterdir() if p.name != BOOK_NAME
                           and not p.name.startswith(("~$", ".~lock.")))
        result = {"code": code, "out": out.getvalue(), "err": err.getvalue(), "after": after,
                  "leftovers": leftovers, "findings": [], "status": None, "cells": {}}
        if code in (0, 1):
            with zipfile.ZipFile(path) as z:
                assert z.testzip() is None
            with XlsxBook(path) as book:
                sheet, _ = book._target(C.RESULTS_TABLE)[:2]
                cells = book.read_sheet(sheet)
                rows = sorted({int(re.sub(r"\D", "", ref)) for ref in cells})
                for r in rows:
                    if r >= 4 and cells.get(f"A{r}") is not None:
                        result["findings"].append(tuple(cells.get(f"{c}{r}") for c in "ABCDEF"))
                result["status"] = book.read_values([C.STATUS])[C.STATUS]
                result["cells"] = {n: book.read_values([n])[n] for n in (C.TOTAL, C.GRADE)}
            result["parts"] = _parts(after)
        if os.name == "posix":
            os.chmod(path, 0o644) if path.exists() else None
    return result


def _check(family: str, data: bytes, before: bytes, result: dict, codes: set[int], fragments=()):
    """What every case must show, whatever its damage."""
    code, err, out = result["code"], result["err"], result["out"]
    FAMILIES_RUN.add(family)
    TALLY[(family, code)] += 1
    assert "Traceback" not in err + out
    assert "意外错误" not in err, err  # a bug of ours, not a message about the file
    assert code in codes, (code, err[:300], out[-300:])
    assert not result["leftovers"], result["leftovers"]  # no temporary file ever stays behind
    if code == 2:
        assert result["after"] == before, "an unusable file must be left exactly as it was"
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert BOOK_NAME in err, err
        assert all(ch.isprintable() for ch in lines[0])
        for fragment in fragments:
            assert fragment in err, (fragment, err)
    else:
        assert "校验完成" in str(result["status"])
        errors = [f for f in result["findings"] if f[1] == "错误"]
        assert (code == 1) == bool(errors), (code, result["findings"][:3])
        for finding in result["findings"]:
            # findings quote user text safely: one printable line, user text shortened
            assert all(ch.isprintable() for ch in str(finding[5])), finding
        assert err == ""


# ---- cell values ----------------------------------------------------------------------------

NUMBER_NAMES = C.contract_for().number_inputs + ("满意度",) + C.contract_for().self_scores
VALUE_NAMES = NUMBER_NAMES + (tuple(f"管理制度_{i}" for i in range(1, 5)) + tuple(f"信息公开_{i}" for i in range(1, 6))) + ("行政效能",) + B.TEXT_INPUTS
ERROR_CODES = ("#DIV/0!", "#N/A", "#REF!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
               "#GETTING_DATA", "#不存在!")
NAN_LIKE = ("NaN", "nan", "-NaN", "inf", "-inf", "Infinity", "1e999", "-1e999", "1.#INF", "1.#IND", "∞", "N/A",
            "null", "None", "undefined", "—", "——", "－", "0x1F", "1_000", "１２３", "12,34,5", "1e-400", "#N/A",
            "=1+1", "+SUM(A1)", "-2", "@cmd", "'12", "12元", "12 万元", "１２．５％", "\u3000\u3000", "\u202e12")
RAW_V = ("1E+400", "-1E+400", "NaN", "INF", "-INF", "1e-400", "1.7976931348623157E+308", "4.9E-324", "-0",
         "00012", "1,5", "0x10", "12abc", "", " ", "1.0.0", "٣", "+5", ".5", "5.")
FORMULAS = ("1/0", "A1+1", "SUM(B6:D6)", "NOW()", 'INDIRECT("x")', "[1]Sheet1!A1", "LOG10(C3)", '"a"&"b"')

text_values = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=60),
    st.text(st.characters(max_codepoint=0x7F), min_size=1, max_size=20),
    st.sampled_from(NAN_LIKE),
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=300, max_size=2000),
)


def _cell(kind: str, payload, style: str | None) -> tuple[str, object]:
    """(raw <c> element without its reference, the value Excel would show)."""
    s = f' s="{style}"' if style else ""
    if kind == "text":
        text = X.excel_escape(payload)
        return f'{s} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>', payload
    if kind == "shared-missing":
        return f'{s} t="s"><v>{payload}</v></c>', ExcelError("#REF!")
    if kind == "number":
        return f"{s}><v>{payload!r}</v></c>", payload
    if kind == "raw":
        return f"{s}><v>{html.escape(payload)}</v></c>", None
    if kind == "date":
        return f'{s} t="d"><v>{payload.isoformat()}</v></c>', payload
    if kind == "bool":
        return f'{s} t="b"><v>{int(payload)}</v></c>', payload
    if kind == "error":
        return f'{s} t="e"><v>{html.escape(payload)}</v></c>', ExcelError(payload)
    formula, cached = payload
    f = f"<f>{html.escape(formula)}</f>"
    if cached == "missing":
        return f"{s}>{f}</c>", X.FORMULA_WITHOUT_VALUE
    if cached == "empty":
        return f"{s}>{f}<v/></c>", X.FORMULA_WITHOUT_VALUE
    if isinstance(cached, bool):
        return f'{s} t="b">{f}<v>{int(cached)}</v></c>', cached
    if isinstance(cached, float):
        return f"{s}>{f}<v>{cached!r}</v></c>", cached
    if cached.startswith("#"):
        return f'{s} t="e">{f}<v>{cached}</v></c>', ExcelError(cached)
    return f'{s} t="str">{f}<v>{html.escape(cached)}</v></c>', cached


cell_values = st.one_of(
    st.tuples(st.just("text"), text_values),
    st.tuples(st.just("shared-missing"), st.integers(min_value=10_000, max_value=10**9)),
    st.tuples(st.just("number"), st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from([1e308, -1e308, 5e-324, 1e-300, 0.1 + 0.2, -0.0, 1e15 + 0.3]),
        st.integers(min_value=-10**20, max_value=10**20))),
    st.tuples(st.just("raw"), st.sampled_from(RAW_V)),
    st.tuples(st.just("date"), st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(9999, 1, 1))),
    st.tuples(st.just("bool"), st.booleans()),
    st.tuples(st.just("error"), st.sampled_from(ERROR_CODES)),
    st.tuples(st.just("formula"), st.tuples(
        st.sampled_from(FORMULAS),
        st.one_of(st.sampled_from(["missing", "empty", "#DIV/0!", "#REF!", "文本", "", "1/0"]),
                  st.booleans(), st.floats(allow_nan=False, allow_infinity=False)))),
)


def _problem(name: str, value) -> str | None:
    if name in NUMBER_NAMES:
        return read_number(value).problem
    if name in (tuple(f"管理制度_{i}" for i in range(1, 5)) + tuple(f"信息公开_{i}" for i in range(1, 6))):
        return read_yes_no(value).problem
    if name == "行政效能":
        return read_choice(value, ("好", "一般", "差"))[1]
    return None


def _replace_cell(xml: str, ref: str, raw_tail) -> str:
    pattern = re.compile(rf'<c r="{ref}"(?P<attrs>[^>]*?)(?:/>|>.*?</c>)', re.S)
    m = pattern.search(xml)
    assert m, ref
    style = re.search(r'\ss="(\d+)"', m.group("attrs"))
    raw, shown = raw_tail(style.group(1) if style else None)
    return xml[: m.start()] + f'<c r="{ref}"' + raw + xml[m.end():], shown


@corpus(160)
@given(name=st.sampled_from(VALUE_NAMES), value=cell_values)
def test_any_value_in_any_input_cell(name, value):
    sheet, ref = TARGETS[name]
    part = SHEET_PARTS[sheet]
    kind, payload = value
    xml, shown = _replace_cell(PARTS[part].decode(), ref, lambda style: _cell(kind, payload, style))
    data = _zip({**PARTS, part: xml.encode()})
    result = _run(data)
    _check("单元格取值", data, data, result, {0, 1})
    problem = _problem(name, shown) if kind != "raw" else None
    if problem:
        assert result["code"] == 1
        assert any(f[1] == "错误" and f[2] == sheet and f[3] == ref for f in result["findings"]), \
            (name, ref, problem, result["findings"][:4])
        assert f"{sheet}!{ref}" in result["out"]
    if shown is X.FORMULA_WITHOUT_VALUE and name not in B.TEXT_INPUTS:
        assert any(f[3] == ref and "没有保存它的计算结果" in f[5] for f in result["findings"])
    # the input cell itself is never touched
    after = result["parts"][part].decode()
    cell = re.compile(rf'<c r="{ref}"[^>]*?(?:/>|>.*?</c>)', re.S)
    assert cell.search(after).group(0) == cell.search(xml).group(0)
    # text we wrote from the workbook never becomes a formula
    for written in (result["parts"][SHEET_PARTS[TARGETS[C.RESULTS_TABLE][0]]].decode(),):
        assert "<f>" not in written and "<f " not in written


# ---- structure ------------------------------------------------------------------------------

def _quoted(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def _set_names(workbook: str, change) -> str:
    def one(m):
        name, text = html.unescape(m.group(2)), html.unescape(m.group(3))
        new = change(name, text)
        if new is None:
            return ""
        return f"{m.group(1)}{html.escape(new, quote=False)}{m.group(4)}"

    return re.sub(r'(<definedName name="([^"]*)"[^>]*>)(.*?)(</definedName>)', one, workbook)


def _rename_sheet(old: str, new: str, follow: bool) -> bytes:
    workbook = WORKBOOK.replace(f'name="{html.escape(old)}"', f'name="{html.escape(new)}"', 1)
    if follow:  # what Excel does: every name follows the sheet
        pattern = re.compile(rf"(?:{re.escape(_quoted(old))}|{re.escape(old)})!")
        workbook = _set_names(workbook, lambda n, t: pattern.sub(lambda _: _quoted(new) + "!", t))
    return _zip({**PARTS, "xl/workbook.xml": workbook.encode()})


def _delete_sheet(sheet: str) -> bytes:
    workbook = re.sub(rf'<sheet name="{re.escape(html.escape(sheet))}"[^>]*/>', "", WORKBOOK)
    pattern = re.compile(rf"(?:{re.escape(_quoted(sheet))}|{re.escape(sheet)})!")
    workbook = _set_names(workbook, lambda n, t: pattern.sub("#REF!", t))  # as Excel leaves them
    return _zip({**PARTS, "xl/workbook.xml": workbook.encode()})


def _names(change) -> bytes:
    return _zip({**PARTS, "xl/workbook.xml": _set_names(WORKBOOK, change).encode()})


def _sheet(sheet: str, edit) -> bytes:
    part = SHEET_PARTS[sheet]
    return _zip({**PARTS, part: edit(PARTS[part].decode()).encode()})


def _add_merge(xml: str, area: str) -> str:
    if "<mergeCells" in xml:
        return re.sub(r"(<mergeCells[^>]*>)", rf'\1<mergeCell ref="{area}"/>', xml, count=1)
    return xml.replace("</sheetData>", f'</sheetData><mergeCells count="1"><mergeCell ref="{area}"/></mergeCells>', 1)


def _left_neighbour_area(ref: str) -> str:
    letters, row = X.split_ref(ref)
    col = X.column_index(letters)
    return f"{X.column_letters(col - 1)}{row}:{ref}"


def _protect(xml: str) -> str:
    return xml.replace("</sheetData>", '</sheetData><sheetProtection sheet="1" objects="1" scenarios="1"/>', 1)


def _array_over(xml: str, ref: str) -> str:
    letters, row = X.split_ref(ref)
    area = f"{ref}:{X.column_letters(X.column_index(letters) + 2)}{row}"
    return _replace_cell(xml, ref, lambda s: (f'{f" s={chr(34)}{s}{chr(34)}" if s else ""}>'
                                             f'<f t="array" ref="{area}">1</f><v>1</v></c>', None))[0]


def _strip_cell_refs(xml: str) -> str:
    return re.sub(r'(<c) r="[A-Z]+\d+"', r"\1", xml)


def _prefixed(xml: str) -> str:
    xml = xml.replace(f'xmlns="{X.MAIN_NS}"', f'xmlns:x="{X.MAIN_NS}"', 1)
    return re.sub(r"<(/?)([A-Za-z]\w*)(?=[\s/>])", r"<\1x:\2", xml)


def _with_entity(part: str, kind: str) -> bytes:
    text = PARTS[part].decode("utf-8")
    dtd = {
        "external": '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
        "parameter": '<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/hostname"> %p;]>',
        "laughs": '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                  '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>',
        "external-dtd": '<!DOCTYPE x SYSTEM "file:///etc/hostname">',
    }[kind]
    if text.startswith("<?xml"):
        end = text.index("?>") + 2
        text = text[:end] + dtd + text[end:]
    else:
        text = dtd + text
    return _zip({**PARTS, part: text.encode()})


def _zip_encrypted_flag() -> bytes:
    data = bytearray(BASE)
    at = data.rfind(b"PK\x01\x02")  # the last central directory entry claims to be encrypted
    data[at + 8] |= 0x1
    return bytes(data)


def _ole(streams: dict[str, bytes]) -> bytes:
    return write_cfb(streams)


_ENCRYPTED: list[bytes] = []


def _encrypted() -> bytes:
    if not _ENCRYPTED:
        import msoffcrypto

        out = io.BytesIO()
        msoffcrypto.OfficeFile(io.BytesIO(BASE)).encrypt("密码123", out)
        _ENCRYPTED.append(out.getvalue())
    return _ENCRYPTED[0]


def _docx() -> bytes:
    return _zip({
        "[Content_Types].xml": b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        "_rels/.rels": b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                       b'<Relationship Id="r1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                       b'relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        "word/document.xml": b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>',
    })


def _xlsb() -> bytes:
    rels = PARTS["_rels/.rels"].replace(b"xl/workbook.xml", b"xl/workbook.bin")
    parts = {**PARTS, "_rels/.rels": rels, "xl/workbook.bin": b"\x83\x01\x00"}
    return _zip(parts)


def _strict() -> bytes:
    text = WORKBOOK.replace(X.MAIN_NS, "http://purl.oclc.org/ooxml/spreadsheetml/main")
    return _zip({**PARTS, "xl/workbook.xml": text.encode()})


def _utf16_sheet(sheet: str) -> bytes:
    part = SHEET_PARTS[sheet]
    return _zip({**PARTS, part: PARTS[part].decode().encode("utf-16")})


def _plain_xlsx() -> bytes:
    from evalbook.build.example import example_values
    from evalbook.build.sheets import workbook_bytes

    return workbook_bytes(example_values()[0])


OUTPUT_WRITES = (C.STATUS, C.TOTAL, C.GRADE) + tuple(C.score_name(k) for k in ("预算完成率", "公用经费控制率")) + \
    tuple(C.note_name(k) for k in ("在职人员控制率", "政府采购执行率"))
MERGEABLE_INPUTS = [n for n in NUMBER_NAMES + (tuple(f"管理制度_{i}" for i in range(1, 5)) + tuple(f"信息公开_{i}" for i in range(1, 6))) + ("行政效能",) if X.split_ref(TARGETS[n][1])[0] != "A"]
CORE_SHEETS = (C.SCORE_SHEET, C.DATA_SHEET, C.RULES_SHEET, C.RESULTS_SHEET)
XML_PARTS = sorted(n for n in PARTS if n.endswith((".xml", ".rels", ".vml")))
PARSED_PARTS = ["xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"] + \
    [SHEET_PARTS[s] for s in CORE_SHEETS]
sheet_names = st.text(st.characters(blacklist_characters=":\\/?*[]", blacklist_categories=("Cs", "Cc", "Zl", "Zp")),
                      min_size=1, max_size=31).filter(lambda s: not s.startswith("'") and not s.endswith("'")
                                                       and s.strip() and s not in SHEET_PARTS)


def _structure_case(draw) -> tuple[str, bytes, set[int], tuple, object]:
    """(family, bytes, exit codes, message fragments, prepare) for one structural damage."""
    family = draw(st.sampled_from([
        "工作表改名（名称未跟随）", "工作表改名（名称跟随）", "删除工作表", "删除定义名称", "名称指向#REF!",
        "名称指向超大区域", "合并单元格盖住输入", "合并单元格盖住输出", "评分表受保护", "校验结果受保护",
        "基础数据表受保护", "数组公式跨输出", "缺少部件", "XML损坏", "XML实体", "压缩包内加密", "纯.xlsx",
        "旧版.xls", "加密工作簿", "CSV改名", "网页改名", "XML2003改名", "PDF改名", "Word文档", "OpenDocument",
        "xlsb", "Strict格式", "普通zip", "空文件", "单元格缺少引用", "带前缀的命名空间", "UTF-16部件",
        "被Excel锁定", "只读文件", "共享公式主单元格被覆盖",
    ]))
    sheet = draw(st.sampled_from(CORE_SHEETS))
    name = BOOK_NAME
    if family == "工作表改名（名称未跟随）":
        return family, _rename_sheet(sheet, draw(sheet_names), False), {2}, (), None
    if family == "工作表改名（名称跟随）":
        return family, _rename_sheet(sheet, draw(sheet_names), True), {BASE_CODE}, (), None
    if family == "删除工作表":
        return family, _delete_sheet(sheet), {2}, ("定义名称",), None
    if family == "删除定义名称":
        victim = draw(st.sampled_from(C.contract_for().required_names))
        return family, _names(lambda n, t: None if n == victim else t), {2}, (victim,), None
    if family == "名称指向#REF!":
        victim = draw(st.sampled_from(C.contract_for().required_names))
        return family, _names(lambda n, t: "#REF!" if n == victim else t), {2}, (victim,), None
    if family == "名称指向超大区域":
        return family, _names(lambda n, t: f"{_quoted(C.RULES_SHEET)}!$A$1:$XFD$1048576" if n == C.RULES_TABLE
                              else t), {2}, ("过大",), None
    if family == "合并单元格盖住输入":
        victim = draw(st.sampled_from(MERGEABLE_INPUTS))
        where, ref = TARGETS[victim]
        return family, _sheet(where, lambda x: _add_merge(x, _left_neighbour_area(ref))), {1}, (), \
            ("merged", where, ref)
    if family == "合并单元格盖住输出":
        victim = draw(st.sampled_from(OUTPUT_WRITES))
        where, ref = TARGETS[victim]
        return family, _sheet(where, lambda x: _add_merge(x, _left_neighbour_area(ref))), {2}, ("合并", ref), None
    if family == "评分表受保护":  # the template leaves input and result cells unlocked
        return family, _sheet(C.SCORE_SHEET, _protect), {BASE_CODE}, (), None
    if family == "校验结果受保护":  # the findings table's cells are locked: say what to unprotect
        return family, _sheet(C.RESULTS_SHEET, _protect), {2}, ("撤消工作表保护", C.RESULTS_SHEET), None
    if family == "基础数据表受保护":  # nothing is written there: protection does not matter
        return family, _sheet(C.DATA_SHEET, _protect), {BASE_CODE}, (), None
    if family == "数组公式跨输出":
        where, ref = TARGETS[draw(st.sampled_from([C.score_name(k) for k in ("预算完成率", "三公经费变动率")]))]
        return family, _sheet(where, lambda x: _array_over(x, ref)), {2}, ("数组公式",), None
    if family == "缺少部件":
        part = draw(st.sampled_from([SHEET_PARTS[s] for s in CORE_SHEETS] + ["xl/workbook.xml",
                                    "xl/_rels/workbook.xml.rels", "[Content_Types].xml"]))
        parts = {k: v for k, v in PARTS.items() if k != part}
        return family, _zip(parts), {2}, (), None
    if family == "XML损坏":
        part = draw(st.sampled_from(PARSED_PARTS))
        cut = draw(st.integers(min_value=1, max_value=len(PARTS[part]) - 1))
        return family, _zip({**PARTS, part: PARTS[part][:cut]}), {2}, (), None
    if family == "XML实体":
        part = draw(st.sampled_from(XML_PARTS))
        kind = draw(st.sampled_from(["external", "parameter", "laughs", "external-dtd"]))
        return family, _with_entity(part, kind), {2}, ("文档类型声明或实体",), None
    if family == "压缩包内加密":
        return family, _zip_encrypted_flag(), {2}, ("密码",), None
    if family == "纯.xlsx":
        return family, _plain_xlsx(), {0, 1}, (), None
    if family == "旧版.xls":
        return family, _ole({"Workbook": b"\x09\x08\x10\x00" + bytes(700)}), {2}, ("旧版", ".xls"), None
    if family == "加密工作簿":
        return family, _encrypted(), {2}, ("打开密码",), None
    if family == "CSV改名":
        encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
        rows = draw(st.lists(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
                             min_size=1, max_size=8))
        text = "单位,项目,金额\n" + "\n".join(f"{r},{i},{i * 1.5}" for i, r in enumerate(rows))
        return family, text.encode(encoding), {2}, ("CSV",), None
    if family == "网页改名":
        return family, "<html><body><table><tr><td>三公经费</td></tr></table></body></html>".encode("gb18030"), \
            {2}, ("网页",), None
    if family == "XML2003改名":
        return family, b'<?xml version="1.0"?><?mso-application progid="Excel.Sheet"?><Workbook ' \
                       b'xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>', {2}, ("XML表格2003",), None
    if family == "PDF改名":
        return family, b"%PDF-1.7\n" + bytes(300), {2}, ("PDF",), None
    if family == "Word文档":
        return family, draw(st.sampled_from([_docx(), _ole({"WordDocument": bytes(600)})])), {2}, ("Word",), None
    if family == "OpenDocument":
        ods = _zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"})
        return family, ods, {2}, ("OpenDocument",), None
    if family == "xlsb":
        return family, _xlsb(), {2}, ("xlsb",), None
    if family == "Strict格式":
        return family, _strict(), {2}, ("Strict",), None
    if family == "普通zip":
        return family, _zip({"说明.txt": "不是工作簿".encode()}), {2}, ("压缩包",), None
    if family == "空文件":
        return family, b"", {2}, ("空文件",), None
    if family == "单元格缺少引用":  # the spec lets each cell follow the previous one
        return family, _sheet(C.DATA_SHEET, _strip_cell_refs), {BASE_CODE}, (), ("same",)
    if family == "带前缀的命名空间":
        return family, _sheet(sheet, _prefixed), {BASE_CODE}, (), ("same",)
    if family == "UTF-16部件":
        return family, _utf16_sheet(sheet), {BASE_CODE}, (), ("same",)
    if family == "被Excel锁定":
        lock = draw(st.sampled_from(["~$" + name, f".~lock.{name}#"]))
        return family, BASE, {2}, ("正在被",), lambda p: (p.parent / lock).write_bytes(b"owner")
    if family == "只读文件":
        return family, BASE, {2}, ("只读",), lambda p: os.chmod(p, 0o444)
    if family == "共享公式主单元格被覆盖":
        where, ref = TARGETS[C.score_name("预算完成率")]
        letters, row = X.split_ref(ref)
        far = f"N{row}"

        def edit(xml):
            xml, _ = _replace_cell(xml, ref, lambda s: (f'{f" s={chr(34)}{s}{chr(34)}" if s else ""}>'
                                                      f'<f t="shared" ref="{ref}:{far}" si="9">H{row}*2</f>'
                                                      f"<v>2</v></c>", None))
            return re.sub(rf'(<row r="{row}"[^>]*>.*?)(</row>)',
                          lambda m: m.group(1) + f'<c r="{far}"><f t="shared" si="9"/><v>2</v></c>' + m.group(2),
                          xml, count=1, flags=re.S)

        return family, _sheet(where, edit), {BASE_CODE}, (), ("shared", where, far)
    raise AssertionError(family)


def _base():
    result = _run(BASE)
    return result["code"], result["cells"]


BASE_CODE, BASE_CELLS = _base()


structure_cases = st.composite(lambda draw: _structure_case(draw))()


@corpus(150)
@given(structure_cases)
def test_structural_damage(damage):
    family, case, codes, fragments, extra = damage
    prepare = extra if callable(extra) else None
    result = _run(case, prepare=prepare)
    _check(family, case, case, result, codes, fragments)
    if isinstance(extra, tuple) and extra[0] == "merged":
        _, where, ref = extra
        assert any(f[1] == "错误" and f[3] == ref and "合并单元格" in f[5] for f in result["findings"]), \
            result["findings"][:3]
    if isinstance(extra, tuple) and extra[0] == "same" or family == "工作表改名（名称跟随）":
        assert result["cells"] == BASE_CELLS  # read exactly as the undamaged workbook
    if isinstance(extra, tuple) and extra[0] == "shared":
        _, where, far = extra
        xml = result["parts"][SHEET_PARTS[where]].decode()
        m = re.search(rf'<c r="{far}"[^>]*>(.*?)</c>', xml)
        assert m and "<f>" in m.group(1) and "si=" not in m.group(1)  # a formula of its own now
        assert not any(n.endswith("calcChain.xml") for n in result["parts"])
        assert 'fullCalcOnLoad="1"' in result["parts"]["xl/workbook.xml"].decode()


# ---- bytes ----------------------------------------------------------------------------------

@corpus(70)
@given(kind=st.sampled_from(["flip", "truncate", "random", "flip-directory"]), data=st.data())
def test_damaged_bytes(kind, data):
    if kind == "flip":
        at = data.draw(st.integers(min_value=0, max_value=len(BASE) - 1))
        mask = data.draw(st.integers(min_value=1, max_value=255))
        case = bytearray(BASE)
        case[at] ^= mask
        case = bytes(case)
    elif kind == "flip-directory":  # the central directory: names, sizes, offsets
        start = BASE.rfind(b"PK\x05\x06")
        directory = struct.unpack_from("<I", BASE, start + 16)[0]
        at = data.draw(st.integers(min_value=directory, max_value=len(BASE) - 1))
        case = bytearray(BASE)
        case[at] ^= data.draw(st.integers(min_value=1, max_value=255))
        case = bytes(case)
    elif kind == "truncate":
        case = BASE[: data.draw(st.integers(min_value=1, max_value=len(BASE) - 1))]
    else:
        case = data.draw(st.binary(min_size=1, max_size=4096))
    result = _run(case)
    codes = {2} if kind in ("truncate", "random") else {0, 1, 2}
    _check(f"字节损坏（{kind}）", case, case, result, codes)


# ---- fixed cases that need more than a corpus entry -----------------------------------------

def test_zip_bomb_refused_before_inflating(tmp_path):
    # 300 MB of zeros squeezed into a few hundred KB; the central directory tells the truth
    bomb = tmp_path / "炸弹.xlsm"
    zero = bytes(10 * 1024 * 1024)
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in PARTS.items():
            z.writestr(name, data)
        for i in range(30):
            z.writestr(f"xl/media/zero{i}.bin", zero)
    started = time.monotonic()
    result = _run(bomb.read_bytes())
    assert time.monotonic() - started < 5
    _check("压缩炸弹", b"", bomb.read_bytes(), result, {2}, ("超过200MB",))


def test_high_ratio_part_refused(tmp_path):
    parts = {**PARTS, "xl/media/image1.png": bytes(20 * 1024 * 1024)}
    data = _zip(parts)
    result = _run(data)
    _check("压缩炸弹", data, data, result, {2}, ("压缩比超过1:100",))


def test_lying_central_directory_is_not_believed(tmp_path):
    # the directory promises 100 bytes for a part that inflates to 50 MB: reading stops at 100
    data = bytearray(_zip({**PARTS, "docProps/app.xml": b"<x>" + b" " * (50 * 1024 * 1024) + b"</x>"}))
    at = data.rfind(b"docProps/app.xml") - 46  # its central directory entry
    assert data[at: at + 4] == b"PK\x01\x02"
    struct.pack_into("<I", data, at + 24, 100)  # uncompressed size
    local = struct.unpack_from("<I", data, at + 42)[0]
    struct.pack_into("<I", data, local + 22, 100)
    started = time.monotonic()
    result = _run(bytes(data))
    assert time.monotonic() - started < 5
    _check("压缩炸弹", bytes(data), bytes(data), result, {2})


@pytest.mark.parametrize("kind", ["external", "parameter", "external-dtd"])
def test_entities_never_leak_the_local_file_system(kind):
    secrets = [Path("/etc/passwd"), Path("/etc/hostname")]
    data = _with_entity(SHEET_PARTS[C.DATA_SHEET], kind)
    result = _run(data)
    _check("XML实体", data, data, result, {2}, ("已拒绝处理",))
    for secret in secrets:
        if secret.exists():
            for line in secret.read_text(errors="ignore").splitlines()[:3]:
                if len(line) > 6:
                    assert line not in result["err"] + result["out"]


def test_rows_inserted_above_inputs_names_follow(monkeypatch, tmp_path):
    """Excel moves the names when rows are inserted; reading goes through the names only."""
    from evalbook.workbook import layout
    from evalbook.build.example import example_values
    from evalbook.build.sheets import workbook_bytes

    values = example_values()[0]
    plain = _run(workbook_bytes(values))
    original = layout.sheets

    def shifted(*args, **kwargs):
        sheets = original(*args, **kwargs)
        for sheet in sheets:
            if sheet.title not in (C.DATA_SHEET, C.SCORE_SHEET):
                continue
            k = 3 if sheet.title == C.DATA_SHEET else 2
            for cell in sheet.cells:
                cell.ref = _shift(cell.ref, k)
                cell.merge = _shift(cell.merge, k) if cell.merge else None
            sheet.ranges = {n: ":".join(_shift(p, k) for p in a.split(":")) for n, a in sheet.ranges.items()}
            sheet.heights = {r + k: h for r, h in sheet.heights.items()}
            sheet.freeze = _shift(sheet.freeze, k) if sheet.freeze else None
        return sheets

    monkeypatch.setattr(layout, "sheets", shifted)
    moved = _run(workbook_bytes(values))
    _check("插入行（名称跟随）", b"", b"", moved, {plain["code"]})
    assert moved["cells"] == plain["cells"]
    # the same findings, each pointing at the cell where the value now is
    assert [f[1:3] + f[4:5] for f in moved["findings"]] == [f[1:3] + f[4:5] for f in plain["findings"]]
    shift = {C.DATA_SHEET: 3, C.SCORE_SHEET: 2}
    for was, now in zip(plain["findings"], moved["findings"]):
        if was[3] and was[2] in shift:
            assert now[3] == _shift(was[3], shift[was[2]]), (was, now)


def _shift(ref: str, k: int) -> str:
    letters, row = X.split_ref(ref)
    return f"{letters}{row + k}"


def test_protected_score_sheet_with_unlocked_outputs_is_written(tmp_path):
    """Sheet protection governs the accountant's edits, and Excel lets code write unlocked cells:
    a template whose result cells are unlocked keeps working when 评分表 is protected."""
    styles = PARTS["xl/styles.xml"].decode()
    xfs = re.search(r"<cellXfs[^>]*>(.*?)</cellXfs>", styles, re.S)
    count = len(re.findall(r"<xf\b", xfs.group(1)))
    unlocked = styles.replace("</cellXfs>", '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" '
                              'applyProtection="1"><protection locked="0"/></xf></cellXfs>', 1)
    unlocked = re.sub(r'(<cellXfs[^>]*count=")\d+', rf"\g<1>{count + 1}", unlocked, count=1)
    with XlsxBook(EXAMPLE) as book:  # every cell the service writes: outputs and 分值_ copies
        outputs = {book._target(n)[1] for n in book.defined if n not in C.contract_for().input_names
                   and book.locate(n) and book.locate(n).sheet == C.SCORE_SHEET}

    def edit(xml):
        xml = _protect(xml)
        for ref in outputs:
            xml = re.sub(rf'(<c r="{ref}")(?: s="\d+")?', rf'\1 s="{count}"', xml, count=1)
        return xml

    part = SHEET_PARTS[C.SCORE_SHEET]
    data = _zip({**PARTS, "xl/styles.xml": unlocked.encode(), part: edit(PARTS[part].decode()).encode()})
    result = _run(data)
    _check("评分表受保护（输出未锁定）", data, data, result, {BASE_CODE})
    assert result["cells"] == BASE_CELLS
    assert "<sheetProtection" in result["parts"][part].decode()


def test_formula_text_written_stays_text(tmp_path):
    """Text we write that starts like a formula is stored as text with Excel's own quote-prefix
    mark, exactly what typing a leading apostrophe would do."""
    path = tmp_path / "公式 文本.xlsm"
    path.write_bytes(BASE)
    hostile = ["=HYPERLINK(\"http://x\",\"点我\")", "+1+1", "-2", "@SUM(A1)", "＝1", "\tx", "=cmd|' /C calc'!A0"]
    with XlsxBook(path) as book:
        for text in hostile:
            book.write_values({C.STATUS: text})
            book.write_rows(C.RESULTS_TABLE, [(1, "错误", C.DATA_SHEET, "B4", text, text)], width=6)
            book.save()
            with zipfile.ZipFile(path) as z:
                sheet = z.read(SHEET_PARTS[C.SCORE_SHEET]).decode()
                results = z.read(SHEET_PARTS[C.RESULTS_SHEET]).decode()
                styles = z.read("xl/styles.xml").decode()
            status_ref = TARGETS[C.STATUS][1]
            cell = re.search(rf'<c r="{status_ref}"[^>]*>.*?</c>', sheet, re.S).group(0)
            assert "<f" not in cell and 't="inlineStr"' in cell
            style = int(re.search(r'\ss="(\d+)"', cell).group(1))
            xf = re.findall(r"<xf\b[^>]*?(?:/>|>.*?</xf>)", re.search(r"<cellXfs.*?</cellXfs>", styles, re.S)
                            .group(0), re.S)[style]
            assert 'quotePrefix="1"' in xf
            assert not re.search(r"<f[\s>/]", results)  # no formula element (<firstFooter> is the page's foot)
            assert book.read_values([C.STATUS])[C.STATUS] == text
    # the same style is reused on every run rather than piling up copies
    with zipfile.ZipFile(path) as z:
        after = len(re.findall(r"<xf\b", re.search(r"<cellXfs.*?</cellXfs>", z.read("xl/styles.xml").decode(),
                                                  re.S).group(0)))
    before = len(re.findall(r"<xf\b", re.search(r"<cellXfs.*?</cellXfs>", PARTS["xl/styles.xml"].decode(),
                                                re.S).group(0)))
    assert after - before <= 3


def test_vba_project_holds_no_workbook_text(tmp_path):
    """The VBA that calls Python is built from fixed sources: filling a workbook with anything at
    all leaves its project byte for byte the same, and scoring never touches it."""
    from evalbook.build.example import example_values
    from evalbook.build.template import build_template_bytes

    values = dict(example_values()[0])
    values["填报单位"] = '"): Shell "calc.exe" \' 注入'
    values["厉行节约保障措施"] = "Sub AutoOpen()\nEnd Sub"
    filled = _parts(build_template_bytes(values))
    blank = _parts(build_template_bytes())
    assert filled["xl/vbaProject.bin"] == blank["xl/vbaProject.bin"]
    result = _run(build_template_bytes(values))
    assert result["parts"]["xl/vbaProject.bin"] == blank["xl/vbaProject.bin"]
    for text in ("calc.exe", "AutoOpen"):
        assert text.encode("utf-16-le") not in blank["xl/vbaProject.bin"]
        assert text.encode() not in blank["xl/vbaProject.bin"]


def test_zz_corpus_size_and_outcomes(capsys):
    """The corpus summary (run with -s to see it); at least 200 generated cases when complete."""
    corpus = {"单元格取值", "字节损坏（flip）"}
    if not corpus <= FAMILIES_RUN:
        pytest.skip("run the whole module to count the corpus")
    total = sum(TALLY.values())
    by_code = collections.Counter()
    for (family, code), n in TALLY.items():
        by_code[code] += n
    with capsys.disabled():
        print(f"\n恶意/损坏输入语料：共{total}个；退出码0：{by_code[0]}，1：{by_code[1]}，2：{by_code[2]}")
        for family in sorted({f for f, _ in TALLY}):
            counts = "，".join(f"{code}:{TALLY[(family, code)]}" for code in (0, 1, 2) if TALLY[(family, code)])
            print(f"  {family}：{counts}")
    assert total >= 200
    # the figures the README and the guarantees page quote are the ones this run printed
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    guarantees = (ROOT / "docs" / "guarantees_zh.md").read_text(encoding="utf-8")
    assert f"的 {total} 个坏输入" in readme and f"当前语料 **{total} 个**" in guarantees
    assert f"退出码0有{by_code[0]}个、\n  1有{by_code[1]}个、2有{by_code[2]}个" in readme
    assert f"退出码0 有{by_code[0]}个、1 有{by_code[1]}个、2 有{by_code[2]}个" in guarantees
