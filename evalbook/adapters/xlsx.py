"""The workbook-file adapter: read by defined name, write by patching only what changes.

Parts that are not written are copied byte for byte (VBA project, ribbon, charts, images,
comments, styles); written sheets are patched textually.  Saving goes to a temporary file in the
same folder that replaces the target only after it is complete and flushed to disk.
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..findings import CellRef
from ..numbers import ExcelError
from . import sheetxml as X
from .base import WorkbookUnusable
from .package import Package, writable_check

_M = "{%s}" % X.MAIN_NS
_R = "{%s}" % X.REL_NS
_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!]+))!(\$?[A-Z]{1,3}\$?\d+)(?::(\$?[A-Z]{1,3}\$?\d+))?$")
CALC_CHAIN_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain"


class XlsxBook:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.package = Package(self.path)
        try:
            self._load_workbook()
        except WorkbookUnusable:
            self.package.close()
            raise
        self._strings: list[str] | None = None
        self._dates: set[int] | None = None
        self._sheet_values: dict[str, dict] = {}
        self._patches: dict[str, X.SheetPatch] = {}

    # ---- structure --------------------------------------------------------------------------

    def _load_workbook(self) -> None:
        pkg = self.package
        root_rels = pkg.rels("")
        main = next((target for kind, target in root_rels.values() if kind.endswith("/officeDocument")), None)
        if main is None or main not in pkg.names:
            raise WorkbookUnusable(f"文件“{self.path.name}”中找不到工作簿主体，不是有效的Excel文件")
        self.main_part = main
        workbook = pkg.xml(main)
        if workbook.tag != f"{_M}workbook":
            raise WorkbookUnusable(f"文件“{self.path.name}”不是Excel工作簿（可能是Word或PowerPoint文件）")
        rels = pkg.rels(main)
        self.workbook_rels = rels
        self.sheet_parts: dict[str, str] = {}
        self.sheet_order: list[str] = []
        sheets = workbook.find(f"{_M}sheets")
        for sheet in (sheets if sheets is not None else []):
            name = sheet.get("name", "")
            rel = rels.get(sheet.get(f"{_R}id", ""))
            if rel and rel[0].endswith("/worksheet"):
                self.sheet_parts[name] = rel[1]
            self.sheet_order.append(name)
        self.defined: dict[str, str] = {}
        names = workbook.find(f"{_M}definedNames")
        for dn in (names if names is not None else []):
            if dn.get("localSheetId") is None:
                self.defined[dn.get("name", "")] = (dn.text or "").strip()

    def has_sheet(self, name: str) -> bool:
        return name in self.sheet_parts

    def has_name(self, name: str) -> bool:
        return name in self.defined

    def _target(self, name: str) -> tuple[str, str, str | None]:
        """(sheet, first cell, last cell or None) of a defined name; raises WorkbookUnusable."""
        text = self.defined.get(name)
        if text is None:
            raise WorkbookUnusable(f"工作簿“{self.path.name}”缺少定义名称“{name}”，请使用evalbook模板")
        m = _REF.match(text)
        if not m or "#REF!" in text:
            raise WorkbookUnusable(
                f"工作簿“{self.path.name}”的定义名称“{name}”指向“{text[:60]}”，所引用的单元格已被删除或名称被改动")
        sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
        if sheet not in self.sheet_parts:
            raise WorkbookUnusable(f"工作簿“{self.path.name}”的定义名称“{name}”指向不存在的工作表“{sheet}”")
        first = m.group(3).replace("$", "")
        last = m.group(4).replace("$", "") if m.group(4) else None
        return sheet, first, last

    def locate(self, name: str) -> CellRef | None:
        try:
            sheet, first, _ = self._target(name)
        except WorkbookUnusable:
            return None
        return CellRef(sheet, first)

    # ---- reading ----------------------------------------------------------------------------

    def _values(self, sheet: str) -> dict:
        if sheet not in self._sheet_values:
            if self._strings is None:
                self._strings = self._load_strings()
                styles = next((t for k, t in self.workbook_rels.values() if k.endswith("/styles")), None)
                root = self.package.xml(styles) if styles and styles in self.package.names else None
                self._dates = X.date_styles(root)
            part = self.sheet_parts[sheet]
            self._sheet_values[sheet] = X.read_cells(self.package.xml(part), self._strings, self._dates)
        return self._sheet_values[sheet]

    def _load_strings(self) -> list[str]:
        part = next((t for k, t in self.workbook_rels.values() if k.endswith("/sharedStrings")), None)
        if part is None or part not in self.package.names:
            return []
        return X.shared_strings(self.package.xml(part))

    def read_values(self, names: Iterable[str]) -> dict[str, object]:
        found = {}
        for name in names:
            sheet, first, _ = self._target(name)
            found[name] = self._values(sheet).get(first)
        return found

    def read_range(self, name: str) -> tuple[CellRef, list[tuple]]:
        sheet, first, last = self._target(name)
        last = last or first
        c1, r1 = X.split_ref(first)
        c2, r2 = X.split_ref(last)
        cols = range(X.column_index(c1), X.column_index(c2) + 1)
        values = self._values(sheet)
        rows = [tuple(values.get(f"{X.column_letters(c)}{r}") for c in cols) for r in range(r1, r2 + 1)]
        return CellRef(sheet, first), rows

    def read_sheet(self, sheet: str) -> dict:
        return dict(self._values(sheet))

    # ---- writing ----------------------------------------------------------------------------

    def _patch(self, sheet: str) -> X.SheetPatch:
        if sheet not in self._patches:
            part = self.sheet_parts[sheet]
            self._patches[sheet] = X.SheetPatch(self.package.read(part).decode("utf-8"))
        return self._patches[sheet]

    def write_values(self, values: Mapping[str, object]) -> None:
        by_sheet: dict[str, dict[str, object]] = {}
        for name, value in values.items():
            sheet, first, _ = self._target(name)
            by_sheet.setdefault(sheet, {})[first] = value
        for sheet, cells in by_sheet.items():
            self._patch(sheet).set_cells(cells)

    def write_rows(self, name: str, rows: Sequence[Sequence[object]], width: int | None = None) -> None:
        sheet, first, _ = self._target(name)
        letters, top = X.split_ref(first)
        left = X.column_index(letters)
        width = width or max((len(r) for r in rows), default=1)
        patch = self._patch(sheet)
        styles = patch.clear_block(top, range(left, left + width))
        cells = {}
        for offset, row in enumerate(rows):
            for i, value in enumerate(row):
                cells[f"{X.column_letters(left + i)}{top + offset}"] = value
        patch.set_cells(cells, styles)
        if rows:
            patch.widen_dimension(f"{X.column_letters(left + width - 1)}{top + len(rows) - 1}")

    def save(self, target: str | os.PathLike | None = None) -> Path:
        target = Path(target) if target is not None else self.path
        writable_check(target)
        drop_calc_chain = any(p.removed_formula for p in self._patches.values())
        replaced = {self.sheet_parts[s]: p.xml.encode("utf-8") for s, p in self._patches.items()}
        fd, temp = tempfile.mkstemp(prefix=".~evalbook-", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w") as out:
                for info in self.package.zip.infolist():
                    name = info.filename
                    if drop_calc_chain and _is_calc_chain(name):
                        continue
                    data = replaced.get(name)
                    if data is None:
                        data = self.package.read(name)
                        if drop_calc_chain:
                            data = _without_calc_chain_refs(name, data)
                    clone = zipfile.ZipInfo(name, date_time=info.date_time)
                    clone.compress_type = info.compress_type
                    clone.external_attr = info.external_attr
                    clone.create_system = info.create_system
                    out.writestr(clone, data)
                out.close()
                raw.flush()
                os.fsync(raw.fileno())
            if target.exists():
                os.chmod(temp, target.stat().st_mode & 0o777)
            else:
                os.chmod(temp, 0o644)
            os.replace(temp, target)
        except OSError as exc:
            _remove_quietly(temp)
            if getattr(exc, "errno", None) == 28:
                raise WorkbookUnusable(f"磁盘空间不足，无法保存“{target.name}”；原文件未被改动") from None
            raise WorkbookUnusable(f"无法保存“{target.name}”（{exc.strerror or exc}）；原文件未被改动") from None
        except BaseException:
            _remove_quietly(temp)
            raise
        return target

    def close(self) -> None:
        self.package.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _is_calc_chain(name: str) -> bool:
    return name.endswith("calcChain.xml")


def _without_calc_chain_refs(name: str, data: bytes) -> bytes:
    """Excel rebuilds the calculation chain; a stale one that names a removed formula is an error."""
    if name == "[Content_Types].xml":
        return re.sub(rb"<Override[^>]*calcChain[^>]*/>", b"", data)
    if name.endswith("workbook.xml.rels"):
        return re.sub(rb"<Relationship[^>]*calcChain[^>]*/>", b"", data)
    return data


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def open_book(path) -> XlsxBook:
    return XlsxBook(path)


__all__ = ["XlsxBook", "open_book", "ExcelError"]
