"""Defined names of the 专项资金自评表, in the contract style of the main sheets.

One block (or sheet) per fund, n = 1, 2, …; indicator rows k = 1 … INDICATOR_ROWS.  Code reads and
writes a fund's cells only through these workbook-scope names.

Inputs, per fund n
    专项n_专项资金名称            专项n_负责人及电话
    专项n_县级主管部门            专项n_实施单位
    专项n_年度资金总额_预算数      专项n_年度资金总额_执行数      (全年预算数A / 全年执行数B)
    专项n_中央省市补助_预算数      专项n_中央省市补助_执行数      (其中：中央、省、市补助)
    专项n_县级资金_预算数          专项n_县级资金_执行数
    专项n_其他资金_预算数          专项n_其他资金_执行数
    专项n_年初设定目标            专项n_全年实际完成情况          (年度总体目标)
    专项n_指标表_一级指标  专项n_指标表_二级指标  专项n_指标表_三级指标
    专项n_指标表_指标值    专项n_指标表_完成值                   (年度指标值 / 全年完成值)
    专项n_指标表_定性档次  专项n_指标表_分值                     (not on the seed form: the
                                                                 qualitative tier, and an optional
                                                                 weight in points)
    专项n_指标表_未完成原因和改进措施
    专项n_说明

Outputs, per fund n
    专项n_年度资金总额_执行率  专项n_中央省市补助_执行率  专项n_县级资金_执行率  专项n_其他资金_执行率
    专项n_预算执行率_得分      专项n_预算执行率_扣分说明
    专项n_指标表_完成率        专项n_指标表_得分          专项n_指标表_扣分说明
    专项n_得分                 专项n_等级

Each 专项n_指标表_<field> is one column of the indicator table (rows k = 1 … INDICATOR_ROWS, or
more where an accountant inserted rows): 11 names where workbooks made before had one name per
cell, 专项n_指标k_<field> (330 per fund).  Those per-cell names stay the keys the engine reads and
writes by (`indicator_name`, `fund_input_keys`, `fund_output_keys`), and workbooks that still
carry them are read through them (`workbook.funds_io`).

Department summary (once per workbook)
    专项汇总_专项个数  专项汇总_全年预算数  专项汇总_全年执行数  专项汇总_执行率
    专项汇总_得分      专项汇总_等级        专项汇总_得分说明
    专项汇总表       first cell of the per-fund rows (SUMMARY_COLUMNS), header excluded
    专项指标汇总表   first cell of the merged-indicator rows (INDICATOR_SUMMARY_COLUMNS)
    专项评分规则表   the fund rule rows on 评分规则 (FUND_RULE_COLUMNS), header excluded
"""

from __future__ import annotations

from evalbook.funds.form import GROUPS

FUND_SHEET = "专项资金自评表"  # one per fund when a sheet per fund is used: 专项资金自评表1, …
SUMMARY_SHEET = "专项资金汇总"

HEADER_FIELDS = ("专项资金名称", "负责人及电话", "县级主管部门", "实施单位")
TOTAL = "年度资金总额"
PARTS = ("中央省市补助", "县级资金", "其他资金")
MONEY_ITEMS = (TOTAL,) + PARTS
MONEY_LABELS = {
    TOTAL: "年度资金总额",
    "中央省市补助": "中央、省、市补助",
    "县级资金": "县级资金",
    "其他资金": "其他资金",
}
BUDGET = "预算数"  # 全年预算数（A）
SPENT = "执行数"  # 全年执行数（B）
RATE = "执行率"
GOAL_FIELDS = ("年初设定目标", "全年实际完成情况")
REMARKS = "说明"

LEVEL1 = "一级指标"
LEVEL2 = "二级指标"
LEVEL3 = "三级指标"
TARGET = "指标值"
ACTUAL = "完成值"
TIER = "定性档次"
POINTS = "分值"
REASON = "未完成原因和改进措施"
INDICATOR_INPUTS = (LEVEL1, LEVEL2, LEVEL3, TARGET, ACTUAL, TIER, POINTS, REASON)
INDICATOR_OUTPUTS = ("完成率", "得分", "扣分说明")
INDICATOR_TABLE = "指标表"

EXEC = "预算执行率"

# The seed form's rows: three per 二级指标 and a free "……" row per 一级指标.  The seed prints no
# 社会效益 rows although its 一级指标 names it; the issue lists it, so it has its rows here.
INDICATOR_LAYOUT: tuple[tuple[str, str], ...] = tuple(
    (group.level1, level2)
    for group in GROUPS
    for level2 in group.level2 + ("",)
    for _ in range(3 if level2 else 1)
)
INDICATOR_ROWS = len(INDICATOR_LAYOUT)

SUMMARY_PREFIX = "专项汇总"
SUMMARY_FIELDS = ("专项个数", "全年预算数", "全年执行数", "执行率", "得分", "等级", "得分说明")
SUMMARY_TABLE = "专项汇总表"
INDICATOR_SUMMARY_TABLE = "专项指标汇总表"
FUND_RULES_TABLE = "专项评分规则表"
SUMMARY_COLUMNS = ("序号", "专项资金名称", "全年预算数", "全年执行数", "执行率", "得分", "等级")
INDICATOR_SUMMARY_COLUMNS = (
    "一级指标", "二级指标", "三级指标", "年度指标值", "全年完成值", "汇总方式", "涉及专项",
)


def header_name(n: int, field: str) -> str:
    return f"专项{n}_{field}"


def money_name(n: int, item: str, column: str) -> str:
    """money_name(1, "年度资金总额", "预算数") → "专项1_年度资金总额_预算数"."""
    return f"专项{n}_{item}_{column}"


def indicator_name(n: int, k: int, field: str) -> str:
    """indicator_name(1, 3, "完成值") → "专项1_指标3_完成值": the key of one cell of the indicator
    table (and its defined name in workbooks made before the table had column names)."""
    return f"专项{n}_指标{k}_{field}"


def indicator_column(n: int, field: str) -> str:
    """indicator_column(1, "完成值") → "专项1_指标表_完成值": the defined name of a whole column."""
    return f"专项{n}_{INDICATOR_TABLE}_{field}"


def exec_score_name(n: int) -> str:
    return f"专项{n}_{EXEC}_得分"


def exec_note_name(n: int) -> str:
    return f"专项{n}_{EXEC}_扣分说明"


def score_name(n: int) -> str:
    return f"专项{n}_得分"


def grade_name(n: int) -> str:
    return f"专项{n}_等级"


def summary_name(field: str) -> str:
    return f"{SUMMARY_PREFIX}_{field}"


def _header_input_names(n: int) -> tuple[str, ...]:
    return (tuple(header_name(n, f) for f in HEADER_FIELDS)
            + tuple(money_name(n, item, col) for item in MONEY_ITEMS for col in (BUDGET, SPENT))
            + tuple(header_name(n, f) for f in GOAL_FIELDS))


def _money_output_names(n: int) -> tuple[str, ...]:
    return tuple(money_name(n, item, RATE) for item in MONEY_ITEMS) + (exec_score_name(n), exec_note_name(n))


def fund_input_keys(n: int, rows: int = INDICATOR_ROWS) -> tuple[str, ...]:
    """Every input of fund n cell by cell: the keys `FundInput.from_names` reads."""
    return (_header_input_names(n)
            + tuple(indicator_name(n, k, f) for k in range(1, rows + 1) for f in INDICATOR_INPUTS)
            + (header_name(n, REMARKS),))


def fund_output_keys(n: int, rows: int = INDICATOR_ROWS) -> tuple[str, ...]:
    """Every output of fund n cell by cell: the keys `FundResult.outputs` gives."""
    return (_money_output_names(n)
            + tuple(indicator_name(n, k, f) for k in range(1, rows + 1) for f in INDICATOR_OUTPUTS)
            + (score_name(n), grade_name(n)))


def fund_input_names(n: int) -> tuple[str, ...]:
    """The defined names of fund n's inputs in a workbook made now (indicator columns as ranges)."""
    return (_header_input_names(n) + tuple(indicator_column(n, f) for f in INDICATOR_INPUTS)
            + (header_name(n, REMARKS),))


def fund_output_names(n: int) -> tuple[str, ...]:
    return (_money_output_names(n) + tuple(indicator_column(n, f) for f in INDICATOR_OUTPUTS)
            + (score_name(n), grade_name(n)))


def formula_block_name(n: int) -> str:
    """The hidden block of fund n's sheet where Python leaves the targets it parsed, for the native
    formulas (`workbook.fund_native`); workbooks made before it have none."""
    return f"专项{n}_公式_解析"


def fund_names(n: int) -> tuple[str, ...]:
    """Every defined name of fund n's sheet, inputs first."""
    return fund_input_names(n) + fund_output_names(n) + (formula_block_name(n),)


def summary_names() -> tuple[str, ...]:
    return tuple(summary_name(f) for f in SUMMARY_FIELDS) + (
        SUMMARY_TABLE, INDICATOR_SUMMARY_TABLE, FUND_RULES_TABLE,
    )
