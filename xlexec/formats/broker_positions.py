"""A broker's positions: an export file (any of the usual layouts) or the broker API's positions,
as ``symbol, shares, avg_cost`` (shares signed, long > 0; avg_cost $ per share).

Broker exports read as published (samples and sources: tests/data/positions/README.md):

- **IBKR Flex** ``OpenPositions`` (XML ``OpenPosition`` records, or the Flex CSV section with
  or without header/trailer records, :mod:`xlexec.formats.fills_ibkr`): ``symbol``,
  ``position`` / ``Quantity`` (signed), ``costBasisPrice``, ``currency`` / ``CurrencyPrimary``;
  ``SUMMARY`` rows when the file also has ``LOT`` rows; only ``assetCategory`` ``STK``.
- **Schwab** positions export: title line ``"Positions for account ... as of ..."``, then
  ``"Symbol","Description","Qty (Quantity)","Price",...,"Cost Basis",...,"Security Type"``;
  the ``Cash & Cash Investments`` and ``Account Total`` rows and options are left out;
  ``Cost Basis`` is the position's total ($); in USD (no currency column).
- **Fidelity** ``Portfolio_Positions_*.csv``: ``Account Number,Account Name,Symbol,Description,
  Quantity,Last Price,...,Cost Basis Total,Average Cost Basis,Type`` [``,Currency``]; core
  money market rows (``SPAXX**``), ``Pending Activity``, options (``-AAPL...``) and the
  disclaimer footer are left out.

Rows that are not US equities/ETFs (options, bonds by CUSIP, mutual funds, cash sweeps), rows
that are not positions (cash, totals, pending activity, footers, other Flex sections) and rows
of other accounts are left out *and listed*: ``attrs["skipped"]`` = ``[{"row", "reason"}]``, as
the fills reader does. A file holding several accounts is refused unless ``account``
(``--account`` or ``broker.account``) names one; then only its rows are read. A position row in
a currency other than the fund's ``base_currency`` is refused naming file, row, column and the
currency (never read as dollars).
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
from xlexec.formats.fills_ibkr import flex_positions, is_flex_positions, is_flex_xml
from xlexec.formats.inputs import positions_from_frame

SHARE_ALIASES = ["shares", "qty", "quantity", "qty (quantity)", "position", "net_shares"]
COST_ALIASES = ["avg_cost", "avg_entry_price", "average_cost", "avg cost", "cost_basis_price", "costbasisprice"]


def read_broker_positions(
    path: str | Path, *, account: str | None = None, base_currency: str | None = None
) -> pd.DataFrame:
    """A broker positions export: a broker's own layout (module docstring), else ``symbol`` +
    shares (``shares|qty|quantity``) [+ ``avg_cost`` or ``avg_entry_price``] -> ``symbol,
    shares, avg_cost``. ``account``: the one account to read from a file holding several.
    ``base_currency`` (default USD): a position in another currency is refused.
    ``attrs["skipped"]``: ``[{"row": n, "reason": text}]``, every row of a broker layout not read
    as a position (:func:`xlexec.formats.fills.skipped_of` reads it)."""
    name = str(path)
    base = (base_currency or F.BASE_CURRENCY).strip().upper()
    text = read_text(path, what="broker positions file")
    if is_flex_positions(text):
        column = "currency" if is_flex_xml(text) else "CurrencyPrimary"
        return _one_account(*_ibkr(flex_positions(text, name)), name, account, "ClientAccountID", base, column)
    found = _broker_layout(text, name)
    if found is not None:
        df, skipped, acct_col = found
        return _one_account(df, skipped, name, account, acct_col, base, "Currency")
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
    out = positions_from_frame(df, name)
    out.attrs["skipped"] = []
    return out


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


def _one_account(
    df: pd.DataFrame,
    skipped: list[tuple[int, str]],
    name: str,
    account: str | None,
    column: str,
    base: str,
    currency_column: str,
) -> pd.DataFrame:
    """``df`` (string frame with ``symbol, shares, avg_cost`` or ``total_cost``, ``account``,
    ``instrument``, ``currency`` ('' = the base)) and the rows its layout set aside -> positions
    of its one account, US equities/ETFs only, every other row listed in ``attrs["skipped"]``.
    ``column``: the account's column (errors name it); a row in a currency but ``base`` is refused."""
    skipped = list(skipped)
    accts = list(dict.fromkeys(a for a in df["account"] if a))  # every row's, options and funds too
    every = df
    other = df["instrument"] != ""
    skipped += [(int(lab), f"not a US equity/ETF: {df['instrument'][lab]}") for lab in df.index[other]]
    df = df[~other]
    chosen = (account or "").strip()
    if chosen:
        if accts and chosen not in accts:
            raise InputError(
                name, f"account {chosen!r} is not in this file; its accounts: {', '.join(accts[:10])}", column=column
            )
        theirs = (df["account"] != chosen) & (df["account"] != "")
        skipped += [(int(lab), f"account {df['account'][lab]}, not {chosen}") for lab in df.index[theirs]]
        df = df[~theirs]
    elif len(accts) > 1:
        raise InputError(
            name,
            f"{len(accts)} accounts in one file ({', '.join(accts[:10])}): pass --account ID (or set broker.account "
            "in config.yaml) to compare one; positions of several accounts are never mixed",
            row=int(every.index[list(every["account"]).index(accts[1])]),
            column=column,
        )
    cur = (df["currency"] if "currency" in df.columns else pd.Series("", index=df.index)).str.strip().str.upper()
    bad = (cur != "") & (cur != base)
    if bad.any():
        lab = df.index[bad][0]
        raise F.not_base_currency(
            name,
            f"position {df['symbol'][lab]}",
            str(cur[lab]),
            base,
            f"xlexec compares {base} positions only: leave the row out of the export and check it by hand, "
            f"or, if the fund's money is {cur[lab]}, set base_currency: {cur[lab]}",
            row=int(lab),
            column=currency_column,
        )
    cols = [c for c in ("symbol", "shares", "avg_cost", "total_cost") if c in df.columns]
    out = empty_positions() if df.empty else positions_from_frame(df[cols], name)
    out.attrs["skipped"] = [{"row": r, "reason": why} for r, why in sorted(skipped, key=lambda x: x[0])]
    return out


def _ibkr(df: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    skipped: list[tuple[int, str]] = [(int(r), why) for r, why in df.attrs.get("set_aside") or []]
    lod = F._col(df, "levelofdetail").str.upper()
    if (lod == "SUMMARY").any():
        lots = ~lod.isin(["SUMMARY", ""])
        skipped += [(int(lab), f"LevelOfDetail {lod[lab]}: part of a SUMMARY row read") for lab in df.index[lots]]
        df = df[~lots]
    asset = F._col(df, "assetclass").str.strip().str.upper()
    out = pd.DataFrame(index=df.index)
    out["symbol"] = df["symbol"]
    out["shares"] = F._col(df, "quantity", "position")
    out["avg_cost"] = F._col(df, "costbasisprice")
    out["account"] = F._col(df, "clientaccountid", "accountid").str.strip()
    out["instrument"] = [
        "" if a in ("STK", "") else f"{F._IBKR_ASSETS.get(a, a.lower())} (AssetClass {a})" for a in asset
    ]
    out["currency"] = F._col(df, "currencyprimary", "currency")
    return out, skipped


def _broker_layout(text: str, name: str) -> tuple[pd.DataFrame, list[tuple[int, str]], str] | None:
    """Schwab's or Fidelity's positions export -> (string frame, rows set aside, the account
    column's name)."""
    lines = split_lines(text.lstrip("\ufeff"))
    for i, line in enumerate(lines[: F._MAX_PREAMBLE]):
        cells = F._norm(next(csv.reader([line]), []))
        h = set(cells) - {""}
        if {"symbol", "qty (quantity)"} <= h:
            return (*_schwab(lines, i, name), "title line")
        if {"account number", "symbol", "quantity"} <= h and bool({"average cost basis", "cost basis total"} & h):
            return (*_fidelity(lines, i, name), "Account Number")
    return None


def _table(lines: list[str], i: int, name: str) -> pd.DataFrame:
    header = next(csv.reader([lines[i]]), [])
    rows = list(csv.reader(lines[i + 1 :]))
    return F._frame_from_rows(header, rows, list(range(i + 2, i + 2 + len(rows))), name, i + 1)


def _aside(reasons: pd.Series) -> list[tuple[int, str]]:
    """``reasons`` (row -> why it is not a position; '' = it is one) -> the rows set aside."""
    return [(int(lab), why) for lab, why in reasons.items() if why]


def _schwab(lines: list[str], i: int, name: str) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    df = _table(lines, i, name)
    sym = df["symbol"].str.strip()
    stype = F._col(df, "security type").str.strip().str.lower()
    low = sym.str.lower()
    qty = F._col(df, "qty (quantity)").str.strip().replace("--", "")
    inst = pd.Series(
        [f"option ({s})" if "option" in t else F._instrument_of(s, "") for s, t in zip(sym, stype, strict=True)],
        index=df.index,
        dtype=object,
    )
    why = pd.Series("", index=df.index, dtype=object)
    why[(qty == "") & (inst == "")] = "no Qty (Quantity): not a position"
    why[sym == ""] = "no Symbol: not a position"
    why[low == "cash & cash investments"] = "Cash & Cash Investments: cash and money market, not a position"
    why[low == "account total"] = "Account Total: the account's total, not a position"
    keep = why == ""
    d = df[keep]
    title = pd.DataFrame(index=d.index)
    title.attrs["preamble"] = lines[:i]
    out = pd.DataFrame(index=d.index)
    out["symbol"] = sym[keep]
    out["shares"] = F._num_text(d["qty (quantity)"])
    out["avg_cost"] = ""  # derived from the total
    out["total_cost"] = F._num_text(F._col(d, "cost basis")).replace("--", "")
    out["account"] = F._schwab_account(title)
    out["instrument"] = inst[keep]
    return out, _aside(why)


def _fidelity(lines: list[str], i: int, name: str) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    df = _table(lines, i, name)
    sym = df["symbol"].str.strip()
    acct = df["account number"].str.strip()
    qty = df["quantity"].str.strip()
    inst = pd.Series([F._instrument_of(s, "") for s in sym], index=df.index, dtype=object)
    why = pd.Series("", index=df.index, dtype=object)
    why[(qty == "") & (inst == "")] = "no Quantity: not a position"
    why[sym == ""] = "no Symbol: the file's footer or a note, not a position"
    why[sym.str.lower() == "pending activity"] = "Pending Activity: not a position"
    why[acct == ""] = "no Account Number: the file's footer, not a position"  # disclaimer, "Date downloaded"
    keep = why == ""
    d = df[keep]
    out = pd.DataFrame(index=d.index)
    out["symbol"] = sym[keep]
    out["shares"] = F._num_text(d["quantity"])
    avg = F._col(d, "average cost basis")
    out["avg_cost"] = F._num_text(avg).replace("--", "")
    out["account"] = acct[keep]
    out["instrument"] = inst[keep]
    out["currency"] = F._col(d, "currency")
    return out, _aside(why)
