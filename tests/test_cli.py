"""The `evalbook` command end to end on real workbook files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile

import openpyxl
import pytest

from evalbook.workbook import layout
from evalbook.cli import main
from tests.conftest import EXAMPLE

SCORE_SHEET_PART = "xl/worksheets/sheet1.xml"
RESULTS_SHEET_PART = "xl/worksheets/sheet4.xml"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def named(path, *names):
    wb = openpyxl.load_workbook(path, data_only=True)  # cached values: what a reader sees before recalculating
    found = {}
    for name in names:
        sheet, cell = next(iter(wb.defined_names[name].destinations))
        found[name] = wb[sheet][cell.replace("$", "")].value
    return found


def input_snapshot(path):
    wb = openpyxl.load_workbook(path)
    return {name: wb[sheet][cell].value for name, (sheet, cell) in layout.input_cells().items()}


@pytest.fixture
def example(tmp_path):
    target = tmp_path / "衡山 县住建局.xlsm"  # a Chinese name with a space
    shutil.copy(EXAMPLE, target)
    return target


def test_score_writes_scores_and_reasons(example, capsys):
    before = input_snapshot(example)
    code, out, err = run(capsys, "score", str(example))
    assert code == 0, err
    got = named(example, "得分_公用经费控制率", "得分_三公经费变动率", "得分_重点工作完成率", "总分", "等级",
                "扣分说明_公用经费控制率", "计算值_公用经费控制率", "自评总分")
    assert got["得分_公用经费控制率"] == 0
    assert got["得分_三公经费变动率"] == 3.4
    assert got["得分_重点工作完成率"] == 7.6
    assert got["总分"] == 76 and got["等级"] == "中"
    assert got["自评总分"] == 91.5
    assert got["计算值_公用经费控制率"] == pytest.approx(154.98 / 124.4)
    assert got["扣分说明_公用经费控制率"].startswith("公用经费控制率=154.98/124.40=124.58%")
    assert input_snapshot(example) == before
    wb = openpyxl.load_workbook(example)
    results = [row for row in wb["校验结果"].iter_rows(min_row=4, values_only=True) if row[0] is not None]
    assert len(results) == 5 and all(r[1] == "提示" for r in results)
    assert results[0][2:5] == ("评分表", "G5", "自评_三公经费变动率")
    assert "总分76分（中）" in named(example, "校验状态")["校验状态"]


def test_score_changes_only_the_two_output_sheets(example, capsys):
    before = zipfile.ZipFile(example)
    parts_before = {n: before.read(n) for n in before.namelist()}
    before.close()
    assert run(capsys, "score", str(example))[0] == 0
    after = zipfile.ZipFile(example)
    assert after.namelist() == list(parts_before)
    changed = {n for n in after.namelist() if after.read(n) != parts_before[n]}
    # 评分表, 校验结果, the two fund sheets and the fund summary hold output cells, and the hidden
    # 公式计算 sheet the snapshot of the inputs; nothing else changes
    assert changed == {SCORE_SHEET_PART, RESULTS_SHEET_PART} | {f"xl/worksheets/sheet{i}.xml" for i in (5, 6, 7, 9)}


def test_rescoring_replaces_previous_findings(example, capsys):
    assert run(capsys, "score", str(example))[0] == 0
    assert len(_findings(example)) == 5
    # break one figure: an error now, then fix it again
    with zipfile.ZipFile(example) as z:
        data = z.read("xl/worksheets/sheet2.xml").decode()
    assert "154.98" in data
    broken = example.with_name("broken.xlsm")
    _rewrite(example, broken, "xl/worksheets/sheet2.xml", data.replace("\u3000154.98", "abc"))
    code, out, err = run(capsys, "score", str(broken))
    assert code == 1
    assert any(r[1] == "错误" and "“abc”不是数字" in r[5] for r in _findings(broken))
    # wrong data is named as such; the total waits for it
    assert named(broken, "得分_公用经费控制率")["得分_公用经费控制率"] == "数据有误"
    assert named(broken, "总分")["总分"] == "待补充"
    _rewrite(broken, example, "xl/worksheets/sheet2.xml", data)
    assert run(capsys, "score", str(example))[0] == 0
    assert len(_findings(example)) == 5


def _findings(path):
    wb = openpyxl.load_workbook(path)
    return [r for r in wb["校验结果"].iter_rows(min_row=4, values_only=True) if r[0] is not None]


def _rewrite(source, target, part, text):
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target.with_suffix(".tmp"), "w") as out:
        for info in src.infolist():
            out.writestr(info, text.encode() if info.filename == part else src.read(info.filename))
    target.with_suffix(".tmp").replace(target)


def test_check_writes_nothing(example, capsys):
    data = example.read_bytes()
    code, out, err = run(capsys, "check", str(example), "--json")
    assert code == 0
    assert example.read_bytes() == data
    assert json.loads(out)["total"] == 76


def test_output_option_leaves_original(example, tmp_path, capsys):
    data = example.read_bytes()
    out_path = tmp_path / "输出.xlsm"
    assert run(capsys, "score", str(example), "-o", str(out_path))[0] == 0
    assert example.read_bytes() == data
    assert named(out_path, "总分")["总分"] == 76


def test_json_matches_workbook(example, capsys):
    code, out, err = run(capsys, "score", str(example), "--json")
    d = json.loads(out)
    assert d["total"] == 76 and d["grade"] == "中"
    written = named(example, *(f"得分_{i['key']}" for i in d["indicators"]))
    assert [written[f"得分_{i['key']}"] for i in d["indicators"]] == [i["score"] for i in d["indicators"]]


def test_errors_give_exit_1(make_book, seed_values, capsys):
    seed_values["编制数"] = "二十一"
    path = make_book(seed_values)
    code, out, err = run(capsys, "score", str(path))
    assert code == 1
    assert "“二十一”不是数字" in out


@pytest.mark.parametrize("content, fragment", [
    (b"", "空文件"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "加密"),
    ("单位,金额\n住建局,12\n".encode("utf-8"), "CSV"),
    (bytes(range(256)) * 4, "不是Excel工作簿"),
])
def test_unusable_files_exit_2_with_one_line(tmp_path, capsys, content, fragment):
    path = tmp_path / "坏文件.xlsm"
    path.write_bytes(content)
    code, out, err = run(capsys, "score", str(path))
    assert code == 2
    assert fragment in err and "坏文件.xlsm" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert path.read_bytes() == content


def test_truncated_zip(tmp_path, capsys):
    path = tmp_path / "截断.xlsm"
    path.write_bytes(EXAMPLE.read_bytes()[:5000])
    code, _, err = run(capsys, "score", str(path))
    assert code == 2 and "截断.xlsm" in err


def test_missing_name_or_sheet_is_unusable(tmp_path, capsys):
    wb = openpyxl.load_workbook(EXAMPLE, keep_vba=True)
    del wb.defined_names["年末结余"]
    path = tmp_path / "少名称.xlsm"
    wb.save(path)
    code, _, err = run(capsys, "score", str(path))
    assert code == 2 and "年末结余" in err
    wb = openpyxl.load_workbook(EXAMPLE)
    wb.remove(wb["评分规则"])
    path = tmp_path / "少工作表.xlsx"
    wb.save(path)
    code, _, err = run(capsys, "check", str(path))
    assert code == 2 and "评分规则" in err


def test_plain_xlsx_is_scored(make_book, seed_values, capsys):
    path = make_book(seed_values, "普通.xlsx")
    assert run(capsys, "score", str(path))[0] == 0
    assert named(path, "总分")["总分"] == 76


def test_real_console_script_exit_codes(example, tmp_path):
    result = subprocess.run([sys.executable, "-m", "evalbook.cli", "score", str(example), "--json"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and json.loads(result.stdout)["grade"] == "中"
    missing = subprocess.run([sys.executable, "-m", "evalbook.cli", "check", str(tmp_path / "无.xlsm")],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "找不到文件" in missing.stderr and "Traceback" not in missing.stderr


def test_department_chart_follows_the_scores(example, capsys):
    assert run(capsys, "score", str(example))[0] == 0
    got = named(example, *(f"二级得分_{g}" for g in ("预算配置", "预算执行", "预算管理", "职责履行", "履职效益")))
    # 5+3.4 | 0+2+5+5 | 0+7+0+8+6+5 | 7.6 | 10+6+6
    assert list(got.values()) == [8.4, 12, 26, 7.6, 22]
    assert named(example, "二级分值_预算管理")["二级分值_预算管理"] == 40
    with zipfile.ZipFile(example) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 1
        xml = z.read(charts[0]).decode()
    assert "'评分表'!$E$" in xml and "'评分表'!$C$" in xml
    # scoring again neither adds a second chart nor changes the chart part
    assert run(capsys, "score", str(example))[0] == 0
    with zipfile.ZipFile(example) as z:
        assert [n for n in z.namelist() if n.startswith("xl/charts/chart")] == charts
        assert z.read(charts[0]).decode() == xml


def test_vba_ribbon_names_validations_survive_scoring(example, capsys):
    def snapshot(path):
        with zipfile.ZipFile(path) as z:
            rels = z.read("_rels/.rels").decode()
            sheets = {n: z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet")}
            return (z.read("xl/vbaProject.bin"), z.read("customUI/customUI14.xml"),
                    "ui/extensibility" in rels, z.read("xl/workbook.xml"), z.read("xl/styles.xml"),
                    {n: x.count("<dataValidation ") for n, x in sheets.items()},
                    {n: x.count("<conditionalFormatting") for n, x in sheets.items()})

    before = snapshot(example)
    assert before[2] and sum(before[5].values()) > 0 and sum(before[6].values()) > 0
    assert run(capsys, "score", str(example))[0] == 0
    assert snapshot(example) == before  # the VBA project byte for byte, the ribbon and its relationship too


def test_new_builds_exactly_the_committed_template(tmp_path, capsys):
    """The committed binary is the build script's product, byte for byte: nobody edited it by hand."""
    from tests.conftest import TEMPLATE

    target = tmp_path / "新模板.xlsm"
    assert run(capsys, "new", str(target))[0] == 0
    assert target.read_bytes() == TEMPLATE.read_bytes(), "run python -m evalbook.build"
    code, _, err = run(capsys, "new", str(target))
    assert code == 2 and "已存在" in err


def test_example_is_the_build_scripts_product(tmp_path):
    from evalbook.build.__main__ import EXAMPLE as EXAMPLE_PATH, main as build_main

    assert build_main(str(tmp_path)) == 0
    assert (tmp_path / EXAMPLE_PATH).read_bytes() == EXAMPLE.read_bytes(), "run python -m evalbook.build"


def test_a_blank_input_is_an_error_in_results_status_exit_code_and_json(example, capsys):
    wb = openpyxl.load_workbook(example, keep_vba=True)
    sheet, cell = next(iter(wb.defined_names["政府采购_本年预算"].destinations))
    wb[sheet][cell.replace("$", "")] = "\u3000"
    wb.save(example)
    code, out, err = run(capsys, "check", "--json", str(example))
    assert code == 1, err  # scored, with 错误 findings
    issue = next(i for i in json.loads(out)["issues"] if i["name"] == "政府采购_本年预算")
    assert (issue["severity"], issue["sheet"], issue["cell"]) == ("错误", "基础数据表", "C21")
    assert "政府采购执行率" in issue["message"]
    code, _, err = run(capsys, "score", str(example))
    assert code == 1, err
    status = named(example, "校验状态")["校验状态"]
    assert "错误1项" in status and "1项指标待补充" in status
    wb = openpyxl.load_workbook(example)
    rows = [tuple(c.value for c in row) for row in wb["校验结果"].iter_rows(min_row=4, max_col=6)]
    assert (1, "错误", "基础数据表", "C21", "政府采购_本年预算",
            "基础数据表!C21（政府采购_本年预算）只有空格，视为未填写，政府采购执行率需要此项数据，暂不计分") in rows


def test_version(capsys):
    import configparser
    from pathlib import Path

    from evalbook import __version__

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"evalbook {__version__}"
    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).parents[1] / "setup.cfg", encoding="utf-8")
    assert cfg["metadata"]["version"] == "attr: evalbook.__version__"


@pytest.mark.parametrize("argv, expected", [
    (["score"], "evalbook score: 参数有误：缺少必需的参数：工作簿"),
    (["frob"], "evalbook: 参数有误：参数 命令：无效的选择：'frob'（可选："),
    (["score", "a.xlsm", "--frob"], "evalbook: 参数有误：无法识别的参数：--frob"),
    (["batch", "x", "-o", "y.xlsx", "--jobs", "0"], "参数 --jobs：进程数至少为1"),
])
def test_usage_errors_are_chinese_and_exit_2(capsys, argv, expected):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("用法：evalbook")
    assert expected in err
    assert "usage" not in err and "error" not in err and "required" not in err


def test_help_is_chinese_for_every_argument(capsys):
    from evalbook.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, sub in [("evalbook", parser), *subparsers.choices.items()]:
        text = sub.format_help()
        assert text.startswith("用法："), name
        for english in ("usage:", "positional arguments", "options:", "show this help"):
            assert english not in text, (name, english)
        for action in sub._actions:
            assert action.help and not action.help.isascii(), (name, action.dest)


def test_score_output_refuses_an_existing_file_without_force(example, tmp_path, capsys):
    existing = tmp_path / "已有 文件.xlsm"
    existing.write_bytes(b"keep me")
    code, out, err = run(capsys, "score", str(example), "-o", str(existing))
    assert code == 2 and "“已有 文件.xlsm”已存在" in err and "--force" in err
    assert existing.read_bytes() == b"keep me"
    code, out, err = run(capsys, "score", str(example), "-o", str(existing), "--force")
    assert code == 0, err
    assert named(existing, "总分")["总分"] == 76
    # -o naming the input itself is scoring in place, which never needs --force
    code, out, err = run(capsys, "score", str(example), "-o", str(example))
    assert code == 0, err
