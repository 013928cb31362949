"""Opening an .xlsx/.xlsm package safely, and replacing a file without ever losing it.

Everything a department sends is untrusted: a zip bomb is refused from the central directory
before a byte is inflated, every XML part is checked for a DTD before anything is parsed, and XML
goes through defusedxml.  Files that are not workbooks at all are named for what they are, so the
accountant knows what to do.  Writes go to a temporary file beside the target that replaces it
only once it is complete and on disk.
"""

from __future__ import annotations

import errno
import lzma
import os
import re
import stat
import struct
import tempfile
import time
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from evalbook.core.errors import WorkbookUnusable
from evalbook.core.numbers import quote

MAX_TOTAL = 200 * 1024 * 1024  # inflated bytes in all parts
MAX_RATIO = 100  # inflated/compressed, for parts large enough to matter
RATIO_FLOOR = 1024 * 1024  # parts smaller than this may compress as well as they like
MAX_PARTS = 10_000
PROLOG_LIMIT = 64 * 1024  # an XML part whose root element starts later than this is not Excel's

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
TEMP_PREFIX, TEMP_SUFFIX = ".~evalbook-", ".tmp"
STALE_TEMP_SECONDS = 15 * 60  # a save takes well under a second; older temps were left by a kill

# everything zipfile and its decompressors raise for a damaged archive
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError,
               RuntimeError, zlib.error, lzma.LZMAError, struct.error, IndexError, KeyError, OverflowError)
_MB = 1024 * 1024


# ---- files that are not workbooks ------------------------------------------------------------

def describe_unzippable(path: Path, head: bytes) -> str:
    """Why a file that is not a zip cannot be a workbook, in words an accountant can act on."""
    name = path.name
    if not head:
        return f"文件“{name}”是空文件（0字节），无法打开；请重新获取原文件"
    if head.startswith(OLE_MAGIC):
        return _describe_compound_file(path)
    if head[:2] == b"PK":
        return f"文件“{name}”已损坏（压缩包不完整，可能在传输中被截断），请重新获取原文件"
    if head.startswith(b"%PDF"):
        return f"文件“{name}”是PDF文件，不是Excel工作簿；请提交填好的.xlsm工作簿"
    if head.startswith((b"Rar!", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b")):
        return f"文件“{name}”是压缩包（RAR/7z/gz），请先解压，再对其中的工作簿操作"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM")):
        return f"文件“{name}”是图片，不是Excel工作簿"
    text = _as_text(head)
    if text is not None:
        low = text.lower()
        if "urn:schemas-microsoft-com:office:spreadsheet" in low or "excel.sheet" in low:
            return (f"文件“{name}”是“XML表格2003”格式，请在Excel中打开后"
                    f"另存为“Excel启用宏的工作簿(*.xlsm)”再试")
        if "<html" in low or "<!doctype html" in low or "<table" in low:
            return (f"文件“{name}”是网页(HTML)格式，只是扩展名像Excel文件（一些系统导出的表格就是这样）；"
                    f"请在Excel中打开后另存为“Excel启用宏的工作簿(*.xlsm)”再试")
        return f"文件“{name}”是文本（如CSV）而不是Excel工作簿，请在Excel中打开后另存为.xlsm"
    return f"文件“{name}”不是Excel工作簿（无法识别的文件格式）；请重新获取原文件"


def _as_text(head: bytes) -> str | None:
    """The start of a text file in any encoding a Chinese office uses, or None if it is binary."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head[2:].decode("utf-16-le" if head[:2] == b"\xff\xfe" else "utf-16-be", "ignore")
    body = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    for encoding in ("utf-8", "gb18030"):
        try:
            # the head may end inside a multi-byte character: ignore only the last few bytes
            text = body[:-4].decode(encoding) + body[-4:].decode(encoding, "ignore") if len(body) > 4 \
                else body.decode(encoding)
        except UnicodeDecodeError:
            continue
        if all(ch >= " " or ch in "\t\r\n\f" for ch in text):
            return text
    return None


def _describe_compound_file(path: Path) -> str:
    name = path.name
    streams = ole_stream_names(path)
    if streams & {"EncryptedPackage", "EncryptionInfo"}:
        return (f"文件“{name}”设置了打开密码（已加密），evalbook无法读取；请在Excel中打开它，"
                f"点击“文件→信息→保护工作簿→用密码进行加密”，清空密码并保存后再试")
    if streams & {"Workbook", "Book"}:
        return (f"文件“{name}”是旧版Excel 97-2003格式（.xls），请在Excel中打开后"
                f"另存为“Excel启用宏的工作簿(*.xlsm)”再试")
    if "WordDocument" in streams:
        return f"文件“{name}”是Word文档，不是Excel工作簿"
    if "PowerPoint Document" in streams:
        return f"文件“{name}”是PowerPoint演示文稿，不是Excel工作簿"
    return (f"文件“{name}”是加密（设置了打开密码）的工作簿或旧版.xls格式，请在Excel中取消密码"
            f"或另存为“Excel启用宏的工作簿(*.xlsm)”后再试")


def ole_stream_names(path: Path) -> set[str]:
    """Top-level names in a compound file's directory: enough to tell an encrypted workbook from an
    .xls.  Reads only the header, the FAT and the directory sectors; a damaged file gives set()."""
    names: set[str] = set()
    try:
        with open(path, "rb") as fh:
            header = fh.read(512)
            shift = struct.unpack_from("<H", header, 0x1E)[0]
            if shift not in (9, 12):
                return names
            size = 1 << shift
            fat_count = struct.unpack_from("<I", header, 0x2C)[0]
            first_dir = struct.unpack_from("<I", header, 0x30)[0]
            difat = struct.unpack_from("<109I", header, 0x4C)

            def sector(number: int) -> bytes:
                fh.seek((number + 1) * size)
                return fh.read(size)

            fat: list[int] = []
            for number in difat[:min(fat_count, 109)]:
                chunk = sector(number)
                fat.extend(struct.unpack(f"<{len(chunk) // 4}I", chunk[: len(chunk) // 4 * 4]))
            seen = set()
            current = first_dir
            while current < 0xFFFFFFFA and current not in seen and len(seen) < 1024:
                seen.add(current)
                chunk = sector(current)
                for offset in range(0, len(chunk) - 127, 128):
                    entry = chunk[offset: offset + 128]
                    length = struct.unpack_from("<H", entry, 64)[0]
                    if 2 <= length <= 64 and entry[66] in (1, 2, 5):
                        names.add(entry[: length - 2].decode("utf-16-le", "replace"))
                current = fat[current] if current < len(fat) else 0xFFFFFFFE
    except (OSError, struct.error, IndexError, ValueError):
        pass
    return names


def _zip_entry_count(path: Path) -> int | None:
    """Entries the end-of-central-directory record announces, read without parsing the directory
    (a zip of a million empty parts would otherwise take minutes to refuse)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 66_000))
            tail = fh.read()
    except OSError:
        return None
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    count = struct.unpack_from("<H", tail, at + 10)[0]
    if count == 0xFFFF:  # zip64: the true count is in the zip64 record
        at64 = tail.rfind(b"PK\x06\x06", 0, at)
        if at64 >= 0 and at64 + 40 <= len(tail):
            count = struct.unpack_from("<Q", tail, at64 + 32)[0]
    return count


# ---- reading ---------------------------------------------------------------------------------

class Package:
    """Read access to the parts of one workbook package."""

    def __init__(self, path: Path):
        self.path = Path(path)
        name = self.path.name
        try:
            info = self.path.stat()
        except FileNotFoundError:
            raise WorkbookUnusable(f"找不到文件“{self.path}”") from None
        except OSError as exc:
            raise WorkbookUnusable(f"无法读取文件“{name}”（{describe_os_error(exc)}）") from None
        if stat.S_ISDIR(info.st_mode):
            raise WorkbookUnusable(f"“{self.path}”是文件夹，不是工作簿")
        self.stat = info
        try:
            with open(self.path, "rb") as fh:
                head = fh.read(1024)
        except OSError as exc:
            raise WorkbookUnusable(f"无法读取文件“{name}”（{describe_os_error(exc)}）") from None
        if info.st_size > MAX_TOTAL:
            raise WorkbookUnusable(
                f"文件“{name}”有{info.st_size // _MB}MB，超过{MAX_TOTAL // _MB}MB的上限，不像部门填报的工作簿，已拒绝处理")
        entries = _zip_entry_count(self.path) if head[:2] == b"PK" else None
        if entries is not None and entries > MAX_PARTS:
            raise WorkbookUnusable(f"文件“{name}”包含的部件过多（{entries}个），不像正常的工作簿，已拒绝处理")
        try:
            self.zip = zipfile.ZipFile(self.path)
        except Exception:  # zipfile raises many types for a damaged directory; none is ours to show
            raise WorkbookUnusable(describe_unzippable(self.path, head)) from None
        try:
            self._guard_size()
            self.names = {info.filename for info in self.zip.infolist()}
            # OPC part names are case-insensitive; some writers change the case of a target
            self._folded = {}
            for info in self.zip.infolist():
                self._folded.setdefault(info.filename.lower(), info.filename)
            self._xml_cache: dict[str, object] = {}
            self._guard_prologs()
        except BaseException:
            self.zip.close()
            raise

    def _guard_size(self) -> None:
        infos = self.zip.infolist()
        name = self.path.name
        if len(infos) > MAX_PARTS:
            raise WorkbookUnusable(f"文件“{name}”包含的部件过多（{len(infos)}个），不像正常的工作簿，已拒绝处理")
        total = sum(i.file_size for i in infos)
        if total > MAX_TOTAL:
            raise WorkbookUnusable(
                f"文件“{name}”解压后将超过{MAX_TOTAL // _MB}MB（{total // _MB}MB），"
                f"可能是恶意构造的压缩包，已拒绝处理")
        for info in infos:
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise WorkbookUnusable(
                    f"文件“{name}”中的部件“{info.filename}”压缩比超过1:{MAX_RATIO}，可能是恶意构造的压缩包，已拒绝处理")
            if info.flag_bits & 0x1:
                raise WorkbookUnusable(
                    f"文件“{name}”是用压缩软件加了密码的压缩包，不是正常的Excel工作簿；请提交未加密的原文件")

    def _guard_prologs(self) -> None:
        """No part may declare a DTD: OPC forbids it, and entities are how XML reads local files or
        expands a few bytes into gigabytes.  Parts we never parse are checked too, so a workbook we
        write back can never carry one onwards."""
        for info in self.zip.infolist():
            if info.is_dir() or info.file_size == 0:
                continue
            try:
                with self.zip.open(info) as fh:
                    prolog = _read_prolog(fh, min(info.file_size, PROLOG_LIMIT))
            except _ZIP_ERRORS:
                raise WorkbookUnusable(
                    f"文件“{self.path.name}”已损坏（读取{quote(info.filename, 60)}时出错），请重新获取原文件") from None
            if prolog is None:
                continue
            if "<!DOCTYPE" in prolog or "<!ENTITY" in prolog:
                if info.filename.lower().endswith(".svg") and _harmless_svg_doctype(prolog):
                    continue
                raise WorkbookUnusable(
                    f"文件“{self.path.name}”的部件“{info.filename}”含有XML文档类型声明或实体"
                    f"（可能用于窃取本机文件或耗尽内存），已拒绝处理")

    def close(self) -> None:
        self.zip.close()

    def has(self, part: str) -> bool:
        return part in self.names or part.lower() in self._folded

    def actual(self, part: str) -> str:
        """The entry name a part is stored under."""
        return part if part in self.names else self._folded.get(part.lower(), part)

    def read(self, part: str) -> bytes:
        part = self.actual(part)
        try:
            info = self.zip.getinfo(part)
        except KeyError:
            raise WorkbookUnusable(f"文件“{self.path.name}”缺少部件“{part}”，不是完整的工作簿") from None
        try:
            with self.zip.open(info) as fh:
                # the central directory may lie about sizes: never read more than it promised
                data = fh.read(info.file_size + 1)
        except _ZIP_ERRORS:
            raise WorkbookUnusable(f"文件“{self.path.name}”已损坏（读取{quote(part, 60)}时出错），请重新获取原文件") from None
        if len(data) > info.file_size:
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
        if not self.has(rels_part):
            return {}
        found = {}
        for rel in self.xml(rels_part):
            target = rel.get("Target", "")
            if rel.get("TargetMode") == "External":
                continue
            found[rel.get("Id")] = (rel.get("Type", ""), resolve(folder, target))
        return found


_PROLOG_SKIP = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->", re.S)


def _read_prolog(fh: BinaryIO, limit: int) -> str | None:
    """The text before an XML part's root element, or None if the part is not XML."""
    data = fh.read(min(limit, 4096))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        codec = "utf-16-le" if data[:2] == b"\xff\xfe" else "utf-16-be"
        data = data[2:]
    else:
        codec = "utf-8"
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
    if not data.lstrip()[:1] == b"<" and not (codec != "utf-8" and data[:2] in (b"<\x00", b"\x00<")):
        return None  # images, the VBA project and other binary parts
    while True:
        text = data.decode(codec, "ignore")
        position = 0
        while True:
            m = _PROLOG_SKIP.match(text, position)
            if not m or m.end() == position:
                break
            position = m.end()
        rest = text[position:]
        if rest.startswith("<!") and not rest.startswith("<!--"):
            return text  # a declaration before the root: the caller decides
        if rest.startswith("<") and len(rest) > 1 and not rest.startswith(("<?", "<!")):
            return text[:position]
        if len(data) >= limit:
            return text  # a prolog this long is not Excel's: let the caller look at all of it
        more = fh.read(min(64 * 1024, limit - len(data)))
        if not more:
            return text
        data += more


def _harmless_svg_doctype(prolog: str) -> bool:
    # old SVG images carry the W3C's public DOCTYPE; it declares nothing and points at no local file
    return "<!ENTITY" not in prolog and "[" not in prolog and "file:" not in prolog.lower() and \
        re.search(r'<!DOCTYPE\s+svg\s+PUBLIC\s+"[^"]*"\s+"https?://', prolog) is not None


def parse_xml(data: bytes, file_name: str, part: str):
    try:
        return SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise WorkbookUnusable(
            f"文件“{file_name}”的部件“{part}”含有XML文档类型声明或实体（可能用于窃取本机文件或耗尽内存），已拒绝处理") from None
    except (SafeET.ParseError, ValueError, UnicodeError):
        raise WorkbookUnusable(f"文件“{file_name}”的部件“{part}”不是有效的XML，文件已损坏；请重新获取原文件") from None


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


# ---- writing ---------------------------------------------------------------------------------

def excel_lock_file(path: Path) -> Path | None:
    """The owner file Excel or WPS ('~$name') or LibreOffice ('.~lock.name#') keeps beside an
    open workbook."""
    candidates = [path.with_name("~$" + path.name), path.with_name(f".~lock.{path.name}#")]
    if len(path.name) > 2:
        candidates.append(path.with_name("~$" + path.name[2:]))  # Word-style trimmed long names
    for lock in candidates:
        try:
            if lock.is_file():
                return lock
        except OSError:
            continue
    return None


def is_read_only(path: Path) -> bool:
    """Read-only the way Windows and Excel mean it: no write bit, whoever we run as (os.access says
    'writable' to an administrator or root, who would then silently replace the file)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)) or not os.access(path, os.W_OK)


def writable_check(path: Path) -> None:
    path = Path(path)
    name = path.name
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise WorkbookUnusable(f"要保存到的文件夹“{folder}”不存在")
    if path.is_dir():
        raise WorkbookUnusable(f"“{path}”是文件夹，不能作为要保存的文件名")
    lock = excel_lock_file(path)
    if lock is not None:
        raise WorkbookUnusable(
            f"文件“{name}”正在被Excel、WPS或LibreOffice打开（同一文件夹中有锁定文件“{lock.name}”），"
            f"请先关闭它，或在Excel中直接点击“校验并评分”；如果确实没有打开，请删除该锁定文件后重试")
    if path.exists() and is_read_only(path):
        raise WorkbookUnusable(f"文件“{name}”是只读的，无法写入评分结果；请取消只读属性，或用 -o 指定另存的文件")
    if not os.access(folder, os.W_OK):
        raise WorkbookUnusable(f"没有写入文件夹“{folder}”的权限，请用 -o 指定另存的位置")


_ERRNO_TEXT = {
    errno.ENOSPC: "磁盘空间不足",
    errno.EACCES: "没有权限，或文件正被其他程序（如Excel、WPS、杀毒软件）占用",
    errno.EPERM: "没有权限，或文件正被其他程序占用",
    errno.EROFS: "所在磁盘或U盘是只读的",
    errno.ENOENT: "文件或文件夹不存在",
    errno.EISDIR: "这是一个文件夹",
    errno.ENAMETOOLONG: "文件路径太长",
    errno.EBUSY: "文件正被其他程序占用",
    errno.EIO: "磁盘读写出错",
}
if hasattr(errno, "EDQUOT"):
    _ERRNO_TEXT[errno.EDQUOT] = "磁盘空间配额已用完"


def describe_os_error(exc: OSError) -> str:
    """An operating-system error in Chinese (the system's own text may be English)."""
    winerror = getattr(exc, "winerror", None)
    if winerror in (32, 33):  # ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION
        return "文件正被其他程序（如Excel、WPS、杀毒软件）占用"
    if winerror in (39, 112):  # ERROR_HANDLE_DISK_FULL, ERROR_DISK_FULL
        return "磁盘空间不足"
    text = _ERRNO_TEXT.get(getattr(exc, "errno", None) or -1)
    if text:
        return text
    code = getattr(exc, "errno", None)
    return f"系统错误{code}" if code else "系统错误"


def clean_stale_temps(folder: Path, now: float | None = None) -> None:
    """Temporary files a killed run left behind.  A temp is never the only copy of anything (the
    original is replaced only by a complete one), so removing an old one loses nothing."""
    now = time.time() if now is None else now
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if not (entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX)):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and now - entry.stat().st_mtime > STALE_TEMP_SECONDS:
                os.unlink(entry.path)
        except OSError:
            continue


def atomic_write(target: Path, fill: Callable[[BinaryIO], None],
                 before_replace: Callable[[], None] | None = None) -> Path:
    """Write `target` through a temporary file beside it, replacing it only after `fill` finished
    and the data is on disk.  A crash at any moment leaves the original complete.  Returns the path
    actually written (a symbolic link's destination, so the link survives)."""
    target = Path(target)
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    writable_check(target)
    folder = target.parent if str(target.parent) else Path(".")
    clean_stale_temps(folder)
    try:
        fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=folder)
    except OSError as exc:
        raise WorkbookUnusable(f"无法保存“{target.name}”（{describe_os_error(exc)}）；原文件未被改动") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fill(fh)
            fh.flush()
            os.fsync(fh.fileno())
        _copy_ownership(target, temp)
        if before_replace is not None:
            before_replace()
        os.replace(temp, target)
        _sync_folder(folder)
    except OSError as exc:
        _remove_quietly(temp)
        raise WorkbookUnusable(f"无法保存“{target.name}”（{describe_os_error(exc)}）；原文件未被改动") from None
    except BaseException:
        _remove_quietly(temp)
        raise
    return target


def atomic_write_bytes(target: Path, data: bytes) -> Path:
    return atomic_write(target, lambda fh: fh.write(data))


def _copy_ownership(target: Path, temp: str) -> None:
    try:
        info = target.stat()
    except OSError:
        os.chmod(temp, 0o644)  # mkstemp's 0600 would hide a new workbook from colleagues
        return
    os.chmod(temp, stat.S_IMODE(info.st_mode))
    if hasattr(os, "chown"):
        try:
            os.chown(temp, info.st_uid, info.st_gid)  # an administrator scoring a colleague's file
        except OSError:
            pass


def _sync_folder(folder: Path) -> None:
    # the rename itself must reach the disk, or a power cut could bring back the old directory entry
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
