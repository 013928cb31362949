"""The bureau's commands never stop for one bad input, and never write a formula-like text unmarked.

`merge` over summaries where an indicator has no scored department, hand-edited and damaged
summaries (listed in 无法读取 with the file and the cell); `batch` discovery over looping, broken and
outward links, pipes and unreadable subfolders; quotePrefix on formula-like text in every sheet
`batch` and `merge` write, checked in the written XML.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from defusedxml import ElementTree as ET

from evalbook.bureau import batch
from evalbook.department.framework import seed_framework
from evalbook.adapters.xlsx import XlsxBook
from evalbook.build.sheets import workbook_bytes
from evalbook.cli import main
from evalbook.funds import names as N
from tests.conftest import EXAMPLE, ROOT
from tests.test_batch import FULL

M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
HYPERLINK = '=HYPERLINK("http://example.invalid","点我")'


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def rows(path, title):
    wb = openpyxl.load_workbook(path, read_only=True)
    found = [r for r in wb[title].iter_rows(values_only=True) if any(v is not None for v in r)]
    wb.close()
    return found


def dicts(path, title):
    header, *body = rows(path, title)
    return [dict(zip(header, r + (None,) * (len(header) - len(r)))) for r in body]


def rate_rows(path):
    """图表's rate table as {指标: (计分单位数, 平均得分率)}: the rows below the header up to the
    tally line (the only row without a 计分单位数)."""
    table = []
    for r in rows(path, "图表")[2:]:
        if len(r) < 3 or r[2] is None:
            break
        table.append(r)
    return {r[0]: (r[2], r[3]) for r in table}


def department(folder: Path, name: str, **changes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    values = {**FULL, **changes}
    path = folder / name
    path.write_bytes(workbook_bytes({k: v for k, v in values.items() if v is not None}))
    return path


def summary_of(tmp_path, capsys, folder: Path, name: str) -> Path:
    out = tmp_path / name
    code, _, err = run(capsys, "batch", folder, "-o", out, "--jobs", 1)
    assert out.exists(), err
    return out


def edit(path: Path, sheet: str, cell: str, value) -> None:
    """What an accountant does in Excel: change one cell and save."""
    wb = openpyxl.load_workbook(path)
    wb[sheet][cell] = value
    wb.save(path)


# ---- merge: indicators nobody scored ------------------------------------------------------------

def test_merge_of_a_blank_template_summary(tmp_path, capsys):
    folder = tmp_path / "空白"
    folder.mkdir()
    assert run(capsys, "new", folder / "a.xlsm")[0] == 0
    part = summary_of(tmp_path, capsys, folder, "空白汇总.xlsx")
    merged = tmp_path / "合并.xlsx"
    code, out, err = run(capsys, "merge", part, "-o", merged)
    # every input the blank template lacks is an 错误: scored, with findings
    assert (code, err) == (1, "")
    assert "共1个文件：已评分1个（其中总分待补充1个，有错误的1个），无法读取0个" in out
    (row,) = dicts(merged, "汇总")
    assert (row["文件"], row["单位名称"], row["总分"], row["排名"]) == ("空白/a.xlsm", "（未填报单位）", "待补充", None)
    # a blank 楼堂馆所 means "no project", full marks; every other indicator has no scored department
    building = {"楼堂馆所面积控制率", "楼堂馆所投资控制率"}
    assert building <= set(seed_framework().keys)
    assert rate_rows(merged) == {k: (1, 1) if k in building else (0, None) for k in seed_framework().keys}


def test_merge_of_a_summary_where_every_file_was_unreadable(tmp_path, capsys):
    folder = tmp_path / "坏"
    folder.mkdir()
    (folder / "x.xlsx").write_bytes(b"PK\x03\x04 truncated")
    (folder / "y.xlsx").write_text("单位,总分\n", encoding="utf-8")
    part = summary_of(tmp_path, capsys, folder, "坏汇总.xlsx")
    merged = tmp_path / "合并.xlsx"
    code, out, _ = run(capsys, "merge", part, "-o", merged)
    assert code == 2 and "共2个文件：已评分0个，无法读取2个" in out
    assert [r["文件"] for r in dicts(merged, "无法读取")] == ["坏/x.xlsx", "坏/y.xlsx"]
    assert dicts(merged, "汇总") == []
    assert rate_rows(merged) == {}  # no department, so no framework whose indicators to list
    assert dicts(merged, "框架") == []


def test_merge_when_one_department_has_no_satisfaction_figure(tmp_path, capsys):
    # 甲 full marks everywhere; 辛 full marks but no 满意度: only 甲 counts for 满意度
    east, west = tmp_path / "东", tmp_path / "西"
    department(east, "甲.xlsx", 填报单位="甲局")
    department(west, "辛.xlsx", 填报单位="辛局", 满意度=None)
    a = summary_of(tmp_path, capsys, east, "东.xlsx")
    b = summary_of(tmp_path, capsys, west, "西.xlsx")
    assert rate_rows(b)["满意度"] == (0, None)
    merged = tmp_path / "合并.xlsx"
    code, out, err = run(capsys, "merge", a, b, "-o", merged)
    assert (code, err) == (1, "")  # 辛's blank 满意度 is an 错误
    rates = rate_rows(merged)
    assert rates["满意度"] == (1, 1)
    assert all(rates[k] == (2, 1) for k in seed_framework().keys if k != "满意度")
    assert [(r["文件"], r["总分"]) for r in dicts(merged, "汇总")] == [("东/甲.xlsx", 100), ("西/辛.xlsx", "待补充")]


# ---- merge: hand-edited and damaged parts ---------------------------------------------------------

@pytest.fixture
def two_parts(tmp_path, capsys):
    """东.xlsx with 甲 (100) and 西.xlsx with 乙 (100, one fund-less department each)."""
    east, west = tmp_path / "东", tmp_path / "西"
    department(east, "甲.xlsx", 填报单位="甲局")
    department(west, "乙.xlsx", 填报单位="乙局")
    return summary_of(tmp_path, capsys, east, "东.xlsx"), summary_of(tmp_path, capsys, west, "西.xlsx")


# 汇总's columns: A 排名, B 文件, C 单位名称, D 框架, E…T the 16 indicators, U 总分, V 等级, W 错误数, X 提示数,
# Y 自评总分, Z 自评−总分, AA 专项资金个数, AB 专项资金得分.  图表: row 2 the header, rows 3… one per indicator
# (all at 100% here, so in catalogue order), column D 平均得分率.  框架: row 2… one per indicator, in order
# (D 序号, F 指标).
HAND_EDITS = [
    ("汇总", "U2", "九十", "“汇总”表U2单元格（总分）的值“九十”不是数字"),
    ("汇总", "W2", 1e20, "“汇总”表W2单元格（错误数）的值“1e+20”不是0到1000000000之间的整数"),
    ("汇总", "X2", -1, "“汇总”表X2单元格（提示数）的值“-1”不是0到1000000000之间的整数"),
    ("汇总", "E2", True, "“汇总”表E2单元格（在职人员控制率）的值“True”不是数字"),
    ("图表", "D3", "高", "“图表”表D3单元格（平均得分率）的值“高”不是数字"),
    ("图表", "D4", None, "“图表”表D4单元格（平均得分率）为空，而计分单位数不为0"),
    ("汇总", "U1", "合计", "“汇总”表缺少列：总分"),
    ("汇总", "D2", "别的框架", "“汇总”表D2单元格（框架）的框架“别的框架”不在“框架”表中"),
    ("框架", "F3", "在职人员控制率", "“框架”表F3单元格（指标）为空或重复"),
    ("框架", "D3", 5, "“框架”表D3单元格（序号）应为2"),
    ("框架", "B3", "改名的框架", "“框架”表B3单元格（框架名称）与同一框架第2行的不同"),
    ("图表", "A3", "某指标", "“图表”表A3单元格（指标）“某指标”不是框架“部门整体支出绩效评价指标评分表［"),
]


@pytest.mark.parametrize("sheet, cell, value, words", HAND_EDITS)
def test_a_hand_edited_part_is_listed_with_its_cell_and_the_rest_merged(two_parts, tmp_path, capsys,
                                                                          sheet, cell, value, words):
    east, west = two_parts
    assert seed_framework().keys[0] == "在职人员控制率"
    edit(west, sheet, cell, value)
    merged = tmp_path / "合并.xlsx"
    code, out, err = run(capsys, "merge", east, west, "-o", merged)
    assert code == 2
    assert "共2个文件：已评分1个，无法读取1个" in out
    # nothing of the edited part is merged, not even the rows before the bad cell
    assert [r["文件"] for r in dicts(merged, "汇总")] == ["东/甲.xlsx"]
    (failed,) = dicts(merged, "无法读取")
    assert failed["文件"] == "西.xlsx"
    assert "汇总表“西.xlsx”" in failed["原因"] and words in failed["原因"]
    assert err.count("\n") == 1 and words in err and "意外错误" not in err
    assert rate_rows(merged)["在职人员控制率"] == (1, 1)


def test_a_damaged_part_is_listed_and_the_rest_merged(two_parts, tmp_path, capsys):
    east, west = two_parts
    data = west.read_bytes()
    west.write_bytes(data[: len(data) // 2])
    merged = tmp_path / "合并.xlsx"
    code, out, err = run(capsys, "merge", east, west, "-o", merged)
    assert code == 2 and [r["文件"] for r in dicts(merged, "汇总")] == ["东/甲.xlsx"]
    (failed,) = dicts(merged, "无法读取")
    assert failed["文件"] == "西.xlsx" and "已损坏" in failed["原因"]


def test_a_department_workbook_still_stops_the_merge(two_parts, tmp_path, capsys):
    east, _ = two_parts
    book = department(tmp_path / "部门", "丙.xlsx")
    code, _, err = run(capsys, "merge", east, book, "-o", tmp_path / "m.xlsx")
    assert code == 2 and "不是evalbook batch生成的汇总表" in err
    assert not (tmp_path / "m.xlsx").exists()


# ---- batch discovery: links, pipes, unreadable folders ---------------------------------------------

@pytest.fixture
def linked_folder(tmp_path):
    """部门/ with one good workbook and every kind of entry that must not be opened."""
    folder = tmp_path / "部门"
    department(folder, "甲.xlsx", 填报单位="甲局")
    outside = department(tmp_path / "别处", "秘密.xlsx", 填报单位="外局")
    os.symlink("自己.xlsx", folder / "自己.xlsx")  # loops on itself
    os.symlink("不存在.xlsx", folder / "失效.xlsx")
    os.symlink(outside, folder / "外面.xlsx")
    os.symlink("甲.xlsx", folder / "同一个.xlsx")  # inside the folder: followed, and the same file as 甲
    os.mkfifo(folder / "管道.xlsx")
    os.symlink(tmp_path, folder / "上级.xlsx")  # a link to a folder is never followed
    return folder


REASONS = {
    "部门/外面.xlsx": "是指向所选文件夹以外的文件的链接",
    "部门/失效.xlsx": "指向的文件已不存在",
    "部门/管道.xlsx": "是命名管道（FIFO），不是工作簿文件",
    "部门/自己.xlsx": "循环指向自身",
}


def test_bad_links_and_pipes_are_rows_not_a_stopped_batch(linked_folder, tmp_path, capsys):
    out = tmp_path / "汇总.xlsx"
    code, stdout, err = run(capsys, "batch", linked_folder, "-o", out, "--jobs", 1)
    assert code == 2 and err == ""
    assert "共5个文件：已评分1个，无法读取4个" in stdout
    # 同一个.xlsx (U+540C) sorts before 甲.xlsx (U+7532) and is the same file: scored once, under the first name
    assert [(r["文件"], r["单位名称"]) for r in dicts(out, "汇总")] == [("部门/同一个.xlsx", "甲局")]
    failed = {r["文件"]: r["原因"] for r in dicts(out, "无法读取")}
    assert set(failed) == set(REASONS)
    for name, words in REASONS.items():
        assert words in failed[name] and Path(name).name in failed[name]
    assert "外局" not in str(rows(out, "汇总"))


def test_discovery_never_opens_a_pipe(linked_folder, monkeypatch):
    opened = []
    real_open = open

    def spying_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", spying_open)
    tasks = batch.discover([str(linked_folder)])
    assert not [f for f in opened if "管道" in f]
    pipe = next(t for t in tasks if t.name == "部门/管道.xlsx")
    result = batch.score_file(pipe)
    assert not result["ok"] and "命名管道" in result["reason"]
    assert not [f for f in opened if "管道" in f]


def test_a_pipe_named_on_the_command_line_does_not_hang_the_batch(tmp_path):
    good = department(tmp_path, "甲.xlsx", 填报单位="甲局")
    pipe = tmp_path / "管道.xlsx"
    os.mkfifo(pipe)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XLWINGS_LICENSE_KEY": "noncommercial"}
    done = subprocess.run([sys.executable, "-m", "evalbook.cli", "batch", str(good), str(pipe), "-o",
                           str(tmp_path / "汇总.xlsx"), "--jobs", "1"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2, done.stderr
    assert "共2个文件：已评分1个，无法读取1个" in done.stdout
    (failed,) = dicts(tmp_path / "汇总.xlsx", "无法读取")
    assert failed["文件"] == "管道.xlsx" and "命名管道" in failed["原因"]


def test_a_link_named_on_the_command_line_is_followed_or_reported(tmp_path, capsys):
    elsewhere = department(tmp_path / "别处", "乙.xlsx", 填报单位="乙局")
    os.symlink(elsewhere, tmp_path / "链接.xlsx")  # named by the user: followed wherever it points
    os.symlink(tmp_path / "没有.xlsx", tmp_path / "断了.xlsx")
    out = tmp_path / "汇总.xlsx"
    code, stdout, _ = run(capsys, "batch", tmp_path / "链接.xlsx", tmp_path / "断了.xlsx", "-o", out)
    assert code == 2
    assert [r["单位名称"] for r in dicts(out, "汇总")] == ["乙局"]
    assert [r["文件"] for r in dicts(out, "无法读取")] == ["断了.xlsx"]


def test_an_unreadable_subfolder_is_a_row(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "部门"
    department(folder, "甲.xlsx", 填报单位="甲局")
    department(folder / "锁住", "乙.xlsx", 填报单位="乙局")
    real_scandir = os.scandir

    def scandir(path="."):
        if isinstance(path, (str, os.PathLike)) and Path(path).name == "锁住":  # what a folder without read permission gives (tests run as root)
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    out = tmp_path / "汇总.xlsx"
    code, stdout, _ = run(capsys, "batch", folder, "-o", out, "--jobs", 1)
    assert code == 2 and "共2个文件：已评分1个，无法读取1个" in stdout
    (failed,) = dicts(out, "无法读取")
    assert failed["文件"] == "部门/锁住" and "无法读取文件夹“锁住”" in failed["原因"] and "没有权限" in failed["原因"]


def test_merge_lists_a_looping_link_among_its_parts(two_parts, tmp_path, capsys):
    east, _ = two_parts
    parts = tmp_path / "各县"
    parts.mkdir()
    shutil.copy(east, parts / "东.xlsx")
    os.symlink("环.xlsx", parts / "环.xlsx")
    merged = tmp_path / "合并.xlsx"
    code, out, err = run(capsys, "merge", parts, "-o", merged)
    assert code == 2 and [r["文件"] for r in dicts(merged, "汇总")] == ["东/甲.xlsx"]
    (failed,) = dicts(merged, "无法读取")
    assert failed["文件"] == "各县/环.xlsx" and "循环指向自身" in failed["原因"]


# ---- quotePrefix on formula-like text ----------------------------------------------------------------

def marked_cells(path: Path) -> dict[str, list[tuple[str, str, bool]]]:
    """Sheet → [(cell, text, quotePrefix)] for every text cell, read from the package's XML."""
    with zipfile.ZipFile(path) as z:
        strings = []
        if "xl/sharedStrings.xml" in z.namelist():
            for si in ET.fromstring(z.read("xl/sharedStrings.xml")):
                strings.append("".join(t.text or "" for t in si.iter(f"{M}t")))
        styles = ET.fromstring(z.read("xl/styles.xml"))
        prefixed = [xf.get("quotePrefix") in ("1", "true") for xf in styles.find(f"{M}cellXfs")]
        workbook = ET.fromstring(z.read("xl/workbook.xml"))
        rels = {r.get("Id"): r.get("Target") for r in ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))}
        found = {}
        for sheet in workbook.find(f"{M}sheets"):
            target = rels[sheet.get(f"{R}id")].lstrip("/")
            part = target if target.startswith("xl/") else "xl/" + target
            cells = []
            for c in ET.fromstring(z.read(part)).iter(f"{M}c"):
                kind = c.get("t")
                if kind == "s":
                    text = strings[int(c.find(f"{M}v").text)]
                elif kind == "inlineStr":
                    text = "".join(t.text or "" for t in c.iter(f"{M}t"))
                elif kind == "str":
                    text = c.find(f"{M}v").text or ""
                else:
                    continue
                assert c.find(f"{M}f") is None
                cells.append((c.get("r"), text, prefixed[int(c.get("s", "0"))]))
            found[sheet.get("name")] = cells
    return found


def formula_like_cells(path: Path) -> dict[str, list[str]]:
    """Sheet → the cells whose text Excel or a CSV reader would take for a formula; each is checked to
    carry quotePrefix, and no other text cell does."""
    found = {}
    for sheet, cells in marked_cells(path).items():
        for ref, text, prefixed in cells:
            assert prefixed == text.startswith(("=", "+", "-", "@")), (sheet, ref, text)
        found[sheet] = sorted(ref for ref, text, _ in cells if text.startswith(("=", "+", "-", "@")))
    return found


@pytest.fixture
def hostile_book(tmp_path) -> Path:
    """The example (two funds, one 提示 per…) under a formula-like file name, with a formula-like
    填报单位 and first fund name."""
    path = tmp_path / "=1+1.xlsm"
    shutil.copy(EXAMPLE, path)
    with XlsxBook(path) as book:
        book.write_values({"填报单位": HYPERLINK, N.header_name(1, "专项资金名称"): "@SUM(1)"})
        book.save()
    return path


def test_batch_marks_formula_like_text_in_every_sheet(hostile_book, tmp_path, capsys):
    out = tmp_path / "汇总.xlsx"
    code, _, err = run(capsys, "batch", hostile_book, "-o", out, "--jobs", 1)
    assert code in (0, 1), err
    n_findings = len(dicts(out, "问题清单"))
    assert n_findings >= 1

    def name_and_unit(n):  # 文件 and 单位名称 (单位) of rows 2 … n + 1
        return sorted([f"A{r}" for r in range(2, n + 2)] + [f"B{r}" for r in range(2, n + 2)])

    fund_rows = dicts(out, "专项指标")
    first_fund = [f"D{r}" for r, row in enumerate(fund_rows, start=2) if row["专项序号"] == 1]
    # 专项1: 预算执行率 and 13 indicators (8 产出 at 6.25, 4 效益 at 7.5, 满意度 10); 专项2: 预算执行率 and 7
    assert len(fund_rows) == 22 and len(first_fund) == 14
    assert formula_like_cells(out) == {
        "汇总": ["B2", "C2"],  # 文件, 单位名称
        "图表": [],
        "部门指标": name_and_unit(16),
        "专项资金": ["A2", "A3", "B2", "B3", "D2"],  # 文件 and 单位名称 of both funds, the first fund's name
        "专项指标": sorted(name_and_unit(22) + first_fund),
        "问题清单": name_and_unit(n_findings),
        "无法读取": [],
        "框架": [],
    }
    assert dicts(out, "汇总")[0]["单位名称"] == HYPERLINK  # the text itself, unchanged


def test_merge_marks_formula_like_text_too(hostile_book, tmp_path, capsys):
    part = tmp_path / "汇总.xlsx"
    run(capsys, "batch", hostile_book, "-o", part, "--jobs", 1)
    bad = tmp_path / "-坏.xlsx"
    bad.write_bytes(b"PK\x03\x04 truncated")
    merged = tmp_path / "合并.xlsx"
    run(capsys, "merge", part, bad, "-o", merged)
    cells = formula_like_cells(merged)
    assert cells["汇总"] == ["B2", "C2"] and cells["无法读取"] == ["A2"]
    assert cells["专项资金"] == formula_like_cells(part)["专项资金"]


# ---- batch: a summary among the departments' files ----------------------------------------------

def test_a_summary_in_the_input_folder_is_skipped_with_a_note(tmp_path, capsys):
    folder = tmp_path / "部门"
    department(folder, "甲.xlsx", 填报单位="甲局")
    # last month's summary, saved among the departments' workbooks under another name
    previous = summary_of(tmp_path, capsys, folder, "上月汇总.xlsx")
    shutil.move(previous, folder / "上月汇总.xlsx")
    out = tmp_path / "汇总.xlsx"
    code, stdout, err = run(capsys, "batch", folder, "-o", out, "--jobs", 2)
    assert code == 0, err
    assert err == "evalbook: 注意：已跳过“部门/上月汇总.xlsx”：这是evalbook生成的汇总表，不是部门填报的工作簿\n"
    assert stdout.startswith("共1个文件：已评分1个，无法读取0个，跳过汇总表1个；")
    assert dicts(out, "无法读取") == []
    assert [r["文件"] for r in dicts(out, "汇总")] == ["部门/甲.xlsx"]
