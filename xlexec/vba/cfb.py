"""[MS-CFB] Compound File Binary format: a small writer for version-3 files (512-byte sectors).

:func:`write_compound_file` writes the header (2.2), the FAT (2.3), the mini FAT and mini
stream for streams below the 4096-byte cutoff (2.4, 2.5) and the directory entries (2.6),
each storage's children stored as a valid red-black tree (balanced, black except for an
incomplete bottom level). No PyPI library is used for this: olefile only reads/patches
existing files.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

# ---------------------------------------------------------------------------
# [MS-CFB] compound file writer
# ---------------------------------------------------------------------------

_SECTOR = 512
_MINI_SECTOR = 64
_MINI_CUTOFF = 4096
_FREESECT = 0xFFFFFFFF
_ENDOFCHAIN = 0xFFFFFFFE
_FATSECT = 0xFFFFFFFD
_NOSTREAM = 0xFFFFFFFF
_CFB_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")

# a storage: names -> stream bytes or nested storages
StorageTree: TypeAlias = Mapping[str, "bytes | StorageTree"]


@dataclass
class _Entry:
    name: str
    kind: int  # 1 storage, 2 stream, 5 root
    data: bytes = b""
    children: list[int] = field(default_factory=list)
    left: int = _NOSTREAM
    right: int = _NOSTREAM
    child: int = _NOSTREAM
    black: bool = True
    start: int = _ENDOFCHAIN
    size: int = 0


def _cfb_name_key(name: str) -> tuple[int, str]:
    # [MS-CFB] 2.6.4: shorter names sort first, then by upper-cased UTF-16 code units.
    return (len(name.encode("utf-16-le")), name.upper())


def _build_rb_tree(entries: list[_Entry], ids: list[int]) -> int:
    """Link ``ids`` (siblings) as a balanced binary search tree; return its root.

    The tree is balanced by splitting sorted names at the middle, so every
    level but the last is full; nodes on an incomplete last level are red and
    all others black, which satisfies the red-black invariants ([MS-CFB] 2.6.4).
    """
    ordered = sorted(ids, key=lambda i: _cfb_name_key(entries[i].name))
    depth_of: dict[int, int] = {}

    def build(lo: int, hi: int, depth: int) -> int:
        if lo >= hi:
            return _NOSTREAM
        mid = (lo + hi) // 2
        node = ordered[mid]
        depth_of[node] = depth
        entries[node].left = build(lo, mid, depth + 1)
        entries[node].right = build(mid + 1, hi, depth + 1)
        return node

    root = build(0, len(ordered), 0)
    if ordered:
        max_depth = max(depth_of.values())
        full = len(ordered) == (1 << (max_depth + 1)) - 1
        for node, depth in depth_of.items():
            entries[node].black = full or depth < max_depth or depth == 0
    return root


def write_compound_file(tree: StorageTree) -> bytes:
    """Serialize a storage tree as a version-3 compound file ([MS-CFB]).

    ``tree`` maps names to ``bytes`` (streams) or nested mappings (storages).
    Streams shorter than 4096 bytes go to the mini stream (64-byte mini
    sectors, mini FAT), the rest to regular 512-byte sectors.  Layout: regular
    streams, mini stream, mini FAT, directory, FAT.  Files needing more than
    109 FAT sectors (about 7 MB) are not supported (no DIFAT sectors).
    """
    entries: list[_Entry] = [_Entry("Root Entry", 5)]

    def add(parent: int, items: StorageTree) -> None:
        kids = []
        for name, value in items.items():
            if len(name) > 31 or any(c in name for c in "/\\:!"):
                raise ValueError(f"invalid compound file entry name {name!r}")
            idx = len(entries)
            if isinstance(value, Mapping):
                entries.append(_Entry(name, 1))
                add(idx, value)
            else:
                entries.append(_Entry(name, 2, data=bytes(value)))
            kids.append(idx)
        keys = [_cfb_name_key(entries[k].name) for k in kids]
        if len(set(keys)) != len(keys):
            raise ValueError("duplicate (case-insensitive) entry names in one storage")
        entries[parent].child = _build_rb_tree(entries, kids)

    add(0, tree)

    sectors = bytearray()  # all sectors after the header
    fat: list[int] = []

    def alloc_chain(data: bytes) -> int:
        """Append ``data`` padded to whole sectors; chain them in the FAT."""
        if not data:
            return _ENDOFCHAIN
        count = -(-len(data) // _SECTOR)
        first = len(fat)
        for i in range(count):
            fat.append(first + i + 1 if i < count - 1 else _ENDOFCHAIN)
        sectors.extend(data)
        sectors.extend(b"\x00" * (count * _SECTOR - len(data)))
        return first

    # regular streams
    mini = bytearray()
    minifat: list[int] = []
    for e in entries:
        if e.kind != 2:
            continue
        e.size = len(e.data)
        if e.size >= _MINI_CUTOFF:
            e.start = alloc_chain(e.data)
        elif e.size:
            count = -(-e.size // _MINI_SECTOR)
            first = len(minifat)
            for i in range(count):
                minifat.append(first + i + 1 if i < count - 1 else _ENDOFCHAIN)
            mini.extend(e.data)
            mini.extend(b"\x00" * (count * _MINI_SECTOR - e.size))
            e.start = first
        else:
            e.start = _ENDOFCHAIN
    root = entries[0]
    root.start = alloc_chain(bytes(mini)) if mini else _ENDOFCHAIN
    root.size = len(mini)
    if minifat:
        minifat_bytes = struct.pack(f"<{len(minifat)}I", *minifat)
        pad = (-len(minifat_bytes)) % _SECTOR
        minifat_start = alloc_chain(minifat_bytes + b"\xff" * pad)
        n_minifat = -(-len(minifat_bytes) // _SECTOR)
    else:
        minifat_start, n_minifat = _ENDOFCHAIN, 0

    # directory
    dir_bytes = bytearray()
    for e in entries:
        name16 = e.name.encode("utf-16-le") + b"\x00\x00"
        dir_bytes += struct.pack(
            "<64sHBBIII16sIQQIQ",
            name16,
            len(name16),
            e.kind,
            1 if e.black else 0,
            e.left,
            e.right,
            e.child,
            b"\x00" * 16,  # CLSID
            0,  # state bits
            0,  # creation time
            0,  # modified time
            e.start if e.kind != 1 else 0,
            e.size,
        )
    unused = struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, _NOSTREAM, _NOSTREAM, _NOSTREAM, b"", 0, 0, 0, 0, 0)
    while len(dir_bytes) % _SECTOR:
        dir_bytes += unused
    dir_start = alloc_chain(bytes(dir_bytes))

    # FAT: enough sectors to map every sector including themselves
    n_fat = 1
    while n_fat * (_SECTOR // 4) < len(fat) + n_fat:
        n_fat += 1
    if n_fat > 109:
        raise ValueError("compound file too large for this writer (needs DIFAT sectors)")
    fat_start = len(fat)
    fat.extend([_FATSECT] * n_fat)
    fat.extend([_FREESECT] * (n_fat * (_SECTOR // 4) - len(fat)))
    sectors.extend(struct.pack(f"<{len(fat)}I", *fat))

    difat = [fat_start + i for i in range(n_fat)] + [_FREESECT] * (109 - n_fat)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        _CFB_SIGNATURE,
        b"\x00" * 16,
        0x003E,  # minor version
        0x0003,  # major version 3
        0xFFFE,  # byte order: little endian
        9,  # sector shift (512)
        6,  # mini sector shift (64)
        b"\x00" * 6,
        0,  # number of directory sectors (0 for version 3)
        n_fat,
        dir_start,
        0,  # transaction signature
        _MINI_CUTOFF,
        minifat_start,
        n_minifat,
        _ENDOFCHAIN,  # first DIFAT sector
        0,  # number of DIFAT sectors
    ) + struct.pack("<109I", *difat)
    assert len(header) == _SECTOR
    return header + bytes(sectors)
