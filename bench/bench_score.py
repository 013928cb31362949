"""Speed of scoring one department, printed as ratios from one run (not a test).

1. Whole process: `evalbook score` on the example workbook against a plain openpyxl load+save
   of the same file (target: ratio <= 1.5).
2. In process: `engine.evaluate` on the example's values (target: <= 1 ms per department).

    python bench/bench_score.py
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "衡山县住建局2020.xlsm"
RUNS = 5

OPENPYXL = """
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1], keep_vba=True)
wb.save(sys.argv[1])
"""


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=False, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "example.xlsm"
        ours, theirs = [], []
        for _ in range(RUNS):
            shutil.copy(EXAMPLE, work)
            ours.append(timed([sys.executable, "-m", "evalbook.cli", "score", str(work)]))
            shutil.copy(EXAMPLE, work)
            theirs.append(timed([sys.executable, "-c", OPENPYXL, str(work)]))
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"evalbook score (whole process, median of {RUNS}): {a * 1000:.0f} ms")
    print(f"openpyxl load+save (whole process, median of {RUNS}): {b * 1000:.0f} ms")
    print(f"ratio evalbook/openpyxl: {a / b:.2f}  (target <= 1.5)")

    sys.path.insert(0, str(ROOT))
    from evalbook.build.example import example_values
    from evalbook.department.engine import evaluate

    values, _ = example_values()
    evaluate(values)
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        evaluate(values)
    per = (time.perf_counter() - start) / n
    print(f"in-process scoring of one department: {per * 1000:.3f} ms  (target <= 1 ms; ratio {per / 0.001:.2f})")


if __name__ == "__main__":
    main()
