"""Synthetic, deterministic data for the benchmarks (numpy; written with xlexec's own writers
where the format matters). Nothing here is timed.

A "book" is one day of a large fund: ``n`` trades on ``n`` distinct made-up tickers, positions
(the sells' holdings plus names not traded), quotes, corporate events, reference data (sector,
ADV). A realistic sprinkle of findings is planted (a few percent of trades off the quote, stale
or missing quotes, cost-estimate drift, events near the date, thin ADV, a few oversells,
fractional shares, notional mismatches, wrong-direction weights) so every code path of the
validator, including the per-row messages, does real work.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .harness import tickers

DAY = "2025-10-30"  # a Thursday, a full NYSE session
NOW = "2025-10-30T13:40:00+00:00"  # 09:40 New York
QUOTE_TS = "2025-10-30T13:31:00+00:00"
STALE_TS = "2025-10-30T12:00:00+00:00"
SECTORS = [
    "Technology",
    "Financials",
    "Health Care",
    "Consumer Discretionary",
    "Communication Services",
    "Industrials",
    "Consumer Staples",
    "Energy",
    "Utilities",
    "Real Estate",
    "Materials",
]


@dataclass
class Book:
    trades: pd.DataFrame
    header: dict[str, str]
    positions: pd.DataFrame
    quotes: pd.DataFrame
    events: pd.DataFrame
    reference: pd.DataFrame
    portfolio_value: float


def _pick(rng, n: int, frac: float) -> np.ndarray:
    k = max(1, int(round(n * frac))) if n >= 20 else 0
    return rng.choice(n, size=k, replace=False) if k else np.array([], dtype=int)


def make_book(n: int, seed: int = 11, day: str = DAY, anomalies: bool = True) -> Book:
    rng = np.random.default_rng(seed)
    n_held_only = max(1, n // 5)
    syms = np.array(tickers(n + n_held_only, seed=seed))
    traded, held_only = syms[:n], syms[n:]
    price = np.maximum(2.0, np.round(np.exp(rng.normal(np.log(80), 0.8, n)), 2))
    target_notional = np.exp(rng.normal(np.log(30_000), 0.7, n))
    shares = np.maximum(1, np.round(target_notional / price)).astype(float)
    buy = rng.random(n) < 0.55
    notional = np.round(shares * price, 2)
    pv = float(round(notional.sum() / 0.25, -3))  # turnover ~25% (under the 30% warning)
    wc = np.round(np.where(buy, 1, -1) * notional / pv, 6)
    comm = np.round(notional * 1.0 / 1e4, 2)
    slip = np.round(notional * 2.0 / 1e4, 2)
    if anomalies:
        frac = _pick(rng, n, 0.001)
        shares[frac] = shares[frac] + 0.5  # fractional shares (fail)
        notional = np.where(np.isin(np.arange(n), frac), np.round(shares * price, 2), notional)
        mism = _pick(rng, n, 0.002)
        notional[mism] = notional[mism] + 5.0  # notional != shares x price (fail)
        wrong = _pick(rng, n, 0.003)
        wc[wrong] = -np.sign(np.where(buy[wrong], 1, -1)) * 0.0001  # wrong direction (fail)
        drift = _pick(rng, n, 0.01)
        slip[drift] = np.round(slip[drift] * 1.5 + 0.05, 2)  # cost estimate drift (warn)
    total = np.round(comm + slip, 2)
    trades = pd.DataFrame(
        {
            "symbol": traded,
            "side": np.where(buy, "buy", "sell"),
            "shares": shares,
            "price": price,
            "notional": notional,
            "weight_change": wc,
            "commission_est": comm,
            "slippage_est": slip,
            "total_cost_est": total,
        }
    )
    gross = float(notional.sum())
    est = float(total.sum())
    header = {
        "Date": day,
        "Total Trades": str(n),
        "Buy Orders": str(int(buy.sum())),
        "Sell Orders": str(int((~buy).sum())),
        "Total Notional": f"${gross:,.2f}",
        "Estimated Costs": f"${est:,.2f} ({est / gross * 100:.2f}% of notional)",
        "Portfolio Turnover": f"{gross / pv * 100:.1f}%",
        "Portfolio Value": f"${pv:,.2f}",
        "Regime": "Normal (Risk Multiplier: 1.0)",
        "IC": "0.034",
        "Kill Switch": "ACTIVE",
        "Safety Checks": "PASSED",
    }

    # positions: every sold name held (a few too few: oversells), plus names not traded today
    sells = np.flatnonzero(~buy)
    held = np.round(shares[sells] * rng.uniform(1.0, 3.0, len(sells)))
    if anomalies:
        over = _pick(rng, len(sells), 0.005)
        held[over] = np.maximum(0.0, np.floor(shares[sells][over] / 2))
    ho_price = np.maximum(2.0, np.round(np.exp(rng.normal(np.log(80), 0.8, len(held_only))), 2))
    ho_shares = np.maximum(1, np.round(np.exp(rng.normal(np.log(200_000), 0.5, len(held_only))) / ho_price))
    positions = pd.DataFrame(
        {
            "symbol": np.concatenate([traded[sells], held_only]),
            "shares": np.concatenate([held, ho_shares]).astype(float),
            "avg_cost": np.round(
                np.concatenate([price[sells], ho_price]) * rng.normal(0.97, 0.04, len(sells) + len(held_only)), 2
            ),
        }
    )
    positions = positions[positions["shares"] > 0].reset_index(drop=True)

    # quotes: mid near the signal price; some off by 3% (warn) or 12% (fail), stale, missing
    mid = price * (1 + rng.normal(0, 0.002, n))
    ts = np.full(n, QUOTE_TS, dtype=object)
    keep = np.ones(n, bool)
    if anomalies:
        warn = _pick(rng, n, 0.02)
        mid[warn] = price[warn] * 1.03
        fail = _pick(rng, n, 0.002)
        mid[fail] = price[fail] * 1.12
        ts[_pick(rng, n, 0.02)] = STALE_TS
        keep[_pick(rng, n, 0.01)] = False
    spread = np.maximum(0.01, np.round(mid * 0.0003, 2))
    quotes = pd.DataFrame(
        {
            "symbol": traded,
            "bid": np.round(mid - spread / 2, 2),
            "ask": np.round(mid + spread / 2, 2),
            "last": np.round(mid, 2),
            "timestamp": ts,
            "bid_size": np.round(rng.uniform(100, 5000, n)),
            "ask_size": np.round(rng.uniform(100, 5000, n)),
        }
    )
    quotes = quotes[keep].reset_index(drop=True)

    # reference: sector and ADV for every name (a few thin ones)
    allsyms = np.concatenate([traded, held_only])
    adv = np.round(np.exp(rng.normal(np.log(2_000_000), 1.0, len(allsyms))))
    if anomalies:
        thin = _pick(rng, n, 0.01)
        adv[thin] = np.maximum(1.0, np.round(shares[thin] * 5))  # 20% of ADV (warn)
    reference = pd.DataFrame(
        {"symbol": allsyms, "sector": np.array(SECTORS)[rng.integers(0, len(SECTORS), len(allsyms))], "adv_shares": adv}
    )

    # events: ~1% of traded names near the date, a couple of halts, and distant ones
    d0 = dt.date.fromisoformat(day)
    k = max(1, n // 100)
    ev_sym = rng.choice(traded, size=min(n, 3 * k), replace=False)
    offs = np.concatenate([rng.integers(-3, 4, k), rng.integers(20, 60, len(ev_sym) - k)])
    ev_dates = [(d0 + dt.timedelta(days=int(o))).isoformat() for o in offs]
    kinds = rng.choice(["earnings", "ex_dividend", "split", "merger"], size=len(ev_sym))
    if anomalies and n >= 100:
        kinds[:2] = "halt"
        ev_dates[:2] = [day, day]
    # a split carries its ratio (the reader refuses one without); none falls on the trade date, so
    # the positions both sides of a benchmark read are the file's own
    kinds[(kinds == "split") & (np.array(ev_dates) == day)] = "earnings"
    ratio = np.where(kinds == "split", 2.0, np.nan)
    events = pd.DataFrame({"symbol": ev_sym, "date": ev_dates, "event": kinds, "ratio": ratio})
    return Book(trades, header, positions, quotes, events, reference, pv)


def book_trades(book: Book):
    """The book's trades as a :class:`~xlexec.core.trades.Trades` numbered by file row (the
    header line is row 1, so the first trade is row 2)."""
    from xlexec.core.trades import Trades, TradesHeader

    df = book.trades.copy()
    df.index = pd.RangeIndex(2, 2 + len(df), name="row")
    return Trades(df, TradesHeader(dict(book.header)), "trades.csv")


def write_trades_file(book: Book, path: Path) -> Path:
    """The book's trades as the model writes them (``# Key: Value`` header, then the rows)."""
    from xlexec.formats.trades import write_trades

    return write_trades(book_trades(book), path)


def write_book(book: Book, root: Path) -> dict[str, Path]:
    """The book as the files ``xlexec validate`` reads."""
    from xlexec.formats.csvio import atomic_write_csv

    out = {
        "trades": write_trades_file(book, root / "trades.csv"),
        "positions": atomic_write_csv(root / "current_positions.csv", book.positions, {"avg_cost": 2}),
        "quotes": atomic_write_csv(root / "quotes.csv", book.quotes, {"bid": 2, "ask": 2, "last": 2}),
        "events": atomic_write_csv(root / "events.csv", book.events),
        "reference": atomic_write_csv(root / "reference.csv", book.reference),
    }
    return out
