"""What every check reads, prepared once per run: the trades to send, marks, portfolio value,
positions before and after, quotes, events, reference data, the restricted list, the thresholds
and ``now``.

Money in $, quantities in shares, fractions as fractions. Portfolio value: the header's
``# Portfolio Value`` when present, else the current positions valued at the quote mid (else
the trade price to be sent, else ``avg_cost``) plus the cash (source ``positions+cash``); when
the cash is unknown the positions alone (source ``positions (cash unknown)``, a lower bound: the
size checks are stricter, and ``portfolio_value`` warns).

The positions are those of the close before the trade date with the trade date's splits applied
(:func:`xlexec.core.corporate_actions.apply_splits`): post-split shares at post-split prices.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from xlexec.core.checks.base import EPS
from xlexec.core.checks.thresholds import Thresholds
from xlexec.core.corporate_actions import apply_splits
from xlexec.core.orders import included_mask
from xlexec.core.trades import Trades, TradesHeader

NY = ZoneInfo("America/New_York")


@dataclass
class TradeArrays:
    """The included trades as numpy arrays (one element per trade)."""

    sym: np.ndarray
    side: np.ndarray
    shares: np.ndarray  # shares (signed as given; > 0 when valid)
    price: np.ndarray  # signal price ($/share)
    eff: np.ndarray  # price to be sent ($/share): limit_price where given, else price
    notional: np.ndarray  # the file's notional column ($)
    send: np.ndarray  # shares x eff ($)
    wc: np.ndarray  # weight_change (fraction)
    comm: np.ndarray  # commission_est ($)
    slip: np.ndarray  # slippage_est ($)
    total: np.ndarray  # total_cost_est ($)
    row: np.ndarray  # the trade's row number in the file

    def who(self, i: int) -> str:
        return f"{self.sym[i]} {self.side[i]} (row {self.row[i]})"

    @classmethod
    def of(cls, df: pd.DataFrame) -> TradeArrays:
        price = df["price"].to_numpy(dtype=float)
        if "limit_price" in df.columns:
            lp = pd.to_numeric(df["limit_price"], errors="coerce").to_numpy(dtype=float)
            eff = np.where(np.isfinite(lp) & (lp > 0), lp, price)
        else:
            eff = price
        if "order_type" in df.columns:  # a market order has no limit: its price is the signal's
            eff = np.where(df["order_type"].astype(str).to_numpy() == "market", price, eff)
        shares = df["shares"].to_numpy(dtype=float)
        return cls(
            sym=df["symbol"].to_numpy(dtype=object),
            side=df["side"].to_numpy(dtype=object),
            shares=shares,
            price=price,
            eff=eff,
            notional=df["notional"].to_numpy(dtype=float),
            send=shares * eff,
            wc=df["weight_change"].to_numpy(dtype=float),
            comm=df["commission_est"].to_numpy(dtype=float),
            slip=df["slippage_est"].to_numpy(dtype=float),
            total=df["total_cost_est"].to_numpy(dtype=float),
            row=np.asarray(df.index, dtype=object),
        )


def values_at(by_key: pd.Series, where: np.ndarray) -> np.ndarray:
    """``by_key``'s values (float) at the positions ``where`` (``Index.get_indexer``: -1 for a
    key it does not have, which gives NaN)."""
    v = by_key.to_numpy(dtype=float)
    return np.where(where >= 0, v[where] if len(v) else np.nan, np.nan)


def sorted_codes(symbols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(symbols, sort=True)``: the symbols' codes into their sorted uniques. Text
    symbols are sorted by numpy (codepoint order, as Python sorts text; an object array is sorted
    by Python comparisons, much slower); anything else by pandas."""
    codes, uniques = pd.factorize(symbols)
    if not len(uniques) or pd.api.types.infer_dtype(uniques, skipna=False) != "string" or "\x00" in "".join(uniques):
        return pd.factorize(symbols, sort=True)
    order = np.argsort(uniques.astype(str), kind="stable")
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    return np.where(codes >= 0, rank[codes], codes), np.asarray(uniques, dtype=object)[order]


def _sums_of_codes(codes: np.ndarray, values: np.ndarray, uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(codes present, their sums)``: pandas' grouped sum of ``values`` by ``codes`` (sorted;
    ``-1``, a missing symbol, dropped)."""
    keep = codes >= 0
    sums = pd.Series(values[keep]).groupby(codes[keep]).sum()
    return sums.index.to_numpy(dtype=np.intp), sums.to_numpy(dtype=float)


def holdings(
    pos_symbols: np.ndarray, pos_shares: np.ndarray, trade_symbols: np.ndarray, signed: np.ndarray
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``(before, flow, after)`` by symbol: the positions' shares summed per symbol, the trades'
    signed shares summed per symbol, and ``before.add(flow, fill_value=0.0)``; each sorted by
    symbol (pandas' grouped sums), on an object index. One sort of the symbols of both (pandas'
    ``str`` dtype makes sorting and aligning by symbol slow)."""
    n_pos = len(pos_symbols)
    codes, uniques = sorted_codes(np.concatenate([pos_symbols, trade_symbols]).astype(object))
    cb, sb = _sums_of_codes(codes[:n_pos], pos_shares, uniques)
    cf, sf = _sums_of_codes(codes[n_pos:], signed, uniques)
    idx = pd.Index(uniques, dtype=object)
    before = np.zeros(len(uniques))
    flow = np.zeros(len(uniques))
    before[cb] = sb
    flow[cf] = sf
    return (
        pd.Series(sb, index=idx[cb]),
        pd.Series(sf, index=idx[cf]),
        pd.Series(before + flow, index=idx),  # a symbol on one side only: + 0.0, as fill_value
    )


@dataclass
class CheckContext:
    """The shared inputs of one validation run; derived figures are computed once, on demand."""

    th: Thresholds
    now: dt.datetime  # tz-aware
    header: TradesHeader
    df_all: pd.DataFrame  # every trade of the file
    inc: np.ndarray  # bool per row of df_all: included (will be sent)
    t: TradeArrays  # the included trades
    trade_date: str  # ISO date: the header's, else today in New York
    date_source: str  # header | now
    positions: pd.DataFrame | None  # as given, the trade date's splits applied (None = unknown)
    quotes: pd.DataFrame | None
    events: pd.DataFrame | None
    reference: pd.DataFrame | None
    kill_switch_file: bool
    cash: float | None = None  # $ cash before the day (the last reconciliation's cash_after), None = unknown
    restricted: pd.DataFrame | None = None  # the restricted list (symbol, reason), None = not given
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per run (for figures several checks share)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    @property
    def n(self) -> int:
        return len(self.t.sym)

    @cached_property
    def valid(self) -> np.ndarray:
        return self.t.shares > 0

    @cached_property
    def buy(self) -> np.ndarray:
        return self.t.side == "buy"

    @cached_property
    def excluded(self) -> pd.DataFrame:
        return self.df_all[~self.inc]

    @cached_property
    def sym(self) -> pd.Series:
        """The included trades' symbols as an object Series (pandas' ``str`` dtype would map them
        one element at a time)."""
        return pd.Series(self.t.sym, dtype=object)

    def last_rows(self, name: str) -> pd.DataFrame | None:
        """Input ``name`` (``quotes``, ``reference``, ``positions``) with one row per symbol (the
        last of a repeated symbol), indexed by symbol; None when absent or empty. Once per run."""

        def compute() -> pd.DataFrame | None:
            df = getattr(self, name)
            if df is None or df.empty:
                return None
            return df.drop_duplicates("symbol", keep="last").set_index("symbol")

        return self.memo(f"last_rows:{name}", compute)

    def by_symbol(self, name: str, col: str) -> pd.Series:
        """``col`` of input ``name`` by symbol (the last row of a repeated symbol wins; empty when
        absent), from :meth:`last_rows`."""
        last = self.last_rows(name)
        if last is None or col not in last.columns:
            return pd.Series(dtype=object)
        return last[col]

    def _indexer(self, name: str) -> np.ndarray:
        """Each included trade's row in :meth:`last_rows` of ``name`` (-1: not listed), once per run."""
        last = self.last_rows(name)
        if last is None:
            return np.full(self.n, -1, dtype=np.intp)
        return self.memo(f"indexer:{name}", lambda: last.index.get_indexer(self.sym))

    def listed(self, name: str) -> np.ndarray:
        """Whether each included trade's symbol has a row in input ``name``."""
        return np.zeros(self.n, dtype=bool) if self.last_rows(name) is None else self._indexer(name) >= 0

    def at_trades(self, name: str, col: str) -> np.ndarray:
        """``col`` of input ``name`` (numeric, NaN where not a number) for each included trade's
        symbol (the last row of a repeated symbol), NaN for a symbol it does not list."""

        def compute() -> np.ndarray:
            last = self.last_rows(name)
            if last is None or col not in last.columns:
                return np.full(self.n, np.nan)
            return values_at(pd.to_numeric(last[col], errors="coerce"), self._indexer(name))

        return self.memo(f"at_trades:{name}:{col}", compute)

    def at_symbols(self, by_symbol: pd.Series) -> np.ndarray:
        """``by_symbol`` (float, by a unique symbol index) for each included trade, NaN for a
        symbol it does not list (``self.sym.map(by_symbol)``)."""
        return values_at(by_symbol, by_symbol.index.get_indexer(self.sym))

    @cached_property
    def q_mid(self) -> pd.Series:
        """Quote mid ($) by symbol, positive only."""
        q = self.by_symbol("quotes", "mid")
        if len(q):
            q = pd.to_numeric(q, errors="coerce")
            q = q[q > 0]
        return q

    @cached_property
    def pre(self) -> pd.Series:
        """Shares held before the trades, by symbol."""
        pos = self.positions
        if pos is None or not len(pos):
            return pd.Series(dtype=float)
        return self._holdings[0]

    @cached_property
    def _holdings(self) -> tuple[pd.Series, pd.Series, pd.Series]:
        pos, t, valid = self.positions, self.t, self.valid
        if pos is None or not len(pos):
            pos = pd.DataFrame({"symbol": pd.Series(dtype=object), "shares": pd.Series(dtype=float)})
        return holdings(
            pos["symbol"].to_numpy(dtype=object),
            pos["shares"].to_numpy(dtype=float),
            t.sym[valid],
            np.where(self.buy, t.shares, -t.shares)[valid],
        )

    @cached_property
    def mark_sources(self) -> tuple[pd.Series, ...]:
        """The marks' sources by symbol, the first that has a number wins: the quote mid (> 0),
        the price to be sent (the symbol's first valid trade with one), ``avg_cost``."""
        t, valid = self.t, self.valid
        if valid.any():
            codes, uniques = pd.factorize(t.sym[valid])
            first = pd.Series(t.eff[valid]).groupby(codes).first()  # the first non-NaN, as pandas' first
            trade_px = pd.Series(first.to_numpy(dtype=float), index=pd.Index(uniques[first.index], dtype=object))
        else:
            trade_px = pd.Series(dtype=float)
        avg_cost = pd.to_numeric(self.by_symbol("positions", "avg_cost"), errors="coerce")
        return self.q_mid, trade_px, avg_cost

    def marks_of(self, symbols: pd.Index) -> np.ndarray:
        """$/share of each of ``symbols``: the quote mid, else the price to be sent, else
        ``avg_cost`` (:attr:`mark_sources`); NaN for a symbol with none of them."""
        out = np.full(len(symbols), np.nan)
        for src in reversed(self.mark_sources):
            if not len(src):
                continue
            v = values_at(src, src.index.get_indexer(symbols))
            ok = ~np.isnan(v)
            out[ok] = v[ok]
        return out

    @cached_property
    def _pv(self) -> tuple[float, str]:
        hdr = self.header.portfolio_value
        if hdr is not None and hdr > 0:
            return float(hdr), "header"
        cash = self.cash
        if len(self.pre):
            pv = float((self.pre * self.marks_of(self.pre.index)).fillna(0.0).sum())
            if cash is not None and math.isfinite(cash):
                pv += float(cash)
                return (pv, "positions+cash") if pv > 0 else (float("nan"), "unknown")
            return (pv, "positions (cash unknown)") if pv > 0 else (float("nan"), "unknown")
        if cash is not None and math.isfinite(cash) and cash > 0:
            return float(cash), "positions+cash"
        return float("nan"), "unknown"

    @property
    def pv(self) -> float:
        """Portfolio value ($), NaN when unknown."""
        return self._pv[0]

    @property
    def pv_source(self) -> str:
        return self._pv[1]

    @property
    def pv_known(self) -> bool:
        return math.isfinite(self.pv) and self.pv > 0

    @cached_property
    def flow(self) -> pd.Series:
        """Signed shares traded by symbol (buys +, sells -), valid trades only."""
        return self._holdings[1] if self.valid.any() else pd.Series(dtype=float)

    @cached_property
    def post(self) -> pd.Series:
        """Shares held after the trades, by symbol (zero positions dropped)."""
        post = self.after_all
        return post[post.abs() > EPS]

    @cached_property
    def after_all(self) -> pd.Series:
        """Shares held after the trades, by symbol (zero positions kept)."""
        if not (len(self.pre) or len(self.flow)):
            return self.pre.add(self.flow, fill_value=0.0)
        return self._holdings[2]

    @cached_property
    def post_val(self) -> pd.Series:
        """Positions after the trades in $ at the marks."""
        return self.post * self.marks_of(self.post.index)

    @property
    def n_after(self) -> int:
        return int((self.post.abs() > EPS).sum())

    @cached_property
    def calc(self) -> np.ndarray:
        """shares x signal price ($), per trade."""
        return self.t.shares * self.t.price

    @cached_property
    def send_total(self) -> float:
        """Notional to be sent ($, buys + sells, valid trades)."""
        return float(np.abs(self.t.send[self.valid]).sum())

    @property
    def turnover(self) -> float:
        """send_total / portfolio value (fraction), NaN when the value is unknown."""
        return self.send_total / self.pv if self.pv_known else float("nan")

    @cached_property
    def est_costs(self) -> float:
        """Estimated costs ($) of the valid trades (``total_cost_est``)."""
        return float(self.t.total[self.valid].sum())

    @property
    def cost_pct(self) -> float:
        """est_costs / send_total (fraction), 0 with nothing to send."""
        return self.est_costs / self.send_total if self.send_total > 0 else 0.0


def build_context(
    trades: Trades,
    *,
    positions: pd.DataFrame | None,
    quotes: pd.DataFrame | None,
    events: pd.DataFrame | None,
    reference: pd.DataFrame | None,
    thresholds: Thresholds,
    now: dt.datetime,
    kill_switch_file: bool,
    cash: float | None = None,
    restricted: pd.DataFrame | None = None,
) -> CheckContext:
    """Prepare the shared context once (``now`` naive is taken as UTC)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    df_all = trades.df
    inc = included_mask(trades).to_numpy(dtype=bool)
    trade_date, date_source = trades.header.date, "header"
    if trade_date is None:
        trade_date, date_source = now.astimezone(NY).date().isoformat(), "now"
    return CheckContext(
        th=thresholds,
        now=now,
        header=trades.header,
        df_all=df_all,
        inc=inc,
        t=TradeArrays.of(df_all[inc]),
        trade_date=trade_date,
        date_source=date_source,
        positions=None if positions is None else apply_splits(positions, events, trade_date),  # post-split
        quotes=quotes,
        events=events,
        reference=reference,
        kill_switch_file=kill_switch_file,
        cash=cash,
        restricted=restricted,
    )
