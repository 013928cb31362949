"""A real xlwings Book without Excel: xlwings' remote engine fed with a workbook file's contents.

`book_payload` builds the JSON an Excel client would send; `apply_actions` plays the actions the
Book returns back onto those values, i.e. what Excel would show after the button ran.
"""

from __future__ import annotations

import copy
import datetime as dt

import xlwings as xw

from evalbook.adapters import sheetxml as X
from evalbook.adapters.xlsx import XlsxBook
from evalbook.core.numbers import ExcelError, UnreadableCell


def _json_value(value):
    if isinstance(value, UnreadableCell):
        return None  # a formula without a saved result: Excel would compute it, we cannot
    if isinstance(value, ExcelError):
        return value.code
    if isinstance(value, dt.datetime):
        return value.isoformat() + ".000Z"
    return value


def book_payload(path) -> dict:
    with XlsxBook(path) as book:
        sheets = []
        for name in book.sheet_order:
            cells = book.read_sheet(name)
            rows = cols = 1
            for ref in cells:
                letters, row = X.split_ref(ref)
                rows, cols = max(rows, row), max(cols, X.column_index(letters))
            grid = [[None] * cols for _ in range(rows)]
            for ref, value in cells.items():
                letters, row = X.split_ref(ref)
                grid[row - 1][X.column_index(letters) - 1] = _json_value(value)
            sheets.append({"name": name, "values": grid, "pictures": [], "tables": []})
        names = []
        for name in book.defined:
            target = book.locate(name)
            if target is None:
                continue
            _, first, last = book._target(name)
            fc, fr = X.split_ref(first)
            address = f"${fc}${fr}"
            if last:
                lc, lr = X.split_ref(last)
                address += f":${lc}${lr}"
            names.append({"name": name, "sheet_index": book.sheet_order.index(target.sheet), "address": address,
                          "scope_sheet_name": None, "scope_sheet_index": None, "book_scope": True})
    return {"client": "Microsoft Office Scripts", "version": xw.__version__,
            "book": {"name": path.name, "active_sheet_index": 0, "selection": "A1"},
            "names": names, "sheets": sheets}


def apply_actions(payload: dict, actions: list[dict], heights: dict | None = None) -> dict[str, list[list]]:
    """Sheet name → values grid after Excel applied the actions; row heights set go into
    `heights` (sheet → row → points)."""
    grids = {s["name"]: copy.deepcopy(s["values"]) for s in payload["sheets"]}
    order = [s["name"] for s in payload["sheets"]]
    for action in actions:
        grid = grids[order[action["sheet_position"]]]
        top, left = action["start_row"], action["start_column"]
        rows, cols = action["row_count"], action["column_count"]
        _grow(grid, top + rows, left + cols)
        if action["func"] in ("setValues", "setFormula"):  # a formula shows as its text: nothing here calculates
            for r, row in enumerate(action["values"]):
                for c, value in enumerate(row):
                    grid[top + r][left + c] = value
        elif action["func"] == "setRowHeight":
            if heights is not None:
                for r in range(rows):
                    heights.setdefault(order[action["sheet_position"]], {})[top + r + 1] = action["args"][0]
        elif action["func"] == "rangeClearContents":
            for r in range(rows):
                for c in range(cols):
                    grid[top + r][left + c] = None
        else:
            raise AssertionError(f"unexpected action {action['func']}")
    return grids


def _grow(grid: list[list], rows: int, cols: int) -> None:
    width = max(cols, len(grid[0]) if grid else 0)
    for row in grid:
        row.extend([None] * (width - len(row)))
    while len(grid) < rows:
        grid.append([None] * width)


def cell(grids, sheet: str, ref: str):
    letters, row = X.split_ref(ref)
    grid = grids[sheet]
    col = X.column_index(letters) - 1
    if row - 1 >= len(grid) or col >= len(grid[row - 1]):
        return None
    return grid[row - 1][col]
