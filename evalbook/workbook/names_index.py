"""The names index a template carries: every defined name with the cells it covers, so the ribbon
button finds what it needs in one read instead of asking Excel name by name (each ask is a round
trip to another process, two per name).

It stands on the hidden 指标框架 sheet, right of the framework, from column R:

    R1        INDEX_TITLE (no title, no index)
    R2:W2     名称 工作表 区域 合并 表格 核对
    R3…       one row per name: the name, its sheet, its cells ("C5", "A12:A41"), the rows × columns
              its first cell's merge spans ("4×1", blank for none), the rows × columns a table
              written from it may fill ("2000×6", blank for no table), and a formula Excel keeps computing: TRUE
              while the name still covers exactly those cells of that sheet.

So the index can never silently mislead: rows inserted above a name, a name edited or deleted in
Name Manager, moved to another sheet — each turns its 核对 to FALSE or an error, and the button then
asks Excel for the names one by one as before and writes the index afresh.  A sheet renamed is
caught when the button cannot find the sheet the index names.  Merges and tables only say how
writes may be grouped; they are never trusted for where a cell is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from evalbook.core.cells import cell_position, column_letter, split_range
from evalbook.funds import names as FN
from evalbook.workbook import contract as C
from evalbook.workbook.sheetspec import NOTE, TEXT, Cell, Sheet

INDEX_TITLE = "名称索引（evalbook写入，供“校验并评分”快速找到定义名称；请勿修改）"
COLUMNS = ("名称", "工作表", "区域", "合并", "表格", "核对")
FIRST_COLUMN = 18  # R: right of the widest framework section (P)
FIRST_ROW = 3
TABLE_ROWS = 2000  # how far down a previous run's rows may reach (the findings highlight range)
# a table written downwards from its name's cell: how many columns wide
TABLES = {C.RESULTS_TABLE: len(C.FINDING_COLUMNS), FN.SUMMARY_TABLE: len(FN.SUMMARY_COLUMNS),
          FN.INDICATOR_SUMMARY_TABLE: len(FN.INDICATOR_SUMMARY_COLUMNS)}


@dataclass(frozen=True)
class Entry:
    name: str
    sheet: str
    area: str  # "C5" or "A12:A41"
    span: tuple[int, int] = (1, 1)  # rows, columns the first cell's merge covers
    table: tuple[int, int] = (0, 0)  # a table written downwards from the first cell: rows, columns it may fill

    @property
    def rect(self) -> tuple[int, int, int, int]:
        """(first column, first row, last column, last row) the name covers, merge included."""
        c1, r1, c2, r2 = split_range(self.area)
        return c1, r1, max(c2, c1 + self.span[1] - 1), max(r2, r1 + self.span[0] - 1)


def _quoted(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def _absolute(area: str) -> str:
    c1, r1, c2, r2 = split_range(area)
    first = f"${column_letter(c1)}${r1}"
    return first if (c1, r1) == (c2, r2) else f"{first}:${column_letter(c2)}${r2}"


def check_formula(entry: Entry) -> str:
    """TRUE while `entry.name` covers exactly entry.area on entry.sheet (an error counts as FALSE:
    a deleted name is #NAME?, names on different sheets do not intersect)."""
    n = entry.name
    c1, r1, c2, r2 = split_range(entry.area)
    here = f"{_quoted(entry.sheet)}!{_absolute(entry.area)}"
    return (f"=IFERROR(AND(ROW({n})={r1},COLUMN({n})={c1},ROWS({n})={r2 - r1 + 1},"
            f"COLUMNS({n})={c2 - c1 + 1},ISREF({n} {here})),FALSE)")


def table_of(name: str) -> tuple[int, int]:
    return (TABLE_ROWS, TABLES[name]) if name in TABLES else (0, 0)


def _span_text(span: tuple[int, int]) -> str | None:
    return None if span == (1, 1) else f"{span[0]}×{span[1]}"


def _span(text: object) -> tuple[int, int] | None:
    if text in (None, ""):
        return 1, 1
    try:
        rows, columns = str(text).split("×")
        return max(int(rows), 1), max(int(columns), 1)
    except ValueError:
        return None


def row_values(entry: Entry) -> list[object]:
    """One index row as the button writes it (the last is the formula)."""
    return [entry.name, entry.sheet, entry.area, _span_text(entry.span),
            _span_text(entry.table) if entry.table != (0, 0) else None, check_formula(entry)]


def entries_of(sheets: Iterable[Sheet]) -> list[Entry]:
    """Every defined name the template's sheets create, in order."""
    found = []
    for sheet in sheets:
        for cell in sheet.cells:
            if cell.name:
                span = (1, 1)
                if cell.merge:
                    c1, r1, c2, r2 = split_range(f"{cell.ref}:{cell.merge}")
                    span = (r2 - r1 + 1, c2 - c1 + 1)
                found.append(Entry(cell.name, sheet.title, cell.ref, span, table_of(cell.name)))
        for name, area in sheet.ranges.items():
            found.append(Entry(name, sheet.title, area))
    return found


def index_cells(entries: Sequence[Entry]) -> list[Cell]:
    """The index as template cells (the check formulas among them)."""
    cells = [Cell(f"{column_letter(FIRST_COLUMN)}1", INDEX_TITLE, NOTE)]
    cells += [Cell(f"{column_letter(FIRST_COLUMN + i)}2", title, TEXT) for i, title in enumerate(COLUMNS)]
    for r, entry in enumerate(entries, start=FIRST_ROW):
        for i, value in enumerate(row_values(entry)):
            if value is not None:
                cells.append(Cell(f"{column_letter(FIRST_COLUMN + i)}{r}", value, TEXT,
                                  formula=i == len(COLUMNS) - 1))
    return cells


def check_cells(count: int) -> list[str]:
    """The cells holding the check formulas of `count` entries."""
    letter = column_letter(FIRST_COLUMN + len(COLUMNS) - 1)
    return [f"{letter}{r}" for r in range(FIRST_ROW, FIRST_ROW + count)]


def read_index(grid: Sequence[Sequence[object]], top: int = 1, left: int = 1) -> dict[str, Entry] | None:
    """The index from a sheet's values (grid[0][0] is the cell at row `top`, column `left`), or
    None when there is none or any row of it no longer holds (then nothing of it is used)."""
    def at(row: int, column: int) -> object:
        r, c = row - top, column - left
        return grid[r][c] if 0 <= r < len(grid) and 0 <= c < len(grid[r]) else None

    if at(1, FIRST_COLUMN) != INDEX_TITLE:
        return None
    if [at(2, FIRST_COLUMN + i) for i in range(len(COLUMNS))] != list(COLUMNS):
        return None
    entries: dict[str, Entry] = {}
    row = FIRST_ROW
    while at(row, FIRST_COLUMN) not in (None, ""):
        name, sheet, area, span, table, check = (at(row, FIRST_COLUMN + i) for i in range(len(COLUMNS)))
        if check is not True or not isinstance(name, str) or not isinstance(sheet, str) or not isinstance(area, str):
            return None
        try:
            split_range(area)
        except ValueError:
            return None
        span, table = _span(span), (_span(table) if table not in (None, "") else (0, 0))
        if span is None or table is None or name in entries:
            return None
        entries[name] = Entry(name, sheet, area, span, table)
        row += 1
    return entries or None


def index_extent(count: int) -> str:
    """Where an index of `count` entries stands (title row included)."""
    last = column_letter(FIRST_COLUMN + len(COLUMNS) - 1)
    return f"{column_letter(FIRST_COLUMN)}1:{last}{FIRST_ROW + count - 1}"


def first_cell(area: str) -> tuple[int, int]:
    """(row, column) of an area's first cell."""
    return cell_position(area.split(":")[0])
