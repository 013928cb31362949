"""The Python side of the ribbon buttons (called through xlwings' RunPython).

Each function finds the workbook that called it, runs the same service as `evalbook score`, and
tells the accountant what happened in the workbook itself (status cell, 校验结果) or in a message
box when the workbook cannot be used at all.
"""

from __future__ import annotations

import xlwings as xw

from . import service
from .adapters.base import WorkbookUnusable
from .adapters.live import LiveBook

TITLE = "绩效评价"

HELP_TEXT = (
    "使用说明\n"
    "1. 在“基础数据表”的黄色单元格填写本单位数据（单位：万元），在“评分表”黄色单元格填写自评得分和评价要素。\n"
    "2. 点击“校验并评分”：蓝色单元格写入计算值、得分和扣分说明，“校验结果”列出所有错误和提示，出错的单元格标红。\n"
    "3. “错误”会使相关指标显示“待补充”，改正后再点一次即可；“提示”供核对。\n"
    "4. 评分办法不同时，修改“评分规则”表后重新校验。\n"
    "5. “清除标记”清空校验结果和红色标记，不会改动任何已填数据。"
)


def _alert(book, message: str) -> None:
    try:
        book.app.alert(message, title=TITLE)
    except Exception:  # no alert on this platform: the message still goes to the status cell
        pass


def score() -> None:
    """校验并评分."""
    live = xw.Book.caller()
    try:
        book = LiveBook(live)
        service.score_book(book)
    except WorkbookUnusable as exc:
        _alert(live, f"无法校验：{exc}")


def clear() -> None:
    """清除标记: empties 校验结果, which switches every red mark off; data cells are untouched."""
    live = xw.Book.caller()
    try:
        service.clear_marks(LiveBook(live))
    except WorkbookUnusable as exc:
        _alert(live, f"无法清除：{exc}")


def add_fund() -> None:
    """新增专项资金: one more fund sheet, copied from the first."""
    from .funds.add import add_fund_to_live

    live = xw.Book.caller()
    try:
        n = add_fund_to_live(live)
    except WorkbookUnusable as exc:
        _alert(live, f"无法新增专项资金：{exc}")
        return
    _alert(live, f"已新增“专项资金自评表{n}”，请填写后点击“校验并评分”。")


def show_help() -> None:
    _alert(xw.Book.caller(), HELP_TEXT)
