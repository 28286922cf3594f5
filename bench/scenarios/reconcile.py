"""Scenario 2: reconcile 10,000 planned orders against 200,000 fills with partials (< 1 s).

Data: a 10,000-trade book; 20 fills per order on average (executed quantity split into
partial fills), 5% of orders not executed, 10% partly, 0.5% over-filled, 0.5% of the fills for
names never planned; 70% of fills carry our client order id, the rest match by symbol+side.

* xlexec: :func:`xlexec.core.reconcile.reconcile` (matching, per-order status and reasons,
  slippage, commission, cash, positions after, breaks) on the inputs as xlexec reads them
  (``read_trades``, ``read_fills``, ``read_positions``); reading the three files is timed apart
  (``read_seconds``, ``end_to_end_seconds``).
* baseline: the guide's ``reconcile_positions.py`` as a row-by-row script: ``for _, fill in
  fills.iterrows()`` accumulating executed shares, notional, commission and positions per
  symbol+side, then ``for _, trade in trades.iterrows()`` for status and slippage (matching by
  symbol+side only; no breaks, no reasons).
"""

from __future__ import annotations

from pathlib import Path

from ..harness import Timer

NAME = "reconcile"
TITLE = "reconcile {size:,} planned orders against 20 fills each (partials)"
UNIT = "orders"
FULL_SIZE = 10_000
FILLS_PER_ORDER = 20
TARGET = "< 1 s"
SIDES = ("xlexec", "baseline")
WARMUP = {"xlexec": 1, "baseline": 0}
MAX_REPEAT = {"baseline": 2}
GEN_VERSION = 1
BASELINE = "guide-style iterrows loop (symbol+side matching)"


def make_fills(trades, orders, n_fills: int, day: str, seed: int = 5, n_unplanned: int | None = None):
    """Canonical fills for ``orders`` (the planned orders), ``n_fills`` in all, of which
    ``n_unplanned`` (default 0.5%) are for names never planned."""
    import numpy as np
    import pandas as pd

    from ..harness import tickers

    rng = np.random.default_rng(seed)
    n = len(orders)
    qty = orders["qty"].to_numpy(dtype=float).astype(np.int64)
    px = orders["price"].to_numpy(dtype=float)
    u = rng.random(n)
    executed = np.where(
        u < 0.05, 0, np.where(u < 0.15, np.maximum(1, (qty * rng.uniform(0.2, 0.9, n)).astype(np.int64)), qty)
    )
    over = u > 0.995
    executed = np.where(over, qty + np.maximum(1, qty // 10), executed)
    n_unplanned = max(1, n_fills // 200) if n_unplanned is None else int(n_unplanned)
    want = n_fills - n_unplanned
    live = executed > 0
    k = np.zeros(n, np.int64)
    k[live] = rng.multinomial(want - live.sum(), np.full(live.sum(), 1.0 / live.sum())) + 1
    k = np.minimum(k, executed)
    deficit = want - int(k.sum())
    while deficit > 0:  # hand the fills that did not fit to orders with room left
        room = executed - k
        idx = np.flatnonzero(room > 0)
        if not len(idx):
            break
        add = np.minimum(room[idx], max(1, deficit // len(idx) + 1))
        add = np.minimum(np.cumsum(add), deficit) - np.concatenate([[0], np.minimum(np.cumsum(add), deficit)[:-1]])
        k[idx] += add
        deficit = want - int(k.sum())
    total = int(k.sum())
    oi = np.repeat(np.arange(n), k)
    starts = np.concatenate([[0], np.cumsum(k)[:-1]])
    pos = np.arange(total) - starts[oi]
    base = executed[oi] // k[oi]
    rem = executed[oi] % k[oi]
    shares = base + (pos < rem)
    side = orders["side"].to_numpy(dtype=object)[oi]
    sign = np.where(side == "buy", 1.0, -1.0)
    price = np.round(px[oi] * (1 + sign * rng.normal(1.5e-4, 5e-4, total)), 2)
    coid = orders["client_order_id"].to_numpy(dtype=object)[oi]
    coid = np.where(rng.random(total) < 0.7, coid, "")
    secs = rng.integers(0, int(6.5 * 3600), total)
    t0 = np.datetime64(f"{day}T13:30:00")
    times = np.char.add(np.datetime_as_string(t0 + secs.astype("timedelta64[s]"), unit="s").astype(str), "Z")
    fills = pd.DataFrame(
        {
            "date": day,
            "symbol": orders["symbol"].to_numpy(dtype=object)[oi],
            "side": side,
            "shares": shares.astype(float),
            "price": price,
            "commission": np.round(shares * 0.005, 2),
            "fill_time": times,
            "order_id": np.char.add("o", oi.astype(str)),
            "client_order_id": coid,
        }
    )
    # fills for names never planned
    other = np.array(tickers(n_unplanned + n, seed=seed + 1))
    other = other[~np.isin(other, orders["symbol"].to_numpy())][:n_unplanned]
    m = len(other)
    un = pd.DataFrame(
        {
            "date": day,
            "symbol": other,
            "side": rng.choice(["buy", "sell"], m),
            "shares": rng.integers(1, 500, m).astype(float),
            "price": np.round(rng.uniform(5, 300, m), 2),
            "commission": 0.0,
            "fill_time": f"{day}T15:00:00Z",
            "order_id": np.char.add("u", np.arange(m).astype(str)),
            "client_order_id": "",
        }
    )
    out = pd.concat([fills, un], ignore_index=True) if m else fills
    return out.iloc[rng.permutation(len(out))].reset_index(drop=True)


def prepare(root: Path, size: int) -> None:
    import pandas as pd

    from xlexec.core.orders import orders_from_trades
    from xlexec.core.trades import Trades, TradesHeader
    from xlexec.formats.csvio import atomic_write_csv
    from xlexec.formats.trades import write_trades

    from ..data import DAY, make_book

    book = make_book(size, seed=23, anomalies=False)
    df = book.trades.copy()
    df.index = pd.RangeIndex(2, 2 + len(df), name="row")
    trades = Trades(df, TradesHeader(dict(book.header)), "trades.csv")
    write_trades(trades, root / "trades.csv")
    orders = orders_from_trades(trades, date=DAY)
    fills = make_fills(trades, orders, size * FILLS_PER_ORDER, DAY)
    fills.to_csv(root / "broker_fills.csv", index=False, float_format="%.10g")
    atomic_write_csv(root / "current_positions.csv", book.positions, {"avg_cost": 2})


def _read_xlexec(root: Path):
    from xlexec.formats.fills import read_fills
    from xlexec.formats.inputs import read_positions
    from xlexec.formats.trades import read_trades

    return (
        read_trades(root / "trades.csv"),
        read_fills(root / "broker_fills.csv"),
        read_positions(root / "current_positions.csv"),
    )


def setup(root: Path, size: int, side: str):
    if side == "xlexec":
        return {"root": root}
    import pandas as pd

    return {
        "trades": pd.read_csv(root / "trades.csv", comment="#"),
        "fills": pd.read_csv(root / "broker_fills.csv"),
        "positions": pd.read_csv(root / "current_positions.csv"),
    }


def run(state, side: str):
    if side == "xlexec":
        from xlexec.core.reconcile import reconcile

        from ..data import DAY

        with Timer() as tr:
            trades, fills, positions = _read_xlexec(state["root"])
        with Timer() as t:
            res = reconcile(trades, fills, positions, day=DAY, cash_before=1_000_000.0)
        return t.seconds, {
            "read_seconds": tr.seconds,
            "end_to_end_seconds": tr.seconds + t.seconds,
            "fills": int(len(fills)),
            "executed": res.trades_executed,
            "not_executed": len(res.not_executed),
            "partial": len(res.partial),
            "breaks": len(res.breaks),
        }
    with Timer() as t:
        out = guide_style_reconcile(state["trades"], state["fills"], state["positions"])
    return t.seconds, out


def judge(row) -> bool:
    return row["seconds"] < 1.0


def guide_style_reconcile(trades, fills, positions) -> dict:
    executed: dict = {}
    notional: dict = {}
    commission = 0.0
    pos = {}
    for _, p in positions.iterrows():
        pos[p["symbol"]] = float(p["shares"])
    cash = 1_000_000.0
    for _, f in fills.iterrows():
        key = (f["symbol"], f["side"])
        sh, px = float(f["shares"]), float(f["price"])
        executed[key] = executed.get(key, 0.0) + sh
        notional[key] = notional.get(key, 0.0) + sh * px
        commission += float(f["commission"])
        sign = 1 if f["side"] == "buy" else -1
        pos[f["symbol"]] = pos.get(f["symbol"], 0.0) + sign * sh
        cash -= sign * sh * px + float(f["commission"])
    done = partial = missing = 0
    slips = []
    for _, t in trades.iterrows():
        key = (t["symbol"], t["side"])
        ex = executed.get(key, 0.0)
        if ex == 0:
            missing += 1
            continue
        avg = notional[key] / ex
        sign = 1 if t["side"] == "buy" else -1
        slips.append(sign * (avg - t["price"]) / t["price"] * 1e4)
        if ex < t["shares"]:
            partial += 1
        else:
            done += 1
    return {"executed": done + partial, "not_executed": missing, "partial": partial}


def note(row) -> str:
    d = row["details"]
    return (
        f"{int(d['fills']):,} fills; reading the 3 files {d['read_seconds']:.2f} s "
        f"(end to end {d['end_to_end_seconds']:.2f} s)"
    )
