"""argparse in Chinese: its own usage, help and error texts through the gettext hook it has.

argparse looks every text up through its module-level `_` (gettext) when it builds a parser,
formats help or reports an error.  `chinese()` puts a catalogue of Chinese texts behind that
hook for as long as the `with` block runs, exactly what an installed .mo catalogue would do;
a text the catalogue lacks stays argparse's own.  `Parser` runs all of its work inside it.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from evalbook.core.errors import EXIT_UNUSABLE

CATALOGUE = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "optional arguments": "选项",  # Python before 3.10
    "show this help message and exit": "显示本帮助并退出",
    "show program's version number and exit": "显示版本号并退出",
    "the following arguments are required: %s": "缺少必需的参数：%s",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的选择：%(value)r（可选：%(choices)s）",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "expected one argument": "需要一个值",
    "expected at least one argument": "至少需要一个值",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "invalid %(type)s value: %(value)r": "无效的%(type)s值：%(value)r",
    "ambiguous option: %(option)s could match %(matches)s": "选项 %(option)s 有歧义，可能是：%(matches)s",
    "one of the arguments %s is required": "必须给出以下参数之一：%s",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "ignored explicit argument %r": "忽略了多余的值 %r",
}


def translate(message: str) -> str:
    return CATALOGUE.get(message, message)


@contextlib.contextmanager
def chinese():
    saved = argparse._
    argparse._ = translate
    try:
        yield
    finally:
        argparse._ = saved


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that speaks Chinese; a usage error is one Chinese line and exit 2."""

    def __init__(self, *args, **kwargs):
        with chinese():
            super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        with chinese():
            return super().add_argument(*args, **kwargs)

    def add_subparsers(self, **kwargs):
        with chinese():
            return super().add_subparsers(**kwargs)

    def parse_args(self, args=None, namespace=None):
        with chinese():
            return super().parse_args(args, namespace)

    def parse_known_args(self, args=None, namespace=None):
        with chinese():
            return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        with chinese():
            return super().format_usage()

    def format_help(self) -> str:
        with chinese():
            return super().format_help()

    def error(self, message: str) -> None:
        self.print_usage(sys.stderr)
        print(f"{self.prog}: 参数有误：{message}", file=sys.stderr)
        sys.exit(EXIT_UNUSABLE)
