"""Saves that never lose someone else's work (issue 10, point 2).

The races of the issue, re-run 20 rounds each through the real command line in subprocesses:
another program (Excel saves by renaming a finished copy over the original) replaces the workbook
while evalbook's temporary file exists; two `add-fund` runs on one workbook; `score` racing
`add-fund`.  Every round must end with every reported success present in the file and nothing
anyone else saved overwritten: zero lost saves.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from evalbook.workbook import contract as C
from evalbook.adapters import package as P
from evalbook.adapters.xlsx import XlsxBook
from evalbook.workbook.funds_io import fund_numbers
from tests.conftest import EXAMPLE, ROOT

ROUNDS = 20
ORIGINAL = EXAMPLE.read_bytes()

# The test's own hook, in the child only: once the temporary workbook is written and synced, say
# so and wait for the parent's go-ahead.  Nothing in evalbook knows about it.
HOOKED = textwrap.dedent("""
    import os, sys, tempfile, time
    from pathlib import Path
    ready, go = Path(sys.argv[1]), Path(sys.argv[2])
    temps = set()
    mkstemp, fsync = tempfile.mkstemp, os.fsync
    def recording_mkstemp(*args, **kwargs):
        fd, name = mkstemp(*args, **kwargs)
        temps.add(fd)
        return fd, name
    def pausing_fsync(fd):
        fsync(fd)
        if fd in temps:
            temps.discard(fd)
            ready.write_text("temp written")
            deadline = time.monotonic() + 60
            while not go.exists() and time.monotonic() < deadline:
                time.sleep(0.002)
    tempfile.mkstemp, os.fsync = recording_mkstemp, pausing_fsync
    from evalbook.cli import main
    sys.exit(main(sys.argv[3:]))
""")


def _edited(data: bytes, marker: str) -> bytes:
    """The workbook as another program saved it: same sheets, one part changed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            part = src.read(info)
            if info.filename == "docProps/app.xml":
                part = part.replace(b"</Properties>", f"<Manager>{marker}</Manager></Properties>".encode())
            dst.writestr(info, part)
    return out.getvalue()


def _cli(*argv: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "evalbook.cli", *argv], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _hooked(folder: Path, *argv: str) -> tuple[subprocess.Popen, Path, Path]:
    ready, go = folder / "ready.flag", folder / "go.flag"
    for flag in (ready, go):
        flag.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", HOOKED, str(ready), str(go), *argv], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return process, ready, go


def _wait_for(flag: Path, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not flag.exists():
        assert process.poll() is None, process.communicate()[1].decode()
        assert time.monotonic() < deadline, "the temporary file was never written"
        time.sleep(0.002)


def _leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def _fund_count(path: Path) -> int:
    with XlsxBook(path) as book:
        return len(fund_numbers(book))


def _status(path: Path) -> object:
    with XlsxBook(path) as book:
        return book.read_values([C.STATUS])[C.STATUS]


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "收件 箱"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("command", ["score", "add-fund"])
def test_a_save_by_another_program_while_the_temporary_exists_is_kept(folder, command):
    """Excel's save (a finished copy renamed over the original) lands after evalbook wrote and
    synced its temporary file, before the replace: the edit stays, evalbook says so."""
    book = folder / "衡山县 住建局.xlsm"
    for i in range(ROUNDS):
        book.write_bytes(ORIGINAL)
        theirs = _edited(ORIGINAL, f"第{i}次在Excel中保存")
        process, ready, go = _hooked(folder, command, str(book))
        _wait_for(ready, process)
        saved_by_excel = folder / "~excel0001.tmp"
        saved_by_excel.write_bytes(theirs)
        os.replace(saved_by_excel, book)
        go.write_text("go")
        out, err = process.communicate(timeout=60)
        message = err.decode()
        assert process.returncode == 2, (i, message)
        assert book.read_bytes() == theirs, f"round {i}: the other program's save was lost"
        assert "被其他程序修改或替换" in message and book.name in message and "已丢弃" in message, message
        assert len(message.strip().splitlines()) == 1
        assert _leftovers(folder, {book.name, "ready.flag", "go.flag"}) == []


def test_an_edit_in_place_that_keeps_size_and_time_is_kept_too(folder):
    """Identity alone (inode, size, time) cannot see a rewrite in place that restores the time:
    the bytes are compared as well."""
    book = folder / "原地保存.xlsm"
    book.write_bytes(ORIGINAL)
    theirs = bytearray(ORIGINAL)
    assert theirs[:4] == b"PK\x03\x04"
    theirs[10] ^= 0x01  # the first entry's modification time: still a valid workbook, same size
    process, ready, go = _hooked(folder, "score", str(book))
    _wait_for(ready, process)
    before = book.stat()
    with open(book, "r+b") as fh:
        fh.write(theirs)
    os.utime(book, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert book.stat().st_ino == before.st_ino and book.stat().st_mtime_ns == before.st_mtime_ns
    go.write_text("go")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2, err.decode()
    assert book.read_bytes() == bytes(theirs)
    assert "被其他程序修改或替换" in err.decode()


def test_two_add_funds_at_once_both_survive(folder):
    book = folder / "两人同时新增.xlsm"
    for i in range(ROUNDS):
        book.write_bytes(ORIGINAL)
        before = _fund_count(book)
        first, second = _cli("add-fund", str(book)), _cli("add-fund", str(book))
        results = [p.communicate(timeout=120) + (p.returncode,) for p in (first, second)]
        succeeded = [r for r in results if r[2] == 0]
        for out, err, code in results:
            assert code in (0, 2), err.decode()
            if code == 2:
                assert "被其他程序修改或替换" in err.decode() or "另一个evalbook" in err.decode(), err.decode()
        assert succeeded, results
        assert _fund_count(book) == before + len(succeeded), f"round {i}: a reported new sheet is missing"
        with zipfile.ZipFile(book) as z:
            assert z.testzip() is None
        assert _leftovers(folder, {book.name}) == []


def _unscored(path: Path) -> bytes:
    with XlsxBook(EXAMPLE) as book:
        book.write_values({C.STATUS: "尚未评分"})
        book.save(path)
    return path.read_bytes()


def test_score_racing_add_fund_loses_neither(folder):
    book = folder / "评分与新增同时.xlsm"
    base = _unscored(book)
    for i in range(ROUNDS):
        book.write_bytes(base)
        before = _fund_count(book)
        score, add = _cli("score", str(book)), _cli("add-fund", str(book))
        s_out, s_err = score.communicate(timeout=120)
        a_out, a_err = add.communicate(timeout=120)
        assert score.returncode in (0, 1, 2) and add.returncode in (0, 2), (s_err.decode(), a_err.decode())
        if add.returncode == 0:
            assert _fund_count(book) == before + 1, f"round {i}: add-fund's sheet was lost"
        else:
            assert _fund_count(book) == before
        status = _status(book)
        if score.returncode in (0, 1):
            assert isinstance(status, str) and "校验完成" in status, f"round {i}: score's results were lost"
        else:
            assert "被其他程序修改或替换" in s_err.decode() or "另一个evalbook" in s_err.decode(), s_err.decode()
        assert add.returncode == 0 or score.returncode in (0, 1), "at least one must get through"
        assert _leftovers(folder, {book.name}) == []


def test_a_waiting_writer_gives_up_with_a_message(folder, monkeypatch, capsys):
    """A lock that stays taken (another evalbook stuck on a slow network drive) ends in one
    clear line after the wait, not a hang, and the file is untouched."""
    from evalbook.adapters import filelock
    from evalbook.cli import main

    book = folder / "久等.xlsm"
    book.write_bytes(ORIGINAL)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from evalbook.adapters import filelock, package
        held = filelock.try_acquire(package.lock_file_for(package.Path({str(book)!r})))
        print("held" if held else "busy", flush=True)
        time.sleep(30)
    """)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"held"
        monkeypatch.setattr(P, "WRITE_LOCK_WAIT", 0.3)
        assert main(["score", str(book)]) == 2
        err = capsys.readouterr().err
        assert "另一个evalbook" in err and book.name in err and len(err.strip().splitlines()) == 1
        assert book.read_bytes() == ORIGINAL
    finally:
        holder.kill()
        holder.wait()
    # the holder died without cleaning up: its OS lock died with it, and the next run goes through
    assert P.lock_file_for(book).exists()
    assert main(["score", str(book)]) == 0
    assert not P.lock_file_for(book).exists()
    again = filelock.try_acquire(P.lock_file_for(book))
    assert again is not None
    again.release()


def test_nested_writes_in_one_process_do_not_wait_for_themselves(folder):
    target = folder / "汇总.xlsx"
    with P.write_lock(target):
        P.atomic_write_bytes(target, b"inner")  # takes the same lock again
    assert target.read_bytes() == b"inner"
    assert not P.lock_file_for(target).exists()


def test_a_lock_name_too_long_for_the_file_system_is_shortened(folder):
    long_name = "部" * 80 + ".xlsm"  # 245 bytes: allowed, but not with the lock's prefix and suffix
    lock = P.lock_file_for(folder / long_name)
    assert len(os.fsencode(lock.name)) <= 255 and lock.name.startswith(P.TEMP_PREFIX)
    assert lock == P.lock_file_for(folder / long_name)  # the same for every process
    target = folder / long_name
    P.atomic_write_bytes(target, b"x")
    assert target.read_bytes() == b"x"
