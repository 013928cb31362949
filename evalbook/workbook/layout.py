"""Where everything stands in the template: sheets, cells, labels, styles and defined names.

Pure data (no workbook library): the build script turns it into the xlsm, and tests use it to
know which cells are inputs.  Labels follow the seed document so accountants recognise it.
"""

from __future__ import annotations

from evalbook.core.cells import column_letter
from evalbook.department import basic_data as B
from evalbook.department import framework as F
from evalbook.department import methods as M
from evalbook.department.framework import Framework, Indicator, seed_framework
from evalbook.department.rule import STEP_POLICIES
from evalbook.department.rules import COLUMNS as RULE_COLUMNS
from evalbook.department.names import criteria_name
from evalbook.department.rules import default_rules
from evalbook.workbook import contract as C
from evalbook.workbook import fund_layout, names_index, native, pages
from evalbook.workbook.sheetspec import (
    COUNT_FMT, HEADER, INPUT, LABEL, LINE_HEIGHT, MONEY_FMT, NOTE, OUTPUT, RATE_FMT, SCORE_FMT, SECTION, TEXT,
    TITLE, Cell, Chart, Sheet, rule_number, text_lines,
)

def _score_sheet(framework: Framework) -> Sheet:
    s = Sheet(C.SCORE_SHEET, "shtScore", freeze="D4", highlight_range="A1:L80")
    formulas = native.helper_layout(framework)
    out = formulas.outputs
    s.widths = {"A": 7, "B": 9, "C": 14, "D": 6, "E": 38, "F": 34, "G": 8, "H": 11, "I": 8, "J": 46,
                "K": 30, "L": 9}
    title = framework.name or "部门整体支出绩效评价指标评分表"
    if framework.info.get("文号"):
        title += f"（{framework.info['文号']}）"
    s.add(Cell("A1", title, TITLE, merge="L1"))
    s.add(Cell("A2", "校验状态", LABEL, merge="B2"),
          Cell("C2", out[C.STATUS], OUTPUT, name=C.STATUS, merge="L2", formula=True))
    s.alerts.append(("C2", native.STALE, "C00000"))
    headers = ("一级指标", "二级指标", "三级指标", "分值", "评价标准", "指标说明", "自评得分", "计算值", "得分",
               "扣分说明", "评价要素", "填报")
    s.add(*(Cell(f"{col}3", text, HEADER, wrap=True) for col, text in zip("ABCDEFGHIJKL", headers)))
    row = 4
    level_spans: dict[tuple[str, str], list[int]] = {}
    for ind in framework.indicators:
        items = _qualitative_items(framework, ind)
        first, last = row, row + max(1, len(items)) - 1
        level_spans.setdefault((ind.level1, ""), []).extend([first, last])
        level_spans.setdefault((ind.level1, ind.level2), []).extend([first, last])

        def span(col: str) -> str | None:
            return f"{col}{last}" if last > first else None

        s.add(
            Cell(f"C{first}", ind.title, LABEL, merge=span("C"), wrap=True),
            Cell(f"D{first}", out[C.weight_name(ind.key)], OUTPUT, name=C.weight_name(ind.key), merge=span("D"),
                 number_format="0.##", formula=True),
            Cell(f"E{first}", ind.criteria, TEXT, name=criteria_name(ind.key), merge=span("E"), wrap=True),
            Cell(f"F{first}", ind.note, TEXT, merge=span("F"), wrap=True),
            Cell(f"G{first}", None, INPUT, name=C.self_score_name(ind.key), merge=span("G"),
                 number_format=SCORE_FMT),
            Cell(f"H{first}", out[C.value_name(ind.key)], OUTPUT, name=C.value_name(ind.key), merge=span("H"),
                 number_format=_value_format(ind), formula=True),
            Cell(f"I{first}", out[C.score_name(ind.key)], OUTPUT, name=C.score_name(ind.key), merge=span("I"),
                 number_format=SCORE_FMT, formula=True),
            Cell(f"J{first}", formulas.reasons[C.note_name(ind.key)], OUTPUT, name=C.note_name(ind.key),
                 merge=span("J"), wrap=True, formula=True),
        )
        if items:
            for offset, (label, name, fmt, choices) in enumerate(items):
                s.add(Cell(f"K{row + offset}", label, LABEL, wrap=True),
                      Cell(f"L{row + offset}", None, INPUT, name=name, number_format=fmt, choices=choices))
        else:
            s.add(Cell(f"K{row}", "按基础数据表计算", NOTE), Cell(f"L{row}", None, NOTE))
        # Neither Excel nor LibreOffice grows a row for wrapped text on open, so size rows here;
        # 扣分说明 is written later and gets room for five lines (预算完成率 needs them).
        lines = max(text_lines(ind.criteria, s.widths["E"]), text_lines(ind.note, s.widths["F"]),
                    text_lines(ind.title, s.widths["C"]), 5)
        rows_here = last - first + 1
        for r in range(first, last + 1):
            s.heights[r] = max(30.0, LINE_HEIGHT * lines / rows_here + 3)
        row = last + 1
    total_row = row
    s.add(Cell(f"A{total_row}", "合计", LABEL, merge=f"C{total_row}"),
          Cell(f"D{total_row}", out[C.WEIGHT_TOTAL], OUTPUT, name=C.WEIGHT_TOTAL, number_format="0.##",
               formula=True),
          Cell(f"E{total_row}", "", TEXT, merge=f"F{total_row}"),
          Cell(f"G{total_row}", out[C.SELF_TOTAL], OUTPUT, name=C.SELF_TOTAL, number_format=SCORE_FMT,
               formula=True),
          Cell(f"H{total_row}", "总分", LABEL),
          Cell(f"I{total_row}", out[C.TOTAL], OUTPUT, name=C.TOTAL, number_format=SCORE_FMT, formula=True),
          Cell(f"J{total_row}", _grades_text(framework), NOTE, wrap=True))
    s.add(Cell(f"H{total_row + 1}", "等级", LABEL),
          Cell(f"I{total_row + 1}", out[C.GRADE], OUTPUT, name=C.GRADE, formula=True))
    s.add(Cell(f"A{total_row + 3}", "说明：黄色单元格由单位填写；蓝色单元格由“校验并评分”自动填写，请勿手工修改。"
               "红色标记表示校验发现错误，详见“校验结果”表。", NOTE, merge=f"L{total_row + 3}"))
    chart_top = total_row + 5
    s.add(Cell(f"A{chart_top}", "各二级指标得分情况", SECTION, merge=f"L{chart_top}"))
    head = chart_top + 1
    s.add(Cell(f"C{head}", "二级指标", HEADER), Cell(f"D{head}", "分值", HEADER), Cell(f"E{head}", "得分", HEADER))
    groups = framework.level2_groups()
    for offset, level2 in enumerate(groups):
        r = head + 1 + offset
        s.add(Cell(f"C{r}", level2, LABEL),
              Cell(f"D{r}", out[C.level2_names(level2)[0]], OUTPUT, name=C.level2_names(level2)[0],
                   number_format="0.##", formula=True),
              Cell(f"E{r}", out[C.level2_names(level2)[1]], OUTPUT, name=C.level2_names(level2)[1],
                   number_format=SCORE_FMT, formula=True))
    last = head + len(groups)
    # the chart sits beside the block; it reads the cells above, so every run just updates it
    s.charts.append(Chart("得分与分值（按二级指标）", categories=f"C{head + 1}:C{last}",
                          series=(("分值", f"D{head + 1}:D{last}"), ("得分", f"E{head + 1}:E{last}")),
                          anchor=f"F{chart_top + 1}", width_cm=18, height_cm=7.5))
    for r in range(head, last + 1):
        s.heights[r] = 20
    chart_end = pages.rows_under(s, chart_top + 1, s.charts[-1].height_cm)
    s.print_area = f"A1:L{max(last, chart_end) + 1}"
    s.print_titles = "3:3"
    s.fit_rows()
    spans = {key: (min(rows), max(rows)) for key, rows in level_spans.items()}
    level2_blocks = [span for (_, level2), span in spans.items() if level2]
    level1_blocks = [span for (_, level2), span in spans.items() if not level2]
    pages.paginate_sheet(s, keep=level2_blocks + [(total_row, total_row + 3), (chart_top, chart_end)],
                         prefer=level1_blocks)
    # the 一级/二级 labels go in last, one merged label per page a block runs over, so each page
    # says which block its rows belong to
    for (level1, level2), (top, bottom) in spans.items():
        weight = _points(sum(i.weight for i in framework.indicators
                             if i.level1 == level1 and (not level2 or i.level2 == level2)))
        col = "B" if level2 else "A"
        for n, (a, b) in enumerate(pages.segments(top, bottom, s.row_breaks)):
            label = f"{level2 or level1}\n{weight}分" if n == 0 else f"{level2 or level1}\n（续）"
            s.add(Cell(f"{col}{a}", label, LABEL, merge=f"{col}{b}" if b > a else None, wrap=True))
    return s


def _points(weight) -> int | float:
    """A weight as the sheet holds it: 5, not 5.0 (the seed's table prints whole points)."""
    return int(weight) if weight.denominator == 1 else float(weight)


def _grades_text(framework: Framework) -> str:
    """等级：≥90分优，80（含）-90分良，60（含）-80分中，<60分差."""
    bands = framework.grades.bands
    parts = []
    for i, (floor, name) in enumerate(bands):
        if i == 0:
            parts.append(f"≥{_points(floor)}分{name}")
        elif i == len(bands) - 1:
            parts.append(f"<{_points(bands[i - 1][0])}分{name}")
        else:
            parts.append(f"{_points(floor)}（含）-{_points(bands[i - 1][0])}分{name}")
    return "等级：" + "，".join(parts)


def _value_format(ind: Indicator) -> str:
    if ind.kind in (F.RATE, F.PERCENT, F.CHECKLIST, F.PROPORTION):
        return RATE_FMT
    if ind.kind == F.COUNT:
        return COUNT_FMT
    return "General"


_ITEM_FORMATS = {B.COUNT: COUNT_FMT, B.NUMBER: SCORE_FMT, B.TYPED: SCORE_FMT, B.PERCENT: RATE_FMT,
                 B.MONEY: MONEY_FMT}


def _qualitative_items(framework: Framework, ind: Indicator) -> list[tuple[str, str, str | None, tuple[str, ...]]]:
    """(label, defined name, number format, dropdown) for inputs that sit beside the indicator."""
    found = []
    for name in ind.inputs:
        item = framework.inputs[name]
        if item.sheet != C.SCORE_SHEET:
            continue
        choices = ("是", "否") if item.kind == B.YES_NO else item.choices
        found.append((item.label or name, name, _ITEM_FORMATS.get(item.kind), choices))
    return found


DATA_ROWS = (
    # (label as in the seed, item key, style)
    ("三公经费", "三公经费", LABEL),
    ("   1、公务用车购置和维护经费", "公务用车经费", LABEL),
    ("       其中：公车购置", "公车购置", LABEL),
    ("             公车运行维护", "公车运行维护", LABEL),
    ("   2、出国经费", "出国经费", LABEL),
    ("   3、公务接待", "公务接待", LABEL),
    ("项目支出：", "项目支出", LABEL),
    ("  1、业务工作专项(一个项目一行)", "业务工作专项", LABEL),
    ("  2、运行维护专项(一个项目一行)", "运行维护专项", LABEL),
    ("  3、省、市级专项资金（一个专项一行）", "省市级专项资金", LABEL),
    ("公用经费", "公用经费", LABEL),
    ("    其中：办公经费", "办公经费", LABEL),
    ("          水费、电费、差旅费", "水电差旅费", LABEL),
    ("          会议费、培训费", "会议培训费", LABEL),
    ("          其他公用经费", "其他公用经费", LABEL),
    ("政府采购金额", "政府采购", LABEL),
    ("部门基本支出预算调整", "基本支出预算调整", LABEL),
)

SUPPLEMENT_ROWS = (
    ("上年“三公经费”预算数", "三公经费_上年预算", "用于“三公经费”变动率"),
    ("上年结转", "上年结转", "用于预算完成率"),
    ("年初预算", "年初预算", "用于预算完成率、预算控制率"),
    ("本年追加预算", "本年追加预算", "用于预算完成率、预算控制率；调减填负数"),
    ("年末结余", "年末结余", "用于预算完成率"),
)


def _data_sheet(framework: Framework) -> Sheet:
    s = Sheet(C.DATA_SHEET, "shtData", landscape=False, freeze="B6", highlight_range="A1:H60")
    s.widths = {"A": 38, "B": 14, "C": 16, "D": 14, "E": 14, "F": 14, "G": 16}
    s.add(Cell("A1", "部门整体支出绩效评价基础数据表", TITLE, merge="G1"))
    s.add(Cell("A2", "填报单位：", LABEL),
          Cell("B2", None, INPUT, name="填报单位", merge="D2"),
          Cell("E2", "评价年度", LABEL),
          Cell("F2", 2020, INPUT, name="评价年度", number_format="0"),
          Cell("G2", "单位：万元", LABEL))
    s.add(Cell("A3", "财政供养人员情况", SECTION, merge="A4"),
          Cell("B3", "编制数", HEADER),
          Cell("C3", "2020年实际在职人数", HEADER, wrap=True),
          Cell("D3", "控制率", HEADER),
          Cell("B4", None, INPUT, name="编制数", number_format=COUNT_FMT),
          Cell("C4", None, INPUT, name="实际在职人数", number_format=COUNT_FMT),
          Cell("D4", '=IF(AND(ISNUMBER(B4),ISNUMBER(C4),B4<>0),C4/B4,"")', NOTE, number_format=RATE_FMT))
    s.add(Cell("A5", "经费控制情况", SECTION),
          Cell("B5", "2019年决算数", HEADER),
          Cell("C5", "2020年预算数", HEADER),
          Cell("D5", "2020年决算数", HEADER))
    row = 6
    for label, item, style in DATA_ROWS:
        s.add(Cell(f"A{row}", label, style))
        for col, period in zip("BCD", B.PERIODS):
            s.add(Cell(f"{col}{row}", None, INPUT, name=f"{item}_{period}", number_format=MONEY_FMT))
        row += 1
    row += 1
    s.add(Cell(f"A{row}", "楼堂馆所控制情况\n（2020年完工项目）", SECTION, merge=f"A{row + 1}", wrap=True),
          Cell(f"B{row}", "批复规模（㎡）", HEADER, wrap=True),
          Cell(f"C{row}", "实际规模（㎡）", HEADER, wrap=True),
          Cell(f"D{row}", "规模控制率", HEADER),
          Cell(f"E{row}", "预算投资（万元）", HEADER, wrap=True),
          Cell(f"F{row}", "实际投资（万元）", HEADER, wrap=True),
          Cell(f"G{row}", "投资概算控制率", HEADER, wrap=True))
    r = row + 1
    s.add(Cell(f"B{r}", None, INPUT, name="楼堂馆所_批复规模", number_format=MONEY_FMT),
          Cell(f"C{r}", None, INPUT, name="楼堂馆所_实际规模", number_format=MONEY_FMT),
          Cell(f"D{r}", f'=IF(AND(ISNUMBER(B{r}),ISNUMBER(C{r}),B{r}<>0),C{r}/B{r},"")', NOTE,
               number_format=RATE_FMT),
          Cell(f"E{r}", None, INPUT, name="楼堂馆所_预算投资", number_format=MONEY_FMT),
          Cell(f"F{r}", None, INPUT, name="楼堂馆所_实际投资", number_format=MONEY_FMT),
          Cell(f"G{r}", f'=IF(AND(ISNUMBER(E{r}),ISNUMBER(F{r}),E{r}<>0),F{r}/E{r},"")', NOTE,
               number_format=RATE_FMT))
    s.heights[row] = 32
    r += 1
    s.add(Cell(f"A{r}", "厉行节约保障措施", SECTION),
          Cell(f"B{r}", None, INPUT, name="厉行节约保障措施", merge=f"G{r}", wrap=True))
    s.heights[r] = 45
    r += 2
    s.add(Cell(f"A{r}", "补充数据（原表未列、评分规则需要的数据，单位：万元）", SECTION, merge=f"G{r}"))
    r += 1
    for label, name, why in SUPPLEMENT_ROWS:
        s.add(Cell(f"A{r}", label, LABEL),
              Cell(f"B{r}", None, INPUT, name=name, number_format=MONEY_FMT),
              Cell(f"C{r}", why, NOTE, merge=f"G{r}"))
        r += 1
    extra = [i for i in framework.declared() if i.sheet == C.DATA_SHEET]
    if extra:
        r += 1
        s.add(Cell(f"A{r}", f"{framework.name or '本框架'}新增数据（评分规则需要的其他数据）", SECTION, merge=f"G{r}"))
        r += 1
        for item in extra:
            s.add(Cell(f"A{r}", item.label or item.name, LABEL, wrap=True),
                  Cell(f"B{r}", None, INPUT, name=item.name, number_format=_ITEM_FORMATS.get(item.kind),
                       choices=("是", "否") if item.kind == B.YES_NO else item.choices),
                  Cell(f"C{r}", f"单位：{item.unit}" if item.unit else "", NOTE, merge=f"G{r}"))
            r += 1
    r += 1
    s.add(Cell(f"A{r}", "说明：“项目支出”需要填报基本支出以外的所有项目支出情况，包括业务工作项目、运行维护项目和市级专项资金等；"
               "“公用经费”填报基本支出中的一般商品和服务支出。没有发生的项目可留空或填“——”。", NOTE,
               merge=f"G{r}", wrap=True))
    s.heights[r] = 45
    s.print_area = f"A1:G{r}"
    s.fit_rows()
    pages.paginate_sheet(s)
    return s


def _rules_sheet(framework: Framework) -> Sheet:
    s = Sheet(C.RULES_SHEET, "shtRules", freeze="B3", highlight_range="A1:I60")
    s.widths = {"A": 18, "B": 6, "C": 12, "D": 8, "E": 7, "F": 8, "G": 13, "H": 44, "I": 50}
    s.add(Cell("A1", "评分规则（可按本地评分办法修改，修改后点击“校验并评分”即按新规则计分）", TITLE, merge="I1"))
    s.add(*(Cell(f"{col}2", text, HEADER) for col, text in zip("ABCDEFGHI", RULE_COLUMNS)))
    first = 3
    rows = framework.rule_rows()
    for offset, row in enumerate(rows):
        r = first + offset
        for col, value in zip("ABCDEFGHI", row):
            number = rule_number(value)
            choices = ()
            if col == "C":
                choices = framework.by_key[row[0]].methods
            elif col == "G" and row[2] in M.STEP_METHODS:
                choices = STEP_POLICIES
            s.add(Cell(f"{col}{r}", number if number is not None else (value or None),
                       LABEL if col == "A" else INPUT, wrap=col in "HI",
                       number_format=RATE_FMT if col in "DE" and number is not None else None, choices=choices))
    last = first + len(rows) - 1
    s.ranges[C.RULES_TABLE] = f"A{first}:I{last}"
    r = last + 2
    for line in framework.notes:
        s.add(Cell(f"A{r}", line, NOTE, merge=f"I{r}", wrap=True))
        s.heights[r] = 30
        r += 1
    s.add(Cell(f"A{r}", "计分方法：超限扣分（高于基准值每步扣分）、低于目标扣分、偏离扣分（高于或低于都扣）、分档计分、"
               "清单计分（每项“是”得每步分值）、计数扣分（每例扣每步分值）、比例折算、等级计分、录入得分。", NOTE,
               merge=f"I{r}", wrap=True))
    s.heights[r] = 30
    s.print_area = f"A1:I{r}"
    s.print_titles = "2:2"
    return s


RESULTS_FIRST_ROW = 4
RESULTS_LAST_ROW = 2003  # the highlight formulas look this far down


def _results_sheet() -> Sheet:
    s = Sheet(C.RESULTS_SHEET, "shtResults", freeze="A4", print_titles="3:3")
    # C holds a sheet's name ("专项资金自评表12" needs 17 places); F wraps long messages
    s.widths = {"A": 6, "B": 6, "C": 17, "D": 9, "E": 24, "F": 80}
    s.add(Cell("A1", "校验结果", TITLE, merge="F1"))
    s.add(Cell("A2", "本表由“校验并评分”自动生成，每次校验都会重写；“错误”使相关指标不计分，“提示”供核对参考。",
               NOTE, merge="F2"))
    s.add(*(Cell(f"{col}3", text, HEADER) for col, text in zip("ABCDEF", C.FINDING_COLUMNS)))
    s.add(Cell(f"A{RESULTS_FIRST_ROW}", None, TEXT, name=C.RESULTS_TABLE))
    # every run writes its rows in the first row's formats: wrapped, so no message is cut off
    s.add(*(Cell(f"{col}{RESULTS_FIRST_ROW}", None, TEXT, wrap=True) for col in "BCDEF"))
    rows = f"{RESULTS_FIRST_ROW}:{RESULTS_LAST_ROW}"
    first, last = rows.split(":")
    s.ranges["校验_级别"] = f"B{first}:B{last}"
    s.ranges["校验_工作表"] = f"C{first}:C{last}"
    s.ranges["校验_单元格"] = f"D{first}:D{last}"
    # no print area: what is printed grows with the findings
    return s


XLWINGS_CONF = (
    # xlwings reads key/value rows from A1 down to the first blank row, and a key present here
    # wins over the user's own xlwings.conf even when its value is blank: only set keys go above.
    ("UDF Modules", "udfs", "自定义函数所在的 Python 模块（请勿修改）"),
    ("Debug UDFs", "False", ""),
    ("Use UDF Server", "False", ""),
    ("Show Console", "False", ""),
)
XLWINGS_CONF_OPTIONAL = (
    ("Interpreter_Win", "C:\\Python311\\pythonw.exe",
     "Python 解释器完整路径；默认使用 PATH 中的 python"),
    ("PYTHONPATH", "D:\\evalbook", "额外的模块搜索路径（分号分隔）；通常不需要"),
    ("Conda Path", "C:\\ProgramData\\Anaconda3", "使用 Anaconda 时填写其安装目录，与 Conda Env 一起复制到上方"),
    ("Conda Env", "base", "使用 Anaconda 时的环境名"),
)


FRAMEWORK_SHEET = "指标框架"


def framework_range(section: str) -> str:
    """The defined name of a section of the framework a template carries (header row included)."""
    return f"框架_{section}"


def _framework_sheet(framework: Framework) -> Sheet:
    """The framework the template was made from, section under section, so the workbook scores
    itself by it wherever it goes (and `evalbook framework export BOOK` gives it back)."""
    s = Sheet(FRAMEWORK_SHEET, "shtFramework", hidden=True)
    s.add(Cell("A1", "本表记录生成本模板的指标框架（由 evalbook new 写入，请勿修改）；评分办法的调整请在“评分规则”表中进行。",
               NOTE))
    sections = framework.sections()
    sections["说明"].append({"项目": "指纹", "内容": framework.fingerprint})
    r = 3
    for name, rows in sections.items():
        columns = F.SECTION_COLUMNS[name]
        s.add(*(Cell(f"{column_letter(i)}{r}", c, HEADER) for i, c in enumerate(columns, 1)))
        for offset, row in enumerate(rows, 1):
            s.add(*(Cell(f"{column_letter(i)}{r + offset}", row.get(c) or None, TEXT)
                    for i, c in enumerate(columns, 1) if row.get(c)))
        last = r + max(len(rows), 1)
        s.ranges[framework_range(name)] = f"A{r}:{column_letter(len(columns))}{last}"
        r = last + 2
    return s


def _helper_sheet(framework: Framework, rules: Sheet) -> Sheet:
    """The hidden sheet behind the native formulas (`workbook.native`), filled in as a fresh
    template needs it: the default 分档/等级 parsed, the 评分规则 cells as the template holds them."""
    helper = native.helper_layout(framework)
    s = Sheet(native.HELPER_SHEET, "shtFormulas", hidden=True)
    s.widths = {"A": 24}
    for ref, value in helper.cells.items():
        formula = isinstance(value, str) and value.startswith("=")
        s.add(Cell(ref, value, TEXT, formula=formula))
    band_top = int(helper.ranges[native.BANDS_TABLE].split(":")[0][1:])
    rule_values = {c.ref: c.value for c in rules.cells}
    for offset, row in enumerate(native.band_rows(helper, default_rules(framework).rules)):
        for i, value in enumerate(row[1:], 3):
            if value is not None:
                s.add(Cell(f"{column_letter(i)}{band_top + offset}", value, TEXT))
    for (key, index), row in helper.rule_rows.items():
        value = rule_values.get(f"{column_letter(index + 1)}{_rule_row(rules, key)}")
        if index == native.BANDS_COLUMN:
            s.add(Cell(f"B{helper.band_rows[key]}", value, TEXT))
        if value is not None:
            s.add(Cell(f"{native.SNAPSHOT_COLUMN}{row}", value, TEXT))
    for name, area in helper.ranges.items():
        if ":" in area:
            s.ranges[name] = area
    for name in (native.LAST_STATUS, native.STALE):
        ref = helper.ranges[name]
        for c in s.cells:
            if c.ref == ref:
                c.name = name
    return s


def _rule_row(rules: Sheet, key: str) -> int:
    return next(int(c.ref[1:]) for c in rules.cells if c.ref.startswith("A") and c.value == key
                and c.ref[1:].isdigit() and int(c.ref[1:]) >= 3)


def _conf_sheet() -> Sheet:
    s = Sheet("xlwings.conf", "shtConf", hidden=True)
    s.widths = {"A": 18, "B": 40, "C": 60}
    for r, (key, value, why) in enumerate(XLWINGS_CONF, start=1):
        s.add(Cell(f"A{r}", key, TEXT), Cell(f"B{r}", value, TEXT), Cell(f"C{r}", why, NOTE))
    # xlwings stops reading at the first blank key: the rows right below the set keys are left
    # empty as slots for the optional settings (one per optional key, then one more that stays
    # blank), and the examples come after them, where they can never be read
    r = len(XLWINGS_CONF) + len(XLWINGS_CONF_OPTIONAL) + 2
    s.add(Cell(f"A{r}", "以下为可选设置示例：需要时复制到上方空行（第"
               f"{len(XLWINGS_CONF) + 1}至{len(XLWINGS_CONF) + len(XLWINGS_CONF_OPTIONAL)}行）并改为实际值；"
               "本行及以下不生效", NOTE))
    for r, (key, value, why) in enumerate(XLWINGS_CONF_OPTIONAL, start=r + 1):
        s.add(Cell(f"A{r}", key, TEXT), Cell(f"B{r}", value, TEXT), Cell(f"C{r}", why, NOTE))
    return s


def sheets(funds: int = 1, framework: Framework | None = None) -> list[Sheet]:
    """The template's sheets in order, with `funds` fund sheets (the template has one)."""
    framework = framework or seed_framework()
    rules = _rules_sheet(framework)
    last_rule_row = max(int("".join(ch for ch in c.ref if ch.isdigit())) for c in rules.cells)
    fund_section = fund_layout.add_rules(rules, last_rule_row + 2)
    rules.fit_rows()
    pages.paginate_sheet(rules, keep=[fund_section])
    framework_sheet = _framework_sheet(framework)
    found = ([_score_sheet(framework), _data_sheet(framework), rules, _results_sheet()]
             + [fund_layout.fund_sheet(n) for n in range(1, funds + 1)]
             + [fund_layout.summary_sheet(), framework_sheet, _helper_sheet(framework, rules), _conf_sheet()])
    # the names index goes beside the framework, where the button reads anyway
    framework_sheet.add(*names_index.index_cells(names_index.entries_of(found)))
    return found


def input_cells() -> dict[str, tuple[str, str]]:
    """Defined name → (sheet, cell) of every input cell (tests use it to prove inputs are untouched)."""
    found = {}
    for sheet in sheets():
        for cell in sheet.cells:
            if cell.style == INPUT and (cell.name or cell.key):
                found[cell.name or cell.key] = (sheet.title, cell.ref)
    return found
