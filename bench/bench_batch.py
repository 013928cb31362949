"""Speed and memory of `evalbook batch` at 100 and 1,000 workbooks, from one run (not a test).

1. Generates 1,000 department workbooks (bench/gen_workbooks.py: varied data, ~2% broken), in
   folders of 100; the first folder is the 100-file case, the whole tree the 1,000-file case.
2. Runs `evalbook batch` on each as a fresh process with the default --jobs (all cores), end to
   end: start-up, discovery, scoring, writing 汇总.xlsx.  Prints files/minute (target ≥ 1,000)
   and peak memory: the largest single process (ru_maxrss of the process tree) and the largest
   sum over the whole tree (sampled every 20 ms from /proc).  Flat memory means the 1,000-file
   figures are about the same as the 100-file ones.
3. Compares readers on the same files, one process: our XlsxBook (values only, and with the
   engine: what a batch worker does per file), openpyxl read-only and full load, python-calamine
   (when installed).

    python bench/bench_batch.py [--files 1000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import gen_workbooks  # noqa: E402

TARGET_PER_MINUTE = 1000
READER_SAMPLE = 200

WRAPPER = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"rc": done.returncode, "out": done.stdout.strip(), "err": done.stderr.strip(),
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def _tree_rss_kb(root: int) -> int:
    """Resident memory of `root` and all its descendants, from /proc (Linux)."""
    parents, rss = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{entry}/statm", "rb") as fh:
                pages = int(fh.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        pid = int(entry)
        parents[pid] = int(fields[1])
        rss[pid] = pages * (os.sysconf("SC_PAGE_SIZE") // 1024)
    total, todo = 0, [root]
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, ()))
    return total


def run_batch(folder: Path, output: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    cmd = [sys.executable, "-c", WRAPPER, sys.executable, "-m", "evalbook.cli", "batch", str(folder), "-o", str(output)]
    peak = 0
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss_kb(proc.pid))
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    elapsed = time.perf_counter() - start
    stop.set()
    sampler.join()
    result = json.loads(out)
    result.update(seconds=elapsed, tree_peak_kb=peak)
    return result


# ---- readers ----------------------------------------------------------------------------------


def _needed_sheets(path: Path) -> set[str]:
    from evalbook.workbook import contract as C
    from evalbook.adapters.xlsx import XlsxBook

    with XlsxBook(path) as book:
        return {book.locate(n).sheet for n in C.contract_for().required_names if book.locate(n) is not None} | \
            {s for s in book.sheet_parts if s.startswith("专项资金自评表")}


def read_xlsxbook(path: Path) -> None:
    from evalbook.workbook import contract as C
    from evalbook.adapters.xlsx import XlsxBook

    with XlsxBook(path) as book:
        book.read_values(C.contract_for().input_names)
        book.read_range(C.RULES_TABLE)


def read_xlsxbook_scored(path: Path) -> None:
    from evalbook.bureau.batch import Task, score_file

    assert score_file(Task(str(path), path.name))["ok"]


def make_openpyxl(read_only: bool, sheets: set[str]):
    from openpyxl import load_workbook

    def read(path: Path) -> None:
        wb = load_workbook(path, read_only=read_only, data_only=True, keep_links=False)
        dict(wb.defined_names.items())
        for title in sheets:
            ws = wb[title]
            values = {}
            for row in ws.iter_rows():
                for cell in row:
                    if cell.value is not None:
                        values[cell.coordinate] = cell.value
        wb.close()

    return read


def make_calamine(sheets: set[str]):
    import zipfile
    from xml.etree import ElementTree

    from python_calamine import CalamineWorkbook

    def read(path: Path) -> None:
        with zipfile.ZipFile(path) as z:  # calamine does not give defined names: read them ourselves
            ElementTree.fromstring(z.read("xl/workbook.xml"))
        wb = CalamineWorkbook.from_path(str(path))
        for title in sheets:
            wb.get_sheet_by_name(title).to_python()
        wb.close()

    return read


def compare_readers(files: list[Path]) -> list[tuple[str, float]]:
    sheets = _needed_sheets(files[0])
    readers = {
        "XlsxBook (evalbook's reader), values only": read_xlsxbook,
        "XlsxBook + engine (a batch worker's whole job)": read_xlsxbook_scored,
        "openpyxl read_only=True": make_openpyxl(True, sheets),
        "openpyxl full load": make_openpyxl(False, sheets),
    }
    try:
        readers["python-calamine (values) + workbook.xml for names"] = make_calamine(sheets)
    except ImportError:
        print("(python-calamine not installed: skipped)")
    results = []
    for label, read in readers.items():
        for path in files[:5]:
            read(path)  # warm-up: imports, caches
        start = time.perf_counter()
        for path in files:
            read(path)
        results.append((label, (time.perf_counter() - start) / len(files)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="evalbook batch: files/minute and peak memory")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="evalbook-bench-") as tmp:
        base = args.keep or Path(tmp)
        books = base / "部门"
        start = time.perf_counter()
        counts = gen_workbooks.generate(books, args.files, jobs=os.cpu_count() or 1)
        print(f"generated {args.files} workbooks in {time.perf_counter() - start:.1f} s: {counts}")
        print(f"machine: {os.cpu_count()} cores; batch uses the default --jobs\n")

        cases = [(min(100, args.files), books / "县001"), (args.files, books)]
        for count, folder in cases:
            r = run_batch(folder, Path(tmp) / f"汇总{count}.xlsx")
            per_minute = count / r["seconds"] * 60
            verdict = "ok" if per_minute >= TARGET_PER_MINUTE else "BELOW TARGET"
            print(f"{count:>5} files: {r['seconds']:6.2f} s  {per_minute:8.0f} files/min ({verdict}, target ≥ "
                  f"{TARGET_PER_MINUTE})  peak memory: largest process {r['maxrss_kb'] / 1024:.0f} MB, "
                  f"whole tree {r['tree_peak_kb'] / 1024:.0f} MB  exit {r['rc']}")
            print(f"       {r['out']}")
            if r["err"]:
                print(f"       stderr: {r['err']}")

        good = sorted(p for p in books.rglob("*.xlsm") if not p.name.startswith(("~$", ".")))
        sample = []
        for path in good:
            try:
                read_xlsxbook_scored(path)
            except AssertionError:
                continue
            sample.append(path)
            if len(sample) == READER_SAMPLE:
                break
        print(f"\nreaders, one process, {len(sample)} workbooks (ms per file; files/minute on one core):")
        for label, seconds in compare_readers(sample):
            print(f"  {label:<52} {seconds * 1000:7.2f} ms  {60 / seconds:8.0f}/min")


if __name__ == "__main__":
    main()
