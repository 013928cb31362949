"""The fund sheets of a workbook, read and written through any adapter (file or live)."""

from __future__ import annotations

from ..adapters.base import Book
from ..findings import cell_position
from ..numbers import read_number
from . import names as N
from .model import FundInput
from .rules import FundRulesSource
from .scoring import FundsReport, evaluate_funds

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
    source = FundRulesSource(rows=rows, sheet=origin.sheet, first_row=first_row, first_column=first_column)
    return evaluate_funds(funds, source, refs)


def write_funds(book: Book, report: FundsReport) -> None:
    book.write_values(report.outputs())
    book.write_rows(N.SUMMARY_TABLE, report.summary.table(), width=len(N.SUMMARY_COLUMNS))
    book.write_rows(N.INDICATOR_SUMMARY_TABLE, report.summary.indicator_table(),
                    width=len(N.INDICATOR_SUMMARY_COLUMNS))


def funds_json(report: FundsReport | None) -> dict:
    if report is None:
        return {"funds": [], "funds_summary": None}
    summary = report.summary
    return {
        "funds": [r.as_dict() for r in report.results],
        "funds_summary": {
            "count": len(summary.lines),
            "budget": _float(summary.budget), "spent": _float(summary.spent),
            "rate": None if summary.rate is None else round(_float(summary.rate), 6),
            "score": None if summary.score is None else round(_float(summary.score), 2),
            "grade": summary.grade, "explanation": summary.score_text,
        },
    }


def _float(value):
    return None if value is None else value.numerator / value.denominator
