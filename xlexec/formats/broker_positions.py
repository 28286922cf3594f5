"""A broker's positions: an export file (any of the usual layouts) or the broker API's positions,
as ``symbol, shares, avg_cost`` (shares signed, long > 0; avg_cost $ per share).

Broker exports read as published (samples and sources: tests/data/positions/README.md):

- **IBKR Flex** ``OpenPositions`` (XML ``OpenPosition`` records, or the Flex CSV section with
  or without header/trailer records, :mod:`xlexec.formats.fills_ibkr`): ``symbol``,
  ``position`` / ``Quantity`` (signed), ``costBasisPrice``; ``SUMMARY`` rows when the file also
  has ``LOT`` rows; only ``assetCategory`` ``STK``.
- **Schwab** positions export: title line ``"Positions for account ... as of ..."``, then
  ``"Symbol","Description","Qty (Quantity)","Price",...,"Cost Basis",...,"Security Type"``;
  the ``Cash & Cash Investments`` and ``Account Total`` rows and options are left out;
  ``Cost Basis`` is the position's total ($).
- **Fidelity** ``Portfolio_Positions_*.csv``: ``Account Number,Account Name,Symbol,Description,
  Quantity,Last Price,...,Cost Basis Total,Average Cost Basis,Type``; core money market rows
  (``SPAXX**``), ``Pending Activity``, options (``-AAPL...``) and the disclaimer footer are
  left out.

Rows that are not US equities/ETFs (options, bonds by CUSIP, mutual funds) are left out, as
fills are. A file holding several accounts is refused unless ``account`` (``--account`` or
``broker.account``) names one; then only its rows are read.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from xlexec.core.positions import empty_positions
from xlexec.core.symbols import canonical_symbol
from xlexec.errors import InputError
from xlexec.formats import fills as F
from xlexec.formats.csvio import read_table, read_text, split_comment_header, split_lines
from xlexec.formats.fills_ibkr import flex_positions, is_flex_positions
from xlexec.formats.inputs import positions_from_frame

SHARE_ALIASES = ["shares", "qty", "quantity", "qty (quantity)", "position", "net_shares"]
COST_ALIASES = ["avg_cost", "avg_entry_price", "average_cost", "avg cost", "cost_basis_price", "costbasisprice"]


def read_broker_positions(path: str | Path, *, account: str | None = None) -> pd.DataFrame:
    """A broker positions export: a broker's own layout (module docstring), else ``symbol`` +
    shares (``shares|qty|quantity``) [+ ``avg_cost`` or ``avg_entry_price``] -> ``symbol,
    shares, avg_cost``. ``account``: the one account to read from a file holding several."""
    name = str(path)
    text = read_text(path, what="broker positions file")
    if is_flex_positions(text):
        return _ibkr(flex_positions(text, name), name, account)
    found = _broker_layout(text, name)
    if found is not None:
        return _one_account(found[0], name, account, found[1])
    _, body, first = split_comment_header(text)
    if not body:
        raise InputError(name, "empty broker positions file: no header row", row=first)
    df = read_table("\n".join(body), name, first, ["symbol"], what="broker positions file")
    sh = next((c for c in SHARE_ALIASES if c in df.columns), None)
    if sh is None:
        raise InputError(
            name, f"no shares column (one of {', '.join(SHARE_ALIASES)}); header is: {','.join(df.columns)}", row=first
        )
    cost = next((c for c in COST_ALIASES if c in df.columns), None)
    df = pd.DataFrame({"symbol": df["symbol"], "shares": df[sh], "avg_cost": df[cost] if cost else ""}, index=df.index)
    return positions_from_frame(df, name)


def broker_positions_frame(positions) -> pd.DataFrame:
    """``Broker.positions()`` (objects with ``symbol``, ``qty``, ``avg_entry_price``) ->
    ``symbol, shares, avg_cost``."""
    if not positions:
        return empty_positions()
    return pd.DataFrame(
        {
            "symbol": [canonical_symbol(p.symbol) for p in positions],
            "shares": [float(p.qty) for p in positions],
            "avg_cost": [float(p.avg_entry_price or 0.0) for p in positions],
        }
    )


def _one_account(df: pd.DataFrame, name: str, account: str | None, column: str) -> pd.DataFrame:
    """``df`` (string frame with ``symbol, shares, avg_cost`` or ``total_cost``, ``account``,
    ``instrument``) -> positions of its one account, US equities/ETFs only."""
    accts = list(dict.fromkeys(a for a in df["account"] if a))  # every row's, options and funds too
    every = df
    df = df[df["instrument"] == ""]
    chosen = (account or "").strip()
    if chosen:
        if accts and chosen not in accts:
            raise InputError(
                name, f"account {chosen!r} is not in this file; its accounts: {', '.join(accts[:10])}", column=column
            )
        df = df[(df["account"] == chosen) | (df["account"] == "")]
    elif len(accts) > 1:
        raise InputError(
            name,
            f"{len(accts)} accounts in one file ({', '.join(accts[:10])}): pass --account ID (or set broker.account "
            "in config.yaml) to compare one; positions of several accounts are never mixed",
            row=int(every.index[list(every["account"]).index(accts[1])]),
            column=column,
        )
    cols = [c for c in ("symbol", "shares", "avg_cost", "total_cost") if c in df.columns]
    if df.empty:
        return empty_positions()
    return positions_from_frame(df[cols], name)


def _ibkr(df: pd.DataFrame, name: str, account: str | None) -> pd.DataFrame:
    lod = F._col(df, "levelofdetail").str.upper()
    if (lod == "SUMMARY").any():
        df = df[lod.isin(["SUMMARY", ""])]
    asset = F._col(df, "assetclass").str.strip().str.upper()
    out = pd.DataFrame(index=df.index)
    out["symbol"] = df["symbol"]
    out["shares"] = F._col(df, "quantity", "position")
    out["avg_cost"] = F._col(df, "costbasisprice")
    out["account"] = F._col(df, "clientaccountid", "accountid").str.strip()
    out["instrument"] = ["" if a in ("STK", "") else a for a in asset]
    return _one_account(out, name, account, "ClientAccountID")


def _broker_layout(text: str, name: str) -> tuple[pd.DataFrame, str] | None:
    """Schwab's or Fidelity's positions export -> (string frame, the account column's name)."""
    lines = split_lines(text.lstrip("\ufeff"))
    for i, line in enumerate(lines[: F._MAX_PREAMBLE]):
        cells = F._norm(next(csv.reader([line]), []))
        h = set(cells) - {""}
        if {"symbol", "qty (quantity)"} <= h:
            return _schwab(lines, i, name), "title line"
        if {"account number", "symbol", "quantity"} <= h and bool({"average cost basis", "cost basis total"} & h):
            return _fidelity(lines, i, name), "Account Number"
    return None


def _table(lines: list[str], i: int, name: str) -> pd.DataFrame:
    header = next(csv.reader([lines[i]]), [])
    rows = list(csv.reader(lines[i + 1 :]))
    return F._frame_from_rows(header, rows, list(range(i + 2, i + 2 + len(rows))), name, i + 1)


def _schwab(lines: list[str], i: int, name: str) -> pd.DataFrame:
    df = _table(lines, i, name)
    sym = df["symbol"].str.strip()
    stype = F._col(df, "security type").str.strip().str.lower()
    keep = (
        (sym != "")
        & ~sym.str.lower().isin(["cash & cash investments", "account total"])
        & (F._col(df, "qty (quantity)").str.strip().replace("--", "") != "")
    )
    d = df[keep]
    title = pd.DataFrame(index=d.index)
    title.attrs["preamble"] = lines[:i]
    out = pd.DataFrame(index=d.index)
    out["symbol"] = sym[keep]
    out["shares"] = F._num_text(d["qty (quantity)"])
    out["avg_cost"] = ""  # derived from the total
    out["total_cost"] = F._num_text(F._col(d, "cost basis")).replace("--", "")
    out["account"] = F._schwab_account(title)
    out["instrument"] = [
        "option" if "option" in t else F._instrument_of(s, "") for s, t in zip(out["symbol"], stype[keep], strict=True)
    ]
    return out


def _fidelity(lines: list[str], i: int, name: str) -> pd.DataFrame:
    df = _table(lines, i, name)
    sym = df["symbol"].str.strip()
    acct = df["account number"].str.strip()
    qty = df["quantity"].str.strip()
    # footer lines (disclaimer, "Date downloaded") have no account number; cash and pending rows no quantity
    keep = (acct != "") & (sym != "") & (qty != "") & (sym.str.lower() != "pending activity")
    d = df[keep]
    out = pd.DataFrame(index=d.index)
    out["symbol"] = sym[keep]
    out["shares"] = F._num_text(d["quantity"])
    avg = F._col(d, "average cost basis")
    out["avg_cost"] = F._num_text(avg).replace("--", "")
    out["account"] = acct[keep]
    out["instrument"] = [F._instrument_of(s, "") for s in out["symbol"]]
    return out
