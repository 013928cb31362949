"""How a sheet falls onto printed pages: A4, fitted to one page wide, rows broken only between
blocks an accountant reads together.

Excel and LibreOffice both break a page wherever the rows run out; a merged 一级/二级 label cut
there prints on one page only and a chart is printed in halves.  Knowing the paper, the margins
and the column widths, the height a page holds in the sheet's own points is known too, so the
template can place its breaks itself.  Pure arithmetic, like `sheetspec`.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable, Sequence

from evalbook.core.cells import column_index, column_letter, split_ref
from evalbook.workbook.sheetspec import Sheet

A4_SHORT, A4_LONG = 595.28, 841.89  # points
INCH = 72.0
MARGIN_SIDE, MARGIN_TOP, MARGIN_BOTTOM, MARGIN_HEADER = 0.4, 0.6, 0.6, 0.3  # inches, as the builder sets them
FOOTER = "第 &P 页，共 &N 页"
# what Excel and LibreOffice round differently (the font that measures a column, the scale
# rounded to a whole percent) is left as room on each page rather than guessed
SLACK = 0.92


def page_setup(ws, landscape: bool) -> None:
    """An openpyxl worksheet set to print as this module counts: A4, one page wide and as many
    tall as it takes, these margins, the page number at the foot (template and bureau summary)."""
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    margins = ws.page_margins
    margins.left = margins.right = MARGIN_SIDE
    margins.top, margins.bottom = MARGIN_TOP, MARGIN_BOTTOM
    margins.header = margins.footer = MARGIN_HEADER
    ws.oddFooter.center.text = FOOTER
    ws.oddFooter.center.size = 9


def column_points(width: float) -> float:
    """A column `width` characters wide, in points (a character of the Normal font is 7 px)."""
    return width * 7 * 0.75


def printable(landscape: bool) -> tuple[float, float]:
    """(width, height) of the paper inside the margins, in points."""
    wide, tall = (A4_LONG, A4_SHORT) if landscape else (A4_SHORT, A4_LONG)
    return wide - 2 * MARGIN_SIDE * INCH, tall - (MARGIN_TOP + MARGIN_BOTTOM) * INCH


def scale(content_width: float, landscape: bool) -> float:
    """The print scale that fits `content_width` points on one page wide (a whole percent)."""
    width, _ = printable(landscape)
    return min(100, math.floor(100 * width / content_width)) / 100 if content_width > 0 else 1.0


def page_height(content_width: float, landscape: bool) -> float:
    """How many of the sheet's own points of rows one page holds."""
    return printable(landscape)[1] / scale(content_width, landscape) * SLACK


def paginate(first: int, last: int, height: Callable[[int], float], page: float, titles: float = 0.0,
             keep: Iterable[tuple[int, int]] = (), prefer: Iterable[tuple[int, int]] = ()) -> list[int]:
    """The rows after which a page ends, for rows `first`..`last`.

    A `keep` block (first row, last row) is never split unless it is taller than a page; a
    `prefer` block starts a new page when it does not fit in what is left of the current one but
    would fit on a fresh page.  Pages after the first lose `titles` points to the repeated rows.
    """
    starts = {a: b for a, b in keep}
    preferred = {a: b for a, b in prefer}
    units: list[tuple[int, int]] = []
    row = first
    while row <= last:
        end = min(starts.get(row, row), last)
        units.append((row, end))
        row = end + 1

    def total(a: int, b: int) -> float:
        return sum(height(r) for r in range(a, min(b, last) + 1))

    breaks: list[int] = []
    used, room = 0.0, page
    for a, b in units:
        h = total(a, b)
        if used > 0 and a in preferred:
            whole = total(a, preferred[a])
            if used + whole > room and whole <= page - titles:
                breaks.append(a - 1)
                used, room = 0.0, page - titles
        if used > 0 and used + h > room and h <= page - titles:  # a block no page holds just runs on
            breaks.append(a - 1)
            used, room = 0.0, page - titles
        if h <= room:
            used += h
            continue
        for r in range(a, b + 1):  # taller than a page: split it row by row
            if used > 0 and used + height(r) > room:
                breaks.append(r - 1)
                used, room = 0.0, page - titles
            used += height(r)
    return breaks


def segments(first: int, last: int, breaks: Sequence[int]) -> list[tuple[int, int]]:
    """A block of rows cut where pages end: [(first, b1), (b1 + 1, b2), …, (…, last)]."""
    found, start = [], first
    for b in sorted(breaks):
        if start <= b < last:
            found.append((start, b))
            start = b + 1
    found.append((start, last))
    return found


def rows_under(s: Sheet, first: int, height_cm: float) -> int:
    """The last row a drawing `height_cm` tall anchored at the top of row `first` reaches."""
    room, row = height_cm / 2.54 * INCH, first
    while room > s.height_of(row):
        room -= s.height_of(row)
        row += 1
    return row


def paginate_sheet(s: Sheet, keep: Iterable[tuple[int, int]] = (), prefer: Iterable[tuple[int, int]] = ()) -> None:
    """The sheet's page breaks, from its print area, row heights and the paper it prints on."""
    _, last = s.print_area.split(":")
    last_column, last_row = split_ref(last)
    width = sum(column_points(s.width_of(column_letter(i))) for i in range(1, column_index(last_column) + 1))
    titles = 0.0
    if s.print_titles:
        top, bottom = (int(n) for n in s.print_titles.split(":"))
        titles = sum(s.height_of(r) for r in range(top, bottom + 1))
    s.row_breaks = paginate(1, last_row, s.height_of, page_height(width, s.landscape), titles,
                            keep=keep, prefer=prefer)
