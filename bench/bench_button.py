"""Round trips to Excel of one click of 校验并评分, counted on xlwings' remote engine (not a test).

A round trip ("call") is defined in tests/xlcount.py: every property read or method call on an
xlwings object, len/index/iteration of a collection, every assignment (`value =` a list: 2).

    python bench/bench_button.py

prints the count on the example with two funds the quick way (the template's names index), the
slow way (no index, as for a workbook changed since its index was written), and on the same
workbook named the way workbooks were before fund tables had column names (what every click
cost before: each name asked for, each cell written alone), with the ratios.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import xlwings as xw  # noqa: E402

from evalbook.adapters.live import LiveBook  # noqa: E402
from evalbook.workbook import service  # noqa: E402
from tests.legacy_names import with_per_cell_fund_names  # noqa: E402
from tests.remote_book import book_payload  # noqa: E402
from tests.test_live_calls import stale  # noqa: E402
from tests.xlcount import counted  # noqa: E402

EXAMPLE = ROOT / "examples" / "衡山县住建局2020.xlsm"


def click(payload) -> tuple[int, int, Counter]:
    proxy, tally = counted(xw.Book(json=payload))
    book = LiveBook(proxy)
    service.score_book(book)
    book.flush()
    return len(tally), len(payload["names"]), Counter(tally.calls)


def main() -> int:
    quick, names, calls = click(book_payload(EXAMPLE))
    slow, _, _ = click(stale(book_payload(EXAMPLE), 3))
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old.xlsm"
        with_per_cell_fund_names(EXAMPLE, old)
        before, old_names, _ = click(book_payload(old))
    print(f"example with two funds: {names} defined names ({old_names} with one name per fund cell)")
    print(f"quick (names index):     {quick:5d} round trips")
    print(f"  " + ", ".join(f"{what} {n}" for what, n in calls.most_common()))
    print(f"slow (no index):         {slow:5d} round trips   ratio {slow / quick:.0f}x")
    print(f"one name per fund cell:  {before:5d} round trips   ratio {before / quick:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
