"""`evalbook doctor`: each check from what it is handed (no registry or Windows needed), the lines
and exit code of the command, the Startup VBA that starts Python on open, and the help page."""

from __future__ import annotations

import re
from argparse import Namespace
from pathlib import Path

import pytest

from evalbook import button
from evalbook.build import help as help_page
from evalbook.build import vba
from evalbook.install import doctor as D
from tests.conftest import EXAMPLE

ROOT = Path(__file__).resolve().parent.parent


def test_python_version_and_bits():
    assert D.python_check((3, 10, 4), 64).state == D.PROBLEM
    assert D.python_check((3, 12, 1), 32).state == D.PROBLEM and "64 位" in D.python_check((3, 12, 1), 32).fix
    assert D.python_check((3, 12, 1), 64).line() == "正常　Python 版本：3.12.1（64位）"
    newer = D.python_check((3, 14, 0), 64)
    assert newer.state == D.OK and "只带 3.11、3.12、3.13" in newer.detail


def test_xlwings_version_against_the_template_module():
    assert D.xlwings_check("0.37.8", "0.37.8").state == D.OK
    wrong = D.xlwings_check("0.38.0", "0.37.8")
    assert wrong.state == D.PROBLEM and "xlwings64-0.37.8.dll" in wrong.detail and "xlwings==0.37.8" in wrong.fix
    assert D.xlwings_check(None, "0.37.8").state == D.PROBLEM


def test_the_pin_is_setup_cfgs():
    text = (ROOT / "setup.cfg").read_text(encoding="utf-8")
    assert f"xlwings=={D._pinned_xlwings()}" in text


def test_the_dll_beside_python_or_above_a_virtualenvs_scripts():
    standard = {r"C:\Python312\xlwings64-0.37.8.dll", r"C:\Python312\xlwings32-0.37.8.dll"}
    venv = {r"C:\Users\张三\AppData\Local\evalbook\venv\xlwings64-0.37.8.dll",
            r"C:\Users\张三\AppData\Local\evalbook\venv\xlwings32-0.37.8.dll"}
    assert D.dll_check(True, r"C:\Python312\pythonw.exe", "0.37.8", standard.__contains__).state == D.OK
    here = D.dll_check(True, r"C:\Users\张三\AppData\Local\evalbook\venv\Scripts\pythonw.exe", "0.37.8", venv.__contains__)
    assert here.state == D.OK and here.detail.endswith(r"evalbook\venv")
    user_site = D.dll_check(True, r"C:\Python312\pythonw.exe", "0.37.8", venv.__contains__)
    assert user_site.state == D.PROBLEM and "--force-reinstall" in user_site.fix
    assert D.dll_check(False, "/usr/bin/python3", "0.37.8", venv.__contains__).state == D.SKIPPED


def test_store_python():
    store = r"C:\Users\a\AppData\Local\Microsoft\WindowsApps\PythonSoftwareFoundation.Python.3.12_qbz5n2kfra8p0\python.exe"
    assert D.store_check(True, store).state == D.PROBLEM
    assert D.store_check(True, r"C:\Python312\python.exe").state == D.OK


def test_the_interpreter_in_xlwings_order():
    sheet = D.conf_rows({"A1": "UDF Modules", "B1": "udfs", "A2": "Interpreter_Win", "B2": r"D:\py\pythonw.exe",
                         "A4": "Interpreter", "B4": "ignored: after the blank row"})
    assert sheet == {"UDF MODULES": "udfs", "INTERPRETER_WIN": r"D:\py\pythonw.exe"}
    user = b'"LICENSE_KEY","x"\r\n"INTERPRETER_WIN","%LOCALAPPDATA%\\evalbook\\venv\\Scripts\\pythonw.exe"\r\n'
    assert D.effective_interpreter(sheet, user)[0] == r"D:\py\pythonw.exe"
    assert D.effective_interpreter({"UDF MODULES": "udfs"}, user) == (
        r"%LOCALAPPDATA%\evalbook\venv\Scripts\pythonw.exe", "xlwings 用户设置（Interpreter_Win）")
    assert D.effective_interpreter(None, None)[0] == "pythonw"
    env = {"LocalAppData": r"C:\Users\张三\AppData\Local"}
    check, path = D.interpreter_check(True, {}, user, env, lambda p: False)
    assert path == r"C:\Users\张三\AppData\Local\evalbook\venv\Scripts\pythonw.exe"
    assert check.state == D.PROBLEM and "不存在" in check.detail
    assert D.interpreter_check(True, {}, user, env, lambda p: True)[0].state == D.OK


def test_trusted_locations():
    env = {"APPDATA": r"C:\Users\a\AppData\Roaming"}
    places = [(r"%APPDATA%\Microsoft\Excel\XLSTART\\", False), ("D:\\绩效评价\\", True), (r"\\srv\share\评价", True)]
    check = lambda folder, network=False: D.trusted_check(True, folder, places, network, env).state  # noqa: E731
    assert check(r"d:\绩效评价") == D.OK  # case and the closing backslash do not matter
    assert check(r"D:\绩效评价\2024\一季度") == D.OK  # AllowSubfolders
    assert check(r"D:\绩效评价2") == D.PROBLEM  # a longer name is no subfolder
    assert check(r"C:\Users\a\AppData\Roaming\Microsoft\Excel\XLSTART") == D.OK
    assert check(r"C:\Users\a\AppData\Roaming\Microsoft\Excel\XLSTART\sub") == D.PROBLEM  # no subfolders there
    assert check(r"\\srv\share\评价\x") == D.PROBLEM  # network locations are off by default
    assert check(r"\\srv\share\评价\x", network=True) == D.OK
    assert D.trusted_check(False, "/tmp", places, False, env).state == D.SKIPPED


def test_mark_of_the_web_and_the_unblock_command():
    blocked = D.motw_check(True, r"D:\O'Brien 局\住建局.xlsm", "[ZoneTransfer]\r\nZoneId=3\r\nHostUrl=https://x\r\n")
    assert blocked.state == D.PROBLEM and "ZoneId=3" in blocked.detail
    assert "Unblock-File -LiteralPath 'D:\\O''Brien 局\\住建局.xlsm'" in blocked.fix
    assert D.motw_check(True, "a.xlsm", "[ZoneTransfer]\nZoneId=2\n").state == D.OK  # trusted sites
    assert D.motw_check(True, "a.xlsm", None).state == D.OK
    assert D.motw_check(False, "a.xlsm", None).state == D.SKIPPED


def windows_pc(**changes) -> D.Machine:
    values = dict(
        windows=True, version=(3, 12, 4), bits=64, executable=r"C:\Python312\python.exe",
        environ={"USERPROFILE": r"C:\Users\a"}, xlwings_version=lambda: "0.37.8", pinned_xlwings=lambda: "0.37.8",
        exists=lambda p: p.startswith("C:\\Python312\\"), trusted_locations=lambda: ([], False),
        zone_identifier=lambda p: "[ZoneTransfer]\nZoneId=3\n", user_conf=lambda: None)
    values.update(changes)
    return D.Machine(**values)


def test_the_command_on_a_windows_pc_with_a_blocked_book(capsys):
    code = D.cmd_doctor(Namespace(book=str(EXAMPLE), folder=r"D:\工作"), windows_pc())
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 1
    assert [line.split("　")[0] for line in lines] == ["正常"] * 5 + ["问题", "问题"]
    assert lines[3] == "正常　工作簿使用的 Python：未设置，使用 PATH 中的 pythonw"
    assert "不是 Excel 受信任位置" in lines[5] and "Unblock-File" in lines[6]


def test_the_command_on_linux_names_the_windows_only_checks(capsys):
    code = D.cmd_doctor(Namespace(book=str(EXAMPLE), folder=None), windows_pc(windows=False, executable="/usr/bin/python3"))
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("跳过") == 4 and "仅在 Windows 上有意义" in out
    assert out.strip().splitlines()[-1].startswith("本机不是 Windows")


def test_the_templates_conf_sheet_sets_no_interpreter():
    rows = D.book_conf(str(EXAMPLE))
    assert rows["UDF MODULES"] == "udfs" and "INTERPRETER_WIN" not in rows and "INTERPRETER" not in rows


# ---- Startup.bas: Python started on open, never an error -----------------------------------------


def test_workbook_open_schedules_the_python_start_and_close_cancels_it():
    workbook = vba.template_source("ThisWorkbook.cls")
    assert re.search(r"Private Sub Workbook_Open\(\)\n(?:.*\n)*?\s+EvalbookScheduleStart\n(?:.*\n)*?End Sub", workbook)
    assert re.search(r"Private Sub Workbook_BeforeClose\(Cancel As Boolean\)\n\s+EvalbookCancelStart\nEnd Sub", workbook)
    assert "Startup" in [m.name for m in vba.vba_modules()]


def procedures(source: str) -> dict[str, str]:
    found = {}
    for m in re.finditer(r"^(?:Public |Private )?(?:Sub|Function) (\w+)\(.*?\n(.*?)^End (?:Sub|Function)", source,
                         re.MULTILINE | re.DOTALL):
        found[m.group(1)] = m.group(2)
    return found


def test_every_startup_procedure_swallows_errors_and_checks_before_starting():
    startup = procedures(vba.template_source("Startup.bas"))
    for name in ("EvalbookScheduleStart", "EvalbookCancelStart", "EvalbookStartPython"):
        body = [l.strip() for l in startup[name].splitlines() if l.strip() and not l.strip().startswith("'")]
        assert body[0] == "On Error Resume Next", name
    start = startup["EvalbookStartPython"]
    assert start.index("If Not PythonConfigured() Then Exit Sub") < start.index("XLPy  ")
    assert "On Error GoTo none" in startup["PythonConfigured"]
    assert "Application.OnTime pendingAt, StartMacro(), , False" in startup["EvalbookCancelStart"]


def test_what_startup_uses_of_xlwings_is_public_there():
    xlwings = (vba.xlwings_package_dir() / "xlwings.bas").read_text(encoding="utf-8")
    for name in ("GetConfig", "FileExists", "XLPy"):
        assert re.search(rf"^(?:Public )?Function {name}\(", xlwings, re.MULTILINE), name
    assert re.search(r'^Public Const XLWINGS_VERSION As String = "', xlwings, re.MULTILINE)
    # the DLL names Startup looks for on PATH are the ones xlwings declares
    version = re.search(r'XLWINGS_VERSION As String = "([^"]+)"', xlwings).group(1)
    assert f'Lib "xlwings64-{version}.dll"' in xlwings and f'Lib "xlwings32-{version}.dll"' in xlwings


# ---- 使用说明 --------------------------------------------------------------------------------------


def test_the_shipped_help_page_is_the_readmes_section():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    page = help_page.HELP_FILE.read_text(encoding="utf-8")
    assert page == help_page.help_html(readme), "run python -m evalbook.build"
    for words in ("受信任位置", "Unblock-File", "doctor", "校验并评分", "发送到"):
        assert words in page
    assert "<h2>财政局" not in page  # the section only


def test_the_help_button_opens_the_page_and_falls_back_to_the_box(monkeypatch):
    opened = []
    monkeypatch.setattr(button, "_start_file", opened.append)
    assert button.open_help() is True and opened and opened[0].endswith("help_zh.html")
    monkeypatch.setattr(button, "_start_file", None)  # not Windows
    assert button.open_help() is False

    def refuse(path):
        raise OSError("no browser")

    monkeypatch.setattr(button, "_start_file", refuse)
    assert button.open_help() is False
