"""The seed department (衡山县住房和城乡建设局, 2020) as an example workbook.

Figures are the seed's 基础数据表, typed as the text export shows them (U+3000 blanks and all),
so the example exercises the same reading an accountant's workbook gets.  What the seed does not
give is assumed, and each assumed cell carries a comment saying so.
"""

from __future__ import annotations

from evalbook.department.framework import seed_framework

U = "\u3000"

SEED_VALUES: dict[str, object] = {
    "填报单位": "衡山县住房和城乡建设局",
    "评价年度": 2020,
    "三公经费_上年决算": f"14.73{U}", "三公经费_本年预算": f"{U}37", "三公经费_本年决算": f"5.52{U}",
    "公务用车经费_上年决算": f"{U}14.17", "公务用车经费_本年预算": f"{U}18", "公务用车经费_本年决算": f"{U}4.51",
    "公车购置_上年决算": U, "公车购置_本年预算": U, "公车购置_本年决算": U,
    "公车运行维护_上年决算": f"{U}14.17", "公车运行维护_本年预算": f"18{U}", "公车运行维护_本年决算": f"{U}4.51",
    "出国经费_上年决算": U, "出国经费_本年预算": U, "出国经费_本年决算": U,
    "公务接待_上年决算": f"0.56{U}", "公务接待_本年预算": f"19{U}", "公务接待_本年决算": f"1.01{U}",
    "项目支出_上年决算": 3205.21, "项目支出_本年预算": 1669.89, "项目支出_本年决算": 4129.78,
    "业务工作专项_上年决算": 3205.21, "业务工作专项_本年预算": f"1669.89{U}", "业务工作专项_本年决算": f"4129.78{U}",
    "公用经费_上年决算": 219.34, "公用经费_本年预算": f"124.4{U}", "公用经费_本年决算": f"{U}154.98",
    "办公经费_上年决算": 55.16, "办公经费_本年预算": f"{U}40", "办公经费_本年决算": f"23.6{U}",
    "水电差旅费_上年决算": f"13.81{U}", "水电差旅费_本年预算": f"{U}7.4", "水电差旅费_本年决算": f"9.33{U}",
    "会议培训费_上年决算": 0.47, "会议培训费_本年预算": f"{U}2", "会议培训费_本年决算": f"0.42{U}",
    "其他公用经费_上年决算": 149.9, "其他公用经费_本年预算": 75, "其他公用经费_本年决算": 121.63,
    "政府采购_上年决算": "——", "政府采购_本年预算": f"245{U}", "政府采购_本年决算": f"528.91{U}",
    "基本支出预算调整_上年决算": "——",
    "厉行节约保障措施": "严格执行中央八项规定精神和厉行节约有关制度，压减一般性支出。",
    # 编制数 from the report: 机关行政编制13名 + 后勤服务全额拨款事业编制8名
    "编制数": 21,
    # from the report's 收支决算总体情况: 上年结转和结余1344.63, 收入10364.65, 年末结转和结余6274.16
    "上年结转": 1344.63, "年末结余": 6274.16,
    "管理制度_1": "是", "管理制度_2": "是", "管理制度_3": "是", "管理制度_4": "是",
    "信息公开_1": "是", "信息公开_2": "是", "信息公开_3": "是", "信息公开_4": "是", "信息公开_5": "是",
    "违规事项数": 0, "效益得分": 10, "行政效能": "好",
}

# Not in the seed: plausible figures, marked in the workbook as assumed.
ASSUMED: dict[str, tuple[object, str]] = {
    "实际在职人数": (20, "假设数据：原表未填实际在职人数。"),
    "三公经费_上年预算": (36, "假设数据：原表未列上年“三公经费”预算数。"),
    "年初预算": (8300, "假设数据：报告只给出全年收入10364.65万元，此处假设其中年初预算8300万元。"),
    "本年追加预算": (2064.65, "假设数据：全年收入10364.65万元减去假设的年初预算8300万元。"),
    "重点工作考核得分": (95, "假设数据：绩效办考核得分。"),
    "重点工作考核总分": (100, "假设数据：绩效办考核该部分总分。"),
    "满意度": (0.92, "假设数据：满意度调查结果。"),
}

# The seed's own 自评 column (it summed its 8/8 for 公用经费控制率 without checking the data).
SELF_SCORES = dict(zip(seed_framework().keys, (5, 3.5, 1, 2, 5, 5, 8, 7, 6, 8, 6, 5, 8, 10, 6, 6)))


def example_values() -> tuple[dict[str, object], dict[str, str]]:
    values = dict(SEED_VALUES)
    comments = {}
    for name, (value, why) in ASSUMED.items():
        values[name] = value
        comments[name] = why
    for key, score in SELF_SCORES.items():
        values[f"自评_{key}"] = score
    return values, comments


# A department scored under the example framework (examples/示例框架.xlsx): made-up figures, each
# chosen so its indicator lands on a different band or step (worked out in tests/test_framework_book.py).
FRAMEWORK_EXAMPLE_VALUES: dict[str, object] = {
    "填报单位": "示例部门（虚构数据）", "评价年度": 2021,
    "编制数": 30, "实际在职人数": 31,
    "三公经费_上年预算": 20, "三公经费_本年预算": 19, "三公经费_本年决算": 17,
    "公务用车经费_本年决算": 10, "出国经费_本年决算": "——", "公务接待_本年决算": 7,
    "重点项目支出": 850, "项目支出_本年决算": 1000,
    "年初预算": 1000, "本年追加预算": 150, "上年结转": 100, "年末结余": 50,
    "支付进度滞后专项数": 2,
    "公用经费_本年预算": 100, "公用经费_本年决算": 102.5,
    "政府采购_本年预算": 200, "政府采购_本年决算": 190,
    "管理制度_1": "是", "管理制度_2": "是", "管理制度_3": "否", "管理制度_4": "是",
    "在用固定资产原值": 880, "固定资产原值": 1000,
    "信息公开_1": "是", "信息公开_2": "是", "信息公开_3": "是",
    "重点工作考核得分": 90, "重点工作考核总分": 100, "效益得分": 8, "行政效能": "一般", "满意度": 0.9,
}


def example_framework():
    """The example framework, from its text source beside this module."""
    import tomllib
    from importlib import resources

    from evalbook.department.framework import load_framework, sections_from_data

    data = resources.files("evalbook.build").joinpath("example_framework.toml").read_text(encoding="utf-8")
    return load_framework(sections_from_data(tomllib.loads(data)), "example_framework.toml")
