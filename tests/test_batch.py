"""`evalbook batch` and `evalbook merge` on a folder of generated workbooks.

Every department starts from FULL, whose figures score full marks on every indicator under the
default 评分规则 (100 points), and changes one or two figures; the expected scores are worked
out by hand in the comments, not by the engine.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from evalbook.bureau import batch
from evalbook.department.framework import seed_framework
from evalbook.adapters.xlsx import XlsxBook
from evalbook.build.sheets import workbook_bytes
from evalbook.cli import main
from evalbook.funds import names as N
from tests.conftest import EXAMPLE

FULL = {
    "评价年度": 2023,
    "编制数": 20, "实际在职人数": 20,  # 在职人员控制率 100% → 5
    "三公经费_上年预算": 10, "三公经费_本年预算": 10,  # 三公经费变动率 0% → 5
    "三公经费_本年决算": 10,  # 三公经费控制率 100% → 7
    "上年结转": 0, "年初预算": 100, "本年追加预算": 0, "年末结余": 0,  # 预算完成率 100% → 5, 预算控制率 0% → 5
    # 楼堂馆所 left blank: no project → 5 + 5
    "公用经费_本年预算": 50, "公用经费_本年决算": 50,  # 100% → 8
    "政府采购_本年预算": 20, "政府采购_本年决算": 20,  # 100% → 6
    **{f"管理制度_{i}": "是" for i in range(1, 5)},  # 4 × 2 → 8
    **{f"信息公开_{i}": "是" for i in range(1, 6)},  # 5 × 1 → 5
    "违规事项数": 0,  # → 6
    "重点工作考核得分": 100, "重点工作考核总分": 100,  # 100/100 × 8 → 8
    "效益得分": 10,  # → 10
    "行政效能": "好",  # → 6
    "满意度": 0.95,  # ≥ 90% → 6
}
FULL_SCORES = dict(zip(seed_framework().keys, (5, 5, 5, 5, 5, 5, 8, 7, 6, 8, 6, 5, 8, 10, 6, 6)))
# the 框架 column: the framework's name and the first six digits of its fingerprint
SEED_LABEL = f"部门整体支出绩效评价指标评分表［{seed_framework().fingerprint[:6]}］"

# file → (填报单位, changes to FULL)
DEPARTMENTS = {
    "甲.xlsx": ("甲局", {}),  # 100
    # 公用经费 52.5/50 = 105%: 5 whole points over, 1 each → 8 - 5 = 3; total 95.
    # Self-scores all full (100): 自评−总分 = +5 and one 提示 (公用经费控制率 8 vs 3).
    "乙.xlsx": ("乙局", {"公用经费_本年决算": 52.5, **{f"自评_{k}": w for k, w in FULL_SCORES.items()}}),
    # 满意度 85% is in [80%,90%) → 4 (-2); 行政效能 一般 → 3 (-3); total 95
    "丙.xlsx": ("丙局", {"满意度": 0.85, "行政效能": "一般"}),
    # 2 violations → 6 - 2 = 4 (-2); one 管理制度 item 否 → 6 (-2); total 96
    "丁.xlsx": ("丁局", {"违规事项数": 2, "管理制度_4": "否"}),
    # 在职 23/20 = 115%: 15 points × 0.5 = 7.5 ≥ 5 → 0 (-5);
    # 政府采购 18/20 = 90%: 10% off, 2 steps of 5% × 2 → 6 - 4 = 2 (-4); total 91
    "戊.xlsx": ("戊局", {"实际在职人数": 23, "政府采购_本年决算": 18}),
    # its own 评分规则 deducts 1 (not 0.5) per point: 51/50 = 102% → 2 × 1 → 3 (-2); total 98
    # (under the default rules it would be 99)
    "己.xlsx": ("己局", {"编制数": 50, "实际在职人数": 51}),
    # a negative 项目支出 is an 错误 that no indicator reads: still scored, 100, one 错误
    "庚.xlsx": ("庚局", {"项目支出_本年预算": -5}),
    # no 满意度: that indicator and so 总分 are 待补充; no 错误
    "辛.xlsx": ("辛局", {"满意度": None}),
    # 三公经费 10 ≠ 公务用车经费 3 + 公务接待 2: an 错误 that stops both 三公 indicators; 总分 待补充
    "壬.xlsx": ("壬局", {"公务用车经费_本年预算": 3, "公务接待_本年预算": 2}),
    # in a subfolder, as .xlsm: 重点工作 90/100 × 8 = 7.2 (-0.8); total 99.2
    "乡镇/癸.xlsm": ("癸镇", {"重点工作考核得分": 90}),
}
CUSTOM_RULES = "己.xlsx"

# (file, 总分, 排名): 总分 descending, ties share a rank (1,1,3) in file-name order, 待补充 last
EXPECTED = [
    ("部门/庚.xlsx", 100, 1),
    ("部门/甲.xlsx", 100, 1),
    ("部门/乡镇/癸.xlsm", 99.2, 3),
    ("部门/己.xlsx", 98, 4),
    ("部门/丁.xlsx", 96, 5),
    ("部门/丙.xlsx", 95, 6),
    ("部门/乙.xlsx", 95, 6),
    ("部门/戊.xlsx", 91, 8),
    ("部门/壬.xlsx", "待补充", None),
    ("部门/辛.xlsx", "待补充", None),
]
GRADES = {100: "优", 99.2: "优", 98: "优", 96: "优", 95: "优", 91: "优", "待补充": "待补充"}
# 辛 left 满意度 blank: a gap an indicator needs is an 错误 of its own
ERRORS = {"部门/庚.xlsx": 1, "部门/壬.xlsx": 1, "部门/辛.xlsx": 1}
HINTS = {"部门/乙.xlsx": 1}

BROKEN = {  # file → words its reason must contain
    "损坏.xlsx": "已损坏",
    "文本.xlsx": "文本",
    "无名称.xlsx": "定义名称",
    "旧版.xls": ".xls",
}
IGNORED = ("~$甲.xlsx", ".隐藏.xlsx", "说明.txt", "乡镇/~$癸.xlsm")


def _custom_rules(data: bytes) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["评分规则"]
    assert ws["A3"].value == "在职人员控制率" and ws["F3"].value == 0.5
    ws["F3"] = 1  # 每步分值
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _no_names_workbook() -> bytes:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "这不是评价模板"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """部门/: ten departments, four unreadable files and some files that must be ignored."""
    folder = tmp_path_factory.mktemp("src") / "部门"
    (folder / "乡镇").mkdir(parents=True)
    good = None
    for name, (unit, changes) in DEPARTMENTS.items():
        values = {**FULL, "填报单位": unit, **changes}
        data = workbook_bytes({k: v for k, v in values.items() if v is not None})
        if name == CUSTOM_RULES:
            data = _custom_rules(data)
        (folder / name).write_bytes(data)
        good = data
    (folder / "损坏.xlsx").write_bytes(good[: len(good) // 3])
    (folder / "文本.xlsx").write_text("单位,总分\n甲局,100\n", encoding="utf-8")
    (folder / "无名称.xlsx").write_bytes(_no_names_workbook())
    (folder / "旧版.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000))
    for name in IGNORED:
        (folder / name).write_bytes(b"not a workbook")
    return folder


@pytest.fixture
def folder(source, tmp_path) -> Path:
    target = tmp_path / "部门"
    shutil.copytree(source, target)
    return target


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def sheet_rows(path, title):
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = [r for r in wb[title].iter_rows(values_only=True) if any(v is not None for v in r)]
    wb.close()
    return rows


def as_dicts(path, title):
    header, *rows = sheet_rows(path, title)
    return [dict(zip(header, r + (None,) * (len(header) - len(r)))) for r in rows]


def fingerprint(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def scored(folder, tmp_path, capsys):
    before = fingerprint(folder)
    out = tmp_path / "汇总.xlsx"
    code, stdout, stderr = run(capsys, "batch", folder, "-o", out, "--jobs", 2)
    return out, code, stdout, stderr, before


def test_totals_ranks_and_counts_match_hand_worked_figures(scored):
    out, code, stdout, stderr, _ = scored
    assert code == 2, stderr  # some files could not be read
    assert stderr == ""  # no progress bar when stderr is not a terminal
    assert stdout.strip().splitlines() == [
        f"共14个文件：已评分10个（其中总分待补充2个，有错误的3个），无法读取4个；汇总已写入：{out}"]
    rows = as_dicts(out, "汇总")
    assert [(r["文件"], r["总分"], r["排名"]) for r in rows] == EXPECTED
    for r in rows:
        name = r["文件"]
        unit, changes = DEPARTMENTS[name.removeprefix("部门/")]
        assert r["单位名称"] == unit
        assert r["等级"] == GRADES[r["总分"]]
        assert r["错误数"] == ERRORS.get(name, 0), name
        assert r["提示数"] == HINTS.get(name, 0), name
    by_name = {r["文件"]: r for r in rows}
    assert by_name["部门/甲.xlsx"] == {"排名": 1, "文件": "部门/甲.xlsx", "单位名称": "甲局", "框架": SEED_LABEL,
                                     **FULL_SCORES,
                                     "总分": 100, "等级": "优", "错误数": 0, "提示数": 0,
                                     "自评总分": None, "自评−总分": None, "专项资金个数": None, "专项资金得分": None}
    assert by_name["部门/乙.xlsx"]["公用经费控制率"] == 3
    assert (by_name["部门/乙.xlsx"]["自评总分"], by_name["部门/乙.xlsx"]["自评−总分"]) == (100, 5)
    assert (by_name["部门/丙.xlsx"]["满意度"], by_name["部门/丙.xlsx"]["行政效能"]) == (4, 3)
    assert (by_name["部门/丁.xlsx"]["资金使用合规性"], by_name["部门/丁.xlsx"]["管理制度健全性"]) == (4, 6)
    assert (by_name["部门/戊.xlsx"]["在职人员控制率"], by_name["部门/戊.xlsx"]["政府采购执行率"]) == (0, 2)
    assert by_name["部门/己.xlsx"]["在职人员控制率"] == 3  # its own rules, not the default 4
    assert by_name["部门/乡镇/癸.xlsm"]["重点工作完成率"] == 7.2
    assert by_name["部门/辛.xlsx"]["满意度"] == "待补充"
    assert by_name["部门/壬.xlsx"]["三公经费变动率"] == by_name["部门/壬.xlsx"]["三公经费控制率"] == "待补充"
    assert by_name["部门/壬.xlsx"]["在职人员控制率"] == 5


def test_findings_and_unreadable_files_are_listed(scored):
    out, *_ = scored
    findings = as_dicts(out, "问题清单")
    assert list(findings[0]) == ["文件", "单位", "级别", "工作表", "单元格", "说明"]
    got = {(f["文件"], f["单位"], f["级别"]) for f in findings}
    assert got == {("部门/庚.xlsx", "庚局", "错误"), ("部门/壬.xlsx", "壬局", "错误"), ("部门/乙.xlsx", "乙局", "提示"),
                   ("部门/辛.xlsx", "辛局", "错误")}
    assert len(findings) == 4
    (gap,) = [f for f in findings if f["文件"] == "部门/辛.xlsx"]
    assert (gap["工作表"], gap["单元格"]) == ("评分表", "L27")
    assert gap["说明"] == "评分表!L27（满意度）未填写，满意度需要此项数据，暂不计分"
    sangong = next(f for f in findings if f["文件"] == "部门/壬.xlsx")
    assert sangong["工作表"] == "基础数据表" and sangong["单元格"] and "公务用车经费_本年预算+出国经费_本年预算+公务接待_本年预算" in sangong["说明"]
    hint = next(f for f in findings if f["文件"] == "部门/乙.xlsx")
    assert "自评8分" in hint["说明"] and "应得3分" in hint["说明"]

    failed = {r["文件"]: r["原因"] for r in as_dicts(out, "无法读取")}
    assert set(failed) == {f"部门/{name}" for name in BROKEN}
    for name, words in BROKEN.items():
        assert words in failed[f"部门/{name}"], failed[f"部门/{name}"]
    listed = {r["文件"] for title in ("汇总", "问题清单", "无法读取") for r in as_dicts(out, title)}
    assert not any(ignored in name for name in listed for ignored in IGNORED)


def test_input_files_are_byte_identical_afterwards(scored, folder):
    *_, before = scored
    assert fingerprint(folder) == before
    assert not [p for p in folder.rglob("*") if p.name.startswith(".~evalbook")]


def test_charts_frozen_header_and_filters_are_in_the_package(scored):
    out, *_ = scored
    with zipfile.ZipFile(out) as z:
        charts = sorted(n for n in z.namelist() if n.startswith("xl/charts/chart"))
        assert len(charts) == 2
        xml = "".join(z.read(n).decode("utf-8") for n in charts)
    assert "'图表'!$D$3:$D$18" in xml  # average 得分率 of all 16 indicators
    assert "'汇总'!$U$2:$U$9" in xml  # 总分 of the eight departments that have one
    assert "'汇总'!$C$2:$C$9" in xml  # …labelled by 单位名称
    wb = openpyxl.load_workbook(out)
    summary = wb["汇总"]
    assert summary.freeze_panes == "D2"
    assert summary.auto_filter.ref == "A1:AB11"  # …through 专项资金个数, 专项资金得分
    assert summary["U2"].number_format == "0.00"
    assert wb["问题清单"].auto_filter.ref and wb["无法读取"].freeze_panes == "A2"
    rates = [r for r in wb["图表"].iter_rows(min_row=3, max_row=18, max_col=5, values_only=True)]
    # lowest first: 在职人员控制率 is 1 for eight departments, 0 (戊) and 3/5 (己): 8.6 / 10
    assert rates[0][:3] == ("在职人员控制率", "预算配置", 10)
    assert rates[0][3] == pytest.approx(0.86)
    # 满意度: 辛 has none; 丙 4/6 and eight at 6/6 → (8 + 2/3) / 9
    satisfaction = next(r for r in rates if r[0] == "满意度")
    assert satisfaction[2:] == (9, pytest.approx((8 + 2 / 3) / 9), SEED_LABEL)
    assert [r[3] for r in rates] == sorted(r[3] for r in rates)


def test_one_process_and_two_give_the_same_summary(scored, folder, tmp_path, capsys):
    out, *_ = scored
    single = tmp_path / "单进程.xlsx"
    assert run(capsys, "batch", folder, "-o", single, "--jobs", 1)[0] == 2
    for title in ("汇总", "图表", "专项资金", "问题清单", "无法读取"):
        assert sheet_rows(single, title) == sheet_rows(out, title)


def test_exit_code_is_1_for_errors_and_0_when_clean(folder, tmp_path, capsys):
    clean = tmp_path / "clean"
    clean.mkdir()
    for name in ("甲.xlsx", "乙.xlsx"):
        shutil.copy(folder / name, clean / name)
    code, out, _ = run(capsys, "batch", clean, "-o", tmp_path / "a.xlsx")
    assert code == 0 and out.startswith("共2个文件：已评分2个，无法读取0个；")
    shutil.copy(folder / "庚.xlsx", clean / "庚.xlsx")
    code, out, _ = run(capsys, "batch", clean / "甲.xlsx", clean / "庚.xlsx", "-o", tmp_path / "b.xlsx")
    assert code == 1 and "有错误的1个" in out
    assert [r["文件"] for r in as_dicts(tmp_path / "b.xlsx", "汇总")] == ["庚.xlsx", "甲.xlsx"]


def test_refuses_to_write_over_an_input(folder, capsys):
    victim = folder / "甲.xlsx"
    before = victim.read_bytes()
    code, _, err = run(capsys, "batch", folder, "-o", victim)
    assert code == 2 and "输入的工作簿之一" in err
    code, _, err = run(capsys, "batch", victim, folder / "乙.xlsx", "-o", victim)
    assert code == 2 and "输入的工作簿之一" in err
    assert victim.read_bytes() == before
    code, _, err = run(capsys, "batch", folder, "-o", folder / "汇总.xlsm")
    assert code == 2 and ".xlsx" in err


def test_a_summary_inside_the_scanned_folder_is_replaced_not_scored(folder, capsys):
    out = folder / "汇总.xlsx"
    first = run(capsys, "batch", folder, "-o", out)
    second = run(capsys, "batch", folder, "-o", out)
    assert first == second  # the previous summary is neither an input nor 无法读取
    assert "共14个文件" in second[1]


def test_text_from_a_workbook_never_becomes_a_formula(tmp_path, capsys):
    book = tmp_path / "公式.xlsx"
    book.write_bytes(workbook_bytes({**FULL, "填报单位": '=HYPERLINK("http://example.invalid","点我")'}))
    out = tmp_path / "汇总.xlsx"
    assert run(capsys, "batch", book, "-o", out)[0] == 0
    with zipfile.ZipFile(out) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "<f>" not in sheet and "HYPERLINK" in sheet
    assert as_dicts(out, "汇总")[0]["单位名称"].startswith("=HYPERLINK")


def test_merge_of_parts_equals_one_batch_over_all(folder, tmp_path, capsys):
    a, b = tmp_path / "东片", tmp_path / "西片"
    names = sorted(p.name for p in folder.iterdir() if p.is_file())
    a.mkdir()
    b.mkdir()
    for i, name in enumerate(names):
        shutil.copy(folder / name, (a if i % 2 else b) / name)
    part_a, part_b, whole, merged = (tmp_path / f"{n}.xlsx" for n in ("东", "西", "全部", "合并"))
    run(capsys, "batch", a, "-o", part_a, "--jobs", 1)
    run(capsys, "batch", b, "-o", part_b, "--jobs", 1)
    code_whole, out_whole, _ = run(capsys, "batch", a, b, "-o", whole, "--jobs", 1)
    code, out, err = run(capsys, "merge", part_a, part_b, "-o", merged)
    assert code == code_whole and err == ""
    assert out.startswith("合并2份汇总，") and out_whole.split("；")[0] in out
    for title in ("汇总", "部门指标", "专项资金", "专项指标", "问题清单", "无法读取"):
        assert sheet_rows(merged, title) == sheet_rows(whole, title)
    got, want = sheet_rows(merged, "图表"), sheet_rows(whole, "图表")
    assert [r[:3] for r in got] == [r[:3] for r in want]
    assert [r[3] for r in got[2:18]] == pytest.approx([r[3] for r in want[2:18]])


def test_merge_warns_about_a_part_given_twice(scored, tmp_path, capsys):
    out, code, *_ = scored
    again = tmp_path / "again.xlsx"
    shutil.copy(out, again)
    merged = tmp_path / "合并.xlsx"
    assert run(capsys, "merge", out, again, "-o", merged)[0] == code
    code, _, err = run(capsys, "merge", out, again, "-o", merged)
    assert "重复出现" in err and "14个文件" in err
    ranks = [r["排名"] for r in as_dicts(merged, "汇总")]
    assert ranks[:6] == [1, 1, 1, 1, 5, 5]  # 庚, 庚, 甲, 甲 at 100; 癸 twice at 99.2


def test_merge_refuses_what_is_not_a_summary(folder, tmp_path, capsys):
    code, _, err = run(capsys, "merge", folder / "甲.xlsx", "-o", tmp_path / "m.xlsx")
    assert code == 2 and "不是evalbook batch生成的汇总表" in err
    assert not (tmp_path / "m.xlsx").exists()


def test_nothing_to_do_is_an_error(tmp_path, capsys):
    empty = tmp_path / "空"
    empty.mkdir()
    (empty / "~$锁.xlsx").write_bytes(b"x")
    code, _, err = run(capsys, "batch", empty, "-o", tmp_path / "o.xlsx")
    assert code == 2 and "没有找到" in err
    code, _, err = run(capsys, "batch", tmp_path / "不存在", "-o", tmp_path / "o.xlsx")
    assert code == 2 and "找不到" in err
    assert not (tmp_path / "o.xlsx").exists()


def test_progress_bar_draws_only_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    shown = Terminal()
    with batch.progress(3, shown) as bar:
        for _ in range(3):
            bar.update()
        bar.refresh()
        drawn = shown.getvalue()
    assert "评分" in drawn and "3/3" in drawn and "100%" in drawn and "份" in drawn
    quiet = io.StringIO()
    with batch.progress(3, quiet) as bar:
        bar.update()
    assert quiet.getvalue() == ""


def test_a_crashing_file_becomes_a_row_not_a_stopped_batch(monkeypatch, folder):
    def boom(path, name):
        raise ZeroDivisionError

    monkeypatch.setattr(batch, "_scored", boom)
    result = batch.score_file(batch.Task(str(folder / "甲.xlsx"), "甲.xlsx"))
    assert result["ok"] is False and "ZeroDivisionError" in result["reason"]
    assert os.path.exists(folder / "甲.xlsx")


# ---- special funds ------------------------------------------------------------------------------
#
# The example carries two filled funds (figures worked out by hand in tests/test_funds.py):
#   专项1 湘江水厂提质扩容改造项目: A 1200, B 1080, 执行率 90%, 得分 677/7 ≈ 96.71 优
#   专项2 乡镇污水处理项目:         A 2000, B 1500, 执行率 75%, 得分 736/9 ≈ 81.78 良
#   department: (677/7 × 1200 + 736/9 × 2000) / 3200 = 44039/504 ≈ 87.38
# 公式.xlsm is the example with 专项1's name typed as a formula and 专项2's 全年执行数 cleared:
# 专项2 has no 执行率 and its 得分, 等级 and so the department's 专项资金得分 are 待补充.
# 甲.xlsx is a plain department whose fund sheet is left blank: no funds, blank columns.

FORMULA_NAME = '=HYPERLINK("http://example.invalid","点我")'
WATERWORKS = "湘江水厂提质扩容改造项目"
SEWAGE = "乡镇污水处理项目"
EXAMPLE_UNIT = "衡山县住房和城乡建设局"
FUND_ROWS = [  # 文件, 单位名称, 专项序号, 专项资金名称, 全年预算数(A), 全年执行数(B), 执行率, 得分, 等级
    ("专项/住建局.xlsm", EXAMPLE_UNIT, 1, WATERWORKS, 1200, 1080, 0.9, 96.71, "优"),
    ("专项/住建局.xlsm", EXAMPLE_UNIT, 2, SEWAGE, 2000, 1500, 0.75, 81.78, "良"),
    ("专项/公式.xlsm", EXAMPLE_UNIT, 1, FORMULA_NAME, 1200, 1080, 0.9, 96.71, "优"),
    ("专项/公式.xlsm", EXAMPLE_UNIT, 2, SEWAGE, 2000, None, None, "待补充", "待补充"),
]
FUND_COLUMNS_EXPECTED = ["文件", "单位名称", "专项序号", "专项资金名称", "全年预算数(A)", "全年执行数(B)",
                         "执行率", "得分", "等级"]


@pytest.fixture(scope="module")
def funds_source(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("funds") / "专项"
    folder.mkdir()
    # listed out of order on purpose: rows must come out by 文件, then 专项序号
    shutil.copy(EXAMPLE, folder / "住建局.xlsm")
    shutil.copy(EXAMPLE, folder / "公式.xlsm")
    with XlsxBook(folder / "公式.xlsm") as book:
        book.write_values({N.header_name(1, "专项资金名称"): FORMULA_NAME,
                           N.money_name(2, N.TOTAL, N.SPENT): None})
        book.save()
    (folder / "甲.xlsx").write_bytes(workbook_bytes({**FULL, "填报单位": "甲局"}))
    return folder


@pytest.fixture
def funds_folder(funds_source, tmp_path) -> Path:
    target = tmp_path / "专项"
    shutil.copytree(funds_source, target)
    return target


@pytest.fixture
def funds_scored(funds_folder, tmp_path, capsys):
    out = tmp_path / "专项汇总.xlsx"
    code, stdout, stderr = run(capsys, "batch", funds_folder, "-o", out, "--jobs", 2)
    assert code == 1, stderr  # 公式.xlsm's missing 全年执行数 is an 错误
    return out


def test_funds_sheet_lists_every_fund_of_every_department(funds_scored):
    rows = sheet_rows(funds_scored, "专项资金")
    assert list(rows[0]) == FUND_COLUMNS_EXPECTED
    got = [tuple(r) + (None,) * (9 - len(r)) for r in rows[1:]]
    assert [g[:6] for g in got] == [f[:6] for f in FUND_ROWS]
    for g, f in zip(got, FUND_ROWS):
        assert g[6] == (None if f[6] is None else pytest.approx(f[6]))
        assert g[7:] == f[7:]


def test_funds_columns_in_the_summary(funds_scored):
    by_name = {r["文件"]: r for r in as_dicts(funds_scored, "汇总")}
    assert list(as_dicts(funds_scored, "汇总")[0])[-2:] == ["专项资金个数", "专项资金得分"]
    assert (by_name["专项/住建局.xlsm"]["专项资金个数"], by_name["专项/住建局.xlsm"]["专项资金得分"]) == (2, 87.38)
    assert (by_name["专项/公式.xlsm"]["专项资金个数"], by_name["专项/公式.xlsm"]["专项资金得分"]) == (2, "待补充")
    assert (by_name["专项/甲.xlsx"]["专项资金个数"], by_name["专项/甲.xlsx"]["专项资金得分"]) == (None, None)
    # the main sheet is scored as before: the example's 76 (中), 甲 100
    assert (by_name["专项/住建局.xlsm"]["总分"], by_name["专项/住建局.xlsm"]["等级"]) == (76, "中")
    assert by_name["专项/甲.xlsx"]["总分"] == 100
    # fund findings reach 问题清单
    assert any(f["文件"] == "专项/公式.xlsm" and f["级别"] == "错误" and f["工作表"] == "专项资金自评表2"
               for f in as_dicts(funds_scored, "问题清单"))


def test_funds_sheet_formats_header_and_filter(funds_scored):
    wb = openpyxl.load_workbook(funds_scored)
    assert wb.sheetnames == ["汇总", "图表", "部门指标", "专项资金", "专项指标", "问题清单", "无法读取", "框架"]
    ws = wb["专项资金"]
    assert ws.freeze_panes == "C2"
    assert ws.auto_filter.ref == "A1:I5"
    assert (ws["E2"].number_format, ws["F2"].number_format) == ("#,##0.00", "#,##0.00")
    assert ws["G2"].number_format == "0.00%" and ws["H2"].number_format == "0.00"
    summary = wb["汇总"]
    assert summary["AA1"].value == "专项资金个数" and summary["AB1"].value == "专项资金得分"
    row = next(r for r in summary.iter_rows(min_row=2) if r[1].value == "专项/住建局.xlsm")
    assert row[26].number_format == "0" and row[27].number_format == "0.00"


def test_fund_text_never_becomes_a_formula(funds_scored):
    with zipfile.ZipFile(funds_scored) as z:
        sheets = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
    assert "<f>" not in sheets and "HYPERLINK" in sheets
    names = [r["专项资金名称"] for r in as_dicts(funds_scored, "专项资金")]
    assert FORMULA_NAME in names


def test_funds_are_the_same_for_one_process_and_two(funds_scored, funds_folder, tmp_path, capsys):
    single = tmp_path / "单进程.xlsx"
    assert run(capsys, "batch", funds_folder, "-o", single, "--jobs", 1)[0] == 1
    for title in ("汇总", "专项资金", "问题清单"):
        assert sheet_rows(single, title) == sheet_rows(funds_scored, title)


def test_worker_result_for_funds_is_small_and_plain(funds_folder):
    result = batch.score_file(batch.Task(str(funds_folder / "住建局.xlsm"), "住建局.xlsm"))
    assert result["fund_count"] == 2 and result["fund_score"] == 87.38
    waterworks = result["funds"][0]
    assert {k: v for k, v in waterworks.items() if k != "indicators"} == {
        "number": 1, "name": WATERWORKS, "budget": 1200.0, "spent": 1080.0, "rate": 0.9, "score": 96.71, "grade": "优"}
    # 预算执行率 10 × 90% = 9 first, then the sheet's rows: 新增管道长度 3842/3000 capped at 100% of 6.25
    assert waterworks["indicators"][:2] == [["预算执行率", "", "预算执行率", 10.0, 0.9, 9.0],
                                            ["产出", "数量", "新增管道长度", 6.25, 1.280667, 6.25]]

    def plain(value):
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return all(plain(v) for v in value)
        return value is None or type(value) in (bool, int, float, str)

    assert plain(result)  # no Fractions: cheap to pickle, safe to store
    plain_book = batch.score_file(batch.Task(str(funds_folder / "甲.xlsx"), "甲.xlsx"))
    assert (plain_book["funds"], plain_book["fund_count"], plain_book["fund_score"]) == ([], 0, None)


def test_merge_carries_the_funds(funds_folder, tmp_path, capsys):
    a, b = tmp_path / "东片", tmp_path / "西片"
    a.mkdir()
    b.mkdir()
    shutil.copy(funds_folder / "住建局.xlsm", a / "住建局.xlsm")
    for name in ("公式.xlsm", "甲.xlsx"):
        shutil.copy(funds_folder / name, b / name)
    part_a, part_b, whole, merged = (tmp_path / f"{n}.xlsx" for n in ("东", "西", "全部", "合并"))
    run(capsys, "batch", a, "-o", part_a, "--jobs", 1)
    run(capsys, "batch", b, "-o", part_b, "--jobs", 1)
    run(capsys, "batch", a, b, "-o", whole, "--jobs", 1)
    code, _, err = run(capsys, "merge", part_b, part_a, "-o", merged)
    assert code == 1 and err == ""
    for title in ("汇总", "部门指标", "专项资金", "专项指标", "问题清单", "无法读取"):
        assert sheet_rows(merged, title) == sheet_rows(whole, title)
    funds = as_dicts(merged, "专项资金")
    assert [(f["文件"], f["专项序号"], f["得分"]) for f in funds] == [
        ("东片/住建局.xlsm", 1, 96.71), ("东片/住建局.xlsm", 2, 81.78),
        ("西片/公式.xlsm", 1, 96.71), ("西片/公式.xlsm", 2, "待补充")]
    by_name = {r["文件"]: r for r in as_dicts(merged, "汇总")}
    assert (by_name["东片/住建局.xlsm"]["专项资金个数"], by_name["东片/住建局.xlsm"]["专项资金得分"]) == (2, 87.38)
    assert (by_name["西片/公式.xlsm"]["专项资金个数"], by_name["西片/公式.xlsm"]["专项资金得分"]) == (2, "待补充")
    assert (by_name["西片/甲.xlsx"]["专项资金个数"], by_name["西片/甲.xlsx"]["专项资金得分"]) == (None, None)

    # merging the merged summary again changes nothing: the columns read back as they were written
    again = tmp_path / "再合并.xlsx"
    run(capsys, "merge", merged, "-o", again)
    for title in ("汇总", "专项资金"):
        assert sheet_rows(again, title) == sheet_rows(merged, title)


def test_merge_takes_a_summary_from_before_funds_and_says_so(funds_folder, tmp_path, capsys):
    part = tmp_path / "新.xlsx"
    run(capsys, "batch", funds_folder / "住建局.xlsm", "-o", part)
    old = tmp_path / "旧.xlsx"
    wb = openpyxl.load_workbook(part)
    del wb["专项资金"]
    wb["汇总"].delete_cols(27, 2)  # what an older version wrote: no fund columns either…
    wb["汇总"].delete_cols(4)  # …nor 框架 column, 框架 sheet or 框架 in the rate table
    del wb["框架"]
    wb["图表"].delete_cols(5)
    wb.save(old)
    merged = tmp_path / "合并.xlsx"
    code, _, err = run(capsys, "merge", old, "-o", merged)
    assert code == 0 and "旧.xlsx" in err and "没有专项资金信息" in err
    row = as_dicts(merged, "汇总")[0]
    assert row["总分"] == 76 and row["专项资金个数"] is None and row["专项资金得分"] is None
    assert sheet_rows(merged, "专项资金") == [tuple(FUND_COLUMNS_EXPECTED)]


def test_a_worker_that_dies_skips_only_its_file(monkeypatch, tmp_path):
    """A worker killed outright (as the OOM killer would) must not hang or stop the batch."""
    import os

    from evalbook.bureau import batch

    real = batch.score_file

    def dying(task):
        if "崩溃" in task.name:
            os._exit(9)
        return real(task)

    monkeypatch.setattr(batch, "score_file", dying)  # forked workers inherit the patch
    tasks = [batch.Task(str(tmp_path / f"{i}.xlsx"), f"{i}.xlsx") for i in range(6)]
    tasks.insert(3, batch.Task(str(tmp_path / "崩溃.xlsx"), "崩溃.xlsx"))
    results = {r["name"]: r for r in batch.score_all(tasks, 2)}
    assert set(results) == {t.name for t in tasks}
    assert results["崩溃.xlsx"] == {"ok": False, "path": str(tmp_path / "崩溃.xlsx"), "name": "崩溃.xlsx",
                                   "reason": batch.WORKER_DIED}
    # the others were scored (here: reported as missing files, not as casualties of the crash)
    assert all(r["reason"] != batch.WORKER_DIED for n, r in results.items() if n != "崩溃.xlsx")
