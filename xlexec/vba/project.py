"""Build an Excel VBA project (``vbaProject.bin``) from plain-text modules, without Excel.

This module turns the text of ``.bas`` standard modules into a ``vbaProject.bin``
that Excel (and LibreOffice) load, and injects it into an ``.xlsx`` written by
openpyxl or XlsxWriter to produce a macro-enabled ``.xlsm``.

The project is written "source only" (the layout that "VBA purging" tools
produce): the ``_VBA_PROJECT`` stream is the 7-byte version-independent header
with no performance cache and every module stream holds nothing but compressed
source (``MODULEOFFSET`` 0).  Office sees version ``0xFFFF``, discards nothing
and recompiles the project from source when the workbook is opened.

What implements which specification section
-------------------------------------------

[MS-OVBA] (Office VBA File Format Structure):

* :func:`compress` / :func:`decompress` -- 2.4.1 Compression and
  Decompression (2.4.1.1 structures, 2.4.1.3.1-5 decompression,
  2.4.1.3.6-19 compression, including the CopyToken help of 2.4.1.3.19).
* :func:`_encrypt_data` / :func:`decrypt_data` -- 2.4.3 Data Encryption, used
  for the ``CMG=``, ``DPB=`` and ``GC=`` lines of the PROJECT stream
  (2.3.1.15-2.3.1.17).
* ``_project_stream`` -- 2.3.1 PROJECT Stream (ProjectProperties, HostExtenders,
  ProjectWorkspace).
* ``_projectwm_stream`` -- 2.3.3 PROJECTwm Stream (NAMEMAP records).
* ``_dir_stream`` -- 2.3.4.2 dir Stream (PROJECTINFORMATION 2.3.4.2.1,
  PROJECTREFERENCES 2.3.4.2.2, PROJECTMODULES 2.3.4.2.3), compressed.
* ``_VBA_PROJECT_STREAM`` -- 2.3.4.1 _VBA_PROJECT Stream (Version 0xFFFF, no
  PerformanceCache).
* module streams -- 2.3.4.3 Module Stream (empty PerformanceCache, compressed
  source code).
* Storage layout -- 2.2 (root storage with ``PROJECT``, ``PROJECTwm`` and the
  ``VBA`` storage holding ``_VBA_PROJECT``, ``dir`` and one stream per module).

[MS-CFB] (Compound File Binary format) -- :func:`write_compound_file`, a small
writer for version-3 files (512-byte sectors): header (2.2), FAT (2.3),
mini FAT and mini stream for streams below the 4096-byte cutoff (2.4, 2.5),
directory entries (2.6) with each storage's children stored as a valid
red-black tree (balanced, black except for an incomplete bottom level).  No
PyPI library is used for this: olefile only reads/patches existing files.

Office Open XML packaging -- :func:`make_xlsm` (content types, the
``vbaProject`` relationship, ``codeName`` on ``workbookPr`` and ``sheetPr``).

Two routes to an ``.xlsm``
--------------------------

1. openpyxl (or any ``.xlsx``)::

       vba = build_vba_project({"SelfTest": src}, document_modules=...)
       make_xlsm("book.xlsx", "book.xlsm", vba)

   or in one go: :func:`make_xlsm_from_modules`, which reads the worksheet list
   from the ``.xlsx`` and creates matching ``ThisWorkbook``/``SheetN`` document
   modules.

2. XlsxWriter can embed the binary itself (the file name must end in
   ``.xlsm``)::

       wb = xlsxwriter.Workbook("book.xlsm")
       ws = wb.add_worksheet("Log")          # codename defaults to Sheet1
       vba = build_vba_project(modules, sheet_codenames=["Sheet1"])
       wb.add_vba_project(io.BytesIO(vba), is_stream=True)
       wb.set_vba_name("ThisWorkbook")        # default once a project is added
       wb.close()

   XlsxWriter gives the N-th worksheet the codename ``SheetN`` unless
   ``worksheet.set_vba_name(...)`` says otherwise; the document modules of the
   project must use the same names.  :func:`add_to_xlsxwriter` does both calls.

Module sources
--------------

``modules`` maps a module name to the text of a standard module, e.g. the
content of an exported ``.bas`` file.  A leading ``Attribute VB_Name = "..."``
line is optional; if present it must name the same module.  The stored source
always starts with ``Attribute VB_Name = "<name>"`` and uses CRLF line
endings; text is encoded in code page 1252 (``PROJECTCODEPAGE`` 1252) and
characters outside cp1252 are rejected.
"""

from __future__ import annotations

import hashlib
import html
import io
import os
import posixpath
import re
import struct
import tempfile
import uuid
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "CODEPAGE",
    "add_to_xlsxwriter",
    "build_vba_project",
    "compress",
    "decompress",
    "decrypt_data",
    "document_module_names",
    "find_soffice",
    "macro_names",
    "make_xlsm",
    "make_xlsm_from_modules",
    "normalize_module_source",
    "run_macro_libreoffice",
    "workbook_sheet_names",
    "write_compound_file",
]

CODEPAGE = 1252
_ENCODING = "cp1252"

# ---------------------------------------------------------------------------
# [MS-OVBA] 2.4.1 Compression and Decompression
# ---------------------------------------------------------------------------

_CHUNK_SIZE = 4096  # decompressed bytes per chunk (2.4.1.1.3)
_MAX_COMPRESSED_CHUNK = 4098  # header (2) + at most 4096 bytes of data (2.4.1.1.4)
_CHUNK_SIGNATURE = 0b011 << 12  # CompressedChunkSignature (2.4.1.1.5)


def _copy_token_help(difference: int) -> tuple[int, int, int]:
    """CopyToken Help (2.4.1.3.19.1).

    ``difference`` is DecompressedCurrent - DecompressedChunkStart (>= 1).
    Returns ``(bit_count, length_mask, maximum_length)``; the offset occupies
    the high ``bit_count`` bits of the token and the length the rest.
    """
    bit_count = max((difference - 1).bit_length(), 4)  # ceil(log2(difference)), min 4
    length_mask = 0xFFFF >> bit_count
    return bit_count, length_mask, length_mask + 3


def decompress(data: bytes) -> bytes:
    """Decompress a CompressedContainer ([MS-OVBA] 2.4.1.3.1).

    Implements 2.4.1.3.2 (CompressedChunk), 2.4.1.3.3 (RawChunk),
    2.4.1.3.4 (TokenSequence) and 2.4.1.3.5 (Token, with the CopyToken
    unpacking of 2.4.1.3.19.2).  A raw (uncompressed) chunk contributes 4096
    bytes, or whatever is left of the container if it ends sooner (see
    :func:`compress` for why a short final raw chunk can occur).

    Raises ``ValueError`` on a malformed container.
    """
    buf = bytes(data)
    if not buf or buf[0] != 0x01:
        raise ValueError("not an MS-OVBA CompressedContainer (signature byte must be 0x01)")
    out = bytearray()
    pos = 1
    end = len(buf)
    while pos < end:
        if pos + 2 > end:
            raise ValueError(f"truncated CompressedChunkHeader at offset {pos}")
        (header,) = struct.unpack_from("<H", buf, pos)
        if header & 0x7000 != _CHUNK_SIGNATURE:
            raise ValueError(f"bad CompressedChunkSignature at offset {pos}")
        chunk_size = (header & 0x0FFF) + 3
        compressed = bool(header & 0x8000)
        chunk_end = min(end, pos + chunk_size)
        pos += 2
        if not compressed:
            # 2.4.1.3.3: raw chunk of 4096 bytes
            if chunk_size != _MAX_COMPRESSED_CHUNK:
                raise ValueError("raw chunk with CompressedChunkSize != 4098")
            out += buf[pos : pos + _CHUNK_SIZE]
            pos += _CHUNK_SIZE
            continue
        chunk_start = len(out)  # DecompressedChunkStart
        while pos < chunk_end:
            flags = buf[pos]
            pos += 1
            for bit in range(8):
                if pos >= chunk_end:
                    break
                if not (flags >> bit) & 1:  # literal token
                    out.append(buf[pos])
                    pos += 1
                    continue
                if pos + 2 > chunk_end:
                    raise ValueError(f"truncated CopyToken at offset {pos}")
                (token,) = struct.unpack_from("<H", buf, pos)
                pos += 2
                difference = len(out) - chunk_start
                if difference < 1:
                    raise ValueError("CopyToken at the start of a chunk")
                bit_count, length_mask, _ = _copy_token_help(difference)
                length = (token & length_mask) + 3
                offset = (token >> (16 - bit_count)) + 1
                src = len(out) - offset
                if src < chunk_start:
                    raise ValueError("CopyToken refers before the start of the chunk")
                if offset >= length:
                    out += out[src : src + length]
                else:  # overlapping copy: repeat the last `offset` bytes
                    pattern = bytes(out[src:])
                    reps = -(-length // offset)
                    out += (pattern * reps)[:length]
    return bytes(out)


def _match_length(buf: bytes, cand: int, cur: int, end: int) -> int:
    """Length of the common run of ``buf[cand:]`` and ``buf[cur:]`` bounded by ``end``."""
    limit = end - cur
    n = 0
    step = 16
    while n < limit:
        s = min(step, limit - n)
        if buf[cand + n : cand + n + s] == buf[cur + n : cur + n + s]:
            n += s
            step <<= 1
            continue
        for i in range(s):
            if buf[cand + n + i] != buf[cur + n + i]:
                return n + i
        return n + s  # pragma: no cover - unreachable
    return n


def _compress_chunk(buf: bytes, start: int, end: int) -> bytes:
    """Compress one DecompressedChunk ``buf[start:end]`` (2.4.1.3.7).

    Matching follows 2.4.1.3.19.4 exactly: the longest match (compared
    without the length cap) wins, the nearest candidate wins ties, and a match
    is used only if it is at least 3 bytes long.  Candidates are found through
    3-byte hash chains instead of scanning every earlier position, which gives
    the same result because shorter matches are never used.
    """
    out = bytearray(b"\x00\x00")  # header placeholder
    chains: dict[bytes, list[int]] = {}
    cur = start

    def index_upto(pos_end: int, idx_from: int) -> None:
        for p in range(idx_from, min(pos_end, end - 2)):
            chains.setdefault(buf[p : p + 3], []).append(p)

    indexed = start
    overflow = False
    while cur < end and len(out) < _MAX_COMPRESSED_CHUNK and not overflow:
        # 2.4.1.3.8 TokenSequence: a FlagByte and up to 8 tokens
        flag_index = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if not (cur < end and len(out) < _MAX_COMPRESSED_CHUNK):
                break
            # 2.4.1.3.9 Token; 2.4.1.3.19.4 Matching
            index_upto(cur, indexed)
            indexed = cur
            best_len = 0
            best_cand = -1
            if end - cur >= 3:
                limit = end - cur
                for cand in reversed(chains.get(buf[cur : cur + 3], ())):
                    length = _match_length(buf, cand, cur, end)
                    if length > best_len:
                        best_len, best_cand = length, cand
                        if length == limit:
                            break
            if best_len >= 3:
                if len(out) + 1 >= _MAX_COMPRESSED_CHUNK:  # no room for a 2-byte CopyToken
                    overflow = True
                    break
                bit_count, _, max_len = _copy_token_help(cur - start)
                length = min(best_len, max_len)
                offset = cur - best_cand
                out += struct.pack("<H", ((offset - 1) << (16 - bit_count)) | (length - 3))  # 2.4.1.3.19.3
                flags |= 1 << bit
                cur += length
            else:  # LiteralToken
                out.append(buf[cur])
                cur += 1
        out[flag_index] = flags
    if cur < end:
        # 2.4.1.3.10: the compressed form does not fit -- store a RawChunk
        # (flag 0, CompressedChunkSize 4098).  The spec pads a short final raw
        # chunk with zero bytes, which would append NULs to the decompressed
        # data; we write only the real bytes instead (the container simply ends),
        # which decompressors such as olevba's and ours read back exactly.  This
        # only happens for a final chunk of more than 3640 incompressible bytes,
        # never for VBA source text.
        header = _CHUNK_SIGNATURE | (_MAX_COMPRESSED_CHUNK - 3)
        return struct.pack("<H", header) + buf[start:end]
    header = 0x8000 | _CHUNK_SIGNATURE | (len(out) - 3)
    struct.pack_into("<H", out, 0, header)
    return bytes(out)


def compress(data: bytes) -> bytes:
    """Compress ``data`` into a CompressedContainer ([MS-OVBA] 2.4.1.3.6).

    The output is the signature byte 0x01 followed by one CompressedChunk per
    4096 bytes of input (2.4.1.3.7-2.4.1.3.9, 2.4.1.3.19.3/4).  For the
    examples of [MS-OVBA] 3.2 it produces the byte sequences printed there.
    """
    buf = bytes(data)
    out = bytearray(b"\x01")
    for start in range(0, len(buf), _CHUNK_SIZE):
        out += _compress_chunk(buf, start, min(len(buf), start + _CHUNK_SIZE))
    return bytes(out)


# ---------------------------------------------------------------------------
# [MS-OVBA] 2.4.3 Data Encryption (CMG / DPB / GC obfuscation)
# ---------------------------------------------------------------------------


def _encrypt_data(data: bytes, project_id: str, seed: int) -> str:
    """Encrypt ``data`` as an Encrypted Data Structure (2.4.3.1/2.4.3.2).

    Returns the uppercase hex string used in the PROJECT stream.  ``seed`` is
    the 1-byte Seed; its bits 1-2 give the number of ignored bytes.
    """
    version = 2
    proj_key = sum(project_id.encode("ascii")) & 0xFF
    seed &= 0xFF
    version_enc = seed ^ version
    proj_key_enc = seed ^ proj_key
    out = [seed, version_enc, proj_key_enc]
    unenc1, enc1, enc2 = proj_key, proj_key_enc, version_enc

    def emit(byte: int) -> None:
        nonlocal unenc1, enc1, enc2
        byte_enc = byte ^ ((enc2 + unenc1) & 0xFF)
        out.append(byte_enc)
        enc2, enc1, unenc1 = enc1, byte_enc, byte

    for _ in range((seed & 6) // 2):  # IgnoredEnc: arbitrary bytes
        emit(0x00)
    for b in struct.pack("<I", len(data)):  # DataLengthEnc
        emit(b)
    for b in data:  # DataEnc
        emit(b)
    return bytes(out).hex().upper()


def decrypt_data(hex_text: str) -> tuple[int, bytes]:
    """Decrypt an Encrypted Data Structure (2.4.3.3); returns ``(proj_key, data)``."""
    raw = bytes.fromhex(hex_text)
    seed, version_enc, proj_key_enc = raw[0], raw[1], raw[2]
    if seed ^ version_enc != 2:
        raise ValueError("unsupported encryption version")
    proj_key = seed ^ proj_key_enc
    unenc1, enc1, enc2 = proj_key, proj_key_enc, version_enc
    pos = 3
    decoded = []

    def take() -> int:
        nonlocal unenc1, enc1, enc2, pos
        byte_enc = raw[pos]
        pos += 1
        byte = byte_enc ^ ((enc2 + unenc1) & 0xFF)
        enc2, enc1, unenc1 = enc1, byte_enc, byte
        return byte

    for _ in range((seed & 6) // 2):
        take()
    length = struct.unpack("<I", bytes(take() for _ in range(4)))[0]
    for _ in range(length):
        decoded.append(take())
    if pos != len(raw):
        raise ValueError("trailing bytes after encrypted data")
    return proj_key, bytes(decoded)


# ---------------------------------------------------------------------------
# Module sources
# ---------------------------------------------------------------------------

_IDENT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,30}$")
_VB_NAME_RE = re.compile(r'^\s*Attribute\s+VB_Name\s*=\s*"([^"]*)"\s*$', re.IGNORECASE)
_CLASS_HEADER_RE = re.compile(r"^\s*VERSION\s+\d+\.\d+\s+CLASS\b", re.IGNORECASE)

_WORKBOOK_BASE = "0{00020819-0000-0000-C000-000000000046}"  # Excel Workbook
_WORKSHEET_BASE = "0{00020820-0000-0000-C000-000000000046}"  # Excel Worksheet

_DOCUMENT_ATTRIBUTES = (
    "Attribute VB_GlobalNameSpace = False",
    "Attribute VB_Creatable = False",
    "Attribute VB_PredeclaredId = True",
    "Attribute VB_Exposed = True",
    "Attribute VB_TemplateDerived = False",
    "Attribute VB_Customizable = True",
)


def _check_name(name: str, what: str = "module") -> None:
    if not _IDENT_RE.match(name):
        raise ValueError(
            f"invalid VBA {what} name {name!r}: must start with a letter, contain only "
            "letters, digits and '_', and be at most 31 characters"
        )


def _split_lines(text: str) -> list[str]:
    text = text.lstrip("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def normalize_module_source(name: str, source: str, *, document_base: str | None = None) -> str:
    """Return the source text as stored in the module stream (CRLF line endings).

    The result starts with ``Attribute VB_Name = "<name>"``; for a document
    module (``document_base`` given) the ``VB_Base``/``VB_*`` attribute block
    Excel writes for workbook and sheet modules follows.  A ``VB_Name`` line in
    ``source`` is dropped (``ValueError`` if it names another module), as are
    leading attribute lines of a document module that are regenerated here.
    """
    _check_name(name)
    lines = _split_lines(source)
    if lines and _CLASS_HEADER_RE.match(lines[0]):
        raise ValueError(f"module {name!r}: class modules (.cls with VERSION header) are not supported")
    body: list[str] = []
    header_done = False
    regenerated = {a.split("=")[0].split()[1].lower() for a in _DOCUMENT_ATTRIBUTES} | {"vb_base"}
    for line in lines:
        m = _VB_NAME_RE.match(line)
        if m and not header_done:
            if m.group(1) != name:
                raise ValueError(f"module {name!r}: source declares Attribute VB_Name = {m.group(1)!r}")
            continue
        if not header_done and document_base is not None:
            am = re.match(r"^\s*Attribute\s+(VB_\w+)\s*=", line, re.IGNORECASE)
            if am and am.group(1).lower() in regenerated:
                continue
        header_done = True
        body.append(line)
    while body and body[-1].strip() == "":
        body.pop()
    head = [f'Attribute VB_Name = "{name}"']
    if document_base is not None:
        head.append(f'Attribute VB_Base = "{document_base}"')
        head.extend(_DOCUMENT_ATTRIBUTES)
    text = "\r\n".join(head + body) + "\r\n"
    try:
        text.encode(_ENCODING)
    except UnicodeEncodeError as exc:
        raise ValueError(f"module {name!r}: character {exc.object[exc.start]!r} is not in code page 1252") from exc
    return text


_SUB_RE = re.compile(
    r"^\s*(?:(Public|Private|Friend)\s+)?(?:Static\s+)?Sub\s+([A-Za-z][A-Za-z0-9_]*)\s*\(",
    re.IGNORECASE,
)


def macro_names(modules: Mapping[str, str] | Iterable[str], *, qualified: bool = False) -> list[str]:
    """Names of the public ``Sub`` procedures (the macros a button can call).

    ``modules`` maps module name -> source (a plain iterable of sources also
    works).  ``Sub X(`` and ``Public Sub X(`` (optionally ``Static``) count;
    ``Private``/``Friend`` subs, functions, comments and subs inside
    continued lines do not.  With ``qualified=True`` names are returned as
    ``Module.Sub``.  Order follows the sources; duplicates are dropped.
    """
    if isinstance(modules, Mapping):
        items = list(modules.items())
    else:
        items = [("", src) for src in modules]
    names: list[str] = []
    seen: set[str] = set()
    for mod, src in items:
        prev_continued = False
        for line in _split_lines(src):
            continued = prev_continued
            prev_continued = line.rstrip().endswith(" _")
            if continued:
                continue
            m = _SUB_RE.match(line)
            if not m or (m.group(1) and m.group(1).lower() != "public"):
                continue
            name = f"{mod}.{m.group(2)}" if qualified and mod else m.group(2)
            if name.lower() not in seen:
                seen.add(name.lower())
                names.append(name)
    return names


# ---------------------------------------------------------------------------
# [MS-OVBA] streams
# ---------------------------------------------------------------------------

# 2.3.4.1: Reserved1 0x61CC, Version 0xFFFF, Reserved2 0x00, Reserved3 0x0000.
_VBA_PROJECT_STREAM = struct.pack("<HHBH", 0x61CC, 0xFFFF, 0x00, 0x0000)

_STDOLE_LIBID = (
    "*\\G{00020430-0000-0000-C000-000000000046}#2.0#0#C:\\Windows\\System32\\stdole2.tlb#OLE Automation"
)


@dataclass
class _Module:
    name: str
    source: str  # normalized, CRLF
    document: bool

    @property
    def stream_name(self) -> str:
        return self.name


def _mbcs(text: str) -> bytes:
    return text.encode(_ENCODING)


def _rec(rec_id: int, payload: bytes) -> bytes:
    return struct.pack("<HI", rec_id, len(payload)) + payload


def _dir_stream(project_name: str, modules: Sequence[_Module]) -> bytes:
    """The decompressed ``dir`` stream (2.3.4.2)."""
    d = bytearray()
    # 2.3.4.2.1 PROJECTINFORMATION
    d += _rec(0x0001, struct.pack("<I", 0x00000001))  # PROJECTSYSKIND: 32-bit Windows
    d += _rec(0x0002, struct.pack("<I", 0x0409))  # PROJECTLCID
    d += _rec(0x0014, struct.pack("<I", 0x0409))  # PROJECTLCIDINVOKE
    d += _rec(0x0003, struct.pack("<H", CODEPAGE))  # PROJECTCODEPAGE
    d += _rec(0x0004, _mbcs(project_name))  # PROJECTNAME
    d += _rec(0x0005, b"") + _rec(0x0040, b"")  # PROJECTDOCSTRING (+ unicode)
    d += _rec(0x0006, b"") + _rec(0x003D, b"")  # PROJECTHELPFILEPATH (HelpFile1, HelpFile2)
    d += _rec(0x0007, struct.pack("<I", 0))  # PROJECTHELPCONTEXT
    d += _rec(0x0008, struct.pack("<I", 0))  # PROJECTLIBFLAGS
    # PROJECTVERSION: Reserved (=4, in the "size" position), VersionMajor u32, VersionMinor u16
    d += struct.pack("<HIIH", 0x0009, 0x00000004, 1, 0)
    d += _rec(0x000C, b"") + _rec(0x003C, b"")  # PROJECTCONSTANTS (+ unicode)
    # 2.3.4.2.2 PROJECTREFERENCES: stdole (OLE Automation), as Excel writes it
    d += _rec(0x0016, _mbcs("stdole")) + _rec(0x003E, "stdole".encode("utf-16-le"))  # REFERENCENAME
    libid = _mbcs(_STDOLE_LIBID)
    d += _rec(0x000D, struct.pack("<I", len(libid)) + libid + struct.pack("<IH", 0, 0))  # REFERENCEREGISTERED
    # 2.3.4.2.3 PROJECTMODULES
    d += _rec(0x000F, struct.pack("<H", len(modules)))
    d += _rec(0x0013, struct.pack("<H", 0xFFFF))  # PROJECTCOOKIE
    for m in modules:
        d += _rec(0x0019, _mbcs(m.name))  # MODULENAME
        d += _rec(0x0047, m.name.encode("utf-16-le"))  # MODULENAMEUNICODE
        d += _rec(0x001A, _mbcs(m.stream_name)) + _rec(0x0032, m.stream_name.encode("utf-16-le"))
        d += _rec(0x001C, b"") + _rec(0x0048, b"")  # MODULEDOCSTRING (+ unicode)
        d += _rec(0x0031, struct.pack("<I", 0))  # MODULEOFFSET: source starts at 0
        d += _rec(0x001E, struct.pack("<I", 0))  # MODULEHELPCONTEXT
        d += _rec(0x002C, struct.pack("<H", 0xFFFF))  # MODULECOOKIE
        # MODULETYPE: 0x0021 procedural, 0x0022 document/class; Reserved u32 0
        d += struct.pack("<HI", 0x0022 if m.document else 0x0021, 0)
        d += struct.pack("<HI", 0x002B, 0)  # module Terminator
    d += struct.pack("<HI", 0x0010, 0)  # dir Terminator
    return bytes(d)


def _project_stream(project_name: str, project_id: str, modules: Sequence[_Module], seeds: Sequence[int]) -> bytes:
    """The PROJECT stream (2.3.1), MBCS text with CRLF line endings."""
    lines = [f'ID="{project_id}"']
    for m in modules:
        lines.append(f"Document={m.name}/&H00000000" if m.document else f"Module={m.name}")
    lines += [
        f'Name="{project_name}"',
        'HelpContextID="0"',
        'VersionCompatible32="393222000"',
        f'CMG="{_encrypt_data(bytes(4), project_id, seeds[0])}"',  # ProtectionState: none
        f'DPB="{_encrypt_data(bytes(1), project_id, seeds[1])}"',  # no password
        f'GC="{_encrypt_data(bytes([0xFF]), project_id, seeds[2])}"',  # visible
        "",
        "[Host Extender Info]",
        "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000",
        "",
        "[Workspace]",
    ]
    for m in modules:
        lines.append(f"{m.name}=0, 0, 0, 0, C" if m.document else f"{m.name}=26, 26, 1000, 600, ")
    return _mbcs("\r\n".join(lines) + "\r\n")


def _projectwm_stream(modules: Sequence[_Module]) -> bytes:
    """The PROJECTwm stream (2.3.3): NAMEMAP of MBCS and UTF-16 module names."""
    out = bytearray()
    for m in modules:
        out += _mbcs(m.name) + b"\x00" + m.name.encode("utf-16-le") + b"\x00\x00"
    out += b"\x00\x00"
    return bytes(out)


def build_vba_project(
    modules: Mapping[str, str],
    project_name: str = "VBAProject",
    document_modules: Mapping[str, str] | None = None,
    *,
    sheet_codenames: Sequence[str] | int | None = None,
    workbook_codename: str = "ThisWorkbook",
    project_id: str | None = None,
) -> bytes:
    """Build a source-only ``vbaProject.bin`` (an OLE compound file).

    ``modules``: standard module name -> source (``.bas`` content).

    ``document_modules``: document module codename -> source (``""`` for an
    empty module).  ``workbook_codename`` (default ``ThisWorkbook``) is the
    workbook's module; every other entry is a worksheet module.  If omitted,
    ``ThisWorkbook`` plus one empty module per sheet is created: the sheets are
    ``sheet_codenames`` (a list of codenames, or a count N meaning
    ``Sheet1..SheetN``; default 1).  Those codenames must be the ``codeName``
    of the workbook and its worksheets (see :func:`make_xlsm`).

    ``project_id`` is the ProjectId GUID ``{...}``; by default it is derived
    from the project and module names, and the encryption seeds from the
    content, so equal inputs give byte-identical output.
    """
    _check_name(project_name, "project")
    if document_modules is None:
        if sheet_codenames is None:
            sheet_codenames = 1
        if isinstance(sheet_codenames, int):
            sheet_codenames = [f"Sheet{i}" for i in range(1, sheet_codenames + 1)]
        document_modules = {workbook_codename: ""}
        for cn in sheet_codenames:
            document_modules[cn] = ""
    elif sheet_codenames is not None:
        raise ValueError("give either document_modules or sheet_codenames, not both")
    if workbook_codename not in document_modules:
        raise ValueError(f"document_modules must contain the workbook module {workbook_codename!r}")

    mods: list[_Module] = []
    # Workbook module first, then sheets, then standard modules (Excel's order).
    ordered_docs = [workbook_codename] + [n for n in document_modules if n != workbook_codename]
    for name in ordered_docs:
        base = _WORKBOOK_BASE if name == workbook_codename else _WORKSHEET_BASE
        mods.append(_Module(name, normalize_module_source(name, document_modules[name], document_base=base), True))
    for name, src in modules.items():
        mods.append(_Module(name, normalize_module_source(name, src), False))
    seen: set[str] = set()
    for m in mods:
        if m.name.lower() in seen:
            raise ValueError(f"duplicate module name {m.name!r} (VBA names are case-insensitive)")
        if m.name.lower() in {"dir", "_vba_project", "__srp_0", "__srp_1", "__srp_2", "__srp_3"}:
            raise ValueError(f"module name {m.name!r} clashes with a VBA storage stream")
        seen.add(m.name.lower())

    digest = hashlib.sha256()
    digest.update(project_name.encode())
    for m in mods:
        digest.update(b"\x00" + m.name.encode() + b"\x00" + m.source.encode(_ENCODING))
    if project_id is None:
        project_id = "{" + str(uuid.UUID(bytes=digest.digest()[:16], version=4)).upper() + "}"
    elif not re.fullmatch(r"\{[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}\}", project_id):
        raise ValueError("project_id must look like {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}")
    seeds = digest.digest()[16:19]

    vba_children = {
        "_VBA_PROJECT": _VBA_PROJECT_STREAM,
        "dir": compress(_dir_stream(project_name, mods)),
    }
    for m in mods:
        vba_children[m.stream_name] = compress(_mbcs(m.source))  # 2.3.4.3, PerformanceCache empty
    tree = {
        "PROJECT": _project_stream(project_name, project_id, mods, seeds),
        "PROJECTwm": _projectwm_stream(mods),
        "VBA": vba_children,
    }
    return write_compound_file(tree)


def document_module_names(vba_bin: bytes) -> list[str]:
    """The ``Document=`` module names listed in a vbaProject.bin's PROJECT stream."""
    import olefile  # read-only use; olefile is a dependency of oletools

    with olefile.OleFileIO(io.BytesIO(vba_bin)) as ole:
        text = ole.openstream("PROJECT").read().decode(_ENCODING, errors="replace")
    names = []
    for line in text.splitlines():
        if line.startswith("["):
            break
        key, _, value = line.partition("=")
        if key.strip().lower() == "document":
            names.append(value.split("/", 1)[0].strip())
    return names


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


def write_compound_file(tree: Mapping[str, object]) -> bytes:
    """Serialize a storage tree as a version-3 compound file ([MS-CFB]).

    ``tree`` maps names to ``bytes`` (streams) or nested mappings (storages).
    Streams shorter than 4096 bytes go to the mini stream (64-byte mini
    sectors, mini FAT), the rest to regular 512-byte sectors.  Layout: regular
    streams, mini stream, mini FAT, directory, FAT.  Files needing more than
    109 FAT sectors (about 7 MB) are not supported (no DIFAT sectors).
    """
    entries: list[_Entry] = [_Entry("Root Entry", 5)]

    def add(parent: int, items: Mapping[str, object]) -> None:
        kids = []
        for name, value in items.items():
            if len(name) > 31 or any(c in name for c in "/\\:!"):
                raise ValueError(f"invalid compound file entry name {name!r}")
            idx = len(entries)
            if isinstance(value, Mapping):
                entries.append(_Entry(name, 1))
                add(idx, value)
            else:
                entries.append(_Entry(name, 2, data=bytes(value)))  # type: ignore[arg-type]
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


# ---------------------------------------------------------------------------
# .xlsx -> .xlsm
# ---------------------------------------------------------------------------

_CT_WORKBOOK_MACRO = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
_CT_WORKBOOK_TEMPLATE_MACRO = "application/vnd.ms-excel.template.macroEnabled.main+xml"
_CT_VBA = "application/vnd.ms-office.vbaProject"
_REL_VBA = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
_REL_OFFICE_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_REL_WORKSHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"

_ATTR_RE = re.compile(r'([\w:.-]+)\s*=\s*("[^"]*"|\'[^\']*\')')


def _attrs(tag: str) -> dict[str, str]:
    return {k: html.unescape(v[1:-1]) for k, v in _ATTR_RE.findall(tag)}


def _set_attr(tag: str, name: str, value: str) -> str:
    """Set attribute ``name`` on a start/empty tag string ``<x ...>`` / ``<x .../>``."""
    value = html.escape(value, quote=True)
    pat = re.compile(r"(\s" + re.escape(name) + r"\s*=\s*)(\"[^\"]*\"|'[^']*')")
    if pat.search(tag):
        return pat.sub(lambda m: f'{m.group(1)}"{value}"', tag, count=1)
    end = -2 if tag.endswith("/>") else -1
    return tag[:end].rstrip() + f' {name}="{value}"' + tag[end:]


def _tag_re(local: str) -> re.Pattern[str]:
    # start or empty tag with an optional namespace prefix
    return re.compile(r"<(?:[\w.-]+:)?" + local + r"(?=[\s/>])[^>]*>")


def _rels_path(part: str) -> str:
    d, f = posixpath.split(part)
    return posixpath.join(d, "_rels", f + ".rels")


def _resolve(base_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_part), target))


def _relationships(xml: str) -> list[dict[str, str]]:
    return [_attrs(m.group(0)) for m in _tag_re("Relationship").finditer(xml)]


def _prefix_of(xml: str, local: str) -> str:
    m = re.search(r"<([\w.-]+:)?" + local + r"[\s/>]", xml)
    return (m.group(1) or "") if m else ""


def _set_workbook_codename(xml: str, codename: str) -> str:
    m = _tag_re("workbookPr").search(xml)
    if m:
        return xml[: m.start()] + _set_attr(m.group(0), "codeName", codename) + xml[m.end() :]
    # CT_Workbook order: fileVersion?, fileSharing?, workbookPr?, ...
    prefix = _prefix_of(xml, "workbook")
    new = f'<{prefix}workbookPr codeName="{codename}"/>'
    anchor = None
    for local in ("fileSharing", "fileVersion"):
        am = re.search(r"<(?:[\w.-]+:)?" + local + r"(?=[\s/>])[^>]*?(/>|>.*?</(?:[\w.-]+:)?" + local + ">)", xml, re.DOTALL)
        if am:
            anchor = am.end()
            break
    if anchor is None:
        wm = _tag_re("workbook").search(xml)
        if not wm:
            raise ValueError("workbook part has no <workbook> element")
        anchor = wm.end()
    return xml[:anchor] + new + xml[anchor:]


def _set_sheet_codename(xml: str, codename: str) -> str:
    m = _tag_re("sheetPr").search(xml)
    if m:
        return xml[: m.start()] + _set_attr(m.group(0), "codeName", codename) + xml[m.end() :]
    wm = _tag_re("worksheet").search(xml)
    if not wm:
        raise ValueError("worksheet part has no <worksheet> element")
    if wm.group(0).endswith("/>"):
        raise ValueError("empty <worksheet/> element")
    prefix = _prefix_of(xml, "worksheet")
    return xml[: wm.end()] + f'<{prefix}sheetPr codeName="{codename}"/>' + xml[wm.end() :]


def _workbook_sheets(files: Mapping[str, bytes]) -> tuple[str, list[tuple[str, str]]]:
    """Return the workbook part name and ``[(sheet name, worksheet part)]`` in order."""
    root_rels = files["_rels/.rels"].decode("utf-8")
    wb_part = next(
        (_resolve("", r["Target"]) for r in _relationships(root_rels) if r.get("Type") == _REL_OFFICE_DOC),
        None,
    )
    if wb_part is None or wb_part not in files:
        raise ValueError("package has no workbook part")
    wb_rels = {r["Id"]: r for r in _relationships(files[_rels_path(wb_part)].decode("utf-8"))}
    sheets = []
    for m in _tag_re("sheet").finditer(files[wb_part].decode("utf-8")):
        a = _attrs(m.group(0))
        rid = next((v for k, v in a.items() if k.endswith(":id") or k == "id"), None)
        rel = wb_rels.get(rid or "")
        if rel is None or rel.get("Type") != _REL_WORKSHEET:
            continue  # chartsheets / dialog sheets are left alone
        sheets.append((a["name"], _resolve(wb_part, rel["Target"])))
    return wb_part, sheets


def workbook_sheet_names(xlsx_path: str | os.PathLike[str]) -> list[str]:
    """Names of the worksheets of an ``.xlsx``/``.xlsm`` in workbook order."""
    with zipfile.ZipFile(xlsx_path) as zf:
        files = {n: zf.read(n) for n in ("_rels/.rels",)}
        root_rels = files["_rels/.rels"].decode("utf-8")
        wb_part = next(_resolve("", r["Target"]) for r in _relationships(root_rels) if r.get("Type") == _REL_OFFICE_DOC)
        files[wb_part] = zf.read(wb_part)
        files[_rels_path(wb_part)] = zf.read(_rels_path(wb_part))
    return [name for name, _ in _workbook_sheets(files)[1]]


def make_xlsm(
    xlsx_path_in: str | os.PathLike[str],
    xlsm_path_out: str | os.PathLike[str],
    vba_bin: bytes,
    sheet_codenames: Mapping[str, str] | None = None,
    *,
    workbook_codename: str = "ThisWorkbook",
    check_modules: bool = True,
) -> None:
    """Turn an ``.xlsx`` into a macro-enabled ``.xlsm`` carrying ``vba_bin``.

    Works on the zip/XML level (no round trip through a spreadsheet library):
    adds ``xl/vbaProject.bin`` (replacing an existing project), switches the
    workbook content type to ``application/vnd.ms-excel.sheet.macroEnabled.main+xml``,
    adds an Override ``application/vnd.ms-office.vbaProject`` for the binary,
    the workbook relationship of type ``.../2006/relationships/vbaProject`` and
    ``codeName`` attributes on ``workbookPr`` and on each worksheet's ``sheetPr``.

    ``sheet_codenames`` maps worksheet name -> codename; worksheets not listed
    get ``Sheet<N>`` by position (1-based), as Excel and XlsxWriter do.  With
    ``check_modules`` every codename must be a ``Document=`` module of the
    project and vice versa (Excel expects exactly one document module per
    sheet plus the workbook's).  The result is written to a temporary file
    next to ``xlsm_path_out`` and moved into place with :func:`os.replace`;
    ``xlsx_path_in`` may equal ``xlsm_path_out``.
    """
    out_path = os.fspath(xlsm_path_out)
    if not out_path.lower().endswith((".xlsm", ".xltm")):
        raise ValueError("Excel only opens macro-enabled workbooks with an .xlsm (or .xltm) extension")
    _check_name(workbook_codename, "codename")
    with zipfile.ZipFile(xlsx_path_in) as zin:
        infos = zin.infolist()
        files = {i.filename: zin.read(i.filename) for i in infos}

    wb_part, sheets = _workbook_sheets(files)
    sheet_codenames = dict(sheet_codenames or {})
    unknown = set(sheet_codenames) - {n for n, _ in sheets}
    if unknown:
        raise ValueError(f"sheet_codenames names unknown worksheets: {sorted(unknown)}")
    codes = {name: sheet_codenames.get(name, f"Sheet{i}") for i, (name, _) in enumerate(sheets, 1)}
    for cn in codes.values():
        _check_name(cn, "codename")
    all_codes = [workbook_codename, *codes.values()]
    if len({c.lower() for c in all_codes}) != len(all_codes):
        raise ValueError(f"codenames are not unique: {all_codes}")
    if check_modules:
        docs = document_module_names(vba_bin)
        if {d.lower() for d in docs} != {c.lower() for c in all_codes}:
            raise ValueError(
                f"document modules of the VBA project {sorted(docs)} do not match the "
                f"workbook/sheet codenames {sorted(all_codes)}"
            )

    changed: dict[str, bytes] = {}

    # workbook relationships: reuse an existing vbaProject relationship's target
    rels_name = _rels_path(wb_part)
    rels = files[rels_name].decode("utf-8")
    existing = _relationships(rels)
    vba_rel = next((r for r in existing if r.get("Type") == _REL_VBA), None)
    if vba_rel is not None:
        vba_part = _resolve(wb_part, vba_rel["Target"])
    else:
        vba_part = posixpath.join(posixpath.dirname(wb_part), "vbaProject.bin")
        ids = {r.get("Id") for r in existing}
        n = 1
        while f"rId{n}" in ids:
            n += 1
        r_prefix = _prefix_of(rels, "Relationships")
        close = rels.rindex("</" + r_prefix + "Relationships>")
        target = posixpath.relpath(vba_part, posixpath.dirname(wb_part))
        rel = f'<{r_prefix}Relationship Id="rId{n}" Type="{_REL_VBA}" Target="{target}"/>'
        changed[rels_name] = (rels[:close] + rel + rels[close:]).encode("utf-8")

    # [Content_Types].xml: macro-enabled workbook type + an Override for the binary
    ct = files["[Content_Types].xml"].decode("utf-8")
    wb_partname = "/" + wb_part
    for m in _tag_re("Override").finditer(ct):
        a = _attrs(m.group(0))
        if a.get("PartName", "").lower() == wb_partname.lower():
            new_type = _CT_WORKBOOK_TEMPLATE_MACRO if "template" in a.get("ContentType", "") else _CT_WORKBOOK_MACRO
            ct = ct[: m.start()] + _set_attr(m.group(0), "ContentType", new_type) + ct[m.end() :]
            break
    else:
        raise ValueError("[Content_Types].xml has no Override for the workbook part")
    ct = _tag_re("Override").sub(
        lambda m: "" if _attrs(m.group(0)).get("PartName", "").lower() == "/" + vba_part.lower() else m.group(0),
        ct,
    )
    ct_prefix = _prefix_of(ct, "Types")
    close = ct.rindex("</" + ct_prefix + "Types>")
    ct = ct[:close] + f'<{ct_prefix}Override PartName="/{vba_part}" ContentType="{_CT_VBA}"/>' + ct[close:]
    changed["[Content_Types].xml"] = ct.encode("utf-8")

    # codeName attributes
    changed[wb_part] = _set_workbook_codename(files[wb_part].decode("utf-8"), workbook_codename).encode("utf-8")
    for name, part in sheets:
        changed[part] = _set_sheet_codename(files[part].decode("utf-8"), codes[name]).encode("utf-8")

    out_dir = os.path.dirname(os.path.abspath(out_path))
    fd, tmp = tempfile.mkstemp(prefix=".xlsm-", suffix=".tmp", dir=out_dir)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in infos:
                if info.filename == vba_part:
                    continue
                data = changed.get(info.filename, files[info.filename])
                zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                zi.compress_type = zipfile.ZIP_DEFLATED
                zi.external_attr = info.external_attr
                zout.writestr(zi, data)
            zi = zipfile.ZipInfo(vba_part, date_time=infos[0].date_time if infos else (1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(zi, vba_bin)
        os.replace(tmp, out_path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def make_xlsm_from_modules(
    xlsx_path_in: str | os.PathLike[str],
    xlsm_path_out: str | os.PathLike[str],
    modules: Mapping[str, str],
    *,
    project_name: str = "VBAProject",
    sheet_codenames: Mapping[str, str] | None = None,
    document_sources: Mapping[str, str] | None = None,
) -> bytes:
    """Build the VBA project for an ``.xlsx`` and write the ``.xlsm``; returns the binary.

    Document modules are created for ``ThisWorkbook`` and every worksheet
    (codenames from ``sheet_codenames`` or ``Sheet<N>``); ``document_sources``
    may give source for some of them (by codename).
    """
    names = workbook_sheet_names(xlsx_path_in)
    sheet_codenames = dict(sheet_codenames or {})
    docs: dict[str, str] = {"ThisWorkbook": ""}
    for i, name in enumerate(names, 1):
        docs[sheet_codenames.get(name, f"Sheet{i}")] = ""
    for cn, src in (document_sources or {}).items():
        if cn not in docs:
            raise ValueError(f"document_sources names unknown codename {cn!r}")
        docs[cn] = src
    vba = build_vba_project(modules, project_name, docs)
    make_xlsm(xlsx_path_in, xlsm_path_out, vba, sheet_codenames)
    return vba


def add_to_xlsxwriter(workbook: object, vba_bin: bytes, *, workbook_codename: str = "ThisWorkbook") -> None:
    """Attach ``vba_bin`` to an ``xlsxwriter.Workbook`` (whose file name ends in ``.xlsm``).

    Worksheets keep XlsxWriter's default codenames (``Sheet<N>``) unless set
    with ``worksheet.set_vba_name``; build the project with matching
    ``sheet_codenames``.
    """
    workbook.add_vba_project(io.BytesIO(vba_bin), is_stream=True)  # type: ignore[attr-defined]
    workbook.set_vba_name(workbook_codename)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------
# Running a macro in LibreOffice (headless), for smoke tests and CI
# ---------------------------------------------------------------------------

_LO_REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" \
oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" \
oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Filter/Import/VBA"><prop oor:name="Load" \
oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Filter/Import/VBA"><prop oor:name="Executable" \
oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Filter/Import/VBA"><prop oor:name="Save" \
oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" \
oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""

_LO_XLC = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE library:libraries PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "libraries.dtd">
<library:libraries xmlns:library="http://openoffice.org/2000/library" xmlns:xlink="http://www.w3.org/1999/xlink">
 <library:library library:name="Standard" library:link="false"/>
</library:libraries>
"""

_LO_XLB = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE library:library PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "library.dtd">
<library:library xmlns:library="http://openoffice.org/2000/library" library:name="Standard" \
library:readonly="false" library:passwordprotected="false">{elements}</library:library>
"""

_LO_RUNNER = """Sub Main
    Dim sStatus As String
    Dim oDoc As Object
    Dim oScript As Object
    On Error GoTo Failed
    Dim aArgs(1) As New com.sun.star.beans.PropertyValue
    aArgs(0).Name = "MacroExecutionMode"
    aArgs(0).Value = 4 ' com.sun.star.document.MacroExecMode.ALWAYS_EXECUTE_NO_WARN
    aArgs(1).Name = "Hidden"
    aArgs(1).Value = True
    sStatus = "ERROR could not load the document"
    oDoc = StarDesktop.loadComponentFromURL("{doc_url}", "_blank", 0, aArgs())
    sStatus = "ERROR could not resolve the macro"
    oScript = oDoc.getScriptProvider().getScript("{script_url}")
    sStatus = "ERROR macro raised an error"
    oScript.invoke(Array(), Array(), Array())
    sStatus = "OK"
    GoTo Finish
Failed:
    sStatus = sStatus & ": " & Err & " " & Error$
    Resume Finish
Finish:
    On Error Resume Next
    If Not IsNull(oDoc) Then oDoc.close(True)
    Dim iFile As Integer
    iFile = FreeFile
    Open "{status_path}" For Output As #iFile
    Print #iFile, sStatus
    Close #iFile
End Sub
"""


def find_soffice() -> str | None:
    """Path of the LibreOffice ``soffice`` executable, or ``None``."""
    import shutil

    for name in ("soffice", "libreoffice"):
        path = shutil.which(name)
        if path:
            return path
    for path in (
        "/usr/bin/soffice",
        "/usr/lib/libreoffice/program/soffice",
        "/opt/libreoffice/program/soffice",
        "/Applications/LibreOffice.app/Contents/MacOS/soffice",
        r"C:\\Program Files\\LibreOffice\\program\\soffice.exe",
    ):
        if os.path.exists(path):
            return path
    return None


def _basic_str(text: str) -> str:
    return text.replace('"', '""')


def _run_soffice(cmd: list[str], timeout: float) -> tuple[int, str]:
    """Run soffice in its own process group; kill the whole group on timeout."""
    import signal
    import subprocess

    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # own process group: soffice (oosplash) + soffice.bin
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        proc.communicate()
        raise
    return proc.returncode, out.decode("utf-8", errors="replace")


def run_macro_libreoffice(
    doc_path: str | os.PathLike[str],
    macro: str,
    *,
    library: str = "VBAProject",
    soffice: str | None = None,
    timeout: float = 120,
) -> str:
    """Run the VBA ``macro`` ("Module.Sub") of ``doc_path`` in headless LibreOffice.

    LibreOffice converts the VBA project on load into the document Basic
    library named after the project (``PROJECTNAME``, default ``VBAProject``)
    with ``Option VBASupport 1``.  A throw-away user profile
    (``-env:UserInstallation``) gets macro security level 0 and an
    application-level Basic runner, started as::

        soffice --headless --norestore --nologo -env:UserInstallation=file:///tmp/... \\
            "vnd.sun.star.script:Standard.XlexecRunner.Main?language=Basic&location=application"

    The runner loads the document hidden with ``MacroExecutionMode`` =
    ALWAYS_EXECUTE_NO_WARN, calls
    ``vnd.sun.star.script:<library>.<Module>.<Sub>?language=Basic&location=document``
    through the document's script provider, closes it and writes a status
    line.  (Passing that document URL straight on the soffice command line
    does not work: the command-line dispatch has no document context.)

    Returns the soffice output; raises ``RuntimeError`` if the macro could
    not be run or raised, and ``subprocess.TimeoutExpired`` after ``timeout``
    seconds (the soffice process group is killed first).

    Note: ``ThisWorkbook.Save`` dispatches ``.uno:Save`` in LibreOffice, which
    crashes headless LibreOffice 7.4; a macro that must persist its changes
    should use ``ThisWorkbook.Close SaveChanges:=True`` (a direct store).
    """
    soffice = soffice or find_soffice()
    if not soffice:
        raise FileNotFoundError("LibreOffice (soffice) not found")
    module, _, sub = macro.partition(".")
    if not sub:
        raise ValueError("macro must be 'Module.Sub'")
    for part in (library, module, sub):
        _check_name(part, "macro part")
    doc = os.path.abspath(doc_path)
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="xlexec-lo-") as tmp:
        profile = Path(tmp, "profile")
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(_LO_REGISTRY, encoding="utf-8")
        base_cmd = [
            soffice,
            "--headless",
            "--norestore",
            "--nologo",
            "--nolockcheck",
            f"-env:UserInstallation={profile.as_uri()}",
        ]
        # 1) let LibreOffice initialise the fresh profile (on first start it
        #    copies its preset Basic libraries over user/basic); our settings
        #    in registrymodifications.xcu are kept.
        _run_soffice([*base_cmd, "--terminate_after_init"], timeout)
        # 2) install the runner as application Basic (library Standard)
        basic = profile / "user" / "basic"
        (basic / "Standard").mkdir(parents=True, exist_ok=True)
        (basic / "script.xlc").write_text(_LO_XLC, encoding="utf-8")
        (basic / "dialog.xlc").write_text(_LO_XLC, encoding="utf-8")
        (basic / "Standard" / "dialog.xlb").write_text(_LO_XLB.format(elements=""), encoding="utf-8")
        (basic / "Standard" / "script.xlb").write_text(
            _LO_XLB.format(elements='\n <library:element library:name="XlexecRunner"/>\n'), encoding="utf-8"
        )
        status_path = Path(tmp, "status.txt")
        code = _LO_RUNNER.format(
            doc_url=_basic_str(Path(doc).as_uri()),
            script_url=_basic_str(f"vnd.sun.star.script:{library}.{module}.{sub}?language=Basic&location=document"),
            status_path=_basic_str(str(status_path)),
        )
        (basic / "Standard" / "XlexecRunner.xba").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">\n'
            '<script:module xmlns:script="http://openoffice.org/2000/script" script:name="XlexecRunner" '
            'script:language="StarBasic">' + html.escape(code, quote=True) + "</script:module>\n",
            encoding="utf-8",
        )
        # 3) run it
        returncode, out = _run_soffice(
            [*base_cmd, "vnd.sun.star.script:Standard.XlexecRunner.Main?language=Basic&location=application"],
            timeout,
        )
        output = out
        status = status_path.read_text(errors="replace").strip() if status_path.exists() else ""
        if status != "OK":
            raise RuntimeError(
                f"LibreOffice did not run {library}.{macro}: status={status or '(none)'!r}, "
                f"exit code {returncode}, output:\n{output}"
            )
        return output
