"""Output names never onto input cells: checked when a workbook is opened, before anything is read.

A defined name edited by hand (or by a tool) can send a result onto a cell the accountant fills in:
scoring would then overwrite the data it scored.  So every output must land on a cell no input
name covers, on the sheet the template puts it.  The checker knows nothing of the contract; the
caller gives it the names, so any engine can feed it its own lists.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, Iterable, Mapping

from evalbook.core.cells import MAX_ROW, range_text, split_range
from evalbook.core.errors import WorkbookUnusable
from evalbook.core.numbers import quote

Rect = tuple[int, int, int, int]  # first column, first row, last column, last row
Where = Callable[[str], "tuple[str, str] | None"]  # name → (sheet, 'B4' or 'A1:C9'), None if absent


def check_outputs_apart(where: Where, inputs: Iterable[str], outputs: Iterable[str],
                        homes: Mapping[str, str], blocks: Mapping[str, int] | None = None) -> None:
    """Raise WorkbookUnusable naming the first output that lands on an input or off its sheet.

    `homes` gives each name's sheet in the template; a renamed sheet is recognised as the one
    where most names of that template sheet now are.  `blocks` are outputs written as rows from
    their cell downwards, `width` columns wide (the findings table): the whole block counts."""
    blocks = blocks or {}
    inputs, outputs = list(inputs), list(outputs) + [b for b in blocks if b not in outputs]
    placed: dict[str, tuple[str, Rect, str]] = {}  # name → (sheet, rect, reference as written)
    for name in inputs + outputs:
        found = where(name)
        if found is None:
            continue
        sheet, ref = found
        try:
            placed[name] = (sheet, split_range(ref), ref)
        except ValueError:
            continue  # not a cell reference: the name check explains that elsewhere
    single: dict[tuple[str, int, int], str] = {}
    ranges: list[tuple[str, Rect, str]] = []
    for name in inputs:
        if name not in placed:
            continue
        sheet, rect, _ = placed[name]
        if rect[0] == rect[2] and rect[1] == rect[3]:
            single.setdefault((sheet, rect[0], rect[1]), name)
        else:
            ranges.append((sheet, rect, name))
    for name in outputs:
        if name not in placed or name in inputs:
            continue
        sheet, rect, ref = placed[name]
        if name in blocks:
            rect = (rect[0], rect[1], rect[0] + max(blocks[name], 1) - 1, MAX_ROW)
        hit = _covering(sheet, rect, single, ranges)
        if hit is not None:
            cell, input_name = hit
            if name in blocks:
                raise WorkbookUnusable(
                    f"定义名称“{name}”下方要写入结果的区域{_at(sheet, range_text(rect))}包含输入单元格"
                    f"{_at(sheet, cell)}（{input_name}），评分会覆盖已填写的数据；名称可能被改动，"
                    f"请在“公式→名称管理器”中改正，或使用evalbook模板（evalbook new）；原文件未被改动")
            raise WorkbookUnusable(
                f"定义名称“{name}”指向{_at(sheet, ref)}，那是输入单元格（{input_name}），评分会覆盖已填写的"
                f"数据；名称可能被改动，请在“公式→名称管理器”中改正，或使用evalbook模板（evalbook new）；原文件未被改动")
    # an input overwritten is the worse news, so it is told first; then an output off its sheet
    _check_homes(placed, outputs, homes)


def _at(sheet: str, ref: str) -> str:
    """'基础数据表!B4' with the sheet name (user text) made safe for a one-line message."""
    return f"{quote(sheet)[1:-1]}!{ref}"


def _covering(sheet: str, rect: Rect, single: dict, ranges: list) -> tuple[str, str] | None:
    c1, r1, c2, r2 = rect
    if c1 == c2 and r1 == r2:
        name = single.get((sheet, c1, r1))
        if name is not None:
            return range_text(rect).split(":")[0], name
    else:
        # a block: look only at the input cells of its sheet (never a cell-by-cell walk down to row 1048576)
        for (s, col, row), name in sorted(single.items(), key=lambda kv: (kv[0][2], kv[0][1])):
            if s == sheet and c1 <= col <= c2 and r1 <= row <= r2:
                return range_text((col, row, col, row)).split(":")[0], name
    for s, (a1, b1, a2, b2), name in ranges:
        if s == sheet and a1 <= c2 and c1 <= a2 and b1 <= r2 and r1 <= b2:
            col, row = max(a1, c1), max(b1, r1)
            return range_text((col, row, col, row)).split(":")[0], name
    return None


def _check_homes(placed: Mapping[str, tuple[str, Rect, str]], outputs: list[str], homes: Mapping[str, str]) -> None:
    tally: dict[str, Counter] = {}
    for name, (sheet, _, _) in placed.items():
        if name in homes:
            tally.setdefault(homes[name], Counter())[sheet] += 1
    actual = {}
    for home, counts in tally.items():
        best = max(counts.values())
        # a tie goes to the sheet that still has the template's title
        actual[home] = home if counts.get(home) == best else counts.most_common(1)[0][0]
    for name in outputs:
        if name not in placed or name not in homes:
            continue
        sheet, _, ref = placed[name]
        if sheet != actual[homes[name]]:
            raise WorkbookUnusable(
                f"定义名称“{name}”指向{_at(sheet, ref)}，但它应在工作表{quote(actual[homes[name]])}上；"
                f"名称可能被改动，请在“公式→名称管理器”中改正，或使用evalbook模板（evalbook new）；原文件未被改动")
