"""Never lose a file: a write is all or nothing, whatever stops it and wherever the file lives.

`evalbook score` is killed at many moments (by timer, and deterministically at every step of the
save); the disk fills up; the file is read-only, open in Excel, or replaced while we work.  Each
time the workbook opens and is either the original bytes or a completely scored workbook.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from evalbook.workbook import contract as C
from evalbook.adapters import package as P
from evalbook.core.errors import WorkbookUnusable
from evalbook.adapters.xlsx import XlsxBook
from evalbook.cli import main
from tests.conftest import EXAMPLE, ROOT

ORIGINAL = EXAMPLE.read_bytes()
posix_only = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and permission bits are POSIX")


def _state(path: Path) -> str:
    """'original' or 'scored'; fails if the file is anything else (damaged, half written)."""
    data = path.read_bytes()
    if data == ORIGINAL:
        return "original"
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        assert z.namelist() == zipfile.ZipFile(EXAMPLE).namelist()
    with XlsxBook(path) as book:
        status = book.read_values([C.STATUS])[C.STATUS]
        total = book.read_values([C.TOTAL])[C.TOTAL]
    assert "校验完成" in status and total is not None, status
    return "scored"


def _others(folder: Path, name: str) -> list[str]:
    """Files beside the workbook other than our own temporaries (which are never workbooks)."""
    return sorted(p.name for p in folder.iterdir()
                  if p.name != name and not (p.name.startswith(P.TEMP_PREFIX) and p.name.endswith(P.TEMP_SUFFIX)))


@pytest.fixture
def book(tmp_path):
    folder = tmp_path / "财务 科（2020年）"
    folder.mkdir()
    target = folder / "衡山县 住建局.xlsm"
    target.write_bytes(ORIGINAL)
    return target


def _score(*argv) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "evalbook.cli", "score", *map(str, argv)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


# ---- killed at any moment ---------------------------------------------------------------------

@posix_only
def test_killed_by_timer_at_many_moments(book):
    started = time.monotonic()
    probe = _score(book)
    assert probe.wait(timeout=60) == 0
    whole = time.monotonic() - started
    states = []
    for i in range(30):
        book.write_bytes(ORIGINAL)
        delay = whole * 2 * i / 29  # from 0 to well past the end of a normal run
        process = _score(book)
        time.sleep(delay)
        process.kill()
        process.wait(timeout=60)
        states.append(_state(book))
        assert _others(book.parent, book.name) == []
    assert "original" in states and "scored" in states, states


KILLER = textwrap.dedent("""
    import os, signal, sys, zipfile
    path, stage, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)
    if stage == "part":
        write, count = zipfile.ZipFile.writestr, [0]
        def writestr(self, *args, **kwargs):
            if count[0] == n:
                die()
            count[0] += 1
            return write(self, *args, **kwargs)
        zipfile.ZipFile.writestr = writestr
    elif stage == "fsync":
        os.fsync = die
    elif stage == "before-replace":
        os.replace = die
    elif stage == "after-replace":
        replace = os.replace
        def replaced(*args):
            replace(*args)
            die()
        os.replace = replaced
    from evalbook.cli import main
    sys.exit(main(["score", path]))
""")


def _stages() -> list[tuple[str, int]]:
    parts = len(zipfile.ZipFile(EXAMPLE).namelist())
    return [("part", n) for n in range(parts)] + [("fsync", 0), ("before-replace", 0), ("after-replace", 0)]


@posix_only
def test_killed_at_every_step_of_the_save(book):
    """SIGKILL before each part is written, at the flush, just before and just after the rename."""
    for stage, n in _stages():
        book.write_bytes(ORIGINAL)
        result = subprocess.run([sys.executable, "-c", KILLER, str(book), stage, str(n)], cwd=ROOT,
                                capture_output=True)
        assert result.returncode == -signal.SIGKILL, (stage, n, result.stderr[-500:])
        expected = "scored" if stage == "after-replace" else "original"
        assert _state(book) == expected, (stage, n)
        assert _others(book.parent, book.name) == []


def test_interrupted_inside_the_save_leaves_no_trace(book, monkeypatch):
    """Ctrl-C (or any exception) half way through writing: original kept, temporary removed."""
    write = zipfile.ZipFile.writestr
    count = [0]

    def writestr(self, *args, **kwargs):
        count[0] += 1
        if count[0] == 7:
            raise KeyboardInterrupt
        return write(self, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", writestr)
    assert main(["score", str(book)]) == 130
    assert book.read_bytes() == ORIGINAL
    assert list(book.parent.iterdir()) == [book]


def test_stale_temporaries_are_cleaned_fresh_ones_kept(book):
    old = book.parent / f"{P.TEMP_PREFIX}dead{P.TEMP_SUFFIX}"
    fresh = book.parent / f"{P.TEMP_PREFIX}busy{P.TEMP_SUFFIX}"
    unrelated = book.parent / "备注.tmp"
    for path in (old, fresh, unrelated):
        path.write_bytes(b"partial")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert main(["score", str(book)]) == 0
    assert not old.exists()  # left by a killed run: never the only copy of anything
    assert fresh.exists() and unrelated.exists()  # maybe another run's save in progress; not ours


# ---- the disk, the file system, other programs -------------------------------------------------

@pytest.mark.parametrize("code", [errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)])
def test_full_disk(book, monkeypatch, capsys, code):
    write = zipfile.ZipFile.writestr
    count = [0]

    def writestr(self, *args, **kwargs):
        count[0] += 1
        if count[0] == 5:
            raise OSError(code, os.strerror(code))
        return write(self, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", writestr)
    assert main(["score", str(book)]) == 2
    err = capsys.readouterr().err
    assert "磁盘空间" in err and book.name in err and "原文件未被改动" in err
    assert book.read_bytes() == ORIGINAL and list(book.parent.iterdir()) == [book]


def test_full_disk_at_flush(book, monkeypatch, capsys):
    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    assert main(["score", str(book)]) == 2
    assert "磁盘空间不足" in capsys.readouterr().err
    assert book.read_bytes() == ORIGINAL and list(book.parent.iterdir()) == [book]


@posix_only
def test_read_only_file_even_for_an_administrator(book, capsys):
    os.chmod(book, 0o444)  # root may write anyway; Excel would not, and neither do we
    try:
        assert main(["score", str(book)]) == 2
        err = capsys.readouterr().err
        assert "只读" in err and book.name in err
        assert book.read_bytes() == ORIGINAL
    finally:
        os.chmod(book, 0o644)


@pytest.mark.parametrize("lock", ["~${name}", "~${trimmed}", ".~lock.{name}#"])
def test_open_in_excel_wps_or_libreoffice(book, capsys, lock):
    owner = book.parent / lock.format(name=book.name, trimmed=book.name[2:])
    owner.write_bytes(b"owner")
    assert main(["score", str(book)]) == 2
    err = capsys.readouterr().err
    assert "正在被" in err and "关闭" in err and owner.name in err
    assert book.read_bytes() == ORIGINAL


def test_locked_by_another_program_at_the_rename(book, monkeypatch, capsys):
    """Windows refuses to replace a file another program holds open (a sharing violation)."""
    def locked(src, dst):
        error = PermissionError(errno.EACCES, "The process cannot access the file")
        error.winerror = 32
        raise error

    monkeypatch.setattr(os, "replace", locked)
    assert main(["score", str(book)]) == 2
    err = capsys.readouterr().err
    assert "占用" in err and book.name in err and "原文件未被改动" in err
    assert book.read_bytes() == ORIGINAL and list(book.parent.iterdir()) == [book]


def test_file_replaced_while_scoring_is_not_overwritten(book):
    newer = ORIGINAL + b""  # the accountant saves again in Excel while we score
    with XlsxBook(book) as opened:
        opened.write_values({C.STATUS: "评分中"})
        time.sleep(0.01)
        replacement = book.with_name("新版本.tmp")
        replacement.write_bytes(newer)
        os.replace(replacement, book)
        with pytest.raises(WorkbookUnusable, match="被其他程序修改"):
            opened.save()
    assert book.read_bytes() == newer


def test_chinese_paths_with_spaces_and_output_option(book, tmp_path, capsys):
    folder = tmp_path / "汇总 结果 （二〇二〇）"
    folder.mkdir()
    target = folder / "衡山 县 住建局 评分后.xlsm"
    assert main(["score", str(book), "-o", str(target)]) == 0
    assert book.read_bytes() == ORIGINAL
    assert _state(target) == "scored"
    assert list(folder.iterdir()) == [target]


def test_output_into_missing_folder_or_onto_a_folder(book, tmp_path, capsys):
    assert main(["score", str(book), "-o", str(tmp_path / "不存在" / "x.xlsm")]) == 2
    assert "不存在" in capsys.readouterr().err
    (tmp_path / "是文件夹.xlsm").mkdir()
    assert main(["score", str(book), "-o", str(tmp_path / "是文件夹.xlsm")]) == 2
    assert "文件夹" in capsys.readouterr().err
    assert book.read_bytes() == ORIGINAL


@posix_only
def test_permissions_and_links_survive(book, tmp_path):
    os.chmod(book, 0o640)
    link = tmp_path / "快捷方式.xlsm"
    link.symlink_to(book)
    assert main(["score", str(link)]) == 0
    assert link.is_symlink() and os.path.samefile(link, book)  # the link still points at the file
    assert _state(book) == "scored"
    assert oct(book.stat().st_mode & 0o777) == oct(0o640)


def test_new_template_written_atomically(tmp_path, capsys):
    target = tmp_path / "新 模板.xlsm"
    assert main(["new", str(target)]) == 0
    with zipfile.ZipFile(target) as z:
        assert z.testzip() is None
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_atomic_write_helper_refuses_cleanly(tmp_path):
    target = tmp_path / "汇总.xlsx"
    target.write_bytes(b"old")

    def broken(fh):
        fh.write(b"half")
        raise OSError(errno.EIO, "I/O error")

    with pytest.raises(WorkbookUnusable, match="磁盘读写出错"):
        P.atomic_write(target, broken)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["汇总.xlsx"]
    P.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"


def test_reading_never_writes(book):
    before = book.stat().st_mtime_ns
    assert main(["check", str(book)]) in (0, 1)
    assert book.read_bytes() == ORIGINAL and book.stat().st_mtime_ns == before
    assert list(book.parent.iterdir()) == [book]


def test_scored_workbook_opens_in_openpyxl(book):
    import openpyxl

    assert main(["score", str(book)]) == 0
    wb = openpyxl.load_workbook(book, keep_vba=True)
    assert C.SCORE_SHEET in wb.sheetnames
    shutil.copy(book, book.with_name("副本.xlsm"))
