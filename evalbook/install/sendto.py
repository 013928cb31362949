"""What 发送到 → 绩效评价 校验并评分 runs: `evalbook score` on each chosen file, in a console window
that stays open until the user has read it (the route for WPS users and for workbooks whose
macros are blocked)."""

from __future__ import annotations

import sys

from evalbook.core.errors import EXIT_FINDINGS, EXIT_OK
from evalbook.core.textsafe import terminal_safe

MEANING = {
    EXIT_OK: "评分完成，没有错误。",
    EXIT_FINDINGS: "评分完成，但有“错误”：请打开工作簿查看“校验结果”表。",
}
UNUSABLE = "该文件未能评分：原因见上一行。"


def _title(text: str) -> None:
    if sys.platform == "win32":
        try:
            import ctypes

            ctypes.windll.kernel32.SetConsoleTitleW(text)
        except (AttributeError, OSError):
            pass


def main(argv: list[str] | None = None, wait=input) -> int:
    from evalbook.cli import main as evalbook_main

    files = list(sys.argv[1:] if argv is None else argv)
    _title("绩效评价 校验并评分")
    worst = EXIT_OK
    if not files:
        print("请在资源管理器中右键工作簿，选择“发送到 → 绩效评价 校验并评分”。")
    for path in files:
        print(f"==== {terminal_safe(path)} ====")
        code = evalbook_main(["score", path])
        print(MEANING.get(code, UNUSABLE))
        print()
        worst = max(worst, code)
    try:
        wait("按回车键关闭本窗口……")
    except (EOFError, KeyboardInterrupt):
        pass
    return worst


if __name__ == "__main__":
    sys.exit(main())
