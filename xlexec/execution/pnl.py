"""Today's P&L ($) from the broker's positions and fills (the arithmetic: :func:`xlexec.core.pnl.pnl_today`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xlexec.core.pnl import pnl_today
from xlexec.core.quotes import mid_map
from xlexec.execution.brokers.base import Broker
from xlexec.formats.inputs import read_closes, read_quotes
from xlexec.store.day import Day


def _positions_frame(broker: Broker) -> pd.DataFrame:
    ps = broker.positions()
    return pd.DataFrame(
        {
            "symbol": [p.symbol for p in ps],
            "shares": [float(p.qty) for p in ps],
            "avg_cost": [float(p.avg_entry_price) for p in ps],
            "current_price": [p.current_price if p.current_price is not None else np.nan for p in ps],
        }
    )


def _fills_frame(broker: Broker, day: str) -> pd.DataFrame:
    fl = broker.fills(day)
    return pd.DataFrame(
        {
            "symbol": [x.symbol for x in fl],
            "side": [x.side for x in fl],
            "shares": [float(x.qty) for x in fl],
            "price": [float(x.price) for x in fl],
            "commission": [float(x.commission or 0) for x in fl],
            "order_id": [x.order_id for x in fl],
        }
    )


def day_pnl(ctx, broker: Broker, day: str | None = None, quotes: pd.DataFrame | None = None) -> dict[str, Any]:
    """Shell helper: today's P&L from the broker's positions and fills, marked to the quotes
    (``live/<day>/quotes.csv``, else the broker's current prices), start-of-day marks from the
    most recent earlier ``live/<D>/closes.csv`` (none: P&L today unknown for the symbols held)."""
    day = day or ctx.today()
    pos = _positions_frame(broker)
    live = Path(ctx.live_dir)
    if quotes is None and Day(live, day).quotes.exists():
        quotes = read_quotes(Day(live, day).quotes)
    marks = pd.DataFrame({"symbol": pos["symbol"], "mid": pos["current_price"]})
    if quotes is not None and len(quotes):
        q = pd.DataFrame({"symbol": quotes["symbol"], "mid": mid_map(quotes).reindex(quotes["symbol"]).to_numpy()})
        marks = pd.concat([marks[~marks["symbol"].isin(q["symbol"])], q], ignore_index=True)
    closes = None
    earlier = sorted(p for p in live.glob("????-??-??/closes.csv") if p.parent.name < day)
    if earlier:
        closes = read_closes(earlier[-1])
    out = pnl_today(pos, marks, _fills_frame(broker, day), closes)
    out["day"] = day
    return out
