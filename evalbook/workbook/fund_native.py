"""A fund sheet scores itself: native formulas for 执行率, 预算执行率 得分, each indicator's 完成率
and 得分, the fund 得分 and 等级, exactly as `funds.scoring` computes them.

The helper cells stand in hidden columns (N onwards) of the fund sheet itself and name only cells
of that sheet and the shared `专项评分规则表`, so a sheet copied by add-fund scores itself too.
Row by row (the same column means different things on different rows):

- rows 1-4: the 评分规则 rows (预算执行率 and the three 一级指标) found by MATCH, their 分值 read
  by `native.reading_formulas`; row 1 also says which option rows are switched on; rows 2-4 hold
  each 一级指标's allocation (rows, typed 分值, what is left to share);
- rows 5-8: 全年预算数/全年执行数 read as `read_number` reads them; row 5 the 预算执行率 得分, whether
  the fund is blank, and its total;
- indicator rows: whether the row is filled, its 一级/二级指标, the 指标值 and 完成值 when both are a
  plain number (optionally after ≥/≤/= or 不低于… and with a %), the 完成率 and 得分.

A 指标值 of another form (a date, a unit, a tier, words) is parsed by Python only: each run writes,
next to the row (`parsed_name`), the texts it parsed and the engine's 完成率; the formula uses it
while 指标值, 完成值, 定性档次 and 二级指标 are unchanged and shows `NEEDS_PYTHON` otherwise.  Rule
options whose text no formula parses (大幅超目标扣分, 执行率封顶, 专项等级) make what they touch
show `NEEDS_PYTHON` while they are filled in.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from evalbook.core.numbers import BAD_DATA, NEEDS_PYTHON, PENDING
from evalbook.funds import names as N
from evalbook.funds import rules as R
from evalbook.funds import targets as T
from evalbook.funds.form import GROUPS
from evalbook.workbook.native import Reading, ReadingColumns, reading_formulas, text_literal

BLOCK_A = ReadingColumns(*"NOPQRSTU", snap=None, changed=None)  # 预算数 / 分值 readings
BLOCK_B = ReadingColumns("V", "W", "X", "Y", "Z", "AA", "AB", "AC", snap=None, changed=None)  # 执行数
NO_RATIO = "无完成率"  # the engine found the row unreadable: no 完成率, 得分 待补充
MAYBE_DATE = 36526  # a number cell from 2000-01-01 on may be a date (a deadline): Python decides
_BLANKS = (" ", "\u3000", "\u00a0", "\t", "\n", "\r")
_DASHES = "—–―-－‐‑‒﹣"
_KEY_ROW, _RULE_WEIGHT = "AD", "AE"
_OPTIONS = {R.OVERRUN_KEY: "AG", R.CAP_KEY: "AH", R.GRADES_KEY: "AI", R.MOVE_KEY: "AF"}
# group rows 2-4
_G_NAME, _G_ROWS, _G_BAD, _G_TYPED, _G_ENTERED, _G_FREE, _G_TOTAL, _G_STATUS, _G_SHARE = (
    "AK", "AL", "AM", "AN", "AO", "AP", "AQ", "AR", "AS")
# row 5
_EXEC, _BLANK, _TOTAL = "AJ", "AK", "AL"
# indicator rows
(_FILLED, _L1, _L2, _BLANK_T, _BLANK_A, _BLANK_TIER, _READY, _CT, _OP, _PLEN, _TBODY, _TPCT, _TDIG, _TOK,
 _TVAL, _CA, _APCT, _ADIG, _AOK, _AVAL, _RATIO) = (
    "AD", "AE", "AF", "AG", "AH", "AI", "AJ", "AK", "AL", "AM", "AN", "AO", "AP", "AQ", "AR", "AS", "AT",
    "AU", "AV", "AW", "AX")
PARSED_COLUMNS = ("AY", "AZ", "BA", "BB", "BC", "BD")  # 指标值, 完成值, 定性档次, 二级指标 parsed; 完成率; kind
_S_T, _S_A, _S_TIER, _S_L2, _S_RATIO, _S_KIND = PARSED_COLUMNS
_SCORE, _WEIGHT, _POINTS, _DIRECT, _KIND = "BE", "BF", "BG", "BH", "BI"
HIDDEN = "M:BI"
# a score is rounded to 12 places before its 2: float noise (1e-15 here) gone, an exact figure a
# hair below a half (the engine rounds the exact Fraction) kept below it
_PLACES = 12


def parsed_name(n: int) -> str:
    return N.formula_block_name(n)


def _subst(expr: str, pairs) -> str:
    for old, new in pairs:
        expr = f"SUBSTITUTE({expr},{text_literal(old)},{text_literal(new)})"
    return expr


def _compact(ref: str) -> str:
    """`targets.compact` as far as a formula goes: full-width folded, every blank removed."""
    return _subst(f"ASC({ref}&\"\")", [(b, "") for b in _BLANKS])


def _nonempty(ref: str) -> str:
    """`read_text(raw)` is not empty."""
    spaced = _subst(f'{ref}&""', [(b, " ") for b in _BLANKS[1:]])
    return f"IFERROR(LEN(TRIM({spaced}))>0,TRUE)"


def _is_blank(ref: str) -> str:
    """`targets.is_blank`: empty, blanks only, or dashes only."""
    stripped = _subst(_compact(ref), [(d, "") for d in _DASHES])
    return f"IF(ISBLANK({ref}),TRUE,IF(ISTEXT({ref}),IFERROR(LEN({stripped})=0,FALSE),FALSE))"


def _plain_number(text: str) -> str:
    """Digits with at most one inner '.': what `units.parse_quantity` reads as a bare number."""
    positions = "ROW($A$1:$A$40)"
    foreign = f'SUMPRODUCT(({positions}<=LEN({text}))*ISERROR(FIND(MID({text},{positions},1),"0123456789.")))'
    return (f'IFERROR(AND(LEN({text})>0,LEN({text})<=40,{foreign}=0,LEN({text})-LEN(SUBSTITUTE({text},".",""))<=1,'
            f'ISNUMBER(-LEFT({text},1)),ISNUMBER(-RIGHT({text},1))),FALSE)')


@dataclass
class FundFormulas:
    cells: dict[str, object] = field(default_factory=dict)  # hidden helper cells: ref → formula
    outputs: dict[str, str] = field(default_factory=dict)  # output key (per cell) → formula
    ranges: dict[str, str] = field(default_factory=dict)


def _rule_row(key: str) -> str:
    return f'IFERROR(MATCH({text_literal(key)},INDEX({N.FUND_RULES_TABLE},0,1),0),"无")'


def _option_on(key: str) -> str:
    text = _compact(f"INDEX({N.FUND_RULES_TABLE},MATCH({text_literal(key)},INDEX({N.FUND_RULES_TABLE},0,1),0),3)")
    if key == R.MOVE_KEY:
        return f'=IFERROR({text}="是",FALSE)'
    return f"=IFERROR(LEN({text})>0,FALSE)"


@functools.lru_cache(maxsize=128)
def fund_formulas(n: int, refs_items: tuple[tuple[str, str], ...]) -> FundFormulas:
    """The helper cells and output formulas of fund n's sheet; `refs_items`: (name or key → cell)
    of the sheet's inputs, as `workbook.fund_layout` places them."""
    refs = dict(refs_items)
    out = FundFormulas()
    cells = out.cells

    def read(r: int, source: str, cols: ReadingColumns, checks: tuple[str, ...] = ()) -> None:
        for col, formula in reading_formulas(r, Reading(source, source, "number", checks), cols).items():
            if formula is not None:
                cells[f"{col}{r}"] = formula

    # rules: 预算执行率 and the 一级指标 rows
    rule_keys = (R.EXEC_KEY,) + tuple(g.rule_key for g in GROUPS)
    for r, key in enumerate(rule_keys, start=1):
        cells[f"{_KEY_ROW}{r}"] = "=" + _rule_row(key)
        read(r, f"INDEX({N.FUND_RULES_TABLE},{_KEY_ROW}{r},2)", BLOCK_A)
        ok = f"AND(ISNUMBER({BLOCK_A.checked}{r}),NOT({BLOCK_A.dash}{r}),{BLOCK_A.checked}{r}>0)"
        cells[f"{_RULE_WEIGHT}{r}"] = f'=IF(ISNUMBER({_KEY_ROW}{r}),IF({ok},{BLOCK_A.checked}{r},"无效"),"无效")'
    for key, col in _OPTIONS.items():
        cells[f"{col}1"] = _option_on(key)
    move, overrun, cap, grades_on = (f"${_OPTIONS[k]}$1" for k in (R.MOVE_KEY, R.OVERRUN_KEY, R.CAP_KEY, R.GRADES_KEY))

    # money
    money_rows = []
    for item in N.MONEY_ITEMS:
        budget = refs[N.money_name(n, item, N.BUDGET)]
        spent = refs[N.money_name(n, item, N.SPENT)]
        r = int(budget[1:])
        money_rows.append(r)
        read(r, budget, BLOCK_A, ("non_negative",))
        read(r, spent, BLOCK_B, ("non_negative",))
    top, parts = money_rows[0], money_rows[1:]
    first_ind = int(refs[N.indicator_name(n, 1, N.LEVEL1)][1:])
    last_ind = first_ind + N.INDICATOR_ROWS - 1

    def col_range(col: str) -> str:
        return f"${col}${first_ind}:${col}${last_ind}"

    def mismatch(cols: ReadingColumns) -> str:
        stated, span = f"{cols.checked}{top}", f"{cols.checked}{parts[0]}:{cols.checked}{parts[-1]}"
        return (f'IFERROR(AND(ISNUMBER({stated}),COUNT({span})>0,COUNTIF({span},"{BAD_DATA}")=0,'
                f"ROUND(ABS({stated}-SUM({span}))-0.01,9)>0),FALSE)")

    a, b = f"{BLOCK_A.checked}{top}", f"{BLOCK_B.checked}{top}"
    bad_total = f"OR(NOT(ISNUMBER({a})),NOT(ISNUMBER({b})),N({a})=0,{mismatch(BLOCK_A)},{mismatch(BLOCK_B)})"
    cells[f"{_EXEC}{top}"] = (f'=IF({bad_total},"{PENDING}",IF(NOT(ISNUMBER(${_RULE_WEIGHT}$1)),"{PENDING}",'
                              f"${_RULE_WEIGHT}$1*MIN({b}/{a},1)))")
    typed = [refs[N.header_name(n, f)] for f in N.HEADER_FIELDS + N.GOAL_FIELDS + (N.REMARKS,)]
    typed += [refs[N.money_name(n, item, c)] for item in N.MONEY_ITEMS for c in (N.BUDGET, N.SPENT)]
    blank = f"${_BLANK}${top}"
    cells[f"{_BLANK}{top}"] = f"=NOT(OR({','.join(_nonempty(t) for t in typed)},SUM({col_range(_FILLED)})>0))"
    for item, r in zip(N.MONEY_ITEMS, money_rows):
        x, y = f"{BLOCK_A.checked}{r}", f"{BLOCK_B.checked}{r}"
        out.outputs[N.money_name(n, item, N.RATE)] = (
            f'=IF({blank},"",IF(AND(ISNUMBER({x}),ISNUMBER({y})),IF({x}<>0,{y}/{x},""),""))')
    out.outputs[N.exec_score_name(n)] = (f'=IF({blank},"",IF(ISNUMBER(${_EXEC}${top}),ROUND(ROUND(${_EXEC}${top},{_PLACES}),2),'
                                         f"${_EXEC}${top}))")

    # the 一级指标 groups (rows 2-4, beside their rule rows)
    last_group, before_last = len(GROUPS) + 1, len(GROUPS)
    moved = f"AND({move},${_G_ROWS}${last_group}=0,ISNUMBER(${_RULE_WEIGHT}${last_group}))"
    for r, group in enumerate(GROUPS, start=2):
        rows_of = f"{col_range(_FILLED)},1,{col_range(_L1)},{_G_NAME}{r}"
        cells[f"{_G_NAME}{r}"] = group.level1
        cells[f"{_G_ROWS}{r}"] = f"=COUNTIFS({rows_of})"
        cells[f"{_G_BAD}{r}"] = f'=COUNTIFS({rows_of},{col_range(_POINTS)},"坏")'
        cells[f"{_G_TYPED}{r}"] = f'=COUNTIFS({rows_of},{col_range(_POINTS)},">0")'
        cells[f"{_G_ENTERED}{r}"] = f"=SUMIFS({col_range(_POINTS)},{rows_of})"
        cells[f"{_G_FREE}{r}"] = f"={_G_ROWS}{r}-{_G_BAD}{r}-{_G_TYPED}{r}"
        weight = f"{_RULE_WEIGHT}{r}"
        if r == before_last:  # 满意度指标缺省时转入效益指标
            cells[f"{_G_TOTAL}{r}"] = f"=IF(AND(ISNUMBER({weight}),{moved}),{weight}+${_RULE_WEIGHT}${last_group},{weight})"
        else:
            cells[f"{_G_TOTAL}{r}"] = f"={weight}"
        gap = f"IF({moved},\"moved\",\"gap\")" if r == last_group else '"gap"'
        diff = f"ROUND({_G_ENTERED}{r}-{_G_TOTAL}{r},9)"
        split = (f"AND({_G_TYPED}{r}>0,OR({diff}>0,AND({_G_FREE}{r}=0,{diff}<>0),"
                 f"AND({_G_FREE}{r}>0,{diff}=0)))")
        cells[f"{_G_STATUS}{r}"] = (f'=IF({_G_ROWS}{r}=0,{gap},IF(NOT(ISNUMBER({_G_TOTAL}{r})),"rule",'
                                    f'IF({_G_BAD}{r}>0,"bad",IF({split},"split","ok"))))')
        cells[f"{_G_SHARE}{r}"] = (f'=IF(AND({_G_FREE}{r}>0,ISNUMBER({_G_TOTAL}{r})),'
                                   f'({_G_TOTAL}{r}-{_G_ENTERED}{r})/{_G_FREE}{r},"")')
    g_names, g_status, g_share = (f"${c}$2:${c}${last_group}" for c in (_G_NAME, _G_STATUS, _G_SHARE))

    # indicator rows
    for k in range(1, N.INDICATOR_ROWS + 1):
        def ref(field: str) -> str:
            return refs[N.indicator_name(n, k, field)]
        r = int(ref(N.LEVEL1)[1:])
        c = lambda col: f"{col}{r}"  # noqa: E731
        target, actual, tier, level2 = ref(N.TARGET), ref(N.ACTUAL), ref(N.TIER), ref(N.LEVEL2)
        read(r, ref(N.POINTS), BLOCK_A)
        filled = [ref(f) for f in (N.LEVEL3, N.TARGET, N.ACTUAL, N.REASON, N.POINTS, N.TIER)]
        cells[c(_FILLED)] = f"=IF(OR({','.join(_nonempty(x) for x in filled)}),1,0)"
        for col, source in ((_L1, ref(N.LEVEL1)), (_L2, level2)):
            x = _compact(source)
            cells[c(col)] = f'=IFERROR(IF(AND(RIGHT({x},2)="指标",LEN({x})>2),LEFT({x},LEN({x})-2),{x}),"")'
        cells[c(_BLANK_T)] = "=" + _is_blank(target)
        cells[c(_BLANK_A)] = "=" + _is_blank(actual)
        cells[c(_BLANK_TIER)] = "=" + _is_blank(tier)
        cells[c(_READY)] = f"=AND(NOT({c(_BLANK_T)}),NOT({c(_BLANK_A)}))"
        # 指标值: a comparison word, then a plain number with an optional %
        cells[c(_CT)] = f'=IF(ISTEXT({target}),IFERROR({_compact(target)},""),"")'
        op, length = '""', "0"
        for word, meaning in reversed(T.PREFIXES):
            test = f"LEFT({c(_CT)},{len(word)})={text_literal(word)}"
            op, length = f"IF({test},{text_literal(meaning)},{op})", f"IF({test},{len(word)},{length})"
        cells[c(_OP)], cells[c(_PLEN)] = "=" + op, "=" + length
        cells[c(_TBODY)] = f"=MID({c(_CT)},{c(_PLEN)}+1,100)"
        for body, pct, digits, ok in ((c(_TBODY), _TPCT, _TDIG, _TOK), (c(_CA), _APCT, _ADIG, _AOK)):
            cells[c(pct)] = f'=RIGHT({body},1)="%"'
            cells[c(digits)] = f"=IF({c(pct)},LEFT({body},LEN({body})-1),{body})"
            cells[c(ok)] = "=" + _plain_number(c(digits))
        cells[c(_CA)] = f'=IF(ISTEXT({actual}),IFERROR({_compact(actual)},""),"")'
        for cell, value, pct, digits in ((target, _TVAL, _TPCT, _TDIG), (actual, _AVAL, _APCT, _ADIG)):
            cells[c(value)] = (f'=IF(ISNUMBER({cell}),{cell},IF({c(digits)}="","",'
                               f'IFERROR(VALUE({c(digits)})/IF({c(pct)},100,1),"")))')
        t_form = f"OR(AND(ISNUMBER({target}),{target}<{MAYBE_DATE}),AND(ISTEXT({target}),{c(_TOK)}))"
        a_form = f"OR(AND(ISNUMBER({actual}),{actual}<{MAYBE_DATE}),AND(ISTEXT({actual}),{c(_AOK)}))"
        cells[c(_DIRECT)] = f"=AND({c(_BLANK_TIER)},{t_form},{a_form})"
        t, av = c(_TVAL), c(_AVAL)
        t_pct, a_pct = f"AND(ISTEXT({target}),{c(_TPCT)})", f"AND(ISTEXT({actual}),{c(_APCT)})"
        bad = (f"OR({t}<0,{av}<0,AND({t_pct},NOT({a_pct}),OR(ISTEXT({actual}),{av}>3)),"
               f"AND({a_pct},NOT({t_pct}),OR(ISTEXT({target}),{t}>3)))")
        negative = f'OR({c(_OP)}={text_literal(T.AT_MOST)},AND({c(_OP)}="",{c(_L2)}="成本"))'
        direct = (f'IF({bad},"{NO_RATIO}",IF({t}=0,IF({c(_OP)}={text_literal(T.AT_LEAST)},1,IF({av}=0,1,0)),'
                  f"IF({negative},IF({av}=0,1,{t}/{av}),{av}/{t})))")
        same = _all_exact([(target, c(_S_T)), (actual, c(_S_A)), (tier, c(_S_TIER)), (level2, c(_S_L2))])
        stored = f'AND(LEN({c(_S_T)}&"")>0,{same})'
        cells[c(_RATIO)] = (f'=IF(OR({c(_FILLED)}=0,NOT({c(_READY)})),"",IF({c(_DIRECT)},{direct},'
                            f'IF({stored},{c(_S_RATIO)},"{NEEDS_PYTHON}")))')
        cells[c(_KIND)] = f'=IF({c(_DIRECT)},{text_literal(T.NUMBER)},IF({stored},{c(_S_KIND)}&"",""))'
        u, dash = f"{BLOCK_A.checked}{r}", f"{BLOCK_A.dash}{r}"
        cells[c(_POINTS)] = (f'=IF({u}="{PENDING}","",IF({u}="{BAD_DATA}","坏",IF({dash},"",'
                             f'IF({u}>0,{u},"坏"))))')
        group = f"MATCH({c(_L1)},{g_names},0)"
        cells[c(_WEIGHT)] = (f'=IF({c(_FILLED)}=0,"",IFERROR(IF(INDEX({g_status},{group})<>"ok","无",'
                             f'IF(ISNUMBER({c(_POINTS)}),{c(_POINTS)},INDEX({g_share},{group}))),"无"))')
        ratio = c(_RATIO)
        cells[c(_SCORE)] = (f'=IF({c(_FILLED)}=0,"",IF({ratio}="","{PENDING}",IF({ratio}="{NEEDS_PYTHON}","{NEEDS_PYTHON}",'
                            f'IF(NOT(ISNUMBER({ratio})),"{PENDING}",IF(NOT(ISNUMBER({c(_WEIGHT)})),"{PENDING}",'
                            f'IF(AND({overrun},{c(_KIND)}={text_literal(T.NUMBER)}),"{NEEDS_PYTHON}",'
                            f"{c(_WEIGHT)}*MIN({ratio},1)))))))")
        out.outputs[N.indicator_name(n, k, "完成率")] = (
            f'=IF({blank},"",IF(ISNUMBER({ratio}),{ratio},IF({ratio}="{NEEDS_PYTHON}","{NEEDS_PYTHON}","")))')
        out.outputs[N.indicator_name(n, k, "得分")] = (
            f'=IF({blank},"",IF(ISNUMBER({c(_SCORE)}),ROUND(ROUND({c(_SCORE)},{_PLACES}),2),{c(_SCORE)}))')

    scores = col_range(_SCORE)
    complete = (f'AND(COUNTIF({g_status},"gap")=0,ISNUMBER(${_EXEC}${top}),'
                f"COUNT({scores})=SUM({col_range(_FILLED)}))")
    cells[f"{_TOTAL}{top}"] = (f'=IF(COUNTIF({scores},"{NEEDS_PYTHON}")>0,"{NEEDS_PYTHON}",IF({complete},'
                               f'IF({cap},"{NEEDS_PYTHON}",${_EXEC}${top}+SUM({scores})),"{PENDING}"))')
    total = f"${_TOTAL}${top}"
    out.outputs[N.score_name(n)] = f'=IF({blank},"",IF(ISNUMBER({total}),ROUND(ROUND({total},{_PLACES}),2),{total}))'
    bands = R.FUND_GRADES.bands
    grade = text_literal(bands[-1][1])
    for floor, name in reversed(bands[:-1]):
        grade = f"IF(ROUND({total},{_PLACES})>={floor},{text_literal(name)},{grade})"
    out.outputs[N.grade_name(n)] = (f'=IF({blank},"",IF(ISNUMBER({total}),IF({grades_on},"{NEEDS_PYTHON}",{grade}),'
                                    f'IF({total}="{NEEDS_PYTHON}","{NEEDS_PYTHON}","")))')
    first_parsed = PARSED_COLUMNS[0]
    out.ranges[parsed_name(n)] = f"{first_parsed}{first_ind}:{PARSED_COLUMNS[-1]}{last_ind}"
    return out


def _all_exact(pairs) -> str:
    return "AND(" + ",".join(f'IFERROR(EXACT({x}&"",{y}&""),FALSE)' for x, y in pairs) + ")"


def parsed_value(raw: object) -> object:
    """A cell's value as the parsed block keeps it: text and numbers as they are, a date as the
    serial number the sheet holds (so that `cell&""` compares alike)."""
    if isinstance(raw, dt.datetime):
        delta = raw - dt.datetime(1899, 12, 30)
        return delta.days + delta.seconds / 86400
    if isinstance(raw, dt.date):
        return (raw - dt.date(1899, 12, 30)).days
    if isinstance(raw, bool) or raw is None or isinstance(raw, (int, float, str)):
        return raw
    return str(raw)
