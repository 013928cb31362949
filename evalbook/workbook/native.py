"""The template scores itself: native formulas from the same records and expressions as the engine.

WPS, Excel with macros blocked and PCs without Python still see every 得分, 总分 and 等级, live as
the accountant types.  The formulas live on one hidden sheet (`HELPER_SHEET`), built from the
framework, and the 评分表's output cells point at it:

- one *reading* row per input and per 评分规则 cell turns what was typed ("　14.73", "——",
  "95%", "１２３", "1,234.50") into a number, or into `PENDING` / `BAD_DATA`, as
  `core.numbers.read_number` does;
- one row per 审核规则 marks the figure it checks as wrong when the relation fails;
- one row per indicator finds its 评分规则 row by key (MATCH, so rows may be moved), checks the
  rule, measures the 计算值 from the indicator's expression (`expressions.excel_formula`) and scores
  it by whichever 计分方法 the 评分规则 row names now;
- 分档 and 等级 texts are free text no portable formula can parse: Python writes each parsed table
  into `BANDS_TABLE` with the text it was parsed from, and a formula that sees a different text
  shows `NEEDS_PYTHON` instead of guessing.

Only functions of Excel 2010, WPS and LibreOffice, nothing volatile; every threshold is compared
after ROUND(…, 9), so float noise never moves a step (10.2 against 10 is two steps here too).
Python writes each output's engine result as the formula's cached value (`workbook.service`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from fractions import Fraction

from evalbook.core import expressions as E
from evalbook.core.cells import column_letter
from evalbook.core.numbers import BAD_DATA, NEEDS_PYTHON, PENDING, RULE_INVALID
from evalbook.department import basic_data as B
from evalbook.department import framework as F
from evalbook.department import methods as M
from evalbook.department.framework import Framework, Indicator
from evalbook.department.names import self_score_name
from evalbook.department.rule import ALLOW_NEGATIVE, EMPTY_FULL_MARKS, NEGATIVE_AS_ZERO, PRO_RATA, ROUND_UP, \
    STEP_POLICIES, WHOLE_STEPS
from evalbook.department.rules import COLUMNS as RULE_COLUMNS
from evalbook.department.validation import SIGNED_KINDS
from evalbook.workbook import contract as C

HELPER_SHEET = "公式计算"
SNAPSHOT = "公式_快照"  # the inputs as Python last read them (a column of the reading rows)
BANDS_TABLE = "公式_分档表"  # parsed 分档/等级 tables, written by Python
LAST_STATUS = "公式_上次状态"  # the status line of the last Python run
STALE = "公式_数据已改"  # TRUE when an input differs from the snapshot

NO_PROJECT = "无项目"
MARKERS = (PENDING, BAD_DATA, RULE_INVALID, NEEDS_PYTHON)
_LONGEST = 40  # characters of a number typed as text that the formulas read (longer: BAD_DATA)
MAX_BANDS = 10  # bands (or grade words) a formula follows; a longer table needs Python
NEVER_SCORED = "尚未校验"  # how the template's status line begins

_BLANKS = ("\u3000", "\u00a0")
_DASHES = "—–―-‐‑‒﹣"
_YES = ("是", "有", "√", "✓", "Y", "YES", "TRUE", "1")
_NO = ("否", "无", "×", "✗", "N", "NO", "FALSE", "0")

# reading-row columns
# (_CHECKED: the reading with its own checks; _FINAL: and with the 审核规则 that name it as their
# subject — kept apart so that no 审核规则 formula reads its own verdict, a circular reference)
_SOURCE, _TYPE, _CLEAN, _DASH, _PCT, _BODY, _SHAPE, _VALUE, _CHECKED, _SNAP, _CHANGED, _FINAL = "ABCDEFGHIJKL"
# indicator-row columns
(_KEY, _ROW, _WEIGHT, _METHOD, _BASE, _STEP, _PER, _POLICY, _STATUS, _RAW, _MEASURED, _SCORE, _SHOWN,
 _REASON, _WEIGHT_SHOWN) = "ABCDEFGHIJKLMNO"


def text_literal(text: str) -> str:
    """A string constant inside a formula: quotes doubled, so framework wording stays a string."""
    return '"' + text.replace('"', '""') + '"'


def _substitute(expr: str, pairs) -> str:
    for old, new in pairs:
        expr = f"SUBSTITUTE({expr},{text_literal(old)},{text_literal(new)})"
    return expr


def _cells(refs: list[str]) -> str:
    """Helper-sheet references as one argument list: a run down one column becomes a range."""
    parsed = [r.rsplit("$", 1) for r in refs]
    column = {head for head, _ in parsed}
    rows = [int(tail) for _, tail in parsed]
    if len(refs) > 1 and len(column) == 1 and rows == list(range(rows[0], rows[0] + len(rows))):
        return f"{refs[0]}:{refs[-1].split('!')[-1]}"
    return ",".join(refs)


def _any(tests: list[str]) -> str:
    return tests[0] if len(tests) == 1 else f"OR({','.join(tests)})"


def _all(tests: list[str]) -> str:
    return tests[0] if len(tests) == 1 else f"AND({','.join(tests)})"


@dataclass(frozen=True)
class Reading:
    """One reading row: the source (a defined name or a 评分规则 cell) and how it is read."""

    label: str
    source: str  # formula text of the source reference
    kind: str  # "number", "yes_no", "choice", "text"
    checks: tuple[str, ...] = ()  # for numbers: "non_negative", "whole", "percent"
    choices: tuple[str, ...] = ()
    input_name: str | None = None  # the defined name read (None for rule cells)
    rule_cell: tuple[str, int] | None = None  # (indicator key, 评分规则 column index 0-based)


@dataclass
class HelperLayout:
    """Every cell of the helper sheet, and the formulas the 评分表 outputs hold."""

    framework: Framework
    cells: dict[str, object] = field(default_factory=dict)  # ref → value or formula
    readings: list[Reading] = field(default_factory=list)
    reading_rows: dict[str, int] = field(default_factory=dict)  # input name → row
    rule_rows: dict[tuple[str, int], int] = field(default_factory=dict)  # (key, column) → row
    rule_sources: dict[tuple[str, int], str] = field(default_factory=dict)  # (key, column) → INDEX(…)
    indicator_rows: dict[str, int] = field(default_factory=dict)
    band_rows: dict[str, int] = field(default_factory=dict)
    ranges: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)  # defined name → formula
    reasons: dict[str, str] = field(default_factory=dict)  # 扣分说明 name → short-reason formula
    first_reading: int = 0
    last_reading: int = 0
    first_band: int = 0

    def ref(self, column: str, row: int, outside: bool = False) -> str:
        """A helper cell as the helper sheet's own formulas name it, or (`outside`) as the
        评分表 names it."""
        return f"{HELPER_SHEET}!${column}${row}" if outside else f"${column}${row}"

    def value_of(self, name: str) -> str:
        """The reference of an input's final reading (number, PENDING or BAD_DATA)."""
        return self.ref(_FINAL, self.reading_rows[name])


# ---- reading rows -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReadingColumns:
    """Where a reading row's steps stand: the helper sheet's columns by default, hidden columns
    of a fund sheet for the fund inputs (`workbook.fund_native`).  `snap` None: no snapshot."""

    type: str = _TYPE
    clean: str = _CLEAN
    dash: str = _DASH
    pct: str = _PCT
    body: str = _BODY
    shape: str = _SHAPE
    value: str = _VALUE
    checked: str = _CHECKED
    snap: str | None = _SNAP
    changed: str | None = _CHANGED


HELPER_COLUMNS = ReadingColumns()


def reading_formulas(r: int, reading: Reading, cols: ReadingColumns = HELPER_COLUMNS) -> dict[str, str]:
    """The formulas of one reading row (column letter → formula), reading `reading.source` as
    `core.numbers.read_number` does."""
    _TYPE, _CLEAN, _DASH, _PCT, _BODY, _SHAPE, _VALUE, _CHECKED, _SNAP, _CHANGED = (
        cols.type, cols.clean, cols.dash, cols.pct, cols.body, cols.shape, cols.value, cols.checked, cols.snap,
        cols.changed)
    s = reading.source
    c = lambda col: f"{col}{r}"  # noqa: E731
    cells = {
        _TYPE: f'=IF(ISBLANK({s}),"空",IF(ISNUMBER({s}),"数",IF(ISLOGICAL({s}),"逻",IF(ISERROR({s}),"错","文"))))',
    }
    text = f"{s}&\"\""
    if reading.kind in ("number", "yes_no"):
        # ASC folds full-width digits, ．，％－＋ and the ideographic blank as NFKC does; where a
        # spreadsheet lacked it, "１２" would read as BAD_DATA, never as another number
        cleaned = _substitute(f"ASC({text})", [(b, "") for b in _BLANKS + (" ", "\t", "\n", "\r")])
    else:
        cleaned = f"TRIM({_substitute(text, [(b, ' ') for b in _BLANKS])})"
    cells[_CLEAN] = f'=IF({c(_TYPE)}="文",{cleaned},"")'
    if _SNAP is not None:
        cells[_SNAP] = None
        cells[_CHANGED] = (f'=NOT(EXACT(IFERROR({s}&"","#错误"),IFERROR({c(_SNAP)}&"","#错误")))')
    if reading.kind == "number":
        no_dashes = _substitute(c(_CLEAN), [(d, "") for d in _DASHES])
        cells[_DASH] = f'=AND({c(_CLEAN)}<>"",LEN({no_dashes})=0)'
        cells[_PCT] = f'=RIGHT({c(_CLEAN)},1)="%"'
        body = c(_BODY)
        cells[_BODY] = (f'=IF({c(_PCT)},LEFT({c(_CLEAN)},LEN({c(_CLEAN)})-1),'
                        f'IF(RIGHT({c(_CLEAN)},2)="万元",LEFT({c(_CLEAN)},LEN({c(_CLEAN)})-2),{c(_CLEAN)}))')
        # every character one of 0-9 . , + - (an array over the characters: no nested SUBSTITUTE)
        # (positions past the end are left out: FIND of "" is an error in LibreOffice)
        positions = f"ROW($A$1:$A${_LONGEST})"
        foreign = f'SUMPRODUCT(({positions}<=LEN({body}))*ISERROR(FIND(MID({body},{positions},1),"0123456789.,+-")))'
        digit = f"COUNT(FIND({{0,1,2,3,4,5,6,7,8,9}},{body}))>0"
        integer = f'LEFT({body},IFERROR(FIND(".",{body})-1,LEN({body})))'
        bare = _substitute(integer, [("+", ""), ("-", "")])
        commas = (f'OR(ISERROR(FIND(",",{body})),AND(ISERROR(FIND(",",{body},IFERROR(FIND(".",{body}),LEN({body})+1))),'
                  f'TEXT(VALUE(SUBSTITUTE({bare},",","")),"#,##0")={bare}))')
        cells[_SHAPE] = (f'=IFERROR(AND(LEN({body})>0,LEN({body})<={_LONGEST},{foreign}=0,{digit},'
                         f'ISERROR(FIND("+",{body},2)),ISERROR(FIND("-",{body},2)),'
                         f'LEN({body})-LEN(SUBSTITUTE({body},".",""))<=1,{commas}),FALSE)')
        cells[_VALUE] = (f'=IF({c(_TYPE)}="空","{PENDING}",IF({c(_TYPE)}="数",{s},IF({c(_TYPE)}<>"文","{BAD_DATA}",'
                         f'IF({c(_CLEAN)}="","{PENDING}",IF({c(_DASH)},0,IF({c(_SHAPE)},'
                         f'IFERROR(VALUE(SUBSTITUTE({body},",",""))/IF({c(_PCT)},100,1),"{BAD_DATA}"),"{BAD_DATA}"))))))')
        v = c(_VALUE)
        tests = []
        if "non_negative" in reading.checks:
            tests.append(f"{v}<0")
        if "whole" in reading.checks:
            tests.append(f"{v}<>INT({v})")
        checked = f'IF(ISNUMBER({v}),IF({_any(tests)},"{BAD_DATA}",{v}),{v})' if tests else v
        cells[_CHECKED] = "=" + checked
    elif reading.kind == "yes_no":
        upper = f"UPPER({c(_CLEAN)})"
        yes = _any([f"{upper}={text_literal(w)}" for w in _YES])
        no = _any([f"{upper}={text_literal(w)}" for w in _NO])
        cells[_VALUE] = (f'=IF({c(_TYPE)}="空","{PENDING}",IF({c(_TYPE)}="逻",IF({s},1,0),IF({c(_TYPE)}="错","{BAD_DATA}",'
                         f'IF({c(_TYPE)}="数",IF({s}=1,1,IF({s}=0,0,"{BAD_DATA}")),IF({c(_CLEAN)}="","{PENDING}",'
                         f'IF({yes},1,IF({no},0,"{BAD_DATA}")))))))')
        cells[_CHECKED] = f"={c(_VALUE)}"
    elif reading.kind == "choice":
        known = _any([f"{c(_CLEAN)}={text_literal(w)}" for w in reading.choices])
        cells[_VALUE] = (f'=IF({c(_TYPE)}="空","{PENDING}",IF({c(_TYPE)}<>"文","{BAD_DATA}",IF({c(_CLEAN)}="","{PENDING}",'
                         f'IF({known},{c(_CLEAN)},"{BAD_DATA}"))))')
        cells[_CHECKED] = f"={c(_VALUE)}"
    else:  # text: a rule's 计分方法, 不足一步, 分档/等级
        cells[_CLEAN] = f'=IFERROR({cleaned},"#错误")'
        cells[_CHECKED] = f"={c(_CLEAN)}"
    return cells


def _input_checks(framework: Framework, name: str) -> tuple[str, ...]:
    item = framework.inputs[name]
    checks = []
    if item.kind in SIGNED_KINDS and name not in B.MAY_BE_NEGATIVE:
        checks.append("non_negative")
    if item.kind in B.WHOLE_KINDS:
        checks.append("whole")
    return tuple(checks)


def _readings(framework: Framework) -> list[Reading]:
    found = []
    for item in framework.inputs.values():
        if item.kind == B.YES_NO:
            found.append(Reading(item.name, item.name, "yes_no", input_name=item.name))
        elif item.kind == B.CHOICE:
            found.append(Reading(item.name, item.name, "choice", choices=item.choices, input_name=item.name))
        else:
            found.append(Reading(item.name, item.name, "number", _input_checks(framework, item.name),
                                 input_name=item.name))
    for key in framework.keys:
        found.append(Reading(self_score_name(key), self_score_name(key), "number", input_name=self_score_name(key)))
    return found


_RULE_NUMBERS = {"分值": 1, "基准值": 3, "步长": 4, "每步分值": 5}
_RULE_TEXTS = {"计分方法": 2, "不足一步": 6, "分档/等级": 7}
BANDS_COLUMN = _RULE_TEXTS["分档/等级"]
BANDS_WIDTH = 2 + 5 * MAX_BANDS  # the text parsed, its method, then the bands
SNAPSHOT_COLUMN = _SNAP


def _rule_readings(framework: Framework, layout: HelperLayout) -> list[Reading]:
    found = []
    for ind in framework.indicators:
        row_cell = layout.ref(_ROW, layout.indicator_rows[ind.key])
        for column, index in sorted({**_RULE_NUMBERS, **_RULE_TEXTS}.items(), key=lambda kv: kv[1]):
            source = f"INDEX({C.RULES_TABLE},{row_cell},{index + 1})"
            kind = "number" if column in _RULE_NUMBERS else "text"
            found.append(Reading(f"{ind.key}·{column}", source, kind, rule_cell=(ind.key, index)))
    return found


# ---- 审核规则 -----------------------------------------------------------------------------------

def _audit_overrides(framework: Framework, layout: HelperLayout, first_row: int) -> int:
    """One row per 审核规则: TRUE when it fails as an 错误 (its first figure then reads BAD_DATA).
    Returns the next free row.  Mirrors `department.audit`: a side whose names are all blank,
    or one holding a wrong figure, is not checked."""
    r = first_row
    bad_by: dict[str, list[str]] = {}
    base = {name: layout.ref(_CHECKED, row) for name, row in layout.reading_rows.items()}
    for rule in framework.audits:
        if rule.severity != "错误":
            continue
        names = E.names(rule.left) + E.names(rule.right)
        first = E.names(rule.left)[0] if E.names(rule.left) else names[0]

        def side_ok(node) -> str:
            side = E.names(node)
            if not side:
                return "TRUE"
            tests = [f'{base[n]}<>"{BAD_DATA}"' for n in side]
            tests += [f"NOT({t})" for n in side for t in bad_by.get(n, [])]
            tests.append(_any([f"ISNUMBER({base[n]})" for n in side]))
            return _all(tests)

        def side_value(node) -> str:
            return E.excel_formula(node, lambda n: f"N({base[n]})")[1:]

        gap = f"({side_value(rule.left)})-({side_value(rule.right)})"
        tolerance = E.excel_number(rule.tolerance)
        holds = {
            "=": f"ROUND(ABS({gap})-{tolerance},9)<=0", "<=": f"ROUND({gap}-{tolerance},9)<=0",
            ">=": f"ROUND({gap}+{tolerance},9)>=0", "<": f"ROUND({gap}-{tolerance},9)<0",
            ">": f"ROUND({gap}+{tolerance},9)>0",
        }[rule.relation]
        layout.cells[f"A{r}"] = f"审核：{E.as_text(rule.left)}{rule.relation}{E.as_text(rule.right)}"
        layout.cells[f"B{r}"] = (f"=IFERROR(AND({side_ok(rule.left)},{side_ok(rule.right)},NOT({holds})),FALSE)")
        bad_by.setdefault(first, []).append(layout.ref("B", r))
        r += 1
    for name, flags in bad_by.items():
        row = layout.reading_rows[name]
        layout.cells[f"{_FINAL}{row}"] = f'=IF({_any(flags)},"{BAD_DATA}",{_CHECKED}{row})'
    return r


# ---- indicators ---------------------------------------------------------------------------------

def _rule_dash(layout: HelperLayout, key: str, column: str) -> str:
    return layout.ref(_DASH, layout.rule_rows[(key, _RULE_NUMBERS[column])])


def _number_ok(value: str, dash: str, *, positive: bool = False, signed: bool = False) -> str:
    tests = [f"ISNUMBER({value})"]
    if not signed:
        tests += [f"NOT({dash})", f"{value}>=0"]
    if positive:
        tests.append(f"{value}>0")
    return f"AND({','.join(tests)})"


def _status(layout: HelperLayout, ind: Indicator, r: int) -> str:
    """"ok", RULE_INVALID or NEEDS_PYTHON, as `rules.parse_rule` would judge the row."""
    c = lambda col: f"{col}{r}"  # noqa: E731
    key = ind.key
    method = c(_METHOD)
    branches = []
    for name in ind.methods:
        if name in M.STEP_METHODS:
            signed = ind.option(ALLOW_NEGATIVE) is not None
            ok = _all([
                _number_ok(c(_BASE), _rule_dash(layout, key, "基准值"), signed=signed),
                _number_ok(c(_STEP), _rule_dash(layout, key, "步长"), positive=True),
                _number_ok(c(_PER), _rule_dash(layout, key, "每步分值")),
                _any([f"{c(_POLICY)}={text_literal(p)}" for p in STEP_POLICIES]),
            ])
            branches.append((name, f'IF({ok},"ok","{RULE_INVALID}")'))
        elif name in (M.BANDS, M.GRADED):
            band = layout.band_rows[key]
            source = layout.rule_sources[(key, _RULE_TEXTS["分档/等级"])]
            same = f'EXACT({source}&"",{layout.ref("B", band)}&"")'
            parsed = f'{layout.ref("C", band)}={text_literal(name)}'
            branches.append((name, f'IF({same},IF({parsed},"ok","{RULE_INVALID}"),"{NEEDS_PYTHON}")'))
        elif name in (M.CHECKS, M.COUNTED):
            ok = _number_ok(c(_PER), _rule_dash(layout, key, "每步分值"))
            branches.append((name, f'IF({ok},"ok","{RULE_INVALID}")'))
        else:
            branches.append((name, '"ok"'))
    chosen = f'"{RULE_INVALID}"'
    for name, result in reversed(branches):
        chosen = f"IF({method}={text_literal(name)},{result},{chosen})"
    weight_ok = _number_ok(c(_WEIGHT), _rule_dash(layout, key, "分值"), positive=True)
    return f'=IF(NOT(ISNUMBER({c(_ROW)})),"{RULE_INVALID}",IF(NOT({weight_ok}),"{RULE_INVALID}",{chosen}))'


def _marker_guard(values: list[str], inner: str) -> str:
    bad = _any([f'{v}="{BAD_DATA}"' for v in values])
    missing = _any([f'{v}="{PENDING}"' for v in values])
    return f'IF({bad},"{BAD_DATA}",IF({missing},"{PENDING}",{inner}))'


def _measure(layout: HelperLayout, ind: Indicator, r: int) -> tuple[str, str]:
    """(raw, measured): the 计算值 before and after the rule options."""
    fw = layout.framework
    values = [layout.value_of(n) for n in ind.inputs]
    c = lambda col: f"{col}{r}"  # noqa: E731
    expression = (E.excel_formula(ind.formula, layout.value_of)[1:] if ind.formula is not None else None)
    if ind.kind in (F.RATE, F.PERCENT):
        inner = f'IFERROR({expression},"{BAD_DATA}")'
        percents = [layout.value_of(n) for n in ind.inputs if fw.inputs[n].kind == B.PERCENT]
        if percents:
            inner = f'IF({_any([f"AND(ISNUMBER({v}),{v}>1)" for v in percents])},"{BAD_DATA}",{inner})'
        raw = "=" + _marker_guard(values, inner)
        measured = c(_RAW)
        if ind.option(NEGATIVE_AS_ZERO) is not None:
            measured = f"IF(ISNUMBER({c(_RAW)}),IF({c(_RAW)}<0,0,{c(_RAW)}),{c(_RAW)})"
        if ind.option(EMPTY_FULL_MARKS) is not None:
            no_bad = _all([f'{v}<>"{BAD_DATA}"' for v in values])
            empty = _all([f'OR({v}="{PENDING}",{v}=0)' for v in values])
            measured = f'IF(AND({no_bad},{empty}),"{NO_PROJECT}",{measured})'
        return raw, "=" + measured
    if ind.kind == F.CHECKLIST:
        return "=" + _marker_guard(values, f"({'+'.join(values)})/{len(values)}"), f"={c(_RAW)}"
    if ind.kind == F.COUNT:
        return "=" + _marker_guard(values, values[0]), f"={c(_RAW)}"
    if ind.kind == F.PROPORTION:
        share = f'IFERROR({expression},"{BAD_DATA}")'
        raw = "=" + _marker_guard(values, share)
        return raw, f'=IF(ISNUMBER({c(_RAW)}),IF({c(_RAW)}>1,"{BAD_DATA}",{c(_RAW)}),{c(_RAW)})'
    if ind.kind == F.GRADE:
        return "=" + values[0], f"={c(_RAW)}"
    # 录入得分: a typed score may not exceed the rule's 分值
    raw = "=" + _marker_guard(values, values[0])
    return raw, (f'=IF(AND(ISNUMBER({c(_RAW)}),ISNUMBER({c(_WEIGHT)})),IF({c(_RAW)}>{c(_WEIGHT)},"{BAD_DATA}",'
                 f'{c(_RAW)}),{c(_RAW)})')


def _deduct(amount: str, r: int) -> str:
    """分值 less 每步分值 per step of `amount`, as `methods._deduct` counts the steps."""
    w, step, per, policy = (f"{col}{r}" for col in (_WEIGHT, _STEP, _PER, _POLICY))
    steps = f"ROUND(({amount})/{step},9)"
    counted = (f"IF({policy}={text_literal(PRO_RATA)},{steps},IF({policy}={text_literal(ROUND_UP)},"
               f"ROUNDUP({steps},0),INT({steps})))")
    return f"IF({steps}<=0,{w},MAX(0,{w}-{per}*{counted}))"


def _band_score(layout: HelperLayout, key: str, value: str, weight: str) -> str:
    row = layout.band_rows[key]
    result = f'"{RULE_INVALID}"'
    for i in reversed(range(MAX_BANDS)):
        low, low_closed, high, high_closed, points = (
            layout.ref(column_letter(4 + 5 * i + j), row) for j in range(5))
        below = f"ROUND({value}-{low},9)"
        above = f"ROUND({value}-{high},9)"
        inside = (f'AND(ISNUMBER({points}),OR(NOT(ISNUMBER({low})),{below}>0,AND({low_closed}=1,{below}=0)),'
                  f'OR(NOT(ISNUMBER({high})),{above}<0,AND({high_closed}=1,{above}=0)))')
        result = f"IF({inside},MIN({points},{weight}),{result})"
    return result


def _grade_score(layout: HelperLayout, key: str, word: str, weight: str) -> str:
    row = layout.band_rows[key]
    result = f'"{RULE_INVALID}"'
    for i in reversed(range(MAX_BANDS)):
        name, points = layout.ref(column_letter(4 + 2 * i), row), layout.ref(column_letter(5 + 2 * i), row)
        result = f'IF(AND({name}<>"",EXACT({name},{word})),MIN({points},{weight}),{result})'
    return result


def _score(layout: HelperLayout, ind: Indicator, r: int) -> str:
    c = lambda col: f"{col}{r}"  # noqa: E731
    v, w, base, per = c(_MEASURED), c(_WEIGHT), c(_BASE), c(_PER)
    by_method = {
        M.OVER: _deduct(f"{v}-{base}", r),
        M.UNDER: _deduct(f"{base}-{v}", r),
        M.DEVIATION: _deduct(f"ABS({v}-{base})", r),
        M.BANDS: _band_score(layout, ind.key, v, w),
        M.CHECKS: f"MIN({w},{per}*ROUND({v}*{len(ind.inputs)},9))",
        M.COUNTED: f"IF({v}=0,{w},MAX(0,{w}-{per}*{v}))",
        M.PROPORTIONAL: f"MIN({w},MAX(0,{v}*{w}))",
        M.GRADED: _grade_score(layout, ind.key, v, w),
        M.TYPED: v,
    }
    chosen = f'"{RULE_INVALID}"'
    for name in reversed(ind.methods):
        chosen = f"IF({c(_METHOD)}={text_literal(name)},{by_method[name]},{chosen})"
    measured_ok = f'AND({v}<>"{PENDING}",{v}<>"{BAD_DATA}")'
    return (f'=IF({c(_STATUS)}<>"ok",{c(_STATUS)},IF({v}="{NO_PROJECT}",{w},'
            f'IF({measured_ok},{chosen},{v})))')


def _reason(ind: Indicator, r: int) -> str:
    """A short live 扣分说明 for a workbook Python has not scored: 计算值, 扣分 and 得分."""
    c = lambda col: f"{col}{r}"  # noqa: E731
    shown = {F.RATE: f'TEXT({c(_SHOWN)},"0.00%")', F.PERCENT: f'TEXT({c(_SHOWN)},"0.00%")',
             F.CHECKLIST: f'TEXT({c(_SHOWN)},"0.00%")', F.PROPORTION: f'TEXT({c(_SHOWN)},"0.00%")'}.get(
        ind.kind, f"{c(_SHOWN)}&\"\"")
    if ind.option(EMPTY_FULL_MARKS) is not None:
        shown = f'IF({c(_SHOWN)}="{NO_PROJECT}","{NO_PROJECT}",{shown})'
    scored = (f'"计算值"&{shown}&"，扣"&TEXT({c(_WEIGHT)}-{c(_SCORE)},"0.00")&"分，得"&TEXT({c(_SCORE)},"0.00")'
              f'&"分（公式简算；点击“校验并评分”查看完整扣分说明）"')
    why = {PENDING: "缺少所需数据，暂不计分", BAD_DATA: "所需数据有误（非数字、负数或不合计算要求），暂不计分",
           RULE_INVALID: "评分规则有误，暂不计分", NEEDS_PYTHON: "分档/等级已修改，需运行“校验并评分”后计分"}
    unscored = f'"{PENDING}"'
    for marker, text in reversed(list(why.items())):
        unscored = f'IF({c(_SCORE)}="{marker}",{text_literal(text)},{unscored})'
    return f"=IF(ISNUMBER({c(_SCORE)}),{scored},{unscored})"


def _indicator_row(layout: HelperLayout, ind: Indicator, r: int) -> None:
    cells = layout.cells
    key = ind.key
    cells[f"{_KEY}{r}"] = key
    wanted = key.replace("~", "~~").replace("*", "~*").replace("?", "~?")  # MATCH reads these as wildcards
    cells[f"{_ROW}{r}"] = f'=IFERROR(MATCH({text_literal(wanted)},INDEX({C.RULES_TABLE},0,1),0),"无")'
    weight_row = layout.rule_rows[(key, _RULE_NUMBERS["分值"])]
    cells[f"{_WEIGHT}{r}"] = f"={_CHECKED}{weight_row}"
    cells[f"{_METHOD}{r}"] = f"={_CHECKED}{layout.rule_rows[(key, _RULE_TEXTS['计分方法'])]}"
    for column, col in (("基准值", _BASE), ("步长", _STEP), ("每步分值", _PER)):
        cells[f"{col}{r}"] = f"={_CHECKED}{layout.rule_rows[(key, _RULE_NUMBERS[column])]}"
    policy = f"{_CHECKED}{layout.rule_rows[(key, _RULE_TEXTS['不足一步'])]}"
    cells[f"{_POLICY}{r}"] = f'=IF({policy}="",{text_literal(WHOLE_STEPS)},{policy})'
    cells[f"{_STATUS}{r}"] = _status(layout, ind, r)
    cells[f"{_RAW}{r}"], cells[f"{_MEASURED}{r}"] = _measure(layout, ind, r)
    cells[f"{_SCORE}{r}"] = _score(layout, ind, r)
    cells[f"{_SHOWN}{r}"] = f'=IF(ISNUMBER({_SCORE}{r}),{_MEASURED}{r},"")'
    cells[f"{_REASON}{r}"] = _reason(ind, r)
    cells[f"{_WEIGHT_SHOWN}{r}"] = f'=IF({_STATUS}{r}="{RULE_INVALID}","{RULE_INVALID}",{_WEIGHT}{r})'


# ---- the whole sheet ----------------------------------------------------------------------------

@functools.lru_cache(maxsize=16)
def helper_layout(framework: Framework) -> HelperLayout:
    layout = HelperLayout(framework)
    cells = layout.cells
    cells["A1"] = ("本表由 evalbook 生成：把输入读成数字，按“评分规则”用公式计分（WPS、未启用宏、未安装Python时也能算出得分）。"
                   "请勿修改；“校验并评分”会恢复被改动的公式。")
    # rows: indicators first (their MATCH cells feed the rule readings), then readings, audits, bands
    r = 3
    cells[f"A{r - 1}"] = "指标"
    for ind in framework.indicators:
        layout.indicator_rows[ind.key] = r
        r += 1
    r += 1
    layout.first_band = r + 1
    cells[f"A{r}"] = "分档/等级（由“校验并评分”按评分规则写入）"
    r += 1
    for ind in framework.indicators:
        layout.band_rows[ind.key] = r
        cells[f"A{r}"] = ind.key
        r += 1
    layout.ranges[BANDS_TABLE] = f"B{layout.first_band}:{column_letter(1 + BANDS_WIDTH)}{r - 1}"
    r += 1
    cells[f"A{r}"] = "输入读取"
    r += 1
    layout.first_reading = r
    readings = _readings(framework)
    for reading in readings:
        layout.reading_rows[reading.input_name] = r
        layout.readings.append(reading)
        r += 1
    for reading in _rule_readings(framework, layout):
        layout.rule_rows[reading.rule_cell] = r
        layout.rule_sources[reading.rule_cell] = reading.source
        layout.readings.append(reading)
        r += 1
    layout.last_reading = r - 1
    for row, reading in enumerate(layout.readings, layout.first_reading):
        cells[f"{_SOURCE}{row}"] = reading.label
        cells[f"{_FINAL}{row}"] = f"={_CHECKED}{row}"
        for col, formula in reading_formulas(row, reading).items():
            if formula is not None:
                cells[f"{col}{row}"] = formula
    layout.ranges[SNAPSHOT] = f"{_SNAP}{layout.first_reading}:{_SNAP}{layout.last_reading}"
    r += 1
    r = _audit_overrides(framework, layout, r) + 1
    for ind in framework.indicators:
        _indicator_row(layout, ind, layout.indicator_rows[ind.key])
    # totals
    scores = [layout.ref(_SCORE, layout.indicator_rows[k], True) for k in framework.keys]
    weights = [layout.ref(_WEIGHT, layout.indicator_rows[k]) for k in framework.keys]
    n = len(scores)
    total_sum = f"ROUND(SUM({_cells(scores)}),9)"
    complete = f"COUNT({_cells(scores)})={n}"
    layout.outputs[C.TOTAL] = f'=IF({complete},ROUND({total_sum},2),"{PENDING}")'
    grade = text_literal(framework.grades.bands[-1][1])
    for floor, name in reversed(framework.grades.bands[:-1]):
        grade = f"IF({total_sum}>={E.excel_number(floor)},{text_literal(name)},{grade})"
    layout.outputs[C.GRADE] = f'=IF({complete},{grade},"{PENDING}")'
    selves = [layout.ref(_CHECKED, layout.reading_rows[self_score_name(k)], True) for k in framework.keys]
    layout.outputs[C.SELF_TOTAL] = f'=IF(COUNT({_cells(selves)})=0,"",ROUND(ROUND(SUM({_cells(selves)}),9),2))'
    layout.outputs[C.WEIGHT_TOTAL] = f"=SUM({_cells([_weight_cells(layout, k, True) for k in framework.keys])})"
    for ind in framework.indicators:
        row = layout.indicator_rows[ind.key]
        layout.outputs[C.weight_name(ind.key)] = f"={_weight_cells(layout, ind.key, True)}"
        layout.outputs[C.value_name(ind.key)] = f"={layout.ref(_SHOWN, row, True)}"
        layout.outputs[C.score_name(ind.key)] = f'=IF(ISNUMBER({layout.ref(_SCORE, row, True)}),ROUND(ROUND({layout.ref(_SCORE, row, True)},9),2),{layout.ref(_SCORE, row, True)})'
        layout.reasons[C.note_name(ind.key)] = f"={layout.ref(_REASON, row, True)}"
    for level2 in framework.level2_groups():
        weight_name, score_name = C.level2_names(level2)
        keys = [i.key for i in framework.indicators if i.level2 == level2]
        w = [_weight_cells(layout, k, True) for k in keys]
        s = [layout.ref(_SCORE, layout.indicator_rows[k], True) for k in keys]
        layout.outputs[weight_name] = f'=IF(COUNT({_cells(w)})={len(w)},SUM({_cells(w)}),"")'
        layout.outputs[score_name] = f'=IF(COUNT({_cells(s)})={len(s)},ROUND(ROUND(SUM({_cells(s)}),9),2),"")'
    # the status line: the last run's, or that the data changed since
    r += 1
    cells[f"A{r}"] = "上次校验状态"
    cells[f"B{r}"] = "尚未校验：填好基础数据表后，点击功能区“绩效评价”中的“校验并评分”。（得分已由公式实时计算）"
    layout.ranges[LAST_STATUS] = f"B{r}"
    last = layout.ref("B", r)
    last_outside = layout.ref("B", r, True)
    r += 1
    changed = f"${_CHANGED}${layout.first_reading}:${_CHANGED}${layout.last_reading}"
    cells[f"A{r}"] = "数据已改"
    cells[f"B{r}"] = f'=AND(LEFT({last},{len(NEVER_SCORED)})<>"{NEVER_SCORED}",COUNTIF({changed},TRUE)>0)'
    layout.ranges[STALE] = f"B{r}"
    stale = layout.ref("B", r, True)
    layout.outputs[C.STATUS] = (f'=IF({stale},"数据在上次校验后已修改：得分、总分已按公式更新，但扣分说明和校验结果已过期，'
                                f'请重新点击“校验并评分”（上次："&{last_outside}&"）",{last_outside})')
    return layout


def _weight_cells(layout: HelperLayout, key: str, outside: bool = False) -> str:
    return layout.ref(_WEIGHT_SHOWN, layout.indicator_rows[key], outside)


def band_rows(layout: HelperLayout, rules: dict) -> list[tuple]:
    """The rows Python writes into `BANDS_TABLE` (column B on; A holds the key): the text parsed
    (filled in by the caller), the method it was parsed for, then (下限, 含下限, 上限, 含上限, 得分)
    per band or (等级, 得分) per word."""
    rows = []
    for ind in layout.framework.indicators:
        rule = rules.get(ind.key)
        row: list[object] = [None, None]
        if rule is not None and rule.method == M.BANDS and len(rule.bands) <= MAX_BANDS:
            for band in rule.bands:
                row += [_float(band.low), int(band.low_closed), _float(band.high), int(band.high_closed),
                        _float(band.points)]
            row[1] = M.BANDS
        elif rule is not None and rule.method == M.GRADED and len(rule.grades) <= MAX_BANDS:
            for word, points in rule.grades:
                row += [word, _float(points)]
            row[1] = M.GRADED
        rows.append(tuple(row))
    return rows


def _float(value: Fraction | None) -> float | None:
    return None if value is None else value.numerator / value.denominator
