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
from typing import Callable, Iterable

from evalbook.bureau.discover import Task, check_output, check_writable, discover
from evalbook.core.errors import WorkbookUnusable
from evalbook.core.textsafe import terminal_safe


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
    batch.add_argument("--csv", metavar="文件夹", default=None,
                       help="另把结果写成CSV表格（部门、部门指标、专项资金、专项指标、问题清单、无法读取，"
                            "UTF-8带BOM，Excel可直接打开）保存到此文件夹，供pandas等分析")
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
    from evalbook.bureau.tables import check_csv_folder

    target = check_output(args.output)
    tasks = discover(args.inputs, target)
    check_writable(target)
    csv_folder = check_csv_folder(args.csv) if args.csv else None
    jobs = args.jobs or default_jobs()
    with progress(len(tasks)) as bar:
        tally = run_batch(tasks, target, jobs, lambda _result: bar.update(),
                          lambda: bar.set_description_str("正在写入汇总表"), csv_folder)
    if tally.framework_note:
        print(f"evalbook: 提示：{terminal_safe(tally.framework_note)}", file=sys.stderr)
    for name in tally.skipped_names:
        print(f"evalbook: 注意：已跳过“{terminal_safe(name)}”：这是evalbook生成的汇总表，不是部门填报的工作簿",
              file=sys.stderr)
    csv_note = f"；CSV表格已写入：{terminal_safe(csv_folder)}" if csv_folder is not None else ""
    print(f"{tally.line()}；汇总已写入：{terminal_safe(target)}{csv_note}")
    return tally.exit_code()


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_batch(tasks: list[Task], target: Path, jobs: int, on_result: Callable[[dict], None] | None = None,
              on_writing: Callable[[], None] | None = None, csv_folder: Path | None = None):
    """Score `tasks` and write the summary to `target` (and the tidy tables to `csv_folder`);
    returns the Tally."""
    from evalbook.bureau.summary import Collector
    from evalbook.bureau.summary_book import write_summary
    from evalbook.bureau.tables import write_csv

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
            if csv_folder is not None:
                write_csv(csv_folder, collector)
            return collector.finish()
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
    from evalbook.adapters import filelock

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
    from evalbook.adapters import filelock

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




# ---- scoring ----------------------------------------------------------------------------------


def score_file(task: Task) -> dict:
    """One workbook → a small plain dict (cheap to send between processes); never raises."""
    path, name = task.path, task.name
    if task.problem is not None:
        return {"ok": False, "path": path, "name": name, "reason": task.problem}
    try:
        return _scored(path, name)
    except SummaryFound:
        # a summary saved among the departments' files (last run's 汇总.xlsx) is not a department
        return {"ok": False, "skipped": True, "path": path, "name": name}
    except WorkbookUnusable as exc:
        return {"ok": False, "path": path, "name": name, "reason": str(exc)}
    except Exception as exc:  # one bad file must never stop the batch
        return {"ok": False, "path": path, "name": name,
                "reason": f"处理该文件时发生意外错误（{type(exc).__name__}），请把该文件发给技术支持"}


class SummaryFound(Exception):
    """The file is a summary evalbook wrote, not a department's workbook: skipped, not a failure."""


def _scored(path: str, name: str) -> dict:
    from evalbook.adapters.xlsx import XlsxBook
    from evalbook.workbook.serialise import batch_record
    from evalbook.workbook.service import read_evaluation

    with XlsxBook(path) as book:
        try:
            evaluation = read_evaluation(book)
        except WorkbookUnusable:
            if book.has_sheet("汇总") and not book.has_name("填报单位"):
                raise SummaryFound() from None
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
    from evalbook.workbook import service  # noqa: F401  imported once here, so forked workers start warm
    from evalbook.adapters import xlsx  # noqa: F401

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


def progress(total: int, stream=None):
    """tqdm's bar on a terminal (stderr by default); `disable=None` is tqdm's own "only on a TTY",
    so a log file or a pipe gets nothing."""
    from tqdm import tqdm

    return tqdm(total=total, file=stream if stream is not None else sys.stderr, disable=None, desc="评分",
                unit="份", leave=False, dynamic_ncols=True)
