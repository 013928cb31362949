"""Render the scored example as an accountant sees it (LibreOffice → PDF → PNG) for the README.

    python -m evalbook.build.render        # writes docs/评分表.png and docs/基础数据表.png
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ..cli import main as cli_main

PAGES = {1: "评分表.png", 3: "基础数据表.png"}


def render(example: Path, docs: Path) -> list[Path]:
    if not shutil.which("soffice") or not shutil.which("pdftoppm"):
        raise SystemExit("需要 LibreOffice（soffice）和 poppler-utils（pdftoppm）")
    docs.mkdir(exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "example.xlsm"
        shutil.copy(example, book)
        cli_main(["score", str(book)])
        subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp}/profile",
                        "--convert-to", "pdf", "--outdir", tmp, str(book)],
                       check=True, capture_output=True, timeout=180)
        for page, name in PAGES.items():
            stem = Path(tmp) / f"page{page}"
            subprocess.run(["pdftoppm", "-png", "-r", "90", "-f", str(page), "-l", str(page), "-singlefile",
                            str(Path(tmp) / "example.pdf"), str(stem)], check=True, timeout=60)
            target = docs / name
            shutil.copy(stem.with_suffix(".png"), target)
            written.append(target)
    return written


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
    for path in render(root / "examples" / "衡山县住建局2020.xlsm", root / "docs"):
        print(path)
