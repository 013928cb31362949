"""Two of 衡山县住建局's special funds, filled in on the seed's blank 县级专项资金绩效目标自评表.

Facts from the seed report: 湘江水厂 — 新增、改造ＤＮ110以上管道3842米, 新增用户2005户, 产销率64％,
设备完好率99％, 全年供水总产量1008万吨, 在15天内更换爆管; 乡镇污水处理 — 17个站点主体已完工,
白果镇、长江镇正在设备调试准备通水, 城镇污水处理率达96%（省定目标70%）.  Money figures are
assumed (the seed gives none per fund).  Cells are written the way accountants type them: U+3000
blanks, full-width digits, thousands separators, percent-formatted number cells.  The tests use
these funds as known answers, and the example workbook carries them.
"""

from __future__ import annotations

import datetime as dt

from ..funds import names as N
from ..funds.model import FundInput, IndicatorRow, MoneyRow
from ..funds.names import INDICATOR_LAYOUT

# How the seed prints the 一级/二级 labels; the template prefills them row by row.
_LEVEL1_PRINTED = {"产出": "产   出   指   标", "效益": "效益   指标", "满意度": "满意度指标"}


def blank_rows() -> list[IndicatorRow]:
    """The seed form's 30 indicator rows, labels prefilled, nothing typed."""
    return [
        IndicatorRow(level1=_LEVEL1_PRINTED[l1], level2=(l2 + "指标") if l2 else "……")
        for l1, l2 in INDICATOR_LAYOUT
    ]


def fill(rows: list[IndicatorRow], k: int, name, target, actual, reason=None, *, points=None, tier=None):
    row = rows[k - 1]
    row.name, row.target, row.actual, row.reason, row.points, row.tier = name, target, actual, reason, points, tier


def waterworks(number: int = 1) -> FundInput:
    rows = blank_rows()
    # 产出指标 50 points, 8 indicators → 6.25 each
    fill(rows, 1, "新增管道长度", "3000米", "3842米")
    fill(rows, 2, "新增供水用户", "≥2000户", "2005户")
    fill(rows, 3, "主体构筑物完工数", "7个", "6个", "工艺管道安装尚在收尾，2021年一季度完成")
    fill(rows, 4, "水质综合合格率", "100%", 1.0)  # a percent-formatted cell holds 1.0
    fill(rows, 5, "管网水压合格率", "≥95%", "100％")
    fill(rows, 7, "主体工程完工时间", "2020年12月底前", dt.date(2020, 12, 20))
    fill(rows, 8, "爆管抢修更换时限", "≤15天", "15天")
    fill(rows, 10, "项目总投资", "1200万元", "1,080万元")  # 成本指标 without ≤ is a ceiling
    # 效益指标 30 points, 4 indicators → 7.5 each
    fill(rows, 14, "供水产销率", "≥70%", "64%", "管网老化漏损较大，已列入2021年管网改造计划")
    fill(rows, 17, "全年供水总产量", "≥1000万吨", "1008万吨")
    fill(rows, 20, "饮用水源保护成效", "明显改善", "90%", tier="全部或基本达成预期指标")
    fill(rows, 23, "设备完好率", "≥98%", "99%")
    # 满意度指标 10 points
    fill(rows, 27, "服务对象满意度", "≥90%", "95%")
    return FundInput(
        number=number,
        name="湘江水厂提质扩容改造项目",
        manager="刘建华　0734-5812345",
        department="衡山县住房和城乡建设局",
        implementer="衡山县市政公用事业服务中心",
        total=MoneyRow("1,200.00", 1080.0),
        higher=MoneyRow("８００", 760),
        county=MoneyRow("300\u3000", "250.00"),
        other=MoneyRow(100, 70),
        goal_planned="完成湘江水厂提质扩容改造主体工程，新增、改造DN110以上供水管道3000米，水质综合合格率100%",
        goal_achieved="完成预混池、沉淀池、过滤池、后臭氧消毒池、加压间、配电间；新增、改造ＤＮ110以上管道3842米",
        indicators=rows,
        remarks="无",
        year=2020,
    )


def sewage(number: int = 2) -> FundInput:
    rows = blank_rows()
    # 产出指标 50 points, 4 indicators → 12.5 each
    fill(rows, 1, "污水处理设施主体完工站点数", "≥17个", "17个")
    fill(rows, 2, "通水运营站点数", "2个", "0个", "白果镇（长青片区）、长江镇正在设备调试，2021年上半年通水运营")
    fill(rows, 4, "主体工程验收", "合格", "合格")
    fill(rows, 7, "主体工程完工时间", "2020年底前", "已完成")
    # 效益指标 30 points, weights typed: 20 + 10
    fill(rows, 17, "乡镇人居环境改善", "明显改善", "部分达成，70%", "部分乡镇管网尚未铺设完成", points=10)
    fill(rows, 20, "城镇污水处理率", "≥70%", "96%", points="20")
    # 满意度指标 10 points
    fill(rows, 27, "服务对象满意度", "≥90%", "88%", "管网施工影响出行，加强文明施工和沟通")
    return FundInput(
        number=number,
        name="乡镇污水处理项目",
        manager="王志强　0734-5812346",
        department="衡山县住房和城乡建设局",
        implementer="衡山县住房和城乡建设局",
        total=MoneyRow(2000, 1500),
        higher=MoneyRow(1500, 1200),
        county=MoneyRow(400, 250),
        other=MoneyRow(100, 50),
        goal_planned="完成17个乡镇污水处理设施主体工程，城镇污水处理率不低于70%",
        goal_achieved="17个站点主体已完工，白果镇、长江镇设备调试中；城镇污水处理率达96%",
        indicators=rows,
        remarks="无",
        year=2020,
    )


def fund_values(fund: FundInput) -> dict[str, object]:
    """The fund as typed into its sheet, name by name (dates as the text an accountant types)."""
    n = fund.number
    values = {N.header_name(n, field): value for field, value in fund.header().items()}
    for item, row in fund.money_rows():
        values[N.money_name(n, item, N.BUDGET)] = row.budget
        values[N.money_name(n, item, N.SPENT)] = row.spent
    values[N.header_name(n, "年初设定目标")] = fund.goal_planned
    values[N.header_name(n, "全年实际完成情况")] = fund.goal_achieved
    values[N.header_name(n, N.REMARKS)] = fund.remarks
    for k, row in enumerate(fund.indicators, start=1):
        for field, value in ((N.LEVEL3, row.name), (N.TARGET, row.target), (N.ACTUAL, row.actual),
                             (N.REASON, row.reason), (N.POINTS, row.points), (N.TIER, row.tier)):
            if value is not None:
                values[N.indicator_name(n, k, field)] = (
                    value.strftime("%Y年%m月%d日") if isinstance(value, dt.date) else value)
    return values
