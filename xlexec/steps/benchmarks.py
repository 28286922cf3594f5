"""The day's market benchmarks for the TCA step: gathers the bars (``bars.csv``, fetched from
Alpaca and saved there when keys are configured and the file is missing), each order's working
interval (journal + fills), its arrival quote (the day's ``quotes.csv``) and hands them to
:mod:`xlexec.core.benchmarks`. Missing bars never fail the day: the benchmarks that need them
are missing, with the reason, and the rest of the TCA stands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xlexec.core.benchmarks import ORDER_COLUMNS, benchmarks_document, order_benchmarks, working_end
from xlexec.core.symbols import canonical_symbol
from xlexec.errors import InputError
from xlexec.execution.marketdata import alpaca_data_configured, refresh_bars_file
from xlexec.formats.bars import read_bars
from xlexec.formats.inputs import read_quotes
from xlexec.store.working import last_fill_times, order_windows


def _bars(day_dir: Path, ctx, symbols: list[str], day: str | None, notes: list[str]):
    """(bars or None, source text, why missing)."""
    path = day_dir / "bars.csv"
    fetched = False
    if day and not path.exists():
        fetched = refresh_bars_file(ctx.config, symbols, day, path, warn=notes.append)
    if not path.exists():
        why = f"no {path.name} in the day folder" + (
            "" if alpaca_data_configured(ctx.config) else " (Alpaca market data not configured)"
        )
        return None, "none", why
    try:
        bars = read_bars(path)
    except InputError as e:
        return None, "none", f"{path.name} unreadable: {' '.join(str(e).split())}"
    return bars, ("Alpaca minute bars, saved as bars.csv" if fetched else "bars.csv"), None


def _quotes(day_dir: Path) -> dict[str, tuple[float, float]]:
    path = day_dir / "quotes.csv"
    if not path.exists():
        return {}
    try:
        q = read_quotes(path)
    except InputError:
        return {}
    return {str(s): (float(b), float(a)) for s, b, a in zip(q["symbol"], q["bid"], q["ask"])}


def _windows(journal, day: str | None) -> pd.DataFrame:
    """Per (symbol, side): the earliest submission and the latest end of its orders."""
    cols = ["symbol", "side", "start", "ended"]
    if journal is None or not day:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    w = order_windows(journal, day)
    if not len(w):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    g = w.groupby(["symbol", "side"], as_index=False, sort=False)
    return g.agg(start=("submitted_at", "min"), ended=("ended_at", "max"))[cols]


def day_benchmarks(
    day_dir: Path, ctx, res, fills: pd.DataFrame, *, day: str | None, journal, arrivals, broker: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The per-order benchmark frame and ``tca.json``'s ``benchmarks`` block for the TCA
    result ``res`` (:class:`xlexec.core.tca.TcaResult`) of the day in ``day_dir``."""
    notes: list[str] = []
    bt = res.by_trade
    symbols = [canonical_symbol(s) for s in bt["symbol"]]
    bars, source, why = _bars(day_dir, ctx, symbols, day, notes)
    quotes = _quotes(day_dir)
    win = _windows(journal, day)
    lf = last_fill_times(fills, day)
    lf_by = lf.groupby(["symbol", "side"])["last_fill"].max().to_dict() if len(lf) else {}
    start_by = {(r.symbol, r.side): r.start for r in win.itertuples(index=False)}
    end_by = {(r.symbol, r.side): r.ended for r in win.itertuples(index=False)}
    brokers: dict[tuple[str, str], str] = {}
    if arrivals is not None and len(arrivals):
        for s, sd, b in zip(arrivals["symbol"], arrivals["side"], arrivals["broker"]):
            if b:
                brokers.setdefault((str(s), str(sd)), str(b))
    rows = []
    for r in bt.itertuples(index=False):
        key = (str(r.symbol), str(r.side))
        bid, ask = quotes.get(key[0], (np.nan, np.nan))
        last_fill = lf_by.get(key, pd.NaT)
        rows.append(
            {
                "client_order_id": r.client_order_id,
                "symbol": key[0],
                "side": key[1],
                "broker": brokers.get(key, broker),
                "filled_shares": float(r.filled_shares),
                "avg_fill_price": float(r.avg_fill_price),
                "signal_price": float(r.signal_price),
                "arrival_price": float(r.arrival_price),
                "close": float(r.close),
                "start": start_by.get(key, pd.NaT),
                "end": working_end(float(r.filled_shares), float(r.planned_shares), last_fill, end_by.get(key, pd.NaT)),
                "bid": bid,
                "ask": ask,
            }
        )
    orders = pd.DataFrame(rows, columns=ORDER_COLUMNS)
    if journal is None:
        notes.append("no journal: submission times unknown, no interval benchmarks")
    per_order = order_benchmarks(orders, bars, bars_missing=why)
    if why:
        notes.append(f"bars: {why}")
    doc = benchmarks_document(per_order, source=source, notes=notes, adv_limit=ctx.config.validation.max_adv_pct)
    return per_order, doc
