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

A library of its own (it imports nothing of xlexec): this module is its public face (every
name below is importable from here), the work is done by small modules:

[MS-OVBA] (Office VBA File Format Structure):

* :mod:`xlexec.vba.compression` -- :func:`compress` / :func:`decompress`: 2.4.1 Compression and
  Decompression (2.4.1.1 structures, 2.4.1.3.1-5 decompression,
  2.4.1.3.6-19 compression, including the CopyToken help of 2.4.1.3.19).
* :mod:`xlexec.vba.encryption` -- ``_encrypt_data`` / :func:`decrypt_data`: 2.4.3 Data
  Encryption, used for the ``CMG=``, ``DPB=`` and ``GC=`` lines of the PROJECT stream
  (2.3.1.15-2.3.1.17).
* :mod:`xlexec.vba.modules` -- module sources as stored (``Attribute VB_Name``, CRLF, cp1252;
  2.3.4.2.3), the document modules' attributes, class modules (``.cls``:
  :func:`normalize_class_source`), :func:`macro_names`,
  :func:`document_module_names` (the PROJECT stream's ``Document=`` lines, 2.3.1.6).
* this module -- ``_project_stream``: 2.3.1 PROJECT Stream (ProjectProperties,
  HostExtenders, ProjectWorkspace); ``_projectwm_stream``: 2.3.3 PROJECTwm Stream (NAMEMAP
  records); ``_dir_stream``: 2.3.4.2 dir Stream (PROJECTINFORMATION 2.3.4.2.1,
  PROJECTREFERENCES 2.3.4.2.2, PROJECTMODULES 2.3.4.2.3), compressed;
  ``_VBA_PROJECT_STREAM``: 2.3.4.1 _VBA_PROJECT Stream (Version 0xFFFF, no
  PerformanceCache); module streams: 2.3.4.3 Module Stream (empty PerformanceCache,
  compressed source code); the storage layout of 2.2 (root storage with ``PROJECT``,
  ``PROJECTwm`` and the ``VBA`` storage holding ``_VBA_PROJECT``, ``dir`` and one stream per
  module): :func:`build_vba_project`.

[MS-CFB] (Compound File Binary format) -- :mod:`xlexec.vba.cfb`, :func:`write_compound_file`,
a small writer for version-3 files (512-byte sectors): header (2.2), FAT (2.3),
mini FAT and mini stream for streams below the 4096-byte cutoff (2.4, 2.5),
directory entries (2.6) with each storage's children stored as a valid
red-black tree (balanced, black except for an incomplete bottom level).  No
PyPI library is used for this: olefile only reads/patches existing files.

Office Open XML packaging -- :mod:`xlexec.vba.xlsm`, :func:`make_xlsm` (content types, the
``vbaProject`` relationship, ``codeName`` on ``workbookPr`` and ``sheetPr``),
:func:`add_to_xlsxwriter`; :func:`make_xlsm_from_modules` (here) does both steps.

Running a macro headless -- :mod:`xlexec.vba.libreoffice` (:func:`find_soffice`,
:func:`run_macro_libreoffice`), for smoke tests and CI.

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
import os
import re
import struct
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from xlexec.vba.cfb import StorageTree, write_compound_file
from xlexec.vba.compression import compress, decompress
from xlexec.vba.encryption import _encrypt_data, decrypt_data
from xlexec.vba.libreoffice import find_soffice, run_macro_libreoffice
from xlexec.vba.modules import (
    _ENCODING,
    _WORKBOOK_BASE,
    _WORKSHEET_BASE,
    CODEPAGE,
    _check_name,
    document_module_names,
    macro_names,
    normalize_class_source,
    normalize_module_source,
)
from xlexec.vba.xlsm import add_to_xlsxwriter, make_xlsm, workbook_sheet_names

__all__ = [
    "CODEPAGE",
    "OFFICE_REFERENCE",
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
    "normalize_class_source",
    "normalize_module_source",
    "run_macro_libreoffice",
    "workbook_sheet_names",
    "write_compound_file",
]


# ---------------------------------------------------------------------------
# [MS-OVBA] streams
# ---------------------------------------------------------------------------

# 2.3.4.1: Reserved1 0x61CC, Version 0xFFFF, Reserved2 0x00, Reserved3 0x0000.
_VBA_PROJECT_STREAM = struct.pack("<HHBH", 0x61CC, 0xFFFF, 0x00, 0x0000)

_STDOLE_LIBID = "*\\G{00020430-0000-0000-C000-000000000046}#2.0#0#C:\\Windows\\System32\\stdole2.tlb#OLE Automation"
# The Microsoft Office Object Library (``IRibbonControl``, ``CommandBars``): version 2.0 of its type
# library, which VBA resolves to the newest installed 2.x (Office 2016+ registers 2.8).
OFFICE_REFERENCE = (
    "Office",
    "*\\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#"
    "C:\\Program Files\\Common Files\\Microsoft Shared\\OFFICE16\\MSO.DLL#Microsoft Office 16.0 Object Library",
)


@dataclass
class _Module:
    name: str
    source: str  # normalized, CRLF
    kind: str  # "document" (ThisWorkbook, SheetN), "standard" (.bas) or "class" (.cls)

    @property
    def document(self) -> bool:
        return self.kind == "document"

    @property
    def stream_name(self) -> str:
        return self.name


def _mbcs(text: str) -> bytes:
    return text.encode(_ENCODING)


def _rec(rec_id: int, payload: bytes) -> bytes:
    return struct.pack("<HI", rec_id, len(payload)) + payload


def _dir_stream(project_name: str, modules: Sequence[_Module], references: Sequence[tuple[str, str]] = ()) -> bytes:
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
    for ref_name, ref_libid in references:  # more registered type libraries (name, LibidReference)
        d += _rec(0x0016, _mbcs(ref_name)) + _rec(0x003E, ref_name.encode("utf-16-le"))
        lib = _mbcs(ref_libid)
        d += _rec(0x000D, struct.pack("<I", len(lib)) + lib + struct.pack("<IH", 0, 0))
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
        d += struct.pack("<HI", 0x0021 if m.kind == "standard" else 0x0022, 0)
        d += struct.pack("<HI", 0x002B, 0)  # module Terminator
    d += struct.pack("<HI", 0x0010, 0)  # dir Terminator
    return bytes(d)


def _project_stream(project_name: str, project_id: str, modules: Sequence[_Module], seeds: Sequence[int]) -> bytes:
    """The PROJECT stream (2.3.1), MBCS text with CRLF line endings."""
    lines = [f'ID="{project_id}"']
    for m in modules:
        lines.append(
            {"document": f"Document={m.name}/&H00000000", "class": f"Class={m.name}"}.get(m.kind, f"Module={m.name}")
        )
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
        lines.append(f"{m.name}=26, 26, 1000, 600, " if m.kind == "standard" else f"{m.name}=0, 0, 0, 0, C")
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
    class_modules: Mapping[str, str] | None = None,
    references: Sequence[tuple[str, str]] = (),
) -> bytes:
    """Build a source-only ``vbaProject.bin`` (an OLE compound file).

    ``modules``: standard module name -> source (``.bas`` content).

    ``class_modules``: class module name -> source (``.cls`` content, its ``VERSION``/``BEGIN``
    header included or not; see :func:`normalize_class_source`), stored after the standard
    modules (``Class=`` lines of the PROJECT stream, MODULETYPE 0x0022).

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

    ``references``: ``(name, LibidReference)`` of type libraries referenced besides stdole
    (e.g. :data:`OFFICE_REFERENCE`, needed by ribbon callbacks typed ``IRibbonControl``).
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
        mods.append(
            _Module(name, normalize_module_source(name, document_modules[name], document_base=base), "document")
        )
    for name, src in modules.items():
        mods.append(_Module(name, normalize_module_source(name, src), "standard"))
    for name, src in (class_modules or {}).items():
        mods.append(_Module(name, normalize_class_source(name, src), "class"))
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

    vba_children: dict[str, bytes] = {
        "_VBA_PROJECT": _VBA_PROJECT_STREAM,
        "dir": compress(_dir_stream(project_name, mods, references)),
    }
    for m in mods:
        vba_children[m.stream_name] = compress(_mbcs(m.source))  # 2.3.4.3, PerformanceCache empty
    tree: StorageTree = {
        "PROJECT": _project_stream(project_name, project_id, mods, seeds),
        "PROJECTwm": _projectwm_stream(mods),
        "VBA": vba_children,
    }
    return write_compound_file(tree)


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
