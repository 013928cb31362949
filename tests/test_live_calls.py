"""How many round trips to Excel one click makes (counted as `tests/xlcount.py` defines them), and
that the quick way gives what the file adapter gives, on the example with two funds."""

from __future__ import annotations

import shutil

import xlwings as xw

from evalbook import button
from evalbook.adapters.xlsx import XlsxBook
from evalbook.cli import main
from evalbook.core.cells import split_range, column_letter
from evalbook.funds import names as N
from evalbook.workbook import contract as C
from evalbook.workbook import names_index as I
from evalbook.workbook import native
from evalbook.workbook.funds_io import fund_io_names, fund_numbers
from evalbook.workbook.layout import FRAMEWORK_SHEET
from tests.conftest import EXAMPLE
from tests.legacy_names import with_per_cell_fund_names
from tests.remote_book import apply_actions, book_payload, cell
from tests.xlcount import counted

# book.sheets 1 + 9 sheets fetched + 1 used range + 8 blocks read (2 calls each: the range, its
# value) + 15 rectangles written (2 each: the range, its raw_value; native formulas, the
# department's and the funds', are Excel's own and are not resent) + 40 runs of rows given the
# height their text needs (2 each: the rows, their row_height); before the names index: 3893.
# The target is 40: the row heights are what stands between (see the closing note).
CALL_BUDGET = 1 + 9 + 1 + 8 * 2 + 15 * 2 + 40 * 2


def click(monkeypatch, path, payload=None):
    payload = payload or book_payload(path)
    book = xw.Book(json=payload)
    proxy, tally = counted(book)
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: proxy))
    said = []
    monkeypatch.setattr(button, "_alert", lambda _book, message: said.append(message))
    button.score()
    assert said == []
    return payload, book, tally


def output_cells(path) -> dict[str, list[tuple[str, str]]]:
    """Every output name of the workbook → its cells (a named column cell by cell)."""
    with XlsxBook(path) as book:
        names = list(C.contract_for().output_names) + [C.STATUS]
        for n in fund_numbers(book):
            names += fund_io_names(book, n)[1]
        names += [N.summary_name(f) for f in N.SUMMARY_FIELDS]
        found = {}
        for name in names:
            sheet, area = book.extent(name)
            c1, r1, c2, r2 = split_range(area)
            found[name] = [(sheet, f"{column_letter(c)}{r}") for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]
        return found


def scored_by_file(tmp_path, capsys, path):
    scored = tmp_path / "scored.xlsm"
    shutil.copy(path, scored)
    assert main(["score", str(scored)]) == 0
    capsys.readouterr()
    with XlsxBook(scored) as book:
        return {sheet: book.read_sheet(sheet) for sheet in book.sheet_order}


def _formula_cells(path) -> set[tuple[str, str]]:
    import openpyxl

    wb = openpyxl.load_workbook(path)
    return {(ws.title, c.coordinate) for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if isinstance(c.value, str) and c.value.startswith("=")}


def assert_same_results(payload, book, path, on_file):
    grids = apply_actions(payload, book.json()["actions"])
    formulas = _formula_cells(path)
    before = {s["name"]: s["values"] for s in payload["sheets"]}
    for name, cells in output_cells(path).items():
        for sheet, ref in cells:
            # a formula Excel computes itself the button leaves as it was (the template's short live
            # 扣分说明 are formulas too, until a run writes the full text)
            if (sheet, ref) in formulas and not name.startswith(C.note_name("")):
                assert cell(grids, sheet, ref) == cell(before, sheet, ref), (sheet, ref)
                continue
            live, filed = cell(grids, sheet, ref), on_file[sheet].get(ref)
            if name == C.STATUS:  # stamped with the minute it ran
                live, filed = live.split(" ", 2)[2], filed.split(" ", 2)[2]
            assert live == filed, (name, sheet, ref, live, filed)
    # the tables written below their names too, cell for cell
    for sheet in (C.RESULTS_SHEET, N.SUMMARY_SHEET):
        for ref, filed in on_file[sheet].items():
            assert cell(grids, sheet, ref) == filed, (sheet, ref)


def test_a_click_on_the_example_makes_few_round_trips(monkeypatch, tmp_path, capsys):
    payload, book, tally = click(monkeypatch, EXAMPLE)
    assert len(tally) <= CALL_BUDGET, tally.calls
    assert tally.calls.count("Range.raw_value=") <= 18  # one per rectangle of outputs
    assert not any(call.startswith("Name") for call in tally.calls)  # no name asked for one by one
    assert_same_results(payload, book, EXAMPLE, scored_by_file(tmp_path, capsys, EXAMPLE))


def test_a_second_click_writes_only_what_changed(monkeypatch, tmp_path, capsys):
    first, book, _ = click(monkeypatch, EXAMPLE)
    grids = apply_actions(first, book.json()["actions"])
    again = dict(first, sheets=[dict(s, values=grids[s["name"]]) for s in first["sheets"]])
    _, book, tally = click(monkeypatch, EXAMPLE, again)
    helper = [s["name"] for s in first["sheets"]].index(native.HELPER_SHEET)
    writes = [a for a in book.json()["actions"] if a["func"] == "setValues" and a["sheet_position"] != helper]
    # every score is what the first click wrote; only the hidden 公式计算 sheet gets its status line,
    # snapshot and 分档 table again (that sheet is not read, so nothing is known to be unchanged)
    assert [(a["start_row"], a["start_column"]) for a in writes] == []
    assert len(tally) <= CALL_BUDGET - 2 * (15 - 3)


def stale(payload, row: int):
    """The payload with one index row's check turned FALSE, as Excel shows it once that name moved."""
    sheet = next(s for s in payload["sheets"] if s["name"] == FRAMEWORK_SHEET)
    values = [list(r) for r in sheet["values"]]
    values[row - 1][I.FIRST_COLUMN + len(I.COLUMNS) - 2] = False
    return dict(payload, sheets=[dict(s, values=values) if s is sheet else s for s in payload["sheets"]])


def test_a_stale_index_is_never_used(monkeypatch, tmp_path, capsys):
    payload, book, tally = click(monkeypatch, EXAMPLE, stale(book_payload(EXAMPLE), I.FIRST_ROW + 5))
    names = len(book_payload(EXAMPLE)["names"])
    assert tally.calls.count("Name.refers_to") >= names  # every name asked for, as before the index
    assert_same_results(payload, book, EXAMPLE, scored_by_file(tmp_path, capsys, EXAMPLE))
    # and the index is written afresh, its checks as formulas for Excel to compute
    formulas = [a for a in book.json()["actions"] if a["func"] == "setFormula"]
    assert len(formulas) == 1 and formulas[0]["row_count"] == names
    assert formulas[0]["values"][0][0].startswith("=IFERROR(AND(ROW(")


def test_a_workbook_with_one_name_per_fund_cell_still_scores(monkeypatch, tmp_path, capsys):
    old = tmp_path / "旧工作簿.xlsm"
    count = with_per_cell_fund_names(EXAMPLE, old)
    assert count > 2 * 30 * 11  # 专项n_指标k_… for every cell of both tables
    new = scored_by_file(tmp_path, capsys, EXAMPLE)
    scored = tmp_path / "旧工作簿已评分.xlsm"
    shutil.copy(old, scored)
    assert main(["score", str(scored)]) == 0
    capsys.readouterr()
    with XlsxBook(scored) as book:
        assert book.has_name("专项2_指标3_得分") and not book.has_name("专项2_指标表_得分")
        for n in (1, 2):
            sheet = f"专项资金自评表{n}"
            on_old = book.read_sheet(sheet)
            for row in range(12, 44):
                for col in "HIJ":
                    assert on_old.get(f"{col}{row}") == new[sheet].get(f"{col}{row}"), (sheet, col, row)
        assert book.read_values(["专项汇总_得分"])["专项汇总_得分"] == 87.38
    # the button reads it by the same names, the slow way (it has no index)
    payload, live, tally = click(monkeypatch, old)
    grids = apply_actions(payload, live.json()["actions"])
    assert cell(grids, "专项资金自评表1", "I14") == new["专项资金自评表1"]["I14"] == 5.36
    assert cell(grids, "专项资金汇总", "B7") == 87.38
