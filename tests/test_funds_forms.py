"""Fixtures (no tests here): the example funds, and a minimal fund for edge cases."""

from __future__ import annotations

from evalbook.build.example_funds import blank_rows, fill, sewage, waterworks  # noqa: F401
from evalbook.funds.model import FundInput, MoneyRow


def small_fund(number: int = 1, **money) -> FundInput:
    """A minimal complete fund: one indicator per 一级指标, every part scored in full."""
    rows = blank_rows()
    fill(rows, 1, "新增管道长度", "3000米", "3000米")
    fill(rows, 14, "供水产销率", "≥70%", "70%")
    fill(rows, 27, "服务对象满意度", "≥90%", "90%")
    fund = FundInput(
        number=number, name="测试专项", manager="张三 123", department="县住建局", implementer="县住建局",
        total=MoneyRow(100, 100), higher=MoneyRow(60, 60), county=MoneyRow(40, 40), other=MoneyRow(None, None),
        goal_planned="目标", goal_achieved="完成", indicators=rows, remarks="无", year=2020,
    )
    for key, value in money.items():
        setattr(fund, key, value)
    return fund
