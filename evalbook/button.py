"""The Python side of the ribbon buttons (called through xlwings' RunPython).

Each function finds the workbook that called it, runs the same service as `evalbook score`, and
tells the accountant what happened in the workbook itself (status cell, 校验结果) or in a message
box when the workbook cannot be used at all.  Whatever goes wrong, the accountant sees one
Chinese sentence, never a Python traceback: workbooks in departments' hands call these by name
(`evalbook.button.score()`), so this module keeps its name and its functions.
"""

from __future__ import annotations

import functools
import os

import xlwings as xw

from evalbook.core.errors import EvalbookError
from evalbook.workbook import contract as C
from evalbook.workbook import service
from evalbook.adapters.add_fund import add_fund_to_live
from evalbook.adapters.live import LiveBook

TITLE = "绩效评价"
_start_file = getattr(os, "startfile", None)  # Windows: open a file with its program (the browser)

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
    except Exception:  # noqa: BLE001 - no alert on this platform: the status cell still says it
        pass


def _status(book, message: str) -> None:
    """The same sentence in the workbook's 校验状态 cell, where it stays after the box is closed."""
    try:
        book.names[C.STATUS].refers_to_range.value = message
    except Exception:  # noqa: BLE001 - a workbook without the cell has only the message box
        pass


def _button(action: str):
    """Every button: a refusal or an unexpected failure becomes an alert and a status line."""

    def wrap(f):
        @functools.wraps(f)
        def run() -> None:
            live = xw.Book.caller()
            try:
                f(live)
            except EvalbookError as exc:
                message = f"无法{action}：{exc}"
                _alert(live, message)
                _status(live, message)
            except Exception as exc:  # noqa: BLE001 - an accountant must never see a traceback
                if os.environ.get("EVALBOOK_DEBUG"):
                    raise
                message = (f"{action}时发生意外错误（{type(exc).__name__}），工作簿中已填写的数据未被改动；"
                           f"请保存后把该文件发给技术支持")
                _alert(live, message)
                _status(live, message)

        del run.__wrapped__  # RunPython calls these without arguments; so must their signature say
        return run

    return wrap


@_button("校验")
def score(live) -> None:
    """校验并评分."""
    book = LiveBook(live)
    service.score_book(book)
    book.flush()
    if not book.indexed:  # an older workbook, or one changed since: the next click is quick again
        book.rewrite_index(service.template_spans(book))


@_button("清除")
def clear(live) -> None:
    """清除标记: empties 校验结果, which switches every red mark off; data cells are untouched."""
    book = LiveBook(live)
    service.clear_marks(book)
    book.flush()


@_button("新增专项资金")
def add_fund(live) -> None:
    """新增专项资金: one more fund sheet, copied from the first."""
    n = add_fund_to_live(live)
    _alert(live, f"已新增“专项资金自评表{n}”，请填写后点击“校验并评分”。")


def open_help() -> bool:
    """The README's section installed with the package (`template/help_zh.html`, made by
    `python -m evalbook.build`), opened in the PC's browser; False where that cannot be done."""
    from importlib import resources

    page = resources.files("evalbook.template").joinpath("help_zh.html")
    if _start_file is None or not page.is_file():
        return False
    try:
        _start_file(str(page))
    except OSError:
        return False
    return True


@_button("显示使用说明")
def show_help(live) -> None:
    if not open_help():
        _alert(live, HELP_TEXT)
