"""Opening an .xlsx/.xlsm package safely, and replacing a file without ever losing it.

Everything a department sends is untrusted: only plain files are opened (a FIFO or a device is
refused before it can block), the zip's central directory is walked and a zip bomb refused before
a byte is inflated, zip entries named like paths out of the package are refused, every part is
read to its end for a DTD in whatever encoding it uses, and XML is parsed through defusedxml
within the limits of `limits`.  Files that are not workbooks at all are named for what they are,
so the accountant knows what to do.

Writes go to a temporary file beside the target that replaces it only once it is complete and on
disk, and only if the target is still the file that was read; evalbook processes writing the same
file take turns through a lock file beside it.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import hashlib
import io
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
from typing import BinaryIO, Callable, NamedTuple

from evalbook.core.numbers import quote
from . import filelock
from evalbook.core.errors import WorkbookUnusable
from .limits import (MAX_DIRECTORY_BYTES, MAX_FILE_BYTES, MAX_PARTS, MAX_RATIO, MAX_TOTAL, MAX_XML_DEPTH,
                     MAX_XML_ELEMENTS, MB, RATIO_FLOOR)
from .xmlparse import XmlDeclaresDtd, XmlRefused, XmlTooBig, parse_limited

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
TEMP_PREFIX, TEMP_SUFFIX = ".~evalbook-", ".tmp"
STALE_TEMP_SECONDS = 15 * 60  # a save takes well under a second; older temps were left by a kill

# everything zipfile and its decompressors raise for a damaged archive
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError,
               RuntimeError, zlib.error, lzma.LZMAError, struct.error, IndexError, KeyError, OverflowError)


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


def non_regular_kind(mode: int) -> str | None:
    """What a path that is not a plain file is, in words an accountant knows (None: a plain file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "命名管道（FIFO）"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "设备文件"
    if stat.S_ISSOCK(mode):
        return "套接字"
    return "特殊文件"


def _open_regular(path: Path, name: str) -> BinaryIO:
    """`path` opened for reading, refused at once unless it is a plain file: a FIFO or a device
    would block forever or never end.  O_NONBLOCK makes even a FIFO swapped in at the last moment
    return at once; fstat on what was opened is the final word."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise WorkbookUnusable(f"无法读取文件“{name}”（{describe_os_error(exc)}）") from None
    try:
        kind = non_regular_kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise WorkbookUnusable(f"“{name}”是{kind}，不是工作簿文件，已拒绝读取")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # plain files never block; undo the flag for ordinary reads
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


_EOCD, _EOCD64, _LOCATOR64, _CENTRAL = b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07", b"PK\x01\x02"


def _check_directory(fh: BinaryIO, size: int, name: str) -> None:
    """The zip's central directory, walked before zipfile sees it: zipfile believes the directory's
    byte size rather than its entry count, so an end record announcing 30 entries over a directory
    of millions would take minutes and gigabytes.  Only its headers are read, and at most
    MAX_DIRECTORY_BYTES of it.  A damaged end record is left to zipfile to describe."""
    fh.seek(max(0, size - 66_000))
    tail = fh.read()
    base = max(0, size - 66_000)
    at = len(tail) - 22 if tail[-22:-18] == _EOCD else tail.rfind(_EOCD)
    if at < 0 or at + 22 > len(tail):
        return
    _, _, _, count, cd_size, cd_offset, _ = struct.unpack_from("<HHHHIIH", tail, at + 4)
    end_at = base + at
    if count == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        loc = at - 20
        if loc >= 0 and tail[loc: loc + 4] == _LOCATOR64:
            offset64 = struct.unpack_from("<Q", tail, loc + 8)[0]
            if 0 <= offset64 < size:
                fh.seek(offset64)
                record = fh.read(56)
                if len(record) == 56 and record[:4] == _EOCD64:
                    count, cd_size, cd_offset = struct.unpack_from("<QQQ", record, 32)
                    end_at = offset64
    if count > MAX_PARTS:
        raise WorkbookUnusable(f"文件“{name}”包含的部件过多（{count}个，上限{MAX_PARTS}个），不像正常的工作簿，已拒绝处理")
    if cd_size > MAX_DIRECTORY_BYTES:
        raise WorkbookUnusable(
            f"文件“{name}”的压缩包目录有{cd_size // MB}MB，超过{MAX_DIRECTORY_BYTES // MB}MB的上限"
            f"（不像正常的工作簿，可能是恶意构造的压缩包），已拒绝处理")
    start = end_at - cd_size  # where zipfile will look, whatever the offset field says
    if start < 0:
        return
    fh.seek(start)
    directory = fh.read(cd_size)
    position = entries = 0
    while position + 46 <= len(directory) and directory[position: position + 4] == _CENTRAL:
        entries += 1
        if entries > MAX_PARTS:
            raise WorkbookUnusable(
                f"文件“{name}”包含的部件过多（超过{MAX_PARTS}个的上限；压缩包目录声称只有{count}个），"
                f"可能是恶意构造的压缩包，已拒绝处理")
        n, m, k = struct.unpack_from("<HHH", directory, position + 28)
        position += 46 + n + m + k


def unsafe_entry_name(name: str) -> bool:
    """A zip entry name that could land outside the package when unpacked (absolute, a drive, a
    '..' step, a backslash, a NUL): OPC part names never look like this."""
    if not name or name.startswith("/") or "\\" in name or "\x00" in name or re.match(r"^[A-Za-z]:", name):
        return True
    return any(step in ("..", ".") for step in name.split("/"))


class Fingerprint(NamedTuple):
    """A file as it was read: its identity on disk and a digest of every byte."""
    device: int
    inode: int
    size: int
    mtime_ns: int
    digest: bytes


ABSENT = Fingerprint(0, 0, -1, 0, b"")  # no file there
_HASH_CHUNK = 1024 * 1024


def _digest(fh: BinaryIO) -> bytes:
    h = hashlib.sha256()
    fh.seek(0)
    while True:
        chunk = fh.read(_HASH_CHUNK)
        if not chunk:
            break
        h.update(chunk)
    return h.digest()


def _fingerprint(fh: BinaryIO) -> Fingerprint:
    info = os.fstat(fh.fileno())
    return Fingerprint(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, _digest(fh))


def fingerprint_of(path: Path) -> Fingerprint | None:
    """The file at `path` now: ABSENT if there is none, None if it is not a plain file (or cannot
    be read), so that it never equals the fingerprint of a file that was read."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return ABSENT
    except OSError:
        return None
    if non_regular_kind(info.st_mode) is not None:
        return None
    try:
        with _open_regular(path, Path(path).name) as fh:
            return _fingerprint(fh)
    except (OSError, WorkbookUnusable):
        return None


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
        kind = non_regular_kind(info.st_mode)
        if kind is not None:  # before opening: a FIFO blocks the open itself, a device never ends
            raise WorkbookUnusable(f"“{name}”是{kind}，不是工作簿文件，已拒绝读取")
        self._file = _open_regular(self.path, name)
        try:
            self._open(name)
        except BaseException:
            self._file.close()
            raise

    def _open(self, name: str) -> None:
        fh = self._file
        self.stat = os.fstat(fh.fileno())
        try:
            head = fh.read(1024)
        except OSError as exc:
            raise WorkbookUnusable(f"无法读取文件“{name}”（{describe_os_error(exc)}）") from None
        size = self.stat.st_size
        if size > MAX_FILE_BYTES:
            raise WorkbookUnusable(
                f"文件“{name}”有{size // MB}MB，超过{MAX_FILE_BYTES // MB}MB的上限，不像部门填报的工作簿，已拒绝处理")
        if head[:2] == b"PK":
            try:
                _check_directory(fh, size, name)
            except (OSError, struct.error):
                pass  # zipfile describes a damaged directory better
        try:
            self.fingerprint = _fingerprint(fh)
            fh.seek(0)
        except OSError as exc:
            raise WorkbookUnusable(f"无法读取文件“{name}”（{describe_os_error(exc)}）") from None
        try:
            self.zip = zipfile.ZipFile(fh)
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
            self._guard_declarations()
        except BaseException:
            self.zip.close()
            raise

    def _guard_size(self) -> None:
        infos = self.zip.infolist()
        name = self.path.name
        if len(infos) > MAX_PARTS:
            raise WorkbookUnusable(f"文件“{name}”包含的部件过多（{len(infos)}个，上限{MAX_PARTS}个），不像正常的工作簿，已拒绝处理")
        for info in infos:
            if unsafe_entry_name(info.orig_filename):
                raise WorkbookUnusable(
                    f"文件“{name}”中有名为{quote(info.orig_filename, 60)}的部件（绝对路径、“..”或反斜杠），"
                    f"正常的工作簿不会这样命名，可能是恶意构造的压缩包，已拒绝处理")
        total = sum(i.file_size for i in infos)
        if total > MAX_TOTAL:
            raise WorkbookUnusable(
                f"文件“{name}”解压后将超过{MAX_TOTAL // MB}MB（{total // MB}MB），"
                f"可能是恶意构造的压缩包，已拒绝处理")
        for info in infos:
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise WorkbookUnusable(
                    f"文件“{name}”中的部件“{info.filename}”压缩比超过1:{MAX_RATIO}，可能是恶意构造的压缩包，已拒绝处理")
            if info.flag_bits & 0x1:
                raise WorkbookUnusable(
                    f"文件“{name}”是用压缩软件加了密码的压缩包，不是正常的Excel工作簿；请提交未加密的原文件")

    def _guard_declarations(self) -> None:
        """No part may declare a DTD: OPC forbids it, and entities are how XML reads local files or
        expands a few bytes into gigabytes.  Every part is read to its end, whatever its encoding
        and however long its prolog, and parts we never parse are checked too, so a workbook we
        write back can never carry one onwards."""
        for info in self.zip.infolist():
            if info.is_dir() or info.file_size == 0:
                continue
            try:
                with self.open_part(info.filename) as fh:
                    found = scan_declarations(fh)
            except XmlRefused as exc:
                raise WorkbookUnusable(f"文件“{self.path.name}”的部件{quote(info.filename, 60)}{exc}，已拒绝处理") from None
            if found is None:
                continue
            if info.filename.lower().endswith(".svg") and found != "entity" and _harmless_svg_doctype(found):
                continue
            raise WorkbookUnusable(
                f"文件“{self.path.name}”的部件“{info.filename}”含有XML文档类型声明或实体"
                f"（可能用于窃取本机文件或耗尽内存），已拒绝处理")

    def close(self) -> None:
        try:
            zip_file = getattr(self, "zip", None)
            if zip_file is not None:
                zip_file.close()
        finally:
            self._file.close()

    def has(self, part: str) -> bool:
        return part in self.names or part.lower() in self._folded

    def actual(self, part: str) -> str:
        """The entry name a part is stored under."""
        return part if part in self.names else self._folded.get(part.lower(), part)

    def open_part(self, part: str) -> "_PartStream":
        """A part as a stream that never yields more than the central directory promised (it may
        lie) and turns every zip error into one message naming the part."""
        part = self.actual(part)
        try:
            info = self.zip.getinfo(part)
        except KeyError:
            raise WorkbookUnusable(f"文件“{self.path.name}”缺少部件“{part}”，不是完整的工作簿") from None
        try:
            raw = self.zip.open(info)
        except _ZIP_ERRORS:
            raise WorkbookUnusable(f"文件“{self.path.name}”已损坏（读取{quote(part, 60)}时出错），请重新获取原文件") from None
        return _PartStream(raw, info.file_size, self.path.name, part)

    def read(self, part: str) -> bytes:
        with self.open_part(part) as fh:
            return fh.read()

    def text(self, part: str) -> tuple[str, str]:
        """An XML part as text, and the codec to write it back with: whatever its encoding (BOM or
        not, UTF-16 as some writers produce, or the one its declaration names)."""
        data = self.read(part)
        try:
            return decode_xml(data)
        except (UnicodeError, LookupError, ValueError):
            raise WorkbookUnusable(
                f"文件“{self.path.name}”的部件“{self.actual(part)}”的字符编码无法识别，文件可能已损坏；请重新获取原文件") from None

    def xml(self, part: str):
        """The parsed root element of an XML part (entities and DTDs refused, size and nesting
        limited)."""
        if part not in self._xml_cache:
            with self.open_part(part) as fh:
                self._xml_cache[part] = parse_stream(fh, self.path.name, self.actual(part))
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


class _PartStream:
    """A read-only view of one zip entry, capped at the size the directory gave."""

    def __init__(self, raw, size: int, file_name: str, part: str):
        self._raw, self._left, self._file, self.part = raw, size, file_name, part

    def read(self, n: int = -1) -> bytes:
        want = self._left + 1 if n is None or n < 0 else min(n, self._left + 1)
        try:
            data = self._raw.read(want) if want > 0 else b""
        except _ZIP_ERRORS:
            raise WorkbookUnusable(f"文件“{self._file}”已损坏（读取“{self.part}”时出错），请重新获取原文件") from None
        self._left -= len(data)
        if self._left < 0:
            raise WorkbookUnusable(f"文件“{self._file}”中的部件“{self.part}”大小与目录不符，已拒绝处理")
        return data

    def close(self) -> None:
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---- encodings and declarations ------------------------------------------------------------

_BOMS = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\xef\xbb\xbf", "utf-8-sig"),
         (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"))
_DECLARED = re.compile(rb"""^<\?xml\s[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_WIDE = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
_ASCII = bytes(range(0x09, 0x7F))


def sniff_codec(head: bytes) -> tuple[str, bool]:
    """(codec, has BOM) of an XML part from its first bytes, as the XML specification (appendix F)
    and expat detect it: a BOM, else the pattern of zero bytes around '<' (UTF-16 and UTF-32
    without a BOM), else the encoding its declaration names, else UTF-8.  ValueError for an
    encoding in which ASCII is not plain ASCII (UTF-7, EBCDIC, ISO-2022): no scan for a DOCTYPE
    could be trusted in it, and Excel never writes one."""
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec, True
    if head[:4] in (b"\x00\x00\x00<", b"\x00\x00\x00 "):
        return "utf-32-be", False
    if head[:4] in (b"<\x00\x00\x00", b" \x00\x00\x00"):
        return "utf-32-le", False
    if head[:2] in (b"\x00<", b"\x00 ", b"\x00\r", b"\x00\n", b"\x00\t"):
        return "utf-16-be", False
    if head[:2] in (b"<\x00", b" \x00", b"\r\x00", b"\n\x00", b"\t\x00"):
        return "utf-16-le", False
    if head[:4] == b"\x4c\x6f\xa7\x94":  # '<?xm' in EBCDIC
        raise ValueError("EBCDIC")
    m = _DECLARED.match(head.lstrip())
    if m is None:
        return "utf-8", False
    declared = m.group(1).decode("ascii").lower()
    try:
        codec = codecs.lookup(declared).name
    except LookupError:
        raise ValueError(declared) from None
    if codec.startswith(("utf-16", "utf-32")):  # declared, but not laid out so: expat reads it as 8-bit
        return "utf-8", False
    if "2022" in codec or _ASCII.decode(codec, "replace") != _ASCII.decode("latin-1"):
        raise ValueError(declared)
    return codec, False


def decode_xml(data: bytes) -> tuple[str, str]:
    """XML bytes → (text without BOM, codec that writes it back the same way)."""
    codec, bom = sniff_codec(data[:1024])
    if codec == "utf-8-sig":
        return data.decode("utf-8-sig"), "utf-8-sig"
    if bom:  # 'utf-16'/'utf-32' write the BOM back (in this machine's byte order, which is legal)
        family = codec[:6]
        return data.decode(family), family
    return data.decode(codec), codec


def encode_xml(text: str, codec: str) -> bytes:
    """Text back to bytes in the part's own codec; a character that codec cannot hold becomes a
    character reference, which every XML reader turns back into the character."""
    return text.encode(codec, "xmlcharrefreplace")


_NEEDLES = ("<!DOCTYPE", "<!ENTITY")
_BINARY_MAGIC = (OLE_MAGIC, b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"PK\x03\x04", b"II*\x00", b"MM\x00*",
                 b"\x01\x00\x00\x00", b"\xd7\xcd\xc6\x9a", b"%PDF")
_SCAN_CHUNK = 1024 * 1024


def scan_declarations(fh) -> str | None:
    """Reads a part to its end and returns the text near the first DOCTYPE ("entity" if an
    ENTITY is declared anywhere), or None.  Images and other binary parts are recognised by their
    signature and skipped.  The search is made in the part's own encoding and, whenever zero bytes
    appear, in every UTF-16/UTF-32 layout too, so no choice of encoding hides a declaration; there
    is no window: a DOCTYPE after megabytes of whitespace or comment is found."""
    head = fh.read(_SCAN_CHUNK)
    if not head or head.startswith(_BINARY_MAGIC):
        return None
    try:
        codec, _ = sniff_codec(head[:1024])
    except ValueError:
        raise XmlRefused("使用了evalbook不支持的字符编码（Excel只使用UTF-8或UTF-16）") from None
    layouts = ("utf-8",) if codec not in _WIDE and b"\x00" not in head[:1024] else ("utf-8", *_WIDE)
    needles = [(n.encode(c), n, c) for c in layouts for n in _NEEDLES]
    keep = max(len(b) for b, _, _ in needles) - 1
    found_doctype = None
    chunk, previous = head, b""
    while chunk:
        window = previous + chunk
        for needle, kind, layout in needles:
            at = window.find(needle)
            if at < 0:
                continue
            if kind == "<!ENTITY":
                return "entity"
            if found_doctype is None:
                found_doctype = window[at: at + 4096].decode(layout, "ignore")
        previous = window[-keep:]
        chunk = fh.read(_SCAN_CHUNK)
    return found_doctype


def _harmless_svg_doctype(prolog: str) -> bool:
    # old SVG images carry the W3C's public DOCTYPE; it declares nothing and points at no local file
    return "<!ENTITY" not in prolog and "[" not in prolog and "file:" not in prolog.lower() and \
        re.search(r'<!DOCTYPE\s+svg\s+PUBLIC\s+"[^"]*"\s+"https?://', prolog) is not None


def _xml_refused(exc: XmlRefused, file_name: str, part: str) -> WorkbookUnusable:
    if isinstance(exc, XmlDeclaresDtd):
        return WorkbookUnusable(f"文件“{file_name}”的部件“{part}”{exc}，已拒绝处理")
    if isinstance(exc, XmlTooBig):
        return WorkbookUnusable(f"文件“{file_name}”的部件“{part}”{exc}，不像正常的工作簿，已拒绝处理")
    return WorkbookUnusable(f"文件“{file_name}”的部件“{part}”不是有效的XML，文件已损坏；请重新获取原文件")


def parse_stream(fh, file_name: str, part: str):
    try:
        return parse_limited(fh, MAX_XML_DEPTH, MAX_XML_ELEMENTS)
    except XmlRefused as exc:
        raise _xml_refused(exc, file_name, part) from None


def parse_xml(data: bytes, file_name: str, part: str):
    return parse_stream(io.BytesIO(data), file_name, part)


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

MAX_NAME_BYTES = 255  # a file name, on every file system a county office uses (NTFS, ext4, FAT)


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


def check_target_name(path: Path) -> Path:
    """A name the file system will take, refused before any work is done (not as an OSError half
    way through a save)."""
    path = Path(path)
    size = len(os.fsencode(path.name))
    if size > MAX_NAME_BYTES:
        raise WorkbookUnusable(
            f"要保存的文件名{quote(path.name, 40)}太长（{size}字节，超过文件系统{MAX_NAME_BYTES}字节的上限），"
            f"请换一个短一些的文件名")
    return path


def writable_check(path: Path) -> None:
    path = check_target_name(Path(path))
    name = path.name
    folder = path.parent if str(path.parent) else Path(".")
    try:
        if not folder.is_dir():
            raise WorkbookUnusable(f"要保存到的文件夹“{folder}”不存在")
        if path.is_dir():
            raise WorkbookUnusable(f"“{path}”是文件夹，不能作为要保存的文件名")
        try:
            info = os.stat(path)
        except FileNotFoundError:
            info = None
        kind = non_regular_kind(info.st_mode) if info is not None else None
        if kind is not None:
            raise WorkbookUnusable(f"“{path}”是{kind}，不能作为要保存的文件；请用 -o 指定一个普通文件名")
        lock = excel_lock_file(path)
        if lock is not None:
            raise WorkbookUnusable(
                f"文件“{name}”正在被Excel、WPS或LibreOffice打开（同一文件夹中有锁定文件“{lock.name}”），"
                f"请先关闭它，或在Excel中直接点击“校验并评分”；如果确实没有打开，请删除该锁定文件后重试")
        if info is not None and is_read_only(path):
            raise WorkbookUnusable(f"文件“{name}”是只读的，无法写入评分结果；请取消只读属性，或用 -o 指定另存的文件")
        if not os.access(folder, os.W_OK):
            raise WorkbookUnusable(f"没有写入文件夹“{folder}”的权限，请用 -o 指定另存的位置")
    except OSError as exc:
        raise WorkbookUnusable(f"无法保存“{name}”（{describe_os_error(exc)}）") from None


_ERRNO_TEXT = {
    errno.ENOSPC: "磁盘空间不足",
    errno.EACCES: "没有权限，或文件正被其他程序（如Excel、WPS、杀毒软件）占用",
    errno.EPERM: "没有权限，或文件正被其他程序占用",
    errno.EROFS: "所在磁盘或U盘是只读的",
    errno.ENOENT: "文件或文件夹不存在",
    errno.EISDIR: "这是一个文件夹",
    errno.ENAMETOOLONG: "文件名或路径太长",
    errno.EBUSY: "文件正被其他程序占用",
    errno.EIO: "磁盘读写出错",
    errno.ELOOP: "符号链接循环或指向自身",
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
    if winerror in (206,):  # ERROR_FILENAME_EXCED_RANGE
        return "文件名或路径太长"
    text = _ERRNO_TEXT.get(getattr(exc, "errno", None) or -1)
    if text:
        return text
    code = getattr(exc, "errno", None)
    return f"系统错误{code}" if code else "系统错误"


# ---- one writer at a time -----------------------------------------------------------------------

LOCK_SUFFIX = ".lock" + TEMP_SUFFIX  # a temporary's name, so that it is never mistaken for a workbook
WRITE_LOCK_WAIT = 120.0  # seconds to wait for another evalbook to finish writing the same file
_held: dict[str, list] = {}  # lock file → [HeldLock, depth]: nested writes of one file in one process


def lock_file_for(target: Path) -> Path:
    """`.~evalbook-<name>.lock.tmp` beside the workbook (a digest of the name when that would be
    too long a file name)."""
    target = Path(target)
    name = f"{TEMP_PREFIX}{target.name}{LOCK_SUFFIX}"
    if len(os.fsencode(name)) > MAX_NAME_BYTES:
        digest = hashlib.sha256(os.fsencode(target.name)).hexdigest()[:24]
        name = f"{TEMP_PREFIX}{digest}{LOCK_SUFFIX}"
    return target.with_name(name)


def _lock_key(target: Path) -> Path:
    return lock_file_for(Path(os.path.realpath(target)))


@contextlib.contextmanager
def write_lock(target: Path, required: bool = True):
    """Held while evalbook reads, changes and replaces `target`: a second evalbook writing the same
    file waits for the first (then reads what it saved), so both changes survive.  An OS lock, so
    a killed run frees it at once.  With required=False a lock file that cannot be created at all
    (missing folder, no permission) is not an error here: the save itself will say what is wrong."""
    lock_path = _lock_key(target)
    key = os.path.normcase(str(lock_path))
    if key in _held:
        _held[key][1] += 1
        try:
            yield
        finally:
            _held[key][1] -= 1
        return
    held = None
    try:
        held = filelock.acquire(lock_path, WRITE_LOCK_WAIT)
    except filelock.LockBusy:
        raise WorkbookUnusable(
            f"文件“{Path(target).name}”正由另一个evalbook进程写入，等待{WRITE_LOCK_WAIT:.0f}秒后仍未完成，"
            f"本次没有写入；请稍后重试") from None
    except OSError as exc:
        if required:
            raise WorkbookUnusable(
                f"无法保存“{Path(target).name}”（{describe_os_error(exc)}）；原文件未被改动") from None
    if held is None:
        yield
        return
    _held[key] = [held, 1]
    try:
        yield
    finally:
        del _held[key]
        held.release()


def clean_stale_temps(folder: Path, now: float | None = None) -> None:
    """Temporary files a killed run left behind.  A temp is never the only copy of anything (the
    original is replaced only by a complete one), so removing an old one loses nothing.  A lock
    file goes only when no process holds it."""
    now = time.time() if now is None else now
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if not (entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX)):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if entry.name.endswith(LOCK_SUFFIX):
                if os.path.normcase(entry.path) not in _held and now - entry.stat().st_mtime > STALE_TEMP_SECONDS:
                    filelock.remove_if_unowned(Path(entry.path))
            elif now - entry.stat().st_mtime > STALE_TEMP_SECONDS:
                os.unlink(entry.path)
        except OSError:
            continue


# ---- replacing a file -------------------------------------------------------------------------

_written: list[Path] = []  # every file this process replaced, in order (for honest messages)


def written_files() -> list[Path]:
    """The files this process has written so far."""
    return list(_written)


class TargetChanged(WorkbookUnusable):
    """Another program saved the target while evalbook was working: nothing was written."""


def changed_message(name: str) -> str:
    return (f"文件“{name}”在evalbook处理期间被其他程序修改或替换了（例如在Excel或WPS中保存了它），"
            f"为免覆盖这些修改，本次没有写入，evalbook的结果已丢弃；请重新运行")


def atomic_write(target: Path, fill: Callable[[BinaryIO], None],
                 before_replace: Callable[[], None] | None = None,
                 expect: Fingerprint | None = None) -> Path:
    """Write `target` through a temporary file beside it, replacing it only after `fill` finished
    and the data is on disk.  A crash at any moment leaves the original complete.

    Nothing anyone else saved is ever replaced: `expect` is the file as it was read (by default,
    as it is when this call starts), and immediately before the replace — after the temporary is
    written and synced — the target must still be that file, same identity and same bytes;
    otherwise the temporary is removed and TargetChanged raised.  Two evalbook processes take
    turns (see write_lock).  Returns the path actually written (a symbolic link's destination, so
    the link survives)."""
    target = Path(target)
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    writable_check(target)
    folder = target.parent if str(target.parent) else Path(".")
    with write_lock(target):
        if expect is None:
            expect = fingerprint_of(target)
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
            if fingerprint_of(target) != expect:
                raise TargetChanged(changed_message(target.name))
            if before_replace is not None:
                before_replace()
            os.replace(temp, target)
        except OSError as exc:
            _remove_quietly(temp)
            raise WorkbookUnusable(f"无法保存“{target.name}”（{describe_os_error(exc)}）；原文件未被改动") from None
        except BaseException:
            _remove_quietly(temp)
            raise
        _written.append(target)
        _sync_folder(folder)
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
