"""`evalbook batch` and `merge` over workbooks made from different indicator frameworks.

The folder 混合/ holds the seed example (衡山县住建局2020, built-in framework), the example
department made from examples/示例框架.xlsx (示例部门2021) and a copy of it with two figures
changed.  Every score and rank below is worked out by hand from the workbooks' figures.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from evalbook.adapters.xlsx import XlsxBook
from evalbook.cli import main
from evalbook.department.framework import seed_framework
from evalbook.workbook.service import framework_of
from tests.conftest import EXAMPLE, ROOT

EXAMPLE_DEPARTMENT = ROOT / "examples" / "示例部门2021.xlsm"


def _label(framework) -> str:
    """The 框架 column: the framework's name and the first six digits of its fingerprint."""
    return f"{framework.name}［{framework.fingerprint[:6]}］"


SEED = _label(seed_framework())
with XlsxBook(EXAMPLE_DEPARTMENT) as _book:
    OTHER = _label(framework_of(_book))
assert OTHER.startswith("部门整体支出绩效评价指标（示例框架）［") and SEED.startswith("部门整体支出绩效评价指标评分表［")

# 衡山县住建局2020 under the seed framework (its own 评分规则): 总分 76, 中.
SEED_SCORES = {
    "在职人员控制率": 5, "三公经费变动率": 3.4, "预算完成率": 0, "预算控制率": 2, "楼堂馆所面积控制率": 5,
    "楼堂馆所投资控制率": 5, "公用经费控制率": 0, "三公经费控制率": 7, "政府采购执行率": 0, "管理制度健全性": 8,
    "资金使用合规性": 6, "预决算信息公开性": 5, "重点工作完成率": 7.6, "经济社会效益": 10, "行政效能": 6, "满意度": 6,
}
# 示例部门2021 under the example framework (tests/test_framework_book.py works each out): 77.5, 良
# under its 80/70/60 bands.
OTHER_SCORES = {
    "财政供养人员控制率": 3.5, "三公经费变动率": 5, "重点支出安排率": 4, "预算调整率": 1, "支付进度": 2,
    "资金结余": 2, "公用经费控制率": 6, "三公经费控制率": 7, "政府采购执行率": 4, "管理制度健全性": 6,
    "固定资产利用率": 5, "信息公开": 6, "重点工作完成率": 9, "经济社会效益": 8, "行政效能": 3, "满意度": 6,
}
# The copy: 实际在职人数 30 of 编制数 30 → 100% → 5 (+1.5); 行政效能 好 → 6 (+3): 77.5 + 4.5 = 82, 优 (≥ 80).
EDITED_SCORES = {**OTHER_SCORES, "财政供养人员控制率": 5, "行政效能": 6}
assert sum(SEED_SCORES.values()) == pytest.approx(76) and sum(OTHER_SCORES.values()) == 77.5
assert sum(EDITED_SCORES.values()) == 82

# 汇总's indicator columns: the framework most departments use first (the example's, two
# departments), in its order; then the seed's indicators it lacks, in the seed's order.
UNION = tuple(OTHER_SCORES) + ("在职人员控制率", "预算完成率", "预算控制率", "楼堂馆所面积控制率",
                               "楼堂馆所投资控制率", "资金使用合规性", "预决算信息公开性")
HEAD = ("排名", "文件", "单位名称", "框架")
TAIL = ("总分", "等级", "错误数", "提示数", "自评总分", "自评−总分", "专项资金个数", "专项资金得分")

NOTE = (f"本汇总中的工作簿按2个不同的指标框架评分（“{OTHER}”2个；“{SEED}”1个）：各框架的指标和分值不同，"
        f"排名、平均得分率和图表只在同一框架的部门之间比较；各部门所用框架见“汇总”表“框架”列")


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


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("mixed") / "混合"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / "衡山县住建局2020.xlsm")
    shutil.copy(EXAMPLE_DEPARTMENT, folder / "示例部门2021.xlsm")
    edited = folder / "示例部门2021-改.xlsm"
    shutil.copy(EXAMPLE_DEPARTMENT, edited)
    with XlsxBook(edited) as book:
        book.write_values({"实际在职人数": 30, "行政效能": "好", "填报单位": "示例部门乙"})
        book.save()
    return folder


@pytest.fixture(scope="module")
def summary(mixed, tmp_path_factory):
    import io
    from contextlib import redirect_stderr, redirect_stdout

    out = tmp_path_factory.mktemp("out") / "汇总.xlsx"
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = main(["batch", str(mixed), "-o", str(out), "--jobs", "1"])
    return out, code, stdout.getvalue(), stderr.getvalue()


def test_a_mixed_folder_is_summed_in_one_table_with_a_framework_column(summary):
    out, code, stdout, stderr = summary
    assert code == 0  # the seed example has 提示 only; mixing frameworks is a 提示, not an 错误
    assert stdout.startswith("共3个文件：已评分3个，无法读取0个；")
    assert stderr == f"evalbook: 提示：{NOTE}\n"
    header = sheet_rows(out, "汇总")[0]
    assert header == HEAD + UNION + TAIL
    rows = as_dicts(out, "汇总")
    # each framework ranked on its own: the example's two 1 and 2, the seed's one 1
    assert [(r["文件"], r["框架"], r["总分"], r["等级"], r["排名"]) for r in rows] == [
        ("混合/示例部门2021-改.xlsm", OTHER, 82, "优", 1),
        ("混合/示例部门2021.xlsm", OTHER, 77.5, "良", 2),
        ("混合/衡山县住建局2020.xlsm", SEED, 76, "中", 1),
    ]
    edited, original, seed = rows
    for row, scores in ((edited, EDITED_SCORES), (original, OTHER_SCORES), (seed, SEED_SCORES)):
        # every indicator of its own framework filled, every other one blank
        assert {k: row[k] for k in UNION if row[k] is not None} == scores
    assert seed["三公经费变动率"] == 3.4 and original["三公经费变动率"] == 5  # one column, two frameworks
    assert (seed["提示数"], seed["专项资金个数"], seed["专项资金得分"]) == (5, 2, 87.38)
    assert original["单位名称"] == "示例部门(虚构数据)" and edited["单位名称"] == "示例部门乙"


def test_rates_and_charts_are_per_framework(summary):
    out, *_ = summary
    rates = sheet_rows(out, "图表")[1:34]
    assert rates[0] == ("指标", "二级指标", "计分单位数", "平均得分率", "框架")
    other, seed = rates[1:17], rates[17:33]
    assert {r[4] for r in other} == {OTHER} and {r[4] for r in seed} == {SEED}
    # the example's two: 预算调整率 1/3 lowest; 2/3 for 支付进度, 资金结余, 政府采购执行率 (catalogue order);
    # 固定资产利用率 5/7; 0.75 for 公用经费控制率 6/8, 管理制度 6/8, 行政效能 (3/6 + 6/6)/2, 满意度 6/8; …
    assert [r[0] for r in other[:9]] == ["预算调整率", "支付进度", "资金结余", "政府采购执行率", "固定资产利用率",
                                         "公用经费控制率", "管理制度健全性", "行政效能", "满意度"]
    assert [r[3] for r in other[:5]] == pytest.approx([1 / 3, 2 / 3, 2 / 3, 2 / 3, 5 / 7])
    assert other[0][1:3] == ("预算执行", 2)
    财政供养 = next(r for r in other if r[0] == "财政供养人员控制率")
    assert 财政供养[2:4] == (2, pytest.approx((3.5 / 5 + 1) / 2))
    # the seed's one: 0 for 预算完成率, 公用经费控制率, 政府采购执行率; 预算控制率 2/5; 三公经费变动率 3.4/5
    assert [(r[0], r[2]) for r in seed[:5]] == [("预算完成率", 1), ("公用经费控制率", 1), ("政府采购执行率", 1),
                                               ("预算控制率", 1), ("三公经费变动率", 1)]
    assert [r[3] for r in seed[:6]] == pytest.approx([0, 0, 0, 0.4, 0.68, 0.95])
    with zipfile.ZipFile(out) as z:
        charts = sorted(n for n in z.namelist() if n.startswith("xl/charts/chart"))
        xml = "".join(z.read(n).decode("utf-8") for n in charts)
    assert len(charts) == 4  # per framework: its rates, its departments' totals
    assert "'图表'!$D$3:$D$18" in xml and "'图表'!$D$19:$D$34" in xml
    # 总分 is column 4 + 23 + 1 = AB: the example's rows 2–3, the seed's row 4
    assert "'汇总'!$AB$2:$AB$3" in xml and "'汇总'!$AB$4<" in xml
    assert f"各部门总分（按总分排序）——{SEED}" in xml


def test_the_note_heads_the_findings_and_the_frameworks_are_listed(summary):
    out, *_ = summary
    findings = as_dicts(out, "问题清单")
    assert findings[0] == {"文件": "（全部文件）", "单位": None, "级别": "提示", "工作表": "汇总", "单元格": "D:D",
                           "说明": NOTE}
    assert [f["文件"] for f in findings[1:]] == ["混合/衡山县住建局2020.xlsm"] * 5  # its five 自评 提示
    listed = as_dicts(out, "框架")
    assert [(r["框架"], r["序号"], r["指标"]) for r in listed] == (
        [(OTHER, i, k) for i, k in enumerate(OTHER_SCORES, 1)] + [(SEED, i, k) for i, k in enumerate(SEED_SCORES, 1)])
    assert {r["指纹"] for r in listed if r["框架"] == SEED} == {seed_framework().fingerprint}


def test_one_framework_gives_no_note(mixed, tmp_path, capsys):
    code, out, err = run(capsys, "batch", mixed / "示例部门2021.xlsm", mixed / "示例部门2021-改.xlsm",
                         "-o", tmp_path / "a.xlsx")
    assert (code, err) == (0, "")
    assert sheet_rows(tmp_path / "a.xlsx", "汇总")[0] == HEAD + tuple(OTHER_SCORES) + TAIL
    assert as_dicts(tmp_path / "a.xlsx", "问题清单") == []


def test_merge_of_summaries_from_different_frameworks_equals_one_batch(mixed, summary, tmp_path, capsys):
    whole, code_whole, *_ = summary
    seed_part, other_part, merged = tmp_path / "衡山.xlsx", tmp_path / "示例.xlsx", tmp_path / "合并.xlsx"
    assert run(capsys, "batch", mixed / "衡山县住建局2020.xlsm", "-o", seed_part)[0] == 0
    assert run(capsys, "batch", mixed / "示例部门2021.xlsm", mixed / "示例部门2021-改.xlsm", "-o", other_part)[0] == 0
    code, out, err = run(capsys, "merge", seed_part, other_part, "-o", merged)
    assert code == code_whole == 0
    assert err == f"evalbook: 提示：{NOTE}\n"
    assert out.startswith("合并2份汇总，共3个文件：已评分3个，无法读取0个；")
    # the part's own names (衡山县住建局2020.xlsm) differ from the batch's (混合/…): compare without 文件
    for title in ("汇总", "部门指标", "专项资金", "专项指标", "问题清单", "框架"):
        got, want = as_dicts(merged, title), as_dicts(whole, title)
        assert [{k: v for k, v in r.items() if k != "文件"} for r in got] == \
               [{k: v for k, v in r.items() if k != "文件"} for r in want], title
    got, want = sheet_rows(merged, "图表"), sheet_rows(whole, "图表")
    assert [r[:3] + r[4:5] for r in got[:34]] == [r[:3] + r[4:5] for r in want[:34]]
    assert [r[3] for r in got[2:34]] == pytest.approx([r[3] for r in want[2:34]])

    # merging the merged summary with itself again keeps each framework's columns where they belong
    again = tmp_path / "再合并.xlsx"
    assert run(capsys, "merge", merged, "-o", again)[0] == 0
    assert sheet_rows(again, "汇总") == sheet_rows(merged, "汇总")


def test_a_framework_name_that_looks_like_a_formula_stays_text(tmp_path, capsys):
    framework = tmp_path / "框架.xlsx"
    assert run(capsys, "framework", "export", "-o", framework)[0] == 0
    wb = openpyxl.load_workbook(framework)
    (cell,) = [row[1] for row in wb["说明"].iter_rows(min_row=2) if row[0].value == "名称"]
    cell.value = "=HYPERLINK(\"http://example.invalid\",\"点我\")"
    cell.data_type = "s"  # text that an accountant typed with a quote mark first
    wb.save(framework)
    folder = tmp_path / "部门"
    folder.mkdir()
    assert run(capsys, "new", folder / "a.xlsm", "--framework", framework)[0] == 0
    out = tmp_path / "汇总.xlsx"
    run(capsys, "batch", folder, "-o", out)
    wb = openpyxl.load_workbook(out)
    assert wb["汇总"]["D2"].value.startswith("=HYPERLINK") and wb["汇总"]["D2"].quotePrefix
    assert wb["框架"]["A2"].quotePrefix and wb["框架"]["B2"].quotePrefix
    with zipfile.ZipFile(out) as z:
        sheets = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
    assert "<f>" not in sheets and "HYPERLINK" in sheets
