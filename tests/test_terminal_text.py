"""A department's text never drives the terminal: control, C1 and bidi characters are shown escaped.

The workbook carries them the way Excel writes them (ESC as `_x001B_`); `score` and `check` print
them as visible escapes, `--json` stays valid JSON that means exactly the same text.
"""

from __future__ import annotations

import json
import shutil

import pytest

from evalbook.adapters.xlsx import XlsxBook
from evalbook.build.sheets import workbook_bytes
from evalbook.cli import main
from evalbook.funds import names as N
from evalbook.core.textsafe import json_terminal_safe, terminal_safe
from tests.conftest import EXAMPLE
from tests.test_batch import FULL

# a fake, red "总分:100 优" after clearing the screen, then a right-to-left override
FAKE = "\x1b[2J\x1b[31m总分:100 优\x1b[0m\u202e局"
FAKE_IN_XML = "_x001B_[2J_x001B_[31m总分:100 优_x001B_[0m\u202e局"
# characters a terminal obeys: C0 but the layout's own tab and newline, DEL, C1, bidi controls
OBEYED = {*map(chr, range(0x20)), "\x7f", *map(chr, range(0x80, 0xA0)), "\u061c", "\u200e", "\u200f",
          "\u2028", "\u2029", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}


@pytest.mark.parametrize("raw, shown", [
    ("\x1b[2J", "\\x1b[2J"),
    ("甲\x00乙", "甲\\x00乙"),
    ("a\tb\nc\rd", "a\\x09b\\x0ac\\x0dd"),
    ("\x7f", "\\x7f"),
    ("\x9b31m", "\\x9b31m"),  # C1 CSI
    ("\u202eabc\u202c", "\\u202eabc\\u202c"),
    ("\u2066x\u2069", "\\u2066x\\u2069"),
    ("\u2028", "\\u2028"),
    ("衡山县住建局 2020（含专项）C:\\目录\\文件.xlsm", "衡山县住建局 2020（含专项）C:\\目录\\文件.xlsm"),
])
def test_terminal_safe_escapes_exactly_what_a_terminal_obeys(raw, shown):
    assert terminal_safe(raw) == shown


def test_every_obeyed_character_is_escaped_and_nothing_else():
    every = "".join(sorted(OBEYED))
    assert not OBEYED & set(terminal_safe(every))
    plain = "".join(chr(c) for c in range(0x20, 0x3000) if chr(c) not in OBEYED)
    assert terminal_safe(plain) == plain


def test_json_stays_json_and_means_the_same():
    document = json.dumps({"unit": FAKE, "list": ["\x85", "\u2067"]}, ensure_ascii=False, indent=1)
    assert "\x1b" not in document  # json escapes C0 itself…
    assert "\u202e" in document and "\x85" in document  # …but not these with ensure_ascii=False
    safe = json_terminal_safe(document)
    assert not OBEYED - {"\n"} & set(safe)
    assert json.loads(safe) == {"unit": FAKE, "list": ["\x85", "\u2067"]}
    assert safe.count("\n") == document.count("\n")


@pytest.fixture
def hostile(tmp_path):
    """The example with a hostile 填报单位 and first fund name, written as Excel writes them."""
    path = tmp_path / "恶意.xlsm"
    shutil.copy(EXAMPLE, path)
    with XlsxBook(path) as book:
        book.write_values({"填报单位": FAKE, N.header_name(1, "专项资金名称"): "\u202e名称\x9b2J"})
        book.save()
    return path


def test_the_example_carries_the_escape_as_excel_writes_it(tmp_path):
    path = tmp_path / "b.xlsx"
    path.write_bytes(workbook_bytes({**FULL, "填报单位": FAKE_IN_XML}))
    with XlsxBook(path) as book:
        assert book.read_values(["填报单位"]) == {"填报单位": FAKE}


@pytest.mark.parametrize("command", ["check", "score"])
def test_check_and_score_print_it_escaped(hostile, command, capsys):
    code = main([command, str(hostile)])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    assert not (OBEYED - {"\n", "\t"}) & set(out + err)
    first = out.splitlines()[0]
    assert first == "\\x1b[2J\\x1b[31m总分:100 优\\x1b[0m\\u202e局  部门整体支出绩效评价"
    assert "专项1 \\u202e名称\\x9b2J\t" in out


def test_a_hostile_workbook_name_is_printed_escaped(tmp_path, capsys):
    path = tmp_path / "\x1b[2J甲.xlsx"
    path.write_bytes(workbook_bytes({**FULL, "填报单位": "甲局"}))
    assert main(["score", str(path)]) == 0
    out, _ = capsys.readouterr()
    assert "\x1b" not in out and out.rstrip("\n").endswith("已写入：" + terminal_safe(path))


@pytest.mark.parametrize("command", ["check", "score"])
def test_json_output_is_valid_and_holds_no_raw_control(hostile, command, capsys):
    code = main([command, "--json", str(hostile)])
    out, _ = capsys.readouterr()
    assert code in (0, 1)
    assert not (OBEYED - {"\n"}) & set(out)
    data = json.loads(out)
    assert data["unit"] == FAKE
    assert data["funds"][0]["name"] == "\u202e名称\x9b2J"


def test_batch_and_merge_messages_hold_no_raw_control(tmp_path, capsys):
    folder = tmp_path / "部门"
    folder.mkdir()
    (folder / "甲.xlsx").write_bytes(workbook_bytes({**FULL, "填报单位": FAKE_IN_XML}))
    out = tmp_path / "\x1b]0;标题\x07汇总.xlsx"
    assert main(["batch", str(folder), "-o", str(out), "--jobs", "1"]) == 0
    bad = tmp_path / "\x1b[31m坏.xlsx"
    bad.write_bytes(b"PK\x03\x04 truncated")
    merged = tmp_path / "合并.xlsx"
    assert main(["merge", str(out), str(out), str(bad), "-o", str(merged)]) == 2
    stdout, stderr = capsys.readouterr()
    assert not (OBEYED - {"\n"}) & set(stdout + stderr)
    assert "\\x1b]0;标题\\x07汇总.xlsx" in stdout and "\\x1b[31m坏.xlsx" in stderr
