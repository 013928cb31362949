"""`evalbook batch`: score every department's workbook in folders, read-only, into one 汇总.xlsx.

Each file is scored exactly as `evalbook check` would (its own 评分规则, the same engine) by a
pool of worker processes.  Workers open files read-only and return small plain dicts; the parent
spills them to disk as they arrive and writes the summary at the end, so neither memory nor the
input files change with the size of the batch.  One bad file only adds a row to 无法读取.

Exit codes: 0 every file read and none has 错误; 1 some have 错误; 2 some could not be read (or
nothing could be done at all).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

from .adapters.base import WorkbookUnusable

EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls")  # .xls is listed so an old-format file is reported, not missed
_GLOB_CHARS = set("*?[")


class Task(NamedTuple):
    path: str  # as opened
    name: str  # as shown in the summary: relative to the folder given, with that folder's name


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

    merge = subparsers.add_parser(
        "merge", help="合并多份批量汇总表（如各县分别运行batch的结果），重新排名",
        description="把多份由 evalbook batch 生成的汇总表合并为一份，重新排名并重算图表。")
    merge.add_argument("inputs", nargs="+", metavar="汇总表", help="evalbook batch 生成的汇总表，或其所在文件夹")
    merge.add_argument("-o", "--output", required=True, metavar="合并汇总.xlsx", help="合并结果保存为此文件（.xlsx）")
    merge.set_defaults(handler=_cmd_merge)


def _positive(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{text}”不是整数") from None
    if value < 1:
        raise argparse.ArgumentTypeError("进程数至少为1")
    return value


def _cmd_merge(args) -> int:
    from .merge import cmd_merge

    return cmd_merge(args)


def cmd_batch(args) -> int:
    target = check_output(args.output)
    tasks = discover(args.inputs, target)
    check_writable(target)
    jobs = args.jobs or default_jobs()
    progress = Progress(len(tasks), sys.stderr)
    tally = run_batch(tasks, target, jobs, progress.advance, progress.writing)
    progress.close()
    print(f"{tally.line()}；汇总已写入：{target}")
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

    with spill_folder("evalbook-batch-") as spill:
        collector = Collector(str(spill))
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


# ---- the spill folder -------------------------------------------------------------------------

SPILL_PREFIXES = ("evalbook-batch-", "evalbook-merge-")
OWNER_FILE = "owner.lock"  # holds the running batch's process id, under an OS lock while it runs
UNOWNED_SPILL_AGE = 24 * 3600  # a folder without an owner file (older versions) is this old when removed


@contextlib.contextmanager
def spill_folder(prefix: str):
    """A private temporary folder for one run, removed at the end; one left by a run that was
    killed (kill -9, a power cut) is removed by the next run, once its owner is gone."""
    from .adapters import filelock

    remove_dead_spills()
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))
    try:
        owner = filelock.try_acquire(folder / OWNER_FILE)
    except OSError:
        owner = None
    try:
        yield folder
    finally:
        if owner is not None:
            owner.release()
        shutil.rmtree(folder, ignore_errors=True)


def remove_dead_spills(root: Path | None = None, now: float | None = None) -> list[str]:
    """Remove the spill folders of runs that no longer exist; returns their names.  A run is alive
    exactly while it holds the lock on its owner file (the OS drops it when the process dies, so
    a reused process id cannot keep a folder forever)."""
    from .adapters import filelock

    root = Path(root or tempfile.gettempdir())
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    for entry in entries:
        try:
            if not entry.name.startswith(SPILL_PREFIXES) or not entry.is_dir(follow_symlinks=False):
                continue
            owner = Path(entry.path) / OWNER_FILE
            if os.path.lexists(owner):
                if not filelock.remove_if_unowned(owner):
                    continue  # still running (or not ours to look into)
            elif now - entry.stat(follow_symlinks=False).st_mtime < UNOWNED_SPILL_AGE:
                continue  # just being created, or an older version's run: give it time
            shutil.rmtree(entry.path, ignore_errors=True)
            if not os.path.lexists(entry.path):
                removed.append(entry.name)
        except OSError:
            continue
    return removed


# ---- finding the files ------------------------------------------------------------------------


def check_output(output: str) -> Path:
    """The output's name and folder make sense (before any file is read)."""
    from .adapters.package import check_target_name

    target = check_target_name(Path(output))
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
    attributes = getattr(entry.stat(follow_symlinks=False), "st_file_attributes", 0)
    return bool(attributes & 0x2)  # FILE_ATTRIBUTE_HIDDEN


def _walk(folder: Path) -> Iterable[Path]:
    """Workbooks under `folder`, in name order, not following links to folders."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise WorkbookUnusable(f"无法读取文件夹“{folder}”：{exc.strerror or exc}") from None
    for entry in entries:
        if skipped_name(entry.name) or _hidden_on_windows(entry):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path))
        elif entry.name.lower().endswith(WORKBOOK_SUFFIXES) and entry.is_file():
            yield Path(entry.path)


def _key(path: Path) -> str:
    """One spelling per file: links resolved, case folded where the file system ignores case."""
    return os.path.normcase(os.path.realpath(path))


def discover(inputs: Iterable[str], target: Path | None = None) -> list[Task]:
    """The workbooks named or found (recursively) in `inputs`, each once, in a stable order.

    Refuses (WorkbookUnusable) when the output would overwrite one of them; a previous summary
    sitting in a scanned folder under the output's name is simply left out.
    """
    import glob

    from .summary import is_summary

    found: list[Task] = []
    seen: set[str] = set()
    target_key = _key(target) if target is not None and target.exists() else None

    def add(path: Path, name: str, explicit: bool) -> None:
        key = _key(path)
        if key == target_key:
            if explicit or not is_summary(target):
                raise WorkbookUnusable(f"输出文件“{target.name}”是输入的工作簿之一；为免覆盖输入，请另选输出文件名")
            return
        if key not in seen:
            seen.add(key)
            found.append(Task(str(path), name))

    for arg in inputs:
        path = Path(arg)
        if not path.exists() and _GLOB_CHARS & set(arg):
            matches = sorted(glob.glob(arg, recursive=True))  # for shells that do not expand patterns
            if not matches:
                raise WorkbookUnusable(f"没有与“{arg}”匹配的文件")
            paths = [Path(m) for m in matches]
        elif not path.exists():
            raise WorkbookUnusable(f"找不到“{arg}”")
        else:
            paths = [path]
        for p in paths:
            if p.is_dir():
                root = p.resolve()
                label = root.name
                for file in _walk(p):
                    rel = file.relative_to(p).as_posix()
                    add(file, f"{label}/{rel}" if label else rel, explicit=False)
            elif not skipped_name(p.name):
                add(p, p.name, explicit=True)
    if not found:
        raise WorkbookUnusable(f"在“{'、'.join(inputs)}”中没有找到.xlsm/.xlsx工作簿")
    return found


# ---- scoring ----------------------------------------------------------------------------------


def score_file(task: Task) -> dict:
    """One workbook → a small plain dict (cheap to send between processes); never raises."""
    path, name = task
    try:
        return _scored(path, name)
    except WorkbookUnusable as exc:
        return {"ok": False, "path": path, "name": name, "reason": str(exc)}
    except Exception as exc:  # one bad file must never stop the batch
        return {"ok": False, "path": path, "name": name,
                "reason": f"处理该文件时发生意外错误（{type(exc).__name__}），请把该文件发给技术支持"}


def _scored(path: str, name: str) -> dict:
    from .adapters.xlsx import XlsxBook
    from .numbers import round2
    from .service import read_evaluation

    with XlsxBook(path) as book:
        try:
            evaluation = read_evaluation(book)
        except WorkbookUnusable:
            if book.has_sheet("汇总") and not book.has_name("填报单位"):
                raise WorkbookUnusable("这是evalbook生成的汇总表，不是部门填报的工作簿") from None
            raise
    total = evaluation.total
    self_total = evaluation.self_total
    scores, rates = [], []
    for r in evaluation.indicators:
        scores.append(None if r.score is None else round2(r.score))
        rate = r.score / r.weight if r.score is not None and r.weight else None
        # exact, as two ints: sums of exact rates do not depend on the order results arrive in
        rates.append(None if rate is None else (rate.numerator, rate.denominator))
    ordered = sorted(evaluation.findings, key=lambda f: 0 if f.severity == "错误" else 1)
    funds = evaluation.funds
    summary = funds.summary if funds is not None else None
    return {
        "ok": True, "path": path, "name": name, "unit": evaluation.unit,
        "scores": scores, "rates": rates,
        "total": None if total is None else round2(total),
        "grade": evaluation.grade,
        "self_total": None if self_total is None else round2(self_total),
        "self_gap": None if self_total is None or total is None else round2(self_total - total),
        "errors": evaluation.errors, "hints": evaluation.hints,
        "findings": [(f.severity, f.sheet, f.cell, f.message) for f in ordered],
        "funds": [_fund(r) for r in funds.results] if funds is not None else [],
        "fund_count": len(summary.lines) if summary is not None else 0,
        "fund_score": None if summary is None or summary.score is None else round2(summary.score),
    }


def _fund(result) -> dict:
    """One 专项资金 row as plain floats and text: the figures its own sheet shows."""
    from .numbers import fraction_to_float, round2

    rate = result.money[0].rate
    total = result.total
    return {
        "number": result.number, "name": result.name,
        "budget": fraction_to_float(result.budget), "spent": fraction_to_float(result.spent),
        "rate": None if rate is None else round(fraction_to_float(rate), 6),  # as `check --json` gives it
        "score": None if total is None else round2(total),
        "grade": result.grade,
    }


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
    from . import service  # noqa: F401  imported once here, so forked workers start warm
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
