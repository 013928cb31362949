"""The steps of 安装.bat / 卸载.bat that a batch file does badly, run from the installed virtualenv:
`python -m evalbook.install.office interpreter-set VALUE | interpreter-remove VALUE | sendto-add |
sendto-remove`.

* xlwings' user settings (``%USERPROFILE%\\.xlwings\\xlwings.conf``) get ``"INTERPRETER_WIN","…"``,
  so every workbook whose own xlwings.conf sheet sets no interpreter runs the virtualenv's Python.
  VBA reads that file with ``Input #`` in the PC's ANSI code page, so lines are handled as bytes and
  the value evalbook writes is ASCII (``%LOCALAPPDATA%`` left for xlwings to expand); a user's
  other settings are kept as they are, and on uninstall only the line evalbook wrote goes.
* The 发送到 entry is a shortcut (.lnk) to the virtualenv's python.exe, not a .cmd: Explorer starts
  a batch file through ``cmd /c`` with the file names unquoted when they hold no space, so a name
  with ``&`` would split the command; python.exe receives them as arguments, unparsed by cmd.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from evalbook.core.errors import EXIT_OK, EXIT_UNUSABLE

KEY = b'"interpreter_win"'
SENDTO_NAME = "绩效评价 校验并评分"
SENDTO_DESCRIPTION = "用 evalbook 校验并评分所选的工作簿，在窗口中显示结果"


def user_conf_path(environ=os.environ) -> Path:
    return Path(environ.get("USERPROFILE") or Path.home()) / ".xlwings" / "xlwings.conf"


def _lines(data: bytes) -> list[bytes]:
    return [line for line in data.replace(b"\r\n", b"\n").split(b"\n") if line.strip()]


def _is_interpreter(line: bytes) -> bool:
    return line.strip().lower().startswith(KEY + b",")


def with_interpreter(data: bytes, value: str) -> bytes:
    """The conf file's bytes with INTERPRETER_WIN set to `value` (ASCII), every other line kept."""
    kept = [line for line in _lines(data) if not _is_interpreter(line)]
    kept.append(b'"INTERPRETER_WIN","' + value.encode("ascii") + b'"')
    return b"\r\n".join(kept) + b"\r\n"


def without_interpreter(data: bytes, value: str) -> bytes:
    """The conf file's bytes less the INTERPRETER_WIN line evalbook wrote (one the user set to
    something else stays)."""
    ours = b'"INTERPRETER_WIN","' + value.encode("ascii") + b'"'
    kept = [line for line in _lines(data) if not (_is_interpreter(line) and line.strip().lower() == ours.lower())]
    return b"".join(line + b"\r\n" for line in kept)


def sendto_folder(environ=os.environ) -> Path:
    return Path(environ["APPDATA"]) / "Microsoft" / "Windows" / "SendTo"


def make_shortcut(path: Path, target: Path, arguments: str, description: str, shell=None) -> None:
    """A .lnk through Windows Script Host (pywin32 comes with xlwings on Windows)."""
    if shell is None:
        import win32com.client  # noqa: PLC0415 - Windows only

        shell = win32com.client.Dispatch("WScript.Shell")
    link = shell.CreateShortcut(str(path))
    link.TargetPath = str(target)
    link.Arguments = arguments
    link.Description = description
    link.WorkingDirectory = str(Path(target).parent)
    link.Save()


def sendto_shortcut(environ=os.environ) -> Path:
    return sendto_folder(environ) / f"{SENDTO_NAME}.lnk"


def main(argv: list[str] | None = None, environ=os.environ, shell=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print("用法：python -m evalbook.install.office interpreter-set 值 | interpreter-remove 值 | "
              "sendto-add | sendto-remove", file=sys.stderr)
        return EXIT_UNUSABLE
    action, rest = argv[0], argv[1:]
    try:
        if action in ("interpreter-set", "interpreter-remove"):
            conf = user_conf_path(environ)
            data = conf.read_bytes() if conf.exists() else b""
            if action == "interpreter-set":
                conf.parent.mkdir(parents=True, exist_ok=True)
                conf.write_bytes(with_interpreter(data, rest[0]))
                print(f"已在 xlwings 用户设置中指定 Python：{rest[0]}")
            elif conf.exists():
                conf.write_bytes(without_interpreter(data, rest[0]))
        elif action == "sendto-add":
            link = sendto_shortcut(environ)
            link.parent.mkdir(parents=True, exist_ok=True)
            make_shortcut(link, Path(sys.executable), "-m evalbook.install.sendto", SENDTO_DESCRIPTION, shell)
            print(f"已添加“发送到 → {SENDTO_NAME}”")
        elif action == "sendto-remove":
            sendto_shortcut(environ).unlink(missing_ok=True)
        else:
            print(f"未知的操作：{action}", file=sys.stderr)
            return EXIT_UNUSABLE
    except (OSError, IndexError, UnicodeEncodeError) as exc:
        print(f"{action} 失败：{exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except Exception as exc:  # noqa: BLE001 - a COM failure (no Windows Script Host): one line, not a traceback
        print(f"{action} 失败（{type(exc).__name__}）：{exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
