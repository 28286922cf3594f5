"""The Quotes tab: the day's ``quotes.csv`` (or the quotes typed there and not saved yet),
each quote's age at the time of drawing, and which quotes the tab was drawn with (Quotes!H4).

Prices in $ (``bid, ask, last``), sizes in shares (``bid_size, ask_size``, optional), times
in UTC; a quote is stale past ``validation.quote_stale_minutes``.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import pandas as pd

from xlexec.core.ages import age_text as core_age_text
from xlexec.errors import InputError
from xlexec.excel.layout import (
    QUOTES_COLUMNS,
    QUOTES_SIZE_COLUMNS,
    Inputs,
    SheetData,
    Table,
)
from xlexec.excel.reader import pending_quotes, quotes_digest, shown_text
from xlexec.excel.sources import _clean
from xlexec.execution.marketdata import quote_source
from xlexec.formats.inputs import read_quotes

#: the age block's cells: symbol, age (text), then bid_size / ask_size in shares
AGE_KINDS = ("text", "text", "shares", "shares")


def quote_columns(q: pd.DataFrame) -> list[str]:
    """The Quotes Table's columns for quotes ``q``: the standard five, plus ``bid_size`` and
    ``ask_size`` (shares) when ``q`` has them."""
    return list(QUOTES_COLUMNS) + [c for c in QUOTES_SIZE_COLUMNS if c in q.columns]


def utc_text(ts) -> str:
    """A timestamp as the Quotes tab shows it: ``2025-10-30 13:31:00 UTC`` (fraction kept)."""
    if ts is None or pd.isna(ts):
        return ""
    ts = pd.Timestamp(ts)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    frac = f".{ts.microsecond:06d}".rstrip("0") if ts.microsecond else ""
    return ts.strftime("%Y-%m-%d %H:%M:%S") + frac + " UTC"


def age_text(seconds: float) -> str:
    """An age in words (:func:`xlexec.core.ages.age_text`: ``45 s``, ``9 min``, ``2 h 05 min``,
    ``3 d 0 h``); more than a minute negative = in the future; no time: ``no timestamp``."""
    if seconds is None or not math.isfinite(seconds):
        return "no timestamp"
    return core_age_text(seconds if seconds < -60 else max(0.0, seconds))  # a clock skew under 1 min: 0 s


def quotes_view(q: pd.DataFrame, now, stale_minutes: float) -> tuple[list[list[Any]], list[list[Any]], dict]:
    """Rows of the Quotes Table (``symbol, bid, ask, last`` $, ``timestamp`` UTC text) and of its
    age block (``symbol, age`` at ``now``; ``stale`` past ``stale_minutes``; then ``bid_size,
    ask_size`` in shares when ``q`` has either) for quotes ``q``
    (as :func:`xlexec.formats.inputs.read_quotes` returns them), and figures for the summary line."""
    ts = pd.to_datetime(q["timestamp"], utc=True, errors="coerce")
    age = (pd.Timestamp(now) - ts).dt.total_seconds().to_numpy(dtype=float) if len(q) else []
    rows = [
        [sym, _clean(b), _clean(a), _clean(la), utc_text(t)]
        for sym, b, a, la, t in zip(q["symbol"], q["bid"], q["ask"], q["last"], ts)
    ]
    side = []
    n_stale = 0
    for sym, s in zip(q["symbol"], age):
        stale = not math.isfinite(s) or s > stale_minutes * 60 + 1e-6
        n_stale += stale
        side.append([sym, age_text(s) + (" · stale" if stale and math.isfinite(s) else "")])
    sizes = quote_columns(q)[len(QUOTES_COLUMNS) :]
    if sizes:  # optional: shares at the bid / ask, next to each quote's age (I:J)
        for c in QUOTES_SIZE_COLUMNS:
            vals = q[c] if c in q.columns else [None] * len(q)
            for r, v in zip(side, vals):
                r.append(_clean(v))
    newest = ts.max() if len(q) and ts.notna().any() else None
    figs = {
        "n": len(q),
        "newest": newest,
        "newest_age": (pd.Timestamp(now) - newest).total_seconds() if newest is not None else float("nan"),
        "n_stale": int(n_stale),
    }
    return rows, side, figs


def quotes_sheet(ctx, day: str, inputs: Inputs, validation: dict | None = None) -> tuple[SheetData, str]:
    """The Quotes tab for ``day`` and the text of Quotes!H4 (which quotes it shows).

    Shows the day's ``quotes.csv``; quotes the operator typed in the tab that no button has
    saved yet are shown instead (parsed, or as typed when a cell is wrong, with the reason).
    With the broker's quotes configured (Alpaca, Schwab, IBKR), typed quotes are never used: the
    file is shown."""
    now = ctx.now()
    stale = float(ctx.config.validation.quote_stale_minutes)
    path = Path(ctx.live_dir) / day / "quotes.csv"
    rel = f"live/{day}/quotes.csv"
    src = quote_source(ctx.config)
    source = src.label if src is not None else ""
    table = Table("tblQuotes", list(QUOTES_COLUMNS), [], inputs=tuple(QUOTES_COLUMNS))
    sheet = SheetData(f"Quotes — {day}", "", table, side_title=f"Age at {utc_text(now)[11:]}")
    file_q, file_err = None, ""
    if path.exists():
        try:
            file_q = read_quotes(path)
        except InputError as e:
            file_err = str(e)
    shown = shown_text(quotes_digest(file_q)) if file_q is not None else ""
    typed, typed_err = None, ""
    if inputs.quotes_block and not source:
        try:
            typed = pending_quotes(inputs, path)
        except InputError as e:
            typed_err = str(e)
    after = f"Validate, Approve, Reject or Submit saves them as {rel}"
    if typed_err:
        w = len(QUOTES_COLUMNS)
        table.rows = [list(r[:w]) + [None] * (w - len(r)) for r in inputs.quotes_block[1:]]
        sheet.summary = f"The quotes typed here cannot be used yet: {typed_err}"
        sheet.side_title = ""
        return sheet, shown
    if typed is not None:
        table.rows, sheet.side, figs = quotes_view(typed, now, stale)
        sheet.side_kinds = [list(AGE_KINDS) for _ in sheet.side]
        sheet.summary = f"{figs['n']} quotes typed here, not saved yet: {after}" + (
            " (replacing the file's)." if file_q is not None else "."
        )
        return sheet, shown
    if file_q is None:
        sheet.summary = (
            f"{rel} cannot be read: {file_err}"
            if file_err
            else f"No {rel} yet: paste or type the quotes below ({after})."
        )
        if source:
            sheet.summary += f" {source} is configured: Validate and Submit fetch the quotes."
        if file_err:
            sheet.side_title = ""
        return sheet, shown
    table.rows, sheet.side, figs = quotes_view(file_q, now, stale)
    sheet.side_kinds = [list(AGE_KINDS) for _ in sheet.side]
    sheet.summary = _file_summary(figs, rel, now, stale, _quotes_used(validation, path), source)
    return sheet, shown


def _file_summary(figs: dict, rel: str, now, stale: float, used: str, source: str) -> str:
    """The Quotes summary for the file's quotes: how many, the newest and its age, how many are
    stale (older than ``stale`` minutes or without a time), whether the last Validate used
    them (``used``), whether the broker's market data (``source``, its label) refreshes them."""
    parts = [f"{figs['n']} quotes from {rel}"]
    if figs["newest"] is not None:
        parts.append(f"newest {utc_text(figs['newest'])}, {age_text(figs['newest_age'])} old at {utc_text(now)}")
    if figs["n_stale"]:
        parts.append(f"{figs['n_stale']} older than {stale:g} min or without a time")
    if used:
        parts.append(used)
    if source:
        parts.append(
            f"{source} is configured: Validate and Submit refresh this file from it; quotes typed here are not used"
        )
    return "; ".join(parts) + "."


def _quotes_used(validation: dict | None, path: Path) -> str:
    """Whether the last Validate used exactly this quotes.csv (validation.json records its sha256)."""
    if not validation:
        return ""
    inp = (validation.get("summary") or {}).get("inputs") or {}
    sha = inp.get("quotes_sha256")
    if not sha:
        return "the last Validate used no quotes" if "quotes" in inp and not inp.get("quotes") else ""
    try:
        now_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""
    return (
        "the last Validate used these quotes"
        if now_sha == sha
        else "CHANGED since the last Validate: press Validate again"
    )
