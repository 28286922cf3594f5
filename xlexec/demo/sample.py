"""A realistic, deterministic trading day for the demo and the tests.

About 25 US large caps, a $100,000 portfolio (about 90% invested), current positions, a model's
``trades.csv`` with the guide's header, quotes stamped 09:39:30 New York (30 s before the demo's
09:40 submit, within ``execution.max_quote_age_seconds``), closing prices, reference data
(sector, ADV), one corporate event (an ex-dividend date), one order the paper broker will not fill
(its quote has moved above the buy limit) and one that fills only partly (thin displayed size).
Everything derives from a seeded generator: same date, same files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from xlexec.core.trades import Trades, TradesHeader
from xlexec.formats.csvio import atomic_write_csv
from xlexec.formats.trades import write_trades

NY = ZoneInfo("America/New_York")

# symbol, sector, approx price ($), ADV (shares)
UNIVERSE = [
    ("AAPL", "Technology", 270.10, 52_000_000), ("MSFT", "Technology", 525.40, 21_000_000),
    ("NVDA", "Technology", 201.30, 180_000_000), ("AMZN", "Consumer Discretionary", 224.20, 45_000_000),
    ("GOOGL", "Communication Services", 274.60, 33_000_000), ("META", "Communication Services", 751.40, 13_000_000),
    ("BRK.B", "Financials", 481.20, 4_200_000), ("JPM", "Financials", 309.70, 9_000_000),
    ("V", "Financials", 344.90, 6_500_000), ("UNH", "Health Care", 361.50, 11_000_000),
    ("XOM", "Energy", 115.30, 16_000_000), ("JNJ", "Health Care", 189.80, 8_000_000),
    ("PG", "Consumer Staples", 150.10, 7_000_000), ("MA", "Financials", 559.80, 3_000_000),
    ("HD", "Consumer Discretionary", 380.20, 3_600_000), ("CVX", "Energy", 155.40, 8_500_000),
    ("LLY", "Health Care", 829.90, 3_400_000), ("ABBV", "Health Care", 224.70, 6_000_000),
    ("PEP", "Consumer Staples", 145.20, 6_800_000), ("KO", "Consumer Staples", 68.90, 14_000_000),
    ("COST", "Consumer Staples", 930.50, 2_100_000), ("WMT", "Consumer Staples", 100.40, 17_000_000),
    ("BAC", "Financials", 52.30, 38_000_000), ("CSCO", "Technology", 72.10, 19_000_000),
    ("ORCL", "Technology", 250.80, 12_000_000),
]


@dataclass
class SampleDay:
    date: str
    trades: Trades
    positions: pd.DataFrame
    quotes: pd.DataFrame
    closes: pd.DataFrame
    events: pd.DataFrame
    reference: pd.DataFrame
    unfilled_symbol: str | None
    partial_symbol: str | None
    cash: float  # $ not invested at signal prices = starting cash of the paper broker
    bars: pd.DataFrame | None = None  # the session's minute bars (bars.csv), see make_bars


def make_day(date: str = "2025-10-30", portfolio_value: float = 100_000.0, seed: int | None = None,
             costs_bps: float = 1.0, slippage_bps: float = 2.0, *, book: pd.DataFrame | None = None,
             cash: float | None = None, prev_close: dict[str, float] | None = None) -> SampleDay:
    """The day's inputs. Without ``book``: the first day of a fresh $``portfolio_value`` book.

    With ``book`` (``symbol, shares, avg_cost``: yesterday's accepted positions), ``cash`` ($) and
    ``prev_close`` (symbol -> $): the next day of the same fund, prices walking on from the
    closes. ``seed`` defaults to the date's digits, so each date has its own, repeatable day.
    """
    rng = np.random.default_rng(int(date.replace("-", "")) if seed is None else seed)
    syms = [u[0] for u in UNIVERSE]
    if prev_close is None:
        prices = np.array([u[2] for u in UNIVERSE]) * (1 + rng.normal(0, 0.004, len(UNIVERSE)))
    else:
        base = np.array([prev_close.get(u[0], u[2]) for u in UNIVERSE])
        prices = base * (1 + rng.normal(0.0003, 0.008, len(UNIVERSE)))
    prices = np.round(prices, 2)
    price = dict(zip(syms, prices))

    if book is None:
        # current book: 20 names at ~4.4% each (~88% invested, ~12% cash)
        held = syms[:20]
        pos_sh = {s: int(round(portfolio_value * 0.044 / price[s])) for s in held}
        cost = {s: round(price[s] * (1 + rng.normal(-0.03, 0.04)), 2) for s in held}
        positions = pd.DataFrame({"symbol": held, "shares": [float(pos_sh[s]) for s in held],
                                  "avg_cost": [cost[s] for s in held]})
        invested = float(sum(pos_sh[s] * price[s] for s in held))
        pv = portfolio_value
        # the model: sell out of 2 names, trim 3, add to 3, buy 2 new names (~3.5% each)
        sell_out, trims, adds, new = held[18:20], held[3:6], held[8:11], syms[20:22]
        market = {held[19], held[10]}
    else:
        positions = book[book["shares"] > 0][["symbol", "shares", "avg_cost"]].reset_index(drop=True)
        held = sorted(positions["symbol"])
        pos_sh = dict(zip(positions["symbol"], positions["shares"].astype(int)))
        invested = float(sum(pos_sh[s] * price.get(s, 0.0) for s in held))
        pv = round(float(cash or 0.0) + invested, 2)
        # keep about 20 names: sell out 2 when the book is full, fewer when it has shrunk (one new
        # buy a day rests unfilled); buy 2 new names, more when the book is short
        order = [held[i] for i in rng.permutation(len(held))]
        n_out = max(0, min(2, len(held) - 18))
        sell_out, trims, adds = order[:n_out], order[n_out:n_out + 3], order[n_out + 3:n_out + 6]
        others = [s for s in syms if s not in set(held)]
        new = [others[i] for i in rng.permutation(len(others))[:max(2, min(4, 22 - len(held)))]]
        # within buying power (submission keeps a 5% buffer): buys <= 95% of cash + sells
        budget = (0.95 * float(cash or 0.0) + sum(pos_sh[x] * price[x] for x in sell_out)
                  + sum(int(pos_sh[x] * 0.3) * price[x] for x in trims)
                  - sum(pv * 0.012 for _ in adds))
        new = new[:max(0, min(len(new), int(budget // (pv * 0.036))))]
        market = {(sell_out or trims)[-1], adds[-1]}
    plan = []
    for s in sell_out:
        plan.append((s, "sell", pos_sh[s]))
    for s in trims:
        plan.append((s, "sell", max(1, int(pos_sh[s] * 0.3))))
    for s in adds:
        plan.append((s, "buy", max(1, int(round(pv * 0.012 / price[s])))))
    for s in new:
        plan.append((s, "buy", int(round(pv * 0.035 / price[s]))))
    rows = []
    for s, side, sh in plan:
        notional = round(sh * price[s], 2)
        w = round((1 if side == "buy" else -1) * notional / pv, 4)
        c = round(notional * costs_bps / 1e4, 2)
        sl = round(notional * slippage_bps / 1e4, 2)
        rows.append({"symbol": s, "side": side, "shares": float(sh), "price": float(price[s]),
                     "notional": notional, "weight_change": w, "commission_est": c,
                     "slippage_est": sl, "total_cost_est": round(c + sl, 2)})
    df = pd.DataFrame(rows)
    # two urgent names go as market orders (the guide: "if urgency, use MARKET order (accept
    # slippage)"): they fill a little worse than the signal, so the day's TCA has costs too
    df["order_type"] = ["market" if s in market else "limit" for s in df["symbol"]]
    df.index = pd.RangeIndex(10, 10 + len(df), name="row")
    total = df["notional"].sum()
    est = df["total_cost_est"].sum()
    turnover = total / pv
    header = TradesHeader({
        "Date": date,
        "Total Trades": str(len(df)),
        "Buy Orders": str(int((df["side"] == "buy").sum())),
        "Sell Orders": str(int((df["side"] == "sell").sum())),
        "Total Notional": f"${total:,.2f}",
        "Estimated Costs": f"${est:,.2f} ({est / total * 100:.2f}% of notional)",
        "Portfolio Turnover": f"{turnover * 100:.1f}%",
        "Portfolio Value": f"${pv:,.2f}",
        "Regime": "Normal (Risk Multiplier: 1.0)",
        "IC": "0.034",
        "Kill Switch": "ACTIVE",
        "Safety Checks": "PASSED",
    })
    trades = Trades(df, header, f"live/{date}/trades.csv")

    # quotes at 09:39:30 New York (the snapshot the 09:40 submit uses: fresh enough for
    # execution.max_quote_age_seconds), 1-cent-ish spreads around a price that drifted a little
    d = dt.date.fromisoformat(date)
    ts = dt.datetime.combine(d, dt.time(9, 39, 30), NY).astimezone(dt.UTC)
    drift = 1 + rng.normal(0, 0.0015, len(syms))
    mids = prices * drift
    unfilled = new[1] if len(new) > 1 else None  # a new buy whose quote ran away (+1.5%): rests
    partial = new[0] if new else None            # a new buy with thin displayed size: fills partly
    if unfilled:
        mids[syms.index(unfilled)] = price[unfilled] * 1.015
    for s_ in market:  # the market moved against the urgent orders by ~12 bps
        side_ = df.loc[df["symbol"] == s_, "side"].iloc[0]
        mids[syms.index(s_)] = price[s_] * (1.0012 if side_ == "buy" else 0.9988)
    spread = np.maximum(0.01, np.round(mids * 0.0002, 2))
    bid = np.round(mids - spread / 2, 2)
    ask = np.round(mids + spread / 2, 2)
    quotes = pd.DataFrame({"symbol": syms, "bid": bid, "ask": ask, "last": np.round(mids, 2),
                           "timestamp": [ts.isoformat()] * len(syms),
                           "bid_size": [5000.0] * len(syms), "ask_size": [5000.0] * len(syms)})
    if partial:
        part_qty = int(df.loc[df["symbol"] == partial, "shares"].iloc[0])
        quotes.loc[quotes["symbol"] == partial, "ask_size"] = float(max(1, part_qty // 2))
    # buys must cross: limit = signal price, so make sure ask <= signal price for the others
    for i, s in enumerate(syms):
        if s in market:
            continue
        if s in set(df.loc[df["side"] == "buy", "symbol"]) and s != unfilled:
            if ask[i] > price[s]:
                quotes.loc[i, "ask"] = price[s]
                quotes.loc[i, "bid"] = round(price[s] - 0.02, 2)
                quotes.loc[i, "last"] = round(price[s] - 0.01, 2)
        if s in set(df.loc[df["side"] == "sell", "symbol"]):
            if bid[i] < price[s]:
                quotes.loc[i, "bid"] = price[s]
                quotes.loc[i, "ask"] = round(price[s] + 0.02, 2)
                quotes.loc[i, "last"] = round(price[s] + 0.01, 2)
    closes = pd.DataFrame({"symbol": syms, "close": np.round(mids * (1 + rng.normal(0.001, 0.006, len(syms))), 2)})
    events = pd.DataFrame({"symbol": [adds[1]], "date": [date], "event": ["ex_dividend"]})
    reference = pd.DataFrame({"symbol": syms, "sector": [u[1] for u in UNIVERSE],
                              "adv_shares": [float(u[3]) for u in UNIVERSE]})
    bars = make_bars(date, dict(zip(syms, prices)), quotes, closes, reference, slippage_bps)
    return SampleDay(date, trades, positions, quotes, closes, events, reference, unfilled, partial,
                     round(pv - invested, 2), bars)


#: the minute (from the open) of the demo's 09:40 submit: its bar holds every paper fill
SUBMIT_MINUTE = 10


def make_bars(date: str, opens: dict[str, float], quotes: pd.DataFrame, closes: pd.DataFrame,
              reference: pd.DataFrame, slippage_bps: float = 2.0) -> pd.DataFrame | None:
    """Realistic minute bars of the session for every symbol (``bars.csv``'s columns): a random
    walk (about 1.2% a day) from the signal price at the open through the quote mid at 09:40
    to the day's close; volume in a U shape over the day summing to the symbol's ADV; each
    bar's VWAP inside its range. The 09:40 bar's range takes in the quote's bid and ask moved by
    3 x ``slippage_bps``, so every paper fill (bid/ask plus the simulator's slippage, at 09:40)
    lies within the bar of its minute. A generator of its own (seeded by the date): the day's
    other files are the same with or without bars. None on a day without a session."""
    from xlexec.core import calendar as cal
    if not cal.is_session(date):
        return None
    rng = np.random.default_rng(int(date.replace("-", "")) + 7)
    t0 = cal.session_open_utc(date)
    n = int((cal.session_close_utc(date) - t0) / pd.Timedelta(minutes=1))
    k = min(SUBMIT_MINUTE, n - 1)
    ts = pd.date_range(t0, periods=n, freq="1min")
    x = np.linspace(-1.0, 1.0, n)
    shape = (1.0 + 1.5 * x ** 2) / float(np.sum(1.0 + 1.5 * x ** 2))  # U-shaped volume over the day
    close_of = dict(zip(closes["symbol"], closes["close"]))
    adv = dict(zip(reference["symbol"], reference["adv_shares"]))
    frames = []
    for q in quotes.itertuples(index=False):
        s, bid, ask = q.symbol, float(q.bid), float(q.ask)
        mid, c_end = (bid + ask) / 2, float(close_of[s])
        path = np.empty(n + 1)  # path[i]: the price at the start of minute i; path[n] = the close
        path[: k + 1] = _bridge(rng, opens[s], mid, k)
        path[k:] = _bridge(rng, mid, c_end, n - k)
        o, c = path[:-1], path[1:]
        wick = np.abs(rng.normal(0, 0.00025, (2, n)))
        hi, lo = np.maximum(o, c) * (1 + wick[0]), np.minimum(o, c) * (1 - wick[1])
        room = 3 * slippage_bps / 1e4
        hi[k] = max(hi[k], ask * (1 + room) + 0.01)
        lo[k] = min(lo[k], bid * (1 - room) - 0.01)
        vol = np.maximum(1.0, np.round(float(adv.get(s, 1e6)) * shape * rng.lognormal(0, 0.3, n)))
        vw = np.clip((hi + lo + 2 * c) / 4, lo, hi)
        frames.append(pd.DataFrame({"symbol": s, "timestamp": ts, "open": np.round(o, 4), "high": np.round(hi, 4),
                                    "low": np.round(lo, 4), "close": np.round(c, 4), "volume": vol,
                                    "vwap": np.round(vw, 4)}))
    return pd.concat(frames, ignore_index=True)


def _bridge(rng, a: float, b: float, steps: int) -> np.ndarray:
    """A random walk of ``steps`` minutes from ``a`` to ``b`` ($; a Brownian bridge, ``steps + 1`` points)."""
    w = np.concatenate([[0.0], np.cumsum(rng.normal(0, 0.0006, steps))])
    t = np.linspace(0.0, 1.0, steps + 1)
    return a * np.exp(w - t * w[-1] + t * np.log(b / a))


def write_day(day: SampleDay, live_dir: str | Path, *, positions: bool = True) -> dict[str, Path]:
    """Write the day's inputs under ``live_dir`` (atomic writes). Returns name -> path."""
    live = Path(live_dir)
    dd = live / day.date
    events = day.events
    if (live / "events.csv").exists():  # the calendar of events grows day by day
        from xlexec.formats.inputs import read_events
        old = read_events(live / "events.csv")[["symbol", "date", "event"]]
        events = pd.concat([old, day.events], ignore_index=True).drop_duplicates(ignore_index=True)
    out = {
        "trades": write_trades(day.trades, dd / "trades.csv"),
        "quotes": atomic_write_csv(dd / "quotes.csv", day.quotes, {"bid": 2, "ask": 2, "last": 2}),
        "closes": atomic_write_csv(dd / "closes.csv", day.closes, {"close": 2}),
        "events": atomic_write_csv(live / "events.csv", events),
        "reference": atomic_write_csv(live / "reference.csv", day.reference),
    }
    if day.bars is not None:
        from xlexec.formats.bars import write_bars
        out["bars"] = write_bars(day.bars, dd / "bars.csv")
    if positions:
        out["positions"] = atomic_write_csv(live / "current_positions.csv", day.positions, {"avg_cost": 2})
    return out
