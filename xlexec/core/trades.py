"""The trades model: ``live/YYYY-MM-DD/trades.csv`` in the guide's format (reading and writing
the file: :mod:`xlexec.formats.trades`).

Columns (units): ``symbol``, ``side`` (buy|sell, any case), ``shares`` (shares, > 0),
``price`` ($/share at signal time), ``notional`` ($ = shares x price), ``weight_change``
(fraction of portfolio; > 0 for buys), ``commission_est``, ``slippage_est``, ``total_cost_est``
(all $). Optional columns kept as-is: ``order_type`` (limit|market), ``limit_price`` ($),
``ml_score`` (conviction; higher = keep first).

Leading ``# Key: Value`` rows form the header (``# Date: 2025-10-30``,
``# Portfolio Value: $100,000.00``, ``# Portfolio Turnover: 18.5%``...). ``$`` and ``,`` are
stripped from numbers and ``%`` turns into a fraction (18.5% -> 0.185).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xlexec.core.rows import check_rows, parse_numeric
from xlexec.core.symbols import all_plain, canonical_symbols

COLUMNS = [
    "symbol",
    "side",
    "shares",
    "price",
    "notional",
    "weight_change",
    "commission_est",
    "slippage_est",
    "total_cost_est",
]
NUMERIC = ["shares", "price", "notional", "weight_change", "commission_est", "slippage_est", "total_cost_est"]
OPTIONAL_NUMERIC = ["limit_price", "ml_score"]
DECIMALS = {
    "price": 2,
    "notional": 2,
    "weight_change": 4,
    "commission_est": 2,
    "slippage_est": 2,
    "total_cost_est": 2,
    "limit_price": 2,
}
_NUM = re.compile(r"[-+]?\$?\s*[0-9][0-9,]*(?:\.[0-9]+)?%?|[-+]?\.[0-9]+%?")


def symbols_of(df: pd.DataFrame, name: str, column: str = "symbol") -> pd.Series:
    """``df[column]`` as canonical symbols (:func:`xlexec.core.symbols.canonical_symbol`: ``BRK/B``,
    ``BRK B``, ``brk-b`` -> ``BRK.B``); the first that is not a ticker raises naming its row."""
    raw = df[column].astype(object)
    values = raw.to_numpy()
    if set(map(type, values)) == {str} and all_plain(list(set(values))):  # every cell already canonical
        return pd.Series(values, index=df.index, dtype=object)
    codes, uniq = pd.factorize(raw, use_na_sentinel=False)
    canon, probs = canonical_symbols(["" if u is None or u != u else str(u) for u in uniq])
    bad = np.asarray([p is not None for p in probs], dtype=bool)[codes]
    check_rows(bad, df, name, column, lambda i: str(probs[codes[i]]))
    return pd.Series(np.asarray(canon, dtype=object)[codes], index=df.index, dtype=object)


KILL_SWITCH_OK = "ACTIVE"  # the only header value that lets trading go (armed, not triggered)
SAFETY_CHECKS_OK = "PASSED"  # the only header value of the model's safety checks that passes


def iso_date(text: str) -> str | None:
    """``YYYY-MM-DD`` of a text starting (after blanks) with an ISO date, None when it does not."""
    try:
        return dt.date.fromisoformat(text.strip()[:10]).isoformat()
    except ValueError:
        return None


def date_parses(value: str | None) -> bool:
    """Whether a header ``Date`` value starts with an ISO date (``2025-10-30``)."""
    return iso_date(str(value or "")) is not None


def header_sha256(header: TradesHeader) -> str:
    """sha256 of the header's ``Key: Value`` rows (keys lower-cased, values trimmed, sorted by
    key): recorded with an approval, compared at submit (a header edited since refuses)."""
    rows = sorted((str(k).strip().lower(), " ".join(str(v).split())) for k, v in header.raw.items())
    return hashlib.sha256("\n".join(f"{k}: {v}" for k, v in rows).encode("utf-8")).hexdigest()


def parse_header_number(value: str | None) -> float | None:
    """First number in a header value: ``$100,000.00`` -> 100000.0, ``18.5%`` -> 0.185."""
    if value is None:
        return None
    m = _NUM.search(value)
    if not m:
        return None
    tok = m.group(0).replace("$", "").replace(",", "").replace(" ", "")
    pct = tok.endswith("%")
    try:
        x = float(tok.rstrip("%"))
    except ValueError:
        return None
    return x / 100.0 if pct else x


@dataclass
class TradesHeader:
    """The ``# Key: Value`` rows, raw (ordered) with typed accessors."""

    raw: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str | None:
        k = key.strip().lower()
        for name, v in self.raw.items():
            if name.lower() == k:
                return v
        return None

    def number(self, key: str) -> float | None:
        return parse_header_number(self.get(key))

    @property
    def date(self) -> str | None:
        v = self.get("Date")
        return iso_date(v) if v else None

    @property
    def portfolio_value(self) -> float | None:
        return self.number("Portfolio Value")

    @property
    def turnover(self) -> float | None:
        """Portfolio turnover as a fraction (18.5% -> 0.185)."""
        v = self.get("Portfolio Turnover")
        if v is None:
            return None
        x = parse_header_number(v)
        if x is not None and "%" not in v and x > 1:
            x = x / 100.0
        return x

    @property
    def ic(self) -> float | None:
        return self.number("IC")

    @property
    def kill_switch(self) -> str | None:
        v = self.get("Kill Switch")
        return v.strip().upper() if v else None

    @property
    def safety_checks(self) -> str | None:
        v = self.get("Safety Checks")
        return v.strip().upper() if v else None

    @property
    def regime(self) -> str | None:
        v = self.get("Regime")
        return v.split("(")[0].strip() if v else None

    @property
    def risk_multiplier(self) -> float | None:
        v = self.get("Regime")
        if not v:
            return None
        m = re.search(r"multiplier\s*:?\s*([-+]?[0-9]*\.?[0-9]+)", v, re.I)
        return float(m.group(1)) if m else None


@dataclass
class Trades:
    """A parsed trades file. ``df`` is indexed by the source row number (1-based line)."""

    df: pd.DataFrame
    header: TradesHeader
    path: str = "<memory>"

    @property
    def date(self) -> str | None:
        return self.header.date

    def __len__(self) -> int:
        return len(self.df)


def parse_trades_frame(df: pd.DataFrame, name: str, *, strict: bool = True) -> pd.DataFrame:
    """Type and check a string frame of trades (columns lower-case, index = row numbers).

    ``strict`` refuses zero/negative shares (the validator loads with ``strict=False`` so such
    rows become ``shares_nonpositive`` failures instead).
    """
    symbol = symbols_of(df, name)
    fast = _plain_trades_frame(df, symbol, name, strict=strict)
    if fast is not None:
        return fast
    cols: dict[str, pd.Series] = {"symbol": symbol}
    side = df["side"].str.lower().str.strip()
    check_rows(
        ~side.isin(["buy", "sell"]),
        df,
        name,
        "side",
        lambda i: f"side must be buy or sell, got {df['side'].iloc[i][:20]!r}",
    )
    cols["side"] = side
    for c in NUMERIC:
        cols[c] = parse_numeric(df, c, name)
    if strict:
        check_rows(
            cols["shares"] <= 0, df, name, "shares", lambda i: f"shares must be positive, got {df['shares'].iloc[i]}"
        )
    check_rows(cols["price"] <= 0, df, name, "price", lambda i: f"price must be positive, got {df['price'].iloc[i]}")
    if "order_type" in df.columns:
        ot = df["order_type"].str.lower().replace({"": "limit", "lmt": "limit", "mkt": "market"})
        check_rows(
            ~ot.isin(["limit", "market"]),
            df,
            name,
            "order_type",
            lambda i: f"order_type must be limit or market, got {df['order_type'].iloc[i]!r}",
        )
        cols["order_type"] = ot
    for c in OPTIONAL_NUMERIC:
        if c in df.columns:
            cols[c] = parse_numeric(df, c, name, allow_empty=True)
    for c in df.columns:
        if c not in cols:
            cols[c] = df[c]
    out = pd.DataFrame(cols, index=df.index)  # one frame built at once (not a column at a time)

    def duplicate(i: int) -> str:
        same = (out["symbol"] == out["symbol"].iloc[i]) & (out["side"] == out["side"].iloc[i])
        first = out.index[same][0]
        was, now = str(df.at[first, "symbol"]).strip(), str(df["symbol"].iloc[i]).strip()
        spelt = f": {was!r} and {now!r} are one security" if was != now else ""
        return (
            f"duplicate {out['symbol'].iloc[i]} {out['side'].iloc[i]}: rows {first} and {out.index[i]}"
            f" (first at row {first}){spelt}"
        )

    check_rows(out.duplicated(["symbol", "side"], keep="first"), out, name, "symbol", duplicate)
    return out


_SIDES = frozenset({"buy", "sell"})


def _plain_trades_frame(df: pd.DataFrame, symbol: pd.Series, name: str, *, strict: bool) -> pd.DataFrame | None:
    """:func:`parse_trades_frame` of a file in the plain form the model writes (the common case),
    built from the columns' arrays in one frame; ``None`` when a cell needs a rule or breaks one
    (the rules then run column by column and raise naming the row). ``symbol``: the file's
    canonical symbols (:func:`symbols_of`, already checked).

    The plain form: ``buy``/``sell`` in lower case, every number column typed by the C parser
    (float64, finite: ``csvio.read_table``'s ``numbers``), ``shares`` (when ``strict``) and
    ``price`` > 0, no ``order_type`` column, no symbol+side twice. The frame is the one the
    rules give (same columns, order, dtypes)."""
    n = len(df)
    if n == 0 or "order_type" in df.columns:
        return None
    side = df["side"].to_numpy(dtype=object)
    if not set(side.tolist()) <= _SIDES:
        return None
    numbers: dict[str, np.ndarray] = {}
    for c in NUMERIC:
        v = df[c].to_numpy()
        if v.dtype != np.float64 or not np.isfinite(v).all():
            return None
        numbers[c] = v
    if (strict and not (numbers["shares"] > 0).all()) or not (numbers["price"] > 0).all():
        return None
    if len(set(zip(symbol.tolist(), side.tolist()))) != n:
        return None
    for c in OPTIONAL_NUMERIC:  # (read as text: empty cells are allowed) by their own rule, as below
        if c in df.columns:
            numbers[c] = parse_numeric(df, c, name, allow_empty=True).to_numpy()
    cols: dict[str, Any] = {"symbol": symbol, "side": df["side"], **numbers}
    for c in df.columns:
        if c not in cols:
            cols[c] = df[c]
    return pd.DataFrame(cols, index=df.index)


def order_type_of(trades: Trades, default: str = "limit") -> pd.Series:
    if "order_type" in trades.df.columns:
        return trades.df["order_type"].fillna(default)
    return pd.Series(default, index=trades.df.index)


def limit_price_of(trades: Trades) -> pd.Series:
    """The limit to send: ``limit_price`` where given, else the signal ``price``; NaN for market."""
    lp = trades.df["price"].copy()
    if "limit_price" in trades.df.columns:
        lp = trades.df["limit_price"].where(trades.df["limit_price"].notna(), lp)
    return lp.where(order_type_of(trades) != "market", np.nan)
