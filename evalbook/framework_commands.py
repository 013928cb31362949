"""`evalbook framework export|check` and `evalbook new --framework`: a bureau's own table."""

from __future__ import annotations

import sys
from pathlib import Path

from evalbook.core.errors import EXIT_OK, EvalbookError
from evalbook.core.textsafe import terminal_safe


def register(subparsers) -> None:
    framework = subparsers.add_parser(
        "framework", help="指标框架：导出为可在Excel中编辑的工作簿，或检查一份框架工作簿",
        description="指标框架是一份工作簿（评分规则、基础数据项、审核规则、等级、说明），财政局可在Excel中编写本地的评分办法。")
    actions = framework.add_subparsers(dest="action", required=True, metavar="操作", help="export 导出，check 检查")
    export = actions.add_parser("export", help="导出内置（衡山县2020）框架，或某个工作簿所用的框架")
    export.add_argument("book", nargs="?", help="可选：由 evalbook 模板生成的工作簿，导出它记录的框架")
    export.add_argument("-o", "--output", required=True, metavar="框架.xlsx", help="导出到此文件（.xlsx）")
    export.add_argument("--force", action="store_true", help="目标已存在时覆盖")
    export.set_defaults(handler=cmd_export)
    check = actions.add_parser("check", help="检查框架工作簿，列出每个问题所在的工作表和单元格，不写入任何文件")
    check.add_argument("framework", metavar="框架.xlsx", help="要检查的框架工作簿")
    check.set_defaults(handler=cmd_check)


def cmd_export(args) -> int:
    from evalbook.adapters.framework_book import write_framework_book
    from evalbook.department.framework import seed_framework

    target = Path(args.output)
    if target.exists() and not args.force:
        raise EvalbookError(f"文件“{terminal_safe(target.name)}”已存在；如需覆盖请加 --force")
    if args.book:
        from evalbook.adapters.xlsx import XlsxBook
        from evalbook.workbook.service import framework_of

        with XlsxBook(args.book) as book:
            framework = framework_of(book)
    else:
        framework = seed_framework()
    written = write_framework_book(framework, target)
    print(f"已导出指标框架“{terminal_safe(framework.name)}”（{len(framework.indicators)}项指标）：{terminal_safe(str(written))}")
    return EXIT_OK


def cmd_check(args) -> int:
    from evalbook.adapters.framework_book import read_framework_book

    framework = read_framework_book(args.framework)
    total = sum(i.weight for i in framework.indicators)
    print(f"指标框架“{terminal_safe(framework.name)}”可以使用：{len(framework.indicators)}项指标，"
          f"分值合计{total}分，{len(framework.declared())}项新增输入，{len(framework.audits)}条审核规则，"
          f"指纹{framework.fingerprint}")
    return EXIT_OK


def framework_for_new(path: str | None):
    """The framework `evalbook new --framework` builds from (the seed's without one)."""
    if not path:
        return None
    from evalbook.adapters.framework_book import read_framework_book

    return read_framework_book(path)


def print_problems(exc) -> None:
    print(f"evalbook: {terminal_safe(str(exc))}，模板未生成/未改动：", file=sys.stderr)
    for problem in exc.problems:
        print(f"  - {terminal_safe(problem)}", file=sys.stderr)
