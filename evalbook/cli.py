"""The `evalbook` command: score, check and create workbooks without Excel.

Exit codes: 0 scored cleanly; 1 scored, with 错误 findings; 2 the file is unusable.
Every failure is one Chinese line on stderr, never a traceback (set EVALBOOK_DEBUG=1 to see one),
with control characters (a newline in a file name, an escape sequence) shown escaped, and it
never says "文件未被改动" about a file this run has written.  A closed stdout (`| head -1`)
loses only the rest of the report, never the run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from evalbook import __version__, framework_commands
from evalbook.bureau import batch
from evalbook.install import bundle, doctor
from evalbook.cliargs import Parser
from evalbook.core.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_UNUSABLE, EvalbookError, FrameworkInvalid
from evalbook.core.textsafe import terminal_lines, terminal_safe


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="evalbook", description="部门整体支出绩效评价：校验基础数据并按评分规则计分",
                    epilog="退出码：0 评分完成；1 评分完成但有“错误”；2 文件无法使用。")
    parser.add_argument("--version", action="version", version=f"evalbook {__version__}", help="显示版本号并退出")
    sub = parser.add_subparsers(dest="command", required=True, metavar="命令", help="要执行的命令，见下表")

    score = sub.add_parser("score", help="校验并评分，把得分、扣分说明和校验结果写回工作簿",
                           description="校验并评分；默认写回原文件，-o 另存为新文件。")
    score.add_argument("book", metavar="工作簿", help="要评分的工作簿（.xlsm/.xlsx）")
    score.add_argument("-o", "--output", metavar="另存为",
                       help="另存为此文件（默认写回原文件）：.xlsx 为不含宏的副本（可发给主管部门、在WPS中打开），"
                            ".xlsm 为带“绩效评价”按钮的启用宏工作簿")
    score.add_argument("--force", action="store_true", help="-o 指定的文件已存在时覆盖")
    score.add_argument("--json", action="store_true", help="在标准输出打印JSON结果")

    check = sub.add_parser("check", help="只校验，不写入任何文件", description="只校验并计算得分，不写入任何文件。")
    check.add_argument("book", metavar="工作簿", help="要校验的工作簿（.xlsm/.xlsx）")
    check.add_argument("--json", action="store_true", help="在标准输出打印JSON结果")

    new = sub.add_parser("new", help="生成一份新的空白模板",
                         description="生成一份新的空白评价模板：.xlsm 带“绩效评价”按钮（需要Python），"
                                     ".xlsx 不含宏，只用公式计分（供没有Python或使用WPS的单位）。")
    new.add_argument("output", metavar="新文件", help="新文件路径（.xlsm 或 .xlsx）")
    new.add_argument("--force", action="store_true", help="目标已存在时覆盖")
    new.add_argument("--framework", metavar="框架.xlsx", help="按此指标框架生成模板（默认为内置的衡山县2020框架）")

    add = sub.add_parser("add-fund", help="新增一张专项资金自评表（复制第一张的格式，内容为空）",
                         description="新增一张专项资金自评表（复制第一张的格式，内容为空）。")
    add.add_argument("book", metavar="工作簿", help="要新增专项资金的工作簿（.xlsm/.xlsx）")
    add.add_argument("-o", "--output", metavar="另存为", help="另存为此文件（默认写回原文件；.xlsx 或 .xlsm）")

    framework_commands.register(sub)
    batch.register(sub)
    merge = sub.add_parser(
        "merge", help="合并多份批量汇总表（如各县分别运行batch的结果），重新排名",
        description="把多份由 evalbook batch 生成的汇总表合并为一份，重新排名并重算图表。")
    merge.add_argument("inputs", nargs="+", metavar="汇总表", help="evalbook batch 生成的汇总表，或其所在文件夹")
    merge.add_argument("-o", "--output", required=True, metavar="合并汇总.xlsx", help="合并结果保存为此文件（.xlsx）")
    merge.add_argument("--csv", metavar="文件夹", default=None,
                       help="另把合并结果写成CSV表格（与 batch --csv 相同的六张表）保存到此文件夹")
    merge.set_defaults(handler=_cmd_merge)
    bundle.register(sub)
    doctor.register(sub)
    return parser


def _cmd_merge(args) -> int:
    from .bureau.merge import cmd_merge  # openpyxl is needed only here, not by `evalbook score`

    return cmd_merge(args)


def main(argv: list[str] | None = None) -> int:
    from .adapters.package import written_files

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="replace")
        except (AttributeError, ValueError):
            pass
    before = len(written_files())
    real_stdout = sys.stdout
    sys.stdout = out = SafeOutput(real_stdout)
    try:
        code = _run(argv, lambda: written_files()[before:])
    finally:
        sys.stdout = real_stdout
    if out.lost:
        written = written_files()[before:]
        note = f"；已写入：{written[-1]}" if written else ""
        say_error(f"标准输出已关闭（例如管道另一端已退出），其余结果未显示{note}")
    return code


def _run(argv: list[str] | None, written) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args) if hasattr(args, "handler") else _dispatch(args)
    except FrameworkInvalid as exc:
        framework_commands.print_problems(exc)
        return EXIT_UNUSABLE
    except EvalbookError as exc:
        say_error(str(exc))
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        done = written()
        say_error(f"已中断；“{done[-1].name}”此前已写入完成" if done else "已中断，文件未被改动")
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug of ours must still not show a traceback to an accountant
        if os.environ.get("EVALBOOK_DEBUG"):
            raise
        book = getattr(args, "book", None) or getattr(args, "output", None) or ""
        done = written()
        state = f"“{done[-1].name}”已写入完成" if done else "文件未被改动"
        say_error(f"处理“{Path(str(book)).name}”时发生意外错误（{type(exc).__name__}），{state}；"
                  f"请把该文件发给技术支持")
        return EXIT_UNUSABLE


def say_error(message: str) -> None:
    try:
        print(f"evalbook: {terminal_safe(message)}", file=sys.stderr)
    except (OSError, ValueError):  # stderr gone too: the exit code is all that is left
        pass


class SafeOutput:
    """stdout for the commands: control characters escaped, and a reader that went away (a closed
    pipe) ends the report quietly instead of the run; `lost` says it happened."""

    def __init__(self, stream):
        self._stream = stream
        self.lost = False

    def write(self, text: str) -> int:
        if self.lost:
            return len(text)
        try:
            return self._stream.write(terminal_lines(text))
        except (BrokenPipeError, ConnectionResetError, OSError, ValueError):
            self._gone()
            return len(text)

    def flush(self) -> None:
        if self.lost:
            return
        try:
            self._stream.flush()
        except (BrokenPipeError, ConnectionResetError, OSError, ValueError):
            self._gone()

    def _gone(self) -> None:
        self.lost = True
        # what is still buffered would fail again when Python exits: send it nowhere instead
        try:
            fd = self._stream.fileno()
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)
        except (AttributeError, OSError, ValueError):
            pass

    def isatty(self) -> bool:
        try:
            return self._stream.isatty()
        except (AttributeError, ValueError, OSError):
            return False

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _dispatch(args) -> int:
    if args.command == "score":
        return cmd_score(args)
    if args.command == "check":
        return cmd_check(args)
    if args.command == "new":
        return cmd_new(args)
    if args.command == "add-fund":
        return cmd_add_fund(args)
    raise AssertionError(args.command)


def cmd_score(args) -> int:
    from .adapters.package import check_target_name, writable_check, write_lock
    from .adapters.workbook_kind import kind_for
    from .adapters.xlsx import XlsxBook
    from .build.macros import TemplateMacros
    from .workbook.service import exit_code, score_book

    if args.output:
        target = check_target_name(Path(args.output))
        if target.exists():
            writable_check(target)  # a device or a folder is refused as such, not as "already there"
        kind_for(target)  # refused before the book is even read (in place: by the save)
    if args.output and not args.force:
        target = Path(args.output)
        if target.exists() and not _same_file(target, Path(args.book)):
            raise EvalbookError(f"文件“{target.name}”已存在；如需覆盖请加 --force（不加 -o 则写回原文件）")
    # held from the read to the replace: a second evalbook on this file waits, then scores the
    # file as the first one saved it, so neither run's result is lost
    with write_lock(Path(args.output or args.book), required=False), XlsxBook(args.book) as book:
        evaluation = score_book(book)
        target = book.save(args.output, macros=TemplateMacros())
    _report(evaluation, args.json, written=target)
    return exit_code(evaluation)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def cmd_check(args) -> int:
    from .adapters.xlsx import XlsxBook
    from .workbook.service import exit_code, read_evaluation

    with XlsxBook(args.book) as book:
        evaluation = read_evaluation(book)
    _report(evaluation, args.json, written=None)
    return exit_code(evaluation)


def cmd_new(args) -> int:
    from .build.template import build_template_bytes

    from .adapters.package import check_target_name
    from .adapters.workbook_kind import XLSX, kind_for

    kind = kind_for(Path(args.output))
    target = check_target_name(Path(args.output))
    if target.exists() and not args.force:
        raise EvalbookError(f"文件“{target.name}”已存在；如需覆盖请加 --force")
    framework = framework_commands.framework_for_new(args.framework)  # checked whole before anything is written
    write_atomically(target, build_template_bytes(framework=framework, kind=kind))
    what = "不含宏的空白模板（只用公式计分）" if kind == XLSX else "空白模板"
    print(f"已生成{what}：{target}")
    return EXIT_OK


def cmd_add_fund(args) -> int:
    from evalbook.adapters.add_fund import add_fund_to_file
    from evalbook.adapters.package import check_target_name, write_lock
    from evalbook.adapters.workbook_kind import kind_for
    from evalbook.build.macros import TemplateMacros

    if args.output:  # in place a .xlsx stays a .xlsx: the name says what it is (checked by the save)
        kind_for(Path(args.output))
        check_target_name(Path(args.output))
    with write_lock(Path(args.output or args.book), required=False):  # see cmd_score
        n = add_fund_to_file(args.book, args.output, macros=TemplateMacros())
    print(f"已新增“专项资金自评表{n}”（定义名称 专项{n}_…）：{args.output or args.book}")
    return EXIT_OK


def write_atomically(target: Path, data: bytes) -> Path:
    from .adapters.package import atomic_write_bytes

    return atomic_write_bytes(target, data)


def _report(evaluation, as_json: bool, written) -> None:
    from evalbook.core.textsafe import json_terminal_safe, terminal_safe as t

    if as_json:
        from .workbook.serialise import evaluation_json

        document = json.dumps(evaluation_json(evaluation), ensure_ascii=False, indent=1)
        sys.stdout.write(json_terminal_safe(document) + "\n")
        return
    from evalbook.core.numbers import fmt_score

    # every value below may hold a department's text: shown escaped, never obeyed by the terminal
    unit = evaluation.unit or "（未填报单位）"
    print(f"{t(unit)}  部门整体支出绩效评价")
    for r in evaluation.indicators:
        score = "待补充" if r.score is None else fmt_score(r.score)
        weight = "" if r.weight is None else fmt_score(r.weight)
        print(f"  {t(r.key):<10}\t{score:>6} / {weight:<3}\t{t(r.explanation)}")
    total = evaluation.total
    print(f"总分：{'待补充' if total is None else fmt_score(total)}  等级：{t(evaluation.grade or '待补充')}")
    funds = evaluation.funds
    if funds is not None and funds.results:
        print("专项资金：")
        for r in funds.results:
            score = "待补充" if r.total is None else fmt_score(r.total)
            print(f"  专项{r.number} {t(r.name or '（未填名称）')}\t{score}（{t(r.grade or '待补充')}）")
        s = funds.summary
        print(f"  汇总：{'待补充' if s.score is None else fmt_score(s.score)}（{t(s.grade or '待补充')}）")
    print(f"错误{evaluation.errors}项，提示{evaluation.hints}项")
    for f in evaluation.findings:
        where = f"{f.sheet}!{f.cell}" if f.cell else f.sheet
        print(f"  [{t(f.severity)}] {t(where)} {t(f.message)}")
    if written is not None:
        print(f"已写入：{t(written)}")

if __name__ == "__main__":
    sys.exit(main())
