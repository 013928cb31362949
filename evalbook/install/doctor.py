"""`evalbook doctor [BOOK] [--folder DIR]`: is this PC set up for the workbook's buttons and functions?

One line per check, 正常 or 问题 with what to do, or 跳过 where a check only makes sense on
Windows.  Every check is a pure function of what it is given; `Machine` holds the readers of this
PC (registry, alternate data streams, files), so tests hand in their own.  Exit code 0 when
nothing is wrong, 1 when some check found a problem, 2 when BOOK cannot be read.
"""

from __future__ import annotations

import os
import re
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Callable

from evalbook.core.errors import EXIT_FINDINGS, EXIT_OK
from evalbook.core.textsafe import terminal_safe
from evalbook.install import scripts

CONF_SHEET = "xlwings.conf"
OK, PROBLEM, SKIPPED = "正常", "问题", "跳过"
WINDOWS_ONLY = "仅在 Windows 上有意义"
OLDEST = (3, 11)
BUNDLED = tuple(tuple(int(x) for x in v.split(".")) for v in scripts.PYTHON_VERSIONS)
RISKY_ZONES = {3: "来自 Internet", 4: "来自受限站点"}


@dataclass(frozen=True)
class Check:
    state: str  # OK, PROBLEM or SKIPPED
    what: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.state}　{self.what}：{self.detail}"
        return f"{text}；处理：{self.fix}" if self.fix else text


@dataclass
class Machine:
    """This PC as the checks see it; every field can be replaced in a test."""

    windows: bool = sys.platform == "win32"
    version: tuple = tuple(sys.version_info[:3])
    bits: int = struct.calcsize("P") * 8
    executable: str = sys.executable
    environ: dict = field(default_factory=lambda: dict(os.environ))
    xlwings_version: Callable[[], str | None] = None  # type: ignore[assignment]
    pinned_xlwings: Callable[[], str | None] = None  # type: ignore[assignment]
    exists: Callable[[str], bool] = os.path.isfile
    trusted_locations: Callable[[], tuple[list[tuple[str, bool]], bool]] = None  # type: ignore[assignment]
    zone_identifier: Callable[[str], str | None] = None  # type: ignore[assignment]
    user_conf: Callable[[], bytes | None] = None  # type: ignore[assignment]

    def __post_init__(self):
        self.xlwings_version = self.xlwings_version or _installed_xlwings
        self.pinned_xlwings = self.pinned_xlwings or _pinned_xlwings
        self.trusted_locations = self.trusted_locations or _registry_trusted_locations
        self.zone_identifier = self.zone_identifier or _zone_identifier
        self.user_conf = self.user_conf or (lambda: _read_bytes(_user_conf_path(self.environ)))


# ---- the checks -------------------------------------------------------------------------------


def python_check(version: tuple, bits: int) -> Check:
    shown = ".".join(str(part) for part in version) + f"（{bits}位）"
    if tuple(version[:2]) < OLDEST:
        return Check(PROBLEM, "Python 版本", shown, "安装 64 位 Python 3.11 或更高版本（python.org）")
    if bits != 64:
        return Check(PROBLEM, "Python 位数", shown, "改装 64 位 Python：离线安装文件夹只带 64 位 wheel")
    if tuple(version[:2]) not in BUNDLED:
        return Check(OK, "Python 版本", f"{shown}；注意：离线安装文件夹只带 "
                     f"{'、'.join(scripts.PYTHON_VERSIONS)} 的 wheel")
    return Check(OK, "Python 版本", shown)


def xlwings_check(installed: str | None, pinned: str | None) -> Check:
    if installed is None:
        return Check(PROBLEM, "xlwings", "未安装", f"运行 安装.bat，或 pip install xlwings=={pinned or '0.37.8'}")
    if pinned and installed != pinned:
        return Check(PROBLEM, "xlwings 版本", f"已安装 {installed}，模板内置的 xlwings VBA 模块为 {pinned}"
                     f"（它调用 xlwings64-{pinned}.dll）", f"pip install xlwings=={pinned}，不要单独升级 xlwings")
    return Check(OK, "xlwings 版本", f"{installed}，与模板内置的 VBA 模块一致")


def dll_names(version: str) -> tuple[str, str]:
    return f"xlwings64-{version}.dll", f"xlwings32-{version}.dll"


def dll_check(windows: bool, interpreter: str, version: str | None, exists: Callable[[str], bool]) -> Check:
    """xlwings' VBA loads its DLL from the interpreter's folder (a standard install) or the one
    above it (a virtualenv's Scripts folder), exactly these two."""
    if not windows:
        return Check(SKIPPED, "xlwings DLL", WINDOWS_ONLY)
    if version is None:
        return Check(PROBLEM, "xlwings DLL", "xlwings 未安装", "运行 安装.bat")
    folder = PureWindowsPath(interpreter).parent
    places = [folder, folder.parent]
    for place in places:
        found = [name for name in dll_names(version) if exists(str(place / name))]
        if len(found) == 2:
            return Check(OK, "xlwings DLL", f"{found[0]} 在 {place}")
    return Check(PROBLEM, "xlwings DLL", f"{dll_names(version)[0]} 不在 {places[0]} 或 {places[1]}",
                 f"在该 Python 中重新安装：pip install --force-reinstall --no-deps xlwings=={version}"
                 f"（用 pip --user 安装时 DLL 不在 Python 目录中，请改用 安装.bat 的虚拟环境）")


def store_check(windows: bool, executable: str) -> Check:
    if not windows:
        return Check(SKIPPED, "Microsoft Store 版 Python", WINDOWS_ONLY)
    if "\\windowsapps\\" in executable.lower():
        return Check(PROBLEM, "Microsoft Store 版 Python", executable,
                     "xlwings 不能使用 Store 版：改装 python.org 的 64 位 Python，再运行 安装.bat")
    return Check(OK, "Microsoft Store 版 Python", f"不是（{executable}）")


def conf_rows(values: dict) -> dict[str, str]:
    """An xlwings.conf sheet as xlwings reads it: keys in A from row 1 down to the first blank
    one, upper-cased, values from B."""
    rows = {}
    r = 1
    while True:
        key = values.get(f"A{r}")
        if key is None or str(key).strip() == "":
            return rows
        value = values.get(f"B{r}")
        rows[str(key).upper()] = "" if value is None else str(value)
        r += 1


def user_conf_value(data: bytes | None, key: str) -> str | None:
    """A key of xlwings' user settings file (lines `"KEY","value"`, read by VBA's Input #)."""
    if not data:
        return None
    for raw in data.replace(b"\r\n", b"\n").split(b"\n"):
        match = re.fullmatch(rb'\s*"([^"]*)"\s*,\s*"([^"]*)"\s*', raw)
        if match and match.group(1).decode("latin-1").upper() == key:
            return match.group(2).decode("mbcs" if sys.platform == "win32" else "utf-8", errors="replace")
    return None


def expand(text: str, environ: dict) -> str:
    """%NAME% expanded as Windows does (unknown names stay as they are)."""
    upper = {k.upper(): v for k, v in environ.items()}
    return re.sub(r"%([^%]+)%", lambda m: upper.get(m.group(1).upper(), m.group(0)), text)


def effective_interpreter(sheet: dict[str, str] | None, user: bytes | None) -> tuple[str, str]:
    """(interpreter, where it is set), in xlwings' order: the workbook's sheet, then the user's
    settings file, then its default `pythonw` from PATH (the folder's own xlwings.conf, which
    xlwings reads between the two, is not looked at)."""
    for key in ("INTERPRETER_WIN", "INTERPRETER"):
        if sheet and sheet.get(key):
            return sheet[key], f"工作簿的 xlwings.conf 表（{key.title()}）"
    for key in ("INTERPRETER_WIN", "INTERPRETER"):
        value = user_conf_value(user, key)
        if value:
            return value, f"xlwings 用户设置（{key.title()}）"
    return "pythonw", "未设置，使用 PATH 中的 pythonw"


def interpreter_check(windows: bool, sheet: dict[str, str] | None, user: bytes | None, environ: dict,
                      exists: Callable[[str], bool]) -> tuple[Check, str]:
    value, source = effective_interpreter(sheet, user)
    path = expand(value, environ)
    if value in ("python", "pythonw"):
        return Check(OK, "工作簿使用的 Python", f"{source}"), path
    if not windows:
        return Check(SKIPPED, "工作簿使用的 Python", f"{value}（{source}）；路径是否存在{WINDOWS_ONLY}"), path
    if not exists(path):
        return Check(PROBLEM, "工作簿使用的 Python", f"{path} 不存在（{source}）",
                     "在 xlwings.conf 表的 Interpreter_Win 中填写 pythonw.exe 的完整路径，或删去该行后运行 安装.bat"), path
    return Check(OK, "工作簿使用的 Python", f"{path}（{source}）"), path


def _windows_key(path: str) -> str:
    return str(PureWindowsPath(path)).rstrip("\\").casefold()


def trusted_check(windows: bool, folder: str, locations: list[tuple[str, bool]], network_allowed: bool,
                  environ: dict) -> Check:
    what = "受信任位置"
    if not windows:
        return Check(SKIPPED, what, WINDOWS_ONLY)
    wanted = _windows_key(folder)
    fix = ("运行 安装.bat 并选择该文件夹，或在 Excel 中：文件 → 选项 → 信任中心 → 信任中心设置 → 受信任位置 → "
           "添加新位置（勾选“同时信任此位置的子文件夹”）")
    for path, subfolders in locations:
        place = _windows_key(expand(path, environ))
        if wanted == place or (subfolders and wanted.startswith(place + "\\")):
            if wanted.startswith("\\\\") and not network_allowed:
                return Check(PROBLEM, what, f"{folder} 在网络上，而“允许网络上的受信任位置”未打开",
                             "信任中心 → 受信任位置 → 勾选“允许网络上的受信任位置”（安装.bat 选网络文件夹时会打开）")
            return Check(OK, what, f"{folder} 是 Excel 受信任位置，其中的工作簿打开时宏可以运行")
    return Check(PROBLEM, what, f"{folder} 不是 Excel 受信任位置（来自网络或邮件的工作簿在这里宏会被阻止）", fix)


def powershell_quoted(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def motw_check(windows: bool, book: str, zone_text: str | None) -> Check:
    what = "网络标记（Mark of the Web）"
    if not windows:
        return Check(SKIPPED, what, WINDOWS_ONLY)
    match = re.search(r"^\s*ZoneId\s*=\s*(\d+)", zone_text or "", re.MULTILINE)
    zone = int(match.group(1)) if match else None
    if zone in RISKY_ZONES:
        return Check(PROBLEM, what, f"{Path(book).name} {RISKY_ZONES[zone]}（ZoneId={zone}），Excel 会阻止其中的宏",
                     f"在 PowerShell 中运行 Unblock-File -LiteralPath {powershell_quoted(book)}，"
                     f"或右键文件 → 属性 → 勾选“解除锁定”，或放进受信任位置")
    return Check(OK, what, f"{Path(book).name} 没有来自网络的标记")


# ---- this PC's readers ------------------------------------------------------------------------


def _installed_xlwings() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("xlwings")
    except metadata.PackageNotFoundError:
        return None


def _pinned_xlwings() -> str | None:
    """The xlwings evalbook pins (setup.cfg), whose VBA module the template embeds."""
    from importlib import metadata

    try:
        requirements = metadata.requires("evalbook") or []
    except metadata.PackageNotFoundError:
        requirements = []
    for text in requirements:
        match = re.fullmatch(r"\s*xlwings\s*==\s*([\w.]+)\s*", text)
        if match:
            return match.group(1)
    return None


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _user_conf_path(environ: dict) -> Path:
    return Path(environ.get("USERPROFILE") or Path.home()) / ".xlwings" / "xlwings.conf"


def _registry_trusted_locations() -> tuple[list[tuple[str, bool]], bool]:
    """Excel's Trusted Locations of this user: ([(Path, AllowSubfolders)], AllowNetworkLocations)."""
    import winreg  # noqa: PLC0415 - Windows only

    base = scripts.TRUSTED_LOCATIONS.split("\\", 1)[1]
    found: list[tuple[str, bool]] = []
    network = False
    try:
        root = winreg.OpenKey(winreg.HKEY_CURRENT_USER, base)
    except OSError:
        return found, network
    with root:
        try:
            network = bool(winreg.QueryValueEx(root, "AllowNetworkLocations")[0])
        except OSError:
            pass
        index = 0
        while True:
            try:
                name = winreg.EnumKey(root, index)
            except OSError:
                break
            index += 1
            try:
                with winreg.OpenKey(root, name) as key:
                    path = winreg.QueryValueEx(key, "Path")[0]
                    try:
                        subfolders = bool(winreg.QueryValueEx(key, "AllowSubfolders")[0])
                    except OSError:
                        subfolders = False
                    found.append((str(path), subfolders))
            except OSError:
                continue
    return found, network


def _zone_identifier(path: str) -> str | None:
    try:
        with open(f"{path}:Zone.Identifier", encoding="utf-8", errors="replace") as stream:
            return stream.read(4096)
    except OSError:
        return None


# ---- the command ------------------------------------------------------------------------------


def register(subparsers) -> None:
    doctor = subparsers.add_parser(
        "doctor", help="检查本机能否使用工作簿的按钮和函数（Python、xlwings、受信任位置、网络标记）",
        description="逐项检查本机的设置，每行一项：正常，或“问题”及处理办法。",
        epilog="退出码：0 全部正常；1 有问题；2 工作簿无法读取。")
    doctor.add_argument("book", nargs="?", metavar="工作簿", help="要检查的工作簿：它的 xlwings.conf 设置和网络标记")
    doctor.add_argument("--folder", metavar="文件夹", help="检查该文件夹是否为 Excel 受信任位置（默认为工作簿所在文件夹）")
    doctor.set_defaults(handler=cmd_doctor)


def book_conf(book: str) -> dict[str, str] | None:
    """The workbook's xlwings.conf rows, or None when it has no such sheet."""
    from evalbook.adapters.xlsx import XlsxBook

    with XlsxBook(book) as opened:
        if not opened.has_sheet(CONF_SHEET):
            return None
        return conf_rows(opened.read_sheet(CONF_SHEET))


def checks(machine: Machine, book: str | None, folder: str | None, sheet: dict[str, str] | None) -> list[Check]:
    installed = machine.xlwings_version()
    found = [
        python_check(machine.version, machine.bits),
        xlwings_check(installed, machine.pinned_xlwings()),
        store_check(machine.windows, machine.executable),
    ]
    interpreter, path = interpreter_check(machine.windows, sheet, machine.user_conf(), machine.environ, machine.exists)
    found.append(interpreter)
    target = machine.executable if path in ("python", "pythonw") else path
    found.append(dll_check(machine.windows, target, installed, machine.exists))
    if folder is None and book is not None:
        folder = str(Path(book).resolve().parent)
    if folder is not None:
        if machine.windows:
            locations, network = machine.trusted_locations()
        else:
            locations, network = [], False
        found.append(trusted_check(machine.windows, str(Path(folder).resolve()) if machine.windows else folder,
                                   locations, network, machine.environ))
    if book is not None:
        found.append(motw_check(machine.windows, book, machine.zone_identifier(book) if machine.windows else None))
    return found


def cmd_doctor(args, machine: Machine | None = None) -> int:
    machine = machine or Machine()
    sheet = None
    if args.book is not None:
        sheet = book_conf(args.book)
        if sheet is None:
            print(f"{PROBLEM}　工作簿：{terminal_safe(Path(args.book).name)} 没有 xlwings.conf 表，不是 evalbook 模板；"
                  f"处理：用 evalbook new 生成模板")
    found = checks(machine, args.book, args.folder, sheet)
    for check in found:
        print(terminal_safe(check.line()))
    if not machine.windows:
        print("本机不是 Windows：xlwings DLL、Store 版 Python、受信任位置和网络标记只在 Windows 上检查。")
    problems = sum(check.state == PROBLEM for check in found) + (args.book is not None and sheet is None)
    return EXIT_FINDINGS if problems else EXIT_OK
