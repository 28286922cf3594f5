"""CSV plumbing shared by every reader and writer.

* :func:`read_text` decodes a file (UTF-8, BOM tolerated) or raises an error naming the row of
  the first undecodable byte.
* :func:`atomic_write_text` / :func:`atomic_write_csv` write a temp file in the same folder,
  fsync it and ``os.replace`` it over the target: a reader sees the old file or the new one,
  never half of one.
* :func:`safe_text` neutralises spreadsheet formula injection: text that came from outside and
  starts with ``=``, ``+``, ``-``, ``@``, tab or CR is prefixed with a single quote, so Excel and
  LibreOffice show it as text. Numbers are never touched (a negative quantity stays a number).
"""

from __future__ import annotations

import contextlib
import copy
import csv
import decimal
import functools
import glob
import io
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xlexec.errors import InputError
from xlexec.faults import crash_point

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


#: pandas copies a frame's data only when one of its holders writes to it (Copy-on-Write: always
#: from pandas 3, an option before)
_PANDAS_MAJOR = int(pd.__version__.split(".", 1)[0])


def _copy_on_write() -> bool:
    return _PANDAS_MAJOR >= 3 or pd.get_option("mode.copy_on_write") is True


def own_copy(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` its caller may change in any way without changing ``df`` (a parsed frame a
    cache keeps): under Copy-on-Write a shallow copy, whose columns pandas copies on the first
    write, else a deep one. ``attrs`` are always copied deep (a list in them is the caller's)."""
    out = df.copy(deep=not _copy_on_write())
    out.attrs = copy.deepcopy(df.attrs)
    return out


def read_text(path: str | os.PathLike, *, what: str = "file") -> str:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError(str(p), f"{what} not found") from None
    except IsADirectoryError:
        raise InputError(str(p), f"expected a {what}, found a directory") from None
    except OSError as e:
        raise InputError(str(p), f"cannot read {what}: {e.strerror}") from None
    return decode(raw, str(p))


#: how to save a CSV the readers take (Excel's wording)
SAVE_AS_CSV = "in Excel: File > Save As > 'CSV UTF-8 (Comma delimited) (*.csv)'"

#: leading bytes of files that are not text, and what they are
MAGIC = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx/.xlsm, a zip file), not CSV text"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls), not CSV text"),
    (b"%PDF", "a PDF document, not CSV text"),
)


def decode(raw: bytes, name: str) -> str:
    for magic, what in MAGIC:
        if raw.startswith(magic):
            raise InputError(name, f"this file is {what}; {SAVE_AS_CSV}", row=1)
    if raw.startswith(b"\xff\xfe") or raw.startswith(b"\xfe\xff"):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise _not_utf8(raw, name, e.start) from None
    if "\x00" in text:
        row = text[: text.index("\x00")].count("\n") + 1
        raise InputError(name, "binary data (NUL byte) in a text file", row=row)
    return text


def _not_utf8(raw: bytes, name: str, at: int) -> InputError:
    """The error for a byte that is not UTF-8: where (row, field), and what the text likely is."""
    start = raw.rfind(b"\n", 0, at) + 1
    line = raw[start:at]
    row = raw[:at].count(b"\n") + 1
    field = line.count(b",") + 1
    comment = line.lstrip().startswith(b"#")
    where = "a # comment row" if comment else f"field {field}"
    try:
        ch = raw[at : at + 1].decode("cp1252")
        raw.decode("cp1252")
        what = f"not UTF-8 but Windows-1252 (cp1252) text: byte 0x{raw[at]:02x} ({ch!r}) in {where}"
    except UnicodeDecodeError:
        what = f"not UTF-8 text: byte 0x{raw[at]:02x} at offset {at}, in {where}"
    return InputError(name, f"{what}; save the file as UTF-8 CSV ({SAVE_AS_CSV})", row=row, column=f"#{field}")


def safe_text(value):
    """Return ``value`` made inert for spreadsheets if it is text from outside.

    ``=HYPERLINK(...)`` -> ``'=HYPERLINK(...)``. Non-strings (numbers, None) pass through.
    A string that is a plain number (``-5``, ``+1.5``) is left alone: it is data, not a formula.
    """
    if not isinstance(value, str) or not value or not value.startswith(FORMULA_PREFIXES):
        return value
    if value[0] in "+-":
        try:
            float(value)
            return value
        except ValueError:
            pass
    return "'" + value


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()


STALE_TEMP_SECONDS = 15 * 60


def temp_beside(path: Path, suffix: str = ".tmp") -> tuple[int, Path]:
    """A new temp file next to ``path`` (same folder, so ``os.replace`` is atomic), named
    ``.<name>.<random><suffix>``, with the usual file permissions.

    Temp files of earlier writes to the same target that a crash left behind (older than
    :data:`STALE_TEMP_SECONDS`, so never a write still in progress) are removed first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - STALE_TEMP_SECONDS
    for old in path.parent.glob(f".{glob.escape(path.name)}.*{suffix}"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            pass
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    with contextlib.suppress(OSError):
        os.chmod(tmp, _MODE)  # mkstemp makes 0600; a written file gets the usual permissions
    return fd, Path(tmp)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    path = Path(path)
    fd, tmp = temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        crash_point("before_rename:" + path.name)  # test hook (xlexec.faults)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


#: decimals a CSV number keeps at most: beyond them is binary float noise (0.1 + 0.2 ->
#: 0.30000000000000004), never a figure (prices, shares and $ have far fewer places)
CSV_MAX_DECIMALS = 10
_CSV_CTX = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_UP)


def fmt_number(x, decimals: int | None = None) -> str:
    """THE format of a number (money, shares, prices, bps) in every CSV xlexec writes: at least
    ``decimals`` places, as many more as the value has up to :data:`CSV_MAX_DECIMALS` (rounded
    half-up there, which drops float noise: ``482.68999999999994 -> 482.69``), trailing zeros
    beyond ``decimals`` dropped, and never ``-0`` (``-0.0`` and ``-0.000000000001`` -> ``0.00``).
    Integers (and whole floats with no ``decimals``) without a decimal point; NaN/None -> ''."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(int(x))
    v = float(x)
    if math.isnan(v):
        return ""
    if math.isinf(v):
        return repr(v)
    d = _CSV_CTX.quantize(decimal.Decimal(repr(v)), decimal.Decimal(1).scaleb(-CSV_MAX_DECIMALS))
    if d.is_zero():
        d = decimal.Decimal(0)
    text = format(d.normalize(_CSV_CTX), "f") if not d.is_zero() else "0"
    whole, _, dec = text.partition(".")
    dec = dec.ljust(decimals or 0, "0")
    return whole + ("." + dec if dec else "")


def to_csv_text(df: pd.DataFrame, decimals: dict[str, int] | None = None, comments: Sequence[str] = ()) -> str:
    """Render ``df`` as CSV text (LF line ends, no index), formula-safe text cells.

    ``decimals`` maps column -> minimum decimals (money 2, weights 4...).
    """
    decimals = decimals or {}
    buf = io.StringIO()
    for c in comments:
        buf.write(f"# {c}\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(df.columns))
    cols = list(df.columns)
    formatters: list[Callable[[Any], str]] = []
    for c in cols:
        s = df[c]
        if pd.api.types.is_bool_dtype(s.dtype):
            formatters.append(lambda v: "" if v is None else str(v))
        elif pd.api.types.is_numeric_dtype(s.dtype):
            d = decimals.get(c)
            formatters.append(functools.partial(fmt_number, decimals=d))
        else:
            formatters.append(
                lambda v: (
                    ""
                    if v is None or (isinstance(v, float) and math.isnan(v))
                    else str(safe_text(v) if isinstance(v, str) else v)
                )
            )
    for row in df.itertuples(index=False, name=None):
        w.writerow([f(v) for f, v in zip(formatters, row)])
    return buf.getvalue()


def atomic_write_csv(
    path: str | os.PathLike, df: pd.DataFrame, decimals: dict[str, int] | None = None, comments: Sequence[str] = ()
) -> Path:
    return atomic_write_text(path, to_csv_text(df, decimals, comments))


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """Lines as CSV counts them: broken at ``\n``, ``\r\n`` or ``\r`` only.

    (``str.splitlines`` also breaks at U+0085, U+2028, form feeds... that can sit inside a
    cell, which would shift every row number after it.)"""
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def iter_lines(text: str) -> Iterator[str]:
    """:func:`split_lines` one line at a time (for a reader that looks at the first few only)."""
    start = 0
    for m in _LINE_BREAK.finditer(text):
        yield text[start : m.start()]
        start = m.end()
    if start < len(text):
        yield text[start:]


def split_comment_body(text: str) -> tuple[list[tuple[int, str]], str, int]:
    """:func:`split_comment_header` with the body as one text (``"\n".join(body_lines)``, ''
    when there is none), without splitting the body into lines: only the leading rows are
    looked at one by one (a 200,000-row file is not broken into 200,000 strings to find its
    header)."""
    if "\r" in text:
        text = _LINE_BREAK.sub("\n", text)
    comments: list[tuple[int, str]] = []
    start, line_no, n = 0, 1, len(text)
    while start < n:
        end = text.find("\n", start)
        if end < 0:
            end = n
        s = text[start:end].strip()
        if s.startswith("#"):
            comments.append((line_no, s[1:].strip()))
        elif s and s.strip(",") != "":
            break
        start, line_no = end + 1, line_no + 1
    body = text[start:] if start < n else ""
    if body.endswith("\n"):
        body = body[:-1]
    return comments, body, line_no


def split_comment_header(text: str) -> tuple[list[tuple[int, str]], list[str], int]:
    """Split leading ``#`` comment rows (and blank lines) from the CSV body.

    Returns ``([(line_no, comment_text)], body_lines, first_body_line_no)``.
    """
    lines = split_lines(text)
    comments: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        s = lines[i].strip()
        if s.startswith("#"):
            comments.append((i + 1, s[1:].strip()))
        elif s and s.strip(",") != "":
            break
        i += 1
    return comments, lines[i:], i + 1


DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


def _wrong_delimiter(header_line: str, name: str, row: int, required: list[str]) -> None:
    """Raise when the header is a list of the required columns split by another delimiter
    (``symbol;side;shares``: a European-locale Excel export)."""
    for delim, word in DELIMITERS.items():
        cells = {c.strip().lower() for c in header_line.split(delim)}
        if delim in header_line and all(c in cells for c in required):
            raise InputError(
                name,
                f"this file is {word}-delimited ({delim!r} between columns), not comma-separated; "
                f"{SAVE_AS_CSV}, or set Windows' list separator to ',' before saving",
                row=row,
            )


#: ASCII characters ``str.strip`` removes besides the space (the newline ends a row)
_ASCII_SPACE_OTHER = ("\t", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")
#: a space beside a cell's edge: before/after a comma, a line end or a quote
_SPACE_AT_EDGE = (" ,", ", ", " \n", "\n ", '" ', ' "')
#: from this length an ASCII text's spaces are tested by numpy (each search of ``_SPACE_AT_EDGE``
#: stops at every space of a text whose cells have inner spaces, ``Health Care``)
_BIG_TEXT = 1 << 16
#: any whitespace but the newline and the plain space (tabs, NBSP, U+2000..., U+3000)
_OTHER_SPACE = re.compile(r"[^\S\n ]")


def may_need_strip(text: str) -> bool:
    """False only when no cell of the CSV ``text`` can begin or end with whitespace (so no cell
    needs stripping): no whitespace but plain spaces and newlines, and no space beside a comma,
    a line end, a quote or the text's ends. True means "maybe" (a space inside a quoted cell
    beside a comma, ``"Smith, J"``, also says maybe): the caller then strips every cell."""
    if text.isascii():
        if any(c in text for c in _ASCII_SPACE_OTHER):
            return True
    elif _OTHER_SPACE.search(text):
        return True
    if " " not in text:
        return False
    if text.startswith(" ") or text.endswith(" "):
        return True
    if len(text) >= _BIG_TEXT and text.isascii():  # one pass of numpy over the bytes, not six searches
        b = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        space = b == 32
        edge = (b == 44) | (b == 10) | (b == 34)  # , newline "
        return bool((space[:-1] & edge[1:]).any() or (edge[:-1] & space[1:]).any())
    return any(p in text for p in _SPACE_AT_EDGE)


def read_table(
    text: str,
    name: str,
    first_line: int,
    required: Iterable[str],
    what: str = "file",
    *,
    allow_empty: bool = False,
    careful: bool = False,
    numbers: Iterable[str] = (),
) -> pd.DataFrame:
    """Parse CSV ``text`` (header row first) into a string DataFrame indexed by line number.

    Checks for an empty body, duplicate and missing required columns. Column names are
    stripped and lower-cased. Every cell is a stripped string ('' when empty). A header with no
    data rows is refused unless ``allow_empty`` (then an empty frame with the header's columns).

    The C parser reads the text once; cells are stripped only when :func:`may_need_strip` says
    some may need it, and rows are tested for blankness only when the first column has an empty
    cell. ``careful`` strips and tests every cell whatever the text (the same frame, slower:
    the reference the fast path is tested against).

    ``numbers``: columns the caller reads as numbers. When no cell may need stripping, the C
    parser is asked for them as float64 (no string made per cell); that frame is returned only
    when every such cell parsed to a finite number that is not ``-0`` (the figures
    ``pd.to_numeric`` gives the same text), else the text is read again as strings, so a cell
    that is not a plain number (``$``, commas, empty, text, NaN, inf) reaches the caller's
    cell-by-cell rules as text. A caller that gets float columns and then finds a problem
    re-reads with strings to word its error from the cells (:func:`parse_table`).
    """
    if not text.strip():
        raise InputError(name, f"empty {what}: no header row", row=first_line)
    end = text.find("\n")
    header_line = text if end < 0 else text[:end]  # (not partition: no copy of the rest)
    header = next(csv.reader([header_line]))
    cols = [h.strip().lower() for h in header]
    seen: dict[str, int] = {}
    for idx, c in enumerate(cols):
        if c == "":
            # trailing empty header cells from spreadsheets are tolerated only at the end
            if any(x.strip() for x in cols[idx:]):
                raise InputError(name, f"header cell {idx + 1} is empty", row=first_line, column=f"#{idx + 1}")
            cols = cols[:idx]
            break
        if c in seen:
            raise InputError(name, f"duplicate column {c!r} in the header", row=first_line, column=c)
        seen[c] = idx
    missing = [c for c in required if c not in seen]
    if missing:
        _wrong_delimiter(header_line, name, first_line, list(required))
        raise InputError(
            name,
            f"missing column(s) {', '.join(missing)}; header is: {','.join(cols)}",
            row=first_line,
            column=missing[0],
        )
    strip = careful or may_need_strip(text)
    typed = [] if strip else [c for c in dict.fromkeys(numbers) if c in seen]
    df = _typed_read(text, cols, typed) if typed else None
    if df is not None:
        df.index = pd.RangeIndex(first_line + 1, first_line + 1 + len(df), name="row")
        if len(df.columns) and not (df.iloc[:, 0] != "").all():
            df = df[(df != "").any(axis=1)]
        if df.empty and not allow_empty:
            raise InputError(name, f"empty {what}: a header but no data rows", row=first_line + 1)
        return df
    try:
        df = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            header=0,
            usecols=range(len(cols)),
            names=cols,
            engine="c",
            on_bad_lines="error",
        )
    except pd.errors.ParserError as e:
        msg = str(e)

        m = re.search(r"line (\d+)", msg)
        row = first_line + int(m.group(1)) - 1 if m else None
        raise InputError(name, f"malformed CSV: {msg.splitlines()[0]}", row=row) from None
    except (ValueError, IndexError) as e:
        raise InputError(name, f"malformed CSV: {e}", row=first_line) from None
    df.index = pd.RangeIndex(first_line + 1, first_line + 1 + len(df), name="row")
    if strip:
        for c in df.columns:
            df[c] = df[c].astype(str).str.strip()
    if careful or len(df.columns) == 0 or not (df.iloc[:, 0] != "").all():
        df = df[(df != "").any(axis=1)]
    if df.empty and not allow_empty:
        raise InputError(name, f"empty {what}: a header but no data rows", row=first_line + 1)
    return df


def _utf8(text: str) -> io.BytesIO | io.StringIO:
    """``text`` as the C parser reads it fastest: its UTF-8 bytes (what pandas makes of a text
    buffer chunk by chunk, in Python), or the text itself when it has no UTF-8 form (a lone
    surrogate: then pandas words the error)."""
    try:
        return io.BytesIO(text.encode("utf-8"))
    except UnicodeEncodeError:
        return io.StringIO(text)


def _typed_read(text: str, cols: list[str], typed: list[str]) -> pd.DataFrame | None:
    """The C parser's frame of ``text`` with the ``typed`` columns as float64 and the others as
    strings, or None when any typed cell is not a plain finite number (or is ``-0`` in a column
    with a fraction: ``pd.to_numeric`` reads it as 0.0 in a column of whole numbers, and a
    column of whole numbers gives 0 here too) or the text does not parse.

    The parser finds the typed columns' types itself (asking it for float64 costs more than the
    whole read of a small file): a typed column is taken when it came as float64, or as int64
    within a double's exact integers (whole numbers: what ``pd.to_numeric`` gives them, made
    floats exactly); anything else is left to the string read."""
    typed_set = set(typed)
    try:
        df = pd.read_csv(
            _utf8(text),
            dtype={c: str for c in cols if c not in typed_set},
            keep_default_na=False,
            skip_blank_lines=False,
            header=0,
            usecols=range(len(cols)),
            names=cols,
            engine="c",
            on_bad_lines="error",
        )
    except (ValueError, IndexError, pd.errors.ParserError):  # the string read words the error
        return None
    if df.empty:  # a header alone: the string read's frame (no float columns)
        return None
    for c in typed:
        v = df[c].to_numpy()
        if v.dtype == np.int64:
            if not ((v < _EXACT_INT) & (v > -_EXACT_INT)).all():
                return None
            df[c] = v = v.astype(np.float64)
        if v.dtype != np.float64 or not np.isfinite(v).all() or (np.signbit(v) & (v == 0)).any():
            return None
    return df


#: whole numbers a double holds exactly (an int64 column beyond them is left to the string read)
_EXACT_INT = 2**53


def parse_table(
    text: str,
    name: str,
    first_line: int,
    required: Iterable[str],
    parse: Callable[[pd.DataFrame], Any],
    *,
    numbers: Iterable[str] = (),
    what: str = "file",
    allow_empty: bool = False,
) -> Any:
    """``parse(read_table(..., numbers=numbers))``. When ``parse`` raises an :class:`InputError`
    on a frame whose number columns the C parser typed, the text is read again as strings and
    parsed again, so the error raised is the one the cells give, word for word (a message that
    quotes a cell quotes its text, ``-5``, never the float ``-5.0``)."""
    df = read_table(text, name, first_line, required, what, allow_empty=allow_empty, numbers=numbers)
    if not any(pd.api.types.is_float_dtype(t) for t in df.dtypes):
        return parse(df)
    try:
        return parse(df)
    except InputError:
        pass
    return parse(read_table(text, name, first_line, required, what, allow_empty=allow_empty))
