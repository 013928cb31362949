"""The 基础数据表 every department fills in: its items, their kinds, and the sums they must keep.

These names are fixed for every framework (a framework adds its own inputs beside them), so the
engine, the template and the names contract all read them from here.
"""

from __future__ import annotations

# 类型 of an input, as a framework's 基础数据项 sheet names them
MONEY = "金额"  # 万元
HEADCOUNT_KIND = "人数"
NUMBER = "数值"
PERCENT = "百分比"
COUNT = "计数"
YES_NO = "是否"
CHOICE = "选项"
TYPED = "录入"
TEXT = "文字"
KINDS = (MONEY, HEADCOUNT_KIND, NUMBER, PERCENT, COUNT, YES_NO, CHOICE, TYPED)
WHOLE_KINDS = (HEADCOUNT_KIND, COUNT)  # must be whole numbers

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
TEXT_INPUTS = ("填报单位", "评价年度", "厉行节约保障措施")

# Money cells where a negative figure is legitimate (a budget cut).
MAY_BE_NEGATIVE = frozenset({"本年追加预算"})

# total = sum of parts, checked in every column
SUM_RULES = (
    ("三公经费", ("公务用车经费", "出国经费", "公务接待")),
    ("公务用车经费", ("公车购置", "公车运行维护")),
    ("公用经费", ("办公经费", "水电差旅费", "会议培训费", "其他公用经费")),
)


def default_audit_rows() -> list[dict[str, str]]:
    """审核规则 rows for SUM_RULES in every column: what a framework without its own keeps."""
    return [
        {"左式": f"{total}_{period}", "关系": "=", "右式": "+".join(f"{p}_{period}" for p in parts),
         "容差": "0.01", "级别": "错误", "说明": f"{total}应等于{'、'.join(parts)}之和（{period}）"}
        for total, parts in SUM_RULES for period in PERIODS
    ]


def money_names() -> tuple[str, ...]:
    items = MONEY_ITEMS + PROJECT_DETAIL_ITEMS
    return tuple(f"{item}_{period}" for item in items for period in PERIODS) + SUPPLEMENT + BUILDINGS_MONEY


def basic_kinds() -> dict[str, str]:
    """Defined name → 类型 of every number on the 基础数据表, in sheet order."""
    kinds = {name: MONEY for name in money_names()}
    kinds.update({name: NUMBER for name in BUILDINGS_AREA})
    kinds.update({name: HEADCOUNT_KIND for name in HEADCOUNT})
    return kinds
