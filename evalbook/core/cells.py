"""A1 references and column letters: the one place that knows how cells are named."""

from __future__ import annotations


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
