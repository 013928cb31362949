"""Render the scored example and a bureau's batch summary as they print (LibreOffice → PDF →
PNG) for the README.

    python -m evalbook.build.render        # writes docs/评分表.png, 评分表_第2页.png, 基础数据表.png,
                                           # 专项资金自评表.png, 汇总.png, 汇总_图表.png
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ..cli import main as cli_main
from .example import example_values
from .template import build_template_bytes

# picture name → (a title printed on the first page of that sheet, which of its pages)
PAGES = {
    "评分表.png": ("部门整体支出绩效评价指标评分表", 0),
    "评分表_第2页.png": ("部门整体支出绩效评价指标评分表", 1),  # the header row and 过程（续） repeat
    "基础数据表.png": ("部门整体支出绩效评价基础数据表", 0),
    "专项资金自评表.png": ("年度县级专项资金绩效目标自评表", 0),
}
SUMMARY_PAGES = {
    "汇总.png": ("排名", 0),
    "汇总_图表.png": ("各指标平均得分率", 0),
}
# the summary's departments: the example's figures under other names, one figure changed each
DEPARTMENTS = (("衡山县财政局", {}), ("衡山县教育局", {"满意度": 0.85}), ("衡山县水利局", {"违规事项数": 2}),
               ("衡山县自然资源局", {"政府采购_本年决算": 250}), ("衡山县交通运输局", {"实际在职人数": 22}))


def _page_with(pdf: Path, title: str) -> int:
    count = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in count.splitlines() if line.startswith("Pages:")))
    for page in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
        if title in text.replace(" ", ""):
            return page
    raise LookupError(title)


def _convert(book: Path, tmp: str) -> Path:
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp}/profile",
                    "--convert-to", "pdf", "--outdir", tmp, str(book)],
                   check=True, capture_output=True, timeout=180)
    return Path(tmp) / (book.stem + ".pdf")


def _pictures(pdf: Path, wanted: dict, docs: Path, tmp: str) -> list[Path]:
    written = []
    for name, (title, offset) in wanted.items():
        page = _page_with(pdf, title) + offset
        stem = Path(tmp) / f"page{page}"
        subprocess.run(["pdftoppm", "-png", "-r", "90", "-f", str(page), "-l", str(page), "-singlefile",
                        str(pdf), str(stem)], check=True, timeout=60)
        target = docs / name
        shutil.copy(stem.with_suffix(".png"), target)
        written.append(target)
    return written


def render(example: Path, docs: Path) -> list[Path]:
    if not shutil.which("soffice") or not shutil.which("pdftoppm"):
        raise SystemExit("需要 LibreOffice（soffice）和 poppler-utils（pdftoppm）")
    docs.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "example.xlsm"
        shutil.copy(example, book)
        cli_main(["score", str(book)])
        written = _pictures(_convert(book, tmp), PAGES, docs, tmp)
        folder = Path(tmp) / "各部门"
        folder.mkdir()
        shutil.copy(example, folder / example.name)
        values, _ = example_values()
        for unit, changes in DEPARTMENTS:
            data = build_template_bytes({**values, "填报单位": unit, **changes})
            (folder / f"{unit}2020.xlsm").write_bytes(data)
        summary = Path(tmp) / "汇总.xlsx"
        cli_main(["batch", str(folder), "-o", str(summary)])
        written += _pictures(_convert(summary, tmp), SUMMARY_PAGES, docs, tmp)
    return written


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
    for path in render(root / "examples" / "衡山县住建局2020.xlsm", root / "docs"):
        print(path)
