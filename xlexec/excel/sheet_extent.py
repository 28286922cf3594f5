"""The rectangle a worksheet's XML makes a reader allocate, read from the raw XML in parts.

python-calamine allocates the whole bounding box of a sheet's cells at once: ``A1`` and
``XFD1048576`` in 5 KB abort the process. :func:`sheet_extent` finds that box before calamine is
asked, the way calamine places cells:

* a ``<c>`` with an ``r`` attribute is at its reference; one without is one column right of the
  cell before it in its row (the first at column 1);
* a ``<row>`` with ``r`` is that row; one without is the row after the one before it;
* tags may carry a namespace prefix (``<x:c>``, as the Open XML SDK writes), attributes may be in
  any order, quoted with ``'`` or ``"``, with spaces around ``=``;
* ``<dimension ref>`` is what the sheet claims: counted too.

Speed: a part in the form Excel, XlsxWriter and openpyxl write (every cell ``<c r="A1"``, every
row ``<row r="1"``, no prefix) is read with numpy over the positions of its ``<``: about 0.09 s
for a 40 MB sheet (a 100,000-row Fills block), where a regex with a Python step per cell took
1.5 s. Any other part is read tag by tag with the placement rules above; both give the same
figures. The sheet is read in 1 MB blocks with one copy each (:func:`blocks`); a big one is
inflated by a second thread while the block before is scanned (:class:`ReadAhead`), so the
check of that 40 MB sheet costs about 0.14 s where inflating then scanning took 0.2 s.
"""

from __future__ import annotations

import html
import os
import posixpath
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Extent:
    """1-based last row and column a sheet names (0: none). ``rows``/``cols``: over its cells,
    rows and ``<dimension>``; ``cell_rows``/``cell_cols``: over its cells only (formatted empty
    ones included)."""

    rows: int = 0
    cols: int = 0
    cell_rows: int = 0
    cell_cols: int = 0


# the files this process has found within the limits, as (path, inode, size, mtime ns) -> the
# extent of each worksheet member: a press checks its book once (not once for its config name and
# again for its inputs), and the operator-content check reads the extents found then
_CHECKED: dict[tuple[str, int, int, int], dict[str, Extent]] = {}


def file_key(path: str | os.PathLike) -> tuple[str, int, int, int] | None:
    """(absolute path, inode, size, modification time ns) of ``path``; None when it cannot be stat'ed."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return os.path.abspath(path), st.st_ino, st.st_size, st.st_mtime_ns


def checked_extents(path: str | os.PathLike) -> dict[str, Extent] | None:
    """The worksheet extents, by zip member, found within the limits in ``path`` as it is now
    (same inode, size and modification time); None when it has not been checked."""
    return remembered_extents(file_key(path))


def remembered_extents(key: tuple[str, int, int, int] | None) -> dict[str, Extent] | None:
    """:func:`checked_extents` of the file whose :func:`file_key` is ``key``."""
    return None if key is None else _CHECKED.get(key)


def remember_extents(key: tuple[str, int, int, int], found: dict[str, Extent]) -> None:
    if len(_CHECKED) >= 64:  # a long-running process: keep it small
        _CHECKED.clear()
    _CHECKED[key] = found


def forget_extents() -> None:
    """Forget every file checked (a fresh process's state)."""
    _CHECKED.clear()


def col_number(letters: bytes) -> int:
    """``b"A"`` -> 1, ``b"AN"`` -> 40 (any case)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ch - 64)
    return n


class _State:
    __slots__ = ("row", "col", "rows", "cols", "cell_rows", "cell_cols")

    def __init__(self) -> None:
        self.row = self.col = 0  # where the next r-less row / cell goes (the current row, its last cell)
        self.rows = self.cols = self.cell_rows = self.cell_cols = 0

    def cell(self, row: int, col: int) -> None:
        self.col = col
        self.cell_rows, self.cell_cols = max(self.cell_rows, row), max(self.cell_cols, col)


#: bytes of a worksheet read at a time by :func:`sheet_extent`
BLOCK_BYTES = 1 << 20


def blocks(stream, size: int = BLOCK_BYTES) -> Iterator[tuple[bytes, int]]:
    """A worksheet stream as ``(block, cut)``: ``block[:cut]`` is whole tags (it ends before a
    ``<``, like :func:`parts`), and ``block`` goes on for at least ``len(_PAD)`` readable bytes
    after ``cut`` (the next tags, or zeros at the end), so that a read a few bytes past a tag
    needs no copy of the part. One copy of the stream's bytes (:func:`parts` cuts a second)."""
    tail = b""
    while True:
        chunk = stream.read(size)
        if not chunk:
            yield tail + _PAD, len(tail)
            return
        block = b"".join((tail, chunk, _PAD))
        end = len(block) - len(_PAD)
        cut = block.rfind(b"<", 0, end)
        if cut < 0:
            cut = end
        yield block, cut
        tail = block[cut:end]


def parts(stream, size: int = BLOCK_BYTES) -> Iterator[bytes]:
    """A worksheet stream in parts of about ``size`` bytes, each ending before a ``<``: whole
    tags only (the parts of :func:`blocks`, for a reader that wants them on their own)."""
    for block, cut in blocks(stream, size):
        yield block[:cut]


class ReadAhead:
    """A stream read one block ahead by a second thread: ``read(size)`` returns the block read
    meanwhile and has the next one read while the caller works on it. A zip member inflates
    (zlib and its CRC, both without the interpreter lock) while the numpy scan of the block
    before runs: a 40 MB sheet's check costs about the longer of the two, not their sum."""

    def __init__(self, stream, size: int = BLOCK_BYTES):
        self._stream, self._size = stream, size
        self._next: tuple[bytes, BaseException | None] = (b"", None)
        self._thread: threading.Thread | None = None
        self._start()

    def _start(self) -> None:
        def read() -> None:
            try:
                self._next = (self._stream.read(self._size), None)
            except BaseException as e:  # noqa: BLE001 - raised again in the reading thread
                self._next = (b"", e)

        self._thread = threading.Thread(target=read, name="xlexec-read-ahead", daemon=True)
        self._thread.start()

    def read(self, size: int = BLOCK_BYTES) -> bytes:
        if size != self._size:
            raise ValueError(f"ReadAhead reads blocks of {self._size} bytes, not {size}")
        if self._thread is None:
            return b""
        self._thread.join()
        data, error = self._next
        if error is not None:
            self._thread = None
            raise error
        if data:
            self._start()
        else:
            self._thread = None
        return data

    def close(self) -> None:
        """Wait for the read under way (the stream may be closed after)."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def sheet_extent(stream) -> Extent:
    """The :class:`Extent` of a worksheet XML stream (see the module docstring)."""
    st = _State()
    for block, cut in blocks(stream):
        if not _fast_part(block, cut, st):
            _slow_part(block[:cut], st)
        if block.find(b"dimension", 0, cut) >= 0:
            for m in _DIMENSION.finditer(block, 0, cut):
                _dimension(m.group(1), st)
    return Extent(max(st.rows, st.cell_rows), max(st.cols, st.cell_cols), st.cell_rows, st.cell_cols)


# --------------------------------------------------------------------------- tag by tag

_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(c|row)\b([^>]*)>")
_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?dimension\b([^>]*)>")
_R_ATTR = re.compile(rb"""(?:^|\s)r\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REF_ATTR = re.compile(rb"""(?:^|\s)ref\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CELL = re.compile(rb"\$?([A-Za-z]+)\$?(\d+)")
_NUMBER = re.compile(rb"\d+")


def _attr(rx: re.Pattern, attrs: bytes) -> bytes | None:
    m = rx.search(attrs)
    return None if m is None else (m.group(1) if m.group(1) is not None else m.group(2))


def _slow_part(part: bytes, st: _State) -> None:
    for m in _TAG.finditer(part):
        r = _attr(_R_ATTR, m.group(2))
        if m.group(1) == b"row":
            st.row = int(r) if r is not None and _NUMBER.fullmatch(r.strip()) else st.row + 1
            st.col = 0
            st.rows = max(st.rows, st.row)
            continue
        ref = _CELL.fullmatch(r.strip()) if r is not None else None
        if ref is not None:
            st.cell(int(ref.group(2)), col_number(ref.group(1)))
        else:  # no (usable) reference: the next column of the current row
            st.cell(max(st.row, 1), st.col + 1)


_REL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Relationship\b([^>]*?)/?>")
_ID_ATTR = re.compile(rb"""(?:^|\s)Id\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_TARGET_ATTR = re.compile(rb"""(?:^|\s)Target\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def workbook_targets(rels: bytes) -> dict[bytes, str]:
    """Relationship id -> zip member of each relationship in ``xl/_rels/workbook.xml.rels``,
    resolved as calamine resolves a target (``/x`` -> ``x``, else ``xl/`` + target)."""
    out: dict[bytes, str] = {}
    for m in _REL_TAG.finditer(rels):
        rid, target = _attr(_ID_ATTR, m.group(1)), _attr(_TARGET_ATTR, m.group(1))
        if rid is not None and target is not None:
            t = html.unescape(target.decode("utf-8", "replace"))
            out[rid] = t.lstrip("/") if t.startswith("/") else posixpath.normpath("xl/" + t)
    return out


def _dimension(attrs: bytes, st: _State) -> None:
    ref = _attr(_REF_ATTR, attrs)
    for m in _CELL.finditer(ref or b""):
        st.rows, st.cols = max(st.rows, int(m.group(2))), max(st.cols, col_number(m.group(1)))


# --------------------------------------------------------------------------- the common form, with numpy

_WORD = np.zeros(256, dtype=bool)  # the bytes regex's \w: where a tag name goes on
for _ch in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_":
    _WORD[_ch] = True
_UPPER = np.zeros(256, dtype=bool)
_UPPER[ord("A") : ord("Z") + 1] = True
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[ord("0") : ord("9") + 1] = True
_PREFIXED = re.compile(rb"<[A-Za-z_][\w.-]*:(?:c|row)\b")
_PAD = b"\0" * 24
_MAX_DIGITS = 9


def _is(a: np.ndarray, at: np.ndarray, text: bytes) -> np.ndarray:
    ok = np.ones(len(at), dtype=bool)
    for k, ch in enumerate(text):
        ok &= a[at + k] == ch
    return ok


def _value(a: np.ndarray, at: np.ndarray, digits: int) -> np.ndarray:
    """The ``digits``-digit decimal numbers starting at ``at``."""
    value = np.zeros(len(at), dtype=np.int64)
    for k in range(digits):
        value = value * 10 + (a[at + k].astype(np.int64) - 48)
    return value


def _numbers(a: np.ndarray, at: np.ndarray) -> tuple[int, int] | None:
    """(the largest, the last) of the decimal numbers starting at ``at``, each closed by ``"``
    ((0, 0) when there are none); None when one is not 1 to 9 digits then ``"``. Only the
    numbers with the most digits are read in full: one of them is the largest."""
    if not len(at):
        return 0, 0
    going = np.ones(len(at), dtype=bool)
    n = np.zeros(len(at), dtype=np.int64)
    for k in range(_MAX_DIGITS + 1):
        going &= _DIGIT[a[at + k]]
        if not going.any():
            break
        n += going
    if not ((n >= 1) & (n <= _MAX_DIGITS)).all() or not (a[at + n] == ord('"')).all():
        return None
    top = int(n.max())
    largest = int(_value(a, at[n == top], top).max())
    return largest, int(_value(a, at[-1:], int(n[-1]))[0])


def _fast_part(block: bytes, cut: int, st: _State) -> bool:
    """Read ``block[:cut]`` (see :func:`blocks`) into ``st`` if every cell and row tag in it is
    in the common form; False (``st`` untouched) when one is not."""
    if block.find(b":", 0, cut) >= 0 and _PREFIXED.search(block, 0, cut):  # (a colon at all: memchr)
        return False
    a = np.frombuffer(block, dtype=np.uint8)
    lt = np.flatnonzero(a[:cut] == ord("<"))
    first = a[lt + 1]
    c = lt[first == ord("c")]
    c = c[~_WORD[a[c + 2]]]
    r = lt[first == ord("r")]
    r = r[_is(a, r + 2, b"ow") & ~_WORD[a[r + 4]]]
    if not (_is(a, c + 2, b' r="').all() and _is(a, r + 4, b' r="').all()):
        return False
    # cells: 1 to 3 capital letters, then the row number
    p = c + 6
    l0, l1, l2, l3 = a[p], a[p + 1], a[p + 2], a[p + 3]
    two, three = _UPPER[l1], _UPPER[l1] & _UPPER[l2]
    if not (_UPPER[l0].all() and not (three & _UPPER[l3]).any()):
        return False
    v0, v1, v2 = (x.astype(np.int64) - 64 for x in (l0, l1, l2))
    cols = np.where(three, (v0 * 26 + v1) * 26 + v2, np.where(two, v0 * 26 + v1, v0))
    cell = _numbers(a, p + 1 + two + three)
    row = _numbers(a, r + 8)
    if cell is None or row is None:
        return False
    if len(r):
        st.rows = max(st.rows, row[0])
        st.row = row[1]
    if len(c):
        st.cell_rows = max(st.cell_rows, cell[0])
        st.cell_cols = max(st.cell_cols, int(cols.max()))
    # where the next r-less cell would go: after the last cell, unless a row tag came after it
    if len(c) and (not len(r) or c[-1] > r[-1]):
        st.col = int(cols[-1])
    elif len(r):
        st.col = 0
    return True
