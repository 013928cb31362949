"""The workbook scores itself: LibreOffice, an independent calculator, recalculates the native
formulas of hundreds of generated departments and must give the engine's result for every output
(to 0.005) — before Python ever ran, and after `evalbook score` left its cached values."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from evalbook.adapters.xlsx import XlsxBook
from evalbook.build.example import example_framework
from evalbook.build.sheets import workbook_bytes
from evalbook.core.numbers import NEEDS_PYTHON, PENDING, RULE_INVALID, read_number
from evalbook.department import methods as M
from evalbook.department.framework import seed_framework
from evalbook.department.rules import COLUMNS
from evalbook.workbook import contract as C
from evalbook.workbook import native, service
from tests.conftest import ROOT, SYSTEM_PYTHON, libreoffice_unavailable
from tests.native_cases import cases

NOW = dt.datetime(2026, 12, 2, 9, 30)
SEED_CASES = 300
OTHER_CASES = 24


def _fill(template: bytes, path: Path, case) -> Path:
    path.write_bytes(template)
    with XlsxBook(path) as book:
        book.write_values(case.values)
        if case.rules is not None:
            book.write_rows(C.RULES_TABLE, case.rules, width=len(COLUMNS))
        book.save()
    return path


def _expected(path: Path) -> dict[str, object]:
    with XlsxBook(path) as book:
        evaluation = service.read_evaluation(book)
    return service.output_values(evaluation, NOW)


def _before_python(expected: dict, case, framework) -> dict:
    """What the formulas show before Python parsed an edited 分档/等级 text: NEEDS_PYTHON, and a
    total that waits for it."""
    out = dict(expected)
    rows = {row[0]: dict(zip(COLUMNS, row)) for row in case.rules or ()}
    waiting = []
    for key in case.edited_texts:
        row = rows[key]
        weight = read_number(row["分值"])
        if row["计分方法"] not in (M.BANDS, M.GRADED) or weight.value is None or weight.dash or weight.value <= 0:
            continue
        if row["计分方法"] not in framework.by_key[key].methods:
            continue
        out[C.score_name(key)] = NEEDS_PYTHON
        out[C.value_name(key)] = ""
        waiting.append(key)
    if waiting:
        out[C.TOTAL] = out[C.GRADE] = PENDING
        for key in waiting:
            out[C.level2_names(framework.by_key[key].level2)[1]] = ""
    return out


def _recalculate(paths: list[Path], names: list[str], tmp: Path) -> dict[str, dict]:
    names_file = tmp / "names.txt"
    names_file.write_text("\n".join(names), encoding="utf-8")
    run = subprocess.run([SYSTEM_PYTHON, str(ROOT / "tests" / "lo_recalc.py"), str(names_file), *map(str, paths)],
                         capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr[-2000:]
    found = {}
    for line in run.stdout.splitlines():
        record = json.loads(line)
        found[record["path"]] = record
    return found


def _same(a, b) -> bool:
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(a - b) <= 0.005
    return a == b


def _differences(expected: dict, shown: dict, names) -> list[str]:
    return [f"{n}: 引擎{expected.get(n)!r} 公式{shown.get(n)!r}" for n in names if not _same(expected.get(n), shown.get(n))]


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory):
    reason = libreoffice_unavailable()
    assert reason is None, reason  # CI installs LibreOffice: the second calculator must run
    tmp = tmp_path_factory.mktemp("原生公式")
    runs = []  # (path, expected, names, label)
    for prefix, framework, count, seed in (("seed", seed_framework(), SEED_CASES, 20261202),
                                          ("other", example_framework(), OTHER_CASES, 7)):
        template = workbook_bytes(framework=framework)
        names = list(native.helper_layout(framework).outputs)
        for case in cases(count, seed, framework):
            fresh = _fill(template, tmp / f"{prefix}_{case.label}.xlsx", case)
            engine = _expected(fresh)
            before = {n: v for n, v in _before_python(engine, case, framework).items() if n != C.STATUS}
            runs.append((fresh, before, [n for n in names if n != C.STATUS], f"未评分 {case.label}", case))
            scored = fresh.with_name(fresh.stem + "_已评分.xlsx")
            shutil.copy(fresh, scored)
            with XlsxBook(scored) as book:
                service.score_book(book, NOW)
                book.save()
            with XlsxBook(scored) as book:
                cached = book.read_values(names)
            runs.append((scored, cached, names, f"已评分 {case.label}", case))
            # the cached values are the engine's results, marker for marker
            assert not _differences({**engine, C.STATUS: cached[C.STATUS]}, cached, names), case.label
    shown = _recalculate([r[0] for r in runs], sorted({n for r in runs for n in r[2]}), tmp)
    return runs, shown


def test_at_least_300_departments_are_compared(recalculated):
    runs, shown = recalculated
    assert len({r[4].label + str(r[0].parent) for r in runs}) >= 300
    assert all(str(r[0]) in shown for r in runs)


def test_every_formula_result_equals_the_engine(recalculated):
    runs, shown = recalculated
    failures = []
    for path, expected, names, label, case in runs:
        diffs = _differences(expected, shown[str(path)]["values"], names)
        if diffs:
            failures.append(f"{label}（规则修改：{case.rules is not None}）：" + "；".join(diffs[:4]))
    assert not failures, f"{len(failures)}份不一致：\n" + "\n".join(failures[:10])


def test_the_cases_cover_every_outcome(recalculated):
    """The generated departments reach every marker and every method (a generator that drifted
    into only easy cases would make the comparison above hollow)."""
    runs, shown = recalculated
    seen = {v for r in runs for n, v in r[1].items() if n.startswith("得分_") and isinstance(v, str)}
    assert {PENDING, "数据有误", RULE_INVALID, NEEDS_PYTHON} <= seen
    methods = {row[2] for r in runs if r[4].rules for row in r[4].rules}
    assert set(M.STEP_METHODS) | {M.BANDS, M.GRADED} <= methods | {M.GRADED}
    policies = {row[6] for r in runs if r[4].rules for row in r[4].rules}
    assert {"整步", "不足一步按一步", "按比例"} <= policies
    scores = [v for r in runs for n, v in r[1].items() if n.startswith("得分_") and isinstance(v, float)]
    assert len(scores) > 2000


def test_an_edit_after_scoring_marks_the_reasons_stale_but_not_the_scores(tmp_path, seed_values):
    path = tmp_path / "已评分.xlsx"
    path.write_bytes(workbook_bytes(seed_values))
    with XlsxBook(path) as book:
        service.score_book(book, NOW)
        book.save()
    edited = tmp_path / "在WPS中修改.xlsx"
    shutil.copy(path, edited)
    with XlsxBook(edited) as book:  # as if typed in WPS: only the input changes
        book.write_values({"公用经费_本年决算": 120})
        book.save()
    names = list(native.helper_layout(seed_framework()).outputs)
    shown = _recalculate([path, edited], names, tmp_path)
    untouched, changed = shown[str(path)]["values"], shown[str(edited)]["values"]
    assert untouched[C.STATUS].startswith("2026-12-02 09:30 校验完成：总分76分（中）")
    assert changed[C.STATUS].startswith("数据在上次校验后已修改")
    assert "扣分说明和校验结果已过期" in changed[C.STATUS] and "总分76分" in changed[C.STATUS]
    engine = _expected(edited)
    assert engine[C.score_name("公用经费控制率")] == 8  # 120/124.4 is within budget
    assert not _differences(engine, changed, [n for n in names if n != C.STATUS])
    assert changed[C.TOTAL] == 84


def test_a_formula_typed_over_is_restored_with_a_hint(tmp_path, seed_values):
    path = tmp_path / "覆盖.xlsx"
    path.write_bytes(workbook_bytes(seed_values))
    with XlsxBook(path) as book:
        book.write_values({C.score_name("公用经费控制率"): 8, C.TOTAL: 100})  # the accountant's own numbers
        book.save()
    with XlsxBook(path) as book:
        evaluation = service.score_book(book, NOW)
        book.save()
    hints = [f for f in evaluation.findings if "评分公式被改动或覆盖" in f.message]
    assert {f.name for f in hints} == {C.score_name("公用经费控制率"), C.TOTAL}
    assert {f.cell for f in hints} == {"I10", "I28"}
    helper = native.helper_layout(seed_framework())
    with XlsxBook(path) as book:
        formulas = book.read_formulas(helper.outputs)
        values = book.read_values([C.TOTAL, C.score_name("公用经费控制率")])
    assert all(formulas[n] == f[1:] for n, f in helper.outputs.items())
    assert values == {C.TOTAL: 76, C.score_name("公用经费控制率"): 0}
    with XlsxBook(path) as book:  # a second run finds nothing to restore
        again = service.score_book(book, NOW)
    assert not [f for f in again.findings if "评分公式被改动或覆盖" in f.message]


def test_the_formula_sheet_has_no_circular_reference():
    """A cycle would make Excel warn on open and leave cells at 0; every helper formula may only
    read cells that do not, through any chain, read it back."""
    import re

    helper = native.helper_layout(seed_framework())
    cell_ref = re.compile(r"\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?")
    graph = {}
    for ref, value in helper.cells.items():
        if isinstance(value, str) and value.startswith("="):
            found = set()
            for m in cell_ref.finditer(re.sub(r'"[^"]*"', "", value)):
                if m.group(3):  # a range down one column
                    found |= {f"{m.group(1)}{r}" for r in range(int(m.group(2)), int(m.group(4)) + 1)}
                else:
                    found.add(f"{m.group(1)}{m.group(2)}")
            graph[ref] = found & set(helper.cells)
    state: dict[str, int] = {}

    def visit(node, path):
        if state.get(node) == 1:
            raise AssertionError("circular: " + " → ".join(path + [node]))
        if state.get(node) == 2:
            return
        state[node] = 1
        for nxt in graph.get(node, ()):
            visit(nxt, path + [node])
        state[node] = 2

    for node in graph:
        visit(node, [])
    assert len(graph) > 1500
