"""Copying a worksheet inside a workbook file, the way Excel's "移动或复制工作表" leaves the package.

Every part involved is parsed and written back as XML (`xmltree`), never edited as text: the copy's
sheet part, workbook.xml (the new <sheet>, its defined names, sheet-local names shifted to their
sheets' new positions), the workbook's relationships and the content types.

The copy's own relationships are made whole: printer settings are copied as a part of its own and
external hyperlinks are kept; everything else hanging off the source (drawings, comments and their
VML, header/footer pictures, tables, OLE objects, form controls, also inside mc:AlternateContent)
is left with the source, and the copy's references to it are removed with it, so no r:id dangles.
The copy gets a fresh xr:uid and a code name of its own, and is not the selected tab.
"""

from __future__ import annotations

import re
import uuid
import xml.parsers.expat as expat
from typing import Mapping

from evalbook.adapters import xmltree as T
from evalbook.adapters.package import resolve
from evalbook.core.errors import WorkbookUnusable

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
WORKSHEET_TYPE = REL_NS + "/worksheet"
PRINTER_SETTINGS_TYPE = REL_NS + "/printerSettings"
SHEET_CONTENT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_REVISION_NS = re.compile(r"^http://schemas\.microsoft\.com/office/spreadsheetml/20\d\d/revision\d*$")

# elements that carry a relationship as one setting among others: only the attribute goes
_KEEP_ELEMENT = {"pageSetup"}
# containers left empty when their last child goes are removed too (an empty one is invalid)
_CONTAINERS = {"oleObjects", "controls", "hyperlinks", "tableParts", "webPublishItems"}
_FORMULA_ELEMENTS = {"f", "formula", "formula1", "formula2"}
_WORKBOOK_AFTER = ("sheets", "functionGroups", "externalReferences")  # definedNames follows these


class SheetCopyError(WorkbookUnusable):
    pass


def copy_sheet(book, source: str, title: str, sheet_xml: str, *, after: str | None = None,
               names: Mapping[str, str] | None = None, literals: Mapping[str, str] | None = None,
               code_name: str | None = None) -> str:
    """Add `sheet_xml` (the source sheet's XML, its cells already as the copy should hold them) as a
    new sheet `title`, placed after sheet `after` (default: at the end), with the parts it needs;
    the parts go to `book.put_part` and are written by `book.save`.  Returns the new part's name.

    `names` maps each new workbook-level defined name to the existing one it copies, re-pointed
    from `source` to `title`; the source's sheet-local names (print area, print titles) are copied
    for the new sheet too.  `literals` are replacements inside the copy's formulas (a rule that
    names its own sheet in a string).  `code_name` is the wished code name, made unique."""
    pkg = book.package
    file_name = book.path.name
    main = book.main_part
    source_part = book.sheet_parts[source]

    def load(part: str) -> T.Document:
        try:
            return T.parse(pkg.read(part))
        except T.XmlRefused as exc:
            raise SheetCopyError(f"工作簿“{file_name}”的部件“{part}”{exc}，无法新增工作表；原文件未被改动") from None

    workbook = load(main)
    main_rels_part = _rels_part(main)
    main_rels = load(main_rels_part)
    types = load("[Content_Types].xml")
    source_rels_part = _rels_part(source_part)
    source_rels = load(source_rels_part) if pkg.has(source_rels_part) else None
    try:
        sheet = T.parse(sheet_xml.encode("utf-8"))
    except T.XmlRefused as exc:
        raise SheetCopyError(f"工作簿“{file_name}”的工作表“{source}”{exc}，无法复制；原文件未被改动") from None

    taken = {p.lower() for p in pkg.names} | {p.lower() for p in getattr(book, "_parts", {})}
    new_part = _free_name(taken, "xl/worksheets/sheet{}.xml")
    taken.add(new_part.lower())

    kept_rels, new_parts, overrides = _copy_relationships(pkg, source_part, new_part, source_rels, types, taken)
    _drop_dangling(sheet.root, {rel.attrs.get("Id") for rel in kept_rels.root.elements()} if kept_rels else set())
    _detach(sheet.root, _unique_code_name(pkg, book, code_name), literals or {}, source, title)

    rel_id = _add_workbook_relationship(main_rels.root, main, new_part)
    position = _add_sheet_entry(workbook.root, title, rel_id, after)
    _add_names(workbook.root, names or {}, book.sheet_order.index(source), position, source, title)

    sheet_type = _override_type(types.root, source_part) or SHEET_CONTENT
    overrides.append((new_part, sheet_type))
    for part, content_type in overrides:
        _add_override(types.root, part, content_type)

    book.put_part(main, T.serialize(workbook))
    book.put_part(main_rels_part, T.serialize(main_rels))
    book.put_part("[Content_Types].xml", T.serialize(types))
    book.put_part(new_part, T.serialize(sheet))
    if kept_rels is not None:
        book.put_part(_rels_part(new_part), T.serialize(kept_rels))
    for part, data in new_parts.items():
        book.put_part(part, data)
    return new_part


# ---- the copy's relationships --------------------------------------------------------------------

def _copy_relationships(pkg, source_part: str, new_part: str, source_rels: T.Document | None,
                        types: T.Document, taken: set[str]):
    """(the copy's relationships document or None, parts to add, (part, content type) overrides)."""
    if source_rels is None:
        return None, {}, []
    folder = source_part.rpartition("/")[0]
    new_parts: dict[str, bytes] = {}
    overrides: list[tuple[str, str]] = []
    root = source_rels.root
    for rel in list(root.elements()):
        if not rel.is_(PKG_REL_NS, "Relationship"):
            root.remove(rel)
            continue
        if rel.attrs.get("TargetMode") == "External":
            continue  # a hyperlink to a web page or file: the same link from the copy
        if rel.attrs.get("Type") == PRINTER_SETTINGS_TYPE:
            target = resolve(folder, rel.attrs.get("Target", ""))
            if pkg.has(target):
                stem, dot, ext = target.rpartition("/")[2].rpartition(".")
                base = re.sub(r"\d+$", "", stem) or "printerSettings"
                copied = _free_name(taken, f"{target.rpartition('/')[0]}/{base}{{}}.{ext}" if dot else target + "{}")
                taken.add(copied.lower())
                new_parts[copied] = pkg.read(target)
                rel.attrs["Target"] = _relative(new_part, copied)
                content_type = _override_type(types.root, target)
                if content_type:
                    overrides.append((copied, content_type))
                continue
        root.remove(rel)  # left with the source sheet: the copy's references go below
    for node in [n for n in root.children if not isinstance(n, T.Element)]:
        if not isinstance(node, T.Comment):
            root.remove(node)
    return (source_rels if root.elements() else None), new_parts, overrides


def _drop_dangling(root: T.Element, kept: set[str]) -> None:
    """Remove what refers to a relationship the copy does not have."""
    doomed: list[T.Element] = []
    for element in root.iter():
        for qname, _, value in element.attrs_in(REL_NS):
            if value in kept:
                continue
            if element.local in _KEEP_ELEMENT:
                del element.attrs[qname]
            else:
                doomed.append(element)
                break
    for element in doomed:
        if not _attached(element, root):
            continue  # already gone with an ancestor
        target = element
        node = element.parent
        while isinstance(node, T.Element) and node is not root:
            if node.is_(MC_NS, "AlternateContent"):
                target = node  # its other branch names the same object: both go
            node = node.parent
        _remove(target, root)


def _attached(element: T.Element, root: T.Element) -> bool:
    node = element
    while node is not root:
        parent = node.parent
        if parent is None or not any(c is node for c in parent.children):
            return False
        node = parent
    return True


def _remove(element: T.Element, root: T.Element) -> None:
    parent = element.parent
    parent.remove(element)
    while parent is not root and parent.local in _CONTAINERS and not parent.elements():
        grand = parent.parent
        grand.remove(parent)
        parent = grand
    if parent.local == "tableParts" and "count" in parent.attrs:
        parent.attrs["count"] = str(len(parent.elements()))


# ---- the copy's own identity ---------------------------------------------------------------------

def _detach(root: T.Element, code_name: str, literals: Mapping[str, str], source: str, title: str) -> None:
    sheet_pr = root.find(MAIN_NS, "sheetPr")
    if sheet_pr is None:
        sheet_pr = root.new_child_like("sheetPr")
        first = next((i for i, c in enumerate(root.children) if isinstance(c, T.Element)), len(root.children))
        root.insert(first, sheet_pr)
    sheet_pr.attrs["codeName"] = code_name
    for element in root.iter():
        for qname in list(element.attrs):
            namespace = element.attr_namespace(qname)
            if namespace and _REVISION_NS.match(namespace) and qname.rpartition(":")[2] == "uid":
                element.attrs[qname] = "{%s}" % str(uuid.uuid4()).upper()
        if element.local == "sheetView" and element.namespace == MAIN_NS:
            element.attrs.pop("tabSelected", None)  # one selected tab: the one that was
        if element.local in _FORMULA_ELEMENTS:
            text = element.text()
            changed = rename_sheet_refs(text, source, title)
            for old, new in literals.items():
                changed = changed.replace(old, new)
            if changed != text:
                element.set_text(changed)


def rename_sheet_refs(formula: str, old: str, new: str) -> str:
    """References to sheet `old` in a formula, re-pointed at `new` ('old'!A1, old!A1, 'old:x'!…)."""
    quoted_new = "'" + new.replace("'", "''") + "'"
    quoted_old = "'" + old.replace("'", "''") + "'"
    text = formula.replace(quoted_old + "!", quoted_new + "!")
    if re.fullmatch(r"[^\s'!:\[\]()=+\-*/&^,;<>\"]+", old):
        text = re.sub(r"(?<![\w.'\"])" + re.escape(old) + "!", lambda m: quoted_new + "!", text)
    return text


def _unique_code_name(pkg, book, wished: str | None) -> str:
    """`wished`, or it with a number, unused by any sheet or the workbook (VBA ignores case)."""
    used = {name.lower() for name in _code_names(pkg, book)}
    base = re.sub(r"[^A-Za-z0-9_]", "", wished or "") or "Sheet"
    if not base[0].isalpha():
        base = "Sheet" + base
    base = base[:28]
    candidate, i = base, 2
    while candidate.lower() in used:
        candidate, i = f"{base}_{i}", i + 1
    return candidate


class _Found(Exception):
    pass


def _code_names(pkg, book) -> set[str]:
    names = set()
    root = pkg.xml(book.main_part)
    for element in root.iter():
        if element.tag.endswith("}workbookPr") and element.get("codeName"):
            names.add(element.get("codeName"))
    for part in book.sheet_parts.values():
        if pkg.has(part):
            found = _first_code_name(pkg, part)
            if found:
                names.add(found)
    return names


def _first_code_name(pkg, part: str) -> str | None:
    """A sheet's code name from the head of its part (sheetPr is the root's first child): big
    sheets are not read to their end for one attribute."""
    found: list[str | None] = []
    depth = [0]

    def start(name, attrs):
        depth[0] += 1
        if depth[0] == 2:
            found.append(attrs.get("codeName") if name.rpartition(":")[2] == "sheetPr" else None)
            raise _Found

    def refuse(*_args):
        raise _Found  # a DTD: never expanded (the package check refuses such parts anyway)

    try:
        with pkg.zip.open(pkg.actual(part)) as fh:
            head = fh.read(4)
            wide = head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:2]
            parser = expat.ParserCreate("UTF-8" if wide else None)
            parser.StartElementHandler = start
            parser.StartDoctypeDeclHandler = refuse
            if wide:  # UTF-16 (rare): decoded whole, within the package's size limits
                parser.Parse(T.decode_xml(head + fh.read()).encode("utf-8"), True)
            else:
                parser.Parse(head, False)
                while chunk := fh.read(16 * 1024):
                    parser.Parse(chunk, False)
                parser.Parse(b"", True)
    except _Found:
        pass
    except (expat.ExpatError, OSError, ValueError, T.XmlRefused):
        return None
    return found[0] if found else None


# ---- workbook.xml, its relationships, the content types -------------------------------------------

def _add_workbook_relationship(root: T.Element, main: str, new_part: str) -> str:
    used = {rel.attrs.get("Id") for rel in root.elements()}
    i = 1
    while f"rId{i}" in used:
        i += 1
    rel_id = f"rId{i}"
    like = next((e for e in root.elements() if e.local == "Relationship"), root)
    rel = like.new_child_like("Relationship")
    rel.attrs.update({"Id": rel_id, "Type": WORKSHEET_TYPE, "Target": _relative(main, new_part)})
    root.append(rel)
    return rel_id


def _add_sheet_entry(root: T.Element, title: str, rel_id: str, after: str | None) -> int:
    """The new <sheet>, after `after`; returns its position (0-based), shifting what counted
    positions: sheet-local names, the active and first visible tab."""
    sheets = root.find(MAIN_NS, "sheets")
    if sheets is None:
        raise SheetCopyError("工作簿没有工作表列表（sheets），无法新增工作表")
    entries = [e for e in sheets.elements() if e.is_(MAIN_NS, "sheet")]
    ids = [int(e.attrs["sheetId"]) for e in entries if e.attrs.get("sheetId", "").isdigit()]
    anchor = next((e for e in entries if e.attrs.get("name") == after), None) if after else None
    position = entries.index(anchor) + 1 if anchor is not None else len(entries)

    like = entries[0] if entries else sheets
    entry = like.new_child_like("sheet") if entries else sheets.new_child_like("sheet")
    entry.attrs.update({"name": title, "sheetId": str(max(ids, default=0) + 1)})
    # the relationships namespace may be declared on the root, on <sheets>, or on each <sheet>
    prefix = sheets.prefix_for(REL_NS)
    if not prefix:
        prefix = "r"
        entry.attrs[f"xmlns:{prefix}"] = REL_NS
    entry.attrs[f"{prefix}:id"] = rel_id
    if anchor is not None:
        sheets.insert(sheets.index(anchor) + 1, entry)
    else:
        sheets.append(entry)

    for name in _defined_names(root):
        local = name.attrs.get("localSheetId", "")
        if local.isdigit() and int(local) >= position:
            name.attrs["localSheetId"] = str(int(local) + 1)
    views = root.find(MAIN_NS, "bookViews")
    for view in views.elements() if views is not None else ():
        for key in ("activeTab", "firstSheet"):
            value = view.attrs.get(key, "")
            if value.isdigit() and int(value) >= position:
                view.attrs[key] = str(int(value) + 1)
    return position


def _defined_names(root: T.Element) -> list[T.Element]:
    block = root.find(MAIN_NS, "definedNames")
    return [e for e in block.elements() if e.is_(MAIN_NS, "definedName")] if block is not None else []


def _add_names(root: T.Element, names: Mapping[str, str], source_index: int, position: int,
               source: str, title: str) -> None:
    block = root.find(MAIN_NS, "definedNames")
    existing = _defined_names(root)
    by_name = {e.attrs.get("name"): e for e in existing if "localSheetId" not in e.attrs}
    # the source's own position after the insertion above (it moved if it was after the new sheet)
    source_now = source_index + (1 if source_index >= position else 0)
    local = [e for e in existing if e.attrs.get("localSheetId") == str(source_now)]
    if block is None:
        block = root.new_child_like("definedNames")
        at = max((root.index(e) for e in root.elements() if e.namespace == MAIN_NS and e.local in _WORKBOOK_AFTER),
                 default=len(root.children) - 1)
        root.insert(at + 1, block)
    for new, old in names.items():
        if new in by_name:
            raise SheetCopyError(f"定义名称“{new}”已存在，无法新增")
        original = by_name.get(old)
        if original is None:
            continue
        entry = original.new_child_like("definedName", {"name": new})
        entry.append(T.Text(rename_sheet_refs(original.text(), source, title)))
        block.append(entry)
    for original in local:
        attrs = {k: v for k, v in original.attrs.items()}
        attrs["localSheetId"] = str(position)
        entry = original.new_child_like("definedName", attrs)
        entry.append(T.Text(rename_sheet_refs(original.text(), source, title)))
        block.append(entry)


def _override_type(root: T.Element, part: str) -> str | None:
    wanted = "/" + part.lstrip("/").lower()
    for element in root.elements():
        if element.local == "Override" and element.attrs.get("PartName", "").lower() == wanted:
            return element.attrs.get("ContentType")
    return None


def _add_override(root: T.Element, part: str, content_type: str) -> None:
    like = next((e for e in root.elements() if e.local in ("Override", "Default")), None)
    entry = like.new_child_like("Override") if like else root.new_child_like("Override")
    entry.attrs.update({"PartName": "/" + part, "ContentType": content_type})
    root.append(entry)


# ---- part names ------------------------------------------------------------------------------------

def _rels_part(part: str) -> str:
    folder, _, base = part.rpartition("/")
    return f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"


def _relative(from_part: str, to_part: str) -> str:
    """A relationship target from the part `from_part` to `to_part` (both package names)."""
    source = from_part.split("/")[:-1]
    target = to_part.split("/")
    common = 0
    while common < len(source) and common < len(target) - 1 and source[common] == target[common]:
        common += 1
    return "/".join([".."] * (len(source) - common) + target[common:])


def _free_name(taken: set[str], pattern: str) -> str:
    i = 1
    while pattern.format(i).lower() in taken:
        i += 1
    return pattern.format(i)
