"""The 使用说明 page the ribbon's button opens: the README's section for accountants and the
office's IT person, as a small self-contained HTML file shipped in the package
(`evalbook/template/help_zh.html`), so the help on the PC is the README's own text."""

from __future__ import annotations

import html
import re
from pathlib import Path

SECTION = "## 给会计和单位信息员的使用说明"
HELP_FILE = Path(__file__).resolve().parents[1] / "template" / "help_zh.html"
README = Path(__file__).resolve().parents[2] / "README.md"

_STYLE = ("body{font-family:'Microsoft YaHei','微软雅黑',sans-serif;max-width:60em;margin:2em auto;"
          "line-height:1.7;padding:0 1em}code,pre{font-family:Consolas,monospace;background:#f3f3f3}"
          "pre{padding:.6em;white-space:pre-wrap}p.indent{margin-left:2em}")


def section(readme: str) -> list[str]:
    lines = readme.split("\n")
    start = lines.index(SECTION)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start:end]


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)


def help_html(readme: str) -> str:
    body: list[str] = []
    in_code = False
    for line in section(readme):
        if line.startswith("```"):
            body.append("</pre>" if in_code else "<pre>")
            in_code = not in_code
        elif in_code:
            body.append(html.escape(line, quote=False))
        elif line.startswith("### "):
            body.append(f"<h3>{_inline(line[4:])}</h3>")
        elif line.startswith("## "):
            body.append(f"<h2>{_inline(line[3:])}</h2>")
        elif line.strip():
            indent = ' class="indent"' if line.startswith(" ") else ""
            body.append(f"<p{indent}>{_inline(line.strip())}</p>")
    return ("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f"<title>绩效评价 使用说明</title><style>{_STYLE}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def build_help(readme: Path = README, target: Path = HELP_FILE) -> Path:
    target.write_text(help_html(readme.read_text(encoding="utf-8")), encoding="utf-8", newline="\n")
    return target
