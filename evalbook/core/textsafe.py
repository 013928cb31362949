"""Text that reaches a cell must stay text.

Excel (and xlwings, and openpyxl) turn a string that starts with '=' into a formula, and CSV
consumers treat '+', '-' and '@' the same way.  A leading apostrophe is Excel's own "this is text"
mark: Excel hides it and keeps the rest literal.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def formula_safe(text: str) -> str:
    if text and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text
