"""Tests for xlexec.vba.project: MS-OVBA compression, the VBA project
binary, the .xlsx -> .xlsm packaging, and a real run of the macros in
headless LibreOffice."""

from __future__ import annotations

import io
import os
import random
import re
import struct
import zipfile
from pathlib import Path

import olefile
import openpyxl
import pytest

from tests.minimal_book import ROOT_RELS, content_types
from xlexec.vba import project as vp
from xlexec.vba.project import (
    build_vba_project,
    compress,
    decompress,
    decrypt_data,
    macro_names,
    make_xlsm,
    make_xlsm_from_modules,
    normalize_module_source,
    write_compound_file,
)

DATA = Path(__file__).parent / "data" / "vba"
MARKER = "XLEXEC_SELFTEST_OK"


def load_modules() -> dict[str, str]:
    # read bytes: SelfTest.bas has CRLF line endings, XlexecUtil.bas LF
    return {p.stem: p.read_bytes().decode("cp1252") for p in sorted(DATA.glob("*.bas"))}


def canon(src: str) -> str:
    """Compare sources modulo line endings, Attribute lines and trailing blank lines."""
    lines = src.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = [ln for ln in lines if not re.match(r"\s*Attribute\s+VB_", ln)]
    return "\n".join(lines).strip("\n")


# ---------------------------------------------------------------------------
# MS-OVBA 2.4.1 compression
# ---------------------------------------------------------------------------

# [MS-OVBA] 3.2 examples, bytes as printed in the specification.
SPEC_EXAMPLES = [
    pytest.param(  # 3.2.1 No Compression Example
        b"abcdefghijklmnopqrstuv.",
        "01 19 B0 00 61 62 63 64 65 66 67 68 00 69 6A 6B 6C 6D 6E 6F 70 00 71 72 73 74 75 76 2E",
        id="3.2.1-no-compression",
    ),
    pytest.param(  # 3.2.2 Normal Compression Example
        b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa",
        "01 2F B0 00 23 61 61 61 62 63 64 65 82 66 00 70 61 67 68 69 6A 01 38 08 61 6B 6C 00 20 6D 6E 6F"
        " 70 06 71 02 70 04 00 72 73 74 75 76 10 77 78 79 7A 00 2C",
        id="3.2.2-normal-compression",
    ),
    pytest.param(  # 3.2.3 Maximum Compression Example (73 x 'a')
        b"a" * 73,
        "01 03 B0 02 61 45 00",
        id="3.2.3-maximum-compression",
    ),
]


@pytest.mark.parametrize(("plain", "compressed_hex"), SPEC_EXAMPLES)
def test_spec_examples(plain: bytes, compressed_hex: str) -> None:
    compressed = bytes.fromhex(compressed_hex)
    assert decompress(compressed) == plain
    assert compress(plain) == compressed


def test_decompress_spec_decompressed_hex() -> None:
    # 3.2.2 also prints the decompressed bytes
    expected = bytes.fromhex(
        "23 61 61 61 62 63 64 65 66 61 61 61 61 67 68 69 6a 61 61 61 61 61 6B 6C 61 61 61 6D 6E 6F 70 71"
        " 61 61 61 61 61 61 61 61 61 61 61 61 72 73 74 75 76 77 78 79 7A 61 61 61"
    )
    assert decompress(bytes.fromhex(SPEC_EXAMPLES[1].values[1])) == expected


def _roundtrip_inputs() -> list:
    rnd = random.Random(20240601)
    vba = (DATA / "SelfTest.bas").read_bytes()
    return [
        pytest.param(b"", id="empty"),
        pytest.param(b"x", id="one-byte"),
        pytest.param(b"abcabc", id="tiny-repeat"),
        pytest.param(b"a" * 4096, id="one-full-chunk"),
        pytest.param(b"a" * 4097, id="chunk-plus-one"),
        pytest.param(b"a" * 200_000, id="long-run"),
        pytest.param(b"Sub Foo()\r\n    x = x + 1\r\nEnd Sub\r\n" * 3000, id="long-periodic"),
        pytest.param(vba * 200, id="vba-source-x200"),
        pytest.param(bytes(rnd.choice(b"ab") for _ in range(20_000)), id="random-two-letters"),
        pytest.param(bytes(rnd.choice(b"abcd \r\n") for _ in range(30_000)), id="random-small-alphabet"),
        pytest.param(rnd.randbytes(1), id="random-1"),
        pytest.param(rnd.randbytes(3640), id="random-3640"),
        pytest.param(rnd.randbytes(3641), id="random-3641"),
        pytest.param(rnd.randbytes(4095), id="random-4095"),
        pytest.param(rnd.randbytes(4096), id="random-4096"),
        pytest.param(rnd.randbytes(4096 * 5 + 17), id="random-5-chunks"),
        pytest.param(rnd.randbytes(50_000) + b"z" * 10_000 + rnd.randbytes(999), id="random-mixed"),
    ]


@pytest.mark.parametrize("data", _roundtrip_inputs())
def test_roundtrip(data: bytes) -> None:
    c = compress(data)
    assert c[0] == 0x01
    assert decompress(c) == data
    # independent decompressor (oletools' olevba) agrees
    from oletools.olevba import decompress_stream

    if data:
        assert bytes(decompress_stream(bytearray(c))) == data


def test_compression_shrinks_repetitive_input() -> None:
    data = b"Public Sub X()\r\nEnd Sub\r\n" * 1000
    assert len(compress(data)) < len(data) // 10


def test_compressed_chunks_are_well_formed() -> None:
    data = random.Random(1).randbytes(9000) + b"q" * 9000
    c = compress(data)
    pos, chunks = 1, []
    while pos < len(c):
        (hdr,) = struct.unpack_from("<H", c, pos)
        assert (hdr >> 12) & 0b111 == 0b011  # CompressedChunkSignature
        size = (hdr & 0xFFF) + 3
        assert size <= 4098
        chunks.append(bool(hdr & 0x8000))
        pos += size if hdr & 0x8000 else 2 + 4096
    assert pos >= len(c)
    assert chunks[:2] == [False, False]  # random data: raw chunks
    assert chunks[-1] is True  # run of 'q': compressed


@pytest.mark.parametrize(
    "bad",
    [b"", b"\x02\x00\x00", b"\x01\x00\x00", b"\x01\x03\xb0\x01\x00\x00"],
    ids=["empty", "bad-signature-byte", "bad-chunk-signature", "copytoken-at-chunk-start"],
)
def test_decompress_rejects_garbage(bad: bytes) -> None:
    with pytest.raises(ValueError):
        decompress(bad)


# ---------------------------------------------------------------------------
# Module sources and macro names
# ---------------------------------------------------------------------------


def test_normalize_module_source() -> None:
    src = 'Attribute VB_Name = "M1"\nOption Explicit\r\nSub A()\rEnd Sub\n\n\n'
    out = normalize_module_source("M1", src)
    assert out == 'Attribute VB_Name = "M1"\r\nOption Explicit\r\nSub A()\r\nEnd Sub\r\n'
    # VB_Name line is optional
    assert normalize_module_source("M1", "Sub A()\nEnd Sub") == out.replace("Option Explicit\r\n", "")
    with pytest.raises(ValueError, match="VB_Name"):
        normalize_module_source("M2", src)
    with pytest.raises(ValueError, match="code page 1252"):
        normalize_module_source("M1", 'Sub A()\n  x = "\u4e2d"\nEnd Sub')
    with pytest.raises(ValueError, match="invalid VBA module name"):
        normalize_module_source("1bad", "")
    with pytest.raises(ValueError, match="class modules"):
        normalize_module_source("C", "VERSION 1.0 CLASS\nBEGIN\nEND\n")
    doc = normalize_module_source("Sheet1", "", document_base="0{00020820-0000-0000-C000-000000000046}")
    assert doc.startswith('Attribute VB_Name = "Sheet1"\r\nAttribute VB_Base = "0{00020820-')
    assert "Attribute VB_PredeclaredId = True\r\n" in doc


def test_macro_names() -> None:
    mods = load_modules()
    assert macro_names(mods) == ["XlexecSelfTest", "XlexecHello"]
    assert macro_names(mods, qualified=True) == ["SelfTest.XlexecSelfTest", "XlexecUtil.XlexecHello"]
    src = (
        "' Sub Commented()\n"
        "Public Sub A(ByVal x As Long)\nEnd Sub\n"
        "  sub lower_case ()\nEnd Sub\n"
        "Private Sub Hidden()\nEnd Sub\n"
        "Public Static Sub S()\nEnd Sub\n"
        "Function F()\nEnd Function\n"
        "Friend Sub Fr()\nEnd Sub\n"
        "Sub Split(a As String, _\n   b As String)\nEnd Sub\n"
    )
    assert macro_names({"M": src}) == ["A", "lower_case", "S", "Split"]
    assert macro_names([src]) == ["A", "lower_case", "S", "Split"]


# ---------------------------------------------------------------------------
# The vbaProject.bin
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vba_bin() -> bytes:
    return build_vba_project(load_modules(), sheet_codenames=["Sheet1", "Sheet2"])


def _dir_records(dir_stream: bytes) -> list[tuple[int, bytes]]:
    recs, pos = [], 0
    while pos < len(dir_stream):
        rec_id, size = struct.unpack_from("<HI", dir_stream, pos)
        pos += 6
        if rec_id == 0x0009:  # PROJECTVERSION: "size" is Reserved=4, body is 6 bytes
            assert size == 4
            size = 6
        elif rec_id in (0x0021, 0x0022, 0x002B, 0x0010):  # MODULETYPE / terminators: Reserved=0
            assert size == 0
        recs.append((rec_id, dir_stream[pos : pos + size]))
        pos += size
    assert pos == len(dir_stream)
    return recs


def test_vba_project_streams(vba_bin: bytes) -> None:
    ole = olefile.OleFileIO(io.BytesIO(vba_bin), raise_defects=olefile.DEFECT_INCORRECT)
    streams = sorted("/".join(p) for p in ole.listdir())
    assert streams == sorted(
        ["PROJECT", "PROJECTwm", "VBA/_VBA_PROJECT", "VBA/dir"]
        + [f"VBA/{m}" for m in ("ThisWorkbook", "Sheet1", "Sheet2", "SelfTest", "XlexecUtil")]
    )
    # 2.3.4.1: version-independent header, no performance cache
    assert ole.openstream("VBA/_VBA_PROJECT").read() == bytes.fromhex("CC61FFFF000000")

    recs = _dir_records(decompress(ole.openstream("VBA/dir").read()))
    ids = [r for r, _ in recs]
    body = dict(recs)
    assert ids[:4] == [0x0001, 0x0002, 0x0014, 0x0003]
    assert struct.unpack("<H", body[0x0003])[0] == 1252  # PROJECTCODEPAGE
    assert body[0x0004] == b"VBAProject"  # PROJECTNAME
    assert struct.unpack("<H", body[0x000F])[0] == 5  # PROJECTMODULES count
    assert ids[-1] == 0x0010
    names = [d.decode("cp1252") for r, d in recs if r == 0x0019]
    assert names == ["ThisWorkbook", "Sheet1", "Sheet2", "SelfTest", "XlexecUtil"]
    offsets = [struct.unpack("<I", d)[0] for r, d in recs if r == 0x0031]
    assert offsets == [0] * 5  # MODULEOFFSET: source starts at 0
    types = [r for r in ids if r in (0x0021, 0x0022)]
    assert types == [0x0022, 0x0022, 0x0022, 0x0021, 0x0021]

    # module streams hold nothing but compressed source
    mods = load_modules()
    for name, src in mods.items():
        stored = decompress(ole.openstream(f"VBA/{name}").read()).decode("cp1252")
        assert stored.startswith(f'Attribute VB_Name = "{name}"\r\n')
        assert "\n" not in stored.replace("\r\n", "")  # CRLF only
        assert canon(stored) == canon(src)
    wb = decompress(ole.openstream("VBA/ThisWorkbook").read()).decode("cp1252")
    assert 'Attribute VB_Base = "0{00020819-0000-0000-C000-000000000046}"' in wb

    # PROJECTwm: NAMEMAP
    wm = ole.openstream("PROJECTwm").read()
    assert wm.startswith(b"ThisWorkbook\x00" + "ThisWorkbook".encode("utf-16-le") + b"\x00\x00")
    assert wm.endswith(b"XlexecUtil\x00" + "XlexecUtil".encode("utf-16-le") + b"\x00\x00\x00\x00")


def test_project_stream(vba_bin: bytes) -> None:
    ole = olefile.OleFileIO(io.BytesIO(vba_bin))
    text = ole.openstream("PROJECT").read().decode("cp1252")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")
    project_id = re.fullmatch(r'ID="(\{[0-9A-F-]{36}\})"', lines[0]).group(1)
    assert lines[1:6] == [
        "Document=ThisWorkbook/&H00000000",
        "Document=Sheet1/&H00000000",
        "Document=Sheet2/&H00000000",
        "Module=SelfTest",
        "Module=XlexecUtil",
    ]
    assert 'Name="VBAProject"' in lines
    enc = dict(re.findall(r'^(CMG|DPB|GC)="([0-9A-F]+)"', text, re.M))
    key = sum(project_id.encode()) & 0xFF
    assert decrypt_data(enc["CMG"]) == (key, b"\x00\x00\x00\x00")  # not protected
    assert decrypt_data(enc["DPB"]) == (key, b"\x00")  # no password
    assert decrypt_data(enc["GC"]) == (key, b"\xff")  # visible
    assert 22 <= len(enc["CMG"]) <= 28 and 16 <= len(enc["DPB"]) <= 22 and 16 <= len(enc["GC"]) <= 22
    assert vp.document_module_names(vba_bin) == ["ThisWorkbook", "Sheet1", "Sheet2"]


def test_encryption_all_seeds() -> None:
    pid = "{917DED54-440B-4FD1-A5C1-74ACF261E600}"
    for seed in range(256):
        for data in (b"", b"\x00", b"\xff", bytes(range(29))):
            assert decrypt_data(vp._encrypt_data(data, pid, seed)) == (sum(pid.encode()) & 0xFF, data)


def test_build_is_deterministic_and_validates() -> None:
    mods = load_modules()
    assert build_vba_project(mods) == build_vba_project(mods)
    assert build_vba_project(mods) != build_vba_project(mods, project_name="Other")
    with pytest.raises(ValueError, match="duplicate"):
        build_vba_project({"Sheet1": "", "X": ""})
    with pytest.raises(ValueError, match="duplicate"):
        build_vba_project({"a": "", "A": ""})
    with pytest.raises(ValueError, match="workbook module"):
        build_vba_project({}, document_modules={"Sheet1": ""})
    with pytest.raises(ValueError, match="clashes"):
        build_vba_project({"dir": ""})


def test_document_module_source_is_kept() -> None:
    wb_src = "Private Sub Workbook_Open()\n    Debug.Print 1\nEnd Sub\n"
    b = build_vba_project({}, document_modules={"ThisWorkbook": wb_src, "Blotter": ""})
    ole = olefile.OleFileIO(io.BytesIO(b))
    stored = decompress(ole.openstream("VBA/ThisWorkbook").read()).decode("cp1252")
    assert stored.endswith("Private Sub Workbook_Open()\r\n    Debug.Print 1\r\nEnd Sub\r\n")
    assert vp.document_module_names(b) == ["ThisWorkbook", "Blotter"]


# ---------------------------------------------------------------------------
# [MS-CFB] writer
# ---------------------------------------------------------------------------


NOSTREAM = 0xFFFFFFFF


def _cfb_key(name: str) -> tuple[int, str]:
    return (len(name), name.upper())


def _directory(raw: bytes) -> list[dict]:
    """Parse the directory of a version-3 compound file independently of the writer."""
    assert raw[:8] == bytes.fromhex("D0CF11E0A1B11AE1")
    assert struct.unpack_from("<HHHHH", raw, 24) == (0x3E, 3, 0xFFFE, 9, 6)
    (first_dir,) = struct.unpack_from("<I", raw, 48)
    difat = struct.unpack_from("<109I", raw, 76)
    (n_fat,) = struct.unpack_from("<I", raw, 44)
    fat: list[int] = []
    for sect in difat[:n_fat]:
        fat += struct.unpack_from("<128I", raw, 512 * (sect + 1))
    entries, sect = [], first_dir
    while sect != 0xFFFFFFFE:
        block = raw[512 * (sect + 1) : 512 * (sect + 2)]
        for off in range(0, 512, 128):
            e = block[off : off + 128]
            name_len, kind, color, left, right, child = struct.unpack_from("<HBBIII", e, 64)
            name = e[: max(name_len - 2, 0)].decode("utf-16-le")
            entries.append(dict(name=name, kind=kind, black=color == 1, left=left, right=right, child=child))
        sect = fat[sect]
    return entries


def _check_red_black(raw: bytes) -> int:
    """Check every storage's children form a red-black tree ordered per [MS-CFB] 2.6.4."""
    olefile.OleFileIO(io.BytesIO(raw), raise_defects=olefile.DEFECT_INCORRECT)  # independent reader accepts it
    entries = _directory(raw)
    assert entries[0]["name"] == "Root Entry" and entries[0]["kind"] == 5
    trees = 0
    seen: set[int] = set()
    for d in entries:
        if d["kind"] not in (1, 5) or d["child"] == NOSTREAM:
            continue
        trees += 1
        assert entries[d["child"]]["black"]  # root of each tree is black

        def walk(sid: int, lo, hi) -> int:
            if sid == NOSTREAM:
                return 1
            assert sid not in seen
            seen.add(sid)
            e = entries[sid]
            k = _cfb_key(e["name"])
            assert (lo is None or lo < k) and (hi is None or k < hi)  # BST order
            if not e["black"]:
                for child in (e["left"], e["right"]):
                    assert child == NOSTREAM or entries[child]["black"]  # no red-red
            left = walk(e["left"], lo, k)
            right = walk(e["right"], k, hi)
            assert left == right  # equal black height
            return left + e["black"]

        walk(d["child"], None, None)
    used = [i for i, e in enumerate(entries) if e["kind"] != 0]
    assert sorted(seen) == used[1:]  # every entry but the root is in exactly one tree
    return trees


def test_compound_file_roundtrip_and_tree() -> None:
    rnd = random.Random(7)
    tree = {
        "big": rnd.randbytes(70_000),
        "edge4095": b"c" * 4095,  # last mini-stream size
        "edge4096": b"d" * 4096,  # first regular-sector size
        "empty": b"",
        "sub": {f"s{i}": rnd.randbytes(i * 37) for i in range(1, 40)},
    }
    raw = write_compound_file(tree)
    assert len(raw) % 512 == 0 and raw[:8] == bytes.fromhex("D0CF11E0A1B11AE1")
    ole = olefile.OleFileIO(io.BytesIO(raw), raise_defects=olefile.DEFECT_INCORRECT)
    for name, value in tree.items():
        if isinstance(value, dict):
            for sub, data in value.items():
                assert ole.openstream(f"{name}/{sub}").read() == data
        else:
            assert ole.get_size(name) == len(value)
            assert ole.openstream(name).read() == value
    assert _check_red_black(raw) == 2


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 8, 15, 16, 17, 100])
def test_sibling_trees_are_red_black(n: int) -> None:
    raw = write_compound_file({f"Stream{i}": bytes([i % 256]) * (i + 1) for i in range(n)})
    assert _check_red_black(raw) == 1


def test_vba_project_tree_is_red_black(vba_bin: bytes) -> None:
    assert _check_red_black(vba_bin) == 2  # root storage and VBA storage


# ---------------------------------------------------------------------------
# .xlsx -> .xlsm
# ---------------------------------------------------------------------------


def _openpyxl_xlsx(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Blotter"
    ws["A1"] = "symbol"
    wb.create_sheet("Log")
    wb.save(path)
    return path


def _xml(zf: zipfile.ZipFile, name: str) -> str:
    return zf.read(name).decode("utf-8")


def test_make_xlsm_from_openpyxl(tmp_path: Path, vba_bin: bytes) -> None:
    src = _openpyxl_xlsx(tmp_path / "in.xlsx")
    out = tmp_path / "out.xlsm"
    make_xlsm(src, out, vba_bin)
    assert sorted(os.listdir(tmp_path)) == ["in.xlsx", "out.xlsm"]  # no temp files left
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        assert zf.read("xl/vbaProject.bin") == vba_bin
        ct = _xml(zf, "[Content_Types].xml")
        assert (
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"'
            in ct.replace(" />", "/>")
        )
        assert '<Override PartName="/xl/vbaProject.bin" ContentType="application/vnd.ms-office.vbaProject"/>' in ct
        assert "spreadsheetml.sheet.main+xml" not in ct
        rels = _xml(zf, "xl/_rels/workbook.xml.rels")
        assert re.search(
            r'Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"', rels
        )
        assert re.search(r'<workbookPr[^>]*codeName="ThisWorkbook"', _xml(zf, "xl/workbook.xml"))
        assert re.search(r'<sheetPr[^>]*codeName="Sheet1"', _xml(zf, "xl/worksheets/sheet1.xml"))
        assert re.search(r'<sheetPr[^>]*codeName="Sheet2"', _xml(zf, "xl/worksheets/sheet2.xml"))
    # still a valid workbook for openpyxl, which sees the VBA project
    wb = openpyxl.load_workbook(out, keep_vba=True)
    assert wb.sheetnames == ["Blotter", "Log"]
    assert wb["Blotter"]["A1"].value == "symbol"
    assert wb.vba_archive is not None and "xl/vbaProject.bin" in wb.vba_archive.namelist()
    # idempotent on an .xlsm: re-injecting replaces the project instead of duplicating it
    make_xlsm(out, out, vba_bin)
    with zipfile.ZipFile(out) as zf:
        assert zf.namelist().count("xl/vbaProject.bin") == 1
        assert _xml(zf, "[Content_Types].xml").count("vbaProject.bin") == 1
        assert _xml(zf, "xl/_rels/workbook.xml.rels").count("relationships/vbaProject") == 1


def test_make_xlsm_olevba_lists_every_module(tmp_path: Path) -> None:
    from oletools.olevba import VBA_Parser

    mods = load_modules()
    out = tmp_path / "book.xlsm"
    make_xlsm_from_modules(_openpyxl_xlsx(tmp_path / "in.xlsx"), out, mods)
    parser = VBA_Parser(str(out))
    try:
        assert parser.detect_vba_macros()
        found = {
            stream.split("/")[-1]: code for _, stream, _, code in parser.extract_macros() if stream.startswith("VBA/")
        }
    finally:
        parser.close()
    assert set(found) == {"ThisWorkbook", "Sheet1", "Sheet2", *mods}
    for name, src in mods.items():
        assert canon(found[name]) == canon(src), name
    assert canon(found["ThisWorkbook"]) == "" and canon(found["Sheet1"]) == ""


def test_make_xlsm_custom_codenames_and_checks(tmp_path: Path) -> None:
    src = _openpyxl_xlsx(tmp_path / "in.xlsx")
    vba = build_vba_project({}, document_modules={"ThisWorkbook": "", "shBlotter": "", "shLog": ""})
    out = tmp_path / "out.xlsm"
    make_xlsm(src, out, vba, {"Blotter": "shBlotter", "Log": "shLog"})
    with zipfile.ZipFile(out) as zf:
        assert 'codeName="shLog"' in _xml(zf, "xl/worksheets/sheet2.xml")
    with pytest.raises(ValueError, match="do not match"):
        make_xlsm(src, tmp_path / "bad.xlsm", vba)  # default Sheet1/Sheet2 codenames
    with pytest.raises(ValueError, match="unknown worksheets"):
        make_xlsm(src, tmp_path / "bad.xlsm", vba, {"Nope": "shNope"})
    with pytest.raises(ValueError, match=r"\.xlsm"):
        make_xlsm(src, tmp_path / "bad.xlsx", vba)
    assert not (tmp_path / "bad.xlsm").exists()
    assert sorted(os.listdir(tmp_path)) == ["in.xlsx", "out.xlsm"]


def test_make_xlsm_inserts_missing_elements(tmp_path: Path, vba_bin: bytes) -> None:
    """A minimal package without <workbookPr> and <sheetPr> gets both, in schema order."""
    src = tmp_path / "min.xlsx"
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rns = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("[Content_Types].xml", content_types())
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook {ns} {rns}><fileVersion appName="xl"/>'
            '<sheets><sheet name="A &amp; B" sheetId="1" r:id="rId1"/><sheet name="Log" sheetId="2" r:id="rId2"/>'
            "</sheets></workbook>",
        )
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>",
        )
        zf.writestr("xl/worksheets/sheet1.xml", f'<?xml version="1.0"?><worksheet {ns}><sheetData/></worksheet>')
    vba = build_vba_project({}, document_modules={"ThisWorkbook": "", "AB": "", "Sheet2": ""})
    out = tmp_path / "min.xlsm"
    with pytest.raises(ValueError, match="do not match"):
        make_xlsm(src, out, vba)
    # both sheets share one part in this contrived package, so the later codename wins
    make_xlsm(src, out, vba, {"A & B": "AB"})
    with zipfile.ZipFile(out) as zf:
        wb = _xml(zf, "xl/workbook.xml")
        assert '<fileVersion appName="xl"/><workbookPr codeName="ThisWorkbook"/><sheets>' in wb
        assert f'<worksheet {ns}><sheetPr codeName="Sheet2"/><sheetData/>' in _xml(zf, "xl/worksheets/sheet1.xml")
        assert 'Target="vbaProject.bin"' in _xml(zf, "xl/_rels/workbook.xml.rels")
        assert 'Id="rId3"' in _xml(zf, "xl/_rels/workbook.xml.rels")


def test_xlsxwriter_route(tmp_path: Path) -> None:
    import xlsxwriter
    from oletools.olevba import VBA_Parser

    mods = load_modules()
    out = tmp_path / "xw.xlsm"
    wb = xlsxwriter.Workbook(str(out))
    wb.add_worksheet("Blotter")
    wb.add_worksheet("Log")
    vba = build_vba_project(mods, sheet_codenames=2)
    vp.add_to_xlsxwriter(wb, vba)
    wb.close()
    with zipfile.ZipFile(out) as zf:
        assert zf.read("xl/vbaProject.bin") == vba
        assert 'codeName="ThisWorkbook"' in _xml(zf, "xl/workbook.xml")
        assert 'codeName="Sheet2"' in _xml(zf, "xl/worksheets/sheet2.xml")
    parser = VBA_Parser(str(out))
    try:
        names = {s.split("/")[-1] for _, s, _, _ in parser.extract_macros() if s.startswith("VBA/")}
    finally:
        parser.close()
    assert names == {"ThisWorkbook", "Sheet1", "Sheet2", *mods}


def test_make_xlsm_from_xlsxwriter_xlsx(tmp_path: Path, vba_bin: bytes) -> None:
    import xlsxwriter

    src = tmp_path / "xw.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    wb.add_worksheet("Blotter").write("A1", "symbol")
    wb.add_worksheet("Log")
    wb.close()
    out = tmp_path / "xw.xlsm"
    make_xlsm(src, out, vba_bin)
    with zipfile.ZipFile(out) as zf:
        assert re.search(r'<workbookPr[^>]*codeName="ThisWorkbook"', _xml(zf, "xl/workbook.xml"))
        assert re.search(r'<sheetPr[^>]*codeName="Sheet1"', _xml(zf, "xl/worksheets/sheet1.xml"))
    assert openpyxl.load_workbook(out)["Blotter"]["A1"].value == "symbol"


# ---------------------------------------------------------------------------
# LibreOffice: load the .xlsm, convert the VBA, run the self-test Sub
# ---------------------------------------------------------------------------

SOFFICE = vp.find_soffice()
needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")


def _check_marker(path: Path) -> None:
    wb = openpyxl.load_workbook(path)
    assert wb["Log"]["A1"].value == MARKER
    assert wb["Log"]["A2"].value  # Application.Name of the host that ran it


@pytest.mark.slow
@needs_soffice
def test_libreoffice_runs_selftest_openpyxl(tmp_path: Path) -> None:
    out = tmp_path / "selftest.xlsm"
    make_xlsm_from_modules(_openpyxl_xlsx(tmp_path / "in.xlsx"), out, load_modules())
    assert openpyxl.load_workbook(out)["Log"]["A1"].value is None
    vp.run_macro_libreoffice(out, "SelfTest.XlexecSelfTest", soffice=SOFFICE, timeout=120)
    _check_marker(out)


@pytest.mark.slow
@needs_soffice
def test_libreoffice_runs_selftest_xlsxwriter(tmp_path: Path) -> None:
    import xlsxwriter

    out = tmp_path / "selftest-xw.xlsm"
    wb = xlsxwriter.Workbook(str(out))
    wb.add_worksheet("Blotter")
    wb.add_worksheet("Log")
    vp.add_to_xlsxwriter(wb, build_vba_project(load_modules(), project_name="XlexecProject", sheet_codenames=2))
    wb.close()
    vp.run_macro_libreoffice(out, "SelfTest.XlexecSelfTest", library="XlexecProject", soffice=SOFFICE, timeout=120)
    _check_marker(out)


@pytest.mark.slow
@needs_soffice
def test_libreoffice_reports_failures(tmp_path: Path) -> None:
    """The runner must not report success for a missing or failing macro."""
    mods = {"Broken": 'Public Sub Fails()\n    Err.Raise 1234, , "xlexec boom"\nEnd Sub\n'}
    out = tmp_path / "broken.xlsm"
    make_xlsm_from_modules(_openpyxl_xlsx(tmp_path / "in.xlsx"), out, mods)
    with pytest.raises(RuntimeError, match="could not resolve"):
        vp.run_macro_libreoffice(out, "Broken.NoSuchSub", soffice=SOFFICE, timeout=120)
    with pytest.raises(RuntimeError, match="xlexec boom"):
        vp.run_macro_libreoffice(out, "Broken.Fails", soffice=SOFFICE, timeout=120)


# ---------------------------------------------------------------------------
# Class modules (.cls): stored source, PROJECT and dir records, a VBA host that runs them
# ---------------------------------------------------------------------------

COUNTER_CLS = (
    "VERSION 1.0 CLASS\r\n"
    "BEGIN\r\n"
    "  MultiUse = -1  'True\r\n"
    "END\r\n"
    'Attribute VB_Name = "Counter"\r\n'
    "Attribute VB_GlobalNameSpace = False\r\n"
    "Attribute VB_Creatable = False\r\n"
    "Attribute VB_PredeclaredId = False\r\n"
    "Attribute VB_Exposed = True\r\n"
    'Attribute VB_Description = "counts"\r\n'
    "Private n As Long\r\n"
    "Public Sub Add(ByVal k As Long)\r\n"
    "    n = n + k\r\n"
    "End Sub\r\n"
    "Public Property Get Total() As Long\r\n"
    "    Total = n\r\n"
    "End Property\r\n"
)

USES_COUNTER_BAS = (
    'Attribute VB_Name = "UsesCounter"\r\n'
    "Public Sub CountToLog()\r\n"
    "    Dim c As Counter\r\n"
    "    Set c = New Counter\r\n"
    "    c.Add 40\r\n"
    "    c.Add 2\r\n"
    '    ThisWorkbook.Worksheets("Log").Range("A1").Value = "total " & c.Total\r\n'
    "    ThisWorkbook.Close SaveChanges:=True\r\n"
    "End Sub\r\n"
)


def test_class_module_source_is_stored_as_the_vba_editor_stores_it() -> None:
    out = vp.normalize_class_source("Counter", COUNTER_CLS)
    assert out.split("\r\n")[:10] == [
        'Attribute VB_Name = "Counter"',
        'Attribute VB_Base = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"',
        "Attribute VB_GlobalNameSpace = False",
        "Attribute VB_Creatable = False",
        "Attribute VB_PredeclaredId = False",
        "Attribute VB_Exposed = True",
        "Attribute VB_TemplateDerived = False",
        "Attribute VB_Customizable = False",
        'Attribute VB_Description = "counts"',
        "Private n As Long",
    ]
    assert "VERSION" not in out and "MultiUse" not in out
    with pytest.raises(ValueError, match="VB_Name"):
        vp.normalize_class_source("Other", COUNTER_CLS)


def test_class_module_is_a_class_of_the_project() -> None:
    vba = build_vba_project({"UsesCounter": USES_COUNTER_BAS}, class_modules={"Counter": COUNTER_CLS})
    ole = olefile.OleFileIO(io.BytesIO(vba))
    lines = ole.openstream("PROJECT").read().decode("cp1252").split("\r\n")
    assert lines[1:5] == [
        "Document=ThisWorkbook/&H00000000",
        "Document=Sheet1/&H00000000",
        "Module=UsesCounter",
        "Class=Counter",
    ]
    assert "Counter=0, 0, 0, 0, C" in lines
    recs = _dir_records(decompress(ole.openstream("VBA/dir").read()))
    assert [d.decode() for r, d in recs if r == 0x0019] == ["ThisWorkbook", "Sheet1", "UsesCounter", "Counter"]
    assert [r for r, _ in recs if r in (0x0021, 0x0022)] == [0x0022, 0x0022, 0x0021, 0x0022]
    stored = decompress(ole.openstream("VBA/Counter").read()).decode("cp1252")
    assert stored.startswith('Attribute VB_Name = "Counter"\r\nAttribute VB_Base = "0{FCFB3D2A-')


def test_olevba_reads_the_class_module(tmp_path: Path) -> None:
    from oletools.olevba import VBA_Parser

    out = tmp_path / "cls.xlsm"
    vba = build_vba_project(
        {"UsesCounter": USES_COUNTER_BAS}, class_modules={"Counter": COUNTER_CLS}, sheet_codenames=2
    )
    make_xlsm(_openpyxl_xlsx(tmp_path / "in.xlsx"), out, vba)
    parser = VBA_Parser(str(out))
    try:
        found = {name: code for _f, _s, name, code in parser.extract_macros()}
    finally:
        parser.close()
    assert "Counter.cls" in found and "UsesCounter.bas" in found
    assert "Public Property Get Total() As Long" in found["Counter.cls"]


@pytest.mark.slow
@needs_soffice
def test_libreoffice_runs_a_macro_that_uses_the_class(tmp_path: Path) -> None:
    out = tmp_path / "cls.xlsm"
    vba = build_vba_project(
        {"UsesCounter": USES_COUNTER_BAS}, class_modules={"Counter": COUNTER_CLS}, sheet_codenames=2
    )
    make_xlsm(_openpyxl_xlsx(tmp_path / "in.xlsx"), out, vba)
    vp.run_macro_libreoffice(out, "UsesCounter.CountToLog", soffice=SOFFICE, timeout=120)
    assert openpyxl.load_workbook(out)["Log"]["A1"].value == "total 42"
