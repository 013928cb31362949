"""The Excel layer of the committed workbooks: VBA project, ribbon, UDF wrappers, package parts.

The committed ``workbook_template.xlsm`` and example are binary; these tests read them back with
independent readers (olefile + a dir-stream walk written here, oletools' olevba, LibreOffice) and
compare with the text sources, so a source edit without ``python -m evalbook.build`` — or an
xlwings upgrade without a rebuild — fails here instead of shipping a stale binary.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import olefile
import pytest
from oletools.olevba import VBA_Parser

from evalbook.workbook import layout
from tests.conftest import SYSTEM_PYTHON, libreoffice_unavailable
from evalbook.build import template, vba
from evalbook.build.ovba import decompress, module_source, module_source_without_attributes

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "workbook_template.xlsm"
EXAMPLE = ROOT / "examples" / "衡山县住建局2020.xlsm"
BUILT = [pytest.param(TEMPLATE, id="template"), pytest.param(EXAMPLE, id="example")]
FUNDS = {TEMPLATE: 1, EXAMPLE: 2}  # fund sheets each was built with (the example carries two funds)
VBA_SOURCES = ROOT / "evalbook" / "template" / "vba"
RIBBON_SOURCE = ROOT / "evalbook" / "template" / "customUI14.xml"

CUSTOMUI_NS = "http://schemas.microsoft.com/office/2009/07/customui"
UI_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
VBA_CONTENT_TYPE = "application/vnd.ms-office.vbaProject"
MACRO_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOC_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

RIBBON_CALLBACK = re.compile(
    r"^[ \t]*Public[ \t]+Sub[ \t]+(\w+)[ \t]*\([ \t]*(?:ByRef[ \t]+)?control[ \t]+As[ \t]+IRibbonControl[ \t]*\)",
    re.IGNORECASE | re.MULTILINE,
)
# Each ribbon callback runs one function of evalbook.button through RunPython.
BUTTON_FUNCTIONS = {"OnScore": "score", "OnClear": "clear", "OnAddFund": "add_fund", "OnHelp": "show_help"}
BUTTON_LABELS = {"OnScore": "校验并评分", "OnClear": "清除标记", "OnAddFund": "新增专项资金", "OnHelp": "使用说明"}


def normalized(text: str) -> str:
    """Module body without its attribute header, LF line ends, no trailing blank lines."""
    return module_source_without_attributes(text).rstrip("\n")


# ---------------------------------------------------------------------------
# Reading the committed packages
# ---------------------------------------------------------------------------


def package(path: Path) -> zipfile.ZipFile:
    assert path.is_file(), f"{path} missing: run python -m evalbook.build"
    return zipfile.ZipFile(path)


def dir_modules(dir_stream: bytes) -> tuple[int, list[dict]]:
    """Code page and MODULE records of a decompressed dir stream ([MS-OVBA] 2.3.4.2).

    Walks records generically (id, size, payload); PROJECTVERSION is the one record whose
    size slot holds a constant 4 followed by 6 bytes of payload.
    """
    position, codepage, modules = 0, None, []
    while position < len(dir_stream):
        record_id, size = struct.unpack_from("<HI", dir_stream, position)
        position += 6
        if record_id == 0x0009:
            size = 6
        payload = dir_stream[position : position + size]
        position += size
        if record_id == 0x0003:
            (codepage,) = struct.unpack("<H", payload)
        elif record_id == 0x0019:
            modules.append({"name": payload.decode(f"cp{codepage}")})
        elif record_id == 0x001A:
            modules[-1]["stream"] = payload.decode(f"cp{codepage}")
        elif record_id == 0x0031:
            (modules[-1]["offset"],) = struct.unpack("<I", payload)
        elif record_id in (0x0021, 0x0022):
            modules[-1]["procedural"] = record_id == 0x0021
        elif record_id == 0x0010:
            break
    return codepage, modules


def project_sources(path: Path) -> dict[str, str]:
    """{module name: full stored source text} read with olefile and ovba.decompress."""
    ole = olefile.OleFileIO(package(path).read("xl/vbaProject.bin"))
    codepage, modules = dir_modules(decompress(ole.openstream("VBA/dir").read()))
    sources = {}
    for module in modules:
        stream = ole.openstream(f"VBA/{module['stream']}").read()
        sources[module["name"]] = decompress(stream[module["offset"] :]).decode(f"cp{codepage}")
    return sources


def olevba_sources(path: Path) -> dict[str, str]:
    parser = VBA_Parser(str(path), data=package(path).read("xl/vbaProject.bin"))
    return {filename.rsplit(".", 1)[0]: code for _, _, filename, code in parser.extract_macros()}


def expected_bodies(funds: int = 1) -> dict[str, str]:
    """Module name → body, taken from the repository's files and generators (not from vba_modules)."""
    xlwings_dir = vba.xlwings_package_dir()
    bodies = {"ThisWorkbook": (VBA_SOURCES / "ThisWorkbook.cls").read_text(encoding="utf-8")}
    bodies.update({sheet.code_name: "" for sheet in layout.sheets(funds)})
    bodies["xlwings"] = (xlwings_dir / "xlwings.bas").read_text(encoding="utf-8")
    bodies["Dictionary"] = (xlwings_dir / "addin" / "Dictionary.cls").read_text(encoding="utf-8")
    bodies["Ribbon"] = (VBA_SOURCES / "Ribbon.bas").read_text(encoding="utf-8")
    bodies["Startup"] = (VBA_SOURCES / "Startup.bas").read_text(encoding="utf-8")
    bodies["xlwings_udfs"] = vba.udf_wrapper_source()
    bodies["UdfHelp"] = vba.udf_help_source()
    return bodies


# ---------------------------------------------------------------------------
# (1) the committed binaries hold exactly the repository's sources
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", BUILT)
def test_vba_project_is_a_fresh_build(path):
    assert package(path).read("xl/vbaProject.bin") == vba.build_project(FUNDS[path]), (
        f"{path.name} holds a stale VBA project: run python -m evalbook.build")


@pytest.mark.parametrize("path", BUILT)
def test_module_sources_equal_repository_sources(path):
    stored = project_sources(path)
    expected = expected_bodies(FUNDS[path])
    assert list(stored) == [module.name for module in vba.vba_modules(FUNDS[path])]
    assert sorted(stored) == sorted(expected)
    for name, body in expected.items():
        assert stored[name].startswith(f'Attribute VB_Name = "{name}"\r\n'), name
        assert normalized(stored[name]) == normalized(body), f"module {name} differs from its source"


@pytest.mark.parametrize("path", BUILT)
def test_stored_text_is_what_the_writer_produces(path):
    # Header included: the attribute blocks by kind come from ovba.module_source.
    stored = project_sources(path)
    for module in vba.vba_modules(FUNDS[path]):
        assert stored[module.name] == module_source(module)


@pytest.mark.parametrize("path", BUILT)
def test_ribbon_part_is_the_source_file(path):
    assert package(path).read("customUI/customUI14.xml") == RIBBON_SOURCE.read_bytes()
    assert template.ribbon_xml() == RIBBON_SOURCE.read_bytes()


def test_xlwings_modules_come_from_the_installed_package():
    import xlwings

    stored = project_sources(TEMPLATE)
    assert f'Public Const XLWINGS_VERSION As String = "{xlwings.__version__}"' in stored["xlwings"]
    # The Declare statements name the DLL of exactly this version.
    assert f"xlwings64-{xlwings.__version__}.dll" in stored["xlwings"]


def test_own_modules_are_ascii_and_within_vba_line_limits():
    for module in vba.vba_modules():
        text = module_source(module)
        if module.name not in ("xlwings", "Dictionary"):
            assert text.isascii(), f"{module.name}: keep VBA plain ASCII (code-page independent)"
        longest = max(len(line) for line in text.split("\r\n"))
        assert longest <= 1023, f"{module.name}: a line of {longest} characters exceeds the VBA editor's limit"


def test_vba_builds_are_reproducible():
    assert vba.build_project() == vba.build_project()


# ---------------------------------------------------------------------------
# (2) the ribbon
# ---------------------------------------------------------------------------


def ribbon_tree() -> ElementTree.Element:
    return ElementTree.fromstring(RIBBON_SOURCE.read_bytes())


def standard_module_callbacks() -> dict[str, list[str]]:
    """Ribbon-callback Subs per standard module of the project."""
    return {
        module.name: RIBBON_CALLBACK.findall(module_source_without_attributes(module.source))
        for module in vba.vba_modules()
        if module.kind == "standard"
    }


def test_customui_is_well_formed_in_the_2009_namespace():
    root = ribbon_tree()
    assert root.tag == f"{{{CUSTOMUI_NS}}}customUI"
    for element in root.iter():
        assert element.tag.startswith(f"{{{CUSTOMUI_NS}}}"), element.tag
    ids = [element.get("id") for element in root.iter() if element.get("id")]
    assert len(ids) == len(set(ids)), "control ids must be unique"


def test_ribbon_tab_and_buttons():
    root = ribbon_tree()
    tabs = root.findall(f".//{{{CUSTOMUI_NS}}}tab")
    assert [tab.get("label") for tab in tabs] == ["绩效评价"]
    buttons = {button.get("onAction"): button for button in root.iter(f"{{{CUSTOMUI_NS}}}button")}
    assert {action: button.get("label") for action, button in buttons.items()} == BUTTON_LABELS
    assert buttons["OnScore"].get("size") == "large"
    for button in buttons.values():
        assert button.get("imageMso"), f"{button.get('id')} has no icon"


def test_every_onaction_names_a_public_callback_in_a_standard_module():
    callbacks = standard_module_callbacks()
    defined = [name for names in callbacks.values() for name in names]
    actions = [element.get("onAction") for element in ribbon_tree().iter() if element.get("onAction")]
    assert actions
    for action in actions:
        # Excel resolves a callback by bare name: it must exist exactly once.
        assert defined.count(action) == 1, f"onAction {action!r}: {defined.count(action)} callbacks"


def test_callbacks_run_the_button_functions():
    ribbon = module_source_without_attributes(template_text("Ribbon.bas"))
    procedures = dict(re.findall(r"Public Sub (\w+)\(control As IRibbonControl\)\n(.*?)\nEnd Sub", ribbon, re.S))
    assert set(procedures) == set(BUTTON_FUNCTIONS)
    for callback, function in BUTTON_FUNCTIONS.items():
        assert procedures[callback].strip() == (
            f'RunPython "import evalbook.button; evalbook.button.{function}()"')


def test_button_functions_exist_without_arguments():
    import evalbook.button as button

    for function in BUTTON_FUNCTIONS.values():
        assert hasattr(button, function), f"evalbook.button.{function} is missing (ribbon calls it)"
        assert not inspect.signature(getattr(button, function)).parameters


def template_text(name: str) -> str:
    return (VBA_SOURCES / name).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------
# (3) UDF wrappers and their help
# ---------------------------------------------------------------------------


WRAPPER_HEADER = re.compile(r"^(Function|Sub) (\w+)\((.*)\)$", re.MULTILINE)


def udf_module():
    import udfs

    return udfs


def public_udfs() -> dict[str, object]:
    udfs = udf_module()
    return {name: getattr(udfs, name) for name in udfs.__all__}


def worksheet_params(function) -> list[inspect.Parameter]:
    # "caller" is xlwings' reserved argument: filled with the calling cell, not shown in Excel.
    return [p for p in inspect.signature(function).parameters.values() if p.name != "caller"]


def test_udf_module_setting_names_udfs():
    assert vba.udf_module_names() == ["udfs"]


def test_wrapper_declares_every_udf_with_its_arity():
    wrapper = vba.udf_wrapper_source()
    declared = {name: (kind, params) for kind, name, params in WRAPPER_HEADER.findall(wrapper)}
    functions = public_udfs()
    assert set(declared) == set(functions)
    for name, function in functions.items():
        kind, params = declared[name]
        assert kind == "Function"
        expected = [("Optional " if p.default is not p.empty else "") + p.name for p in worksheet_params(function)]
        assert [p.strip() for p in params.split(",") if p.strip()] == expected, name
        # Every Python parameter is passed, caller as Nothing (xlwings substitutes the cell).
        passed = [p.name if p.name != "caller" else "Nothing"
                  for p in inspect.signature(function).parameters.values()]
        call = f'XLPy.CallUDF("udfs", "{name}", Array({", ".join(passed)}), ThisWorkbook, Application.Caller)'
        assert call in wrapper, name


def test_wrapper_module_is_in_the_project_under_xlwings_name():
    names = [module.name for module in vba.vba_modules()]
    assert "xlwings_udfs" in names and "xlwings" in names


XLWINGS_GENERATOR = r'''
import io, json, sys, types, importlib.util
# xlwings.udfs imports pywin32 at module level; its generator itself never touches COM.
for name in ("pythoncom", "pywintypes", "win32com", "win32com.client"):
    sys.modules.setdefault(name, types.ModuleType(name))
sys.modules["pythoncom"].CoInitialize = lambda: None
sys.modules["pywintypes"].com_error = Exception
sys.modules["win32com.client"].Dispatch = lambda *args: None
import xlwings
try:
    import xlwings.udfs as U
except ImportError as exc:  # a future xlwings may need more of pywin32 at import time
    json.dump({"skip": f"xlwings.udfs cannot be loaded here: {exc!r}"}, sys.stdout)
    sys.exit(0)
from xlwings.utils import VBAWriter
xlwings.func, xlwings.arg, xlwings.ret = U.xlfunc, U.xlarg, U.xlret
xlwings.sub = xlwings.script = U.xlsub
path, name = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location(name, path)
module = importlib.util.module_from_spec(spec)
sys.modules[name] = module
spec.loader.exec_module(module)
out = io.StringIO()
writer = VBAWriter(out)
# import_udfs' header lines (after Attribute VB_Name), then its generator.
writer.writeln("'Autogenerated code by xlwings - changes will be lost with next import!")
writer.writeln("""#Const App = "Microsoft Excel" 'Adjust when using outside of Excel""")
U.generate_vba_wrapper(name, module, out, types.SimpleNamespace(Name="workbook_template.xlsm"))
# import_udfs' MacroOptions arguments.
options = {}
for attr in dir(module):
    info = getattr(getattr(module, attr), "__xlfunc__", None)
    if info:
        options[info["name"]] = [info["ret"]["doc"][:255], info["category"],
                                 [a["doc"][:255] for a in info["args"] if not a["vba"]]]
json.dump({"wrapper": out.getvalue(), "options": options}, sys.stdout, ensure_ascii=False)
'''


@pytest.fixture(scope="module")
def xlwings_generated(tmp_path_factory):
    script = tmp_path_factory.mktemp("xlwings_generator") / "generate.py"
    script.write_text(XLWINGS_GENERATOR, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script), str(ROOT / "udfs.py"), "udfs"],
        capture_output=True, text=True, encoding="utf-8", cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    generated = json.loads(result.stdout)
    if "skip" in generated:
        pytest.skip(generated["skip"])
    return generated


def test_wrapper_is_exactly_what_xlwings_generates(xlwings_generated):
    assert vba.udf_wrapper_source() == xlwings_generated["wrapper"]


def test_macro_options_are_what_xlwings_registers(xlwings_generated):
    ours = {
        function.name: list(vba.macro_options(function))
        for function in vba.udf_functions("udfs")
    }
    assert ours == xlwings_generated["options"]


def run_udf_help(source: str) -> dict[str, tuple[str, object, list[str] | None]]:
    """Evaluate UdfHelp's generated statements: {function: (description, category, argument help)}."""
    def utf16(digits: str) -> str:
        return bytes.fromhex(digits).decode("utf-16-be")

    variables: dict[str, object] = {}
    registered = {}
    for line in (line.strip() for line in source.splitlines()):
        if m := re.fullmatch(r'hexText = "([0-9A-F]*)"', line):
            variables["hexText"] = m[1]
        elif m := re.fullmatch(r'hexText = hexText & "([0-9A-F]*)"', line):
            variables["hexText"] += m[1]
        elif m := re.fullmatch(r'(\w+(?:\(\d+\))?) = Utf16\((?:"([0-9A-F]*)"|hexText)\)', line):
            value = utf16(m[2] if m[2] is not None else variables["hexText"])
            target = m[1]
            if index := re.fullmatch(r"argHelp\((\d+)\)", target):
                variables["argHelp"][int(index[1]) - 1] = value
            else:
                variables[target] = value
        elif m := re.fullmatch(r"helpCategory = (\d+)", line):
            variables["helpCategory"] = int(m[1])
        elif m := re.fullmatch(r"ReDim argHelp\(1 To (\d+)\)", line):
            variables["argHelp"] = [None] * int(m[1])
        elif m := re.fullmatch(r'Describe "(\w+)", helpText, helpCategory, (argHelp|Empty)', line):
            docs = list(variables["argHelp"]) if m[2] == "argHelp" else None
            registered[m[1]] = (variables["helpText"], variables["helpCategory"], docs)
    return registered


def test_udf_help_registers_the_chinese_docs_of_udfs_py():
    udfs = udf_module()
    registered = run_udf_help(vba.udf_help_source())
    functions = public_udfs()
    assert set(registered) == set(functions)
    for name, function in functions.items():
        description, category, docs = registered[name]
        assert description == function.__doc__[:255]
        assert category == udfs.CATEGORY
        arg_docs = getattr(function, "__udf_arg_docs__")
        assert docs == [arg_docs[p.name][:255] for p in worksheet_params(function)], name
        assert all(doc and not doc.startswith("Positional argument") for doc in docs), name


def test_long_help_texts_are_split_and_decode_back():
    long_text = "按本工作簿“评分规则”表计算（" * 40 + "\U0001F600"  # beyond one line; a surrogate pair too
    lines = (["ReDim argHelp(1 To 1)"] + vba._text_lines("argHelp(1)", long_text)
             + vba._text_lines("helpText", "说明") + vba._text_lines("helpCategory", "绩效评价")
             + ['Describe "F", helpText, helpCategory, argHelp'])
    assert len(lines) > 5 and max(map(len, lines)) < 1000
    assert run_udf_help("\n".join(lines)) == {"F": ("说明", "绩效评价", [long_text])}


def test_udf_help_runs_on_open():
    workbook = module_source_without_attributes(template_text("ThisWorkbook.cls"))
    assert re.search(r"Private Sub Workbook_Open\(\)\n(?:.*\n)*?\s+RegisterUdfHelp\n(?:.*\n)*?End Sub", workbook)
    assert "Public Sub RegisterUdfHelp()" in vba.udf_help_source()
    # Help registration must leave the workbook unmodified in the user's eyes.
    assert "ThisWorkbook.Saved = wasSaved" in vba.udf_help_source()


PROCEDURE = re.compile(
    r"^(?:(Public|Private|Friend)\s+)?(?:Static\s+)?(?:Sub|Function|Property\s+(?:Get|Let|Set))\s+(\w+)",
    re.IGNORECASE | re.MULTILINE)


def test_public_procedure_names_are_unambiguous_across_standard_modules():
    # Excel calls UDFs, ribbon callbacks and RunPython by bare name; a name defined Public in two
    # standard modules is ambiguous. (Within xlwings.bas, #If branches repeat names: fine.)
    owners: dict[str, set[str]] = {}
    for module in vba.vba_modules():
        if module.kind != "standard":
            continue
        private = "Option Private Module" in module.source
        for scope, name in PROCEDURE.findall(module_source_without_attributes(module.source)):
            if scope.lower() != "private" and not private:
                owners.setdefault(name.upper(), set()).add(module.name)
    clashes = {name: modules for name, modules in owners.items() if len(modules) > 1}
    assert not clashes


def test_udf_names_are_usable_in_formulas():
    for name in public_udfs():
        assert not re.fullmatch(r"[A-Za-z]{1,3}\d+", name), f"{name} reads as a cell reference"
        assert not re.fullmatch(r"[Rr]\d*[Cc]\d*", name), f"{name} reads as an R1C1 reference"
        assert re.fullmatch(r"[A-Za-z]\w*", name) and len(name) <= 31, name


# ---------------------------------------------------------------------------
# xlwings.conf keys are the ones the embedded xlwings module reads
# ---------------------------------------------------------------------------


def test_conf_sheet_keys_are_read_by_the_standalone_module():
    xlwings_bas = (vba.xlwings_package_dir() / "xlwings.bas").read_text(encoding="utf-8")
    # GetConfigFromSheet upper-cases the keys of column A; GetConfig looks them up upper-case.
    read_keys = set(re.findall(r'GetConfig\("([^"]+)"', xlwings_bas))
    assert all(key == key.upper() for key in read_keys)
    for key, _, _ in layout.XLWINGS_CONF:
        assert key.upper() in read_keys, f"xlwings.conf key {key!r} is never read by the xlwings module"
    project = re.search(r'Public Const PROJECT_NAME As String = "(\w+)"', xlwings_bas)[1]
    conf = [sheet for sheet in layout.sheets() if sheet.code_name == "shtConf"]
    assert [sheet.title for sheet in conf] == [f"{project}.conf"]
    # The sheet is read from A1 down to the first blank key (Range("A1").End(xlDown)): the set
    # keys fill A1.. without a gap, and the optional examples sit below a blank row.
    in_a = {int(cell.ref[1:]): cell.value for cell in conf[0].cells if cell.ref.startswith("A")}
    active = len(layout.XLWINGS_CONF)
    assert [in_a[row] for row in range(1, active + 1)] == [key for key, _, _ in layout.XLWINGS_CONF]
    # one empty slot per optional key plus one more: filling every slot still ends the list
    # before the examples, which must never be read as settings
    slots = range(active + 1, active + len(layout.XLWINGS_CONF_OPTIONAL) + 2)
    assert not any(row in in_a for row in slots)
    assert all(value for _, value, _ in layout.XLWINGS_CONF)
    for key, _, _ in layout.XLWINGS_CONF_OPTIONAL:
        assert key.upper() in read_keys
        assert min(row for row, value in in_a.items() if value == key) > active + 1


# ---------------------------------------------------------------------------
# (4) LibreOffice and olevba read the same modules
# ---------------------------------------------------------------------------

LO_READER = Path(__file__).with_name("lo_vba_reader.py")
# What LibreOffice adds when it imports VBA into Basic.
LO_PREFIX = re.compile(r"^(Rem Attribute VBA_ModuleType=\w+|Option VBASupport 1|Option ClassModule)$")
# Procedure attributes (VB_Description, VB_UserMemId...) which LibreOffice does not keep.
PROCEDURE_ATTRIBUTE = re.compile(r"^Attribute \w+\.VB_\w+ = ")




def comparable(text: str) -> list[str]:
    lines = normalized(text.replace("\r\n", "\n")).split("\n")
    while lines and LO_PREFIX.match(lines[0]):
        lines.pop(0)
    lines = [line for line in lines if not PROCEDURE_ATTRIBUTE.match(line)]
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return lines


@pytest.fixture(scope="module")
def libreoffice_modules():
    reason = libreoffice_unavailable()
    if reason:
        pytest.skip(reason)
    result = subprocess.run([SYSTEM_PYTHON, str(LO_READER), str(TEMPLATE)],
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_libreoffice_lists_every_module_with_source(libreoffice_modules):
    expected = expected_bodies()
    assert set(libreoffice_modules) == set(expected)
    for name, body in expected.items():
        assert comparable(libreoffice_modules[name]) == comparable(body), name
    assert "VBA_ModuleType=VBAModule" in libreoffice_modules["Ribbon"]
    assert "VBA_ModuleType=VBAClassModule" in libreoffice_modules["Dictionary"]
    assert "VBA_ModuleType=VBADocumentModule" in libreoffice_modules["ThisWorkbook"]
    assert "VBA_ModuleType=VBADocumentModule" in libreoffice_modules["shtScore"]


def test_olevba_and_libreoffice_agree(libreoffice_modules):
    extracted = olevba_sources(TEMPLATE)
    assert set(extracted) == set(libreoffice_modules)
    for name, code in extracted.items():
        assert comparable(code) == comparable(libreoffice_modules[name]), name


def test_olevba_reads_the_project_sources():
    extracted = olevba_sources(TEMPLATE)
    stored = project_sources(TEMPLATE)
    assert set(extracted) == set(stored)
    for name, code in extracted.items():
        assert code.replace("\r\n", "\n") == stored[name].replace("\r\n", "\n"), name


# ---------------------------------------------------------------------------
# (5) package parts and code names
# ---------------------------------------------------------------------------


def relationships(zf: zipfile.ZipFile, part: str) -> list[dict[str, str]]:
    root = ElementTree.fromstring(zf.read(part))
    return [dict(rel.attrib) for rel in root.iter(f"{{{PKG_REL_NS}}}Relationship")]


@pytest.mark.parametrize("path", BUILT)
def test_ribbon_relationship(path):
    zf = package(path)
    ui = [rel for rel in relationships(zf, "_rels/.rels") if rel["Type"] == UI_REL]
    assert [rel["Target"].lstrip("/") for rel in ui] == ["customUI/customUI14.xml"]
    assert "customUI/customUI14.xml" in zf.namelist()
    # The ribbon part is plain XML by extension, as Office's own tools store it.
    types = ElementTree.fromstring(zf.read("[Content_Types].xml"))
    defaults = {d.get("Extension"): d.get("ContentType") for d in types.iter(f"{{{CT_NS}}}Default")}
    overrides = {o.get("PartName"): o.get("ContentType") for o in types.iter(f"{{{CT_NS}}}Override")}
    assert overrides.get("/customUI/customUI14.xml", defaults.get("xml")) == "application/xml"


@pytest.mark.parametrize("path", BUILT)
def test_vba_project_part_relationship_and_content_type(path):
    zf = package(path)
    assert "xl/vbaProject.bin" in zf.namelist()
    rels = [rel for rel in relationships(zf, "xl/_rels/workbook.xml.rels") if rel["Type"] == VBA_REL]
    assert [rel["Target"] for rel in rels] == ["vbaProject.bin"]
    types = ElementTree.fromstring(zf.read("[Content_Types].xml"))
    defaults = {d.get("Extension"): d.get("ContentType") for d in types.iter(f"{{{CT_NS}}}Default")}
    overrides = {o.get("PartName"): o.get("ContentType") for o in types.iter(f"{{{CT_NS}}}Override")}
    assert overrides.get("/xl/vbaProject.bin", defaults.get("bin")) == VBA_CONTENT_TYPE
    assert overrides["/xl/workbook.xml"] == MACRO_MAIN


@pytest.mark.parametrize("path", BUILT)
def test_code_names_match_the_document_modules(path):
    zf = package(path)
    workbook = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    assert workbook.find(f"{{{MAIN_NS}}}workbookPr").get("codeName") == "ThisWorkbook"
    targets = {rel["Id"]: rel["Target"] for rel in relationships(zf, "xl/_rels/workbook.xml.rels")}
    code_names = {}
    for sheet in workbook.iter(f"{{{MAIN_NS}}}sheet"):
        target = targets[sheet.get(f"{{{DOC_REL_NS}}}id")]
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        properties = ElementTree.fromstring(zf.read(part)).find(f"{{{MAIN_NS}}}sheetPr")
        code_names[sheet.get("name")] = properties.get("codeName")
    assert code_names == {sheet.title: sheet.code_name for sheet in layout.sheets(FUNDS[path])}
    documents = {module.name for module in vba.vba_modules(FUNDS[path]) if module.kind == "document"}
    assert documents == set(code_names.values()) | {"ThisWorkbook"}


# ---------------------------------------------------------------------------
# record for record like a project Excel itself saved
# ---------------------------------------------------------------------------


def _dir_record_ids(binary: bytes) -> tuple[list[int], dict[int, list[list[int]]]]:
    """(header record ids up to the references, module record ids grouped by MODULETYPE)."""
    data = decompress(olefile.OleFileIO(binary).openstream("VBA/dir").read())
    header, modules, current, i = [], {}, None, 0
    while i < len(data):
        rid, size = struct.unpack_from("<HI", data, i)
        i += 12 if rid == 0x0009 else 6 + size  # PROJECTVERSION's size field is a reserved 4
        if rid == 0x0019:
            current = []
        if current is None:
            header.append(rid)
            continue
        current.append(rid)
        if rid == 0x002B:
            kind = next(r for r in current if r in (0x0021, 0x0022))
            modules.setdefault(kind, []).append(current)
            current = []
    return header, modules


def test_dir_records_match_a_project_excel_saved():
    """xlwings ships quickstart_standalone.xlsm, a source-only project saved by Excel that every
    xlwings user opens: the only Excel output available here.  Our dir stream must use the same
    records in the same order (plus vbamc's PROJECTCOMPATVERSION), and the same _VBA_PROJECT."""
    reference = zipfile.ZipFile(vba.xlwings_package_dir() / "quickstart_standalone.xlsm").read("xl/vbaProject.bin")
    ours = package(TEMPLATE).read("xl/vbaProject.bin")
    their_header, their_modules = _dir_record_ids(reference)
    our_header, our_modules = _dir_record_ids(ours)
    def before_references(ids):
        return ids[: ids.index(0x0016)]

    assert [r for r in before_references(our_header) if r != 0x004A] == before_references(their_header)
    for kind in (0x0021, 0x0022):
        expected = their_modules[kind][0]
        assert all(ids == expected for ids in our_modules[kind]), hex(kind)
    for name in ("VBA/_VBA_PROJECT",):
        assert olefile.OleFileIO(ours).openstream(name).read() == olefile.OleFileIO(reference).openstream(name).read()
