"""The ribbon button's Python side, run for real on xlwings' remote engine (no Excel needed)."""

from __future__ import annotations

import shutil

import openpyxl
import pytest
import xlwings as xw

from evalbook import button
from evalbook.department.framework import seed_framework
from evalbook.workbook import contract as C
from evalbook.workbook import layout, native, native_io
from evalbook.cli import main
from tests.conftest import EXAMPLE
from tests.remote_book import apply_actions, book_payload, cell


@pytest.fixture
def remote(monkeypatch):
    def open_remote(path):
        payload = book_payload(path)
        book = xw.Book(json=payload)
        monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: book))
        return payload, book

    return open_remote


def file_scores(path, data_only=True):
    wb = openpyxl.load_workbook(path, data_only=data_only)
    found = {}
    for name in C.contract_for().output_names:
        sheet, ref = next(iter(wb.defined_names[name].destinations))
        found[name] = wb[sheet][ref.replace("$", "")].value
    return found


def live_scores(payload, book, path):
    grids = apply_actions(payload, book.json()["actions"])
    wb = openpyxl.load_workbook(path)
    found = {}
    for name in C.contract_for().output_names:
        sheet, ref = next(iter(wb.defined_names[name].destinations))
        found[name] = cell(grids, sheet, ref.replace("$", ""))
    return found, grids


def test_button_agrees_with_command_line(tmp_path, remote, capsys):
    payload, book = remote(EXAMPLE)
    button.score()
    live, grids = live_scores(payload, book, EXAMPLE)

    scored = tmp_path / "scored.xlsm"
    shutil.copy(EXAMPLE, scored)
    assert main(["score", str(scored)]) == 0
    capsys.readouterr()
    on_file = file_scores(scored)
    formulas = file_scores(scored, data_only=False)
    before = file_scores(EXAMPLE, data_only=True)
    for key in seed_framework().keys:
        # the score cells hold the template's native formulas: Excel computes them, the button
        # leaves them alone (the command keeps the same formulas and caches their results)
        assert live[C.score_name(key)] == before[C.score_name(key)], key
        assert formulas[C.score_name(key)].startswith("=")
        assert live[C.note_name(key)] == on_file[C.note_name(key)], key
    assert on_file[C.TOTAL] == 76 and on_file[C.GRADE] == "中"
    # the same findings table, row for row
    wb = openpyxl.load_workbook(scored)
    file_rows = [r for r in wb["校验结果"].iter_rows(min_row=4, max_col=6, values_only=True) if r[0] is not None]
    live_rows = [tuple(row[:6]) for row in grids["校验结果"][3:] if row and row[0] is not None]
    assert [r[1:] for r in live_rows] == [r[1:] for r in file_rows]


def test_button_never_writes_an_input_cell(remote):
    payload, book = remote(EXAMPLE)
    button.score()
    inputs = {(sheet, ref) for sheet, ref in layout.input_cells().values()}
    order = [s["name"] for s in payload["sheets"]]
    from evalbook.adapters import sheetxml as X

    for action in book.json()["actions"]:
        if action["func"] == "setRowHeight":
            continue  # a row's height is no cell's content
        sheet = order[action["sheet_position"]]
        for r in range(action["row_count"]):
            for c in range(action["column_count"]):
                ref = f"{X.column_letters(action['start_column'] + c + 1)}{action['start_row'] + r + 1}"
                assert (sheet, ref) not in inputs, (sheet, ref)


def test_button_on_errors_and_formula_like_text(make_book, seed_values, remote):
    seed_values["公用经费_本年决算"] = "=1+1 约"
    path = make_book(seed_values)
    payload, book = remote(path)
    button.score()
    live, grids = live_scores(payload, book, path)
    assert live[C.note_name("公用经费控制率")].startswith("输入有误")
    texts = [v for row in grids["校验结果"] for v in row if isinstance(v, str)]
    assert any("“=1+1 约”不是数字" in t for t in texts)
    # nothing the button writes can start a formula, but for the template's own native formulas
    own = set(native.helper_layout(seed_framework()).outputs.values())
    for n in (1, 2, 3):
        own |= set(native_io.fund_formulas(n).outputs.values())
    for action in (a for a in book.json()["actions"] if a["func"] in ("setValues", "setFormula")):
        for row in action["values"] or []:
            for value in row:
                assert not (isinstance(value, str) and value.startswith(("=", "+", "-", "@"))) or value in own


def test_clear_marks_empties_results_only(remote, tmp_path, capsys):
    scored = tmp_path / "scored.xlsm"
    shutil.copy(EXAMPLE, scored)
    assert main(["score", str(scored)]) == 0  # five findings in 校验结果!A4:F8
    capsys.readouterr()
    payload, book = remote(scored)
    button.clear()
    actions = book.json()["actions"]
    results = [s["name"] for s in payload["sheets"]].index("校验结果")
    clears = [a for a in actions if a["sheet_position"] == results and a["func"] != "setRowHeight"]
    # one write of nothing over the table the previous run wrote, and no further
    assert len(clears) == 1 and clears[0]["func"] == "setValues"
    assert (clears[0]["start_row"], clears[0]["row_count"], clears[0]["column_count"]) == (3, 5, 6)
    assert clears[0]["values"] == [[None] * 6] * 5
    helper = [s["name"] for s in payload["sheets"]].index(native.HELPER_SHEET)  # where the status line goes
    assert all(a["sheet_position"] in (0, results, helper) for a in actions)


def test_button_on_a_book_without_the_template_names_alerts(monkeypatch):
    payload = {"client": "Microsoft Office Scripts", "version": xw.__version__,
               "book": {"name": "别的.xlsx", "active_sheet_index": 0, "selection": "A1"},
               "names": [], "sheets": [{"name": "Sheet1", "values": [[None]], "pictures": [], "tables": []}]}
    book = xw.Book(json=payload)
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: book))
    said = []
    monkeypatch.setattr(button, "_alert", lambda _book, message: said.append(message))
    button.score()
    assert said and "缺少" in said[0] and "定义名称" in said[0]
    assert book.json()["actions"] == []


def test_add_fund_button_copies_the_sheet_and_names_it(remote, monkeypatch):
    from evalbook.funds import names as N

    payload, book = remote(EXAMPLE)
    said = []
    monkeypatch.setattr(button, "_alert", lambda _book, message: said.append(message))
    button.add_fund()
    actions = book.json()["actions"]
    order = [s["name"] for s in payload["sheets"]]
    copy = [a for a in actions if a["func"] == "copySheet"]
    assert len(copy) == 1 and copy[0]["sheet_position"] == order.index("专项资金自评表1")
    added = {a["args"][0]: a["args"][1] for a in actions if a["func"] == "namesAdd"}
    assert len(added) == len(N.fund_names(3))  # the example has two funds already
    assert added["专项3_指标表_完成值"] == "='专项资金自评表3'!$E$12:$E$41"
    assert added["专项3_专项资金名称"] == "='专项资金自评表3'!$C$2"
    assert said == ["已新增“专项资金自评表3”，请填写后点击“校验并评分”。"]


@pytest.mark.parametrize("refers_to, expected", [
    ("=评分表!$I$5", ("评分表", "I5")),
    ("='专项资金自评表1'!$C$2", ("专项资金自评表1", "C2")),
    ("='O''Brien 表'!$A$3:$I$18", ("O'Brien 表", "A3")),
    ("=#REF!", None),
    ("=评分表!#REF!", None),
])
def test_live_names_resolve_from_their_formula_text(refers_to, expected):
    from evalbook.adapters.live import LiveBook

    class Name:
        def __init__(self, name, text):
            self.name, self.refers_to = name, text

        @property
        def refers_to_range(self):
            raise RuntimeError("a name at #REF! has no range")

    book = type("Book", (), {"names": [Name("x", refers_to)]})()
    ref = LiveBook(book).locate("x")
    assert (None if ref is None else (ref.sheet, ref.cell)) == expected


@pytest.mark.parametrize("function", ["score", "clear", "add_fund", "show_help"])
def test_no_button_ever_shows_a_traceback(remote, monkeypatch, tmp_path, function):
    """An unexpected failure inside any button is one Chinese sentence, in a box and in 校验状态."""
    payload, book = remote(EXAMPLE)
    said = []

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(button, "LiveBook", boom)
    monkeypatch.setattr(button, "add_fund_to_live", boom)
    monkeypatch.setattr(button, "HELP_TEXT", None)  # show_help fails inside its own alert
    monkeypatch.setattr(button, "open_help", lambda: False)  # the box, as where no help page opens
    monkeypatch.setattr(button, "_alert", lambda _book, message: said.append(message) if message else boom())
    getattr(button, function)()  # must not raise
    assert said and "意外错误（RuntimeError）" in said[-1] and "Traceback" not in said[-1]
    grids = apply_actions(payload, book.json()["actions"])
    status = next(iter(openpyxl.load_workbook(EXAMPLE).defined_names[C.STATUS].destinations))
    assert cell(grids, status[0], status[1].replace("$", "")) == said[-1]
