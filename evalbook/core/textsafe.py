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


# ---- text that reaches a terminal ---------------------------------------------------------------
#
# A department's text (填报单位, a fund's name, a sheet name, a file name) printed raw can drive the
# terminal: ESC starts a control sequence that clears the screen or paints a fake "总分：100 优";
# C1 controls (U+0080–U+009F) do the same on terminals that read 8-bit CSI; bidi overrides and
# isolates reorder what is shown after them; line separators split a one-line message.  Such
# characters are shown as visible escapes instead, so the text stays recognisable but inert.

_TERMINAL_UNSAFE = (
    {*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)}
    | {0x061C, 0x200E, 0x200F, 0x2028, 0x2029}
    | set(range(0x202A, 0x202F))  # LRE RLE PDF LRO RLO
    | set(range(0x2066, 0x206A))  # LRI RLI FSI PDI
)
_TERMINAL_TABLE = {code: (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}") for code in _TERMINAL_UNSAFE}
_JSON_TABLE = {code: f"\\u{code:04x}" for code in _TERMINAL_UNSAFE}


def terminal_safe(text: object) -> str:
    """`text` with every control, bidi-override and line-separator character written as a visible
    escape (ESC → \\x1b, U+202E → \\u202e): one line, and nothing a terminal would obey."""
    return str(text).translate(_TERMINAL_TABLE)


def json_terminal_safe(document: str) -> str:
    """JSON text with the same characters as \\u escapes: still valid JSON meaning exactly the same
    (outside strings JSON holds none of them; whitespace between tokens is only space and newline,
    so the layout's newlines are kept), but nothing raw reaches the terminal."""
    return "\n".join(line.translate(_JSON_TABLE) for line in document.split("\n"))
