"""The rectangle a worksheet's XML makes python-calamine allocate (xlexec.excel.sheet_extent).

Every expected figure below is worked out by hand from the XML (or, for the generated sheets,
from the generator's own list of cells), never by the module under test. The placement rules
are calamine's, checked against calamine itself in ``test_calamine_places_cells_as_the_extent_says``.
"""

from __future__ import annotations

import io
import random

import pytest

from tests.minimal_book import NS, write_minimal_book
from xlexec.errors import InputError
from xlexec.excel import sheet_extent as se
from xlexec.excel.reader import check_book_extent
from xlexec.excel.sheet_extent import Extent, sheet_extent


def sheet(body: str, *, head: str = "") -> bytes:
    return f'<?xml version="1.0"?><worksheet {NS}>{head}<sheetData>{body}</sheetData></worksheet>'.encode()


def ext(xml: bytes, *, fast: bool = True, monkeypatch=None) -> Extent:
    if not fast:
        monkeypatch.setattr(se, "_fast_part", lambda *a: False)
    return sheet_extent(io.BytesIO(xml))


CASES = [
    # (body, head, rows, cols, cell_rows, cell_cols)
    ('<row r="1"><c r="A1"><v>1</v></c><c r="C1"/></row><row r="7"><c r="AB7"><v>2</v></c></row>', "", 7, 28, 7, 28),
    # cells without r: one column right of the cell before, in the current row
    ('<row r="5"><c r="D5"><v>1</v></c><c><v>2</v></c><c><v>3</v></c></row>', "", 5, 6, 5, 6),
    # rows without r: the row after the one before; their cells from column 1
    ("<row><c><v>1</v></c></row><row><c><v>1</v></c><c><v>2</v></c></row>", "", 2, 2, 2, 2),
    ('<row r="9"/><row><c><v>1</v></c></row>', "", 10, 1, 10, 1),
    # attributes in another order, single quotes, spaces around '='
    ("<row r='3'><c s=\"1\" r='Z3'><v>1</v></c><c r = \"AA3\"/></row>", "", 3, 27, 3, 27),
    # a cell's own reference wins over its row's
    ('<row r="2"><c r="B40"><v>1</v></c></row>', "", 40, 2, 40, 2),
    # what the sheet claims counts too, but not as a cell
    ('<row r="1"><c r="A1"><v>1</v></c></row>', '<dimension ref="A1:XFD1048576"/>', 1048576, 16384, 1, 1),
    # tags that are not cells or rows
    ('<row r="2"><c r="B2"><v>1</v></c></row>', '<cols><col min="1" max="16384"/></cols>', 2, 2, 2, 2),
]


@pytest.mark.parametrize(("body", "head", "rows", "cols", "cell_rows", "cell_cols"), CASES)
def test_the_extent_of_small_sheets_by_hand(body, head, rows, cols, cell_rows, cell_cols, monkeypatch):
    assert ext(sheet(body, head=head)) == Extent(rows, cols, cell_rows, cell_cols)
    assert ext(sheet(body, head=head), fast=False, monkeypatch=monkeypatch) == Extent(rows, cols, cell_rows, cell_cols)


def test_a_namespace_prefix_is_no_way_past_the_check():
    xml = (
        b'<?xml version="1.0"?><x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<x:sheetData><x:row r="1"><x:c r="A1"><x:v>1</x:v></x:c></x:row>'
        b'<x:row r="1048576"><x:c r="XFD1048576"><x:v>2</x:v></x:c></x:row></x:sheetData></x:worksheet>'
    )
    assert ext(xml) == Extent(1048576, 16384, 1048576, 16384)


def _random_sheet(rng: random.Random, n_rows: int, regular: bool) -> tuple[bytes, int, int]:
    """A sheet of ``n_rows`` rows of 1-12 cells at random columns; regular: every tag with its
    r first (as Excel writes); else some tags without r or with r later. Returns the XML and
    the last row and column of its cells, from the generator's own bookkeeping."""
    out, last_row, last_col, row = [], 0, 0, 0
    for _ in range(n_rows):
        row += rng.randint(1, 3)
        cols = sorted(rng.sample(range(1, 16385), rng.randint(1, 12)))
        cells = []
        for i, c in enumerate(cols):
            ref = se_letters(c) + str(row)
            if not regular and i and rng.random() < 0.1:
                cells.append('<c s="1"><v>1</v></c>')  # one column right of the cell before
                c = cols[i - 1] + 1
                cols[i] = c
            elif not regular and rng.random() < 0.1:
                cells.append(f'<c s="1" r="{ref}"><v>1</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="n"><v>{rng.random()}</v></c>')
            last_col = max(last_col, c)
        last_row = row
        out.append(f'<row r="{row}" spans="1:9">' + "".join(cells) + "</row>")
    return sheet("".join(out)), last_row, last_col


def se_letters(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


@pytest.mark.parametrize("regular", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_large_generated_sheets_read_the_same_both_ways(seed, regular, monkeypatch):
    """Some 3 MB of sheet XML (several 1 MB parts, tags cut at every boundary): the numpy path and
    the tag-by-tag path both give the generator's figures."""
    xml, last_row, last_col = _random_sheet(random.Random(seed), 20_000, regular)
    assert len(xml) > 2 << 20
    want = Extent(last_row, last_col, last_row, last_col)
    assert ext(xml) == want
    assert ext(xml, fast=False, monkeypatch=monkeypatch) == want


@pytest.mark.parametrize("where", [0.0, 0.33, 0.5, 0.999])
def test_one_far_cell_is_found_in_any_part(where):
    xml, last_row, _ = _random_sheet(random.Random(7), 20_000, True)
    at = xml.index(b"<row ", int(len(xml) * where))
    far = b'<row r="1"><c r="XFD1"><v>1</v></c></row>'
    got = ext(xml[:at] + far + xml[at:])
    assert got.cols == 16384 and got.rows == last_row


_book = write_minimal_book


HOSTILE = {
    "cells without r across 16,384 columns": sheet(
        '<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576">' + "<c><v>1</v></c>" * 16384 + "</row>"
    ),
    "a namespace prefix": (
        b'<?xml version="1.0"?><x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<x:sheetData><x:row r="1"><x:c r="A1"><x:v>1</x:v></x:c></x:row>'
        b'<x:row r="1048576"><x:c r="XFD1048576"><x:v>2</x:v></x:c></x:row></x:sheetData></x:worksheet>'
    ),
    "the reference last and single-quoted": sheet(
        "<row r='1'><c t='n' r='A1'><v>1</v></c></row><row r='1048576'><c t='n' r='XFD1048576'><v>1</v></c></row>"
    ),
}


@pytest.mark.parametrize("target", ["worksheets/sheet1.xml", "data/cells.bin", "/elsewhere/s.xml"])
@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_huge_sheet_in_any_form_or_place_is_refused(kind, target, tmp_path):
    """A sheet whose cells would make calamine allocate A1:XFD1048576 (it aborts the process:
    "memory allocation of 549755813888 bytes failed"), in each form calamine reads, at its usual
    member or wherever the workbook's relationships point."""
    book = tmp_path / "b.xlsx"
    _book(book, HOSTILE[kind], target=target)
    with pytest.raises(InputError) as e:
        check_book_extent(book)
    assert "1,048,576 rows x 16,384 columns" in str(e.value) and "refused before reading" in str(e.value)


def test_calamine_places_cells_as_the_extent_says(tmp_path):
    """The placement rules against calamine itself, on a small sheet using each of them."""
    from python_calamine import CalamineWorkbook

    xml = sheet(
        '<row><c><v>1</v></c><c><v>2</v></c></row><row r="4"><c r="C4"><v>3</v></c><c><v>4</v></c></row>'
        "<row><c><v>5</v></c></row>"
    )
    book = tmp_path / "b.xlsx"
    _book(book, xml)
    rows = CalamineWorkbook.from_path(str(book)).get_sheet_by_name("S").to_python(skip_empty_area=False)
    # by hand: row 1 A1, B1; row 4 C4, D4; row 5 A5 -> 5 rows x 4 columns
    assert (len(rows), max(len(r) for r in rows)) == (5, 4)
    assert rows[3][2:4] == [3.0, 4.0] and rows[4][0] == 5.0
    assert ext(xml) == Extent(5, 4, 5, 4)


# --------------------------------------------------------------------------- read ahead


class _Failing(io.BytesIO):
    """A stream that fails once ``after`` bytes have been read."""

    def __init__(self, data: bytes, after: int):
        super().__init__(data)
        self.after = after

    def read(self, size: int = -1) -> bytes:
        if self.tell() >= self.after:
            raise OSError("disk went away")
        return super().read(size)


def test_read_ahead_gives_the_same_extent_and_raises_what_the_stream_raises():
    xml, last_row, last_col = _random_sheet(random.Random(3), 20_000, True)
    assert len(xml) > 3 * se.BLOCK_BYTES  # several blocks, each read on the second thread
    ahead = se.ReadAhead(io.BytesIO(xml))
    assert sheet_extent(ahead) == Extent(last_row, last_col, last_row, last_col)
    ahead.close()
    failing = se.ReadAhead(_Failing(xml, 2 * se.BLOCK_BYTES))
    with pytest.raises(OSError, match="disk went away"):
        sheet_extent(failing)
    with pytest.raises(ValueError, match="blocks of"):
        se.ReadAhead(io.BytesIO(xml)).read(10)


def test_a_big_sheet_is_checked_read_ahead_and_a_far_cell_in_it_refused(tmp_path):
    """A sheet over two blocks goes through :class:`ReadAhead` in the book's check: the far cell
    near its end is still found, and a member whose bytes do not match its CRC is refused with
    the zip's own error, raised in the thread that checks."""
    xml, _, _ = _random_sheet(random.Random(5), 20_000, True)
    at = xml.rindex(b"</sheetData>")
    far = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    book = tmp_path / "far.xlsx"
    _book(book, xml[:at] + far + xml[at:])
    with pytest.raises(InputError) as e:
        check_book_extent(book)
    assert "1,048,576 rows x 16,384 columns" in str(e.value)

    import zipfile

    bad = tmp_path / "crc.xlsx"
    _book(bad, xml, compression=zipfile.ZIP_STORED)
    data = bytearray(bad.read_bytes())
    v = data.index(b"<v>0.", len(data) // 2) + 5  # a digit of a value half way: the XML stays whole
    data[v] = ord("9") if data[v] != ord("9") else ord("8")
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError) as e:
        check_book_extent(bad)
    assert "cannot open the workbook: xl/worksheets/sheet1.xml" in str(e.value) and "CRC" in str(e.value)
