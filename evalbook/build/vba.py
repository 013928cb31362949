"""The template's VBA project (``xl/vbaProject.bin``), assembled from text at build time.

Modules, in project order:

* ``ThisWorkbook`` (``template/vba/ThisWorkbook.cls``) and one empty document module per sheet
  code name in :func:`evalbook.layout.sheets` — Excel pairs document modules with sheets by
  these code names, which ``sheets.py`` writes into workbook.xml and every sheet part.
* ``xlwings`` and ``Dictionary``: xlwings' standalone VBA, read from the *installed* xlwings
  package (``xlwings/xlwings.bas`` and ``xlwings/addin/Dictionary.cls``, the pair
  ``xlwings quickstart --standalone`` ships in ``quickstart_standalone.xlsm`` and
  ``xlwings release`` imports), so the workbook needs no xlwings add-in and the embedded
  module always matches the xlwings version that built it (its ``Declare`` lines name
  ``xlwings64-<version>.dll``).
* ``Ribbon`` (``template/vba/Ribbon.bas``): the callbacks named in ``template/customUI14.xml``.
* ``Startup`` (``template/vba/Startup.bas``): starts xlwings' Python server after the workbook
  opens, when a Python is configured, scheduled by ``ThisWorkbook``'s ``Workbook_Open``.
* ``xlwings_udfs``: the UDF wrappers, generated from ``udfs.py`` in exactly the form xlwings'
  "Import Functions" (``xlwings.udfs.import_udfs`` / ``generate_vba_wrapper``) writes, so the
  functions work on first open and a later "Import Functions" replaces the module with the same
  text.
* ``UdfHelp``: what ``import_udfs`` then registers through ``Application.MacroOptions``
  (description, category, argument help), generated from the same introspection and run from
  ``ThisWorkbook``'s ``Workbook_Open``; Excel keeps argument help only through MacroOptions.

Every module is plain ASCII: ``UdfHelp`` carries its Chinese texts as UTF-16 hex, so nothing
depends on the ANSI code page of the PC that opens the workbook.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import io
import os
import sys
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Sequence

from evalbook.workbook import layout
from .ovba import VbaModule, build_vba_project

__all__ = [
    "UDF_HELP_MODULE",
    "UDF_WRAPPER_MODULE",
    "UdfArg",
    "UdfFunction",
    "build_project",
    "macro_options",
    "project_modules",
    "template_source",
    "udf_functions",
    "udf_help_source",
    "udf_module_names",
    "udf_wrapper_source",
    "utf16_hex",
    "vba_modules",
    "xlwings_package_dir",
    "xlwings_standalone_modules",
]

WORKBOOK_MODULE = "ThisWorkbook"
RIBBON_MODULE = "Ribbon"
STARTUP_MODULE = "Startup"
UDF_WRAPPER_MODULE = "xlwings_udfs"  # the name import_udfs gives (and later replaces) it
UDF_HELP_MODULE = "UdfHelp"
# (module name, file inside the installed xlwings package, kind)
XLWINGS_STANDALONE = (
    ("xlwings", "xlwings.bas", "standard"),
    ("Dictionary", "addin/Dictionary.cls", "class"),
)
# A workbook (not add-in) wrapper passes ThisWorkbook; import_udfs uses ActiveWorkbook for .xlam.
WRAPPER_WORKBOOK = "ThisWorkbook"
MACRO_OPTIONS_LIMIT = 255  # import_udfs cuts descriptions to what MacroOptions accepts
_HEX_CHUNK = 800  # hex digits per VBA line, far below the editor's 1023-character line limit


# ---------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------

def template_source(filename: str) -> str:
    """A VBA source file of ``evalbook/template/vba`` (package data)."""
    return resources.files("evalbook.template").joinpath("vba", filename).read_text(encoding="utf-8")


def xlwings_package_dir() -> Path:
    import xlwings

    return Path(xlwings.__file__).resolve().parent


def xlwings_standalone_modules() -> list[VbaModule]:
    base = xlwings_package_dir()
    return [
        VbaModule(name, (base / relative).read_text(encoding="utf-8"), kind)
        for name, relative, kind in XLWINGS_STANDALONE
    ]


def udf_module_names() -> list[str]:
    """The "UDF Modules" setting of the template's xlwings.conf sheet, as GetUdfModules splits it."""
    for key, value, _ in layout.XLWINGS_CONF:
        if key.upper() == "UDF MODULES":
            return [name for name in value.split(";") if name]
    raise LookupError("layout.XLWINGS_CONF has no 'UDF Modules' entry")


# ---------------------------------------------------------------------------
# UDF introspection
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class UdfArg:
    name: str
    doc: str
    optional: bool
    vararg: bool
    vba: str | None  # a VBA expression passed instead of a worksheet argument ("caller")


@dataclass(frozen=True)
class UdfFunction:
    name: str
    doc: str
    category: str | int
    volatile: bool
    call_in_wizard: bool
    sub: bool
    args: tuple[UdfArg, ...]


# The decorators below record the same ``__xlfunc__`` metadata as xlwings.udfs.xlfunc/xlarg/
# xlret/xlsub. Off Windows xlwings' own ``xw.func``/``xw.arg`` are no-ops (xlwings.udfs needs
# pywin32), so udfs.py is executed once more with these in their place.

def _xlfunc(f: Callable | None = None, **kwargs: Any):
    def inner(f: Callable) -> Callable:
        if not hasattr(f, "__xlfunc__"):
            f.__xlfunc__ = _describe(f)
        info = f.__xlfunc__
        # Like xlwings, a bare xlfunc (as xlarg/xlret call it) resets these to their defaults.
        info["category"] = kwargs.get("category", "xlwings")
        info["call_in_wizard"] = bool(kwargs.get("call_in_wizard", True))
        info["volatile"] = bool(kwargs.get("volatile", False))
        return f

    return inner if f is None else inner(f)


def _xlsub(f: Callable | None = None, **kwargs: Any):
    def inner(f: Callable) -> Callable:
        f = _xlfunc(**kwargs)(f)
        f.__xlfunc__["sub"] = True
        return f

    return inner if f is None else inner(f)


def _xlret(convert: Any = None, **kwargs: Any):
    def inner(f: Callable) -> Callable:
        _xlfunc(f)
        return f

    return inner


def _xlarg(arg: str, convert: Any = None, **kwargs: Any):
    def inner(f: Callable) -> Callable:
        info = _xlfunc(f).__xlfunc__
        name = arg.lstrip("*")
        if name not in info["argmap"]:
            raise ValueError(f"{f.__name__}: invalid argument name {arg!r}")
        for special in ("vba", "doc"):
            if special in kwargs:
                info["argmap"][name][special] = kwargs[special]
        return f

    return inner


def _describe(f: Callable) -> dict:
    """xlwings.udfs.xlfunc's first pass: arguments, optional ones, docs."""
    params = []
    defaults = 0
    vararg = None
    for p in inspect.signature(f).parameters.values():
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            params.append(p.name)
            defaults += p.default is not inspect.Parameter.empty
        elif p.kind is inspect.Parameter.VAR_POSITIONAL:
            params.append(p.name)
            vararg = p.name
        else:
            raise ValueError(f"{f.__name__}: xlwings does not support UDFs with keyword arguments")
    if vararg and defaults:
        raise ValueError(f"{f.__name__}: xlwings does not support optional and variable arguments together")
    required = len(params) - defaults
    hints = _annotated_docs(f)
    args = []
    for position, name in enumerate(params):
        args.append({
            "name": name,
            "doc": hints.get(name, f"Positional argument {position + 1}"),
            "vararg": name == vararg,
            "optional": position >= required and name != vararg,
            "vba": None,
        })
    # xlwings names the defining file by its absolute path; the base name keeps builds reproducible.
    doc = f.__doc__ if f.__doc__ is not None else (
        f"Python function '{f.__name__}' defined in '{os.path.basename(f.__code__.co_filename)}'.")
    return {"name": f.__name__, "sub": False, "args": args, "argmap": {a["name"]: a for a in args}, "doc": doc}


def _annotated_docs(f: Callable) -> dict[str, str]:
    """``doc`` given through ``Annotated[..., {"doc": ...}]`` hints, as xlwings reads them."""
    from typing import Annotated, get_args, get_origin, get_type_hints

    try:
        hints = get_type_hints(f, include_extras=True)
    except Exception:  # unresolvable annotations: xlwings would fail; no docs from hints here
        return {}
    docs = {}
    for name, hint in hints.items():
        if get_origin(hint) is Annotated:
            extras = get_args(hint)[1:]
            if extras and isinstance(extras[0], dict) and "doc" in extras[0]:
                docs[name] = extras[0]["doc"]
    return docs


_PATCH_LOCK = threading.Lock()
_DECORATORS = {"func": _xlfunc, "sub": _xlsub, "script": _xlsub, "ret": _xlret, "arg": _xlarg}


def _module_path(module_name: str) -> Path:
    spec = importlib.util.find_spec(module_name)
    if spec is not None and spec.origin and spec.origin.endswith(".py"):
        return Path(spec.origin)
    # Building from a checkout whose root is not on sys.path: udfs.py sits beside the package.
    candidate = Path(__file__).resolve().parents[2] / f"{module_name}.py"
    if candidate.is_file():
        return candidate
    raise ModuleNotFoundError(f"UDF module {module_name!r} not found")


@functools.lru_cache(maxsize=None)
def udf_functions(module_name: str) -> tuple[UdfFunction, ...]:
    """The UDFs of ``module_name`` in the order import_udfs visits them (``dir(module)``)."""
    import xlwings

    path = _module_path(module_name)
    spec = importlib.util.spec_from_file_location(f"_evalbook_vba_{module_name}", path)
    module = importlib.util.module_from_spec(spec)
    with _PATCH_LOCK:
        saved = {name: getattr(xlwings, name, None) for name in _DECORATORS}
        try:
            for name, decorator in _DECORATORS.items():
                setattr(xlwings, name, decorator)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
        finally:
            sys.modules.pop(spec.name, None)
            for name, original in saved.items():
                if original is None:
                    delattr(xlwings, name)
                else:
                    setattr(xlwings, name, original)
    found = []
    for attr in dir(module):
        info = getattr(getattr(module, attr), "__xlfunc__", None)
        if info is None:
            continue
        args = tuple(
            UdfArg(a["name"], a["doc"], a["optional"], a["vararg"],
                   "Nothing" if a["name"] == "caller" else a["vba"])
            for a in info["args"]
        )
        found.append(UdfFunction(info["name"], info["doc"], info["category"], info["volatile"],
                                 info["call_in_wizard"], info.get("sub", False), args))
    return tuple(found)


# ---------------------------------------------------------------------------
# xlwings_udfs: xlwings' wrapper text
# ---------------------------------------------------------------------------

def udf_wrapper_source() -> str:
    """The ``xlwings_udfs`` module body, as xlwings.udfs.import_udfs writes it (minus VB_Name)."""
    from xlwings.utils import VBAWriter  # xlwings' own writer: indentation and line splitting

    out = io.StringIO()
    vba = VBAWriter(out)
    vba.writeln("'Autogenerated code by xlwings - changes will be lost with next import!")
    vba.writeln("""#Const App = "Microsoft Excel" 'Adjust when using outside of Excel""")
    for module_name in udf_module_names():
        for function in udf_functions(module_name):
            _write_wrapper(vba, module_name, function)
    return out.getvalue()


def _write_wrapper(vba, module_name: str, function: UdfFunction) -> None:
    """One procedure, line for line as xlwings.udfs.generate_vba_wrapper emits it."""
    ftype = "Sub" if function.sub else "Function"
    fname = function.name
    signature = []
    vararg = ""
    for arg in function.args:
        if arg.vba:
            continue
        text = arg.name
        if arg.optional:
            text = "Optional " + text
        elif arg.vararg:
            text = "ParamArray " + text + "()"
            vararg = arg.name
        signature.append(text)
    with vba.block(f"{ftype} {fname}({', '.join(signature)})"):
        if ftype == "Function":
            if not function.call_in_wizard:
                vba.writeln('If (Not Application.CommandBars("Standard").Controls(1).Enabled) Then Exit Function')
            if function.volatile:
                vba.writeln("Application.Volatile")
        if vararg:
            fixed = [a.vba or a.name for a in function.args if not a.vararg]
            vba.writeln("Dim argsArray() As Variant")
            vba.writeln(f"argsArray = Array({', '.join(fixed)})")
            vba.writeln(f"ReDim Preserve argsArray(0 to UBound({vararg}) - LBound({vararg}) + {len(fixed)})")
            vba.writeln(f"For k = LBound({vararg}) To UBound({vararg})")
            vba.writeln(f"argsArray({len(fixed)} + k - LBound({vararg})) = {vararg}(k)")
            vba.writeln("Next k")
            args_vba = "argsArray"
        else:
            args_vba = "Array(" + ", ".join(a.vba or a.name for a in function.args) + ")"
        call = f'"{module_name}", "{fname}", {args_vba}'
        if ftype == "Sub":
            with vba.block('#If App = "Microsoft Excel" Then'):
                vba.writeln(f"XLPy.CallUDF {call}, {WRAPPER_WORKBOOK}, Application.Caller")
            with vba.block("#Else"):
                vba.writeln(f"XLPy.CallUDF {call}")
            vba.writeln("#End If")
        else:
            with vba.block('#If App = "Microsoft Excel" Then'):
                vba.writeln("If TypeOf Application.Caller Is Range Then On Error GoTo failed")
                vba.writeln(f"{fname} = XLPy.CallUDF({call}, {WRAPPER_WORKBOOK}, Application.Caller)")
                vba.writeln("Exit " + ftype)
            with vba.block("#Else"):
                vba.writeln(f"{fname} = XLPy.CallUDF({call})")
                vba.writeln("Exit " + ftype)
            vba.writeln("#End If")
            vba.write_label("failed")
            vba.writeln(fname + " = Err.Description")
    vba.writeln("End " + ftype)
    vba.writeln("")


# ---------------------------------------------------------------------------
# UdfHelp: the MacroOptions registration import_udfs performs
# ---------------------------------------------------------------------------

def macro_options(function: UdfFunction) -> tuple[str, str | int, list[str]]:
    """(Description, Category, ArgumentDescriptions) exactly as import_udfs passes them."""
    docs = [arg.doc[:MACRO_OPTIONS_LIMIT] for arg in function.args if not arg.vba]
    return function.doc[:MACRO_OPTIONS_LIMIT], function.category, docs


def utf16_hex(text: str) -> str:
    """UTF-16 code units as 4 hex digits each: what UdfHelp's ``Utf16`` turns back into text."""
    return text.encode("utf-16-be").hex().upper()


def _text_lines(target: str, text: str) -> list[str]:
    """VBA statements setting ``target`` to ``text`` (long texts over several lines)."""
    digits = utf16_hex(text)
    if len(digits) <= _HEX_CHUNK:
        return [f'{target} = Utf16("{digits}")']
    chunks = [digits[i : i + _HEX_CHUNK] for i in range(0, len(digits), _HEX_CHUNK)]
    lines = [f'hexText = "{chunks[0]}"'] + [f'hexText = hexText & "{chunk}"' for chunk in chunks[1:]]
    return lines + [f"{target} = Utf16(hexText)"]


def udf_help_source() -> str:
    """The ``UdfHelp`` module body: `template/vba/UdfHelp.bas` with one registration per UDF
    where its ``'@REGISTRATIONS@`` line stands."""
    registrations = []
    for module_name in udf_module_names():
        for function in udf_functions(module_name):
            description, category, docs = macro_options(function)
            shown = [a.name for a in function.args if not a.vba]
            body = [f"' {function.name}({', '.join(shown)})"]
            body += _text_lines("helpText", description)
            if isinstance(category, str):
                body += _text_lines("helpCategory", category)
            else:
                body.append(f"helpCategory = {int(category)}")
            if docs:
                body.append(f"ReDim argHelp(1 To {len(docs)})")
                for index, doc in enumerate(docs, 1):
                    body += _text_lines(f"argHelp({index})", doc)
                body.append(f'Describe "{function.name}", helpText, helpCategory, argHelp')
            else:
                body.append(f'Describe "{function.name}", helpText, helpCategory, Empty')
            registrations.append("")
            registrations += ["    " + line for line in body]
    lines = template_source("UdfHelp.bas").split("\n")
    marker = lines.index("    '@REGISTRATIONS@")
    return "\n".join(lines[:marker] + registrations + lines[marker + 1:])


# ---------------------------------------------------------------------------
# The project
# ---------------------------------------------------------------------------

def vba_modules(funds: int = 1, framework=None) -> list[VbaModule]:
    return project_modules(WORKBOOK_MODULE, [sheet.code_name for sheet in layout.sheets(funds, framework)])


def project_modules(workbook_code: str, sheet_codes: Sequence[str]) -> list[VbaModule]:
    """The template's modules for a workbook with these code names: its document modules are
    paired with the workbook and its sheets by name (any workbook, not only a fresh template)."""
    modules = [VbaModule(workbook_code, template_source("ThisWorkbook.cls"), "document", is_workbook=True)]
    modules += [VbaModule(code, "", "document", is_workbook=False) for code in sheet_codes]
    modules += xlwings_standalone_modules()
    modules.append(VbaModule(RIBBON_MODULE, template_source("Ribbon.bas"), "standard"))
    modules.append(VbaModule(STARTUP_MODULE, template_source("Startup.bas"), "standard"))
    modules.append(VbaModule(UDF_WRAPPER_MODULE, udf_wrapper_source(), "standard"))
    modules.append(VbaModule(UDF_HELP_MODULE, udf_help_source(), "standard"))
    return modules


def build_project(funds: int = 1, framework=None) -> bytes:
    return build_vba_project(vba_modules(funds, framework))
