"""The fund sheets of a workbook, read and written through any adapter (file or live)."""

from __future__ import annotations

from evalbook.core.cells import cell_position
from evalbook.core.numbers import read_number
from evalbook.core.ruletable import RulesSource
from evalbook.funds import names as N
from evalbook.funds.model import FundInput
from evalbook.funds.scoring import FundsReport, evaluate_funds
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


def read_funds(book: Book, year_raw: object = None) -> FundsReport | None:
    numbers = fund_numbers(book)
    if not numbers or book.locate(N.FUND_RULES_TABLE) is None:
        return None
    year = read_number(year_raw).value
    year = int(year) if year is not None and year.denominator == 1 else None
    funds, refs = [], {}
    for n in numbers:
        names = N.fund_input_names(n)
        raw = book.read_values(names)
        refs.update({name: book.locate(name) for name in names})
        funds.append(FundInput.from_names(n, raw, year=year))
    origin, rows = book.read_range(N.FUND_RULES_TABLE)
    first_row, first_column = cell_position(origin.cell)
    source = RulesSource(rows=rows, sheet=origin.sheet, first_row=first_row, first_column=first_column)
    return evaluate_funds(funds, source, refs)


def write_funds(book: Book, report: FundsReport) -> None:
    book.write_values(report.outputs())
    book.write_rows(N.SUMMARY_TABLE, report.summary.table(), width=len(N.SUMMARY_COLUMNS))
    book.write_rows(N.INDICATOR_SUMMARY_TABLE, report.summary.indicator_table(),
                    width=len(N.INDICATOR_SUMMARY_COLUMNS))
