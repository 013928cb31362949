"""Turn openpyxl's .xlsx package into the macro-enabled template: VBA project and ribbon added,
content types and relationships set, every zip entry dated alike so builds are reproducible."""

from __future__ import annotations

import io
import re
import zipfile

from ..adapters import xmledit as XE

MACRO_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
PLAIN_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
VBA_TYPE = "application/vnd.ms-office.vbaProject"
VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
UI_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
RIBBON_PART = "customUI/customUI14.xml"
OFFICE_NS = "urn:schemas-microsoft-com:office:office"
VML_NS = "urn:schemas-microsoft-com:vml"
SHAPES_PER_BLOCK = 1024  # Excel gives the n-th drawing the shape ids n*1024+1 … n*1024+1023
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
BUILD_STAMP = b"2021-01-01T00:00:00Z"  # openpyxl stamps the save time; a build must not depend on it


def make_xlsm(xlsx: bytes, vba_project: bytes | None, ribbon_xml: bytes | None) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    parts = {name: source.read(name) for name in source.namelist()}
    parts["docProps/core.xml"] = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(<)", rb"\g<1>" + BUILD_STAMP + rb"\2",
                                        parts["docProps/core.xml"])
    for n, name in enumerate(sorted((p for p in parts if p.endswith(".vml")), key=_natural), start=1):
        parts[name] = numbered_drawing(parts[name], n)
    parts["[Content_Types].xml"] = _content_types(parts["[Content_Types].xml"], vba_project is not None)
    if vba_project is not None:
        parts["xl/vbaProject.bin"] = vba_project
        parts["xl/_rels/workbook.xml.rels"] = _add_relationship(
            parts["xl/_rels/workbook.xml.rels"], "rIdVBA", VBA_REL, "vbaProject.bin")
    if ribbon_xml is not None:
        parts[RIBBON_PART] = ribbon_xml
        parts["_rels/.rels"] = _add_relationship(parts["_rels/.rels"], "rIdRibbon", UI_REL, RIBBON_PART)
    order = ["[Content_Types].xml", "_rels/.rels"] + sorted(n for n in parts if n not in
                                                            ("[Content_Types].xml", "_rels/.rels"))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, parts[name])
    return out.getvalue()


def _natural(name: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


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


def _content_types(xml: bytes, with_vba: bool) -> bytes:
    text = xml.decode("utf-8")
    text = text.replace(PLAIN_MAIN, MACRO_MAIN)
    if with_vba and 'Extension="bin"' not in text:
        text = text.replace("<Default ", f'<Default Extension="bin" ContentType="{VBA_TYPE}"/><Default ', 1)
    return text.encode("utf-8")


def _add_relationship(xml: bytes, rel_id: str, rel_type: str, target: str) -> bytes:
    text = xml.decode("utf-8")
    if rel_type in text:
        text = re.sub(rf'<Relationship[^>]*Type="{re.escape(rel_type)}"[^>]*/>', "", text)
    rel = f'<Relationship Id="{rel_id}" Type="{rel_type}" Target="{target}"/>'
    text = text.replace("</Relationships>", rel + "</Relationships>")
    return text.encode("utf-8")
