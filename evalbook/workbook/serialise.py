"""One result, written one way: the JSON of `score --json`/`check --json` and the batch's records."""

from __future__ import annotations

from fractions import Fraction

from evalbook.core.numbers import fraction_to_float, round2
from evalbook.department.engine import Evaluation, IndicatorResult
from evalbook.funds.model import FundResult, IndicatorScore
from evalbook.funds.names import EXEC
from evalbook.funds.scoring import FundsReport


def _score(value: Fraction | None) -> float | None:
    return None if value is None else round2(value)


def _rate(value: Fraction | None) -> float | None:
    return None if value is None else round(fraction_to_float(value), 6)


def indicator_json(result: IndicatorResult) -> dict:
    return {
        "key": result.key,
        "weight": fraction_to_float(result.weight),
        "rate": _rate(result.value),
        "score": _score(result.score),
        "self_score": fraction_to_float(result.self_score),
        "explanation": result.explanation,
    }


def fund_indicator_json(ind: IndicatorScore) -> dict:
    return {
        "row": ind.row, "level1": ind.level1, "level2": ind.level2, "name": ind.name, "kind": ind.kind,
        "weight": _score(ind.weight), "ratio": _rate(ind.ratio), "score": _score(ind.score),
        "explanation": ind.explanation,
    }


def fund_json(result: FundResult) -> dict:
    return {
        "number": result.number,
        "name": result.name,
        "money": [
            {"item": m.item, "budget": fraction_to_float(m.budget), "spent": fraction_to_float(m.spent),
             "rate": _rate(m.rate)}
            for m in result.money
        ],
        "exec_score": _score(result.exec_score),
        "exec_explanation": result.exec_explanation,
        "indicators": [fund_indicator_json(i) for i in result.indicators],
        "gaps": list(result.gaps),
        "total": _score(result.total),
        "grade": result.grade,
        "issues": [f.as_dict() for f in result.findings],
    }


def funds_json(report: FundsReport | None) -> dict:
    if report is None:
        return {"funds": [], "funds_summary": None}
    summary = report.summary
    return {
        "funds": [fund_json(r) for r in report.results],
        "funds_summary": {
            "count": len(summary.lines),
            "budget": fraction_to_float(summary.budget), "spent": fraction_to_float(summary.spent),
            "rate": _rate(summary.rate),
            "score": None if summary.score is None else round(fraction_to_float(summary.score), 2),
            "grade": summary.grade, "explanation": summary.score_text,
        },
    }


def evaluation_json(evaluation: Evaluation) -> dict:
    """What `evalbook score --json` prints."""
    return {
        "unit": evaluation.unit,
        "indicators": [indicator_json(r) for r in evaluation.indicators],
        "total": _score(evaluation.total),
        "grade": evaluation.grade,
        "issues": [f.as_dict() for f in evaluation.findings],
        **funds_json(evaluation.funds),
    }


def errors_first(findings):
    return sorted(findings, key=lambda f: 0 if f.severity == "错误" else 1)


def batch_record(evaluation: Evaluation, path: str, name: str) -> dict:
    """One department as the batch's summary stores it: plain floats, text and exact ratios."""
    total, self_total = evaluation.total, evaluation.self_total
    scores, rates, weights, values, self_scores = [], [], [], [], []
    for r in evaluation.indicators:
        scores.append(_score(r.score))
        weights.append(None if r.weight is None else fraction_to_float(r.weight))
        values.append(_rate(r.value))
        self_scores.append(None if r.self_score is None else fraction_to_float(r.self_score))
        rate = r.score / r.weight if r.score is not None and r.weight else None
        # exact, as two ints: sums of exact rates do not depend on the order results arrive in
        rates.append(None if rate is None else (rate.numerator, rate.denominator))
    funds = evaluation.funds
    summary = funds.summary if funds is not None else None
    return {
        "ok": True, "path": path, "name": name, "unit": evaluation.unit,
        "framework": evaluation.framework.name, "fingerprint": evaluation.framework.fingerprint,
        "keys": list(evaluation.framework.keys), "level2": [ind.level2 for ind in evaluation.framework.indicators],
        "scores": scores, "rates": rates, "weights": weights, "values": values, "self_scores": self_scores,
        "total": _score(total),
        "grade": evaluation.grade,
        "self_total": _score(self_total),
        "self_gap": None if self_total is None or total is None else round2(self_total - total),
        "errors": evaluation.errors, "hints": evaluation.hints,
        "findings": [(f.severity, f.sheet, f.cell, f.message) for f in errors_first(evaluation.findings)],
        "funds": [_fund_record(r) for r in funds.results] if funds is not None else [],
        "fund_count": len(summary.lines) if summary is not None else 0,
        "fund_score": None if summary is None else _score(summary.score),
    }


def _fund_record(result: FundResult) -> dict:
    """One 专项资金 row: the figures its own sheet shows (as `check --json` gives them)."""
    full = fund_json(result)
    # 预算执行率 is scored like an indicator of its own: the first row of the fund's 专项指标
    execution = [EXEC, "", EXEC, None if result.exec_weight is None else fraction_to_float(result.exec_weight),
                 _rate(result.exec_rate), _score(result.exec_score)]
    return {key: full[key] for key in ("number", "name", "grade")} | {
        "budget": full["money"][0]["budget"], "spent": full["money"][0]["spent"],
        "rate": full["money"][0]["rate"], "score": full["total"],
        "indicators": [execution] + [[i["level1"], i["level2"], i["name"], i["weight"], i["ratio"], i["score"]]
                                     for i in full["indicators"]],
    }
