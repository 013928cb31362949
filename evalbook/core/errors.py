"""The one exception tree and the exit codes every command shares.

    EvalbookError            anything evalbook refuses, with a Chinese message for the accountant
    ├── WorkbookUnusable     the file cannot be scored at all (exit 2)
    └── FrameworkInvalid     an indicator framework with problems (exit 2), each with its cell
"""

from __future__ import annotations

EXIT_OK = 0  # scored cleanly
EXIT_FINDINGS = 1  # scored, with 错误 findings
EXIT_UNUSABLE = 2  # the file (or the command line) cannot be used; nothing was written
EXIT_INTERRUPTED = 130  # Ctrl+C


class EvalbookError(Exception):
    """A refusal whose message is meant for the accountant (one line, Chinese)."""


class WorkbookUnusable(EvalbookError):
    """The file cannot be scored at all (exit code 2); the message is for the accountant."""


class FrameworkInvalid(EvalbookError):
    """An indicator framework that cannot be used; `problems` lists every one with its place."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = list(problems or [])
