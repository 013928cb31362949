"""How much `import udfs` adds to `import xlwings` (target: at most 0.15 s).

Each figure is one fresh interpreter, timed from outside (wall clock, including interpreter
start-up, which is the same for both commands and cancels out in the difference).  Runs of the
two commands are interleaved so that drift in machine load hits both alike; each is repeated
five times and the median is kept.  A warm-up run of each comes first so that compiling .pyc
files is not counted.  Not a test: it prints and exits 0.

    python bench/bench_udf_import.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPEAT = 5
TARGET = 0.15  # seconds
COMMANDS = {
    "import xlwings": "import xlwings",
    "import xlwings, udfs": "import xlwings, udfs",
}


def run_once(code: str) -> float:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
    return time.perf_counter() - start


def main() -> None:
    for code in COMMANDS.values():
        run_once(code)  # warm-up: bytecode caches
    times: dict[str, list[float]] = {label: [] for label in COMMANDS}
    for _ in range(REPEAT):
        for label, code in COMMANDS.items():
            times[label].append(run_once(code))
    base, with_udfs = (statistics.median(times[label]) for label in COMMANDS)
    for label, values in times.items():
        shown = " ".join(f"{v:.3f}" for v in values)
        print(f"{label:<24} median {statistics.median(values):.3f} s   runs: {shown}")
    difference = with_udfs - base
    verdict = "ok" if difference <= TARGET else "OVER TARGET"
    print(f"difference               {difference:+.3f} s   (target <= {TARGET:.2f} s: {verdict})")
    print(f"ratio                    {with_udfs / base:.3f}")


if __name__ == "__main__":
    main()
