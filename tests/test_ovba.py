"""Tests for the source-only VBA project writer (evalbook.build.ovba / cfb).

The readers used here are independent of the writer: a dir-stream parser and
a PROJECT-field decryptor written from [MS-OVBA] in this file, olefile for
the compound file, oletools' olevba for modules, and LibreOffice (when
installed) for a real host application loading the project from an .xlsm.
"""

from __future__ import annotations

import io
import json
import random
import struct
import subprocess
import zipfile
from pathlib import Path

import olefile
import pytest
from oletools.olevba import VBA_Parser, decompress_stream

from tests.conftest import SYSTEM_PYTHON, libreoffice_unavailable
from evalbook.build.cfb import cfb_name_key, write_cfb
from evalbook.build.ovba import (
    VbaModule,
    build_vba_project,
    compress,
    decompress,
    encrypt_data,
    module_source,
    module_source_without_attributes,
    project_streams,
)

# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------

STANDARD_BODY = (
    "Option Explicit\n"
    "' 说明：这是一个中文注释\n"
    "Public Function Greeting() As String\n"
    '    Greeting = "你好，世界"\n'
    "End Function\n"
)
CLASS_BODY = (
    "Option Explicit\n"
    "Public Name As String\n"
    "\n"
    "Public Function Describe() As String\n"
    '    Describe = "名称: " & Name\n'
    "End Function\n"
)
WORKBOOK_BODY = "Option Explicit\n\nPrivate Sub Workbook_Open()\nEnd Sub\n"
SHEET_BODY = ""


def sample_modules() -> list[VbaModule]:
    return [
        VbaModule("ThisWorkbook", WORKBOOK_BODY, "document"),
        VbaModule("Sheet1", SHEET_BODY, "document"),
        VbaModule("Module1", STANDARD_BODY, "standard"),
        VbaModule("Class1", CLASS_BODY, "class"),
    ]


@pytest.fixture(scope="module")
def project_bin() -> bytes:
    return build_vba_project(sample_modules())


# ---------------------------------------------------------------------------
# Compression ([MS-OVBA] 2.4.1)
# ---------------------------------------------------------------------------

_rng = random.Random(20240601)
RANDOM_10K = _rng.randbytes(10 * 1024)
CHINESE = (
    "' 计算本月的销售额合计，并写入汇总表。\r\n"
    'MsgBox "数据已更新：" & Format(Now, "yyyy年mm月dd日")\r\n'
) * 60

ROUND_TRIP_CASES = {
    "empty": b"",
    "short_text": b"Sub Main()\r\nEnd Sub\r\n",
    "exactly_4096": bytes(_rng.randrange(256) for _ in range(4096)),
    "exactly_4097": (b"Dim i As Long\r\n" * 300)[:4097],
    "repetitive_20k": (b"Range(\"A1\").Value = 1\r\n" * 1000)[:20 * 1024],
    "random_10k": RANDOM_10K,
    "chinese_cp936": CHINESE.encode("cp936"),
}


def chunk_headers(container: bytes) -> list[tuple[int, int, bool]]:
    """(offset, chunk size, compressed flag) of every chunk, per 2.4.1.1.4."""
    assert container[0] == 0x01
    headers, position = [], 1
    while position < len(container):
        (header,) = struct.unpack_from("<H", container, position)
        assert (header >> 12) & 0b111 == 0b011, "CompressedChunkSignature must be 0b011"
        size = (header & 0x0FFF) + 3
        headers.append((position, size, bool(header & 0x8000)))
        position += size
    assert position == len(container), "chunks must tile the container exactly"
    return headers


@pytest.mark.parametrize("name", sorted(ROUND_TRIP_CASES))
def test_round_trip(name):
    data = ROUND_TRIP_CASES[name]
    compressed = compress(data)
    assert decompress(compressed) == data
    # An independent decompressor must agree byte for byte.
    assert bytes(decompress_stream(bytearray(compressed))) == data
    expected_chunks = (len(data) + 4095) // 4096
    assert len(chunk_headers(compressed)) == expected_chunks


def test_empty_input_is_just_the_signature():
    assert compress(b"") == b"\x01"


def test_incompressible_chunks_are_stored_raw():
    headers = chunk_headers(compress(RANDOM_10K))
    # Two full random chunks cannot fit in 4098 bytes once flag bytes are added.
    assert [(size, flag) for _, size, flag in headers[:2]] == [(4098, False), (4098, False)]
    # The 2048-byte tail still fits (2048 + 256 flag bytes) so stays a compressed chunk.
    assert headers[2][2] is True


def test_compressible_data_actually_shrinks():
    data = ROUND_TRIP_CASES["repetitive_20k"]
    assert len(compress(data)) < len(data) // 10
    assert all(flag for _, _, flag in chunk_headers(compress(data)))


def test_short_incompressible_tail_is_padded_as_the_spec_says():
    # 2.4.1.3.10 pads a raw chunk to 4096 bytes and 2.4.1.3.3 reads 4096 bytes
    # back, so the padding survives a round trip; oletools reads it the same way.
    data = _rng.randbytes(4096 + 4000)
    compressed = compress(data)
    assert [flag for _, _, flag in chunk_headers(compressed)] == [False, False]
    restored = decompress(compressed)
    assert restored == data + b"\0" * 96
    assert bytes(decompress_stream(bytearray(compressed))) == restored


# [MS-OVBA] 3.2.1-3.2.3, hex copied from the specification.
SPEC_EXAMPLES = {
    "3.2.1 no compression": (
        b"abcdefghijklmnopqrstuv.",
        "01 19 B0 00 61 62 63 64 65 66 67 68 00 69 6A 6B 6C 6D 6E 6F 70 00 71 72 73 74 75 76 2E",
    ),
    "3.2.2 normal compression": (
        b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa",
        "01 2F B0 00 23 61 61 61 62 63 64 65 82 66 00 70 61 67 68 69 6A 01 38 08 61 6B 6C 00 20 6D"
        " 6E 6F 70 06 71 02 70 04 00 72 73 74 75 76 10 77 78 79 7A 00 2C",
    ),
    "3.2.3 maximum compression": (b"a" * 73, "01 03 B0 02 61 45 00"),
}


@pytest.mark.parametrize("example", sorted(SPEC_EXAMPLES))
def test_spec_examples(example):
    text, hex_bytes = SPEC_EXAMPLES[example]
    expected = bytes.fromhex(hex_bytes)
    assert decompress(expected) == text
    assert compress(text) == expected


def test_copy_token_bit_split_follows_position_in_chunk():
    # 2.4.1.3.19.1: offsets need ceil(log2(position)) bits (at least 4), so
    # the same 3-byte repeat is packed differently early and late in a chunk.
    early = compress(b"abcabc")
    # Token 0x2000: offset-1 = 2 in the top 4 bits, length-3 = 0 in the low 12.
    assert early == bytes.fromhex("01 05 B0 08 61 62 63 00 20")
    # Offset 3 and length 3 at decompressed position 2051 use a 12-bit offset.
    filler = bytes(range(256)) * 8  # 2048 bytes with no 3-byte repeat at distance 3
    late = compress(filler + b"xyzxyz")
    assert decompress(late) == filler + b"xyzxyz"
    (token,) = struct.unpack("<H", late[-2:])
    assert token == ((3 - 1) << (16 - 12)) | (3 - 3)


def test_decompress_rejects_garbage():
    with pytest.raises(ValueError):
        decompress(b"")
    with pytest.raises(ValueError):
        decompress(b"\x02\x00\x00")
    with pytest.raises(ValueError):
        decompress(b"\x01\x00\x00")  # chunk signature 0b000


# ---------------------------------------------------------------------------
# dir stream ([MS-OVBA] 2.3.4.2), parsed record by record
# ---------------------------------------------------------------------------


class DirReader:
    """Strict reader: every call names the record id the grammar expects next."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0
        self.ids: list[int] = []

    def take(self, count: int) -> bytes:
        assert self.pos + count <= len(self.data), "record runs past the end of the stream"
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def u16(self) -> int:
        return struct.unpack("<H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def expect_id(self, record_id: int) -> None:
        actual = self.u16()
        assert actual == record_id, f"expected record 0x{record_id:04X} at {self.pos - 2}, got 0x{actual:04X}"
        self.ids.append(record_id)

    def record(self, record_id: int, size: int | None = None) -> bytes:
        self.expect_id(record_id)
        length = self.u32()
        if size is not None:
            assert length == size, f"record 0x{record_id:04X}: size {length}, expected {size}"
        return self.take(length)

    def fixed_u32(self, record_id: int) -> int:
        return struct.unpack("<I", self.record(record_id, 4))[0]

    def fixed_u16(self, record_id: int) -> int:
        return struct.unpack("<H", self.record(record_id, 2))[0]

    def text_pair(self, record_id: int, unicode_id: int, codepage: str) -> tuple[str, str]:
        mbcs = self.record(record_id).decode(codepage)
        unicode = self.record(unicode_id).decode("utf-16-le")
        return mbcs, unicode

    def reserved_marker(self, record_id: int) -> None:
        """Records whose 'size' slot is a Reserved field that MUST be 0."""
        self.expect_id(record_id)
        assert self.u32() == 0


def parse_dir(data: bytes) -> dict:
    r = DirReader(data)
    info: dict = {}
    info["syskind"] = r.fixed_u32(0x0001)
    info["compat_version"] = r.fixed_u32(0x004A)
    info["lcid"] = r.fixed_u32(0x0002)
    info["lcid_invoke"] = r.fixed_u32(0x0014)
    info["codepage"] = r.fixed_u16(0x0003)
    codec = f"cp{info['codepage']}"
    info["name"] = r.record(0x0004).decode(codec)
    info["docstring"] = r.text_pair(0x0005, 0x0040, codec)
    # HelpFile2 is MBCS like HelpFile1 (2.3.4.2.1.8), not UTF-16.
    info["helpfile"] = (r.record(0x0006).decode(codec), r.record(0x003D).decode(codec))
    info["help_context"] = r.fixed_u32(0x0007)
    info["lib_flags"] = r.fixed_u32(0x0008)
    r.expect_id(0x0009)
    assert r.u32() == 4  # PROJECTVERSION.Reserved MUST be 4
    info["version"] = (r.u32(), r.u16())
    info["constants"] = r.text_pair(0x000C, 0x003C, codec)
    references = []
    while r.data[r.pos : r.pos + 2] == b"\x16\x00":
        name = r.record(0x0016).decode(codec)
        name_unicode = r.record(0x003E).decode("utf-16-le")
        body = r.record(0x000D)
        (libid_size,) = struct.unpack_from("<I", body, 0)
        libid = body[4 : 4 + libid_size].decode(codec)
        assert body[4 + libid_size :] == b"\0" * 6  # Reserved1 (4) + Reserved2 (2)
        references.append((name, name_unicode, libid))
    info["references"] = references
    info["module_count"] = r.fixed_u16(0x000F)
    info["project_cookie"] = r.fixed_u16(0x0013)
    modules = []
    for _ in range(info["module_count"]):
        module: dict = {}
        module["name"] = r.record(0x0019).decode(codec)
        module["name_unicode"] = r.record(0x0047).decode("utf-16-le")
        module["stream_name"] = r.text_pair(0x001A, 0x0032, codec)
        module["docstring"] = r.text_pair(0x001C, 0x0048, codec)
        module["offset"] = r.fixed_u32(0x0031)
        module["help_context"] = r.fixed_u32(0x001E)
        module["cookie"] = r.fixed_u16(0x002C)
        module_type = r.u16()
        assert module_type in (0x0021, 0x0022)
        assert r.u32() == 0
        module["type"] = module_type
        module["flags"] = []
        while r.data[r.pos : r.pos + 2] in (b"\x25\x00", b"\x28\x00"):
            flag = r.data[r.pos]
            r.reserved_marker(flag)
            module["flags"].append(flag)
        r.reserved_marker(0x002B)
        modules.append(module)
    info["modules"] = modules
    r.reserved_marker(0x0010)
    assert r.pos == len(data), "bytes after the dir terminator"
    return info


def test_dir_stream_records(project_bin):
    ole = olefile.OleFileIO(project_bin)
    info = parse_dir(decompress(ole.openstream("VBA/dir").read()))
    assert info["syskind"] == 1  # Win32, as vbamc writes
    assert info["compat_version"] == 2
    assert info["lcid"] == info["lcid_invoke"] == 0x0409
    assert info["codepage"] == 936
    assert info["name"] == "VBAProject"
    assert info["docstring"] == info["helpfile"] == info["constants"] == ("", "")
    assert info["help_context"] == 0 and info["lib_flags"] == 0
    assert info["version"] == (0x645BE109, 11)
    assert [(name, uname) for name, uname, _ in info["references"]] == [("stdole", "stdole"), ("Office", "Office")]
    assert info["references"][0][2].startswith(r"*\G{00020430-0000-0000-C000-000000000046}#2.0#0#")
    assert info["references"][1][2].startswith(r"*\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#")
    assert info["module_count"] == 4
    assert info["project_cookie"] == 0xFFFF
    expected = [("ThisWorkbook", 0x22, []), ("Sheet1", 0x22, []), ("Module1", 0x21, []), ("Class1", 0x22, [])]
    assert [(m["name"], m["type"], m["flags"]) for m in info["modules"]] == expected
    for module in info["modules"]:
        assert module["name_unicode"] == module["name"]
        assert module["stream_name"] == (module["name"], module["name"])
        assert module["docstring"] == ("", "")
        assert module["offset"] == 0  # no p-code: source starts the stream
        assert module["help_context"] == 0
        assert module["cookie"] == 0xFFFF


def test_dir_stream_uses_codepage_for_mbcs_and_utf16_for_unicode():
    modules = [VbaModule("模块一", "Sub 测试()\nEnd Sub\n")]
    streams = project_streams(modules, project_name="项目", codepage=936)
    raw_dir = decompress(streams["VBA/dir"])
    info = parse_dir(raw_dir)
    assert info["name"] == "项目"
    module = info["modules"][0]
    assert module["name"] == module["name_unicode"] == "模块一"
    # The MBCS record carries GBK bytes, not UTF-8 or UTF-16.
    assert "模块一".encode("cp936") in raw_dir
    assert struct.pack("<HI", 0x0019, 6) + "模块一".encode("cp936") in raw_dir
    info_1252 = parse_dir(decompress(project_streams([VbaModule("M", "")], codepage=1252)["VBA/dir"]))
    assert info_1252["codepage"] == 1252


# ---------------------------------------------------------------------------
# PROJECT, PROJECTwm, _VBA_PROJECT
# ---------------------------------------------------------------------------


def decrypt_field(hex_text: str) -> tuple[int, bytes]:
    """[MS-OVBA] 2.4.3.3 Data Decryption; returns (version, data)."""
    enc = bytes.fromhex(hex_text)
    seed = enc[0]
    version = enc[1] ^ seed
    project_key = enc[2] ^ seed
    unencrypted, encrypted1, encrypted2 = project_key, enc[2], enc[1]
    plain = bytearray()
    for byte_enc in enc[3:]:
        byte = byte_enc ^ ((encrypted2 + unencrypted) & 0xFF)
        plain.append(byte)
        encrypted2, encrypted1, unencrypted = encrypted1, byte_enc, byte
    ignored_length = (seed & 6) // 2
    (length,) = struct.unpack_from("<I", plain, ignored_length)
    data = bytes(plain[ignored_length + 4 :])
    assert len(data) == length, "DataLength must match the encrypted payload"
    return version, data


def project_lines(project_bin: bytes) -> list[str]:
    text = olefile.OleFileIO(project_bin).openstream("PROJECT").read().decode("cp936")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return text.split("\r\n")[:-1]


def test_project_stream_text(project_bin):
    lines = project_lines(project_bin)
    assert lines[:5] == [
        'ID="{00000000-0000-0000-0000-000000000000}"',
        "Document=ThisWorkbook/&H00000000",
        "Document=Sheet1/&H00000000",
        "Module=Module1",
        "Class=Class1",
    ]
    assert lines[5:8] == ['Name="VBAProject"', 'HelpContextID="0"', 'VersionCompatible32="393222000"']
    assert [line.split("=", 1)[0] for line in lines[8:11]] == ["CMG", "DPB", "GC"]
    assert lines[11:] == [
        "",
        "[Host Extender Info]",
        "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000",
        "",
        "[Workspace]",
        "ThisWorkbook=0, 0, 0, 0, C",
        "Sheet1=0, 0, 0, 0, C",
        "Module1=0, 0, 0, 0, C",
        "Class1=0, 0, 0, 0, C",
    ]


def test_protection_fields_decrypt_to_unprotected_values(project_bin):
    fields = dict(line.split("=", 1) for line in project_lines(project_bin)[8:11])
    values = {key: decrypt_field(value.strip('"')) for key, value in fields.items()}
    assert values == {"CMG": (2, b"\0\0\0\0"), "DPB": (2, b"\0"), "GC": (2, b"\xff")}
    # ProjKey is the byte sum of the ProjectId, which the third byte carries.
    project_key = sum(b"{00000000-0000-0000-0000-000000000000}") & 0xFF
    for value in fields.values():
        enc = bytes.fromhex(value.strip('"'))
        assert enc[2] ^ enc[0] == project_key


def test_encryption_reproduces_spec_example():
    # [MS-OVBA] 3.1.6: the example project's CMG/DPB/GC; decrypting them gives
    # seed and ignored bytes, and re-encrypting must give the same text back.
    project_id = "{917DED54-440B-4FD1-A5C1-74ACF261E600}"
    for value, expected_data in [
        ("0705D8E3D8EDDBF1DBF1DBF1DBF1", b"\0\0\0\0"),
        ("0E0CD1ECDFF4E7F5E7F5E7", b"\0"),
        ("1517CAF1D6F9D7F9D706", b"\xff"),
    ]:
        version, data = decrypt_field(value)
        assert (version, data) == (2, expected_data)
        seed = int(value[:2], 16)
        ignored_length = (seed & 6) // 2
        plain_ignored = b"\x07" * ignored_length  # recovered from the example
        assert encrypt_data(seed, plain_ignored, project_id, data).hex().upper() == value


def test_projectwm_stream():
    streams = project_streams([VbaModule("Module1", ""), VbaModule("模块", "")], codepage=936)
    expected = (
        b"Module1\0" + "Module1".encode("utf-16-le") + b"\0\0"
        + "模块".encode("cp936") + b"\0" + "模块".encode("utf-16-le") + b"\0\0"
        + b"\0\0"
    )
    assert streams["PROJECTwm"] == expected


def test_vba_project_stream_is_the_seven_byte_header(project_bin):
    data = olefile.OleFileIO(project_bin).openstream("VBA/_VBA_PROJECT").read()
    assert data == bytes.fromhex("CC 61 FF FF 00 01 00")


# ---------------------------------------------------------------------------
# Module source
# ---------------------------------------------------------------------------


def test_module_headers_by_kind():
    standard = module_source(VbaModule("Module1", "Sub A()\nEnd Sub\n"))
    assert standard == 'Attribute VB_Name = "Module1"\r\nSub A()\r\nEnd Sub\r\n'
    klass = module_source(VbaModule("Class1", "", "class")).split("\r\n")
    assert klass[:2] == [
        'Attribute VB_Name = "Class1"',
        'Attribute VB_Base = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"',
    ]
    assert "Attribute VB_PredeclaredId = False" in klass and "Attribute VB_Exposed = False" in klass
    workbook = module_source(VbaModule("ThisWorkbook", "", "document"))
    assert 'Attribute VB_Base = "0{00020819-0000-0000-C000-000000000046}"' in workbook
    assert "Attribute VB_PredeclaredId = True" in workbook and "Attribute VB_Exposed = True" in workbook
    sheet = module_source(VbaModule("Sheet1", "", "document"))
    assert 'Attribute VB_Base = "0{00020820-0000-0000-C000-000000000046}"' in sheet
    renamed_workbook = module_source(VbaModule("本工作簿", "", "document", is_workbook=True))
    assert "0{00020819-0000-0000-C000-000000000046}" in renamed_workbook


def test_existing_header_is_replaced_not_duplicated():
    exported_cls = (
        "VERSION 1.0 CLASS\r\nBEGIN\r\n  MultiUse = -1  'True\r\nEND\r\n"
        'Attribute VB_Name = "Old"\r\nAttribute VB_Exposed = False\r\n'
        "Public X As Long\r\n"
    )
    text = module_source(VbaModule("Class1", exported_cls, "class"))
    assert text.count("Attribute VB_Name") == 1 and 'VB_Name = "Class1"' in text
    assert "VERSION" not in text and "MultiUse" not in text
    assert module_source_without_attributes(text) == "Public X As Long\n"


def test_procedure_attributes_are_kept():
    body = 'Sub A()\nAttribute A.VB_Description = "kept"\nEnd Sub\n'
    assert module_source_without_attributes(module_source(VbaModule("M", body))) == body


def test_invalid_modules_are_rejected():
    with pytest.raises(ValueError):
        build_vba_project([VbaModule("M", ""), VbaModule("m", "")])
    with pytest.raises(ValueError):
        build_vba_project([VbaModule("dir", "")])
    with pytest.raises(ValueError):
        build_vba_project([VbaModule("Bad Name", "")])
    with pytest.raises(ValueError):
        build_vba_project([VbaModule("M", "", "form")])  # type: ignore[arg-type]
    with pytest.raises(UnicodeEncodeError):
        build_vba_project([VbaModule("M", "' 😀\n")])  # not representable in cp936


# ---------------------------------------------------------------------------
# Compound file
# ---------------------------------------------------------------------------

EXPECTED_STREAMS = [
    ["PROJECT"],
    ["PROJECTwm"],
    ["VBA", "Class1"],
    ["VBA", "Module1"],
    ["VBA", "Sheet1"],
    ["VBA", "ThisWorkbook"],
    ["VBA", "_VBA_PROJECT"],
    ["VBA", "dir"],
]


def open_strict(data: bytes) -> olefile.OleFileIO:
    # DEFECT_UNSURE makes olefile raise on every defect it can report.
    return olefile.OleFileIO(data, raise_defects=olefile.DEFECT_UNSURE)


def test_olefile_lists_exactly_the_project_streams(project_bin):
    ole = open_strict(project_bin)
    assert sorted(ole.listdir(streams=True, storages=False)) == sorted(EXPECTED_STREAMS)
    assert ole.listdir(streams=False, storages=True) == [["VBA"]]
    assert ole.parsing_issues == []
    streams = project_streams(sample_modules())
    for path in streams:
        assert ole.openstream(path).read() == streams[path]


def check_red_black(ole: olefile.OleFileIO, storage_sid: int) -> list[str]:
    """Validate one storage's sibling tree; return its names in tree order."""
    entries = ole.direntries

    def walk(sid: int, parent_red: bool) -> tuple[int, list[str]]:
        if sid == olefile.NOSTREAM:
            return 1, []
        entry = entries[sid]
        red = entry.color == 0
        assert not (red and parent_red), "red node with a red parent"
        left_height, left_names = walk(entry.sid_left, red)
        right_height, right_names = walk(entry.sid_right, red)
        assert left_height == right_height, "unequal black height"
        return left_height + (0 if red else 1), left_names + [entry.name] + right_names

    root_child = entries[storage_sid].sid_child
    if root_child != olefile.NOSTREAM:
        assert entries[root_child].color == 1, "tree root must be black"
    _, names = walk(root_child, False)
    assert names == sorted(names, key=cfb_name_key), "siblings must be a binary search tree in CFB order"
    return names


@pytest.mark.parametrize("count", [1, 2, 3, 4, 6, 7, 8, 15, 20, 33])
def test_directory_is_a_valid_red_black_tree(count):
    streams = {f"S/{'x' * (i % 5)}n{i}": bytes([i]) * (i + 1) for i in range(count)}
    ole = open_strict(write_cfb(streams))
    storage = ole.direntries[ole.root.sid_child]
    assert storage.name == "S"
    assert sorted(check_red_black(ole, storage.sid)) == sorted(p.split("/")[1] for p in streams)


def test_project_directory_trees(project_bin):
    ole = open_strict(project_bin)
    assert check_red_black(ole, 0) == ["VBA", "PROJECT", "PROJECTwm"]
    vba_sid = next(e.sid for e in ole.direntries if e is not None and e.name == "VBA")
    assert check_red_black(ole, vba_sid) == ["dir", "Class1", "Sheet1", "Module1", "ThisWorkbook", "_VBA_PROJECT"]


def test_cfb_header_and_large_streams():
    big = bytes(range(256)) * 800  # 200 KB: regular sectors and several FAT sectors
    streams = {"A/big": big, "A/small": b"tiny", "A/edge": b"e" * 4096, "A/below": b"b" * 4095, "empty": b""}
    data = write_cfb(streams)
    assert len(data) % 512 == 0
    ole = open_strict(data)
    assert (ole.dll_version, ole.minor_version) == (3, 0x3E)
    assert (ole.sector_shift, ole.mini_sector_shift, ole.mini_stream_cutoff_size) == (9, 6, 4096)
    sectors = len(data) // 512 - 1  # everything after the header
    assert ole.num_fat_sectors == -(-sectors // 128) > 1  # 128 FAT entries per sector, no slack
    for path, content in streams.items():
        assert ole.openstream(path).read() == content
    entries = {e.name: e for e in ole.direntries if e is not None}
    assert entries["big"].is_minifat is False and entries["edge"].is_minifat is False
    assert entries["small"].is_minifat is True and entries["below"].is_minifat is True
    assert all(e.createTime == 0 and e.modifyTime == 0 for e in entries.values())


def test_cfb_rejects_bad_names():
    with pytest.raises(ValueError):
        write_cfb({"x" * 32: b""})
    with pytest.raises(ValueError):
        write_cfb({"a/b": b"", "A/B": b""})
    with pytest.raises(ValueError):
        write_cfb({"a": b"", "a/b": b""})


# ---------------------------------------------------------------------------
# olevba and determinism
# ---------------------------------------------------------------------------


def test_olevba_extracts_every_module(project_bin):
    parser = VBA_Parser("vbaProject.bin", data=project_bin, relaxed=False)
    assert parser.detect_vba_macros()
    extracted = {vba_filename: code for _, _, vba_filename, code in parser.extract_macros()}
    expected = {
        "ThisWorkbook.cls": WORKBOOK_BODY,
        "Sheet1.cls": SHEET_BODY,
        "Module1.bas": STANDARD_BODY,
        "Class1.cls": CLASS_BODY,
    }
    assert sorted(extracted) == sorted(expected)
    for filename, body in expected.items():
        code = extracted[filename]
        name = filename.rsplit(".", 1)[0]
        assert code.startswith(f'Attribute VB_Name = "{name}"\r\n')
        assert module_source_without_attributes(code) == body
    assert '"你好，世界"' in extracted["Module1.bas"]
    assert "' 说明：这是一个中文注释" in extracted["Module1.bas"]


def test_builds_are_reproducible():
    first = build_vba_project(sample_modules())
    second = build_vba_project(sample_modules())
    assert first == second
    changed = build_vba_project(sample_modules()[:-1])
    assert changed != first


# ---------------------------------------------------------------------------
# LibreOffice loads the project from an .xlsm
# ---------------------------------------------------------------------------

LO_READER = Path(__file__).with_name("lo_vba_reader.py")
MAIN_PART_MACRO = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"


def make_xlsm(vba_bin: bytes) -> bytes:
    """A minimal macro-enabled workbook: openpyxl's output, made macro-enabled by the build's packager."""
    from openpyxl import Workbook

    from evalbook.build.package import make_xlsm as package_xlsm

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "数据"
    sheet["A1"] = 1
    workbook.code_name = "ThisWorkbook"
    sheet.sheet_properties.codeName = "Sheet1"
    plain = io.BytesIO()
    workbook.save(plain)
    return package_xlsm(plain.getvalue(), vba_bin, None)




def test_xlsm_package_parts(project_bin):
    package = zipfile.ZipFile(io.BytesIO(make_xlsm(project_bin)))
    assert package.read("xl/vbaProject.bin") == project_bin
    assert MAIN_PART_MACRO in package.read("[Content_Types].xml").decode()
    assert 'codeName="ThisWorkbook"' in package.read("xl/workbook.xml").decode()
    assert 'codeName="Sheet1"' in package.read("xl/worksheets/sheet1.xml").decode()


def test_libreoffice_imports_the_modules(project_bin, tmp_path):
    reason = libreoffice_unavailable()
    if reason:
        pytest.skip(reason)
    workbook = tmp_path / "macros.xlsm"
    workbook.write_bytes(make_xlsm(project_bin))
    result = subprocess.run(
        [SYSTEM_PYTHON, str(LO_READER), str(workbook)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout)
    assert {"ThisWorkbook", "Sheet1", "Module1", "Class1"} <= set(modules)
    # LibreOffice prefixes "Rem Attribute VBA_ModuleType=..." / "Option VBASupport 1";
    # the bodies themselves must arrive intact, Chinese included.
    assert "VBA_ModuleType=VBAModule" in modules["Module1"]
    assert "VBA_ModuleType=VBAClassModule" in modules["Class1"]
    assert "VBA_ModuleType=VBADocumentModule" in modules["ThisWorkbook"]
    for name, body in [("Module1", STANDARD_BODY), ("Class1", CLASS_BODY), ("ThisWorkbook", WORKBOOK_BODY)]:
        assert body.strip() in modules[name].replace("\r\n", "\n"), name
    assert '"你好，世界"' in modules["Module1"]


def test_a_class_keeps_the_exposed_attribute_its_source_declares():
    exported = ("VERSION 1.0 CLASS\r\nBEGIN\r\n  MultiUse = -1  'True\r\nEND\r\n"
                'Attribute VB_Name = "Dictionary"\r\nAttribute VB_Exposed = True\r\n'
                "Public X As Long\r\n'Attribute VB_Exposed = True\r\n")
    assert "Attribute VB_Exposed = True" in module_source(VbaModule("Dictionary", exported, "class"))
    # a comment or code further down never counts: only the exported header does
    plain = "Public X As Long\r\n' Attribute VB_Exposed = True\r\n"
    assert "Attribute VB_Exposed = False" in module_source(VbaModule("Class1", plain, "class"))


def test_xlwings_dictionary_stays_exposed_as_xlwings_ships_it():
    from evalbook.build.vba import xlwings_standalone_modules

    dictionary = next(m for m in xlwings_standalone_modules() if m.name == "Dictionary")
    assert "Attribute VB_Exposed = True" in dictionary.source  # what xlwings ships
    assert "Attribute VB_Exposed = True" in module_source(dictionary).split("\r\n")[:8]
