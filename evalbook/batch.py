"""`evalbook batch`: score every department's workbook in folders, read-only, into one 汇总.xlsx.

Each file is scored exactly as `evalbook check` would (its own 评分规则, the same engine) by a
pool of worker processes.  Workers open files read-only and return small plain dicts; the parent
spills them to disk as they arrive and writes the summary at the end, so neither memory nor the
input files change with the size of the batch.  One bad file only adds a row to 无法读取.

Exit codes: 0 every file read and none has 错误; 1 some have 错误; 2 some could not be read (or
nothing could be done at all).
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

from evalbook.core.errors import WorkbookUnusable
from evalbook.core.textsafe import terminal_safe

EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls")  # .xls is listed so an old-format file is reported, not missed
_GLOB_CHARS = set("*?[")


class Task(NamedTuple):
    path: str  # as opened
    name: str  # as shown in the summary: relative to the folder given, with that folder's name
    problem: str | None = None  # why it is not to be opened at all (see `unopenable`)


# ---- the command ------------------------------------------------------------------------------


def register(subparsers) -> None:
    batch = subparsers.add_parser(
        "batch", help="批量评分：读取文件夹中所有部门的工作簿（不改动任何文件），生成一份汇总表",
        description="对文件夹（含子文件夹）中所有.xlsm/.xlsx工作簿按各自的评分规则评分，输入文件只读不写；"
                    "结果写入一份汇总工作簿（汇总、图表、问题清单、无法读取）。")
    batch.add_argument("inputs", nargs="+", metavar="文件夹或文件", help="部门工作簿所在的文件夹，或工作簿文件")
    batch.add_argument("-o", "--output", required=True, metavar="汇总.xlsx", help="汇总结果保存为此文件（.xlsx）")
    batch.add_argument("--jobs", type=_positive, default=None, metavar="N",
                       help="并行进程数（默认为本机CPU核数）")
    batch.set_defaults(handler=cmd_batch)


def _positive(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{text}”不是整数") from None
    if value < 1:
        raise argparse.ArgumentTypeError("进程数至少为1")
    return value


def cmd_batch(args) -> int:
    target = check_output(args.output)
    tasks = discover(args.inputs, target)
    check_writable(target)
    jobs = args.jobs or default_jobs()
    progress = Progress(len(tasks), sys.stderr)
    tally = run_batch(tasks, target, jobs, progress.advance, progress.writing)
    progress.close()
    print(f"{tally.line()}；汇总已写入：{terminal_safe(target)}")
    if tally.unreadable:
        return EXIT_UNUSABLE
    return EXIT_FINDINGS if tally.with_errors else EXIT_OK


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_batch(tasks: list[Task], target: Path, jobs: int, on_result: Callable[[dict], None] | None = None,
              on_writing: Callable[[], None] | None = None):
    """Score `tasks` and write the summary to `target`; returns the Tally."""
    from .summary import Collector, write_summary

    with tempfile.TemporaryDirectory(prefix="evalbook-batch-") as spill:
        collector = Collector(spill)
        try:
            for result in score_all(tasks, jobs):
                collector.add(result)
                if on_result is not None:
                    on_result(result)
            if on_writing is not None:
                on_writing()
            write_summary(target, collector)
            return collector.tally
        finally:
            collector.close()


# ---- finding the files ------------------------------------------------------------------------


def check_output(output: str) -> Path:
    """The output's name and folder make sense (before any file is read)."""
    target = Path(output)
    if target.suffix.lower() != ".xlsx":
        raise WorkbookUnusable(f"汇总结果请保存为.xlsx文件（而不是“{target.name}”）")
    if target.is_dir():
        raise WorkbookUnusable(f"“{target}”是文件夹；请给出汇总文件名，如 {target / '汇总.xlsx'}")
    if not target.parent.is_dir():
        raise WorkbookUnusable(f"保存汇总的文件夹“{target.parent}”不存在")
    return target


def check_writable(target: Path) -> None:
    """Not open in Excel, not read-only, folder writable; after `discover` so that "it is one of
    the inputs" is what a user hears first."""
    from .adapters.package import writable_check

    writable_check(target)


def skipped_name(name: str) -> bool:
    """Excel's lock files (~$name) and hidden or temporary files are never departments' workbooks."""
    return name.startswith(("~$", "."))


def _hidden_on_windows(entry: os.DirEntry) -> bool:
    if os.name != "nt":
        return False
    try:
        attributes = getattr(entry.stat(follow_symlinks=False), "st_file_attributes", 0)
    except OSError:
        return False
    return bool(attributes & 0x2)  # FILE_ATTRIBUTE_HIDDEN


def _inside(path: str, root: str) -> bool:
    path, root = os.path.normcase(path), os.path.normcase(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def unopenable(path: Path, root: str | None = None) -> str | None:
    """Why `path` must not be opened at all, or None; never opens it, never raises.

    A link is followed only to a regular file that exists and, for a file found in a scanned
    folder (`root`), lies inside that folder: a link planted in a department's folder must not make
    the bureau's batch read whatever it points at.  Pipes and devices would block or never end."""
    from .adapters.package import describe_os_error

    name = path.name
    try:
        link = path.is_symlink()
    except OSError as exc:
        return f"无法读取“{name}”（{describe_os_error(exc)}）"
    if link:
        try:
            real = os.path.realpath(path, strict=True)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return f"“{name}”是循环指向自身的链接（快捷方式），无法打开"
            if exc.errno == errno.ENOENT:
                return f"“{name}”是链接（快捷方式），但它指向的文件已不存在"
            return f"“{name}”是链接（快捷方式），无法读取它指向的文件（{describe_os_error(exc)}）"
        if root is not None and not _inside(real, root):
            return (f"“{name}”是指向所选文件夹以外的文件的链接（快捷方式），为安全起见未读取；"
                    f"如需评分，请把该工作簿本身复制到文件夹中")
    try:
        info = path.stat()
    except OSError as exc:
        return f"无法读取“{name}”（{describe_os_error(exc)}）"
    if not stat.S_ISREG(info.st_mode):
        return f"“{name}”不是普通文件（可能是管道、设备或文件夹），已跳过，未读取"
    return None


def _walk(folder: Path, root: str) -> Iterable[tuple[Path, str | None]]:
    """(workbook, why it cannot be opened or None) under `folder`, in name order, not following
    links to folders; an unreadable subfolder is one entry with its reason."""
    from .adapters.package import describe_os_error

    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        if os.path.normcase(os.path.abspath(folder)) == os.path.normcase(os.path.abspath(root)):
            raise WorkbookUnusable(f"无法读取文件夹“{folder}”：{describe_os_error(exc)}") from None
        yield folder, f"无法读取文件夹“{folder.name}”（{describe_os_error(exc)}），其中的工作簿未评分"
        return
    for entry in entries:
        if skipped_name(entry.name) or _hidden_on_windows(entry):
            continue
        try:
            is_folder = entry.is_dir(follow_symlinks=False)
        except OSError:
            is_folder = False
        if is_folder:
            yield from _walk(Path(entry.path), root)
            continue
        if not entry.name.lower().endswith(WORKBOOK_SUFFIXES):
            continue
        path = Path(entry.path)
        try:
            to_folder = entry.is_symlink() and os.path.isdir(entry.path)
        except OSError:
            to_folder = False
        if to_folder:
            continue  # links to folders are not followed (a folder may link to its own parent)
        yield path, unopenable(path, root)


def _key(path: Path) -> str:
    """One spelling per file: links resolved, case folded where the file system ignores case."""
    return os.path.normcase(os.path.realpath(path))


def discover(inputs: Iterable[str], target: Path | None = None) -> list[Task]:
    """The workbooks named or found (recursively) in `inputs`, each once, in a stable order.

    Refuses (WorkbookUnusable) when the output would overwrite one of them; a previous summary
    sitting in a scanned folder under the output's name is simply left out.  What cannot be opened
    (a broken or looping link, a link out of a scanned folder, a pipe) is a Task with its reason,
    listed in 无法读取 and never opened.
    """
    import glob

    from .summary import is_summary

    found: list[Task] = []
    seen: set[str] = set()
    target_key = _key(target) if target is not None and target.exists() else None

    def add(path: Path, name: str, explicit: bool, problem: str | None) -> None:
        if problem is not None:
            key = "!" + os.path.normcase(os.path.abspath(path))  # not resolvable: its own spelling
        else:
            key = _key(path)
        if key == target_key:
            if explicit or not is_summary(target):
                raise WorkbookUnusable(f"输出文件“{target.name}”是输入的工作簿之一；为免覆盖输入，请另选输出文件名")
            return
        if key not in seen:
            seen.add(key)
            found.append(Task(str(path), name, problem))

    for arg in inputs:
        path = Path(arg)
        present = os.path.lexists(path)  # a broken link is there, and is reported as such
        if not present and _GLOB_CHARS & set(arg):
            matches = sorted(glob.glob(arg, recursive=True))  # for shells that do not expand patterns
            if not matches:
                raise WorkbookUnusable(f"没有与“{arg}”匹配的文件")
            paths = [Path(m) for m in matches]
        elif not present:
            raise WorkbookUnusable(f"找不到“{arg}”")
        else:
            paths = [path]
        for p in paths:
            if _is_folder(p):
                root = os.path.realpath(p)
                label = Path(root).name
                for file, problem in _walk(p, root):
                    rel = file.relative_to(p).as_posix()
                    add(file, f"{label}/{rel}" if label else rel, explicit=False, problem=problem)
            elif not skipped_name(p.name):
                add(p, p.name, explicit=True, problem=unopenable(p))
    if not found:
        raise WorkbookUnusable(f"在“{'、'.join(inputs)}”中没有找到.xlsm/.xlsx工作簿")
    return found


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


# ---- scoring ----------------------------------------------------------------------------------


def score_file(task: Task) -> dict:
    """One workbook → a small plain dict (cheap to send between processes); never raises."""
    path, name = task.path, task.name
    if task.problem is not None:
        return {"ok": False, "path": path, "name": name, "reason": task.problem}
    try:
        return _scored(path, name)
    except WorkbookUnusable as exc:
        return {"ok": False, "path": path, "name": name, "reason": str(exc)}
    except Exception as exc:  # one bad file must never stop the batch
        return {"ok": False, "path": path, "name": name,
                "reason": f"处理该文件时发生意外错误（{type(exc).__name__}），请把该文件发给技术支持"}


def _scored(path: str, name: str) -> dict:
    from .adapters.xlsx import XlsxBook
    from .workbook.serialise import batch_record
    from .workbook.service import read_evaluation

    with XlsxBook(path) as book:
        try:
            evaluation = read_evaluation(book)
        except WorkbookUnusable:
            if book.has_sheet("汇总") and not book.has_name("填报单位"):
                raise WorkbookUnusable("这是evalbook生成的汇总表，不是部门填报的工作簿") from None
            raise
    return batch_record(evaluation, path, name)


def _quiet_worker() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


WORKER_DIED = "评分该文件时工作进程意外退出（可能内存不足或文件异常），已跳过"


def score_chunk(tasks: list[Task]) -> list[dict]:
    return [score_file(task) for task in tasks]


def score_all(tasks: list[Task], jobs: int) -> Iterable[dict]:
    """Results in completion order (the summary sorts them, so output does not depend on it)."""
    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield score_file(task)
        return
    from .workbook import service  # noqa: F401  imported once here, so forked workers start warm
    from .adapters import xlsx  # noqa: F401

    jobs = min(jobs, len(tasks))
    # large enough chunks to keep IPC cheap, small enough that every worker stays busy to the end
    chunksize = max(1, min(32, len(tasks) // (jobs * 8)))
    chunks = [tasks[i:i + chunksize] for i in range(0, len(tasks), chunksize)]
    lost = yield from _run_chunks(chunks, jobs)
    # A worker that died outright (killed for memory, say) takes its pool down with it: score
    # what was lost one file at a time in a fresh worker, so only the culprit is skipped.
    for task in lost:
        lost_again = yield from _run_chunks([[task]], 1)
        for failed in lost_again:
            yield {"ok": False, "path": failed.path, "name": failed.name, "reason": WORKER_DIED}


def _run_chunks(chunks: list[list[Task]], jobs: int):
    """Yields the results of every chunk that finished; returns the tasks of those that did not."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    lost: list[Task] = []
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(), initializer=_quiet_worker) as pool:
        futures = {pool.submit(score_chunk, chunk): chunk for chunk in chunks}
        for future in as_completed(futures):
            try:
                results = future.result()
            except BrokenProcessPool:
                lost.extend(futures[future])
                continue
            yield from results
    return lost


# ---- progress ---------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on a terminal; silent when stderr is a file or a pipe."""

    WIDTH = 30

    def __init__(self, total: int, stream=None):
        self.total = total
        self.stream = stream
        self.enabled = bool(stream is not None and hasattr(stream, "isatty") and stream.isatty()) and total > 0
        self.done = 0
        self.start = time.monotonic()
        self.shown = 0.0

    def advance(self, _result=None) -> None:
        self.done += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.shown < 0.1 and self.done < self.total:
            return
        self.shown = now
        share = self.done / self.total
        filled = int(self.WIDTH * share)
        bar = "█" * filled + "░" * (self.WIDTH - filled)
        elapsed = now - self.start
        left = elapsed / self.done * (self.total - self.done) if self.done else 0
        self.stream.write(f"\r评分 {bar} {self.done}/{self.total} {share:4.0%}  约剩{left:.0f}秒 ")
        self.stream.flush()

    def writing(self) -> None:
        if self.enabled:
            self.stream.write(f"\r{'正在写入汇总表…':<{self.WIDTH + 40}}")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * (self.WIDTH + 40) + "\r")
            self.stream.flush()
