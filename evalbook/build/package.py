"""Turn openpyxl's .xlsx package into the template: made macro-enabled (VBA project and ribbon
added by `adapters.workbook_kind`, the same code that makes any workbook a .xlsm or a .xlsx), the
drawings numbered as Excel numbers them, every zip entry dated alike so builds are reproducible."""

from __future__ import annotations

import io
import re
import zipfile

from ..adapters import workbook_kind as WK
from ..adapters import xmledit as XE
from .macros import GivenMacros

MACRO_MAIN = WK.MACRO_MAIN
PLAIN_MAIN = WK.PLAIN_MAIN
VBA_TYPE = WK.VBA_TYPE
VBA_REL = WK.VBA_REL
UI_REL = WK.RIBBON_REL
RIBBON_PART = WK.RIBBON_PART
OFFICE_NS = "urn:schemas-microsoft-com:office:office"
VML_NS = "urn:schemas-microsoft-com:vml"
TERMS_NS = "http://purl.org/dc/terms/"
SHAPES_PER_BLOCK = 1024  # Excel gives the n-th drawing the shape ids n*1024+1 … n*1024+1023
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
BUILD_STAMP = b"2021-01-01T00:00:00Z"  # openpyxl stamps the save time; a build must not depend on it
_add_relationship = WK.with_relationship


def make_xlsm(xlsx: bytes, vba_project: bytes | None, ribbon_xml: bytes | None) -> bytes:
    """A macro-enabled package with this project and ribbon (no project: none, nor a ribbon)."""
    return make_package(xlsx, WK.XLSM, GivenMacros(vba_project, ribbon_xml) if vba_project is not None else None)


def make_package(xlsx: bytes, kind: str, macros: WK.MacroSource | None) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    parts = {name: source.read(name) for name in source.namelist()}
    parts["docProps/core.xml"] = stamped(parts["docProps/core.xml"])
    for n, name in enumerate(sorted((p for p in parts if p.endswith(".vml")), key=_natural), start=1):
        parts[name] = numbered_drawing(parts[name], n)
    view = WK.Parts(parts, parts.__getitem__, "template")
    WK.conform(view, kind, macros)
    final = {name: view.read(name) for name in view.names()}
    order = ["[Content_Types].xml", "_rels/.rels"] + sorted(n for n in final if n not in
                                                            ("[Content_Types].xml", "_rels/.rels"))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, final[name])
    return out.getvalue()


def reproducible(xlsx: bytes) -> bytes:
    """A plain workbook (the example framework) with the build's date and fixed zip entries, so
    a rebuild gives the same bytes."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            data = source.read(name)
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, stamped(data) if name == "docProps/core.xml" else data)
    return out.getvalue()


def _natural(name: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def stamped(core: bytes) -> bytes:
    """docProps/core.xml with the build's date as its dcterms:created and :modified."""
    edits = []

    def end(e: XE.Element, stack) -> None:
        if e.uri == TERMS_NS and e.local in ("created", "modified") and not e.empty:
            edits.append((e.tag_end, e.close_start, BUILD_STAMP))

    XE.walk(core, on_end=end)
    return XE.splice(core, edits)


def numbered_drawing(vml: bytes, n: int) -> bytes:
    """The n-th VML drawing numbered as Excel numbers it: openpyxl writes idmap 1 and the same
    shape ids into every drawing, which collide once a workbook has comments on two sheets."""
    edits = []
    shapes = 0

    def start(e: XE.Element, stack) -> None:
        nonlocal shapes
        if e.uri == OFFICE_NS and e.local == "idmap":
            edits.append((e.start, e.tag_end, XE.edit_tag(vml[e.start:e.tag_end], {"data": str(n)})))
        elif e.uri == VML_NS and e.local == "shape":
            shapes += 1
            if shapes >= SHAPES_PER_BLOCK:
                raise ValueError(f"drawing {n}: more than {SHAPES_PER_BLOCK - 1} shapes need a second id block")
            new_id = f"_x0000_s{SHAPES_PER_BLOCK * n + shapes}"
            edits.append((e.start, e.tag_end, XE.edit_tag(vml[e.start:e.tag_end], {"id": new_id})))

    XE.walk(vml, start)
    return XE.splice(vml, edits)
