"""The bureau's data as tidy tables: `batch --csv` and `evalbook.bureau.results` (pandas).

The folder holds the seed example (衡山县住建局2020) and a copy of it whose 填报单位, first fund's
name and file name look like formulas.  Figures are worked out by hand from the example's cells:
  总分 76 (中); 自评 exceeds five scores by 0.1 + 1 + 8 + 6 + 0.4 = 15.5, so 自评总分 91.5;
  专项1 湘江水厂: 预算执行率 10 × 1080/1200 = 9, total 677/7 ≈ 96.71 (优);
  专项2 乡镇污水: 预算执行率 10 × 1500/2000 = 7.5, total 736/9 ≈ 81.78 (良);
  department's 专项资金得分 (96.71… × 1200 + 81.78… × 2000) / 3200 = 44039/504 ≈ 87.38.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from evalbook.adapters.xlsx import XlsxBook
from evalbook.bureau import results
from evalbook.cli import main
from evalbook.department.framework import seed_framework
from evalbook.funds import names as N
from tests.conftest import EXAMPLE, ROOT

SEED = f"{seed_framework().name}［{seed_framework().fingerprint[:6]}］"
UNIT = "衡山县住房和城乡建设局"
HOSTILE_UNIT = '=HYPERLINK("http://example.invalid","点我")'
HOSTILE_FUND = "@SUM(1)"
HOSTILE_FILE = "-改.xlsm"
# (指标, 分值, 计算值, 得分, 自评得分), each 计算值 from the example's figures:
# 20/21; (37-36)/36; (1344.63+8300+2064.65-6274.16)/(1344.63+8300+2064.65) = 5435.12/11709.28; 2064.65/8300;
# no 楼堂馆所 project (no 计算值); 154.98/124.40; 5.52/37; 528.91/245; 4 of 4 是; no violations;
# 5 of 5 是; 95/100; 效益 typed 10; 行政效能 好 (no number); 满意度 92%
INDICATORS = [
    ("在职人员控制率", 5, 0.952381, 5, 5), ("三公经费变动率", 5, 0.027778, 3.4, 3.5),
    ("预算完成率", 5, 0.464172, 0, 1), ("预算控制率", 5, 0.248753, 2, 2),
    ("楼堂馆所面积控制率", 5, None, 5, 5), ("楼堂馆所投资控制率", 5, None, 5, 5),
    ("公用经费控制率", 8, 1.24582, 0, 8), ("三公经费控制率", 7, 0.149189, 7, 7),
    ("政府采购执行率", 6, 2.158816, 0, 6), ("管理制度健全性", 8, 1, 8, 8), ("资金使用合规性", 6, 0, 6, 6),
    ("预决算信息公开性", 5, 1, 5, 5), ("重点工作完成率", 8, 0.95, 7.6, 8), ("经济社会效益", 10, 10, 10, 10),
    ("行政效能", 6, None, 6, 6), ("满意度", 6, 0.92, 6, 6),
]
TABLES = ("部门", "部门指标", "专项资金", "专项指标", "问题清单", "无法读取")
BOM = b"\xef\xbb\xbf"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tables") / "部门"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / "住建局.xlsm")
    shutil.copy(EXAMPLE, folder / HOSTILE_FILE)
    with XlsxBook(folder / HOSTILE_FILE) as book:
        book.write_values({"填报单位": HOSTILE_UNIT, N.header_name(1, "专项资金名称"): HOSTILE_FUND})
        book.save()
    return folder


@pytest.fixture(scope="module")
def batch_csv(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    stdout, stderr = io.StringIO(), io.StringIO()
    from contextlib import redirect_stderr, redirect_stdout

    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = main(["batch", str(folder), "-o", str(out / "汇总.xlsx"), "--csv", str(out / "表格"), "--jobs", "1"])
    return out, code, stdout.getvalue(), stderr.getvalue()


def read_csv(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith(BOM)  # Excel reads UTF-8 only with it
    return list(csv.reader(io.StringIO(data[len(BOM):].decode("utf-8"), newline="")))


def test_batch_writes_one_csv_per_table(batch_csv):
    out, code, stdout, stderr = batch_csv
    assert (code, stderr) == (0, "")
    assert stdout.endswith(f"；CSV表格已写入：{out / '表格'}\n")
    assert sorted(p.name for p in (out / "表格").iterdir()) == sorted(f"{t}.csv" for t in TABLES)


def test_department_and_indicator_csv_hold_the_hand_worked_figures(batch_csv):
    out, *_ = batch_csv
    departments = read_csv(out / "表格" / "部门.csv")
    assert departments[0] == ["文件", "单位名称", "框架", "排名", "总分", "等级", "错误数", "提示数", "自评总分",
                              "自评−总分", "专项资金个数", "专项资金得分"]
    # both copies score 76: they share rank 1, in file-name order ("-" sorts before "住")
    assert departments[1:] == [
        ["部门/-改.xlsm", "'" + HOSTILE_UNIT, SEED, "1", "76", "中", "0", "5", "91.5", "15.5", "2", "87.38"],
        ["部门/住建局.xlsm", UNIT, SEED, "1", "76", "中", "0", "5", "91.5", "15.5", "2", "87.38"],
    ]
    indicators = read_csv(out / "表格" / "部门指标.csv")
    assert indicators[0] == ["文件", "单位名称", "框架", "序号", "二级指标", "指标", "分值", "计算值", "得分", "自评得分"]
    mine = [r for r in indicators[1:] if r[0] == "部门/住建局.xlsm"]
    assert [r[3] for r in mine] == [str(i) for i in range(1, 17)]
    assert [(r[5], r[6], r[7], r[8], r[9]) for r in mine] == [
        (key, str(weight), "" if value is None else str(value), str(score), str(own))
        for key, weight, value, score, own in INDICATORS]
    assert {r[1] for r in mine} == {UNIT} and {r[2] for r in mine} == {SEED}
    assert mine[0][4] == "预算配置" and mine[12][4] == "职责履行"


def test_fund_csvs_hold_the_hand_worked_figures(batch_csv):
    out, *_ = batch_csv
    funds = read_csv(out / "表格" / "专项资金.csv")
    mine = [r[2:] for r in funds[1:] if r[0] == "部门/住建局.xlsm"]
    assert mine == [["1", "湘江水厂提质扩容改造项目", "1200", "1080", "0.9", "96.71", "优"],
                    ["2", "乡镇污水处理项目", "2000", "1500", "0.75", "81.78", "良"]]
    rows = read_csv(out / "表格" / "专项指标.csv")
    assert rows[0] == ["文件", "单位名称", "专项序号", "专项资金名称", "一级指标", "二级指标", "三级指标", "分值",
                       "完成比例", "得分"]
    mine = [r for r in rows[1:] if r[0] == "部门/住建局.xlsm"]
    first = [r for r in mine if r[2] == "1"]
    second = [r for r in mine if r[2] == "2"]
    assert first[0][4:] == ["预算执行率", "", "预算执行率", "10", "0.9", "9"]
    assert second[0][4:] == ["预算执行率", "", "预算执行率", "10", "0.75", "7.5"]
    # 新增管道长度 3842/3000 = 128.07%, capped: the full 6.25; 主体构筑物 6/7 × 6.25 = 5.36
    assert first[1][4:] == ["产出", "数量", "新增管道长度", "6.25", "1.280667", "6.25"]
    assert first[3][6:] == ["主体构筑物完工数", "6.25", "0.857143", "5.36"]
    # a fund's rows add up to its total: 9 + 87.71… = 96.71 (scores are shown to two decimals)
    assert sum(float(r[9]) for r in first) == pytest.approx(96.71, abs=0.02)
    assert sum(float(r[9]) for r in second) == pytest.approx(81.78, abs=0.02)


def test_findings_csv_and_formula_safety(batch_csv):
    out, *_ = batch_csv
    findings = read_csv(out / "表格" / "问题清单.csv")
    assert findings[0] == ["文件", "单位", "级别", "工作表", "单元格", "说明"]
    mine = [r[2:] for r in findings[1:] if r[0] == "部门/住建局.xlsm"]
    assert mine[0] == ["提示", "评分表", "G5", "三公经费变动率：自评3.5分，按数据计算应得3.4分"]
    assert [r[2] for r in mine] == ["G5", "G6", "G10", "G12", "G23"]
    # every text that Excel would take for a formula carries its apostrophe; nothing else does
    for table in TABLES:
        for row in read_csv(out / "表格" / f"{table}.csv")[1:]:
            for cell in row:
                assert not cell.startswith(("=", "+", "@")), (table, cell)
                if cell.startswith("-"):
                    float(cell)  # only a negative number may start with "-"
    hostile = [r for r in read_csv(out / "表格" / "专项资金.csv")[1:] if r[0] == "部门/-改.xlsm"]
    assert hostile[0][:4] == ["部门/-改.xlsm", "'" + HOSTILE_UNIT, "1", "'" + HOSTILE_FUND]
    assert read_csv(out / "表格" / "无法读取.csv") == [["文件", "原因"]]


def test_results_from_the_folder_equal_results_from_its_summary(folder, batch_csv):
    out, *_ = batch_csv
    from_folder = results(folder, jobs=1)
    from_summary = results(out / "汇总.xlsx")
    assert list(from_folder) == list(TABLES)
    for table in TABLES:
        pd.testing.assert_frame_equal(from_folder[table], from_summary[table], check_dtype=False, obj=table)
    frame = from_folder["部门指标"]
    mine = frame[frame["文件"] == "部门/住建局.xlsm"]
    assert list(mine["指标"]) == [k for k, *_ in INDICATORS]
    assert list(mine["得分"]) == [s for *_, s, _ in INDICATORS]
    assert mine["计算值"].isna().sum() == 3  # the two 楼堂馆所 indicators and 行政效能
    departments = from_folder["部门"]
    # the DataFrame holds the text itself: the apostrophe is only for Excel opening a CSV
    assert list(departments["单位名称"]) == [HOSTILE_UNIT, UNIT]
    assert list(departments["总分"]) == [76, 76] and list(departments["专项资金得分"]) == [87.38, 87.38]
    # what an analyst does first: the average 得分率 per indicator
    rate = (frame["得分"] / frame["分值"]).groupby(frame["指标"]).mean()
    assert rate["公用经费控制率"] == 0 and rate["重点工作完成率"] == pytest.approx(0.95)


def test_results_through_merge_and_a_csv_read_back(batch_csv, tmp_path, capsys):
    out, *_ = batch_csv
    merged = tmp_path / "合并.xlsx"
    assert run(capsys, "merge", out / "汇总.xlsx", "-o", merged, "--csv", tmp_path / "合并表格")[0] == 0
    for table in TABLES:  # merge --csv reads the summary's tables back to the very same files
        assert (tmp_path / "合并表格" / f"{table}.csv").read_bytes() == (out / "表格" / f"{table}.csv").read_bytes()
    once, twice = results(out / "汇总.xlsx"), results(merged)
    for table in TABLES:
        pd.testing.assert_frame_equal(once[table], twice[table], check_dtype=False, obj=table)
    # pandas reads the CSV back to the same figures (utf-8-sig drops the byte-order mark)
    back = pd.read_csv(out / "表格" / "专项指标.csv", encoding="utf-8-sig")
    assert list(back.columns) == list(once["专项指标"].columns)
    assert list(back["得分"]) == list(once["专项指标"]["得分"])


def test_csv_folder_that_is_a_file_is_refused_before_scoring(folder, tmp_path, capsys):
    taken = tmp_path / "表格"
    taken.write_text("x")
    code, _, err = run(capsys, "batch", folder, "-o", tmp_path / "汇总.xlsx", "--csv", taken)
    assert code == 2 and "不是文件夹" in err
    assert not (tmp_path / "汇总.xlsx").exists()


def test_scoring_never_imports_pandas(tmp_path):
    book = tmp_path / "部门.xlsm"
    shutil.copy(EXAMPLE, book)
    script = (
        "import sys\n"
        "import evalbook.cli\n"
        f"code = evalbook.cli.main(['score', {str(book)!r}])\n"
        "print(code, 'pandas' in sys.modules, 'evalbook.bureau' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr
    code, pandas_loaded, bureau_loaded = done.stdout.split()[-3:]
    assert code == "0" and pandas_loaded == "False"
    assert bureau_loaded == "True"  # the check is not vacuous: the package that offers results() was loaded
