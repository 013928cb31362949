"""The workbook-file adapter: read by defined name, write by patching only what changes.

Parts that are not written are copied byte for byte (VBA project, ribbon, charts, images,
comments, styles); written parts are edited where an XML parser found the cells and settings,
everything else in them copied as written.  Saving goes to a temporary file in the
same folder that replaces the target only after it is complete and flushed to disk.

What Excel would refuse, this refuses too, before anything is written: locked cells of a protected
sheet, part of an array formula, a result cell hidden under a merge.
"""

from __future__ import annotations

import os
import re
import warnings
import zipfile
from pathlib import Path
from typing import BinaryIO, Iterable, Mapping, Sequence

from evalbook.core.findings import CellRef
from evalbook.core.numbers import ExcelError, quote
from evalbook.core.textsafe import FORMULA_STARTS
from evalbook.workbook.book import Formula
from . import sheetxml as X
from evalbook.core.errors import WorkbookUnusable
from evalbook.workbook.layout import FRAMEWORK_SHEET
from . import workbook_kind as WK
from . import xmledit as XE
from .package import Package, TargetChanged, atomic_write, changed_message, decode_xml, encode_xml
from .xmlparse import XmlDeclaresDtd, XmlRefused, XmlTooBig

_M = "{%s}" % X.MAIN_NS
_R = "{%s}" % X.REL_NS
_STRICT_MAIN = "{http://purl.oclc.org/ooxml/spreadsheetml/main}"
_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!]+))!(\$?[A-Z]{1,3}\$?\d+)(?::(\$?[A-Z]{1,3}\$?\d+))?$")
CALC_CHAIN_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain"
MAX_RANGE_CELLS = 100_000  # a named table bigger than this is not the template's


def _shown(text: str, limit: int = 40) -> str:
    """User text (a sheet name, a name's formula) made safe for a one-line message."""
    return quote(text, limit)


def _decode(data: bytes) -> tuple[str, str]:
    """XML bytes → (text, codec to write it back with): Excel writes UTF-8, others may not."""
    try:
        return decode_xml(data)
    except (LookupError, ValueError) as exc:  # an encoding no Excel writes
        raise UnicodeError(str(exc)) from None


class XlsxBook:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._package: Package | None = Package(self.path)
        try:
            self._load_workbook()
        except BaseException:
            self._package.close()
            raise
        self._reset()

    @property
    def package(self) -> Package:
        if self._package is None:
            # saved over the source: from now on the book is the file as saved (opened when needed)
            self._package = Package(self.path)
            self._load_workbook()
            self._reset()
        return self._package

    def _reset(self) -> None:
        self._strings: list[str] | None = None
        self._dates: set[int] | None = None
        self._unlocked: set[int] | None = None
        self._sheet_values: dict[str, X.SheetContent] = {}
        self._patches: dict[str, X.SheetPatch] = {}
        self._codecs: dict[str, str] = {}
        self._styles_patch: X.StylesPatch | None = None
        self._styles_codec = "utf-8"
        self._written: set[str] = set()
        self._parts: dict[str, bytes] = {}  # whole parts replaced or added (see put_part)

    # ---- structure --------------------------------------------------------------------------

    def _load_workbook(self) -> None:
        pkg = self.package
        name = self.path.name
        if not pkg.has("[Content_Types].xml"):
            raise WorkbookUnusable(self._not_a_workbook())
        root_rels = pkg.rels("")
        main = next((target for kind, target in root_rels.values() if kind.endswith("/officeDocument")), None)
        if main is None and pkg.has("xl/workbook.xml"):
            main = "xl/workbook.xml"  # a writer forgot the package relationships; Excel repairs this
        if main is None or not pkg.has(main):
            raise WorkbookUnusable(self._not_a_workbook())
        if main.lower().endswith(".bin"):
            raise WorkbookUnusable(f"文件“{name}”是Excel二进制工作簿（.xlsb），请在Excel中另存为"
                                   f"“Excel启用宏的工作簿(*.xlsm)”后再试")
        self.main_part = main
        workbook = pkg.xml(main)
        if workbook.tag == f"{_STRICT_MAIN}workbook":
            raise WorkbookUnusable(f"文件“{name}”是“Strict Open XML”格式，请在Excel中另存为"
                                   f"“Excel启用宏的工作簿(*.xlsm)”后再试")
        if workbook.tag != f"{_M}workbook":
            raise WorkbookUnusable(f"文件“{name}”不是Excel工作簿（可能是Word或PowerPoint文件）")
        rels = pkg.rels(main)
        self.workbook_rels = rels
        self.sheet_parts: dict[str, str] = {}
        self.sheet_order: list[str] = []
        sheets = workbook.find(f"{_M}sheets")
        for sheet in (sheets if sheets is not None else []):
            sheet_name = sheet.get("name", "")
            rel = rels.get(sheet.get(f"{_R}id", ""))
            if rel and rel[0].endswith("/worksheet"):
                self.sheet_parts[sheet_name] = rel[1]
            self.sheet_order.append(sheet_name)
        self.defined: dict[str, str] = {}
        names = workbook.find(f"{_M}definedNames")
        for dn in (names if names is not None else []):
            if dn.get("localSheetId") is None:
                self.defined[dn.get("name", "")] = (dn.text or "").strip()
        self.styles_part = next((t for k, t in rels.values() if k.endswith("/styles")), None)
        self._targets: dict[str, tuple[str, str, str | None]] = {}
        self._merge_cache: dict[str, list[tuple[int, int, int, int]]] = {}

    def _not_a_workbook(self) -> str:
        name = self.path.name
        names = self.package.names
        if "mimetype" in names:
            kind = self.package.read("mimetype")[:100]
            if b"opendocument.spreadsheet" in kind:
                return (f"文件“{name}”是OpenDocument表格（.ods，WPS或LibreOffice的格式），请另存为"
                        f"“Excel启用宏的工作簿(*.xlsm)”后再试")
            return f"文件“{name}”是OpenDocument文档，不是Excel工作簿"
        if not self.package.has("[Content_Types].xml"):
            if self.package.has("xl/workbook.xml"):
                return f"文件“{name}”缺少部件“[Content_Types].xml”，不是完整的工作簿；请重新获取原文件"
            return f"文件“{name}”是普通的压缩包（zip），不是Excel工作簿；如果工作簿在压缩包里，请先解压"
        return f"文件“{name}”中找不到工作簿主体，不是有效的Excel文件"

    def has_sheet(self, name: str) -> bool:
        return name in self.sheet_parts

    def has_name(self, name: str) -> bool:
        return name in self.defined

    def _target(self, name: str) -> tuple[str, str, str | None]:
        """(sheet, first cell, last cell or None) of a defined name; raises WorkbookUnusable."""
        found = self._targets.get(name)
        if found is None:
            found = self._targets[name] = self._resolve(name)
        return found

    def _resolve(self, name: str) -> tuple[str, str, str | None]:
        text = self.defined.get(name)
        book = self.path.name
        if text is None:
            raise WorkbookUnusable(f"工作簿“{book}”缺少定义名称“{name}”，请使用evalbook模板")
        m = _REF.match(text)
        if not m or "#REF!" in text:
            raise WorkbookUnusable(
                f"工作簿“{book}”的定义名称“{name}”指向{_shown(text, 60)}，不是有效的单元格引用"
                f"（所引用的单元格或工作表可能已被删除）")
        sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
        if sheet not in self.sheet_parts:
            raise WorkbookUnusable(
                f"工作簿“{book}”的定义名称“{name}”指向不存在的工作表{_shown(sheet)}（工作表可能被改名或删除）")
        try:
            first = "%s%d" % X.split_ref(m.group(3).replace("$", ""))
            last = "%s%d" % X.split_ref(m.group(4).replace("$", "")) if m.group(4) else None
        except ValueError:
            raise WorkbookUnusable(
                f"工作簿“{book}”的定义名称“{name}”指向{_shown(text, 60)}，超出了工作表的范围") from None
        return sheet, first, last

    def explain_missing(self, names: Iterable[str]) -> str | None:
        """Why these defined names lead to no cell, in words that say what to fix: a sheet that was
        renamed or deleted, names left pointing at #REF!, or names that are simply gone."""
        gone_sheets: dict[str, list[str]] = {}
        broken, absent = [], []
        for name in names:
            text = self.defined.get(name)
            m = _REF.match(text) if text is not None else None
            if text is None:
                absent.append(name)
            elif not m or "#REF!" in text:
                broken.append(name)
            else:
                sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
                if sheet not in self.sheet_parts:
                    gone_sheets.setdefault(sheet, []).append(name)

        def some(items: list[str]) -> str:
            return "、".join(items[:3]) + ("等" if len(items) > 3 else "")

        said = []
        if gone_sheets:
            said.append(f"找不到工作表{'、'.join(_shown(s) for s in gone_sheets)}（可能被改名或删除；如果改了名，请改回原名）")
        if broken:
            said.append(f"{len(broken)}个定义名称（{some(broken)}）所引用的单元格或工作表已被删除")
        if absent:
            said.append(f"缺少{len(absent)}个定义名称（{some(absent)}）")
        return f"工作簿“{self.path.name}”：" + "；".join(said) if said else None

    def extent(self, name: str) -> tuple[str, str] | None:
        """(sheet, 'B4' or 'A5:I40') of a defined name, None if it leads to no cell."""
        try:
            sheet, first, last = self._target(name)
        except WorkbookUnusable:
            return None
        return sheet, f"{first}:{last}" if last else first

    def locate(self, name: str) -> CellRef | None:
        try:
            sheet, first, _ = self._target(name)
        except WorkbookUnusable:
            return None
        return CellRef(sheet, first)

    # ---- reading ----------------------------------------------------------------------------

    def _styles_root(self):
        part = self.styles_part
        return self.package.xml(part) if part and self.package.has(part) else None

    def _sheet(self, sheet: str) -> X.SheetContent:
        """A sheet's values and merges, streamed once (the sheet is never held as a tree)."""
        if sheet not in self._sheet_values:
            if self._strings is None:
                self._strings = self._load_strings()
                self._dates = X.date_styles(self._styles_root())
            part = self.sheet_parts[sheet]
            try:
                with self.package.open_part(part) as fh:
                    self._sheet_values[sheet] = X.read_sheet_stream(fh, self._strings, self._dates)
            except XmlRefused as exc:
                raise self._refused(exc, f"的工作表{_shown(sheet)}") from None
        return self._sheet_values[sheet]

    def _refused(self, exc: XmlRefused, where: str) -> WorkbookUnusable:
        book = self.path.name
        if isinstance(exc, XmlTooBig):
            return WorkbookUnusable(f"工作簿“{book}”{where}{exc}，不像部门填报的工作簿，已拒绝处理")
        if isinstance(exc, XmlDeclaresDtd):
            return WorkbookUnusable(f"工作簿“{book}”{where}{exc}，已拒绝处理")
        return WorkbookUnusable(f"工作簿“{book}”{where}不是有效的XML，文件已损坏；请重新获取原文件")

    def _values(self, sheet: str) -> dict:
        return self._sheet(sheet).values

    def _merges(self, sheet: str) -> list[tuple[int, int, int, int]]:
        if sheet not in self._merge_cache:
            if sheet in self._patches:  # merges are never edited: the patch's text is enough
                self._merge_cache[sheet] = self._patches[sheet].merged_ranges()
            else:
                self._merge_cache[sheet] = self._sheet(sheet).merges
        return self._merge_cache[sheet]

    def _load_strings(self) -> list[str]:
        part = next((t for k, t in self.workbook_rels.values() if k.endswith("/sharedStrings")), None)
        if part is None:
            return []
        # a shared-strings relationship without its part: every text cell would read wrong
        try:
            with self.package.open_part(part) as fh:
                return X.shared_strings_stream(fh)
        except XmlRefused as exc:
            raise self._refused(exc, "的共享字符串表") from None

    def read_values(self, names: Iterable[str]) -> dict[str, object]:
        found = {}
        merges: dict[str, list] = {}
        for name in names:
            sheet, first, _ = self._target(name)
            if sheet not in merges:
                merges[sheet] = self._merges(sheet)
            hidden_by = X.covering_merge(merges[sheet], first)
            # Excel shows only a merge's top-left cell: whatever else the file holds is not what
            # the accountant sees, so say so rather than read it or call it blank
            found[name] = X.covered_by_merge(hidden_by) if hidden_by else self._values(sheet).get(first)
        return found

    def read_range(self, name: str) -> tuple[CellRef, list[tuple]]:
        sheet, first, last = self._target(name)
        last = last or first
        c1, r1, c2, r2 = X.split_range(f"{first}:{last}")
        if (c2 - c1 + 1) * (r2 - r1 + 1) > MAX_RANGE_CELLS:
            raise WorkbookUnusable(
                f"工作簿“{self.path.name}”的定义名称“{name}”指向的区域{X.range_text((c1, r1, c2, r2))}过大，"
                f"名称可能被改动；请使用evalbook模板")
        values = self._values(sheet)
        rows = [tuple(values.get(f"{X.column_letters(c)}{r}") for c in range(c1, c2 + 1)) for r in range(r1, r2 + 1)]
        return CellRef(sheet, f"{X.column_letters(c1)}{r1}"), rows

    def read_sheet(self, sheet: str) -> dict:
        return dict(self._values(sheet))

    # ---- writing ----------------------------------------------------------------------------

    def _patch(self, sheet: str) -> X.SheetPatch:
        if sheet not in self._patches:
            part = self.sheet_parts[sheet]
            self._sheet(sheet)  # a sheet we write back must be well-formed, safe XML, within limits
            try:
                text, codec = _decode(self.package.read(part))
                self._patches[sheet] = X.SheetPatch(text)
            except (UnicodeError, ValueError):
                raise WorkbookUnusable(
                    f"工作簿“{self.path.name}”的工作表{_shown(sheet)}内容无法识别，文件可能已损坏；请重新获取原文件") from None
            self._codecs[sheet] = codec
        return self._patches[sheet]

    def _styles(self) -> X.StylesPatch | None:
        if self._styles_patch is None and self.styles_part and self.package.has(self.styles_part):
            try:
                text, self._styles_codec = _decode(self.package.read(self.styles_part))
            except UnicodeError:
                return None
            self._styles_patch = X.StylesPatch(text)
        return self._styles_patch

    def _restyle(self, style: str | None, value: object) -> str | None:
        """Text that starts like a formula gets Excel's own 'this is text' mark (quotePrefix, what
        typing a leading apostrophe sets), so editing the cell later cannot turn it into one."""
        if isinstance(value, str) and value.startswith(FORMULA_STARTS):
            styles = self._styles()
            if styles is not None:
                return styles.quote_prefixed(style)
        return style

    def _unlocked_styles(self) -> set[int]:
        if self._unlocked is None:
            self._unlocked = X.unlocked_styles(self._styles_root())
        return self._unlocked

    def _guarded(self, sheet: str, edit) -> None:
        """Run one edit of `sheet`, undoing it and refusing if Excel would not allow it."""
        patch = self._patch(sheet)
        styles = self._styles()
        before = (patch.xml, patch.removed_formula, styles.xml if styles else None,
                  styles.changed if styles else False)
        book = self.path.name

        def undo() -> None:
            patch.xml, patch.removed_formula = before[0], before[1]
            patch.forget()
            if styles is not None:
                styles.xml, styles.changed = before[2], before[3]

        try:
            touched = edit(patch)
        except X.PatchRefused as exc:
            undo()
            raise WorkbookUnusable(f"工作簿“{book}”的工作表{_shown(sheet)}中，{exc}；原文件未被改动") from None
        except BaseException:
            undo()
            raise
        locked = []
        if patch.protected():
            unlocked = self._unlocked_styles()
            locked = [ref for ref, style in touched.items() if int(style or 0) not in unlocked]
        if locked:
            undo()
            shown = "、".join(locked[:3]) + ("等" if len(locked) > 3 else "")
            raise WorkbookUnusable(
                f"工作簿“{book}”的工作表{_shown(sheet)}设置了保护，要写入评分结果的单元格（{shown}）是锁定的；"
                f"请在Excel中点击“审阅→撤消工作表保护”后再试，或把这些单元格设为不锁定"
                f"（设置单元格格式→保护→取消“锁定”）后再保护工作表；原文件未被改动")
        self._written.add(sheet)

    def _refuse_hidden_outputs(self, sheet: str, cells: Mapping[str, object], names: Mapping[str, str]) -> None:
        merges = self._merges(sheet)
        for ref, value in cells.items():
            if value is None or value == "":
                continue
            rng = X.covering_merge(merges, ref)
            if rng:
                label = f"（{names[ref]}）" if ref in names else ""
                raise WorkbookUnusable(
                    f"工作簿“{self.path.name}”的工作表{_shown(sheet)}中，要写入结果的单元格{ref}{label}"
                    f"被合并单元格{X.range_text(rng)}遮住，结果将无法显示；请取消该合并后再试；原文件未被改动")

    def write_values(self, values: Mapping[str, object]) -> None:
        by_sheet: dict[str, dict[str, object]] = {}
        names: dict[str, dict[str, str]] = {}
        for name, value in values.items():
            sheet, first, _ = self._target(name)
            by_sheet.setdefault(sheet, {})[first] = value
            names.setdefault(sheet, {})[first] = name
        self._write_cells(by_sheet, names)

    def write_range(self, name: str, rows: Sequence[Sequence[object]]) -> None:
        sheet, first, last = self._target(name)
        c1, r1, c2, r2 = X.split_range(f"{first}:{last or first}")
        if len(rows) > r2 - r1 + 1 or any(len(row) > c2 - c1 + 1 for row in rows):
            raise ValueError(f"{len(rows)} rows do not fit {name}")  # a caller's mistake, not the workbook's
        cells = {f"{X.column_letters(c1 + i)}{r1 + offset}": value
                 for offset, row in enumerate(rows) for i, value in enumerate(row)}
        self._write_cells({sheet: cells}, {sheet: dict.fromkeys(cells, name)})

    def write_cells(self, sheet: str, cells: Mapping[str, object]) -> None:
        """Literal values into cells of a sheet by address (evalbook's own cells, not the contract's)."""
        self._write_cells({sheet: cells}, {sheet: {}})

    def _write_cells(self, by_sheet: Mapping[str, Mapping[str, object]], names: Mapping[str, Mapping[str, str]]) -> None:
        for sheet, cells in by_sheet.items():
            self._patch(sheet)
            self._refuse_hidden_outputs(sheet, cells, names[sheet])

        for sheet, cells in by_sheet.items():
            def edit(patch, cells=cells):
                patch.set_cells(cells, restyle=self._restyle)
                return patch.last_touched

            self._guarded(sheet, edit)

    def read_formulas(self, names: Iterable[str]) -> dict[str, str | None]:
        by_sheet: dict[str, dict[str, str]] = {}
        for name in names:
            sheet, first, _ = self._target(name)
            by_sheet.setdefault(sheet, {})[first] = name
        found: dict[str, str | None] = {}
        for sheet, refs in by_sheet.items():
            texts = self._patch(sheet).formulas_at(refs)
            for ref, name in refs.items():
                found[name] = texts.get(ref)
        return found

    def write_formulas(self, formulas: Mapping[str, Formula]) -> None:
        self.write_values(formulas)

    def write_blocks(self, blocks: Mapping[str, Sequence[Sequence[object]]]) -> None:
        # one pass over each sheet however many blocks it holds: the hidden 公式计算 sheet is large
        by_sheet: dict[str, dict[str, object]] = {}
        for name, rows in blocks.items():
            sheet, first, _ = self._target(name)
            letters, top = X.split_ref(first)
            left = X.column_index(letters)
            cells = by_sheet.setdefault(sheet, {})
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    cells[f"{X.column_letters(left + c)}{top + r}"] = value
        for sheet, cells in by_sheet.items():
            self._patch(sheet)
            self._refuse_hidden_outputs(sheet, cells, {})

            def edit(patch, cells=cells):
                patch.set_cells(cells, restyle=self._restyle)
                return patch.last_touched

            self._guarded(sheet, edit)

    def write_rows(self, name: str, rows: Sequence[Sequence[object]], width: int | None = None) -> None:
        sheet, first, _ = self._target(name)
        letters, top = X.split_ref(first)
        left = X.column_index(letters)
        width = width or max((len(r) for r in rows), default=1)
        cells = {}
        for offset, row in enumerate(rows):
            for i, value in enumerate(row):
                cells[f"{X.column_letters(left + i)}{top + offset}"] = value
        self._patch(sheet)
        self._refuse_hidden_outputs(sheet, cells, {})

        def edit(patch):
            styles = patch.clear_block(top, range(left, left + width))
            touched = dict(patch.last_touched)
            patch.set_cells(cells, styles, restyle=self._restyle)
            touched.update(patch.last_touched)
            if rows:
                patch.widen_dimension(f"{X.column_letters(left + width - 1)}{top + len(rows) - 1}")
            return touched

        self._guarded(sheet, edit)

    def write_row_heights(self, sheet: str, heights: Mapping[int, float | None]) -> None:
        if sheet not in self.sheet_parts or not heights:
            return

        def edit(patch):
            patch.set_row_heights(heights)
            return {}

        self._guarded(sheet, edit)

    # ---- saving -----------------------------------------------------------------------------

    def _needs_recalc(self, read) -> bool:
        """Formulas that may read a cell we wrote hold stale results until Excel recalculates."""
        written = [s for s in self._written if s in self._patches]
        if not written:
            return False
        if any(self._patches[s].has_formulas() for s in written):
            return True
        tokens = set(written) | {n for n, text in self.defined.items() if any(s in text for s in written)}
        for sheet, part in self.sheet_parts.items():
            # the hidden 指标框架 sheet's only formulas are the names index's checks: they read
            # where names are, never what a cell holds
            if sheet in written or sheet == FRAMEWORK_SHEET or not self.package.has(part):
                continue
            try:
                text = _decode(read(part))[0]
            except UnicodeError:
                continue
            if "<f" not in text and ":f" not in text:  # no element named f, whatever its prefix
                continue
            try:
                formulas = X.formula_texts(text)
            except XE.XmlRefused:
                continue  # not ours to judge here; the part is copied as it is
            for formula in formulas:
                if any(token in formula for token in tokens):
                    return True
        return False

    def _source_changed(self) -> bool:
        """A quick look (identity only) before anything is written; the full check of identity
        and bytes is made again just before the replace."""
        try:
            now = os.stat(self.path)
        except OSError:
            return True
        then = self.package.fingerprint
        return (now.st_dev, now.st_ino, now.st_size, now.st_mtime_ns) != then[:4]

    def put_part(self, name: str, data: bytes) -> None:
        """A whole package part to write on save: replaces an existing part or adds a new one
        (structural edits such as a new sheet, which cell patches cannot express)."""
        self._parts[name] = data

    def save(self, target: str | os.PathLike | None = None, macros: WK.MacroSource | None = None) -> Path:
        """Write the book to `target` (default: over itself), its package made to match the
        target's name: a .xlsx without macros, a .xlsm with them — `macros` is the project and
        ribbon a package without one gets (`workbook_kind`).  Any other name is refused."""
        target = Path(target) if target is not None else self.path
        same = _same_file(target, self.path)
        kind = WK.kind_for(target, in_place=same)
        if same and self._source_changed():
            raise TargetChanged(changed_message(self.path.name))
        expect = self.package.fingerprint if same else None  # the file as read, not as it is now
        cache: dict[str, bytes] = {}

        def read(part: str) -> bytes:
            part = self.package.actual(part)
            if part not in cache:
                cache[part] = self.package.read(part)
            return cache[part]

        drop_calc_chain = any(p.removed_formula for p in self._patches.values())
        actual = self.package.actual
        replaced = {actual(self.sheet_parts[s]): encode_xml(p.xml, self._codecs[s]) for s, p in self._patches.items()}
        styles = self._styles_patch
        if styles is not None and styles.changed:
            replaced[actual(self.styles_part)] = encode_xml(styles.xml, self._styles_codec)
        if self._needs_recalc(read):
            text, codec = _decode(read(self.main_part))
            replaced[actual(self.main_part)] = encode_xml(X.with_full_calc_on_load(text), codec)
        existing = {info.filename for info in self.package.zip.infolist()}
        replaced.update({actual(n): d for n, d in self._parts.items() if actual(n) in existing})
        added = {n: d for n, d in self._parts.items() if actual(n) not in existing}
        dropped = self._conform(kind, macros, replaced, added, read, drop_calc_chain)

        def fill(raw: BinaryIO) -> None:
            seen = set()
            with warnings.catch_warnings(), zipfile.ZipFile(raw, "w") as out:
                warnings.simplefilter("ignore")
                for info in self.package.zip.infolist():
                    name = info.filename
                    if name in seen or name in dropped or (drop_calc_chain and _is_calc_chain(name)):
                        continue
                    seen.add(name)
                    data = replaced.get(name)
                    if data is None:
                        data = cache.pop(name, None) or self.package.read(name)
                        if drop_calc_chain:
                            data = _without_calc_chain_refs(name, data)
                    clone = zipfile.ZipInfo(name, date_time=info.date_time)
                    clone.compress_type = info.compress_type
                    clone.external_attr = info.external_attr
                    clone.create_system = info.create_system
                    clone.comment = info.comment
                    clone.extra = b""
                    out.writestr(clone, data)
                for name, data in added.items():
                    info = zipfile.ZipInfo(name, date_time=clone.date_time if seen else (1980, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    out.writestr(info, data)

        def release_source() -> None:
            # Windows cannot replace a file this process still holds open; from here on the
            # book is the file as saved, opened again when next needed
            self._package.close()
            self._package = None
            self._reset()
            self._merge_cache = {}

        return atomic_write(target, fill, release_source if same else None, expect=expect)

    def _conform(self, kind: str, macros, replaced: dict[str, bytes], added: dict[str, bytes], read,
                 drop_calc_chain: bool) -> set[str]:
        """The package as it is about to be written, made to match `kind`: its changes go into
        `replaced` and `added`; returns the parts to leave out."""
        names = [i.filename for i in self.package.zip.infolist()
                 if not (drop_calc_chain and _is_calc_chain(i.filename))]
        names = list(dict.fromkeys(names + list(added)))

        def current(name: str) -> bytes:
            if name in replaced:
                return replaced[name]
            if name in added:
                return added[name]
            data = read(name)
            return _without_calc_chain_refs(name, data) if drop_calc_chain else data

        parts = WK.Parts(names, current, self.path.name)
        WK.conform(parts, kind, macros)
        for name, data in parts.changed.items():
            (added if name in added else replaced)[name] = data
        added.update(parts.added)
        for name in parts.dropped:
            added.pop(name, None)
        return parts.dropped

    def close(self) -> None:
        if self._package is not None:
            self._package.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        if isinstance(exc, WorkbookUnusable) and exc.args and self.path.name not in str(exc):
            # every message names the file, whoever raised it
            exc.args = (f"文件“{self.path.name}”：{exc.args[0]}",) + exc.args[1:]
        return False


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _is_calc_chain(name: str) -> bool:
    return name.endswith("calcChain.xml")


def _without_calc_chain_refs(name: str, data: bytes) -> bytes:
    """Excel rebuilds the calculation chain; a stale one that names a removed formula is an error."""
    if name == "[Content_Types].xml":
        kind = "Override"
    elif name.endswith("workbook.xml.rels"):
        kind = "Relationship"
    else:
        return data
    try:
        text, codec = _decode(data)
    except UnicodeError:
        return data
    if "calcChain" not in text:
        return data

    def keep(element: XE.Element) -> bool:
        return element.local != kind or not any("calcChain" in v for v in element.attrs.values())

    try:
        kept = XE.remove_elements(text.encode("utf-8"), keep, depth=2)
    except XE.XmlRefused:
        return data
    return kept.decode("utf-8").encode(codec)


def open_book(path) -> XlsxBook:
    return XlsxBook(path)


__all__ = ["XlsxBook", "open_book", "ExcelError"]
