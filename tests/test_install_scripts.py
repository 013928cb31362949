"""安装.bat and 卸载.bat as cmd reads them, and the PC-side steps they hand to Python.

cmd is not here, so its two steps that matter are modelled: percent expansion (`%%`, `%~1`,
`%~dp0`, `%NAME%`, `%NAME:a=b%`, `%NAME:~m,n%`, done once per line before anything else) and
which characters are special (`& | < > ( ) ^` outside double quotes).  A path from the user is
safe when expanding it leaves the line's special characters exactly those of a plain path.
"""

from __future__ import annotations

import re

import pytest

from evalbook.install import office, scripts
from evalbook.install.sendto import main as sendto_main

VERSION = "9.9.9"
HOSTILE = r"C:\Users\张三\工作 (A&B) 100% ^!x"
PLAIN = r"C:\Users\x\work"
ENV = {"LOCALAPPDATA": r"C:\Users\张三\AppData\Local", "APPDATA": r"C:\Users\张三\AppData\Roaming",
       "USERPROFILE": r"C:\Users\张三", "errorlevel": "0"}


def lines(text: str) -> list[str]:
    assert "\n" not in text.replace("\r\n", "")  # CRLF everywhere: bare LF breaks cmd's labels
    return text.split("\r\n")


def expand(line: str, env: dict, args=("",), dp0=r"D:\安装 包\\"[:-1]) -> str:
    """cmd's percent phase for one line of a batch file."""

    def variable(m: re.Match) -> str:
        name, op = m.group(1), m.group(2)
        value = next((v for k, v in env.items() if k.lower() == name.lower()), None)
        if value is None:
            return ""
        if op is None:
            return value
        sub = re.fullmatch(r"~(-?\d+)(?:,(-?\d+))?", op)
        if sub:
            start = int(sub.group(1))
            value = value[start:] if start >= 0 else value[start:]
            if sub.group(2) is not None:
                n = int(sub.group(2))
                value = value[:n] if n >= 0 else value[:n]
            return value
        old, new = op.split("=", 1)
        return value.replace(old, new)

    out = []
    i = 0
    while i < len(line):
        if line.startswith("%%", i):
            out.append("%")
            i += 2
            continue
        m = re.compile(r"%~(dp0|nx1|1)|%(\d)").match(line, i)
        if m:
            token = m.group(1) or m.group(2)
            out.append(dp0 if token == "dp0" else args[0].strip('"') if token in ("1", "nx1") else args[0])
            i = m.end()
            continue
        m = re.compile(r"%([A-Za-z_][A-Za-z0-9_]*)(?::([^%]*))?%").match(line, i)
        if m:
            out.append(variable(m))
            i = m.end()
            continue
        out.append(line[i])
        i += 1
    return "".join(out)


def unquoted_specials(line: str) -> str:
    quoted, found = False, []
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "&|<>()^":
            found.append(ch)
    return "".join(found)


def windows_argv(command: str) -> list[str]:
    """CommandLineToArgvW's rules (what reg.exe and python.exe see)."""
    args, current, quoted, i, have = [], [], False, 0, False
    while i < len(command):
        ch = command[i]
        if ch == "\\":
            n = len(command[i:]) - len(command[i:].lstrip("\\"))
            if i + n < len(command) and command[i + n] == '"':
                current.append("\\" * (n // 2))
                if n % 2:
                    current.append('"')
                    i += n + 1
                else:
                    i += n
                have = True
                continue
            current.append("\\" * n)
            i += n
            have = True
            continue
        if ch == '"':
            quoted = not quoted
            have = True
        elif ch in " \t" and not quoted:
            if have:
                args.append("".join(current))
            current, have = [], False
        else:
            current.append(ch)
            have = True
        i += 1
    if have:
        args.append("".join(current))
    return args


@pytest.fixture(params=["install", "uninstall"])
def script(request):
    return (scripts.install_bat if request.param == "install" else scripts.uninstall_bat)(VERSION)


def test_utf8_without_bom_and_ascii_until_chcp(script):
    data = scripts.encode_batch(script)
    assert not data.startswith(b"\xef\xbb\xbf")
    head, _, _ = data.partition(b"chcp 65001 >nul")
    assert head.isascii() and head.startswith(b"@echo off\r\n")
    assert not data.isascii()  # the Chinese comes after it
    with pytest.raises(ValueError):
        scripts.encode_batch("@echo off\r\necho 中文\r\nchcp 65001\r\n")
    # the code page found at the start is put back at the end
    body = lines(script)
    assert any("EVALBOOK_OLDCP" in l and l.startswith("for /f") for l in body[:body.index("chcp 65001 >nul")])
    assert "if defined EVALBOOK_OLDCP chcp %EVALBOOK_OLDCP% >nul" in body


def test_every_percent_sign_is_a_variable_or_escaped(script):
    token = re.compile(r"%%|%~dp0|%~1|%[A-Za-z_][A-Za-z0-9_]*(?::[^%]*)?%")
    for line in lines(script):
        if line.startswith("for ") and "%%" in line:  # loop variables %%c, %%n, %%v, %%f
            line = re.sub(r"%%[a-z]\b", "", line)
        rest = token.sub("", line)
        assert "%" not in rest, line


def test_every_variable_it_reads_is_set_or_windows_own(script):
    body = lines(script)
    set_here = {m.group(1).upper() for l in body for m in re.finditer(r'set (?:/p )?"(\w+)=', l)}
    known = {"LOCALAPPDATA", "APPDATA", "USERPROFILE", "ERRORLEVEL"}
    for line in body:
        for name in re.findall(r"(?<!%)%([A-Za-z_]\w*)(?::[^%]*)?%", re.sub(r"%%", "", line)):
            assert name.upper() in set_here | known, (name, line)


def test_a_hostile_path_changes_no_special_character_on_any_line(script):
    """With & ( ) % ^ ! and Chinese in the folder, and in the install folder's own path, each line
    parses exactly as it does with a plain path."""
    for line in lines(script):
        if line.startswith(("rem", "::")) or "%" not in line:
            continue
        env_plain = {**ENV, "EVALBOOK_WORK": PLAIN, "EVALBOOK_INPUT": PLAIN, "EVALBOOK_VENV": PLAIN,
                     "EVALBOOK_HOME": PLAIN, "EVALBOOK_WHEELS": PLAIN}
        env_hostile = {**ENV, "EVALBOOK_WORK": HOSTILE, "EVALBOOK_INPUT": HOSTILE, "EVALBOOK_VENV": HOSTILE,
                       "EVALBOOK_HOME": HOSTILE, "EVALBOOK_WHEELS": HOSTILE}
        plain = expand(line, env_plain, args=(f'"{PLAIN}"',), dp0="D:\\kit\\")
        hostile = expand(line, env_hostile, args=(f'"{HOSTILE}"',), dp0="D:\\安装 (1) & 包 100%\\")
        assert unquoted_specials(hostile) == unquoted_specials(plain), line


def test_no_parenthesised_block_where_an_expanded_paren_could_end_it(script):
    for line in lines(script):
        assert not line.rstrip().endswith("(") and line.strip() != ")", line


def test_the_trusted_location_values_reg_add_receives():
    body = lines(scripts.install_bat(VERSION))
    env = {**ENV, "EVALBOOK_TL": scripts.TRUSTED_KEY, "EVALBOOK_WORK": HOSTILE}
    values = {}
    for line in body:
        if "reg add" in line:
            argv = windows_argv(expand(line[line.index("reg add"):], env).split(" >nul")[0])
            key = argv[2]
            values.setdefault(key, {})[argv[argv.index("/v") + 1]] = (argv[argv.index("/t") + 1], argv[argv.index("/d") + 1])
    tl = r"HKCU\Software\Microsoft\Office\16.0\Excel\Security\Trusted Locations"
    assert values[tl + r"\evalbook"] == {
        "Path": ("REG_SZ", HOSTILE + "\\"),  # the closing backslash doubled, so it is not a quote
        "AllowSubfolders": ("REG_DWORD", "1"),
        "Description": ("REG_SZ", "evalbook 绩效评价工作文件夹"),
    }
    assert values[tl] == {"AllowNetworkLocations": ("REG_DWORD", "1")}
    # ... and that one only for a folder on the network
    guarded = next(l for l in body if "AllowNetworkLocations" in l)
    assert guarded.startswith('if "%EVALBOOK_WORK:~0,2%"=="\\\\" reg add')
    uninstall = lines(scripts.uninstall_bat(VERSION))
    assert f'reg delete "{tl}\\evalbook" /f >nul 2>nul' in uninstall


def test_the_folder_typed_in_is_unquoted_and_loses_its_closing_backslash():
    body = lines(scripts.install_bat(VERSION))
    strip = body.index('set "EVALBOOK_WORK=%EVALBOOK_WORK:"=%"')
    env = {"EVALBOOK_WORK": '"D:\\绩效 评价\\"'}
    env["EVALBOOK_WORK"] = expand(body[strip], env).split("=", 1)[1].rstrip('"')
    assert env["EVALBOOK_WORK"] == "D:\\绩效 评价\\"
    trim = body[strip + 2]
    assert trim == 'if "%EVALBOOK_WORK:~-1%"=="\\" set "EVALBOOK_WORK=%EVALBOOK_WORK:~0,-1%"'
    assert expand(trim.split(" set ")[1], env) == '"EVALBOOK_WORK=D:\\绩效 评价"'


def test_install_is_offline_into_its_own_virtualenv():
    body = lines(scripts.install_bat(VERSION))
    pip = [l for l in body if " -m pip " in l]
    assert len(pip) == 1
    argv = windows_argv(expand(pip[0], {**ENV, "EVALBOOK_VENV": HOSTILE, "EVALBOOK_WHEELS": r"D:\安装 包\wheels"}))
    assert argv[:4] == [HOSTILE + r"\Scripts\python.exe", "-m", "pip", "install"]
    assert "--no-index" in argv and argv[argv.index("--find-links") + 1] == r"D:\安装 包\wheels"
    assert argv[-1] == "evalbook"
    assert 'set "EVALBOOK_WHEELS=%~dp0wheels"' in body
    # the interpreter handed to xlwings keeps %LOCALAPPDATA% for xlwings to expand: ASCII whatever the user's name
    handed = next(l for l in body if "interpreter-set" in l)
    assert windows_argv(expand(handed, {**ENV, "EVALBOOK_VENV": HOSTILE}))[-1] == r"%LOCALAPPDATA%\evalbook\venv\Scripts\pythonw.exe"


def test_python_is_checked_for_version_bits_and_store():
    body = lines(scripts.install_bat(VERSION))
    check = next(l for l in body if "struct.calcsize" in l)
    code = windows_argv(expand(check, {"EVALBOOK_PY": "python"}))[2]
    outcomes = {}
    for version, bits, exe in [((3, 10), 8, "C:\\P\\python.exe"), ((3, 14), 8, "C:\\P\\python.exe"),
                               ((3, 12), 4, "C:\\P\\python.exe"), ((3, 12), 8, "C:\\Users\\a\\AppData\\Local\\Microsoft\\WindowsApps\\python.exe"),
                               ((3, 11), 8, "C:\\P\\python.exe"), ((3, 13), 8, "C:\\P\\python.exe")]:
        fake_sys = type("S", (), {"version_info": version, "executable": exe,
                                  "exit": staticmethod(lambda c: (_ for _ in ()).throw(SystemExit(c)))})
        fake_struct = type("T", (), {"calcsize": staticmethod(lambda f, b=bits: b)})
        namespace = {"__builtins__": {"__import__": lambda name, *a: {"sys": fake_sys, "struct": fake_struct}[name]}}
        with pytest.raises(SystemExit) as stop:
            exec(code, namespace)
        outcomes[(version, bits, "WindowsApps" in exe)] = stop.value.code
    assert outcomes == {((3, 10), 8, False): 2, ((3, 14), 8, False): 2, ((3, 12), 4, False): 3,
                        ((3, 12), 8, True): 4, ((3, 11), 8, False): 0, ((3, 13), 8, False): 0}
    for code, label in (("2", ":wrong_version"), ("3", ":wrong_bits"), ("4", ":store_python")):
        assert f'if "%EVALBOOK_CHECK%"=="{code}" goto {label}' in body and label in body


def test_every_goto_has_its_label(script):
    body = lines(script)
    labels = {l for l in body if l.startswith(":")}
    for line in body:
        for target in re.findall(r"goto (:\w+)", line):
            assert target in labels, line


# ---- the steps in Python -----------------------------------------------------------------------


def test_interpreter_set_keeps_the_users_other_settings_byte_for_byte():
    gbk = '"CONDA PATH","C:\\用户\\Anaconda3"'.encode("gbk")
    before = b'"LICENSE_KEY","abc"\r\n' + gbk + b'\r\n"Interpreter_Win","C:\\old\\pythonw.exe"\r\n'
    after = office.with_interpreter(before, scripts.INTERPRETER)
    assert after == (b'"LICENSE_KEY","abc"\r\n' + gbk + b'\r\n'
                     b'"INTERPRETER_WIN","%LOCALAPPDATA%\\evalbook\\venv\\Scripts\\pythonw.exe"\r\n')
    assert office.without_interpreter(after, scripts.INTERPRETER) == b'"LICENSE_KEY","abc"\r\n' + gbk + b"\r\n"
    # a setting the user made is not evalbook's to remove
    assert office.without_interpreter(before, scripts.INTERPRETER) == before


def test_office_steps_write_the_conf_and_the_sendto_shortcut(tmp_path, capsys):
    env = {"USERPROFILE": str(tmp_path / "张三"), "APPDATA": str(tmp_path / "Roaming")}
    assert office.main(["interpreter-set", scripts.INTERPRETER], environ=env) == 0
    conf = tmp_path / "张三" / ".xlwings" / "xlwings.conf"
    assert conf.read_bytes() == b'"INTERPRETER_WIN","%LOCALAPPDATA%\\evalbook\\venv\\Scripts\\pythonw.exe"\r\n'
    made = {}

    class Link:
        def Save(self):
            made["saved"] = dict(vars(self))

    class Shell:
        def CreateShortcut(self, path):
            made["path"] = path
            return Link()

    assert office.main(["sendto-add"], environ=env, shell=Shell()) == 0
    assert made["path"] == str(tmp_path / "Roaming" / "Microsoft" / "Windows" / "SendTo" / "绩效评价 校验并评分.lnk")
    assert made["saved"]["Arguments"] == "-m evalbook.install.sendto"
    assert made["saved"]["TargetPath"].endswith(("python", "python.exe", "python3", "python3.11"))
    assert office.main(["interpreter-remove", scripts.INTERPRETER], environ=env) == 0
    assert conf.read_bytes() == b""
    assert office.main(["nonsense"], environ=env) == 2
    assert "未知的操作" in capsys.readouterr().err


def test_sendto_scores_each_file_and_waits(tmp_path, capsys):
    from tests.conftest import EXAMPLE
    import shutil

    copy = tmp_path / "住建局 (A&B).xlsm"
    shutil.copy(EXAMPLE, copy)
    waited = []
    code = sendto_main([str(copy), str(tmp_path / "没有.xlsm")], wait=waited.append)
    out = capsys.readouterr()
    assert code == 2 and waited == ["按回车键关闭本窗口……"]
    assert f"==== {copy} ====" in out.out and "总分：76" in out.out
    assert "该文件未能评分" in out.out and "没有.xlsm" in out.err
