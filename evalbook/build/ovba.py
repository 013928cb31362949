"""Source-only VBA project writer ([MS-OVBA]) producing ``xl/vbaProject.bin``.

The project carries no performance cache: ``_VBA_PROJECT`` is the 7-byte
version-independent header with Version 0xFFFF ([MS-OVBA] 1.6, 2.3.4.1), so
Excel ignores any compiled state and compiles the modules from their source
when the workbook is opened.

Where the specification leaves a value open, the choice follows what
NetOfficeFw/vbamc (MIT, used to ship Office add-ins) writes; those places are
marked "vbamc" below.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass
from typing import Literal

from evalbook.build.cfb import write_cfb

__all__ = [
    "VbaModule",
    "build_vba_project",
    "compress",
    "decompress",
    "encrypt_data",
    "module_source",
    "module_source_without_attributes",
    "project_streams",
]

# ---------------------------------------------------------------------------
# [MS-OVBA] 2.4.1 compression
# ---------------------------------------------------------------------------

CHUNK_SIZE = 4096
_SIGNATURE_BYTE = 0x01
_CHUNK_SIGNATURE = 0b011


def _copy_token_help(difference: int) -> tuple[int, int, int, int]:
    """[MS-OVBA] 2.4.1.3.19.1: masks for a copy token at ``difference``.

    ``difference`` is the decompressed position inside the current chunk; the
    further into the chunk, the more bits the offset needs.
    Returns (length_mask, offset_mask, bit_count, maximum_length).
    """
    bit_count = max((difference - 1).bit_length(), 4)
    length_mask = 0xFFFF >> bit_count
    offset_mask = ~length_mask & 0xFFFF
    maximum_length = (0xFFFF >> bit_count) + 3
    return length_mask, offset_mask, bit_count, maximum_length


def compress(data: bytes) -> bytes:
    """Compress ``data`` into a CompressedContainer ([MS-OVBA] 2.4.1.3.6).

    Follows the specification's algorithm step by step, including its match
    selection (longest match, nearest candidate on ties) and its fallback to
    an uncompressed chunk: when the compressed form of a chunk would not fit
    in 4098 bytes the chunk is stored raw and padded to 4096 bytes, exactly as
    2.4.1.3.10 prescribes, so a short final raw chunk decompresses with
    trailing zero bytes (the same as any reader following 2.4.1.3.3 sees).
    """
    data = bytes(data)
    out = bytearray([_SIGNATURE_BYTE])
    position = 0
    while position < len(data):
        chunk_end = min(position + CHUNK_SIZE, len(data))
        out += _compress_chunk(data, position, chunk_end)
        position = chunk_end
    return bytes(out)


def _compress_chunk(data: bytes, chunk_start: int, chunk_end: int) -> bytes:
    """[MS-OVBA] 2.4.1.3.7: one CompressedChunk (header included)."""
    body = bytearray()
    body_limit = CHUNK_SIZE  # CompressedEnd = CompressedChunkStart + 4098, minus the header
    current = chunk_start
    while current < chunk_end and len(body) < body_limit:
        # 2.4.1.3.8: a flag byte followed by up to eight tokens.
        flag_index = len(body)
        body.append(0)
        flags = 0
        for index in range(8):
            if current >= chunk_end or len(body) >= body_limit:
                break
            # 2.4.1.3.9: a copy token when a match of three or more exists.
            offset, length = _match(data, chunk_start, current, chunk_end)
            if offset:
                if len(body) + 1 < body_limit:
                    _, _, bit_count, _ = _copy_token_help(current - chunk_start)
                    token = ((offset - 1) << (16 - bit_count)) | (length - 3)
                    body += struct.pack("<H", token)
                    flags |= 1 << index
                    current += length
                else:
                    body_limit = len(body)  # "SET CompressedCurrent TO CompressedEnd"
            else:
                body.append(data[current])
                current += 1
        body[flag_index] = flags
    if current < chunk_end:
        # 2.4.1.3.10: the chunk did not compress; store it raw, padded to 4096.
        raw = data[chunk_start:chunk_end].ljust(CHUNK_SIZE, b"\0")
        return struct.pack("<H", _chunk_header(len(raw) + 2, compressed=False)) + raw
    return struct.pack("<H", _chunk_header(len(body) + 2, compressed=True)) + bytes(body)


def _chunk_header(size: int, *, compressed: bool) -> int:
    """[MS-OVBA] 2.4.1.3.13-15: size-3 in 12 bits, signature 0b011, flag bit."""
    return (size - 3) | (_CHUNK_SIGNATURE << 12) | (int(compressed) << 15)


def _match(data: bytes, chunk_start: int, current: int, chunk_end: int) -> tuple[int, int]:
    """[MS-OVBA] 2.4.1.3.19.4 Matching, returning (offset, length).

    The specification scans every earlier position of the chunk, keeps the
    longest match (unbounded by the token's maximum length) and prefers the
    nearest candidate on ties. A match shorter than three bytes is never
    used, so only positions starting with the same three bytes can win; those
    are found with ``rfind`` from nearest to farthest, which visits the same
    winners in the same order as the specification's loop.
    """
    if chunk_end - current < 3:
        return 0, 0
    prefix = data[current : current + 3]
    best_length = 0
    best_candidate = -1
    longest_possible = chunk_end - current
    # An occurrence at p counts when p < current, i.e. it ends before current + 2.
    candidate = data.rfind(prefix, chunk_start, current + 2)
    while candidate >= 0:
        probe = best_length + 1
        if data[candidate : candidate + probe] == data[current : current + probe]:
            best_length = _common_length(data, candidate, current, longest_possible, probe)
            best_candidate = candidate
            if best_length == longest_possible:
                break  # nothing farther can be strictly longer
        candidate = data.rfind(prefix, chunk_start, candidate + 2)
    if best_length < 3:
        return 0, 0
    _, _, _, maximum_length = _copy_token_help(current - chunk_start)
    return current - best_candidate, min(best_length, maximum_length)


def _common_length(data: bytes, candidate: int, current: int, limit: int, known: int) -> int:
    """Length of the common run at ``candidate`` and ``current`` (at most ``limit``).

    The first ``known`` bytes are already known to agree. Overlapping runs
    are fine: the candidate reads the original input, as in the spec.
    """
    low, high = known, limit
    step = 1
    # Gallop then bisect: slice comparisons run at C speed.
    while low < high:
        probe = min(low + step, high)
        if data[candidate + low : candidate + probe] == data[current + low : current + probe]:
            low = probe
            step *= 2
        elif step == 1:
            break
        else:
            step = 1
    return low


def decompress(data: bytes) -> bytes:
    """Decompress a CompressedContainer ([MS-OVBA] 2.4.1.3.1)."""
    data = bytes(data)
    if not data or data[0] != _SIGNATURE_BYTE:
        raise ValueError("not an MS-OVBA compressed container (signature byte 0x01 missing)")
    out = bytearray()
    position = 1
    while position < len(data):
        if position + 2 > len(data):
            raise ValueError("truncated chunk header")
        (header,) = struct.unpack_from("<H", data, position)
        size = (header & 0x0FFF) + 3
        if (header >> 12) & 0b111 != _CHUNK_SIGNATURE:
            raise ValueError(f"bad chunk signature at byte {position}")
        chunk_end = min(position + size, len(data))
        position += 2
        if not header & 0x8000:
            # 2.4.1.3.3: a raw chunk always holds 4096 bytes.
            out += data[position : position + CHUNK_SIZE]
            position += CHUNK_SIZE
            continue
        chunk_start = len(out)
        while position < chunk_end:
            flags = data[position]
            position += 1
            for index in range(8):
                if position >= chunk_end:
                    break
                if not flags & (1 << index):
                    out.append(data[position])
                    position += 1
                    continue
                if position + 2 > chunk_end:
                    raise ValueError("truncated copy token")
                (token,) = struct.unpack_from("<H", data, position)
                position += 2
                length_mask, offset_mask, bit_count, _ = _copy_token_help(len(out) - chunk_start)
                length = (token & length_mask) + 3
                offset = ((token & offset_mask) >> (16 - bit_count)) + 1
                source = len(out) - offset
                if source < chunk_start:
                    raise ValueError("copy token points before the chunk start")
                for i in range(length):  # byte by byte: source and target may overlap
                    out.append(out[source + i])
    return bytes(out)


# ---------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------

ModuleKind = Literal["standard", "class", "document"]

WORKBOOK_BASE = "0{00020819-0000-0000-C000-000000000046}"
WORKSHEET_BASE = "0{00020820-0000-0000-C000-000000000046}"
CLASS_BASE = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"


@dataclass(frozen=True)
class VbaModule:
    """One VBA module.

    ``source`` is the module body only (``Option Explicit``, procedures...);
    the writer prepends the ``Attribute`` header for ``kind``. ``is_workbook``
    picks the document base class of a document module; ``None`` means the
    module is the workbook's when it is named ``ThisWorkbook``.
    """

    name: str
    source: str
    kind: ModuleKind = "standard"
    is_workbook: bool | None = None


_HEADER_LINE = re.compile(r"^(Attribute\s|VERSION\s)", re.IGNORECASE)


def module_source_without_attributes(text: str) -> str:
    """Strip the leading module header and normalise line endings to ``\\n``.

    Removes leading ``Attribute ...`` lines, a ``VERSION ...`` line and a
    ``BEGIN ... END`` block (the header of exported ``.cls`` files), i.e. what
    :func:`module_source` prepends or what a reader shows before the code.
    Attributes inside procedures are kept.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    index = 0
    in_begin_block = False
    while index < len(lines):
        stripped = lines[index].strip()
        if in_begin_block:
            in_begin_block = stripped.upper() != "END"
        elif stripped.upper() == "BEGIN":
            in_begin_block = True
        elif not _HEADER_LINE.match(stripped):
            break
        index += 1
    return "\n".join(lines[index:])


_EXPOSED_TRUE = re.compile(r"^Attribute\s+VB_Exposed\s*=\s*True\s*$", re.IGNORECASE)


def _declared_exposed(source: str) -> bool:
    """Whether the module's own leading header (an exported .cls) declares VB_Exposed = True."""
    body = module_source_without_attributes(source).split("\n")
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    header = lines[: len(lines) - len(body)] if body != [""] else lines
    return any(_EXPOSED_TRUE.match(line.strip()) for line in header)


def _attribute_header(module: VbaModule) -> list[str]:
    lines = [f'Attribute VB_Name = "{module.name}"']
    if module.kind == "standard":
        return lines
    if module.kind == "class":
        # The attribute block Excel stores for a private class (vbamc's class template), except
        # that a class whose own header says VB_Exposed = True (xlwings' Dictionary, as xlwings
        # ships it) stays exposed: other projects referencing this one may use it.
        exposed = "True" if _declared_exposed(module.source) else "False"
        return lines + [
            f'Attribute VB_Base = "{CLASS_BASE}"',
            "Attribute VB_GlobalNameSpace = False",
            "Attribute VB_Creatable = False",
            "Attribute VB_PredeclaredId = False",
            f"Attribute VB_Exposed = {exposed}",
            "Attribute VB_TemplateDerived = False",
            "Attribute VB_Customizable = False",
        ]
    is_workbook = module.name == "ThisWorkbook" if module.is_workbook is None else module.is_workbook
    return lines + [
        f'Attribute VB_Base = "{WORKBOOK_BASE if is_workbook else WORKSHEET_BASE}"',
        "Attribute VB_GlobalNameSpace = False",
        "Attribute VB_Creatable = False",
        "Attribute VB_PredeclaredId = True",
        "Attribute VB_Exposed = True",
        "Attribute VB_TemplateDerived = False",
        "Attribute VB_Customizable = True",
    ]


def module_source(module: VbaModule) -> str:
    """The text stored in the module stream: attribute header + body, CRLF.

    A header already present at the top of ``module.source`` (e.g. from an
    exported ``.bas``/``.cls`` file) is replaced rather than duplicated.
    """
    body = module_source_without_attributes(module.source)
    if body and not body.endswith("\n"):
        body += "\n"
    text = "\n".join(_attribute_header(module)) + "\n" + body
    return text.replace("\n", "\r\n")


# ---------------------------------------------------------------------------
# Project streams
# ---------------------------------------------------------------------------

ZERO_PROJECT_ID = "{00000000-0000-0000-0000-000000000000}"
LCID_EN_US = 0x0409
SYSKIND_WIN32 = 0x00000001  # vbamc writes Win32; 32- and 64-bit Excel both recompile from source
COMPAT_VERSION = 2  # vbamc writes PROJECTCOMPATVERSION with this value
PROJECT_VERSION = (0x645BE109, 11)  # vbamc's VersionMajor/VersionMinor ("Office 365")
VERSION_COMPATIBLE32 = "393222000"  # the only value the ABNF of [MS-OVBA] 2.3.1.14 allows
UNPROTECTED_STATE = struct.pack("<I", 0)
NO_PASSWORD = b"\x00"
VISIBLE_STATE = b"\xff"
HOST_EXTENDER_VBE = "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000"
# The references vbamc writes (libid strings verbatim): OLE Automation and Office.
REFERENCES = (
    (
        "stdole",
        r"*\G{00020430-0000-0000-C000-000000000046}#2.0#0#C:\Windows\SysWOW64\stdole2.tlb"
        r"#OLE Automation",
    ),
    (
        "Office",
        r"*\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#C:\Program Files (x86)\Common Files"
        r"\Microsoft Shared\OFFICE16\MSO.DLL#Microsoft Office 16.0 Object Library",
    ),
)
# Stream names the VBA storage already uses; a module may not shadow them.
_RESERVED_STREAMS = {"DIR", "_VBA_PROJECT"}
_IDENTIFIER = re.compile(r"^[^\W\d]\w*$")


def build_vba_project(
    modules: list[VbaModule],
    project_name: str = "VBAProject",
    codepage: int = 936,
    project_id: str = ZERO_PROJECT_ID,
) -> bytes:
    """Return the bytes of a source-only ``vbaProject.bin``.

    ``modules`` keep their order in every stream. Each module's ``source`` is
    the body only: the writer prepends the ``Attribute`` block Excel expects
    for its kind (see :func:`module_source`), converts line endings to CRLF
    and encodes it in ``codepage`` (an error is raised for characters the
    code page cannot represent). ``project_id`` defaults to the all-zero GUID
    that Excel itself writes for many projects, which keeps output
    reproducible.
    """
    return write_cfb(project_streams(modules, project_name, codepage, project_id))


def project_streams(
    modules: list[VbaModule],
    project_name: str = "VBAProject",
    codepage: int = 936,
    project_id: str = ZERO_PROJECT_ID,
) -> dict[str, bytes]:
    """The compound-file streams of the project, keyed by path."""
    encoding = f"cp{codepage}"
    _validate(modules, project_name, project_id, encoding)
    streams = {
        "PROJECT": _project_stream(modules, project_name, project_id, encoding),
        "PROJECTwm": _projectwm_stream(modules, encoding),
        # Reserved3 is "undefined, MUST be ignored"; 0x0001 as in the spec's example, vbamc's
        # output and xlwings' own quickstart_standalone.xlsm (a source-only project that
        # Excel opens for every xlwings user), the closest thing to proof available here.
        "VBA/_VBA_PROJECT": struct.pack("<HHBH", 0x61CC, 0xFFFF, 0x00, 0x0001),
        "VBA/dir": compress(_dir_stream(modules, project_name, codepage, encoding)),
    }
    for module in modules:
        streams[f"VBA/{module.name}"] = compress(module_source(module).encode(encoding))
    return streams


def _validate(modules: list[VbaModule], project_name: str, project_id: str, encoding: str) -> None:
    if not re.fullmatch(r"\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}", project_id):
        raise ValueError("project_id must be an uppercase GUID in braces")
    if not 1 <= len(project_name.encode(encoding)) <= 128 or not _IDENTIFIER.match(project_name):
        raise ValueError(f"invalid project name {project_name!r}")
    seen: set[str] = set()
    for module in modules:
        if module.kind not in ("standard", "class", "document"):
            raise ValueError(f"{module.name!r}: unknown module kind {module.kind!r}")
        if not _IDENTIFIER.match(module.name) or len(module.name) > 31:
            raise ValueError(f"{module.name!r}: module names must be identifiers of at most 31 characters")
        key = module.name.upper()
        if key in seen or key in _RESERVED_STREAMS:
            raise ValueError(f"{module.name!r}: duplicate or reserved module name")
        seen.add(key)


def _project_stream(modules: list[VbaModule], project_name: str, project_id: str, encoding: str) -> bytes:
    """PROJECT stream text ([MS-OVBA] 2.3.1), lines ended by CRLF."""
    lines = [f'ID="{project_id}"']
    for module in modules:
        if module.kind == "document":
            lines.append(f"Document={module.name}/&H00000000")
        elif module.kind == "class":
            lines.append(f"Class={module.name}")
        else:
            lines.append(f"Module={module.name}")
    lines += [
        f'Name="{project_name}"',
        'HelpContextID="0"',
        f'VersionCompatible32="{VERSION_COMPATIBLE32}"',
        # Unprotected (4 zero bytes), no password (one 0x00), visible (0xFF):
        # [MS-OVBA] 2.3.1.15-17, the values vbamc and EPPlus encrypt.
        f'CMG="{_encrypt_hex(project_id, UNPROTECTED_STATE, "CMG")}"',
        f'DPB="{_encrypt_hex(project_id, NO_PASSWORD, "DPB")}"',
        f'GC="{_encrypt_hex(project_id, VISIBLE_STATE, "GC")}"',
        "",
        "[Host Extender Info]",
        HOST_EXTENDER_VBE,
        "",
        "[Workspace]",
    ]
    # Closed code windows at the origin, as Excel records modules never opened.
    lines += [f"{module.name}=0, 0, 0, 0, C" for module in modules]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def project_key(project_id: str) -> int:
    """[MS-OVBA] 2.4.3.2: the sum of the ProjectId bytes, modulo 256."""
    return sum(project_id.encode("ascii")) & 0xFF


def encrypt_data(seed: int, ignored: bytes, project_id: str, data: bytes) -> bytes:
    """[MS-OVBA] 2.4.3.2 Data Encryption with an explicit seed.

    ``ignored`` must hold ``(seed & 6) // 2`` bytes; the spec lets them be
    anything, so callers choose them deterministically.
    """
    if len(ignored) != (seed & 6) // 2:
        raise ValueError("ignored must be (seed & 6) // 2 bytes long")
    key = project_key(project_id)
    version_enc = seed ^ 2
    key_enc = seed ^ key
    out = bytearray([seed, version_enc, key_enc])
    unencrypted, encrypted1, encrypted2 = key, key_enc, version_enc
    for byte in ignored + struct.pack("<I", len(data)) + data:
        byte_enc = byte ^ ((encrypted2 + unencrypted) & 0xFF)
        out.append(byte_enc)
        encrypted2, encrypted1, unencrypted = encrypted1, byte_enc, byte
    return bytes(out)


def _encrypt_hex(project_id: str, data: bytes, label: str) -> str:
    # The seed is meant to be random; deriving it from the project id and the
    # field keeps builds reproducible while still varying between fields.
    digest = hashlib.sha256(f"{project_id}/{label}".encode("ascii")).digest()
    seed = digest[0] or 1
    ignored = bytes(b or 1 for b in digest[1 : 1 + (seed & 6) // 2])
    return encrypt_data(seed, ignored, project_id, data).hex().upper()


def _projectwm_stream(modules: list[VbaModule], encoding: str) -> bytes:
    """PROJECTwm ([MS-OVBA] 2.3.3): MBCS name + NUL, UTF-16 name + NUL, final 0x0000."""
    out = bytearray()
    for module in modules:
        out += module.name.encode(encoding) + b"\0"
        out += module.name.encode("utf-16-le") + b"\0\0"
    out += b"\0\0"
    return bytes(out)


def _record(record_id: int, payload: bytes) -> bytes:
    return struct.pack("<HI", record_id, len(payload)) + payload


def _text_pair(record_id: int, unicode_id: int, text: str, encoding: str) -> bytes:
    """A record holding MBCS text followed by its UTF-16 twin (Reserved = unicode id)."""
    return _record(record_id, text.encode(encoding)) + _record(unicode_id, text.encode("utf-16-le"))


def _u16(value: int) -> bytes:
    return struct.pack("<H", value)


def _u32(value: int) -> bytes:
    return struct.pack("<I", value)


def _dir_stream(modules: list[VbaModule], project_name: str, codepage: int, encoding: str) -> bytes:
    """Decompressed dir stream ([MS-OVBA] 2.3.4.2), records in specification order."""
    out = bytearray()
    # PROJECTINFORMATION (2.3.4.2.1)
    out += _record(0x0001, _u32(SYSKIND_WIN32))  # PROJECTSYSKIND
    out += _record(0x004A, _u32(COMPAT_VERSION))  # PROJECTCOMPATVERSION (vbamc)
    out += _record(0x0002, _u32(LCID_EN_US))  # PROJECTLCID: MUST be 0x0409
    out += _record(0x0014, _u32(LCID_EN_US))  # PROJECTLCIDINVOKE: MUST be 0x0409
    out += _record(0x0003, _u16(codepage))  # PROJECTCODEPAGE
    out += _record(0x0004, project_name.encode(encoding))  # PROJECTNAME
    out += _text_pair(0x0005, 0x0040, "", encoding)  # PROJECTDOCSTRING
    # PROJECTHELPFILEPATH: unlike the other pairs, HelpFile2 is MBCS too and MUST equal HelpFile1.
    out += _record(0x0006, b"") + _record(0x003D, b"")
    out += _record(0x0007, _u32(0))  # PROJECTHELPCONTEXT
    out += _record(0x0008, _u32(0))  # PROJECTLIBFLAGS: MUST be 0
    major, minor = PROJECT_VERSION
    out += _u16(0x0009) + _u32(4) + _u32(major) + _u16(minor)  # PROJECTVERSION: Reserved is 4, not the size
    out += _text_pair(0x000C, 0x003C, "", encoding)  # PROJECTCONSTANTS
    # PROJECTREFERENCES (2.3.4.2.2): REFERENCENAME + REFERENCEREGISTERED each
    for name, libid in REFERENCES:
        out += _record(0x0016, name.encode(encoding)) + _record(0x003E, name.encode("utf-16-le"))
        libid_bytes = libid.encode(encoding)
        out += _record(0x000D, _u32(len(libid_bytes)) + libid_bytes + _u32(0) + _u16(0))
    # PROJECTMODULES (2.3.4.2.3)
    out += _record(0x000F, _u16(len(modules)))
    out += _record(0x0013, _u16(0xFFFF))  # PROJECTCOOKIE (vbamc, EPPlus)
    for module in modules:
        out += _module_record(module, encoding)
    out += _u16(0x0010) + _u32(0)  # dir terminator + Reserved
    return bytes(out)


def _module_record(module: VbaModule, encoding: str) -> bytes:
    """MODULE record ([MS-OVBA] 2.3.4.2.3.2)."""
    out = bytearray()
    out += _record(0x0019, module.name.encode(encoding))  # MODULENAME
    out += _record(0x0047, module.name.encode("utf-16-le"))  # MODULENAMEUNICODE
    out += _text_pair(0x001A, 0x0032, module.name, encoding)  # MODULESTREAMNAME
    out += _text_pair(0x001C, 0x0048, "", encoding)  # MODULEDOCSTRING
    out += _record(0x0031, _u32(0))  # MODULEOFFSET: source starts at 0, no p-code
    out += _record(0x001E, _u32(0))  # MODULEHELPCONTEXT
    out += _record(0x002C, _u16(0xFFFF))  # MODULECOOKIE (vbamc, EPPlus)
    # MODULETYPE: 0x0021 procedural, 0x0022 document/class; Reserved 0 in the size slot.
    out += _u16(0x0021 if module.kind == "standard" else 0x0022) + _u32(0)
    # No MODULEPRIVATE (0x0028) for classes: Excel itself writes none for xlwings' Dictionary
    # class (VB_Exposed = False) in quickstart_standalone.xlsm, although vbamc does.
    out += _u16(0x002B) + _u32(0)  # module terminator + Reserved
    return bytes(out)
