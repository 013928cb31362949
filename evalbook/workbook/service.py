"""Validate and score a workbook through any adapter: the one path behind the command line,
the ribbon button and the batch run."""

from __future__ import annotations

import datetime as dt
import functools

from evalbook.core.cells import cell_position
from evalbook.core.errors import EXIT_FINDINGS, EXIT_OK, FrameworkInvalid, WorkbookUnusable
from evalbook.core.findings import ERROR
from evalbook.core.numbers import PENDING, RULE_INVALID, fmt_score, round2
from evalbook.core.ruletable import RulesSource
from evalbook.department.engine import Evaluation, evaluate
from evalbook.department.framework import SECTION_COLUMNS, Framework, grid_section, load_framework, seed_framework
from evalbook.funds import names as FN
from evalbook.department.criteria import criteria
from evalbook.department.names import criteria_name
from evalbook.department.rules import default_rules, read_rules
from evalbook.workbook import contract as C
from evalbook.workbook import layout, names_index, native_io
from evalbook.workbook.book import Book
from evalbook.workbook.funds_io import fund_io_names, fund_numbers, read_funds, write_funds
from evalbook.workbook.placement import check_outputs_apart
from evalbook.workbook.rowfit import FittedBook


def framework_of(book: Book) -> Framework:
    """The framework a workbook was made from: the one its hidden 指标框架 sheet carries, or the
    seed's for a template made before templates carried theirs."""
    if book.locate(layout.framework_range("评分规则")) is None:
        return seed_framework()
    grids = []
    for name in SECTION_COLUMNS:
        if book.locate(layout.framework_range(name)) is None:
            continue
        origin, rows = book.read_range(layout.framework_range(name))
        grids.append((name, origin.sheet, *cell_position(origin.cell), tuple(tuple(r) for r in rows)))
    try:
        return _framework_from_grids(tuple(grids))
    except FrameworkInvalid as exc:
        shown = "；".join(exc.problems[:3]) + ("等" if len(exc.problems) > 3 else "")
        raise WorkbookUnusable(f"工作簿记录的指标框架有误（{shown}）；请用 evalbook new 重新生成模板") from None
    except TypeError:  # an unhashable cell value: read without the cache
        return _framework_from_grids.__wrapped__(tuple(grids))


@functools.lru_cache(maxsize=32)
def _framework_from_grids(grids: tuple) -> Framework:
    # a batch reads hundreds of workbooks made from the same few frameworks
    sections = {name: grid_section(name, sheet, row, column, rows) for name, sheet, row, column, rows in grids}
    return load_framework(sections, "工作簿中的指标框架")


def check_structure(book: Book, contract: C.Contract) -> None:
    """Every sheet and defined name the contract promises must be there (else exit 2)."""
    missing = [n for n in contract.required_names if book.locate(n) is None]
    if missing:
        detail = book.explain_missing(missing)
        if detail:
            raise WorkbookUnusable(f"{detail}；请使用evalbook模板（evalbook new）")
        shown = "、".join(missing[:5]) + ("等" if len(missing) > 5 else "")
        raise WorkbookUnusable(
            f"工作簿缺少{len(missing)}个定义名称（{shown}），或其引用的单元格已被删除；请使用evalbook模板（evalbook new）")
    funds = fund_numbers(book)
    inputs = list(contract.input_names) + [C.RULES_TABLE]
    outputs = list(contract.output_names)
    if funds:
        inputs.append(FN.FUND_RULES_TABLE)
        for n in funds:
            fund_inputs, fund_outputs = fund_io_names(book, n)
            inputs += fund_inputs
            outputs += fund_outputs
    blocks = {C.RESULTS_TABLE: len(C.FINDING_COLUMNS), FN.SUMMARY_TABLE: len(FN.SUMMARY_COLUMNS),
              FN.INDICATOR_SUMMARY_TABLE: len(FN.INDICATOR_SUMMARY_COLUMNS)}
    check_outputs_apart(book.extent, inputs, outputs, template_homes(len(funds), contract.framework), blocks)


@functools.lru_cache(maxsize=32)
def template_homes(funds: int, framework: Framework) -> dict[str, str]:
    """Defined name → the sheet the template puts it on (for `funds` fund sheets)."""
    homes = {}
    for sheet in template_sheets(funds, framework):
        for cell in sheet.cells:
            if cell.name:
                homes[cell.name] = sheet.title
        for name in sheet.ranges:
            homes[name] = sheet.title
    return homes


def template_spans(book: Book) -> dict[str, tuple[int, int]]:
    """Defined name → rows × columns its cell's merge spans in the template (for a names index
    written afresh: the live adapter cannot ask Excel for every merge without a call each)."""
    try:
        framework = framework_of(book)
    except WorkbookUnusable:
        framework = seed_framework()
    sheets = layout.sheets(max(len(fund_numbers(book)), 1), framework)
    return {entry.name: entry.span for entry in names_index.entries_of(sheets)}


def read_evaluation(book: Book) -> Evaluation:
    framework = framework_of(book)
    contract = C.contract_for(framework)
    check_structure(book, contract)
    names = contract.input_names
    raw = book.read_values(names)
    refs = {name: book.locate(name) for name in names}
    origin, rows = book.read_range(C.RULES_TABLE)
    first_row, first_column = cell_position(origin.cell)
    source = RulesSource(rows=rows, sheet=origin.sheet, first_row=first_row, first_column=first_column)
    evaluation = evaluate(raw, refs, source, framework)
    evaluation.funds = read_funds(book, raw.get("评价年度"))
    if evaluation.funds is not None:
        evaluation.findings.extend(evaluation.funds.findings)
    return evaluation


def output_values(evaluation: Evaluation, now: dt.datetime) -> dict[str, object]:
    """Every output cell's value: what the native formula of a fresh template shows too, so the
    cached result and a later recalculation agree (a blank is "", a gap its marker)."""
    values: dict[str, object] = {}
    for result in evaluation.indicators:
        key = result.key
        values[C.weight_name(key)] = RULE_INVALID if result.weight is None else float(result.weight)
        values[C.value_name(key)] = "" if result.display_value is None else result.display_value
        values[C.score_name(key)] = result.marker or PENDING if result.score is None else round2(result.score)
        values[C.note_name(key)] = result.explanation
    framework = evaluation.framework
    for level2 in framework.level2_groups():
        weight_name, score_name = C.level2_names(level2)
        group = [r for r in evaluation.indicators if framework.by_key[r.key].level2 == level2]
        weights_known = all(r.weight is not None for r in group)
        values[weight_name] = float(sum(r.weight for r in group)) if weights_known else ""
        # the chart shows a bar only for groups that could be scored completely
        complete = all(r.score is not None for r in group)
        values[score_name] = round2(sum(r.score for r in group)) if complete else ""
    values[C.WEIGHT_TOTAL] = float(sum(r.weight for r in evaluation.indicators if r.weight is not None))
    total = evaluation.total
    values[C.TOTAL] = PENDING if total is None else round2(total)
    values[C.GRADE] = evaluation.grade or PENDING
    self_total = evaluation.self_total
    values[C.SELF_TOTAL] = "" if self_total is None else round2(self_total)
    values[C.STATUS] = status_line(evaluation, now)
    return values


def criteria_values(book: Book, evaluation: Evaluation) -> dict[str, str]:
    """评价标准 that follow the 评分规则: an edited rule's written from it, a default rule's the
    framework's own wording (templates made before these cells were named get none)."""
    framework = evaluation.framework
    source = evaluation.rules_source
    if source is None:
        return {}
    rules = read_rules(framework, list(source.rows), source.first_row).rules
    defaults = default_rules(framework).rules
    names = {criteria_name(ind.key): ind for ind in framework.indicators if book.locate(criteria_name(ind.key))}
    shown = book.read_values(names) if names else {}
    found = {}
    for name, ind in names.items():
        text = criteria(framework, ind, rules.get(ind.key), defaults.get(ind.key))
        if shown.get(name) != text:  # only what changed: the cell is the template's, locked like it
            found[name] = text
    return found


def status_line(evaluation: Evaluation, now: dt.datetime) -> str:
    stamp = now.strftime("%Y-%m-%d %H:%M")
    total = evaluation.total
    if total is None:
        pending = sum(1 for r in evaluation.indicators if r.score is None)
        head = f"{stamp} 校验完成：{pending}项指标待补充，已计分部分合计{fmt_score(evaluation.scored_total)}分"
    else:
        head = f"{stamp} 校验完成：总分{fmt_score(total)}分（{evaluation.grade}）"
    funds = evaluation.funds
    if funds is not None and funds.results:
        score = funds.summary.score
        head += (f"；专项资金{len(funds.results)}项，汇总得分"
                 f"{'待补充' if score is None else fmt_score(score) + '分（' + funds.summary.grade + '）'}")
    return f"{head}；错误{evaluation.errors}项，提示{evaluation.hints}项，详见“校验结果”表"


def finding_rows(evaluation: Evaluation) -> list[tuple]:
    ordered = sorted(evaluation.findings, key=lambda f: 0 if f.severity == ERROR else 1)
    return [(i, f.severity, f.sheet, f.cell, f.name, f.message) for i, f in enumerate(ordered, start=1)]


def write_results(book: Book, evaluation: Evaluation, now: dt.datetime | None = None) -> None:
    now = now or dt.datetime.now()
    fitted = _fitted(book, evaluation.framework)
    native = native_io.carries_formulas(book)
    if native:
        evaluation.findings.extend(native_io.overwritten(book, evaluation))
    values = output_values(evaluation, now) | criteria_values(book, evaluation)
    if native:
        values = native_io.write_native(book, evaluation, values)
    fitted.write_values(values)
    fitted.write_rows(C.RESULTS_TABLE, finding_rows(evaluation), width=len(C.FINDING_COLUMNS))
    if evaluation.funds is not None:
        write_funds(fitted, evaluation.funds)
    fitted.fit()


def clear_marks(book: Book) -> None:
    """清除标记: the highlights follow 校验结果, so emptying it clears every mark."""
    fitted = _fitted(book, seed_framework())  # 校验结果 and the status line are every framework's
    fitted.write_rows(C.RESULTS_TABLE, [], width=len(C.FINDING_COLUMNS))
    # the 校验状态 cell of a template with native formulas shows the last run's line from its sheet
    fitted.write_values({native_io.status_cell(book): "已清除校验标记；点击“校验并评分”重新校验。"})
    fitted.fit()


def _fitted(book: Book, framework: Framework) -> FittedBook:
    """The book, with the rows of whatever is written through it sized to its text."""
    return FittedBook(book, template_sheets(len(fund_numbers(book)), framework))


@functools.lru_cache(maxsize=32)
def template_sheets(funds: int, framework: Framework) -> tuple:
    """The template's sheets (for `funds` fund sheets): their widths, merges and heights."""
    return tuple(layout.sheets(max(funds, 1), framework))


def score_book(book: Book, now: dt.datetime | None = None) -> Evaluation:
    evaluation = read_evaluation(book)
    write_results(book, evaluation, now)
    return evaluation


def exit_code(evaluation: Evaluation) -> int:
    return EXIT_FINDINGS if evaluation.errors else EXIT_OK

