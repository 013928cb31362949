"""A1 references and column letters: the one place that knows how cells are named."""

from __future__ import annotations

import re

MAX_ROW, MAX_COLUMN = 1_048_576, 16_384
_CELL_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d{1,7})$")


def column_letter(index: int) -> str:
    """1 → 'A', 27 → 'AA'."""
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """'A' → 1, 'AA' → 27."""
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch.upper()) - 64
    return index


def cell_position(cell: str) -> tuple[int, int]:
    """'E9' → (row 9, column 5)."""
    letters = "".join(ch for ch in cell if ch.isalpha())
    return int("".join(ch for ch in cell if ch.isdigit())), column_index(letters)


def cell_at(row: int, column: int) -> str:
    """(9, 5) → 'E9'."""
    return f"{column_letter(column)}{row}"


_REF_CACHE: dict[str, tuple[str, int]] = {}


def split_ref(ref: str) -> tuple[str, int]:
    """'B4' → ('B', 4); raises ValueError for what is no cell of a sheet."""
    if ref in _REF_CACHE:
        return _REF_CACHE[ref]
    m = _CELL_REF.match(ref.upper()) if isinstance(ref, str) else None
    if not m or not 1 <= int(m.group(2)) <= MAX_ROW or column_index(m.group(1)) > MAX_COLUMN:
        raise ValueError(ref)
    if len(_REF_CACHE) < 200_000:  # every cell is looked at several times per patch
        _REF_CACHE[ref] = m.group(1), int(m.group(2))
    return m.group(1), int(m.group(2))


def split_range(text: str) -> tuple[int, int, int, int]:
    """'B4:C6' → (first column, first row, last column, last row); a single cell is a 1×1 range."""
    first, _, last = text.partition(":")
    c1, r1 = split_ref(first)
    c2, r2 = split_ref(last or first)
    a, b = column_index(c1), column_index(c2)
    return min(a, b), min(r1, r2), max(a, b), max(r1, r2)


def range_text(rng: tuple[int, int, int, int]) -> str:
    c1, r1, c2, r2 = rng
    return f"{column_letter(c1)}{r1}:{column_letter(c2)}{r2}"
