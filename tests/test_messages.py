"""Honest messages (issue 10, point 10): one line always, never "文件未被改动" about a file that
was written, prepared words for names the file system refuses, and a closed stdout costs only
the rest of the report.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evalbook import cli
from evalbook.core.textsafe import terminal_lines, terminal_safe
from evalbook.workbook import contract as C
from evalbook.adapters.xlsx import XlsxBook
from evalbook.cli import main
from tests.conftest import EXAMPLE, ROOT

ORIGINAL = EXAMPLE.read_bytes()
LONG = "很长的文件名" * 15 + ".xlsm"  # 270 bytes in UTF-8: over every file system's 255
posix_only = pytest.mark.skipif(os.name != "posix", reason="file names with newlines; closed pipes")


def _main(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def book(tmp_path):
    path = tmp_path / "住建局.xlsm"
    path.write_bytes(ORIGINAL)
    return path


def _scored(path: Path) -> bool:
    with XlsxBook(path) as opened:
        status = opened.read_values([C.STATUS])[C.STATUS]
    return path.read_bytes() != ORIGINAL and isinstance(status, str) and "校验完成" in status


# ---- a closed stdout -----------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["score"], ["check"], ["check", "--json"]])
def test_a_closed_stdout_is_not_an_unexpected_error(book, argv):
    """`score BOOK | head -1`: the reader is gone before evalbook writes its report."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "evalbook.cli", argv[0], str(book), *argv[1:]], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # like `head` that has already exited
    err = process.stderr.read().decode()
    process.wait(timeout=60)
    assert process.returncode in (0, 1), err
    assert "意外错误" not in err and "Traceback" not in err and "Exception ignored" not in err, err
    assert "标准输出已关闭" in err and len(err.strip().splitlines()) == 1, err
    if argv[0] == "score":
        assert _scored(book)
        assert "已写入" in err and "未被改动" not in err
    else:
        assert book.read_bytes() == ORIGINAL and "已写入" not in err


def test_stdout_wrapper_keeps_working_after_the_reader_left():
    class Gone(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    out = cli.SafeOutput(Gone())
    assert out.write("第一行\n") == len("第一行\n") and out.lost
    out.write("第二行\n")
    out.flush()


def test_interrupted_after_the_save_does_not_claim_the_file_untouched(book, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_report", interrupted)
    code, _, err = _main("score", str(book))
    assert code == 130 and _scored(book)
    assert "未被改动" not in err and "已写入完成" in err and book.name in err


def test_a_bug_after_the_save_does_not_claim_the_file_untouched(book, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(cli, "_report", broken)
    code, _, err = _main("score", str(book))
    assert code == 2 and _scored(book)
    assert "意外错误（RuntimeError）" in err and "未被改动" not in err and "已写入完成" in err


def test_a_bug_before_any_save_still_says_untouched(book, monkeypatch):
    from evalbook.workbook import service

    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(service, "score_book", broken)
    code, _, err = _main("score", str(book))
    assert code == 2 and book.read_bytes() == ORIGINAL and "文件未被改动" in err


# ---- names the file system refuses -----------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    lambda book, out: ["score", str(book), "-o", str(out)],
    lambda book, out: ["add-fund", str(book), "-o", str(out)],
    lambda book, out: ["new", str(out)],
    lambda book, out: ["batch", str(book), "-o", str(out.with_suffix(".xlsx"))],
])
def test_an_output_name_over_255_bytes_gets_the_prepared_message(book, tmp_path, argv):
    out = tmp_path / LONG
    code, _, err = _main(*argv(book, out))
    assert code == 2, err
    assert "意外错误" not in err and "文件名" in err and "太长" in err and "255字节" in err, err
    assert len(err.strip().splitlines()) == 1
    assert book.read_bytes() == ORIGINAL
    assert sorted(p.name for p in tmp_path.iterdir()) == [book.name]


def test_an_input_name_over_255_bytes(tmp_path):
    code, _, err = _main("score", str(tmp_path / LONG))
    assert code == 2 and "意外错误" not in err and "太长" in err, err


# ---- one line, whatever a name holds ----------------------------------------------------------------

@posix_only
@pytest.mark.parametrize("name", ["第一行\n第二行.xlsm", "假\x1b[2J清屏.xlsm", "回车\r覆盖.xlsm", "制表\t.xlsm"])
def test_control_characters_in_a_file_name_stay_on_one_line(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"not a workbook at all")
    code, _, err = _main("score", str(path))
    assert code == 2
    assert err.count("\n") == 1 and err.endswith("\n"), repr(err)
    assert not any(ch in err[:-1] for ch in "\n\r\x1b\t"), repr(err)
    assert any(escape in err for escape in ("\\x0a", "\\x0d", "\\x09", "\\x1b")), repr(err)


def test_control_characters_from_a_workbook_never_reach_the_terminal(book, tmp_path):
    with XlsxBook(book) as opened:
        opened.write_values({"填报单位": "\x1b[2J\x1b[31m总分：100 优\x07\x9b"})
        opened.save()
    code, out, _ = _main("check", str(book))
    assert code in (0, 1)
    assert not any(ch in out for ch in "\x1b\x07\x9b"), repr(out[:200])
    assert "\\x1b[2J" in out
    code, out, _ = _main("check", str(book), "--json")
    import json

    assert json.loads(out)["unit"].startswith("\x1b[2J")  # JSON keeps the text, escaped


def test_one_line_escapes_every_control_character():
    text = "".join(chr(c) for c in range(0x00, 0xA0)) + "\u2028\u2029"
    line = terminal_safe(text)
    assert all(ch.isprintable() for ch in line), [ch for ch in line if not ch.isprintable()]
    assert terminal_lines("a\nb\tc\x1b") == "a\nb\tc\\x1b"
