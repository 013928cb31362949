"""The live-workbook adapter: an open Excel book through xlwings.

Reads and writes go through defined names like the file adapter, so the button and the command
line run the same service code.  Excel itself saves the book; nothing here does.

Every access to an xlwings object is a round trip to the Excel process, so the adapter makes as
few as it can (`bench/bench_button.py` counts them):

* names come from the names index the template carries on its hidden 指标框架 sheet (read with
  the framework, in one call) — only while Excel's own check of every row says it holds
  (`workbook.names_index`); otherwise each name is asked for, as before, and the index is written
  afresh for the next click;
* each sheet is read once, as one block from A1 to the last cell a name there reaches;
* writes wait until `flush`, then go out one rectangle of outputs per call (`adapters.blocks`),
  and a rectangle that already holds exactly what would be written is not written at all.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Iterable, Mapping, Sequence

from evalbook.adapters import blocks as B
from evalbook.core.cells import cell_position, column_letter, range_text, split_range
from evalbook.core.errors import WorkbookUnusable
from evalbook.core.findings import CellRef
from evalbook.core.numbers import ExcelError, as_excel_error
from evalbook.core.textsafe import formula_safe
from evalbook.workbook import names_index as I
from evalbook.workbook.book import Formula
from evalbook.workbook.layout import FRAMEWORK_SHEET

MAX_TABLE_ROWS = I.TABLE_ROWS  # how far down a previous run's rows may reach
DEFAULT_ROW_HEIGHT = 15  # the template's rows where it sets none
_OUTSIDE = object()  # a cell the sheet's snapshot does not reach: unknown, never "the same"

_REF = re.compile(r"^=?(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?$")


class LiveBook:
    """`exhaustive`: ask Excel for every name (adding a fund needs them all, index or not)."""

    def __init__(self, book, exhaustive: bool = False):
        self.book = book
        self._sheets = None  # book.sheets, fetched once
        self._sheet_objects: dict[str, object] = {}
        self._snapshots: dict[str, tuple[int, int, list]] = {}
        self._pending: dict[str, list[B.Block]] = {}
        self._formulas: dict[str, str | None] = {}  # what read_formulas found, so unchanged ones are not resent
        self._entries: dict[str, I.Entry | None] = {}
        self._names: dict[str, object] | None = None
        self._index = None if exhaustive else self._read_index()
        if self._index is None:
            try:
                self._names = {n.name: n for n in book.names}
            except Exception as exc:  # COM errors surface as many types
                raise WorkbookUnusable(f"无法读取工作簿的定义名称：{exc}") from None

    @property
    def indexed(self) -> bool:
        """Whether the names came from the template's index (the fast way)."""
        return self._index is not None

    # ---- names ------------------------------------------------------------------------------

    def _read_index(self) -> dict[str, I.Entry] | None:
        try:
            used = self._sheet(FRAMEWORK_SHEET).used_range
            grid = used.options(ndim=2, err_to_str=True).value
        except Exception:  # noqa: BLE001 - no such sheet (an older template): no index
            return None
        # the used range starts at A1 when A1 holds the sheet's note; read_index finds its title
        # at R1 only if it does, so a grid that starts elsewhere is never misread as the index
        index = I.read_index(grid or [], 1, 1)
        if index is not None:
            self._snapshots[FRAMEWORK_SHEET] = (1, 1, grid)
        return index

    def all_names(self) -> list[str]:
        return list(self._index) if self._index is not None else list(self._names or {})

    def _entry(self, name: str) -> I.Entry | None:
        if self._index is not None:
            return self._index.get(name)
        if name not in self._entries:
            self._entries[name] = self._resolve(name)
        return self._entries[name]

    def _resolve(self, name: str) -> I.Entry | None:
        defined = (self._names or {}).get(name)
        if defined is None:
            return None
        try:
            text = defined.refers_to
        except Exception:  # noqa: BLE001 - an unreadable name is a missing one
            return None
        m = _REF.match(text or "")
        if m:
            sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
            first = f"{m.group(3)}{m.group(4)}"
            return I.Entry(name, sheet, f"{first}:{m.group(5)}{m.group(6)}" if m.group(5) else first)
        try:  # a form the pattern does not know: ask Excel (a name at #REF! has no range)
            rng = defined.refers_to_range
            return I.Entry(name, rng.sheet.name, rng.address.replace("$", ""))
        except Exception:  # noqa: BLE001
            return None

    def locate(self, name: str) -> CellRef | None:
        entry = self._entry(name)
        return None if entry is None else CellRef(entry.sheet, entry.area.split(":")[0])

    def extent(self, name: str) -> tuple[str, str] | None:
        entry = self._entry(name)
        return None if entry is None else (entry.sheet, entry.area)

    def explain_missing(self, names: Iterable[str]) -> str | None:
        """Excel has already repaired or dropped what is gone: the names are all there is to say."""
        return None

    def _need(self, name: str) -> I.Entry:
        entry = self._entry(name)
        if entry is None:
            raise WorkbookUnusable(f"工作簿缺少定义名称“{name}”或其引用的单元格已被删除，请使用evalbook模板")
        return entry

    # ---- reading ----------------------------------------------------------------------------

    def _sheet(self, name: str):
        if name not in self._sheet_objects:
            if self._sheets is None:
                self._sheets = self.book.sheets
            try:
                self._sheet_objects[name] = self._sheets[name]
            except Exception:  # noqa: BLE001 - renamed or deleted since the index was written
                raise WorkbookUnusable(
                    f"找不到工作表“{name}”（可能被改名或删除；如果改了名，请改回原名）") from None
        return self._sheet_objects[name]

    def _snapshot(self, sheet_name: str) -> tuple[int, int, list]:
        """The sheet's values as (top row, left column, rows), read in one call."""
        if sheet_name not in self._snapshots:
            sheet = self._sheet(sheet_name)
            if self._index is not None:
                # every cell a name on the sheet reaches, tables as far as they may run
                rects = [e.rect for e in self._index.values() if e.sheet == sheet_name]
                rects += [(e.rect[0], e.rect[1], e.rect[0] + e.table[1] - 1, e.rect[1] + e.table[0] - 1)
                          for e in self._index.values() if e.sheet == sheet_name and e.table != (0, 0)]
                bottom = max([r[3] for r in rects] + [1])
                right = max([r[2] for r in rects] + [1])
                values = sheet.range(range_text((1, 1, right, bottom))).options(ndim=2, err_to_str=True).value
                self._snapshots[sheet_name] = (1, 1, values)
            else:
                used = sheet.used_range
                c1, r1, _, _ = split_range(used.address.replace("$", ""))
                values = used.options(ndim=2, err_to_str=True).value
                self._snapshots[sheet_name] = (r1, c1, values)
        return self._snapshots[sheet_name]

    def _value_at(self, sheet: str, row: int, column: int, missing: object = None) -> object:
        top, left, values = self._snapshot(sheet)
        r, c = row - top, column - left
        inside = 0 <= r < len(values) and 0 <= c < len(values[r])
        return _native(values[r][c]) if inside else missing

    def read_values(self, names: Iterable[str]) -> dict[str, object]:
        found = {}
        for name in names:
            entry = self._need(name)
            self._flush_sheet(entry.sheet)  # a read after a write sees the write
            found[name] = self._value_at(entry.sheet, *I.first_cell(entry.area))
        return found

    def read_range(self, name: str) -> tuple[CellRef, list[tuple]]:
        entry = self._need(name)
        self._flush_sheet(entry.sheet)
        c1, r1, c2, r2 = split_range(entry.area)
        rows = [tuple(self._value_at(entry.sheet, r, c) for c in range(c1, c2 + 1)) for r in range(r1, r2 + 1)]
        return CellRef(entry.sheet, f"{column_letter(c1)}{r1}"), rows

    # ---- writing (held until flush) -----------------------------------------------------------

    def _add(self, sheet: str, block: B.Block) -> None:
        self._pending.setdefault(sheet, []).append(block)

    def _own_rect(self, entry: I.Entry) -> tuple[int, int, int, int]:
        """The cells writing this output may cover: its merge too, but only while every cell the
        template merged there is still empty (an accountant may have unmerged it and typed)."""
        rect = entry.rect
        first = I.first_cell(entry.area)
        if self._index is None or rect[:2] == (rect[2], rect[3]):
            return split_range(entry.area)
        covered = [(r, c) for r in range(rect[1], rect[3] + 1) for c in range(rect[0], rect[2] + 1)
                   if (r, c) != first]
        if any(self._value_at(entry.sheet, r, c, missing=_OUTSIDE) is not None for r, c in covered):
            return split_range(entry.area)
        return rect

    def write_values(self, values: Mapping[str, object]) -> None:
        for name, value in values.items():
            if isinstance(value, Formula):  # the template's own formula: Excel computes it (see write_formulas)
                continue
            entry = self._need(name)
            self._add(entry.sheet, B.piece(self._own_rect(entry), [[_cell_value(value)]]))

    def write_range(self, name: str, rows: Sequence[Sequence[object]]) -> None:
        entry = self._need(name)
        rect = split_range(entry.area)
        if len(rows) > rect[3] - rect[1] + 1 or any(len(row) > rect[2] - rect[0] + 1 for row in rows):
            raise ValueError(f"{len(rows)} rows do not fit {name}")
        c1, r1, _, _ = rect
        height, width = len(rows), max((len(row) for row in rows), default=0)
        if rows and all(isinstance(v, Formula) for row in rows for v in row):
            return  # a column of the template's own formulas: Excel computes them
        if height and width:
            self._add(entry.sheet, B.piece((c1, r1, c1 + width - 1, r1 + height - 1),
                                           [[_cell_value(v) for v in row] for row in rows]))

    def read_formulas(self, names: Iterable[str]) -> dict[str, str | None]:
        """One call per sheet: the formulas of the block the sheet's snapshot covers."""
        found: dict[str, str | None] = {}
        by_sheet: dict[str, list[tuple[str, I.Entry]]] = {}
        for name in names:
            entry = self._need(name)
            by_sheet.setdefault(entry.sheet, []).append((name, entry))
        for sheet, entries in by_sheet.items():
            top, left, values = self._snapshot(sheet)
            height, width = len(values), max((len(r) for r in values), default=0)
            if not height or not width:
                continue
            area = f"{column_letter(left)}{top}:{column_letter(left + width - 1)}{top + height - 1}"
            try:
                grid = self._sheet(sheet).range(area).formula
            except NotImplementedError:  # xlwings' remote engine cannot read formulas: nothing known
                return {}
            grid = grid if isinstance(grid, (list, tuple)) and grid and isinstance(grid[0], (list, tuple)) \
                else [[grid]]
            for name, entry in entries:
                row, column = I.first_cell(entry.area)
                r, c = row - top, column - left
                text = grid[r][c] if 0 <= r < len(grid) and 0 <= c < len(grid[r]) else None
                found[name] = text[1:] if isinstance(text, str) and text.startswith("=") else None
        self._formulas = dict(found)
        return found

    def write_formulas(self, formulas: Mapping[str, Formula]) -> None:
        """Excel computes the results itself, so only a formula `read_formulas` found changed or
        typed over goes back (in the same rectangles as the values); where formulas cannot be
        read, the workbook's own are left to Excel."""
        for name, formula in formulas.items():
            if name not in self._formulas or self._formulas[name] == formula.text:
                continue
            entry = self._need(name)
            self._add(entry.sheet, B.piece(self._own_rect(entry), [["=" + formula.text]]))

    def write_blocks(self, blocks: Mapping[str, Sequence[Sequence[object]]]) -> None:
        for name, rows in blocks.items():
            entry = self._need(name)
            top, left = I.first_cell(entry.area)
            width = max((len(r) for r in rows), default=1)
            cleaned = [[_cell_value(v) for v in row] + [None] * (width - len(row)) for row in rows]
            if cleaned:
                self._add(entry.sheet, B.piece((left, top, left + width - 1, top + len(rows) - 1), cleaned))

    def write_rows(self, name: str, rows: Sequence[Sequence[object]], width: int | None = None) -> None:
        entry = self._need(name)
        top, left = I.first_cell(entry.area)
        width = width or max((len(r) for r in rows), default=1)
        # what the previous run wrote reaches down to its first empty row: anything below (a
        # heading, another table) belongs to someone else
        previous = self._table_column(entry.sheet, top, left)
        used = next((i for i, v in enumerate(previous) if v in (None, "")), len(previous))
        height = max(used, len(rows))
        if height:
            cleaned = [[_cell_value(v) for v in row] for row in rows]
            self._add(entry.sheet, B.piece((left, top, left + width - 1, top + height - 1), cleaned))

    def _table_column(self, sheet: str, top: int, left: int) -> list:
        first, _, values = self._snapshot(sheet)
        if first + len(values) - 1 >= top + MAX_TABLE_ROWS - 1:
            return [self._value_at(sheet, top + i, left) for i in range(MAX_TABLE_ROWS)]
        column = self._sheet(sheet).range(range_text((left, top, left, top + MAX_TABLE_ROWS - 1)))
        return [_native(v) for v in (column.options(ndim=1).value or [])]

    def flush(self) -> None:
        """Everything written so far, out to Excel."""
        for sheet in list(self._pending):
            self._flush_sheet(sheet)

    def _flush_sheet(self, sheet_name: str) -> None:
        pieces = self._pending.pop(sheet_name, None)
        if not pieces:
            return
        # without the index, merges are unknown: writing one rectangle over part of a merge
        # is refused by Excel, so each output is written alone, as it always was
        chosen = B.group(pieces) if self._index is not None else pieces
        sheet = self._sheet(sheet_name)
        for block in chosen:
            if self._unchanged(sheet_name, block):
                continue
            try:
                _write(sheet, block)
            except Exception:  # noqa: BLE001 - a merge or protection Excel refuses whole: piece by piece
                if len(block.parts) == 1:
                    raise
                for part in block.parts:
                    _write(sheet, part, alone=True)
        self._snapshots.pop(sheet_name, None)

    def _unchanged(self, sheet: str, block: B.Block) -> bool:
        if sheet not in self._snapshots:
            return False
        c1, r1, _, _ = block.rect
        return all(_same(self._value_at(sheet, r1 + i, c1 + j, missing=_OUTSIDE), v)
                   for i, row in enumerate(block.rows) for j, v in enumerate(row))

    def write_row_heights(self, sheet: str, heights: Mapping[int, float | None]) -> None:
        """One call per run of neighbouring rows that get the same height."""
        target = self._sheet(sheet)
        rows = sorted(heights)
        start = 0
        for i, row in enumerate(rows):
            last = i + 1 == len(rows)
            if last or rows[i + 1] != row + 1 or heights[rows[i + 1]] != heights[row]:
                height = heights[row]
                target.range(f"{rows[start]}:{row}").row_height = DEFAULT_ROW_HEIGHT if height is None else height
                start = i + 1

    def save(self) -> None:
        """The accountant saves in Excel; writing the file under Excel's feet would lose work."""
        self.flush()

    # ---- the index, written afresh -------------------------------------------------------------

    def rewrite_index(self, spans: Mapping[str, tuple[int, int]] | None = None) -> None:
        """Write the names index for the names the book has now (after a fund was added, or when
        the index no longer held).  Needs every name, so only a book opened without the index."""
        if self._names is None:
            return
        spans = spans or {}
        entries = []
        for name in self._names:
            entry = self._entry(name)
            if entry is None:
                continue
            single = split_range(entry.area)[:2] == split_range(entry.area)[2:]
            span = spans.get(name, (1, 1)) if single and name not in I.TABLES else (1, 1)
            entries.append(I.Entry(name, entry.sheet, entry.area, span, I.table_of(name)))
        try:
            top, left, grid = self._snapshot(FRAMEWORK_SHEET)
        except WorkbookUnusable:
            return  # an older template without the hidden sheet: no index, names asked each time
        sheet = self._sheet(FRAMEWORK_SHEET)
        column = I.FIRST_COLUMN
        old = 0
        while self._value_at(FRAMEWORK_SHEET, old + 1, column) not in (None, ""):
            old += 1
        rows = [[I.INDEX_TITLE] + [None] * (len(I.COLUMNS) - 1), list(I.COLUMNS)]
        rows += [[_cell_value(v) for v in I.row_values(e)[:-1]] + [None] for e in entries]
        rows += [[None] * len(I.COLUMNS) for _ in range(max(old - len(rows), 0))]
        sheet.range(range_text((column, 1, column + len(I.COLUMNS) - 1, len(rows)))).raw_value = rows
        if entries:
            last = column + len(I.COLUMNS) - 1
            sheet.range(range_text((last, I.FIRST_ROW, last, I.FIRST_ROW + len(entries) - 1))).formula = \
                [[I.check_formula(e)] for e in entries]
        self._snapshots.pop(FRAMEWORK_SHEET, None)


def _write(sheet, block: B.Block, alone: bool = False) -> None:
    """One rectangle in one call (`raw_value`: xlwings' `value` would first resize the range, a
    second round trip).  `alone`: a piece written by itself goes to its first cell only, which
    Excel accepts for a merged cell where a rectangle over the merge might not be."""
    c1, r1, c2, r2 = block.rect
    rows = block.rows
    if alone and len(block.parts) == 1 and all(v is None for row in rows for v in row[1:]) and \
            all(v is None for row in rows[1:] for v in row):
        sheet.range(f"{column_letter(c1)}{r1}").raw_value = rows[0][0]
        return
    if any(isinstance(v, (dt.date, dt.time)) for row in rows for v in row):
        sheet.range(block.address).value = rows  # xlwings converts dates; raw values cannot
        return
    sheet.range(block.address).raw_value = rows[0][0] if (c1, r1) == (c2, r2) else rows


def _same(found: object, written: object) -> bool:
    if isinstance(found, bool) or isinstance(written, bool):
        return found is written
    if found in (None, "") and written in (None, ""):
        return found == written
    return type(found) in (int, float) and type(written) in (int, float) and found == written \
        or (isinstance(found, str) and found == written)


def _native(value: object) -> object:
    error = as_excel_error(value) if isinstance(value, str) else None
    if error is not None:
        return error
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _cell_value(value: object) -> object:
    if isinstance(value, Formula):  # a native formula: Excel computes its value itself
        return "=" + value.text
    if isinstance(value, ExcelError):
        return str(value)
    if isinstance(value, str):
        return formula_safe(value)
    return value
