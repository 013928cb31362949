"""The bureau's summary (汇总.xlsx): what `evalbook batch` and `evalbook merge` collect.

Results are spilled to a temporary SQLite file as they arrive, so memory stays flat however many
departments there are; `summary_book` streams them out.  The sheets' headers are the contract
`evalbook merge` reads back, so they live here as constants.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Mapping

from evalbook.bureau.frameworks import FrameworkInfo, mixed_note, ordered, union_keys
from evalbook.core.errors import EXIT_FINDINGS, EXIT_OK, EXIT_UNUSABLE, WorkbookUnusable

SUMMARY_SHEET = "汇总"
CHART_SHEET = "图表"
FINDINGS_SHEET = "问题清单"
FAILED_SHEET = "无法读取"
FUNDS_SHEET = "专项资金"
FRAMEWORKS_SHEET = "框架"
INDICATORS_SHEET = "部门指标"  # one row per department × indicator (tidy: for pivot tables and pandas)
FUND_INDICATORS_SHEET = "专项指标"  # one row per fund × indicator

RANK, FILE, UNIT, FRAMEWORK = "排名", "文件", "单位名称", "框架"
TOTAL, GRADE, ERRORS, HINTS = "总分", "等级", "错误数", "提示数"
SELF_TOTAL, SELF_GAP = "自评总分", "自评−总分"
FUND_COUNT, FUND_SCORE = "专项资金个数", "专项资金得分"
# 汇总: these, then one column per 指标键 of the frameworks present (their union), then the tail;
# the fund columns go last, so the columns before them (and the chart's references) stay put
SUMMARY_HEAD = (RANK, FILE, UNIT, FRAMEWORK)
SUMMARY_TAIL = (TOTAL, GRADE, ERRORS, HINTS, SELF_TOTAL, SELF_GAP, FUND_COUNT, FUND_SCORE)
FUND_NUMBER, FUND_NAME = "专项序号", "专项资金名称"
FUND_BUDGET, FUND_SPENT, FUND_RATE = "全年预算数(A)", "全年执行数(B)", "执行率"
SCORE = "得分"
FUND_COLUMNS = (FILE, UNIT, FUND_NUMBER, FUND_NAME, FUND_BUDGET, FUND_SPENT, FUND_RATE, SCORE, GRADE)
FINDING_COLUMNS = ("文件", "单位", "级别", "工作表", "单元格", "说明")
FAILED_COLUMNS = ("文件", "原因")
# 框架 last: a summary from before frameworks has the first four, in the same columns
RATE_COLUMNS = ("指标", "二级指标", "计分单位数", "平均得分率", FRAMEWORK)
RATES_HEADER_ROW = 2  # row 1 of 图表 is its title
FRAMEWORK_NAME, FINGERPRINT, POSITION, LEVEL2, INDICATOR = "框架名称", "指纹", "序号", "二级指标", "指标"
FRAMEWORK_COLUMNS = (FRAMEWORK, FRAMEWORK_NAME, FINGERPRINT, POSITION, LEVEL2, INDICATOR)
WHOLE_SUMMARY = "（全部文件）"  # 问题清单's 文件 for a note about the summary itself, not one file
WEIGHT, VALUE, SELF_SCORE = "分值", "计算值", "自评得分"
INDICATOR_COLUMNS = (FILE, UNIT, FRAMEWORK, POSITION, LEVEL2, INDICATOR, WEIGHT, VALUE, SCORE, SELF_SCORE)
LEVEL1, LEVEL3, RATIO = "一级指标", "三级指标", "完成比例"
FUND_INDICATOR_COLUMNS = (FILE, UNIT, FUND_NUMBER, FUND_NAME, LEVEL1, LEVEL2, LEVEL3, WEIGHT, RATIO, SCORE)

NO_UNIT = "（未填报单位）"
MAX_CELL_TEXT = 32767  # Excel's limit for one cell

# ---- collecting results -------------------------------------------------------------------------


@dataclass
class Tally:
    files: int = 0
    scored: int = 0
    pending: int = 0  # scored, but 总分 待补充
    with_errors: int = 0
    unreadable: int = 0
    skipped_names: list[str] = field(default_factory=list)  # summaries found among the inputs
    framework_note: str | None = None  # the 提示 when departments were scored under several frameworks

    def exit_code(self) -> int:
        """2 when some file could not be read, else 1 when some has 错误, else 0 (batch and merge)."""
        if self.unreadable:
            return EXIT_UNUSABLE
        return EXIT_FINDINGS if self.with_errors else EXIT_OK

    def line(self) -> str:
        parts = [f"共{self.files}个文件：已评分{self.scored}个"]
        notes = []
        if self.pending:
            notes.append(f"总分待补充{self.pending}个")
        if self.with_errors:
            notes.append(f"有错误的{self.with_errors}个")
        if notes:
            parts.append(f"（其中{'，'.join(notes)}）")
        parts.append(f"，无法读取{self.unreadable}个")
        if self.skipped_names:
            parts.append(f"，跳过汇总表{len(self.skipped_names)}个")
        return "".join(parts)


class RateSums:
    """Exact running sums of 得分率 per indicator of one framework: flat memory, the same whatever
    order results arrive in (float sums are not), and mergeable across summaries as
    count-weighted means."""

    def __init__(self, info: FrameworkInfo):
        self.info = info
        self.sums: dict[str, Fraction] = {k: Fraction(0) for k in info.keys}
        self.counts: dict[str, int] = {k: 0 for k in info.keys}

    def add(self, key: str, rate: Fraction, count: int = 1) -> None:
        self.sums[key] += rate * count
        self.counts[key] += count

    def rows(self) -> list[tuple[str, str, int, float | None]]:
        """(指标, 二级指标, 计分单位数, 平均得分率), lowest average first: where to look first."""
        rows = []
        for key, level2 in zip(self.info.keys, self.info.level2):
            n = self.counts[key]
            rows.append((key, level2, n, float(self.sums[key] / n) if n else None))
        order = {k: i for i, k in enumerate(self.info.keys)}
        rows.sort(key=lambda r: (r[3] is None, r[3] if r[3] is not None else 0.0, order[r[0]]))
        return rows


class FrameworkConflict(WorkbookUnusable):
    """Two different frameworks under one label (a hand-edited 框架 sheet, or a fingerprint clash)."""


class Collector:
    """Department results, findings and failures, kept on disk until the summary is written.

    A result is the plain dict a batch worker returns (see `evalbook.batch.score_file`);
    `merge` builds the same dicts from summaries read back.
    """

    def __init__(self, folder: str | os.PathLike):
        self._db = sqlite3.connect(Path(folder) / "results.sqlite3")
        self._db.executescript("""
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            PRAGMA cache_size = -4096;
            CREATE TABLE dept (seq INTEGER PRIMARY KEY, name TEXT, path TEXT, unit TEXT, framework TEXT, scores TEXT,
                               total REAL, grade TEXT, errors INTEGER, hints INTEGER,
                               self_total REAL, self_gap REAL, fund_count INTEGER, fund_score REAL);
            CREATE TABLE finding (seq INTEGER PRIMARY KEY, name TEXT, path TEXT, unit TEXT, errfirst INTEGER,
                                  severity TEXT, sheet TEXT, cell TEXT, message TEXT);
            CREATE TABLE failure (seq INTEGER PRIMARY KEY, name TEXT, path TEXT, reason TEXT);
            CREATE TABLE fund (seq INTEGER PRIMARY KEY, name TEXT, path TEXT, unit TEXT, number INTEGER,
                               fund_name TEXT, budget REAL, spent REAL, rate REAL, score REAL, grade TEXT);
            CREATE TABLE indicator (seq INTEGER PRIMARY KEY, name TEXT, path TEXT, unit TEXT, framework TEXT,
                                    position INTEGER, level2 TEXT, key TEXT, weight REAL, value REAL,
                                    score REAL, self_score REAL);
            CREATE TABLE fund_indicator (seq INTEGER PRIMARY KEY, name TEXT, path TEXT, unit TEXT,
                                         number INTEGER, fund_name TEXT, level1 TEXT, level2 TEXT,
                                         indicator TEXT, weight REAL, ratio REAL, score REAL);
        """)
        self.tally = Tally()
        self.frameworks: dict[str, FrameworkInfo] = {}  # by label
        self.framework_counts: dict[str, int] = {}  # departments scored under each
        self.rates: dict[str, RateSums] = {}

    def add_framework(self, info: FrameworkInfo) -> None:
        """Register a framework (again is fine); one label never stands for two frameworks."""
        known = self.frameworks.get(info.label)
        if known is None:
            self.frameworks[info.label] = info
            self.framework_counts[info.label] = 0
            self.rates[info.label] = RateSums(info)
        elif known != info:
            raise FrameworkConflict(
                f"指标框架“{info.label}”与同名、同指纹的另一框架的指标不一致，无法确定各列对应的指标")

    def add(self, result: Mapping) -> None:
        name, path = result["name"], result.get("path", result["name"])
        if result.get("skipped"):
            self.tally.skipped_names.append(name)
            return
        self.tally.files += 1
        if result["ok"]:
            info = FrameworkInfo.from_record(result)
            try:
                self.add_framework(info)
            except FrameworkConflict as exc:
                result = {"ok": False, "name": name, "path": path, "reason": str(exc)}
        if not result["ok"]:
            self.tally.unreadable += 1
            self._db.execute("INSERT INTO failure (name, path, reason) VALUES (?, ?, ?)",
                             (name, path, result["reason"]))
            return
        self.tally.scored += 1
        if result["total"] is None:
            self.tally.pending += 1
        if result["errors"]:
            self.tally.with_errors += 1
        self.framework_counts[info.label] += 1
        rates = self.rates[info.label]
        for key, rate in zip(info.keys, result.get("rates") or ()):
            if rate is not None:
                rates.add(key, Fraction(*rate))
        unit = result["unit"]
        self._db.execute(
            "INSERT INTO dept (name, path, unit, framework, scores, total, grade, errors, hints, self_total,"
            " self_gap, fund_count, fund_score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, path, unit, info.label, json.dumps(result["scores"]), result["total"], result["grade"],
             result["errors"], result["hints"], result["self_total"], result["self_gap"],
             result.get("fund_count") or None, result.get("fund_score")))
        if "weights" in result:  # a batch record; `merge` reads a part's 部门指标 sheet on its own
            self._db.executemany(
                "INSERT INTO indicator (name, path, unit, framework, position, level2, key, weight, value, score,"
                " self_score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(name, path, unit, info.label, position, level2, key, weight, value, score, self_score)
                 for position, (key, level2, weight, value, score, self_score) in enumerate(zip(
                     info.keys, info.level2, result["weights"], result["values"], result["scores"],
                     result["self_scores"]), start=1)])
        for fund in result.get("funds") or ():
            self._add_fund(name, path, unit, fund)
            for row in fund.get("indicators") or ():
                self._add_fund_indicator(name, path, unit, fund["number"], fund["name"], *row)
        self._db.executemany(
            "INSERT INTO finding (name, path, unit, errfirst, severity, sheet, cell, message)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(name, path, unit, 0 if f[0] == "错误" else 1, *f) for f in result["findings"]])

    def add_rates(self, label: str, key: str, average: float, count: int) -> None:
        self.rates[label].add(key, Fraction(average), count)

    def add_finding(self, name: str, unit: str, severity: str, sheet: str, cell: str, message: str) -> None:
        """A 问题清单 row read back from another summary (`merge`)."""
        self._db.execute(
            "INSERT INTO finding (name, path, unit, errfirst, severity, sheet, cell, message)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (name, name, unit, 0 if severity == "错误" else 1, severity, sheet, cell, message))

    def add_indicator(self, name: str, unit: str, label: str, position: int, level2: str, key: str,
                      weight: float | None, value: float | None, score: float | None,
                      self_score: float | None) -> None:
        """A 部门指标 row read back from another summary (`merge`)."""
        self._db.execute(
            "INSERT INTO indicator (name, path, unit, framework, position, level2, key, weight, value, score,"
            " self_score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, name, unit, label, position, level2, key, weight, value, score, self_score))

    def add_fund_indicator(self, name: str, unit: str, *fields) -> None:
        """A 专项指标 row read back from another summary (`merge`): 专项序号, 专项资金名称, 一级指标,
        二级指标, 三级指标, 分值, 完成比例, 得分."""
        self._add_fund_indicator(name, name, unit, *fields)

    def _add_fund_indicator(self, name: str, path: str, unit: str, number, fund_name, level1, level2, indicator,
                            weight, ratio, score) -> None:
        self._db.execute(
            "INSERT INTO fund_indicator (name, path, unit, number, fund_name, level1, level2, indicator, weight,"
            " ratio, score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, path, unit, number, fund_name, level1, level2, indicator, weight, ratio, score))

    def add_fund(self, name: str, unit: str, fund: Mapping) -> None:
        """A 专项资金 row read back from another summary (`merge`)."""
        self._add_fund(name, name, unit, fund)

    def _add_fund(self, name: str, path: str, unit: str, fund: Mapping) -> None:
        self._db.execute(
            "INSERT INTO fund (name, path, unit, number, fund_name, budget, spent, rate, score, grade)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, path, unit, fund["number"], fund["name"], fund["budget"], fund["spent"], fund["rate"],
             fund["score"], fund["grade"]))

    def duplicates(self) -> list[str]:
        """File names that occur more than once (the same department summarised twice?)."""
        return [row[0] for row in self._db.execute(
            "SELECT name FROM (SELECT name FROM dept UNION ALL SELECT name FROM failure)"
            " GROUP BY name HAVING COUNT(*) > 1 ORDER BY name")]

    def labels(self) -> list[str]:
        """The frameworks departments were scored under, in the summary's order."""
        return ordered({label: n for label, n in self.framework_counts.items() if n})

    def columns(self) -> tuple[str, ...]:
        """汇总's header: the indicator columns are the union of the frameworks present."""
        return SUMMARY_HEAD + union_keys(self.frameworks[label] for label in self.labels()) + SUMMARY_TAIL

    def mixed_note(self) -> str | None:
        return mixed_note(self.labels(), self.framework_counts)

    def finish(self) -> Tally:
        """The tally, with the note on mixed frameworks, once every result is in."""
        self.tally.framework_note = self.mixed_note()
        return self.tally

    def departments(self, label: str) -> Iterator[tuple]:
        """One framework's rows, ranked: best 总分 first, incomplete ones last; ties in file-name order."""
        return iter(self._db.execute(
            "SELECT name, unit, scores, total, grade, errors, hints, self_total, self_gap, fund_count, fund_score"
            " FROM dept WHERE framework = ?"
            " ORDER BY total IS NULL, total DESC, name, path, seq", (label,)))

    def ranked(self, label: str) -> Iterator[tuple[int | None, tuple]]:
        """(排名, row) for one framework's departments: competition ranking (ties share a rank, the
        next rank skips); no rank while 总分 is 待补充."""
        rank, previous = 0, None
        for position, row in enumerate(self.departments(label), start=1):
            total = row[3]
            if total is None:
                yield None, row
                continue
            if total != previous:
                rank, previous = position, total
            yield rank, row

    def indicators(self) -> Iterator[tuple]:
        """部门指标 rows by file, each department's in its framework's order."""
        return iter(self._db.execute(
            "SELECT name, unit, framework, position, level2, key, weight, value, score, self_score FROM indicator"
            " ORDER BY name, path, seq"))

    def fund_indicators(self) -> Iterator[tuple]:
        """专项指标 rows by file, then 专项序号, each fund's in its sheet's order."""
        return iter(self._db.execute(
            "SELECT name, unit, number, fund_name, level1, level2, indicator, weight, ratio, score"
            " FROM fund_indicator ORDER BY name, number, path, seq"))

    def findings(self) -> Iterator[tuple]:
        return iter(self._db.execute(
            "SELECT name, unit, severity, sheet, cell, message FROM finding"
            " ORDER BY name, path, errfirst, seq"))

    def funds(self) -> Iterator[tuple]:
        """专项资金 rows by file, then 专项序号 (path and seq only part ties between duplicates)."""
        return iter(self._db.execute(
            "SELECT name, unit, number, fund_name, budget, spent, rate, score, grade FROM fund"
            " ORDER BY name, number, path, seq"))

    def failures(self) -> Iterator[tuple]:
        return iter(self._db.execute("SELECT name, reason FROM failure ORDER BY name, path, seq"))

    def best_total(self, label: str) -> float | None:
        return self._db.execute("SELECT MAX(total) FROM dept WHERE framework = ?", (label,)).fetchone()[0]

    def count(self, table: str) -> int:
        return self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    def close(self) -> None:
        self._db.close()


def is_summary(path: Path) -> bool:
    """A workbook written by `batch`/`merge` (it has 汇总 and none of the template's names)."""
    from evalbook.adapters.xlsx import XlsxBook

    try:
        with XlsxBook(path) as book:
            return book.has_sheet(SUMMARY_SHEET) and not book.has_name("填报单位")
    except WorkbookUnusable:
        return False
