"""Fund sheets score themselves: LibreOffice recalculates the fund formulas of generated funds
(budgets, spending, numeric targets at and around their thresholds, typed forms, blanks) and must
give the engine's 执行率, 预算执行率得分, 完成率, 得分, 专项得分 and 等级 — text targets show
需运行校验并评分 until Python's parsed block is there, and the engine's result after."""

from __future__ import annotations

import json
import random
from fractions import Fraction
import subprocess
from pathlib import Path

import pytest

from evalbook.build.sheets import workbook_bytes
from evalbook.core.numbers import NEEDS_PYTHON, PENDING
from evalbook.funds import names as N
from evalbook.funds.model import FundInput
from evalbook.funds.scoring import evaluate_funds
from evalbook.workbook import fund_layout, fund_native, native_io
from tests.conftest import ROOT, SYSTEM_PYTHON, libreoffice_unavailable

SHEET = fund_layout.sheet_title(1)
CASES = 80
MONEY = (100, 80, "1,234.50", "　95.5　", "——", None, "abc", -5, 0, "95%", "８０")
TEXT_TARGETS = ("2020年12月底前", "3000米", "达标", "≥95%以上")


def _numeric(rng: random.Random) -> tuple[object, object]:
    """A numeric target and an actual at or around it."""
    value = rng.choice((95, 90, 100, 50, 3000, 0, 12.5))
    pct = rng.random() < 0.5 and value <= 100
    op = rng.choice(("≥", "≤", "=", "", "不低于", "不超过", ">=", "≦"))
    actual = rng.choice((value, value * 1.01, value * 0.99, value * 1.3, 0, value + 0.001))
    if pct:
        target = rng.choice((f"{op}{value}%", value / 100 if not op else f"{op}{value}%"))
        actual = rng.choice((f"{actual:g}%", actual / 100, f"{actual:g}"))
    else:
        target = rng.choice((f"{op}{value:g}", value))
        actual = rng.choice((actual, f"{actual:g}"))
    return target, actual


def _case(rng: random.Random, i: int) -> tuple[dict, set[int]]:
    """A generated fund; every fourth one complete and clean, so that totals and 等级 are scored."""
    clean = i % 4 == 0
    raw: dict[str, object] = {N.header_name(1, "专项资金名称"): f"专项{i}"}
    for item in N.MONEY_ITEMS:
        for column in (N.BUDGET, N.SPENT):
            if item == N.TOTAL or (not clean and rng.random() < 0.3):
                raw[N.money_name(1, item, column)] = rng.choice(MONEY if not clean else (100, 80, "1,234.50", 95.5))
    texts = set()
    for k, (level1, level2) in enumerate(N.INDICATOR_LAYOUT, start=1):
        raw[N.indicator_name(1, k, N.LEVEL1)] = level1
        raw[N.indicator_name(1, k, N.LEVEL2)] = level2 or None
        if rng.random() < 0.5:
            continue
        raw[N.indicator_name(1, k, N.LEVEL3)] = f"指标{k}"
        roll = 1.0 if clean else rng.random()
        if roll < 0.12:
            raw[N.indicator_name(1, k, N.TARGET)] = rng.choice(TEXT_TARGETS)
            raw[N.indicator_name(1, k, N.ACTUAL)] = rng.choice(("2020年11月30日", "3500米", "达标", "96%"))
            texts.add(k)
        elif roll < 0.17:
            raw[N.indicator_name(1, k, N.TARGET)] = "全部或基本达成预期指标"
            raw[N.indicator_name(1, k, N.TIER)] = "全部或基本达成预期指标"
            raw[N.indicator_name(1, k, N.ACTUAL)] = rng.choice(("90%", 0.85))
            texts.add(k)
        elif roll < 0.22:
            raw[N.indicator_name(1, k, N.TARGET)] = rng.choice(("≥95%", None, "——"))
        else:
            raw[N.indicator_name(1, k, N.TARGET)], raw[N.indicator_name(1, k, N.ACTUAL)] = _numeric(rng)
        if not clean and rng.random() < 0.15:
            raw[N.indicator_name(1, k, N.POINTS)] = rng.choice((5, 10, "20", "——", 0, "x"))
    return raw, texts


def _expected(raw: dict) -> tuple[dict, object]:
    report = evaluate_funds([FundInput.from_names(1, raw)])
    outputs = report.outputs()
    return outputs, report


def _on_a_half(report) -> set[str]:
    """Outputs whose exact score lies within 1e-9 of a half cent without being on it: a spreadsheet's
    floats cannot tell which way such a value rounds (the engine, in exact fractions, can)."""
    found = set()
    for result in report.results:
        for ind in result.indicators:
            if ind.score is not None:
                cents = ind.score * 100
                off = abs(cents - (cents.numerator // cents.denominator) - Fraction(1, 2))
                if 0 < off < Fraction(1, 10 ** 7):
                    found.add(N.indicator_name(1, ind.row, "得分"))
    return found


def _before(expected: dict, raw: dict, texts: set[int]) -> dict:
    out = dict(expected)
    waiting = False
    for k in texts:
        if out.get(N.indicator_name(1, k, "得分")) in (None, ""):
            continue
        if out.get(N.indicator_name(1, k, "完成率")) is None and out[N.indicator_name(1, k, "得分")] == PENDING:
            # the engine could not read the row: before Python the formula cannot tell either
            pass
        out[N.indicator_name(1, k, "完成率")] = NEEDS_PYTHON
        out[N.indicator_name(1, k, "得分")] = NEEDS_PYTHON
        waiting = True
    if waiting and out.get(N.score_name(1)) not in (None, ""):
        out[N.score_name(1)] = out[N.grade_name(1)] = NEEDS_PYTHON
    return out


def _same(a, b) -> bool:
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(a - b) <= 0.005
    return a == b


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    reason = libreoffice_unavailable()
    assert reason is None, reason
    tmp = tmp_path_factory.mktemp("专项")
    template = tmp / "template.xlsx"
    template.write_bytes(workbook_bytes())
    sheet = fund_layout.fund_sheet(1)
    refs = dict(fund_layout.refs_items(sheet))
    outputs = list(native_io.fund_formulas(1).outputs)
    parsed_top = int(fund_native.fund_formulas(1, fund_layout.refs_items(sheet)).ranges[
        fund_native.parsed_name(1)].split(":")[0][2:])
    inputs = [key for key in N.fund_input_keys(1) if key in refs]
    rng = random.Random(20261203)
    cases, expected, ambiguous = [], {}, {}
    for i in range(CASES):
        raw, texts = _case(rng, i)
        engine, report = _expected(raw)
        cells = [[SHEET, refs[key], raw.get(key)] for key in inputs]
        blank_parsed = [[SHEET, f"{col}{parsed_top + k}", None]
                        for k in range(N.INDICATOR_ROWS) for col in fund_native.PARSED_COLUMNS]
        cases.append({"label": f"{i} 未评分", "cells": cells + blank_parsed})
        expected[f"{i} 未评分"] = _before(engine, raw, texts)
        result = report.results[0] if report.results else None
        parsed = native_io.parsed_rows(report.inputs[0], result)
        written = [[SHEET, f"{col}{parsed_top + k}", value]
                   for k, row in enumerate(parsed) for col, value in zip(fund_native.PARSED_COLUMNS, row)]
        cases.append({"label": f"{i} 已评分", "cells": cells + written})
        expected[f"{i} 已评分"] = engine
        ambiguous[f"{i} 未评分"] = ambiguous[f"{i} 已评分"] = _on_a_half(report)
    job = {"template": str(template), "outputs": [], "cells_out": [[k, SHEET, refs[k]] for k in outputs],
           "cases": cases}
    job_file = tmp / "job.json"
    job_file.write_text(json.dumps(job, ensure_ascii=False, default=str), encoding="utf-8")
    run = subprocess.run([SYSTEM_PYTHON, str(ROOT / "tests" / "lo_fill.py"), str(job_file)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    shown = {r["label"]: r["values"] for r in map(json.loads, run.stdout.splitlines())}
    return [(label, expected[label], shown[label], [n for n in outputs if n not in ambiguous[label]])
            for label in expected]


def test_fund_formulas_give_the_engine_result(filled):
    wrong = []
    for label, expected, shown, names in filled:
        for name in names:
            if not _same(expected.get(name), shown.get(name)):
                wrong.append(f"{label} {name}: 引擎{expected.get(name)!r} 公式{shown.get(name)!r}")
    assert not wrong, "\n".join(wrong[:40]) + f"\n… {len(wrong)} in all"


def test_values_on_a_rounding_half_are_rare(filled):
    """Outputs left out of the comparison above because their exact value sits within 1e-9 of a
    half cent: a handful at most in thousands."""
    outputs = {n for _, _, _, names in filled for n in native_io.fund_formulas(1).outputs}
    compared = sum(len(names) for *_, names in filled)
    assert compared >= 0.999 * len(filled) * len(outputs)


def test_the_cases_reach_every_outcome(filled):
    """The generated funds cover scored totals, waiting totals and every marker."""
    seen = {shown.get(N.score_name(1)) if not isinstance(shown.get(N.score_name(1)), float) else "number"
            for _, _, shown, _ in filled}
    assert {"number", PENDING, NEEDS_PYTHON} <= seen
    rows = {v for _, _, shown, _ in filled for k, v in shown.items() if k.endswith("_得分") and isinstance(v, str)}
    assert {PENDING, NEEDS_PYTHON} <= rows
