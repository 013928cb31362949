"""Minimal writer for Compound File Binary files ([MS-CFB], version 3).

Only what a VBA project container needs: storages and streams given as
slash-separated paths, 512-byte sectors, a mini stream for small streams and
no DIFAT sectors (at most 109 FAT sectors, i.e. a file of roughly 7 MB).
The output is deterministic: entries are laid out in sorted order and every
timestamp and CLSID is zero, so identical input gives identical bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SECTOR_SIZE = 512
MINI_SECTOR_SIZE = 64
MINI_STREAM_CUTOFF = 4096
DIR_ENTRY_SIZE = 128
HEADER_DIFAT_SLOTS = 109

FREESECT = 0xFFFFFFFF
ENDOFCHAIN = 0xFFFFFFFE
FATSECT = 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF

TYPE_STORAGE = 1
TYPE_STREAM = 2
TYPE_ROOT = 5
RED = 0
BLACK = 1

_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
_FORBIDDEN_NAME_CHARS = set("/\\:!")


@dataclass
class _Entry:
    name: str
    kind: int
    data: bytes = b""
    children: dict[str, "_Entry"] = field(default_factory=dict)
    sid: int = 0
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM
    color: int = BLACK
    start: int = ENDOFCHAIN
    size: int = 0


def cfb_name_key(name: str) -> tuple[int, str]:
    """Sort key of [MS-CFB] 2.6.4: shorter names first, then by uppercase."""
    return (len(name.encode("utf-16-le")), name.upper())


def write_cfb(streams: dict[str, bytes]) -> bytes:
    """Return a version 3 compound file holding ``streams``.

    Keys are paths such as ``"VBA/dir"``; intermediate storages are created
    from the path components.
    """
    root = _build_tree(streams)
    entries = _number_entries(root)
    for entry in entries:
        if entry.kind != TYPE_STREAM:
            _link_children(entry)
    return _layout(entries)


def _build_tree(streams: dict[str, bytes]) -> _Entry:
    root = _Entry("Root Entry", TYPE_ROOT)
    for path, data in streams.items():
        parts = path.split("/")
        for part in parts:
            _check_name(part, path)
        node = root
        for part in parts[:-1]:
            existing = _find_child(node, part)
            if existing is None:
                existing = _Entry(part, TYPE_STORAGE)
                node.children[part.upper()] = existing
            elif existing.kind != TYPE_STORAGE:
                raise ValueError(f"{path!r}: {part!r} is already a stream")
            node = existing
        leaf = parts[-1]
        if _find_child(node, leaf) is not None:
            raise ValueError(f"{path!r}: duplicate entry (names are case-insensitive)")
        node.children[leaf.upper()] = _Entry(leaf, TYPE_STREAM, data=bytes(data))
    return root


def _check_name(name: str, path: str) -> None:
    # 31 UTF-16 code units plus the terminating NUL fill the 64-byte name field.
    if not name or len(name.encode("utf-16-le")) > 62:
        raise ValueError(f"{path!r}: entry names must be 1..31 UTF-16 code units")
    if _FORBIDDEN_NAME_CHARS & set(name):
        raise ValueError(f"{path!r}: entry names must not contain / \\ : !")


def _find_child(node: _Entry, name: str) -> _Entry | None:
    return node.children.get(name.upper())


def _number_entries(root: _Entry) -> list[_Entry]:
    # Breadth-first in CFB order gives stable directory ids for identical input.
    ordered = [root]
    queue = [root]
    while queue:
        node = queue.pop(0)
        for child in sorted(node.children.values(), key=lambda e: cfb_name_key(e.name)):
            child.sid = len(ordered)
            ordered.append(child)
            queue.append(child)
    return ordered


def _link_children(storage: _Entry) -> None:
    """Arrange a storage's children as a red-black tree.

    Splitting the sorted list at the median fills every level except the
    deepest; colouring exactly that deepest level red (when the tree is not
    perfect) keeps the black height equal on every path and never puts a red
    node under a red parent, so the tree satisfies the red-black rules that
    [MS-CFB] 2.6.4 asks for.
    """
    children = sorted(storage.children.values(), key=lambda e: cfb_name_key(e.name))
    if not children:
        return
    depth: dict[int, int] = {}

    def build(items: list[_Entry], level: int) -> int:
        if not items:
            return NOSTREAM
        mid = len(items) // 2
        node = items[mid]
        depth[node.sid] = level
        node.left = build(items[:mid], level + 1)
        node.right = build(items[mid + 1 :], level + 1)
        return node.sid

    storage.child = build(children, 1)
    deepest = max(depth.values())
    perfect = len(children) == 2**deepest - 1
    for node in children:
        node.color = RED if (not perfect and depth[node.sid] == deepest) else BLACK


def _sectors_needed(size: int, unit: int) -> int:
    return (size + unit - 1) // unit


def _layout(entries: list[_Entry]) -> bytes:
    root = entries[0]
    streams = [e for e in entries if e.kind == TYPE_STREAM]
    small = [e for e in streams if 0 < len(e.data) < MINI_STREAM_CUTOFF]
    large = [e for e in streams if len(e.data) >= MINI_STREAM_CUTOFF]

    # Mini stream: small streams packed into 64-byte mini sectors.
    mini_fat: list[int] = []
    mini_stream = bytearray()
    for entry in small:
        count = _sectors_needed(len(entry.data), MINI_SECTOR_SIZE)
        entry.start = len(mini_fat)
        entry.size = len(entry.data)
        mini_fat.extend(range(entry.start + 1, entry.start + count))
        mini_fat.append(ENDOFCHAIN)
        mini_stream += entry.data.ljust(count * MINI_SECTOR_SIZE, b"\0")
    for entry in streams:
        if not entry.data:
            entry.start, entry.size = ENDOFCHAIN, 0

    dir_sectors = _sectors_needed(len(entries) * DIR_ENTRY_SIZE, SECTOR_SIZE)
    minifat_sectors = _sectors_needed(len(mini_fat) * 4, SECTOR_SIZE)
    ministream_sectors = _sectors_needed(len(mini_stream), SECTOR_SIZE)
    large_sectors = [_sectors_needed(len(e.data), SECTOR_SIZE) for e in large]
    payload = dir_sectors + minifat_sectors + ministream_sectors + sum(large_sectors)
    fat_sectors = 1
    while fat_sectors * (SECTOR_SIZE // 4) < payload + fat_sectors:
        fat_sectors += 1
    if fat_sectors > HEADER_DIFAT_SLOTS:
        raise ValueError("compound file too large for a writer without DIFAT sectors")

    fat: list[int] = [FATSECT] * fat_sectors
    body = bytearray()

    def place(data: bytes, count: int) -> int:
        if count == 0:
            return ENDOFCHAIN
        first = len(fat)
        fat.extend(range(first + 1, first + count))
        fat.append(ENDOFCHAIN)
        body.extend(data.ljust(count * SECTOR_SIZE, b"\0"))
        return first

    dir_start_offset = len(body)
    first_dir = place(b"\0" * (dir_sectors * SECTOR_SIZE), dir_sectors)
    first_minifat = place(b"".join(struct.pack("<I", v) for v in mini_fat).ljust(
        minifat_sectors * SECTOR_SIZE, b"\xff"), minifat_sectors)
    root.start = place(bytes(mini_stream), ministream_sectors)
    root.size = len(mini_stream)
    for entry, count in zip(large, large_sectors):
        entry.start = place(entry.data, count)
        entry.size = len(entry.data)

    directory = b"".join(_dir_entry(e) for e in entries)
    unused = _unused_dir_entry()
    directory += unused * (dir_sectors * SECTOR_SIZE // DIR_ENTRY_SIZE - len(entries))
    body[dir_start_offset : dir_start_offset + len(directory)] = directory

    fat.extend([FREESECT] * (fat_sectors * (SECTOR_SIZE // 4) - len(fat)))
    fat_bytes = b"".join(struct.pack("<I", v) for v in fat)

    header = _header(
        fat_sectors=fat_sectors,
        first_dir=first_dir,
        first_minifat=first_minifat if minifat_sectors else ENDOFCHAIN,
        minifat_sectors=minifat_sectors,
    )
    return header + fat_bytes + bytes(body)


def _header(*, fat_sectors: int, first_dir: int, first_minifat: int, minifat_sectors: int) -> bytes:
    difat = list(range(fat_sectors)) + [FREESECT] * (HEADER_DIFAT_SLOTS - fat_sectors)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        _SIGNATURE,
        b"\0" * 16,  # header CLSID
        0x003E,  # minor version
        0x0003,  # major version 3: 512-byte sectors
        0xFFFE,  # byte order mark (little-endian)
        9,  # sector shift: 2**9 = 512
        6,  # mini sector shift: 2**6 = 64
        b"\0" * 6,
        0,  # directory sector count: must be 0 in version 3
        fat_sectors,
        first_dir,
        0,  # transaction signature
        MINI_STREAM_CUTOFF,
        first_minifat,
        minifat_sectors,
        ENDOFCHAIN,  # first DIFAT sector: none
        0,  # DIFAT sector count
    )
    header += b"".join(struct.pack("<I", v) for v in difat)
    assert len(header) == SECTOR_SIZE
    return header


def _dir_entry(entry: _Entry) -> bytes:
    name = entry.name.encode("utf-16-le") + b"\0\0"
    is_storage = entry.kind == TYPE_STORAGE
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        name,
        len(name),
        entry.kind,
        entry.color,
        entry.left,
        entry.right,
        entry.child,
        b"\0" * 16,  # CLSID
        0,  # state bits
        0,  # creation time: zero keeps builds reproducible
        0,  # modified time
        0 if is_storage else entry.start,
        0 if is_storage else entry.size,
    )


def _unused_dir_entry() -> bytes:
    # [MS-CFB] 2.6.3: free entries are zero except the three sibling/child ids.
    return struct.pack(
        "<64sHBBIII16sIQQIQ", b"", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM, b"\0" * 16, 0, 0, 0, 0, 0
    )
