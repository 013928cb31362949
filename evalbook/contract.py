"""The public contract: the workbook-scope defined names every template carries.

Code reads and writes cells only through these names, so rows inserted by an accountant never
break anything.  The sheet layout (`evalbook.layout`) places every one of them.
"""

from __future__ import annotations

from .catalogue import KEYS

SCORE_SHEET = "评分表"
DATA_SHEET = "基础数据表"
RULES_SHEET = "评分规则"
RESULTS_SHEET = "校验结果"
SHEETS = (SCORE_SHEET, DATA_SHEET, RULES_SHEET, RESULTS_SHEET)

MONEY_ITEMS = (
    "三公经费", "公务用车经费", "公车购置", "公车运行维护", "出国经费", "公务接待",
    "项目支出", "公用经费", "办公经费", "水电差旅费", "会议培训费", "其他公用经费", "政府采购",
)
PROJECT_DETAIL_ITEMS = ("业务工作专项", "运行维护专项", "省市级专项资金")
PERIODS = ("上年决算", "本年预算", "本年决算")

SUPPLEMENT = ("三公经费_上年预算", "上年结转", "年初预算", "本年追加预算", "年末结余")
BUILDINGS_AREA = ("楼堂馆所_批复规模", "楼堂馆所_实际规模")
BUILDINGS_MONEY = ("楼堂馆所_预算投资", "楼堂馆所_实际投资")
HEADCOUNT = ("编制数", "实际在职人数")
YES_NO = tuple(f"管理制度_{i}" for i in range(1, 5)) + tuple(f"信息公开_{i}" for i in range(1, 6))
GRADE_INPUT = "行政效能"
GRADE_CHOICES = ("好", "一般", "差")
PERCENT_INPUT = "满意度"
COUNT_INPUT = "违规事项数"
POINTS_INPUTS = ("重点工作考核得分", "重点工作考核总分", "效益得分")
TEXT_INPUTS = ("填报单位", "评价年度", "厉行节约保障措施")

# Money cells where a negative figure is legitimate (a budget cut).
MAY_BE_NEGATIVE = frozenset({"本年追加预算"})


def money_names() -> tuple[str, ...]:
    items = MONEY_ITEMS + PROJECT_DETAIL_ITEMS
    return tuple(f"{item}_{period}" for item in items for period in PERIODS) + SUPPLEMENT + BUILDINGS_MONEY


def self_score_name(key: str) -> str:
    return f"自评_{key}"


def score_name(key: str) -> str:
    return f"得分_{key}"


def value_name(key: str) -> str:
    return f"计算值_{key}"


def note_name(key: str) -> str:
    return f"扣分说明_{key}"


NUMBER_INPUTS = money_names() + BUILDINGS_AREA + HEADCOUNT + (COUNT_INPUT,) + POINTS_INPUTS
SELF_SCORES = tuple(self_score_name(k) for k in KEYS)
INPUT_NAMES = NUMBER_INPUTS + YES_NO + (GRADE_INPUT, PERCENT_INPUT) + SELF_SCORES + TEXT_INPUTS

TOTAL = "总分"
GRADE = "等级"
SELF_TOTAL = "自评总分"
STATUS = "校验状态"
RULES_TABLE = "评分规则表"  # the rule rows, header excluded
RESULTS_TABLE = "校验结果表"  # first cell of the findings table, header excluded

OUTPUT_NAMES = (
    tuple(value_name(k) for k in KEYS)
    + tuple(score_name(k) for k in KEYS)
    + tuple(note_name(k) for k in KEYS)
    + (TOTAL, GRADE, SELF_TOTAL, STATUS)
)

# A workbook without these cannot be scored at all (exit 2).
REQUIRED_NAMES = INPUT_NAMES + OUTPUT_NAMES + (RULES_TABLE, RESULTS_TABLE)

FINDING_COLUMNS = ("序号", "级别", "工作表", "单元格", "名称", "说明")
