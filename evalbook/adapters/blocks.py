"""Outputs grouped into rectangles, so an open workbook is written one block per call.

Every piece is a rectangle the caller owns outright — one output cell with the cells its merge
covers, a named column, a table's rows — with the values for each of its cells (None for a cell a
merge covers).  Pieces are joined only where together they fill a rectangle exactly, so a block
never reaches a cell no piece owns: an input between two outputs keeps two blocks apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from evalbook.core.cells import range_text

Rect = tuple[int, int, int, int]  # first column, first row, last column, last row


@dataclass
class Block:
    rect: Rect
    rows: list[list[object]]
    parts: list["Block"]  # the pieces it was made of (themselves for a piece)

    @property
    def address(self) -> str:
        c1, r1, c2, r2 = self.rect
        return range_text(self.rect) if (c1, r1) != (c2, r2) else range_text(self.rect).split(":")[0]


def piece(rect: Rect, rows: list[list[object]]) -> Block:
    c1, r1, c2, r2 = rect
    height, width = r2 - r1 + 1, c2 - c1 + 1
    grid = [list(row[:width]) + [None] * (width - len(row[:width])) for row in rows[:height]]
    grid += [[None] * width for _ in range(height - len(grid))]
    block = Block(rect, grid, [])
    block.parts = [block]
    return block


def _stack(upper: Block, lower: Block) -> Block:
    c1, r1, c2, _ = upper.rect
    return Block((c1, r1, c2, lower.rect[3]), upper.rows + lower.rows, upper.parts + lower.parts)


def _side(left: Block, right: Block) -> Block:
    c1, r1, _, r2 = left.rect
    return Block((c1, r1, right.rect[2], r2), [a + b for a, b in zip(left.rows, right.rows)],
                 left.parts + right.parts)


def group(pieces: list[Block]) -> list[Block]:
    """Pieces joined into as few rectangles as joining neighbours gives: across each row span,
    then down each column span (or the other way round, whichever leaves fewer), until nothing
    more joins.  Pieces that overlap (two names on one cell: a workbook edited by hand) are not
    joined at all but written one by one, in order."""
    blocks = _without_covered(pieces)
    if any(_overlap(a.rect, b.rect) for i, a in enumerate(blocks) for b in blocks[i + 1:]):
        return blocks
    return min((_join(blocks, across_first=True), _join(blocks, across_first=False)), key=len)


def _join(blocks: list[Block], across_first: bool) -> list[Block]:
    changed = True
    while changed:
        changed = False
        for down in ((False, True) if across_first else (True, False)):
            blocks = sorted(blocks, key=lambda b: (b.rect[0], b.rect[2], b.rect[1]) if down else
                            (b.rect[1], b.rect[3], b.rect[0]))
            joined: list[Block] = []
            for block in blocks:
                last = joined[-1] if joined else None
                if last is not None and down and (last.rect[0], last.rect[2]) == (block.rect[0], block.rect[2]) \
                        and last.rect[3] + 1 == block.rect[1]:
                    joined[-1] = _stack(last, block)
                    changed = True
                elif last is not None and not down and (last.rect[1], last.rect[3]) == (block.rect[1], block.rect[3]) \
                        and last.rect[2] + 1 == block.rect[0]:
                    joined[-1] = _side(last, block)
                    changed = True
                else:
                    joined.append(block)
            blocks = joined
    return blocks


def _overlap(a: Rect, b: Rect) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _without_covered(pieces: list[Block]) -> list[Block]:
    """A piece written again later (the same cell twice) counts once, as the later one."""
    kept: list[Block] = []
    for p in pieces:
        kept = [k for k in kept if not _overlap(k.rect, p.rect) or not _inside(k.rect, p.rect)]
        kept.append(p)
    return kept


def _inside(a: Rect, b: Rect) -> bool:
    return b[0] <= a[0] and a[2] <= b[2] and b[1] <= a[1] and a[3] <= b[3]
