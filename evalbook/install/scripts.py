"""The texts of the install folder: 安装.bat, 卸载.bat and 安装说明.txt.

How cmd reads them, and so how they are written:

* cmd decodes each line of a batch file with the console's code page *when it reaches that line*
  (936 on a Chinese PC, 437 or 850 elsewhere).  The files are UTF-8 without a BOM (a BOM would be
  read as part of the first command), their first lines are ASCII, and `chcp 65001` runs before
  the first line that is not; from then on every line is read as UTF-8 on any Windows 10 or 11,
  whatever its locale.  The code page found at the start is put back at the end.
* Lines end CRLF: with bare LF, cmd misses labels and `goto` lands in the wrong place.
* `%` begins a variable: a literal percent sign is written `%%` (the interpreter path handed to
  xlwings keeps `%LOCALAPPDATA%` unexpanded so that it stays ASCII; see `office.py`).
* Every path is quoted where it is used, and paths from the user or the PC (which can hold
  spaces, `&`, `(`, `)`, Chinese) are never echoed outside quotes or inside a parenthesised block,
  where an expanded `)` would end the block.  Delayed expansion stays off, so `!` in a path is text.
* `reg add … /d "C:\\工作\\"`: reg.exe, like every Windows program, reads `\\"` as "\\ then end of
  argument" and `\\"` alone as a literal quote, so the folder's closing backslash is doubled.
"""

from __future__ import annotations

from evalbook.install.wheels import PYTHON_VERSIONS

INSTALL_BAT = "安装.bat"
UNINSTALL_BAT = "卸载.bat"
GUIDE = "安装说明.txt"
WHEELS = "wheels"

HOME = r"%LOCALAPPDATA%\evalbook"  # the virtualenv lives here: per user, no administrator needed
VENV = HOME + r"\venv"
TRUSTED_LOCATIONS = r"HKCU\Software\Microsoft\Office\16.0\Excel\Security\Trusted Locations"
TRUSTED_KEY = TRUSTED_LOCATIONS + r"\evalbook"
TRUSTED_DESCRIPTION = "evalbook 绩效评价工作文件夹"
DEFAULT_WORK_FOLDER = r"%USERPROFILE%\Documents\绩效评价"
SENDTO_NAME = "绩效评价 校验并评分"
# what xlwings is told to run: kept with %LOCALAPPDATA% unexpanded (xlwings expands it), so the
# file xlwings reads in the ANSI code page holds only ASCII even for a user named 张三
INTERPRETER = VENV + r"\Scripts\pythonw.exe"


def _versions() -> str:
    return "、".join(PYTHON_VERSIONS)


def _oldest() -> tuple[int, int]:
    return tuple(int(x) for x in PYTHON_VERSIONS[0].split("."))  # type: ignore[return-value]


def _newest() -> tuple[int, int]:
    return tuple(int(x) for x in PYTHON_VERSIONS[-1].split("."))  # type: ignore[return-value]


_PROLOGUE = r"""@echo off
rem {purpose}
rem ASCII up to the chcp line below: cmd reads these lines in the PC's own code page.
setlocal EnableExtensions DisableDelayedExpansion
set "EVALBOOK_OLDCP="
for /f "tokens=*" %%c in ('chcp') do for %%n in (%%c) do set "EVALBOOK_OLDCP=%%n"
if defined EVALBOOK_OLDCP set "EVALBOOK_OLDCP=%EVALBOOK_OLDCP:.=%"
chcp 65001 >nul
"""

_EPILOGUE = r""":finish
if defined EVALBOOK_OLDCP chcp %EVALBOOK_OLDCP% >nul
if not defined EVALBOOK_QUIET pause
endlocal & exit /b %EVALBOOK_RC%
"""


def install_bat(version: str) -> str:
    lo, hi = _oldest(), _newest()
    check = (f"import sys,struct;v=sys.version_info[:2];"
             f"sys.exit(2 if not {lo}<=v<={hi} else 3 if struct.calcsize('P')!=8 "
             f"else 4 if 'WindowsApps' in sys.executable else 0)")
    launchers = " ".join(reversed(PYTHON_VERSIONS))
    body = rf"""title evalbook {version} 安装
set "EVALBOOK_RC=0"
set "EVALBOOK_QUIET="
set "EVALBOOK_HOME={HOME}"
set "EVALBOOK_VENV={VENV}"
set "EVALBOOK_WHEELS=%~dp0{WHEELS}"
set "EVALBOOK_TL={TRUSTED_KEY}"
echo evalbook {version}：部门整体支出绩效评价 离线安装
echo.
if not exist "%EVALBOOK_WHEELS%\" goto :no_wheels

rem --- 1. a CPython {PYTHON_VERSIONS[0]}-{PYTHON_VERSIONS[-1]}, 64-bit, not from the Microsoft Store
set "EVALBOOK_PY="
for %%v in ({launchers}) do if not defined EVALBOOK_PY py -%%v -c "import sys" >nul 2>nul && set "EVALBOOK_PY=py -%%v"
if not defined EVALBOOK_PY python -c "import sys" >nul 2>nul && set "EVALBOOK_PY=python"
if not defined EVALBOOK_PY goto :no_python
%EVALBOOK_PY% -c "{check}"
set "EVALBOOK_CHECK=%errorlevel%"
if "%EVALBOOK_CHECK%"=="2" goto :wrong_version
if "%EVALBOOK_CHECK%"=="3" goto :wrong_bits
if "%EVALBOOK_CHECK%"=="4" goto :store_python
if not "%EVALBOOK_CHECK%"=="0" goto :no_python
%EVALBOOK_PY% -c "import sys;print('使用的 Python：', sys.version.split()[0], sys.executable)"

rem --- 2. a virtualenv of its own, filled from the wheels folder only (no network)
if exist "%EVALBOOK_VENV%\Scripts\python.exe" "%EVALBOOK_VENV%\Scripts\python.exe" -c "import sys" >nul 2>nul || rmdir /s /q "%EVALBOOK_VENV%" >nul 2>nul
if not exist "%EVALBOOK_VENV%\Scripts\python.exe" %EVALBOOK_PY% -m venv "%EVALBOOK_VENV%"
if not exist "%EVALBOOK_VENV%\Scripts\python.exe" goto :venv_failed
echo 正在安装（不联网，只用本文件夹中的 wheels）……
"%EVALBOOK_VENV%\Scripts\python.exe" -m pip install --no-index --find-links "%EVALBOOK_WHEELS%" --upgrade --disable-pip-version-check --no-warn-script-location evalbook
if errorlevel 1 goto :pip_failed
"%EVALBOOK_VENV%\Scripts\python.exe" -m evalbook.install.office interpreter-set "{INTERPRETER.replace('%', '%%')}"
if errorlevel 1 goto :office_failed

rem --- 3. the work folder, a Trusted Location of Excel (macros run despite Mark of the Web)
set "EVALBOOK_WORK=%~1"
if not "%~1"=="" set "EVALBOOK_QUIET=1"
if not "%~1"=="" goto :have_folder
set "EVALBOOK_WORK={DEFAULT_WORK_FOLDER}"
echo.
echo 请输入存放评价工作簿的文件夹，直接回车则使用：
echo   "%EVALBOOK_WORK%"
set "EVALBOOK_INPUT="
set /p "EVALBOOK_INPUT=工作文件夹："
if defined EVALBOOK_INPUT set "EVALBOOK_WORK=%EVALBOOK_INPUT%"
:have_folder
set "EVALBOOK_WORK=%EVALBOOK_WORK:"=%"
if not defined EVALBOOK_WORK goto :bad_folder
if "%EVALBOOK_WORK:~-1%"=="\" set "EVALBOOK_WORK=%EVALBOOK_WORK:~0,-1%"
for %%f in ("%EVALBOOK_WORK%") do set "EVALBOOK_WORK=%%~ff"
if not exist "%EVALBOOK_WORK%\" mkdir "%EVALBOOK_WORK%"
if not exist "%EVALBOOK_WORK%\" goto :bad_folder
reg add "%EVALBOOK_TL%" /v Path /t REG_SZ /d "%EVALBOOK_WORK%\\" /f >nul
if errorlevel 1 goto :reg_failed
reg add "%EVALBOOK_TL%" /v AllowSubfolders /t REG_DWORD /d 1 /f >nul
reg add "%EVALBOOK_TL%" /v Description /t REG_SZ /d "{TRUSTED_DESCRIPTION}" /f >nul
if "%EVALBOOK_WORK:~0,2%"=="\\" reg add "{TRUSTED_LOCATIONS}" /v AllowNetworkLocations /t REG_DWORD /d 1 /f >nul
echo 已把工作文件夹设为 Excel 受信任位置（含子文件夹）：
echo   "%EVALBOOK_WORK%"

rem --- 4. the Send To entry: {SENDTO_NAME}
"%EVALBOOK_VENV%\Scripts\python.exe" -m evalbook.install.office sendto-add
if errorlevel 1 goto :office_failed

rem --- 5. what the PC looks like now
echo.
"%EVALBOOK_VENV%\Scripts\evalbook.exe" doctor --folder "%EVALBOOK_WORK%"
echo.
echo 安装完成。把部门的工作簿放进上面的工作文件夹再用 Excel 打开，功能区“绩效评价”选项卡即可使用；
echo WPS 用户或宏被阻止时：右键工作簿 → 发送到 → {SENDTO_NAME}。
goto :finish

:no_wheels
echo 找不到 wheels 文件夹：请把整个安装文件夹复制到本机后再运行 {INSTALL_BAT}。
goto :failed
:no_python
echo 没有找到可用的 Python。请安装 64 位 Python {_versions()} 中的一个（python.org 的 Windows installer 64-bit，
echo 安装时勾选“Add python.exe to PATH”），不要使用 Microsoft Store 版，然后重新运行本文件。
goto :failed
:wrong_version
echo 找到的 Python 不是 {_versions()} 版：本安装文件夹只带这几个版本的 wheel。请安装其中一个（64 位）后重新运行。
goto :failed
:wrong_bits
echo 找到的 Python 是 32 位的：本安装文件夹只带 64 位 wheel。请安装 64 位 Python 后重新运行。
goto :failed
:store_python
echo 找到的是 Microsoft Store 版 Python，xlwings 不能使用它。请改装 python.org 的 64 位 Python 后重新运行。
goto :failed
:venv_failed
echo 无法在 "%EVALBOOK_VENV%" 创建虚拟环境；请确认有写入权限后重新运行。
goto :failed
:pip_failed
echo 安装失败：见上面 pip 的提示。本文件夹的 wheels 可能不完整，请在能上网的电脑上重新运行 evalbook bundle。
goto :failed
:office_failed
echo 设置 Excel 相关项失败：见上面的提示。
goto :failed
:bad_folder
echo 无法使用该工作文件夹（不存在且无法创建）：请换一个文件夹后重新运行。
goto :failed
:reg_failed
echo 无法写入注册表（受信任位置）；请确认本机允许修改当前用户的 Office 设置。
goto :failed
:failed
set "EVALBOOK_RC=2"
"""
    return _crlf(_PROLOGUE.format(purpose=f"evalbook {version} offline installer") + body + _EPILOGUE)


def uninstall_bat(version: str) -> str:
    body = rf"""title evalbook 卸载
set "EVALBOOK_RC=0"
set "EVALBOOK_QUIET="
if /i "%~1"=="/quiet" set "EVALBOOK_QUIET=1"
set "EVALBOOK_VENV={VENV}"
set "EVALBOOK_HOME={HOME}"
echo 将卸载 evalbook：删除 "%EVALBOOK_HOME%"、“发送到”中的“{SENDTO_NAME}”、
echo Excel 受信任位置“{TRUSTED_DESCRIPTION}”，以及 xlwings 用户设置中的 Interpreter_Win。
echo 工作文件夹及其中的工作簿不会被删除。
if not defined EVALBOOK_QUIET pause
if not exist "%EVALBOOK_VENV%\Scripts\python.exe" goto :no_python
"%EVALBOOK_VENV%\Scripts\python.exe" -m evalbook.install.office sendto-remove
"%EVALBOOK_VENV%\Scripts\python.exe" -m evalbook.install.office interpreter-remove "{INTERPRETER.replace('%', '%%')}"
:no_python
reg delete "{TRUSTED_KEY}" /f >nul 2>nul
if exist "%EVALBOOK_HOME%\" rmdir /s /q "%EVALBOOK_HOME%"
if exist "%EVALBOOK_HOME%\" goto :still_there
echo 已卸载。
goto :finish
:still_there
echo 无法删除 "%EVALBOOK_HOME%"：请关闭 Excel 和正在运行的评分窗口后重新运行本文件。
set "EVALBOOK_RC=2"
"""
    return _crlf(_PROLOGUE.format(purpose=f"evalbook {version} uninstaller") + body + _EPILOGUE)


def guide_text(version: str, wheel_count: int) -> str:
    return _crlf(f"""evalbook {version}　部门整体支出绩效评价　离线安装说明（给单位信息员）
======================================================================

本文件夹可以复制到不能上网的电脑上安装，安装时不联网。
其中 wheels 文件夹有 evalbook 及其全部依赖（共 {wheel_count} 个文件），适用于 64 位 Windows 上的
Python {_versions()}。

一、安装前
  1. 安装 64 位 Python（{_versions()} 之一）：python.org 的“Windows installer (64-bit)”，
     安装时勾选“Add python.exe to PATH”。不要用 Microsoft Store 版的 Python（xlwings 不能使用）。
  2. Excel 为 Office 2016、2019、2021 或 Microsoft 365（注册表项 Office\\16.0）。

二、安装（每个使用者登录后运行一次，不需要管理员权限）
  双击“{INSTALL_BAT}”，按提示输入工作文件夹（直接回车使用“文档\\绩效评价”）。它会：
  1. 检查 Python 的版本和位数；
  2. 在 %LOCALAPPDATA%\\evalbook\\venv 建立独立的 Python 环境，只从 wheels 文件夹安装（不联网）；
  3. 在 xlwings 用户设置（%USERPROFILE%\\.xlwings\\xlwings.conf）中写入 Interpreter_Win，
     使工作簿的按钮和函数使用这个环境；
  4. 把工作文件夹登记为 Excel 的“受信任位置”（含子文件夹）：
     HKCU\\Software\\Microsoft\\Office\\16.0\\Excel\\Security\\Trusted Locations\\evalbook
     （Path、AllowSubfolders、Description）。放在这里的工作簿即使来自网络或邮件，宏也能运行；
     工作文件夹在网络共享（\\\\服务器\\…）上时，同时打开“允许网络上的受信任位置”；
  5. 在“发送到”菜单中添加“{SENDTO_NAME}”：右键工作簿 → 发送到 → {SENDTO_NAME}，
     会打开一个窗口显示评分结果，按回车关闭。适用于 WPS 用户和宏被阻止的情况；
  6. 最后运行 evalbook doctor，逐项显示“正常”或“问题”及处理办法。
  也可以在命令提示符中运行：{INSTALL_BAT} "D:\\绩效评价"（不询问，结束时不暂停）。

三、工作簿的宏被阻止时
  从网上或邮件得到的文件带有“来自网络”的标记，Excel 会显示“安全风险：Microsoft 已阻止宏运行”。
  任选一种办法：
  1. 把文件放进上面的工作文件夹（受信任位置）后再打开；
  2. 右键文件 → 属性 → 勾选“解除锁定” → 确定；
  3. 在 PowerShell 中运行：Unblock-File -LiteralPath 'D:\\绩效评价\\某单位.xlsm'
  evalbook doctor 某单位.xlsm 会指出该文件是否带有这个标记，并给出对应的命令。

四、检查
  打开“命令提示符”，运行：
    "%LOCALAPPDATA%\\evalbook\\venv\\Scripts\\evalbook.exe" doctor 某单位.xlsm --folder "D:\\绩效评价"
  每行一项：Python 版本和位数、xlwings 版本与 DLL、是否为 Store 版 Python、工作簿 xlwings.conf
  中的解释器、工作文件夹是否为受信任位置、文件是否被标记为来自网络。

五、卸载
  双击“{UNINSTALL_BAT}”：删除 %LOCALAPPDATA%\\evalbook、“发送到”中的快捷方式、受信任位置和
  xlwings 用户设置中的 Interpreter_Win。工作文件夹和其中的工作簿不会被删除。

六、更新
  在能上网的电脑上运行 evalbook bundle 新文件夹，把新文件夹复制过来，再双击其中的“{INSTALL_BAT}”。
""")


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def encode_batch(text: str) -> bytes:
    """UTF-8 without a BOM; refuses a text whose lines before `chcp 65001` are not ASCII."""
    data = text.encode("utf-8")
    head = data.split(b"chcp 65001", 1)[0]
    if not head.isascii() or data.startswith(b"\xef\xbb\xbf"):
        raise ValueError("a batch file must be ASCII up to its chcp 65001 line")
    return data
