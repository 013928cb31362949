"""Opening an .xlsx/.xlsm package safely: size limits before inflating, XML without entities.

Everything a department sends is untrusted: a zip bomb is refused from the central directory
before a byte is inflated, and XML goes through defusedxml, which refuses DTDs and entities.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path, PurePosixPath

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from .base import WorkbookUnusable

MAX_TOTAL = 200 * 1024 * 1024  # inflated bytes in all parts
MAX_RATIO = 100  # inflated/compressed, for parts large enough to matter
RATIO_FLOOR = 1024 * 1024  # parts smaller than this may compress as well as they like
MAX_PARTS = 10_000

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def describe_unzippable(path: Path, head: bytes) -> str:
    """Why a file that is not a zip cannot be a workbook, in words an accountant can act on."""
    name = path.name
    if not head:
        return f"文件“{name}”是空文件（0字节），无法打开"
    if head.startswith(OLE_MAGIC):
        return (f"文件“{name}”是加密（设置了打开密码）的工作簿或旧版.xls格式，请在Excel中取消密码"
                f"或另存为“启用宏的工作簿(*.xlsm)”后再试")
    if head[:2] == b"PK":
        return f"文件“{name}”已损坏（压缩包不完整，可能在传输中被截断），请重新获取原文件"
    try:
        head.decode("utf-8")
        text_like = all(b >= 9 for b in head[:512])
    except UnicodeDecodeError:
        text_like = False
    if text_like or b"," in head[:512]:
        return f"文件“{name}”是文本（如CSV）而不是Excel工作簿，请在Excel中打开后另存为.xlsm"
    return f"文件“{name}”不是Excel工作簿（无法识别的文件格式）"


class Package:
    """Read access to the parts of one workbook package."""

    def __init__(self, path: Path):
        self.path = Path(path)
        name = self.path.name
        if not self.path.exists():
            raise WorkbookUnusable(f"找不到文件“{self.path}”")
        if self.path.is_dir():
            raise WorkbookUnusable(f"“{self.path}”是文件夹，不是工作簿")
        try:
            with open(self.path, "rb") as fh:
                head = fh.read(1024)
        except PermissionError:
            raise WorkbookUnusable(f"没有读取文件“{name}”的权限") from None
        except OSError as exc:
            raise WorkbookUnusable(f"无法读取文件“{name}”：{exc.strerror or exc}") from None
        try:
            self.zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            raise WorkbookUnusable(describe_unzippable(self.path, head)) from None
        self._guard_size()
        self.names = {info.filename for info in self.zip.infolist()}
        self._xml_cache: dict[str, object] = {}

    def _guard_size(self) -> None:
        infos = self.zip.infolist()
        name = self.path.name
        if len(infos) > MAX_PARTS:
            raise WorkbookUnusable(f"文件“{name}”包含的部件过多（{len(infos)}个），不像正常的工作簿，已拒绝处理")
        total = sum(i.file_size for i in infos)
        if total > MAX_TOTAL:
            raise WorkbookUnusable(
                f"文件“{name}”解压后将超过{MAX_TOTAL // (1024 * 1024)}MB（{total // (1024 * 1024)}MB），"
                f"可能是恶意构造的压缩包，已拒绝处理")
        for info in infos:
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise WorkbookUnusable(
                    f"文件“{name}”中的部件“{info.filename}”压缩比超过1:{MAX_RATIO}，可能是恶意构造的压缩包，已拒绝处理")

    def close(self) -> None:
        self.zip.close()

    def read(self, part: str) -> bytes:
        try:
            with self.zip.open(part) as fh:
                # the central directory may lie about sizes: never read more than it promised
                limit = self.zip.getinfo(part).file_size
                data = fh.read(limit + 1)
        except KeyError:
            raise WorkbookUnusable(f"文件“{self.path.name}”缺少部件“{part}”，不是完整的工作簿") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise WorkbookUnusable(f"文件“{self.path.name}”已损坏（读取“{part}”时出错），请重新获取原文件") from exc
        if len(data) > limit:
            raise WorkbookUnusable(f"文件“{self.path.name}”中的部件“{part}”大小与目录不符，已拒绝处理")
        return data

    def xml(self, part: str):
        """The parsed root element of an XML part (entities and DTDs refused)."""
        if part not in self._xml_cache:
            self._xml_cache[part] = parse_xml(self.read(part), self.path.name, part)
        return self._xml_cache[part]

    def rels(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id → (type, resolved target part) for a part."""
        folder, _, base = part.rpartition("/")
        rels_part = f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"
        if rels_part not in self.names:
            return {}
        found = {}
        for rel in self.xml(rels_part):
            target = rel.get("Target", "")
            if rel.get("TargetMode") == "External":
                continue
            found[rel.get("Id")] = (rel.get("Type", ""), resolve(folder, target))
        return found


def parse_xml(data: bytes, file_name: str, part: str):
    try:
        return SafeET.fromstring(data)
    except DefusedXmlException:
        raise WorkbookUnusable(
            f"文件“{file_name}”的部件“{part}”含有XML实体或文档类型声明（可能用于窃取本机文件），已拒绝处理") from None
    except SafeET.ParseError:
        raise WorkbookUnusable(f"文件“{file_name}”的部件“{part}”不是有效的XML，文件已损坏") from None


def resolve(folder: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts = []
    for piece in PurePosixPath(folder, target).parts:
        if piece == "..":
            if parts:
                parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def excel_lock_file(path: Path) -> Path | None:
    """Excel keeps '~$name' beside a workbook while it is open."""
    lock = path.with_name("~$" + path.name)
    if lock.exists():
        return lock
    # Excel trims long names: '~$' replaces the first two characters
    lock = path.with_name("~$" + path.name[2:])
    return lock if len(path.name) > 2 and lock.exists() else None


def writable_check(path: Path) -> None:
    name = path.name
    if excel_lock_file(path):
        raise WorkbookUnusable(f"文件“{name}”正在被Excel打开，请先在Excel中关闭它，或在Excel中直接点击“校验并评分”")
    if path.exists() and not os.access(path, os.W_OK):
        raise WorkbookUnusable(f"文件“{name}”是只读的，无法写入评分结果；请取消只读属性，或用 -o 指定另存的文件")
    if not os.access(path.parent, os.W_OK):
        raise WorkbookUnusable(f"没有写入文件夹“{path.parent}”的权限，请用 -o 指定另存的位置")
