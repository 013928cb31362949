"""A workbook named the way workbooks were before the fund tables had column names: one defined
name per cell of each fund's indicator table (专项n_指标k_<field>), and no names index."""

from __future__ import annotations

from pathlib import Path

import openpyxl
from openpyxl.workbook.defined_name import DefinedName

from evalbook.core.cells import split_range
from evalbook.funds import names as N
from evalbook.workbook import names_index as I
from evalbook.workbook.layout import FRAMEWORK_SHEET


def with_per_cell_fund_names(source: Path, target: Path) -> int:
    """Writes `target`; returns how many defined names it has."""
    wb = openpyxl.load_workbook(source, keep_vba=source.suffix == ".xlsm")
    for name in list(wb.defined_names):
        if f"_{N.INDICATOR_TABLE}_" not in name:
            continue
        sheet, area = next(iter(wb.defined_names[name].destinations))
        n = int(name[len("专项"):name.index("_")])
        field = name.split(f"_{N.INDICATOR_TABLE}_", 1)[1]
        c1, r1, c2, r2 = split_range(area.replace("$", ""))
        del wb.defined_names[name]
        for k, row in enumerate(range(r1, r2 + 1), start=1):
            cell = wb[sheet].cell(row=row, column=c1).coordinate
            wb.defined_names[N.indicator_name(n, k, field)] = DefinedName(
                N.indicator_name(n, k, field), attr_text=f"'{sheet}'!${cell[:1]}${cell[1:]}")
    index = wb[FRAMEWORK_SHEET]
    for row in index.iter_rows(min_col=I.FIRST_COLUMN, max_col=I.FIRST_COLUMN + len(I.COLUMNS) - 1):
        for cell in row:
            cell.value = None
    wb.save(target)
    return len(wb.defined_names)


def write_by_key(book, values: dict) -> None:
    """Values typed into an XlsxBook by defined name or, for a fund's indicator table, by the key
    of its cell (专项n_指标k_<field>, now a cell of the column 专项n_指标表_<field>)."""
    import re

    from evalbook.core.cells import cell_at

    key = re.compile(r"^专项(\d+)_指标(\d+)_(.+)$")
    named = {}
    for name, value in values.items():
        m = key.match(name)
        if m is None or book.has_name(name):
            named[name] = value
            continue
        sheet, area = book.extent(N.indicator_column(int(m.group(1)), m.group(3)))
        c1, r1, _, _ = split_range(area)
        book.write_cells(sheet, {cell_at(r1 + int(m.group(2)) - 1, c1): value})
    book.write_values(named)
