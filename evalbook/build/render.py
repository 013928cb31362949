"""Render the scored example as an accountant sees it (LibreOffice → PDF → PNG) for the README.

    python -m evalbook.build.render        # writes docs/评分表.png, 基础数据表.png, 专项资金自评表.png
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ..cli import main as cli_main

# picture name → a title printed on the first page of that sheet
PAGES = {
    "评分表.png": "部门整体支出绩效评价指标评分表",
    "基础数据表.png": "部门整体支出绩效评价基础数据表",
    "专项资金自评表.png": "年度县级专项资金绩效目标自评表",
}


def _page_with(pdf: Path, title: str) -> int:
    count = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in count.splitlines() if line.startswith("Pages:")))
    for page in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
        if title in text.replace(" ", ""):
            return page
    raise LookupError(title)


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
        pdf = Path(tmp) / "example.pdf"
        for name, title in PAGES.items():
            page = _page_with(pdf, title)
            stem = Path(tmp) / f"page{page}"
            subprocess.run(["pdftoppm", "-png", "-r", "90", "-f", str(page), "-l", str(page), "-singlefile",
                            str(pdf), str(stem)], check=True, timeout=60)
            target = docs / name
            shutil.copy(stem.with_suffix(".png"), target)
            written.append(target)
    return written


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
    for path in render(root / "examples" / "衡山县住建局2020.xlsm", root / "docs"):
        print(path)
