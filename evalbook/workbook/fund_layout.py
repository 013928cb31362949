"""Where a fund's block stands: the seed's 县级专项资金绩效目标自评表, one sheet per fund.

Every fund sheet has the same cells; only its defined names differ (专项1_…, 专项2_…), so adding a
fund copies a sheet and renames its names.  Pure data, like `evalbook.workbook.layout`.
"""

from __future__ import annotations

from evalbook.funds import names as N
from evalbook.funds.qualitative import TIER_KEYS
from evalbook.funds.rules import DEFAULT_FUND_RULE_ROWS, FUND_GENERAL_NOTES, FUND_RULE_COLUMNS
from evalbook.workbook import fund_native, pages
from evalbook.workbook import sheetspec as L

SHEET_PREFIX = N.FUND_SHEET  # 专项资金自评表1, 专项资金自评表2, …
FIRST_INDICATOR_ROW = 12
MONEY_FIRST_ROW = 5
# the indicator table's columns (rows FIRST_INDICATOR_ROW … FIRST_INDICATOR_ROW + INDICATOR_ROWS - 1)
INDICATOR_COLUMNS = {"A": N.LEVEL1, "B": N.LEVEL2, "C": N.LEVEL3, "D": N.TARGET, "E": N.ACTUAL, "F": N.TIER,
                     "G": N.POINTS, "H": "完成率", "I": "得分", "J": "扣分说明", "K": N.REASON}


def sheet_title(n: int) -> str:
    return f"{SHEET_PREFIX}{n}"


def code_name(n: int) -> str:
    return f"shtFund{n}"


def fund_sheet(n: int) -> L.Sheet:
    s = L.Sheet(sheet_title(n), code_name(n), freeze=f"A{FIRST_INDICATOR_ROW}", highlight_range="A1:K80")
    s.widths = {"A": 9, "B": 13, "C": 22, "D": 14, "E": 14, "F": 24, "G": 7, "H": 9, "I": 8, "J": 40, "K": 30}
    s.add(L.Cell("A1", "年度县级专项资金绩效目标自评表", L.TITLE, merge="K1"))
    header = ((2, "专项资金名称", "负责人及电话"), (3, "县级主管部门", "实施单位"))
    for row, left, right in header:
        s.add(L.Cell(f"A{row}", left, L.LABEL, merge=f"B{row}"),
              L.Cell(f"C{row}", None, L.INPUT, name=N.header_name(n, left), merge=f"E{row}"),
              L.Cell(f"F{row}", right, L.LABEL),
              L.Cell(f"G{row}", None, L.INPUT, name=N.header_name(n, right), merge=f"K{row}"))
    s.add(L.Cell("A4", "项目资金（万元）", L.SECTION, merge="B4"),
          L.Cell("C4", "", L.HEADER),
          L.Cell("D4", "全年预算数（A）", L.HEADER, wrap=True),
          L.Cell("E4", "全年执行数（B）", L.HEADER, wrap=True),
          L.Cell("F4", "执行率（B/A）", L.HEADER),
          L.Cell("G4", "分值", L.HEADER),
          L.Cell("H4", "", L.HEADER),
          L.Cell("I4", "得分", L.HEADER),
          L.Cell("J4", "扣分说明", L.HEADER, merge="K4"))
    last_money = MONEY_FIRST_ROW + len(N.MONEY_ITEMS) - 1
    for offset, item in enumerate(N.MONEY_ITEMS):
        r = MONEY_FIRST_ROW + offset
        label = N.MONEY_LABELS[item] if item == N.TOTAL else f"其中：{N.MONEY_LABELS[item]}"
        s.add(L.Cell(f"A{r}", "" if offset else "预算执行率", L.LABEL),
              L.Cell(f"B{r}", label, L.LABEL, merge=f"C{r}"),
              L.Cell(f"D{r}", None, L.INPUT, name=N.money_name(n, item, N.BUDGET), number_format=L.MONEY_FMT),
              L.Cell(f"E{r}", None, L.INPUT, name=N.money_name(n, item, N.SPENT), number_format=L.MONEY_FMT),
              L.Cell(f"F{r}", None, L.OUTPUT, name=N.money_name(n, item, N.RATE), number_format=L.RATE_FMT))
    s.add(L.Cell(f"G{MONEY_FIRST_ROW}", 10, L.NOTE, merge=f"H{last_money}"),
          L.Cell(f"I{MONEY_FIRST_ROW}", None, L.OUTPUT, name=N.exec_score_name(n), merge=f"I{last_money}",
                 number_format=L.SCORE_FMT),
          L.Cell(f"J{MONEY_FIRST_ROW}", None, L.OUTPUT, name=N.exec_note_name(n), merge=f"K{last_money}", wrap=True))
    goal = last_money + 1
    s.add(L.Cell(f"A{goal}", "年度总体目标", L.SECTION, merge=f"A{goal + 1}", wrap=True),
          L.Cell(f"B{goal}", "年初设定目标", L.HEADER, merge=f"E{goal}"),
          L.Cell(f"F{goal}", "全年实际完成情况", L.HEADER, merge=f"K{goal}"),
          L.Cell(f"B{goal + 1}", None, L.INPUT, name=N.header_name(n, "年初设定目标"), merge=f"E{goal + 1}", wrap=True),
          L.Cell(f"F{goal + 1}", None, L.INPUT, name=N.header_name(n, "全年实际完成情况"), merge=f"K{goal + 1}",
                 wrap=True))
    s.heights[goal + 1] = 60
    head = FIRST_INDICATOR_ROW - 1
    titles = ("一级指标", "二级指标", "三级指标", "年度指标值", "全年完成值", "定性档次（定性指标选填）", "分值",
              "完成率", "得分", "扣分说明", "未完成原因和改进措施")
    s.add(*(L.Cell(f"{col}{head}", t, L.HEADER, wrap=True) for col, t in zip("ABCDEFGHIJK", titles)))
    s.heights[head] = 30
    for k, (level1, level2) in enumerate(N.INDICATOR_LAYOUT, start=1):
        r = head + k

        def cell(col: str, value, style: str, field: str, **kw) -> L.Cell:
            return L.Cell(f"{col}{r}", value, style, key=N.indicator_name(n, k, field), **kw)

        s.add(cell("A", level1, L.INPUT, N.LEVEL1),
              cell("B", level2 or None, L.INPUT, N.LEVEL2),
              cell("C", None, L.INPUT, N.LEVEL3, wrap=True),
              cell("D", None, L.INPUT, N.TARGET),
              cell("E", None, L.INPUT, N.ACTUAL),
              cell("F", None, L.INPUT, N.TIER, choices=TIER_KEYS),
              cell("G", None, L.INPUT, N.POINTS, number_format="0.##"),
              cell("H", None, L.OUTPUT, "完成率", number_format=L.RATE_FMT),
              cell("I", None, L.OUTPUT, "得分", number_format=L.SCORE_FMT),
              cell("J", None, L.OUTPUT, "扣分说明", wrap=True),
              cell("K", None, L.INPUT, N.REASON, wrap=True))
        s.heights[r] = 30
    # one name per column of the table, not one per cell (Name Manager stays readable)
    last = head + N.INDICATOR_ROWS
    for col, field in INDICATOR_COLUMNS.items():
        s.ranges[N.indicator_column(n, field)] = f"{col}{FIRST_INDICATOR_ROW}:{col}{last}"
    r = head + N.INDICATOR_ROWS + 1
    s.add(L.Cell(f"A{r}", "本专项得分", L.SECTION, merge=f"H{r}"),
          L.Cell(f"I{r}", None, L.OUTPUT, name=N.score_name(n), number_format=L.SCORE_FMT),
          L.Cell(f"J{r}", None, L.OUTPUT, name=N.grade_name(n), merge=f"K{r}"))
    r += 1
    s.add(L.Cell(f"A{r}", "说明", L.SECTION),
          L.Cell(f"B{r}", None, L.INPUT, name=N.header_name(n, N.REMARKS), merge=f"K{r}", wrap=True))
    s.heights[r] = 45
    notes = (
        "填表说明：1. 绩效指标按产出、效益、满意度填写，定量指标在“年度指标值”“全年完成值”中写明比较符和单位，"
        "如“≥95%”“≤500万元”“3842米”“2020年12月底前”；定性指标选择“定性档次”并在“全年完成值”填写完成比例。",
        "2. 定性指标档次：全部或基本达成预期指标，完成比例100%-80%（含）；部分达成预期指标并具有一定效果，"
        "80%-60%（含）；未达成预期指标且效果较差，60%-0%。",
        "3. 未完成年度指标值的，须在“未完成原因和改进措施”中说明；“说明”栏无其他说明的填“无”。",
        "4. 多个专项时点击功能区“新增专项资金”（或运行 evalbook add-fund），每个专项一张表；汇总见“专项资金汇总”。",
    )
    for line in notes:
        r += 1
        s.add(L.Cell(f"A{r}", line, L.NOTE, merge=f"K{r}", wrap=True))
        s.heights[r] = 30
    s.print_area = f"A1:K{r}"
    s.print_titles = f"{head}:{head}"
    s.fit_rows()
    level2_blocks: dict[tuple[str, str], list[int]] = {}
    level1_blocks: dict[str, list[int]] = {}
    for k, (level1, level2) in enumerate(N.INDICATOR_LAYOUT, start=1):
        level2_blocks.setdefault((level1, level2), []).append(head + k)
        level1_blocks.setdefault(level1, []).append(head + k)
    # the money block and the table's header stay with the first rows; the score, 说明 and the
    # notes go together at the end
    keep = [(1, head + 1)] + [(min(rows), max(rows)) for rows in level2_blocks.values()]
    keep.append((head + N.INDICATOR_ROWS + 1, r))
    pages.paginate_sheet(s, keep=keep, prefer=[(min(rows), max(rows)) for rows in level1_blocks.values()])
    _add_formulas(s, n)  # after the rows are fitted: formula text is no text to fit
    return s


def refs_items(s: L.Sheet) -> tuple[tuple[str, str], ...]:
    return tuple((c.name or c.key, c.ref) for c in s.cells if c.name or c.key)


def _add_formulas(s: L.Sheet, n: int) -> None:
    """The native formulas (`workbook.fund_native`): outputs hold them, hidden columns help."""
    formulas = fund_native.fund_formulas(n, refs_items(s))
    for c in s.cells:
        formula = formulas.outputs.get(c.name or c.key)
        if formula is not None:
            c.value, c.formula = formula, True
    for ref, value in formulas.cells.items():
        s.add(L.Cell(ref, value, L.TEXT, formula=isinstance(value, str) and value.startswith("=")))
    s.ranges.update(formulas.ranges)
    s.hidden_columns = fund_native.HIDDEN


def summary_sheet() -> L.Sheet:
    s = L.Sheet(N.SUMMARY_SHEET, "shtFundSummary", freeze="A4")
    # F holds 汇总方式: "按资金额度加权平均" needs 18 half-width places
    s.widths = {"A": 14, "B": 30, "C": 14, "D": 14, "E": 12, "F": 20, "G": 22}
    s.add(L.Cell("A1", "专项资金绩效自评汇总", L.TITLE, merge="G1"))
    fields = (("专项个数", "0"), ("全年预算数", L.MONEY_FMT), ("全年执行数", L.MONEY_FMT),
              ("执行率", L.RATE_FMT), ("得分", L.SCORE_FMT), ("等级", None), ("得分说明", None))
    for offset, (field, fmt) in enumerate(fields):
        r = 3 + offset
        s.add(L.Cell(f"A{r}", field, L.LABEL),
              L.Cell(f"B{r}", None, L.OUTPUT, name=N.summary_name(field), number_format=fmt,
                     merge=f"G{r}" if field == "得分说明" else None, wrap=field == "得分说明"))
    s.heights[3 + len(fields) - 1] = 45
    r = 3 + len(fields) + 1
    s.add(L.Cell(f"A{r}", "各专项", L.SECTION, merge=f"G{r}"))
    s.add(*(L.Cell(f"{col}{r + 1}", t, L.HEADER) for col, t in zip("ABCDEFG", N.SUMMARY_COLUMNS)))
    s.add(L.Cell(f"A{r + 2}", None, L.TEXT, name=N.SUMMARY_TABLE))
    # the file adapter gives every written row the first row's formats: 执行率 as %, amounts as 万元
    formats = {"C": L.MONEY_FMT, "D": L.MONEY_FMT, "E": L.RATE_FMT, "F": L.SCORE_FMT}
    s.add(*(L.Cell(f"{col}{r + 2}", None, L.TEXT, number_format=formats.get(col), wrap=col == "B")
            for col in "BCDEFG"))
    r += 2 + 21  # room for twenty funds
    s.add(L.Cell(f"A{r}", "同名指标汇总（绝对值相加，相对值按全年预算数加权）", L.SECTION, merge=f"G{r}"))
    s.add(*(L.Cell(f"{col}{r + 1}", t, L.HEADER) for col, t in zip("ABCDEFG", N.INDICATOR_SUMMARY_COLUMNS)))
    s.add(L.Cell(f"A{r + 2}", None, L.TEXT, name=N.INDICATOR_SUMMARY_TABLE, wrap=True))
    s.add(*(L.Cell(f"{col}{r + 2}", None, L.TEXT, wrap=True) for col in "BCDEFG"))
    s.print_area = f"A1:G{r + 40}"
    s.fit_rows()
    return s


def add_rules(rules_sheet: L.Sheet, first_row: int) -> tuple[int, int]:
    """The fund rule rows and notes on 评分规则, starting at `first_row`; returns the rows of
    its heading and table, to be printed together."""
    s = rules_sheet
    s.add(L.Cell(f"A{first_row}", "专项资金评分规则", L.SECTION, merge=f"I{first_row}"))
    head = first_row + 1
    columns = ("A", "B", "C", "D")
    s.add(*(L.Cell(f"{c}{head}", t, L.HEADER) for c, t in zip(columns, FUND_RULE_COLUMNS)))
    for offset, row in enumerate(DEFAULT_FUND_RULE_ROWS):
        r = head + 1 + offset
        points = L.rule_number(row[1])
        s.add(L.Cell(f"A{r}", row[0], L.LABEL, wrap=True),
              L.Cell(f"B{r}", points, L.INPUT),
              L.Cell(f"C{r}", row[2] or None, L.INPUT),
              L.Cell(f"D{r}", row[3] or None, L.INPUT, merge=f"I{r}", wrap=True))
        s.heights[r] = 30
    last = head + len(DEFAULT_FUND_RULE_ROWS)
    s.ranges[N.FUND_RULES_TABLE] = f"A{head + 1}:D{last}"
    r = last + 1
    for line in FUND_GENERAL_NOTES:
        r += 1
        s.add(L.Cell(f"A{r}", line, L.NOTE, merge=f"I{r}", wrap=True))
        s.heights[r] = 30
    s.print_area = f"A1:I{r}"
    return first_row, last
