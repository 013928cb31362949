"""Python's side of the native formulas (`workbook.native`): keep them, give each the engine's
result as its cached value, restore any an accountant typed over, and leave the snapshot by which
the sheet itself tells that its 扣分说明 and 校验结果 are out of date."""

from __future__ import annotations

from evalbook.core.findings import HINT, Finding, finding
from evalbook.core.numbers import ExcelError
from evalbook.department.engine import Evaluation
from evalbook.department.rules import read_rules
from evalbook.funds import names as FN
from evalbook.funds.model import FundInput, FundResult
from evalbook.workbook import contract as C
from evalbook.workbook import fund_layout, fund_native, native
from evalbook.workbook.book import Book, Formula


def carries_formulas(book: Book) -> bool:
    """Templates made before the native formulas have no helper sheet: they get plain values."""
    return book.locate(native.SNAPSHOT) is not None


def status_cell(book: Book) -> str:
    """Where a status line goes: the 校验状态 cell's formula shows `LAST_STATUS` when it has one."""
    return native.LAST_STATUS if carries_formulas(book) else C.STATUS


def _plain(formula: str | None) -> str | None:
    # what Excel, WPS or LibreOffice may change when they save a formula they did not alter
    if formula is None:
        return None
    text = formula.lstrip("=").replace("_xlfn.", "")
    return "".join(ch for ch in text if ch not in " \t\r\n$'").upper()


def overwritten(book: Book, evaluation: Evaluation) -> list[Finding]:
    """A 提示 for each output whose formula was edited or typed over (the run restores it); a
    book that cannot tell its formulas returns none for a name, and gets no 提示 for it."""
    helper = native.helper_layout(evaluation.framework)
    found = book.read_formulas(helper.outputs)
    hints = []
    for name, expected in helper.outputs.items():
        if name in found and _plain(found[name]) != _plain(expected):
            ref = book.locate(name)
            hints.append(finding(HINT, ref, name, f"{ref or name}（{name}）的评分公式被改动或覆盖，已恢复为按评分规则计算的公式"))
    return hints


def _snapshot_value(raw: object) -> object:
    return "#错误" if isinstance(raw, ExcelError) else raw


def _rule_cell(evaluation: Evaluation, key: str, index: int) -> object:
    """The 评分规则 cell the formulas read for (key, column): MATCH's first exact row."""
    source = evaluation.rules_source
    for row in source.rows if source is not None else ():
        row = tuple(row)
        if row and isinstance(row[0], str) and row[0] == key:
            return row[index] if index < len(row) else None
    return None


def write_native(book: Book, evaluation: Evaluation, values: dict[str, object]) -> dict[str, object]:
    """Write the formulas with `values` cached in them, the snapshot and the parsed 分档/等级;
    returns the values that stay literal (扣分说明 and the like)."""
    framework = evaluation.framework
    helper = native.helper_layout(framework)
    book.write_formulas({name: Formula(formula[1:], values.get(name)) for name, formula in helper.outputs.items()})
    snapshot = []
    for reading in helper.readings:
        if reading.input_name is not None:
            snapshot.append((_snapshot_value(evaluation.raw.get(reading.input_name)),))
        else:
            snapshot.append((_snapshot_value(_rule_cell(evaluation, *reading.rule_cell)),))
    source = evaluation.rules_source
    rules = read_rules(framework, list(source.rows), source.first_row).rules if source is not None else {}
    bands = []
    for ind, row in zip(framework.indicators, native.band_rows(helper, rules)):
        text = _rule_cell(evaluation, ind.key, native.BANDS_COLUMN)
        row = (None if text is None else str(text),) + tuple(row[1:])
        bands.append(row + (None,) * (native.BANDS_WIDTH - len(row)))
    book.write_blocks({native.SNAPSHOT: snapshot, native.BANDS_TABLE: bands, native.LAST_STATUS: [[values[C.STATUS]]]})
    return {name: value for name, value in values.items() if name not in helper.outputs}


# ---- fund sheets ----------------------------------------------------------------------------

def fund_carries_formulas(book: Book, n: int, rows: int) -> bool:
    """Fund sheets made before the native formulas, or with rows inserted into the table (the
    formulas follow the template's rows), get plain values."""
    return book.locate(fund_native.parsed_name(n)) is not None and rows == FN.INDICATOR_ROWS


def fund_formulas(n: int) -> fund_native.FundFormulas:
    return fund_native.fund_formulas(n, fund_layout.refs_items(fund_layout.fund_sheet(n)))


def with_fund_formulas(n: int, outputs: dict[str, object]) -> dict[str, object]:
    """Fund n's output values, each formula output as its formula with the value cached."""
    formulas = fund_formulas(n).outputs
    return {key: Formula(formulas[key][1:], value) if key in formulas else value for key, value in outputs.items()}


def parsed_rows(fund: FundInput | None, result: FundResult | None) -> list[tuple]:
    """The block `fund_native.parsed_name` names: for each row the engine scored, the 指标值, 完成值,
    定性档次 and 二级指标 it read, its 完成率 (or `NO_RATIO`) and the kind of target."""
    rows = []
    for k in range(1, FN.INDICATOR_ROWS + 1):
        blank = (None,) * len(fund_native.PARSED_COLUMNS)
        if fund is None or result is None or k > len(fund.indicators):
            rows.append(blank)
            continue
        score = next((i for i in result.indicators if i.row == k), None)
        row = fund.indicators[k - 1]
        if score is None or row.target is None:
            rows.append(blank)
            continue
        ratio = fund_native.NO_RATIO if score.ratio is None else score.ratio.numerator / score.ratio.denominator
        rows.append(tuple(fund_native.parsed_value(v) for v in (row.target, row.actual, row.tier, row.level2))
                    + (ratio, score.kind or None))
    return rows
