"""The one reader of rule tables: rows keyed by their first cell, as on the 评分规则 sheet.

Both the department's 评分规则表 and the special funds' 专项评分规则表 are read here: blank rows and
the notes below a table are skipped, an unknown key, a repeated key or a row that does not parse
is a `RuleProblem` naming its column, and a key with no row at all is one too.  A problem leaves
its key without a rule; defaults are never substituted silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Generic, Iterable, Sequence, TypeVar

from evalbook.core.cells import column_letter
from evalbook.core.findings import ERROR, HINT, CellRef, Finding, finding
from evalbook.core.numbers import clean_text, fmt_score

T = TypeVar("T")


class RowError(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


@dataclass
class RuleProblem:
    key: str
    row: int  # sheet row; 0 when the row is missing altogether
    column: str
    message: str


@dataclass(frozen=True)
class RulesSource:
    """Where a rule table's rows came from, so problems can name their cell."""

    rows: Sequence[tuple]
    sheet: str
    first_row: int = 2
    first_column: int = 1  # 1 = column A


@dataclass
class KeyedRows(Generic[T]):
    parsed: dict[str, T]
    problems: list[RuleProblem]


def cell_at(row: tuple, index: int) -> object:
    return row[index] if index < len(row) else None


def is_note(key: str) -> bool:
    """The 口径说明 lines printed below a table are not rows of it."""
    return key.startswith("口径说明") or bool(re.match(r"^\d+\.", key))


def read_keyed_rows(
    rows: Iterable[tuple],
    first_row: int,
    *,
    keys: Sequence[str],
    noun: str,
    parse: Callable[[str, tuple, int], T],
    unknown: Callable[[str], str],
    missing: Callable[[str], str],
    key_text: Callable[[object], str] = lambda raw: clean_text(str(raw or "")),
    required: Sequence[str] | None = None,
) -> KeyedRows[T]:
    """Every row parsed by `parse(key, row, row_number)` (which raises RowError), with problems.
    A key of `required` (all `keys` by default) without a row is a problem too."""
    parsed: dict[str, T] = {}
    problems: list[RuleProblem] = []
    seen: dict[str, int] = {}
    known = set(keys)
    for offset, row in enumerate(rows):
        row = tuple(row)
        row_number = first_row + offset
        key = key_text(cell_at(row, 0))
        if not key or is_note(key):
            continue
        if key not in known:
            problems.append(RuleProblem(key, row_number, noun, unknown(key)))
            continue
        if key in seen:
            problems.append(RuleProblem(
                key, row_number, noun, f"{noun}“{key}”重复出现（第{seen[key]}行已有），请只保留一行"))
            parsed.pop(key, None)  # which of the two rows was meant is unknown
            continue
        seen[key] = row_number
        try:
            parsed[key] = parse(key, row, row_number)
        except RowError as exc:
            problems.append(RuleProblem(key, row_number, exc.column, exc.message))
    for key in (keys if required is None else required):
        if key not in seen:
            problems.append(RuleProblem(key, 0, noun, missing(key)))
    return KeyedRows(parsed, problems)


def problem_findings(problems: list[RuleProblem], source: RulesSource, columns: tuple[str, ...],
                     table: str, consequence: Callable[[str], str]) -> list[Finding]:
    """Rule-table problems as 错误 findings naming their cell; `consequence(key)` says what goes
    unscored because of the row."""
    found = []
    for problem in problems:
        if problem.row:
            column = column_letter(source.first_column + columns.index(problem.column))
            ref = CellRef(source.sheet, f"{column}{problem.row}")
            message = f"{ref}（{table}第{problem.row}行，{problem.key}）：{problem.message}；{consequence(problem.key)}"
        else:
            ref = CellRef(source.sheet, "")
            message = f"{problem.message}；{consequence(problem.key)}"
        found.append(finding(ERROR, ref, problem.key, message))
    return found


def weight_total_hint(total: Fraction, expected: Fraction, sheet: str, table: str, grading: str) -> Finding | None:
    if total == expected:
        return None
    return finding(HINT, CellRef(sheet, ""), "分值",
                   f"{table}分值合计为{fmt_score(total)}分，不是{fmt_score(expected)}分；{grading}")
