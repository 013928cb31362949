"""A workbook's package made to match its file name: .xlsx without macros, .xlsm with them.

Excel opens a file only when its extension and its main content type agree, and a .xlsx may
hold no VBA.  So every workbook evalbook writes is made to match the name it is written to:

* **.xlsx** (the copy a department e-mails to the bureau, the template for offices without
  Python): the main part typed `…spreadsheetml.sheet.main+xml`; the VBA project, its signatures
  and the parts hanging off it, the ribbon (customUI and customUI14, whose buttons call macros)
  and their relationships and content types are gone; the `bin` default goes when no part left
  uses it.  Kept, as Excel keeps them when it saves a macro workbook as .xlsx: the workbook's and
  sheets' code names (Excel writes them into .xlsx files too; they are names, not code), form
  controls and ActiveX controls (a control's assigned macro is then simply not found), the
  hidden xlwings.conf sheet.  A workbook with Excel 4.0 macro sheets cannot be a .xlsx at all
  (they are sheets, not a part that can go): refused.
* **.xlsm**: the main part typed `…macroEnabled.main+xml`; a package without a VBA project gets
  evalbook's project and ribbon, exactly as the build adds them.  The project's document modules
  are paired with the workbook and its sheets by code name, so a workbook without one gets
  ThisWorkbook and a sheet without one Sheet<n> (its position), written into workbook.xml and
  the sheet part — without that pairing Excel adds a second "ThisWorkbook1" and Workbook_Open
  never runs.  A package that has a project keeps it, and its ribbon, byte for byte.

Every other part stays as it is.  The control parts ([Content_Types].xml, the relationships) are
edited as XML trees (`xmltree`); workbook.xml and the sheets, when they need a code name, get one
attribute where the parser found the element, every other byte kept (`xmledit`).  Nothing here
builds VBA: the project comes from a `MacroSource` the caller hands in (`evalbook.build.macros`).
"""

from __future__ import annotations

import xml.parsers.expat as expat
from pathlib import Path
from typing import Callable, Iterable, Protocol, Sequence

from evalbook.core.errors import WorkbookUnusable
from . import xmledit as XE
from . import xmltree as T
from .package import decode_xml, encode_xml, resolve

XLSX, XLSM = ".xlsx", ".xlsm"
PLAIN_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
MACRO_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
MAIN_TYPE = {XLSX: PLAIN_MAIN, XLSM: MACRO_MAIN}
VBA_TYPE = "application/vnd.ms-office.vbaProject"
MACRO_TYPES = frozenset({VBA_TYPE, "application/vnd.ms-office.vbaProjectSignature",
                         "application/vnd.ms-office.vbaProjectSignatureAgile",
                         "application/vnd.ms-office.vbaProjectSignatureV3"})
MACRO_SHEET_TYPES = frozenset({"application/vnd.ms-excel.macrosheet+xml",
                               "application/vnd.ms-excel.intlmacrosheet+xml"})
XML_TYPE = "application/xml"
VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
RIBBON_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"  # customUI14
UI_RELS = frozenset({RIBBON_REL, "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"})
WORKSHEET_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
OFFICE_DOCUMENT_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
RIBBON_PART = "customUI/customUI14.xml"
VBA_ID, RIBBON_ID = "rIdVBA", "rIdRibbon"  # the ids the build gives them
WORKBOOK_CODE = "ThisWorkbook"
TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
TYPES_PART = "[Content_Types].xml"
_BEFORE_WORKBOOK_PR = ("fileVersion", "fileSharing")  # CT_Workbook's order: these, then workbookPr


def kind_for(path: str | Path, in_place: bool = False) -> str:
    """XLSX or XLSM, from the name a workbook is to be written to; any other name is refused
    (`in_place`: the book's own name, so the way out is -o)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (XLSX, XLSM):
        return suffix
    way_out = "，请用 -o 另存为.xlsm或.xlsx文件；原文件未被改动" if in_place else "，请改用这两种扩展名之一"
    raise WorkbookUnusable(
        f"不能保存为“{path.name}”：工作簿只能保存为.xlsm（启用宏，带“绩效评价”按钮）"
        f"或.xlsx（不含宏，WPS和不启用宏的Excel都能直接打开）{way_out}")


class MacroSource(Protocol):
    """What a .xlsm gets when it has no VBA project: the project for these code names (the
    workbook's, then each sheet's in workbook order), and the ribbon (None: no ribbon)."""

    def project(self, workbook_code: str, sheet_codes: Sequence[str]) -> bytes: ...

    def ribbon(self) -> bytes | None: ...


class Parts:
    """The package as it is about to be written: part names in order and each part's bytes, with
    the changes made here kept apart (`changed`, `added`, `dropped`) for the writer."""

    def __init__(self, names: Iterable[str], read: Callable[[str], bytes], file_name: str):
        self._names = list(names)
        self._read = read
        self.file_name = file_name
        self.changed: dict[str, bytes] = {}
        self.added: dict[str, bytes] = {}
        self.dropped: set[str] = set()

    def names(self) -> list[str]:
        return [n for n in self._names if n not in self.dropped] + list(self.added)

    def find(self, part: str) -> str | None:
        """The name a part is stored under (OPC part names ignore case), None if it is not there."""
        folded = part.lower()
        return next((n for n in self.names() if n.lower() == folded), None)

    def read(self, part: str) -> bytes:
        name = self.find(part)
        if name is None:
            raise KeyError(part)
        if name in self.added:
            return self.added[name]
        return self.changed[name] if name in self.changed else self._read(name)

    def write(self, part: str, data: bytes) -> None:
        name = self.find(part)
        if name is not None and name in self.added:
            self.added[name] = data
        elif name is not None:
            self.changed[name] = data
        else:
            self.added[part] = data

    def drop(self, part: str) -> None:
        name = self.find(part)
        if name is None:
            return
        self.changed.pop(name, None)
        if self.added.pop(name, None) is None:
            self.dropped.add(name)

    def tree(self, part: str) -> T.Document:
        try:
            return T.parse(self.read(part))
        except T.XmlRefused as exc:
            raise WorkbookUnusable(f"文件“{self.file_name}”的部件“{part}”{exc}，无法转换格式；原文件未被改动") from None

    def text(self, part: str) -> tuple[bytes, str]:
        """A part as UTF-8 bytes for `xmledit`, and the codec to write it back with."""
        try:
            text, codec = decode_xml(self.read(part))
        except (UnicodeError, LookupError, ValueError):
            raise WorkbookUnusable(
                f"文件“{self.file_name}”的部件“{part}”的字符编码无法识别，无法转换格式；原文件未被改动") from None
        return text.encode("utf-8"), codec


def conform(parts: Parts, kind: str, macros: MacroSource | None = None) -> None:
    """Make `parts` the package a file of `kind` must be (see the module's text).  Without
    `macros` a .xlsx made .xlsm gets only its content type (a macro-enabled workbook without
    macros, which Excel opens as such)."""
    main = _main_part(parts)
    if kind == XLSX:
        _without_macros(parts, main)
    else:
        _with_macros(parts, main, macros)
    _set_main_type(parts, main, MAIN_TYPE[kind])


# ---- parts and relationships ----------------------------------------------------------------------

def rels_part(part: str) -> str:
    folder, _, base = part.rpartition("/")
    return f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"


def _source_of(rels: str) -> str | None:
    """The part a relationships part belongs to ('' for the package), None if it is no such part."""
    folder, _, base = rels.rpartition("/")
    if not (folder == "_rels" or folder.endswith("/_rels")) or not base.endswith(".rels"):
        return None
    owner = folder[: -len("_rels")].rstrip("/")
    name = base[: -len(".rels")]
    return f"{owner}/{name}" if owner else name


def _relationships(doc: T.Document) -> list[T.Element]:
    return [e for e in doc.root.elements() if e.is_(PKG_REL_NS, "Relationship")]


def _target(rel: T.Element, source: str) -> str | None:
    """The part a relationship points at, None for an external one."""
    if rel.attrs.get("TargetMode") == "External":
        return None
    return resolve(source.rpartition("/")[0], rel.attrs.get("Target", ""))


def _main_part(parts: Parts) -> str:
    if parts.find("_rels/.rels") is not None:
        for rel in _relationships(parts.tree("_rels/.rels")):
            if rel.attrs.get("Type") == OFFICE_DOCUMENT_REL:
                found = parts.find(_target(rel, "") or "")
                if found is not None:
                    return found
    return parts.find("xl/workbook.xml") or "xl/workbook.xml"


def with_relationship(rels: bytes, rel_id: str, rel_type: str, target: str) -> bytes:
    """A relationships part with the one relationship of `rel_type` pointing at `target`."""
    doc = T.parse(rels)
    for rel in _relationships(doc):
        if rel.attrs.get("Type") == rel_type:
            doc.root.remove(rel)
    doc.root.append(doc.root.new_child_like("Relationship", {"Id": rel_id, "Type": rel_type, "Target": target}))
    return T.serialize(doc)


def _remove_relationships(parts: Parts, source: str, types: frozenset[str]) -> list[str]:
    """Remove `source`'s relationships of these types; returns the parts they pointed at."""
    rels = rels_part(source)
    if parts.find(rels) is None:
        return []
    doc = parts.tree(rels)
    doomed = [rel for rel in _relationships(doc) if rel.attrs.get("Type") in types]
    for rel in doomed:
        doc.root.remove(rel)
    if doomed:
        parts.write(rels, T.serialize(doc))
    return [t for t in (_target(rel, source) for rel in doomed) if t is not None]


def _reachable(parts: Parts) -> set[str]:
    """Every part (lower-cased) reached from the package's relationships, with its own
    relationships part."""
    seen: set[str] = set()
    stack = [""]
    while stack:
        source = stack.pop()
        rels = parts.find(rels_part(source))
        if rels is None:
            continue
        seen.add(rels.lower())
        for rel in _relationships(parts.tree(rels)):
            target = _target(rel, source)
            found = parts.find(target) if target else None
            if found is not None and found.lower() not in seen:
                seen.add(found.lower())
                stack.append(found)
    return seen


def _sweep(parts: Parts, roots: Iterable[str]) -> set[str]:
    """Drop `roots` and what hangs off them (their relationships parts and those targets),
    except what is still reached from the rest of the package; returns what was dropped."""
    candidates: set[str] = set()
    stack = list(roots)
    while stack:
        found = parts.find(stack.pop())
        if found is None or found in candidates:
            continue
        candidates.add(found)
        rels = parts.find(rels_part(found))
        if rels is not None:
            candidates.add(rels)
            stack += [t for t in (_target(r, found) for r in _relationships(parts.tree(rels))) if t]
    live = _reachable(parts) if candidates else set()
    doomed = {p for p in candidates if p.lower() not in live}
    for part in doomed:
        parts.drop(part)
    return doomed


# ---- content types --------------------------------------------------------------------------------

def _types(parts: Parts) -> T.Document:
    if parts.find(TYPES_PART) is None:
        raise WorkbookUnusable(f"文件“{parts.file_name}”缺少部件“{TYPES_PART}”，不是完整的工作簿")
    return parts.tree(TYPES_PART)


def _overrides(doc: T.Document) -> list[T.Element]:
    return [e for e in doc.root.elements() if e.is_(TYPES_NS, "Override")]


def _defaults(doc: T.Document) -> list[T.Element]:
    return [e for e in doc.root.elements() if e.is_(TYPES_NS, "Default")]


def _override(doc: T.Document, part: str) -> T.Element | None:
    wanted = "/" + part.lower()
    return next((e for e in _overrides(doc) if e.attrs.get("PartName", "").lower() == wanted), None)


def _default(doc: T.Document, extension: str) -> T.Element | None:
    wanted = extension.lower()
    return next((e for e in _defaults(doc) if e.attrs.get("Extension", "").lower() == wanted), None)


def _extension(part: str) -> str:
    base = part.rpartition("/")[2]
    return base.rpartition(".")[2] if "." in base else ""


def content_type(doc: T.Document, part: str) -> str | None:
    """A part's content type: its Override, else the Default for its extension."""
    found = _override(doc, part) or _default(doc, _extension(part))
    return found.attrs.get("ContentType") if found is not None else None


def _add_type(doc: T.Document, local: str, attrs: dict[str, str], first: bool = False) -> None:
    element = doc.root.new_child_like(local, attrs)
    if first:  # where the build puts its Default: before the others
        at = next((doc.root.index(e) for e in _defaults(doc)), len(doc.root.children))
        doc.root.insert(at, element)
    else:
        doc.root.append(element)


def _set_main_type(parts: Parts, main: str, wanted: str) -> None:
    doc = _types(parts)
    found = _override(doc, main)
    if found is not None and found.attrs.get("ContentType") == wanted:
        return
    if found is None:
        _add_type(doc, "Override", {"PartName": "/" + main, "ContentType": wanted})
    else:
        found.attrs["ContentType"] = wanted
    parts.write(TYPES_PART, T.serialize(doc))


def _forget_types(parts: Parts, dropped: set[str]) -> None:
    """Overrides of dropped parts, and macro Defaults no remaining part uses, taken out."""
    doc = _types(parts)
    gone = {"/" + p.lower() for p in dropped}
    changed = False
    for element in _overrides(doc):
        if element.attrs.get("PartName", "").lower() in gone:
            doc.root.remove(element)
            changed = True
    overridden = {e.attrs.get("PartName", "").lower() for e in _overrides(doc)}
    by_default = {_extension(p).lower() for p in parts.names() if p != TYPES_PART and "/" + p.lower() not in overridden}
    for element in _defaults(doc):
        if element.attrs.get("ContentType") in MACRO_TYPES and element.attrs.get("Extension", "").lower() not in by_default:
            doc.root.remove(element)
            changed = True
    if changed:
        parts.write(TYPES_PART, T.serialize(doc))


# ---- to .xlsx -------------------------------------------------------------------------------------

def _without_macros(parts: Parts, main: str) -> None:
    doc = _types(parts)
    macro_sheets = [p for p in parts.names() if content_type(doc, p) in MACRO_SHEET_TYPES]
    if macro_sheets:
        raise WorkbookUnusable(
            f"文件“{parts.file_name}”含有Excel 4.0宏表（{macro_sheets[0]}），不能保存为不含宏的.xlsx；"
            f"请保存为.xlsm，或先在Excel中删除宏表")
    roots = _remove_relationships(parts, main, frozenset({VBA_REL}))
    roots += _remove_relationships(parts, "", UI_RELS)
    # a project no relationship names (a damaged or hand-made package) is a macro part all the same
    roots += [p for p in parts.names() if content_type(doc, p) in MACRO_TYPES]
    _forget_types(parts, _sweep(parts, roots))


# ---- to .xlsm -------------------------------------------------------------------------------------

def _with_macros(parts: Parts, main: str, macros: MacroSource | None) -> None:
    main_rels = parts.find(rels_part(main))
    if main_rels is not None:
        for rel in _relationships(parts.tree(main_rels)):
            target = _target(rel, main) if rel.attrs.get("Type") == VBA_REL else None
            if target and parts.find(target) is not None:
                return  # the workbook's own project (and ribbon) stay as they are
    if macros is None:
        return  # a macro-enabled workbook without macros: valid, and all a caller without VBA can make
    # a ribbon without the project would call macros that are not there: ours replaces it
    dropped = _sweep(parts, _remove_relationships(parts, "", UI_RELS))
    if dropped:
        _forget_types(parts, dropped)
    codes = _code_names(parts, main)
    project = macros.project(codes[0], codes[1:])
    folder = main.rpartition("/")[0]
    project_part = f"{folder}/vbaProject.bin" if folder else "vbaProject.bin"
    _add_part(parts, main, project_part, VBA_REL, VBA_ID, project, VBA_TYPE, as_default=True)
    ribbon = macros.ribbon()
    if ribbon is not None:
        _add_part(parts, "", RIBBON_PART, RIBBON_REL, RIBBON_ID, ribbon, XML_TYPE, as_default=False)


def _add_part(parts: Parts, source: str, part: str, rel_type: str, wished_id: str, data: bytes,
              kind: str, as_default: bool) -> None:
    """`part` added with a relationship from `source` and a content type: the extension's Default
    when there is none yet and `as_default` (as the build does for vbaProject.bin), else an
    Override unless the Default already gives this type."""
    parts.drop(part)  # an orphan of that name is replaced
    rels = rels_part(source)
    if parts.find(rels) is not None:
        doc = parts.tree(rels)
    else:
        doc = T.Document([], T.Element("Relationships", {"xmlns": PKG_REL_NS}), [], 1)
    taken = {e.attrs.get("Id") for e in _relationships(doc)}
    rel_id, n = wished_id, 2
    while rel_id in taken:
        rel_id, n = f"{wished_id}{n}", n + 1
    folder = source.rpartition("/")[0]
    target = part[len(folder) + 1:] if folder and part.startswith(folder + "/") else part
    doc.root.append(doc.root.new_child_like("Relationship", {"Id": rel_id, "Type": rel_type, "Target": target}))
    parts.write(rels, T.serialize(doc))
    parts.write(part, data)
    types = _types(parts)
    extension = _extension(part)
    default = _default(types, extension)
    if default is None and as_default:
        _add_type(types, "Default", {"Extension": extension, "ContentType": kind}, first=True)
    elif default is None or default.attrs.get("ContentType") != kind:
        _add_type(types, "Override", {"PartName": "/" + part, "ContentType": kind})
    else:
        return
    parts.write(TYPES_PART, T.serialize(types))


def _code_names(parts: Parts, main: str) -> list[str]:
    """The workbook's code name, then every worksheet's in workbook order: each one there, or given.
    A chart sheet is left to Excel, which gives it its module as for any sheet without one (its
    module would need the chart's own base class)."""
    workbook = parts.tree(main)
    rel_targets = {}
    if parts.find(rels_part(main)) is not None:
        rel_targets = {r.attrs.get("Id"): (r.attrs.get("Type"), _target(r, main))
                       for r in _relationships(parts.tree(rels_part(main)))}
    sheet_parts = []
    sheets = workbook.root.find(MAIN_NS, "sheets")
    for sheet in sheets.elements() if sheets is not None else []:
        rel_id = next((v for _, local, v in sheet.attrs_in(REL_NS) if local == "id"), None)
        rel_type, target = rel_targets.get(rel_id, ("", None))
        found = parts.find(target or "")
        if found is not None and rel_type == WORKSHEET_REL:
            sheet_parts.append(found)
    existing = [_first_child_code(parts, p, "sheetPr") for p in sheet_parts]
    taken = {c.lower() for c in existing if c}
    workbook_code = _first_child_code(parts, main, "workbookPr", _BEFORE_WORKBOOK_PR)
    if not workbook_code:
        workbook_code = _unique(WORKBOOK_CODE, taken)
        _give_code_name(parts, main, "workbookPr", workbook_code, _BEFORE_WORKBOOK_PR)
    taken.add(workbook_code.lower())
    codes = [workbook_code]
    for position, (part, code) in enumerate(zip(sheet_parts, existing), start=1):
        if not code:
            code = _unique(f"Sheet{position}", taken)
            _give_code_name(parts, part, "sheetPr", code, ())
        taken.add(code.lower())
        codes.append(code)
    return codes


def _unique(wished: str, taken: set[str]) -> str:
    candidate, n = wished, 2
    while candidate.lower() in taken:  # VBA ignores case
        candidate, n = f"{wished}_{n}", n + 1
    return candidate


class _Stop(Exception):
    pass


def _first_child_code(parts: Parts, part: str, local: str, after: Sequence[str] = ()) -> str | None:
    """codeName of the root's child `local` (sheetPr, workbookPr) near the head of the part: a big
    sheet is not parsed to its end for one attribute."""
    data, _ = parts.text(part)
    found: list[str | None] = [None]
    depth = [0]

    def start(name, attrs):
        depth[0] += 1
        if depth[0] == 2 and name.rpartition(":")[2] == local:
            found[0] = attrs.get("codeName") or None
            raise _Stop
        if depth[0] == 2 and name.rpartition(":")[2] not in after:
            raise _Stop  # past where it may stand

    def end(_name):
        depth[0] -= 1

    def refuse(*_args):
        raise _Stop  # a DTD is never expanded (the package check refuses such parts anyway)

    parser = expat.ParserCreate("UTF-8")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except _Stop:
        pass
    except expat.ExpatError:
        raise WorkbookUnusable(f"文件“{parts.file_name}”的部件“{part}”不是有效的XML，无法转换格式；原文件未被改动") from None
    return found[0]


def _give_code_name(parts: Parts, part: str, local: str, code: str, after: Sequence[str]) -> None:
    """codeName="code" on the root's child `local`, or that child made, after the children named
    in `after` (sheetPr: first of all); every other byte of the part as it was."""
    data, codec = parts.text(part)
    found: dict[str, XE.Element] = {}

    def start(element: XE.Element, stack) -> None:
        if element.depth == 1:
            found["root"] = element
        elif element.depth == 2:
            if element.local == local:
                found["own"] = element
                raise _Stop
            if element.local not in after:
                raise _Stop

    def end(element: XE.Element, stack) -> None:
        if element.depth == 2 and element.local in after:
            found["after"] = element

    try:
        XE.walk(data, start, end)
    except _Stop:
        pass
    except XE.XmlRefused:
        raise WorkbookUnusable(f"文件“{parts.file_name}”的部件“{part}”不是有效的XML，无法转换格式；原文件未被改动") from None
    own = found.get("own")
    if own is not None:
        edit = (own.start, own.tag_end, XE.edit_tag(data[own.start:own.tag_end], {"codeName": code}))
    else:
        root = found["root"]
        at = found["after"].end if "after" in found else root.tag_end
        if root.empty:  # <workbook/>: nothing to stand after
            raise WorkbookUnusable(f"文件“{parts.file_name}”的部件“{part}”是空的，不是完整的工作簿")
        element = b'<%s%s codeName="%s"/>' % (root.prefix.encode("utf-8"), local.encode("utf-8"),
                                              XE.escape_attr(code))
        edit = (at, at, element)
    parts.write(part, encode_xml(XE.splice(data, [edit]).decode("utf-8"), codec))
