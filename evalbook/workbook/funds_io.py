"""The fund sheets of a workbook, read and written through any adapter (file or live).

A fund's indicator table is named by columns (专项n_指标表_完成值 covers E12:E41); workbooks made
before carry one name per cell (专项n_指标3_完成值), and are read and written through those.  Either
way the engine sees one key per cell (`names.indicator_name`), so only this module knows which.
"""

from __future__ import annotations

from evalbook.core.cells import cell_position, column_letter
from evalbook.core.findings import CellRef
from evalbook.core.numbers import read_number
from evalbook.core.ruletable import RulesSource
from evalbook.funds import names as N
from evalbook.funds.model import FundInput
from evalbook.funds.scoring import FundsReport, evaluate_funds
from evalbook.workbook import native_io
from evalbook.workbook.book import Book

MAX_FUNDS = 99


def fund_numbers(book: Book) -> list[int]:
    """1, 2, … for every fund sheet the workbook has (a workbook may have none)."""
    found = []
    for n in range(1, MAX_FUNDS + 1):
        if book.locate(N.header_name(n, "专项资金名称")) is None:
            break
        found.append(n)
    return found


def by_columns(book: Book, n: int) -> bool:
    """Whether fund n's indicator table is named by columns (else cell by cell, as before)."""
    return book.locate(N.indicator_column(n, N.LEVEL1)) is not None or \
        book.locate(N.indicator_name(n, 1, N.LEVEL1)) is None


def fund_io_names(book: Book, n: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(input names, output names) fund n has in this workbook, whichever way it is named."""
    if by_columns(book, n):
        return N.fund_input_names(n), N.fund_output_names(n)
    return N.fund_input_keys(n), N.fund_output_keys(n)


def _header_names(n: int) -> list[str]:
    return [name for name in N.fund_input_names(n) if not name.startswith(f"专项{n}_{N.INDICATOR_TABLE}_")]


def _table_rows(book: Book, n: int) -> int:
    """How many rows fund n's table has (more than the template's where rows were inserted)."""
    extent = book.extent(N.indicator_column(n, N.LEVEL1))
    if extent is None or ":" not in extent[1]:
        return N.INDICATOR_ROWS
    first, last = extent[1].split(":")
    return cell_position(last)[0] - cell_position(first)[0] + 1


def read_fund(book: Book, n: int, year: int | None) -> tuple[FundInput, dict[str, CellRef | None]]:
    """Fund n's inputs by key, and where each key's cell is (for the findings)."""
    if not by_columns(book, n):
        names = N.fund_input_keys(n)
        raw = book.read_values(names)
        return FundInput.from_names(n, raw, year=year), {name: book.locate(name) for name in names}
    names = _header_names(n)
    raw = book.read_values(names)
    refs = {name: book.locate(name) for name in names}
    rows = _table_rows(book, n)
    for field in N.INDICATOR_INPUTS:
        column = N.indicator_column(n, field)
        if book.locate(column) is None:
            continue  # a column name deleted: its cells read as blank, check_structure said so
        origin, cells = book.read_range(column)
        top, left = cell_position(origin.cell)
        for k in range(1, rows + 1):
            key = N.indicator_name(n, k, field)
            raw[key] = cells[k - 1][0] if k <= len(cells) else None
            refs[key] = CellRef(origin.sheet, f"{column_letter(left)}{top + k - 1}")
    return FundInput.from_names(n, raw, rows=rows, year=year), refs


def read_funds(book: Book, year_raw: object = None) -> FundsReport | None:
    numbers = fund_numbers(book)
    if not numbers or book.locate(N.FUND_RULES_TABLE) is None:
        return None
    year = read_number(year_raw).value
    year = int(year) if year is not None and year.denominator == 1 else None
    funds, refs = [], {}
    for n in numbers:
        fund, where = read_fund(book, n, year)
        funds.append(fund)
        refs.update(where)
    origin, rows = book.read_range(N.FUND_RULES_TABLE)
    first_row, first_column = cell_position(origin.cell)
    source = RulesSource(rows=rows, sheet=origin.sheet, first_row=first_row, first_column=first_column)
    return evaluate_funds(funds, source, refs)


def write_funds(book: Book, report: FundsReport) -> None:
    outputs = report.outputs()
    numbers = sorted({r.number for r in report.results} | set(report.blank))
    inputs = {f.number: f for f in report.inputs}
    results = {r.number: r for r in report.results}
    for n in numbers:
        if not by_columns(book, n):
            continue
        rows = _table_rows(book, n)
        if native_io.fund_carries_formulas(book, n, rows):
            mine = {key: outputs.pop(key) for key in N.fund_output_keys(n) if key in outputs}
            outputs.update(native_io.with_fund_formulas(n, mine))
            book.write_blocks({native_io.fund_native.parsed_name(n): native_io.parsed_rows(inputs.get(n), results.get(n))})
        for field in N.INDICATOR_OUTPUTS:
            column = [outputs.pop(N.indicator_name(n, k, field), None) for k in range(1, rows + 1)]
            for k in range(rows + 1, N.INDICATOR_ROWS + 1):
                outputs.pop(N.indicator_name(n, k, field), None)
            book.write_range(N.indicator_column(n, field), [[v] for v in column])
    book.write_values(outputs)
    book.write_rows(N.SUMMARY_TABLE, report.summary.table(), width=len(N.SUMMARY_COLUMNS))
    book.write_rows(N.INDICATOR_SUMMARY_TABLE, report.summary.indicator_table(),
                    width=len(N.INDICATOR_SUMMARY_COLUMNS))
