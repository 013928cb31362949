"""Bounded resources (issue 10, points 4 and 9): every oversized file gets a verdict that names the
limit, quickly and in little memory, and files that are not plain files are refused at once.

Inputs just over each real limit are built at test scale; one full-size case (a million-row data
sheet) and the lying zip directory run as separate processes, timed and measured.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bench import bench_limits as B
from evalbook.workbook import contract as C
from evalbook.adapters import limits as L
from evalbook.adapters import package as P
from evalbook.adapters.xlsx import XlsxBook
from evalbook.cli import main
from tests.conftest import EXAMPLE, ROOT

ORIGINAL = EXAMPLE.read_bytes()
posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs and /dev/zero are POSIX")


def _score(path: Path, *extra: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["score", str(path), *extra])
    return code, err.getvalue()


def _refused(tmp_path: Path, data: bytes, *fragments: str) -> str:
    path = tmp_path / "超大 文件.xlsm"
    path.write_bytes(data)
    code, err = _score(path)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and path.name in err
    for fragment in fragments:
        assert fragment in err, err
    assert path.read_bytes() == data  # refused before anything was written
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    return err


# ---- the cases of point 4, just over the real limits --------------------------------------------

def test_a_data_sheet_over_the_row_limit(tmp_path):
    data = B.many_rows(L.MAX_SHEET_ROWS + 1, cells_per_row=1)
    _refused(tmp_path, data, "基础数据表", f"超过{L.MAX_SHEET_ROWS}行", "上限")


def test_a_data_sheet_over_the_cell_limit(tmp_path):
    data = B.many_rows(L.MAX_SHEET_CELLS // 4 + 1, cells_per_row=4)
    _refused(tmp_path, data, "基础数据表", f"单元格超过{L.MAX_SHEET_CELLS}个", "上限")


def test_shared_strings_over_the_limit(tmp_path):
    data = B.many_strings(L.MAX_SHARED_STRINGS + 1)
    _refused(tmp_path, data, "共享字符串表", f"字符串超过{L.MAX_SHARED_STRINGS}个", "上限")


@pytest.mark.parametrize("part", ["data-sheet", "xl/workbook.xml", "xl/styles.xml"])
def test_nesting_deeper_than_the_limit(tmp_path, part):
    data = B.deep_nesting(L.MAX_XML_DEPTH + 1, None if part == "data-sheet" else part)
    _refused(tmp_path, data, f"嵌套超过{L.MAX_XML_DEPTH}层")


def test_nesting_at_the_limit_is_read(tmp_path):
    # the sheet root, extLst and ext take three levels; the chain fills the rest exactly
    data = B.deep_nesting(L.MAX_XML_DEPTH - 3)
    path = tmp_path / "刚好.xlsm"
    path.write_bytes(data)
    code, err = _score(path)
    assert code in (0, 1), err


def test_a_directory_holding_more_entries_than_its_end_record_claims(tmp_path):
    data = B.lying_directory(L.MAX_PARTS + 1, claimed=30)
    _refused(tmp_path, data, f"超过{L.MAX_PARTS}个", "声称只有30个")


def test_a_directory_too_large_is_refused_before_it_is_read(tmp_path):
    entries = L.MAX_DIRECTORY_BYTES // 49 + 1  # each record here is 49 bytes
    _refused(tmp_path, B.lying_directory(entries, claimed=30), "压缩包目录", f"超过{L.MAX_DIRECTORY_BYTES // L.MB}MB")


def test_an_end_record_announcing_too_many_entries(tmp_path):
    data = bytearray(ORIGINAL)
    at = data.rfind(b"PK\x05\x06")
    data[at + 8: at + 12] = (L.MAX_PARTS + 1).to_bytes(2, "little") * 2
    _refused(tmp_path, bytes(data), f"{L.MAX_PARTS + 1}个", f"上限{L.MAX_PARTS}个")


# ---- each limit at its edge (limits lowered, so the inputs stay small) ---------------------------

def _rows_book(tmp_path: Path, rows: int, cells: int = 1) -> Path:
    path = tmp_path / f"{rows}x{cells}.xlsm"
    path.write_bytes(B.many_rows(rows, cells_per_row=cells))
    return path


def _data_sheet_counts(path: Path) -> tuple[int, int]:
    import re

    with zipfile.ZipFile(path) as z:
        xml = z.read(B.data_sheet_part()).decode()
    return len(re.findall(r"<row\b", xml)), len(re.findall(r"<c\b", xml))


@pytest.mark.parametrize("limit, unit", [("MAX_SHEET_ROWS", "行"), ("MAX_SHEET_CELLS", "个")])
def test_sheet_limits_are_exact(tmp_path, monkeypatch, limit, unit):
    path = _rows_book(tmp_path, 3000)  # now the largest sheet of the workbook (the hidden 公式计算 has ~2,200 cells)
    rows, cells = _data_sheet_counts(path)
    have = rows if limit == "MAX_SHEET_ROWS" else cells
    monkeypatch.setattr(L, limit, have)
    assert _score(path)[0] in (0, 1)  # exactly at the limit: read
    path.write_bytes(B.many_rows(3000))
    monkeypatch.setattr(L, limit, have - 1)
    code, err = _score(path)
    assert code == 2 and f"超过{have - 1}{unit}" in err and "基础数据表" in err, err


def test_elements_held_at_once_are_limited(tmp_path, monkeypatch):
    monkeypatch.setattr(L, "MAX_XML_ELEMENTS", 500)
    code, err = _score(_rows_book(tmp_path, 1, cells=300))  # one row of 300 cells: 601 elements
    assert code == 2 and "基础数据表" in err and "元素超过500个" in err, err


def test_all_elements_of_a_sheet_are_limited(tmp_path, monkeypatch):
    # above every template sheet (the hidden 公式计算 is the largest, about 7,300 elements)
    monkeypatch.setattr(L, "MAX_SHEET_ELEMENTS", 8000)
    code, err = _score(_rows_book(tmp_path, 4000))
    assert code == 2 and "基础数据表" in err and "元素超过8000个" in err, err


def test_shared_string_characters_are_limited(tmp_path, monkeypatch):
    monkeypatch.setattr(L, "MAX_SHARED_CHARS", 1000)
    path = tmp_path / "长文字.xlsm"
    path.write_bytes(B.many_strings(200))  # 200 strings of about 10 characters
    code, err = _score(path)
    assert code == 2 and "文字超过1000个字符" in err, err


def test_a_file_over_the_size_limit_is_refused_unopened(tmp_path, monkeypatch):
    monkeypatch.setattr(P, "MAX_FILE_BYTES", len(ORIGINAL) - 1)
    path = tmp_path / "大.xlsm"
    path.write_bytes(ORIGINAL)
    code, err = _score(path)
    assert code == 2 and "上限" in err and "MB" in err, err


# ---- full size, in a process of its own: the 5 s and 300 MB bound --------------------------------

@pytest.mark.parametrize("kind", ["rows", "zip"])
def test_full_size_case_gets_its_verdict_within_5_seconds_and_300_mb(tmp_path, kind):
    path = B.build_apart(kind, tmp_path)
    code, seconds, peak_mb, line = B.measure(["score", str(path)])
    assert code == 2, line
    assert "上限" in line, line
    assert seconds < 5, f"{seconds:.1f} s"
    assert peak_mb < 300, f"{peak_mb:.0f} MB"


# ---- not plain files (point 9) ----------------------------------------------------------------

def _cli(*argv: str, timeout: float = 30) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "evalbook.cli", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@posix_only
@pytest.mark.parametrize("command", ["score", "check", "add-fund"])
def test_a_fifo_is_refused_at_once(tmp_path, command):
    fifo = tmp_path / "管道.xlsm"
    os.mkfifo(fifo)
    result = _cli(command, str(fifo))  # used to wait forever for a writer
    assert result.returncode == 2
    assert "命名管道" in result.stderr and fifo.name in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [fifo.name]


@posix_only
def test_dev_zero_is_refused_at_once():
    result = _cli("check", "/dev/zero")  # used to grow to 24 GB
    assert result.returncode == 2 and "设备文件" in result.stderr, result.stderr


@posix_only
def test_a_device_is_not_a_place_to_save(tmp_path):
    book = tmp_path / "部门.xlsm"
    book.write_bytes(ORIGINAL)
    code, err = _score(book, "-o", "/dev/null")
    assert code == 2 and "设备文件" in err and "不能作为要保存的文件" in err, err
    assert book.read_bytes() == ORIGINAL


@posix_only
@pytest.mark.parametrize("how", ["argument", "glob"])
def test_batch_lists_a_fifo_as_unreadable_and_goes_on(tmp_path, how):
    folder = tmp_path / "收件"
    folder.mkdir()
    (folder / "甲.xlsm").write_bytes(ORIGINAL)
    os.mkfifo(folder / "乙.xlsm")
    out = tmp_path / "汇总.xlsx"
    inputs = [str(folder / "甲.xlsm"), str(folder / "乙.xlsm")] if how == "argument" else [str(folder / "*.xlsm")]
    result = _cli("batch", "--jobs", "2", "-o", str(out), *inputs)
    assert result.returncode == 2, result.stderr
    assert "汇总已写入" in result.stdout
    import openpyxl

    wb = openpyxl.load_workbook(out, read_only=True)
    failed = [row for row in wb["无法读取"].iter_rows(values_only=True) if row and any(row)]
    assert any("乙.xlsm" in str(row) and "命名管道" in str(row) for row in failed), failed
    scored = [row for row in wb["汇总"].iter_rows(values_only=True) if row and "甲.xlsm" in str(row)]
    assert scored
