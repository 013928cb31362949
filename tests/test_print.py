"""What an accountant prints: page setup, page breaks between blocks, and no text cut off.

The page arithmetic is checked on hand-worked figures; the template and a scored workbook are
read back as XML (pageSetup, rowBreaks, Print_Titles, row heights); LibreOffice's PDF export
shows the header row and the 一级 labels on every page their rows are on.
"""

from __future__ import annotations

import io
import math
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from evalbook.adapters.sheetxml import SheetPatch
from evalbook.build.example_funds import fund_values, waterworks
from evalbook.build.sheets import workbook_bytes
from evalbook.cli import main
from evalbook.department.framework import seed_framework
from evalbook.funds import names as N
from evalbook.workbook import contract as C
from evalbook.workbook import layout, pages
from evalbook.workbook.sheetspec import DEFAULT_HEIGHT, DEFAULT_WIDTH, LINE_HEIGHT, text_lines
from tests.conftest import EXAMPLE
from tests.test_batch import FULL

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


# ---- the page arithmetic ----------------------------------------------------------------------

def test_scale_and_page_height_follow_paper_margins_and_widths():
    # landscape A4: 841.89 - 2 × 0.4 × 72 = 784.29 points wide, 595.28 - 1.2 × 72 = 508.88 tall
    assert pages.printable(True) == (pytest.approx(784.29), pytest.approx(508.88))
    # 200 columns of 7 px (5.25 pt) = 1050 pt: 784.29/1050 = 74.7% → 74%
    assert pages.scale(1050, True) == 0.74
    assert pages.page_height(1050, True) == pytest.approx(508.88 / 0.74 * pages.SLACK)
    assert pages.scale(300, False) == 1.0  # narrower than the paper: printed at 100%


def test_paginate_keeps_blocks_and_starts_preferred_blocks_on_a_fresh_page():
    height = {r: 10.0 for r in range(1, 31)}.__getitem__
    # a page holds 50 points (five rows), later pages 40 after a 10-point title row
    assert pages.paginate(1, 12, height, 50, 10) == [5, 9]
    # rows 4–6 stay together: page 1 ends after 3; page 2 (room 40) takes 4–7
    assert pages.paginate(1, 12, height, 50, 10, keep=[(4, 6)]) == [3, 7, 11]
    # rows 3–8 (60 points) are taller than any page: split row by row where the room runs out
    assert pages.paginate(1, 12, height, 50, 10, keep=[(3, 8)]) == [5, 9]
    # block 3–5 fits on a fresh page but not after rows 1–3 on a 35-point page: it moves on
    assert pages.paginate(1, 8, height, 35, 0, prefer=[(3, 5)]) == [2, 5]
    assert pages.segments(4, 20, [3, 9, 15, 25]) == [(4, 9), (10, 15), (16, 20)]


# ---- the template as built --------------------------------------------------------------------

@pytest.fixture(scope="module")
def template() -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(workbook_bytes(funds=2)))


def _sheet_xml(data: bytes, title: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        workbook = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        rid = re.search(rf'<sheet [^>]*name="{title}"[^>]*r:id="(\w+)"', workbook).group(1)
        target = re.search(rf'Id="{rid}"[^>]*Target="/?(?:xl/)?([^"]+)"|Target="/?(?:xl/)?([^"]+)"[^>]*Id="{rid}"',
                           rels)
        return z.read("xl/" + (target.group(1) or target.group(2))).decode()


def test_every_visible_sheet_prints_on_a4_one_page_wide():
    data = workbook_bytes(funds=2)
    wide = {C.SCORE_SHEET, C.RULES_SHEET, C.RESULTS_SHEET, "专项资金自评表1", "专项资金自评表2", N.SUMMARY_SHEET}
    for spec in layout.sheets(2):
        if spec.hidden:
            continue
        xml = _sheet_xml(data, spec.title)
        setup = re.search(r"<pageSetup [^>]*>", xml).group(0)
        assert 'paperSize="9"' in setup and 'fitToWidth="1"' in setup and 'fitToHeight="0"' in setup, spec.title
        assert ('orientation="landscape"' in setup) == (spec.title in wide), spec.title
        assert re.search(r'<pageSetUpPr [^>]*fitToPage="1"', xml), spec.title
        assert "第 &amp;P 页，共 &amp;N 页" in xml, spec.title


def test_header_rows_repeat_and_results_print_area_grows(template):
    found = {}
    for ws in template.worksheets:
        found[ws.title] = (ws.print_title_rows, ws.print_area)
    assert found[C.SCORE_SHEET][0] == "$3:$3"
    assert found[C.RULES_SHEET][0] == "$2:$2"
    assert found[C.RESULTS_SHEET][0] == "$3:$3" and not found[C.RESULTS_SHEET][1]  # no print area: it follows the findings
    head = layout.fund_layout.FIRST_INDICATOR_ROW - 1
    assert found["专项资金自评表2"][0] == f"${head}:${head}"


def _merges(ws, column: str) -> list[tuple[int, int]]:
    found = []
    for rng in ws.merged_cells.ranges:
        if rng.min_col == rng.max_col == openpyxl.utils.column_index_from_string(column):
            found.append((rng.min_row, rng.max_row))
    return found


def test_score_sheet_breaks_between_blocks_and_labels_each_page(template):
    ws = template[C.SCORE_SHEET]
    breaks = [b.id for b in ws.row_breaks.brk]
    assert breaks, "the 评分表 is longer than one page"
    level2 = _merges(ws, "B")
    for b in breaks:  # no 二级 block runs over a break
        assert not any(top <= b < bottom for top, bottom in level2), b
    # a 一级 block over two pages has one label per page: 过程 then 过程（续）
    labels = {}
    for top, bottom in _merges(ws, "A"):
        assert not any(top <= b < bottom for b in breaks)
        labels[top] = ws[f"A{top}"].value
    level1 = [ws[f"A{r}"].value for r in sorted(labels)]
    assert "过程\n（续）" in level1
    assert level1[0].startswith("投入")
    # each page holds no more than the page height the sheet's widths allow
    width = sum(pages.column_points(ws.column_dimensions[c].width) for c in "ABCDEFGHIJKL")
    page = pages.page_height(width, True)
    title = ws.row_dimensions[3].height
    start = 1
    for n, b in enumerate(breaks + [int(ws.print_area.split("$")[-1])]):
        rows = sum(ws.row_dimensions[r].height or DEFAULT_HEIGHT for r in range(start, b + 1))
        assert rows + (title if n else 0) <= page, (start, b)
        start = b + 1


def test_chart_on_the_score_sheet_is_never_split(template):
    ws = template[C.SCORE_SHEET]
    anchor = ws._charts[0].anchor._from.row + 1
    breaks = [b.id for b in ws.row_breaks.brk]
    end = pages.rows_under(layout.sheets()[0], anchor, 7.5)
    assert not any(anchor <= b < end for b in breaks)


# ---- nothing clipped --------------------------------------------------------------------------

def _changed_text(before: Path, after: Path):
    """(sheet, cell, text) for every text a run wrote."""
    old = openpyxl.load_workbook(before)
    new = openpyxl.load_workbook(after)
    for ws in new.worksheets:
        if ws.sheet_state != "visible":
            continue
        previous = old[ws.title]
        hidden = {openpyxl.utils.get_column_letter(i) for dim in ws.column_dimensions.values() if dim.hidden
                  for i in range(dim.min or 1, (dim.max or dim.min or 1) + 1)}
        for row in ws.iter_rows():
            for cell in row:
                # (a fund sheet's hidden formula columns hold what Python parsed, never printed)
                if isinstance(cell.value, str) and cell.value != previous[cell.coordinate].value \
                        and cell.column_letter not in hidden:
                    yield ws, cell


def _room(ws, cell) -> tuple[float, float]:
    """(width in characters, height in points) a cell's text has: its merged block's, if any."""
    columns, rows = [cell.column_letter], [cell.row]
    for rng in ws.merged_cells.ranges:
        if cell.coordinate in rng:
            columns = [openpyxl.utils.get_column_letter(c) for c in range(rng.min_col, rng.max_col + 1)]
            rows = list(range(rng.min_row, rng.max_row + 1))
    width = sum(ws.column_dimensions[c].width if c in ws.column_dimensions else DEFAULT_WIDTH for c in columns)
    height = sum(ws.row_dimensions[r].height or DEFAULT_HEIGHT for r in rows)
    return width, height


def _assert_nothing_clipped(before: Path, after: Path) -> int:
    checked = 0
    for ws, cell in _changed_text(before, after):
        width, height = _room(ws, cell)
        lines = text_lines(cell.value, width)
        assert lines == 1 or cell.alignment.wrap_text, (ws.title, cell.coordinate, cell.value)
        assert lines * LINE_HEIGHT <= height, (ws.title, cell.coordinate, lines, height, cell.value)
        checked += 1
    return checked


def test_every_text_the_example_run_writes_has_the_room_it_needs(tmp_path, capsys):
    scored = tmp_path / "example.xlsm"
    shutil.copy(EXAMPLE, scored)
    assert main(["score", str(scored)]) == 0
    capsys.readouterr()
    # the 扣分说明 of every indicator and fund row, the status line, 校验结果's messages…
    assert _assert_nothing_clipped(EXAMPLE, scored) > 60
    ws = openpyxl.load_workbook(scored)["专项资金自评表1"]
    # J21 (成本) needs three lines in its 40-wide column, one more than the template's 30 points
    assert text_lines(ws["J21"].value, 40) == 3 and ws.row_dimensions[21].height == 3 * 13.5 + 3


def test_long_texts_get_taller_rows_and_a_shorter_run_gives_them_back(tmp_path, capsys):
    fund = waterworks(1)
    long_name = "农村饮水安全巩固提升工程新建及改扩建集中供水工程覆盖行政村数量（含易地扶贫搬迁安置点）"
    fund.indicators[0].name = long_name
    values = {**FULL, "填报单位": "衡山县" + "住房和城乡建设局" * 6, **fund_values(fund),
              "公用经费_本年决算": "约" + "五十二万元" * 12}
    path = tmp_path / "long.xlsx"
    path.write_bytes(workbook_bytes(values))
    blank = tmp_path / "blank.xlsx"
    shutil.copy(path, blank)
    main(["score", str(path)])
    capsys.readouterr()
    assert _assert_nothing_clipped(blank, path) > 40
    wb = openpyxl.load_workbook(path)
    results = wb[C.RESULTS_SHEET]
    grown = [r for r in range(4, results.max_row + 1) if (results.row_dimensions[r].height or 0) > DEFAULT_HEIGHT]
    assert grown, "a long message quoting the typed text wraps onto more lines"
    row = layout.fund_layout.FIRST_INDICATOR_ROW
    assert wb["专项资金自评表1"].row_dimensions[row].height > 30

    # the same book with short texts again: the rows shrink back to the template's
    short = {**FULL, **fund_values(waterworks(1))}
    book = openpyxl.load_workbook(path)
    cells = layout.input_cells()  # fund table cells by their key: the names are by column
    for name, value in short.items():
        sheet, ref = cells[name]
        book[sheet][ref].value = value
    book.save(path)
    main(["score", str(path)])
    capsys.readouterr()
    wb = openpyxl.load_workbook(path)
    template_height = layout.sheets()[4].height_of(row)
    assert wb["专项资金自评表1"].row_dimensions[row].height == template_height
    results = wb[C.RESULTS_SHEET]
    assert all((results.row_dimensions[r].height or DEFAULT_HEIGHT) == DEFAULT_HEIGHT
               for r in range(4 + len([1 for r in results.iter_rows(min_row=4) if r[0].value]), 60))


def test_row_heights_are_written_into_the_row_tags_only():
    xml = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
           '<row r="2" ht="40" customHeight="1"><c r="A2"><v>1</v></c></row><row><c r="A3"><v>2</v></c></row>'
           '<row r="7" spans="1:2"><c r="B7"><v>3</v></c></row></sheetData></worksheet>')
    patch = SheetPatch(xml)
    patch.set_row_heights({2: None, 5: 30, 7: 70.5, 9: 45.25, 10: None})
    assert patch.xml == (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="2"><c r="A2"><v>1</v></c></row><row><c r="A3"><v>2</v></c></row>'
        '<row r="5" ht="30" customHeight="1"/>'
        '<row r="7" spans="1:2" ht="70.5" customHeight="1"><c r="B7"><v>3</v></c></row>'
        '<row r="9" ht="45.25" customHeight="1"/></sheetData></worksheet>')
    empty = SheetPatch('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                       '<sheetData/></worksheet>')
    empty.set_row_heights({4: 30})
    assert '<sheetData><row r="4" ht="30" customHeight="1"/></sheetData>' in empty.xml


# ---- as LibreOffice prints it -----------------------------------------------------------------

def _pdf_pages(book: Path, tmp: Path) -> list[str]:
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp}/profile", "--convert-to", "pdf",
                    "--outdir", str(tmp), str(book)], check=True, capture_output=True, timeout=180)
    pdf = tmp / (book.stem + ".pdf")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    return [page.replace(" ", "") for page in text.split("\f")[:-1]]


def test_libreoffice_prints_the_header_and_the_block_labels_on_every_page(tmp_path, capsys):
    scored = tmp_path / "example.xlsm"
    shutil.copy(EXAMPLE, scored)
    main(["score", str(scored)])
    capsys.readouterr()
    printed = _pdf_pages(scored, tmp_path)
    score_pages = []
    for page in printed:
        if "部门整体支出绩效评价基础数据表" in page:
            break
        score_pages.append(page)
    assert len(score_pages) >= 2
    framework = seed_framework()
    titles = [ind.title.replace(" ", "") for ind in framework.indicators]

    def prefix(title: str) -> str:  # the shortest start no other title has (it prints on one line)
        return next(title[:n] for n in range(4, len(title) + 1)
                    if sum(t.startswith(title[:n]) for t in titles) == 1)

    seen = 0
    for n, page in enumerate(score_pages, 1):
        assert "一级指标" in page and "扣分说明" in page, n  # the header row repeats
        for ind, title in zip(framework.indicators, titles):
            if prefix(title) in page:
                seen += 1
                # a label wraps in its narrow column: its first line is what shows
                assert ind.level1[:4] in page and ind.level2[:4] in page, (n, ind.title)
    assert seen == len(titles)
    # the fund sheet's J21 成本 explanation prints whole, its 得X分 included
    fund = next(p for p in printed if "湘江水厂" in p and "成本指标" in p)
    assert re.search(r"得\d+(\.\d+)?分", fund[fund.index("成本指标"):])


def test_summary_charts_each_on_a_page_of_their_own(tmp_path, capsys):
    folder = tmp_path / "部门"
    folder.mkdir()
    data = workbook_bytes({**FULL, "填报单位": "衡山县人力资源和社会保障局"})
    for i in range(40):
        (folder / f"{i:02d}.xlsx").write_bytes(data)
    out = tmp_path / "汇总.xlsx"
    main(["batch", str(folder), "-o", str(out)])
    capsys.readouterr()
    ws = openpyxl.load_workbook(out)["图表"]
    # 40 departments: two charts of 20 (at most 35 bars fit a page), each after a break
    assert len(ws._charts) == 3
    breaks = [b.id for b in ws.row_breaks.brk]
    assert len(breaks) == 2
    edges = [0] + breaks + [10_000]
    for chart in ws._charts:
        top = chart.anchor._from.row + 1
        bottom = top + math.ceil(chart.height / 2.54 * 72 / 15)
        page = next(i for i in range(len(edges) - 1) if edges[i] < top <= edges[i + 1])
        assert bottom <= edges[page + 1] and bottom - top <= 24 / 2.54 * 72 / 15 + 1  # within one page
    printed = _pdf_pages(out, tmp_path)
    summary = [p for p in printed if "单位名称" in p and "排名" in p]
    # 部门指标: 640 rows (40 × 16) under a header repeated on each page, printed at between half
    # size and full size (LibreOffice measures columns wider than Excel): full pages of 15-point rows
    indicators = [p for p in printed if "计算值" in p and "自评得分" in p]
    rows_at_full_size = pages.printable(True)[1] / 15 - 2
    assert 640 / (2 * rows_at_full_size) <= len(indicators) <= 640 / rows_at_full_size + 1
    # 图表 prints as three pages (rates, then one per chart); 专项资金, 专项指标, 问题清单, 无法读取
    # and 框架 one each
    assert len(printed) == len(summary) + len(indicators) + 3 + 5
    assert sum("指纹" in p for p in printed) == 1 and sum("全年预算数" in p for p in printed) == 1
    # (a chart below a break is drawn clipped on the page before; its title's last page is its own)
    last = {title: max(i for i, p in enumerate(printed) if title in p) for title in ("第1—20名", "第21—40名")}
    assert last["第21—40名"] == last["第1—20名"] + 1
    assert all("第" in p and "页，共" in p for p in printed)
