"""Which files a batch scores: folders walked, links and pipes reported rather than followed,
the output never among the inputs."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Iterable, NamedTuple

from evalbook.core.errors import WorkbookUnusable

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls")  # .xls is listed so an old-format file is reported, not missed
_GLOB_CHARS = set("*?[")


class Task(NamedTuple):
    path: str  # as opened
    name: str  # as shown in the summary: relative to the folder given, with that folder's name
    problem: str | None = None  # why it is not to be opened at all (see `unopenable`)



def check_output(output: str) -> Path:
    """The output's name and folder make sense (before any file is read)."""
    target = Path(output)
    if target.suffix.lower() != ".xlsx":
        raise WorkbookUnusable(f"汇总结果请保存为.xlsx文件（而不是“{target.name}”）")
    if target.is_dir():
        raise WorkbookUnusable(f"“{target}”是文件夹；请给出汇总文件名，如 {target / '汇总.xlsx'}")
    if not target.parent.is_dir():
        raise WorkbookUnusable(f"保存汇总的文件夹“{target.parent}”不存在")
    return target


def check_writable(target: Path) -> None:
    """Not open in Excel, not read-only, folder writable; after `discover` so that "it is one of
    the inputs" is what a user hears first."""
    from evalbook.adapters.package import writable_check

    writable_check(target)


def skipped_name(name: str) -> bool:
    """Excel's lock files (~$name) and hidden or temporary files are never departments' workbooks."""
    return name.startswith(("~$", "."))


def _hidden_on_windows(entry: os.DirEntry) -> bool:
    if os.name != "nt":
        return False
    try:
        attributes = getattr(entry.stat(follow_symlinks=False), "st_file_attributes", 0)
    except OSError:
        return False
    return bool(attributes & 0x2)  # FILE_ATTRIBUTE_HIDDEN


def _inside(path: str, root: str) -> bool:
    path, root = os.path.normcase(path), os.path.normcase(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def unopenable(path: Path, root: str | None = None) -> str | None:
    """Why `path` must not be opened at all, or None; never opens it, never raises.

    A link is followed only to a regular file that exists and, for a file found in a scanned
    folder (`root`), lies inside that folder: a link planted in a department's folder must not make
    the bureau's batch read whatever it points at.  Pipes and devices would block or never end."""
    from evalbook.adapters.package import describe_os_error

    name = path.name
    try:
        link = path.is_symlink()
    except OSError as exc:
        return f"无法读取“{name}”（{describe_os_error(exc)}）"
    if link:
        try:
            real = os.path.realpath(path, strict=True)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return f"“{name}”是循环指向自身的链接（快捷方式），无法打开"
            if exc.errno == errno.ENOENT:
                return f"“{name}”是链接（快捷方式），但它指向的文件已不存在"
            return f"“{name}”是链接（快捷方式），无法读取它指向的文件（{describe_os_error(exc)}）"
        if root is not None and not _inside(real, root):
            return (f"“{name}”是指向所选文件夹以外的文件的链接（快捷方式），为安全起见未读取；"
                    f"如需评分，请把该工作簿本身复制到文件夹中")
    try:
        info = path.stat()
    except OSError as exc:
        return f"无法读取“{name}”（{describe_os_error(exc)}）"
    if not stat.S_ISREG(info.st_mode):
        return f"“{name}”不是普通文件（可能是管道、设备或文件夹），已跳过，未读取"
    return None


def _walk(folder: Path, root: str) -> Iterable[tuple[Path, str | None]]:
    """(workbook, why it cannot be opened or None) under `folder`, in name order, not following
    links to folders; an unreadable subfolder is one entry with its reason."""
    from evalbook.adapters.package import describe_os_error

    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        if os.path.normcase(os.path.abspath(folder)) == os.path.normcase(os.path.abspath(root)):
            raise WorkbookUnusable(f"无法读取文件夹“{folder}”：{describe_os_error(exc)}") from None
        yield folder, f"无法读取文件夹“{folder.name}”（{describe_os_error(exc)}），其中的工作簿未评分"
        return
    for entry in entries:
        if skipped_name(entry.name) or _hidden_on_windows(entry):
            continue
        try:
            is_folder = entry.is_dir(follow_symlinks=False)
        except OSError:
            is_folder = False
        if is_folder:
            yield from _walk(Path(entry.path), root)
            continue
        if not entry.name.lower().endswith(WORKBOOK_SUFFIXES):
            continue
        path = Path(entry.path)
        try:
            to_folder = entry.is_symlink() and os.path.isdir(entry.path)
        except OSError:
            to_folder = False
        if to_folder:
            continue  # links to folders are not followed (a folder may link to its own parent)
        yield path, unopenable(path, root)


def _key(path: Path) -> str:
    """One spelling per file: links resolved, case folded where the file system ignores case."""
    return os.path.normcase(os.path.realpath(path))


def discover(inputs: Iterable[str], target: Path | None = None) -> list[Task]:
    """The workbooks named or found (recursively) in `inputs`, each once, in a stable order.

    Refuses (WorkbookUnusable) when the output would overwrite one of them; a previous summary
    sitting in a scanned folder under the output's name is simply left out.  What cannot be opened
    (a broken or looping link, a link out of a scanned folder, a pipe) is a Task with its reason,
    listed in 无法读取 and never opened.
    """
    import glob

    from evalbook.bureau.summary import is_summary

    found: list[Task] = []
    seen: set[str] = set()
    target_key = _key(target) if target is not None and target.exists() else None

    def add(path: Path, name: str, explicit: bool, problem: str | None) -> None:
        if problem is not None:
            key = "!" + os.path.normcase(os.path.abspath(path))  # not resolvable: its own spelling
        else:
            key = _key(path)
        if key == target_key:
            if explicit or not is_summary(target):
                raise WorkbookUnusable(f"输出文件“{target.name}”是输入的工作簿之一；为免覆盖输入，请另选输出文件名")
            return
        if key not in seen:
            seen.add(key)
            found.append(Task(str(path), name, problem))

    for arg in inputs:
        path = Path(arg)
        present = os.path.lexists(path)  # a broken link is there, and is reported as such
        if not present and _GLOB_CHARS & set(arg):
            matches = sorted(glob.glob(arg, recursive=True))  # for shells that do not expand patterns
            if not matches:
                raise WorkbookUnusable(f"没有与“{arg}”匹配的文件")
            paths = [Path(m) for m in matches]
        elif not present:
            raise WorkbookUnusable(f"找不到“{arg}”")
        else:
            paths = [path]
        for p in paths:
            if _is_folder(p):
                root = os.path.realpath(p)
                label = Path(root).name
                for file, problem in _walk(p, root):
                    rel = file.relative_to(p).as_posix()
                    add(file, f"{label}/{rel}" if label else rel, explicit=False, problem=problem)
            elif not skipped_name(p.name):
                add(p, p.name, explicit=True, problem=unopenable(p))
    if not found:
        raise WorkbookUnusable(f"在“{'、'.join(inputs)}”中没有找到.xlsm/.xlsx工作簿")
    return found


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False
