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


FILE_CASES = 8  # of each framework, also written to files and scored (LibreOffice loads each)


def _rule_rows(template: Path) -> list[list[object]]:
    with XlsxBook(template) as book:
        return [list(row) for row in book.read_range(C.RULES_TABLE)[1]]


def _fill_job(template: Path, framework, seeded) -> dict:
    """The cells LibreOffice sets for each case: every input, every 评分规则 cell, and the parsed
    分档/等级 as `evalbook score` writes them; and the engine's results for the same inputs."""
    from evalbook.core.cells import cell_position, column_letter
    from evalbook.core.ruletable import RulesSource
    from evalbook.department.engine import evaluate
    from evalbook.department.rules import read_rules

    helper = native.helper_layout(framework)
    contract = C.contract_for(framework)
    with XlsxBook(template) as book:
        inputs = {n: book.locate(n) for n in contract.input_names if n not in ("填报单位", "评价年度", "厉行节约保障措施")}
        rules_at = book.locate(C.RULES_TABLE)
        bands_at = book.locate(native.BANDS_TABLE)
    defaults = _rule_rows(template)
    top, left = cell_position(rules_at.cell)
    band_top, band_left = cell_position(bands_at.cell)
    cases, expected = [], {}
    for case in seeded:
        rows = case.rules or defaults
        cells = [[ref.sheet, ref.cell, _plain_value(case.values.get(name))] for name, ref in inputs.items()]
        for r, row in enumerate(rows):
            cells += [[rules_at.sheet, f"{column_letter(left + c)}{top + r}", _plain_value(v)]
                      for c, v in enumerate(row)]
        source = RulesSource(rows=rows, sheet=C.RULES_SHEET, first_row=top, first_column=left)
        rules = read_rules(framework, rows, top).rules
        for i, (ind, band) in enumerate(zip(framework.indicators, native.band_rows(helper, rules))):
            text = next((row[native.BANDS_COLUMN] for row in rows if row[0] == ind.key), None)
            band = (None if text is None else str(text),) + tuple(band[1:])
            band += (None,) * (native.BANDS_WIDTH - len(band))
            cells += [[bands_at.sheet, f"{column_letter(band_left + c)}{band_top + i}", _plain_value(v)]
                      for c, v in enumerate(band)]
        raw = {name: case.values.get(name) for name in inputs}
        evaluation = evaluate(raw, {}, source, framework)
        expected[case.label] = {n: v for n, v in service.output_values(evaluation, NOW).items()
                                if n in helper.outputs and n != C.STATUS}
        cases.append({"label": case.label, "cells": cells})
    return {"template": str(template), "outputs": [n for n in helper.outputs if n != C.STATUS],
            "cases": cases}, expected


def _plain_value(value):
    from fractions import Fraction

    return float(value) if isinstance(value, Fraction) else value


def _fill_in_libreoffice(job: dict, tmp: Path) -> dict[str, dict]:
    job_file = tmp / "job.json"
    job_file.write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run([SYSTEM_PYTHON, str(ROOT / "tests" / "lo_fill.py"), str(job_file)],
                         capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr[-2000:]
    return {r["label"]: r["values"] for r in map(json.loads, run.stdout.splitlines())}


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """Hundreds of departments typed into the template in LibreOffice, as the accountant types."""
    reason = libreoffice_unavailable()
    assert reason is None, reason  # CI installs LibreOffice: the second calculator must run
    tmp = tmp_path_factory.mktemp("填入")
    found = []  # (label, expected, shown, case)
    for prefix, framework, count, seed in (("seed", seed_framework(), SEED_CASES, 20261202),
                                           ("other", example_framework(), OTHER_CASES, 7)):
        template = tmp / f"{prefix}.xlsx"
        template.write_bytes(workbook_bytes(framework=framework))
        seeded = cases(count, seed, framework)
        job, expected = _fill_job(template, framework, seeded)
        shown = _fill_in_libreoffice(job, tmp)
        found += [(f"{prefix} {c.label}", expected[c.label], shown[c.label], c) for c in seeded]
    return found


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory):
    """Some of the departments as files too: before Python ran, and after `evalbook score` wrote
    its cached values, each loaded and recalculated by LibreOffice."""
    reason = libreoffice_unavailable()
    assert reason is None, reason
    tmp = tmp_path_factory.mktemp("原生公式")
    runs = []  # (path, expected, names, label, case)
    for prefix, framework, seed in (("seed", seed_framework(), 20261202), ("other", example_framework(), 7)):
        template = workbook_bytes(framework=framework)
        names = list(native.helper_layout(framework).outputs)
        # the first cases, and the edited ones among the next: band texts Python has not parsed yet
        chosen = cases(FILE_CASES * 4, seed, framework)
        chosen = chosen[:FILE_CASES // 2] + [c for c in chosen[FILE_CASES // 2:] if c.edited_texts][:FILE_CASES // 2]
        for case in chosen:
            fresh = _fill(template, tmp / f"{prefix}_{case.label}.xlsx", case)
            engine = _expected(fresh)
            before = {n: v for n, v in _before_python(engine, case, framework).items() if n != C.STATUS}
            runs.append((fresh, before, [n for n in names if n != C.STATUS], f"未评分 {prefix} {case.label}", case))
            scored = fresh.with_name(fresh.stem + "_已评分.xlsx")
            shutil.copy(fresh, scored)
            with XlsxBook(scored) as book:
                service.score_book(book, NOW)
                book.save()
            with XlsxBook(scored) as book:
                cached = book.read_values(names)
            runs.append((scored, cached, names, f"已评分 {prefix} {case.label}", case))
            # the cached values are the engine's results, marker for marker
            assert not _differences({**engine, C.STATUS: cached[C.STATUS]}, cached, names), case.label
    shown = _recalculate([r[0] for r in runs], sorted({n for r in runs for n in r[2]}), tmp)
    return runs, shown


def test_at_least_300_departments_are_compared(filled, recalculated):
    assert len(filled) >= 300
    runs, shown = recalculated
    assert all(str(r[0]) in shown for r in runs)


def test_every_formula_result_equals_the_engine_as_typed(filled):
    failures = []
    for label, expected, shown, case in filled:
        diffs = _differences(expected, shown, expected)
        if diffs:
            failures.append(f"{label}（规则修改：{case.rules is not None}）：" + "；".join(diffs[:4]))
    assert not failures, f"{len(failures)}份不一致：\n" + "\n".join(failures[:10])


def test_every_file_shows_the_engine_before_and_after_scoring(recalculated):
    runs, shown = recalculated
    failures = []
    for path, expected, names, label, case in runs:
        diffs = _differences(expected, shown[str(path)]["values"], names)
        if diffs:
            failures.append(f"{label}（规则修改：{case.rules is not None}）：" + "；".join(diffs[:4]))
    assert not failures, f"{len(failures)}份不一致：\n" + "\n".join(failures[:10])


def test_the_cases_cover_every_outcome(filled, recalculated):
    """The generated departments reach every marker and every method (a generator that drifted
    into only easy cases would make the comparisons above hollow)."""
    seen = {v for _, expected, _, _ in filled for n, v in expected.items() if n.startswith("得分_") and isinstance(v, str)}
    runs, _ = recalculated
    seen |= {v for r in runs for n, v in r[1].items() if n.startswith("得分_") and isinstance(v, str)}
    assert {PENDING, "数据有误", RULE_INVALID, NEEDS_PYTHON} <= seen
    methods = {row[2] for *_, case in filled if case.rules for row in case.rules}
    assert set(M.STEP_METHODS) | {M.BANDS, M.GRADED} <= methods
    policies = {row[6] for *_, case in filled if case.rules for row in case.rules}
    assert {"整步", "不足一步按一步", "按比例"} <= policies
    scores = [v for _, expected, _, _ in filled for n, v in expected.items() if n.startswith("得分_") and isinstance(v, float)]
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
        book.write_values({"政府采购_本年决算": 250})
        book.save()
    names = list(native.helper_layout(seed_framework()).outputs)
    shown = _recalculate([path, edited], names, tmp_path)
    untouched, changed = shown[str(path)]["values"], shown[str(edited)]["values"]
    assert untouched[C.STATUS].startswith("2026-12-02 09:30 校验完成：总分76分（中）")
    assert changed[C.STATUS].startswith("数据在上次校验后已修改")
    assert "扣分说明和校验结果已过期" in changed[C.STATUS] and "总分76分" in changed[C.STATUS]
    engine = _expected(edited)
    assert engine[C.score_name("政府采购执行率")] == 6  # 250/245 = 102.04%: under one step of 5%
    assert not _differences(engine, changed, [n for n in names if n != C.STATUS])
    assert changed[C.TOTAL] == 82


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
