"""One security id: every spelling of a ticker becomes one canonical symbol.

``BRK.B`` = ``BRK/B`` = ``BRK B`` = ``brk-b`` -> ``BRK.B`` (root, a dot, the class suffix).
Every reader (trades, positions, quotes, events, reference, closes, restricted list, fills,
broker baskets) canonicalises through :func:`canonical_symbol`, so validation, the restricted
list, duplicates, client order ids and matching all compare one id. A broker's own spelling
(IBKR ``BRK B``) is made from the canonical form only when a file for that broker is written.

What is refused (:func:`symbol_problem` says why): an empty value; a word with lower-case
letters beside upper-case ones (``Microsoft Corp`` is a name, not a ticker; an all lower-case
ticker such as ``aapl`` or ``brk-b`` is only upper-cased); more than one space-separated part unless the
second is a class suffix (``BRK B``, not ``MICROSOFT CORP``); anything else that is not a root
of up to 10 letters/digits with an optional ``./ -`` suffix of 1-4.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd

SYMBOL_RE = re.compile(r"^([A-Z][A-Z0-9]{0,9})(?:([./ -])([A-Z0-9]{1,4}))?$")
# what may follow a space: a share class letter, or a warrant/unit/right/preferred marker
CLASS_SUFFIX_RE = re.compile(r"^(?:[A-Z]|WS|WT|RT|PR|U)$")


def symbol_problem(symbol: object) -> str | None:
    """Why ``symbol`` is not a ticker (None when it is one)."""
    s = str(symbol).strip()
    if not s:
        return "symbol is empty"
    shown = s[:40]
    if any(w != w.upper() and w != w.lower() for w in re.split(r"[^A-Za-z]+", s)):
        return f"symbol {shown!r} is not a ticker (mixed case: a name, not a symbol)"
    m = SYMBOL_RE.match(s.upper())
    if m is None:
        if len(s.split()) > 1:
            return f"symbol {shown!r} is not a ticker (more than one word)"
        return f"symbol {shown!r} is not a ticker"
    if m.group(2) == " " and not CLASS_SUFFIX_RE.match(m.group(3)):
        return f"symbol {shown!r} is not a ticker ({m.group(3)!r} is not a share class)"
    return None


def split_symbol(symbol: object) -> tuple[str, str | None]:
    """``BRK.B`` / ``BRK B`` / ``BRK/B`` / ``brk-b`` -> ``("BRK", "B")``; ``AAPL`` -> ``("AAPL", None)``.

    A value that is not a ticker comes back upper-cased and stripped, with no class."""
    s = str(symbol).strip().upper()
    m = SYMBOL_RE.match(s)
    if m is None or m.group(3) is None:
        return s, None
    return m.group(1), m.group(3)


def canonical_symbol(symbol: object) -> str:
    """THE security id of any spelling: ``BRK B`` / ``BRK/B`` / ``brk-b`` -> ``BRK.B``."""
    root, cls = split_symbol(symbol)
    return root if cls is None else f"{root}.{cls}"


@functools.lru_cache(maxsize=1 << 16)
def _canonical_and_problem(text: str) -> tuple[str, str | None]:
    """:func:`canonical_symbol` and :func:`symbol_problem` of one text, remembered: both are pure
    functions of it, and a year of day files names the same few thousand tickers again and again
    (the regexes ran for every distinct symbol of every file: ~20% of reading a day's files)."""
    return canonical_symbol(text), symbol_problem(text)


#: texts (one a line) each of which is its own canonical form and no problem: a root of an upper-case
#: letter and up to 9 upper-case letters or digits, with an optional ``.`` class suffix (``BRK.B``)
_PLAIN_LINES = re.compile(r"[A-Z][A-Z0-9]{0,9}(?:\.[A-Z0-9]{1,4})?(?:\n[A-Z][A-Z0-9]{0,9}(?:\.[A-Z0-9]{1,4})?)*")


def all_plain(values: list) -> bool:
    """Every value is a ``str`` that :func:`canonical_symbol` leaves as it is and
    :func:`symbol_problem` finds nothing in (one regex over them all, none per value)."""
    if not values or not all(type(v) is str for v in values):
        return False
    joined = "\n".join(values)
    return joined.count("\n") == len(values) - 1 and _PLAIN_LINES.fullmatch(joined) is not None


def canonical_symbols(values) -> tuple[list[str], list[str | None]]:
    """:func:`canonical_symbol` and :func:`symbol_problem` of each value (plain lists)."""
    values = list(values)
    if all_plain(values):  # a file of plain tickers (AAPL, BRK.B): nothing to change, nothing wrong
        return values, [None] * len(values)
    pairs = [_canonical_and_problem(v) if type(v) is str else (canonical_symbol(v), symbol_problem(v)) for v in values]
    return [c for c, _ in pairs], [p for _, p in pairs]


def canonical_column(values: pd.Series) -> pd.Series:
    """A column of symbols as canonical ids, unchecked (for frames whose symbols were read
    elsewhere: positions kept by the engine, broker snapshots, workbook cells)."""
    codes, uniq = pd.factorize(values.astype(object), use_na_sentinel=False)
    canon = np.asarray(canonical_symbols(["" if u is None or u != u else u for u in uniq])[0], dtype=object)
    return pd.Series(canon[codes], index=values.index, dtype=object)
