"""Scenario 2: reconcile 10,000 planned orders against 200,000 fills with partials, end to end against
the bound of reading the same files with pandas.

Data: a 10,000-trade book; 20 fills per order on average (executed quantity split into
partial fills), 5% of orders not executed, 10% partly, 0.5% over-filled, 0.5% of the fills for
names never planned; 70% of fills carry our client order id, the rest match by symbol+side.

* xlexec: :func:`xlexec.core.reconcile.reconcile` (matching, per-order status and reasons,
  slippage, commission, cash, positions after, breaks) on the inputs as xlexec reads them
  (``read_trades``, ``read_fills``, ``read_positions``). ``seconds`` is the reconcile itself;
  ``end_to_end_seconds`` is reading the three files + the reconcile, what the user waits for.
* bound (timed by the xlexec side, in the same process, right after): ``pandas.read_csv`` of the
  same three files (the C parser, nothing checked). Target: end to end <= 2x the bound.
* baseline: what a competent pandas user writes instead: ``pd.read_csv`` frames, fills summed
  per symbol+side with ``groupby``, joined to the trades for status and slippage, positions and
  cash as columns (matching by symbol+side only; no breaks, no reasons). ``baseline_seconds`` is
  its computation, ``baseline_end_to_end_seconds`` with its reading.
"""

from __future__ import annotations

from pathlib import Path

from ..harness import Timer, cold_reads, pandas_read_seconds

NAME = "reconcile"
TITLE = "reconcile {size:,} planned orders against 20 fills each (partials)"
UNIT = "orders"
FULL_SIZE = 10_000
FILLS_PER_ORDER = 20
TARGET = "end to end <= 2x the bound (pandas C read of the 3 files)"
BOUND = "pandas.read_csv (C parser) of the same 3 files, nothing checked"
LIMIT = 2.0
SIDES = ("xlexec", "baseline")
WARMUP = {"xlexec": 1, "baseline": 1}
MAX_REPEAT = {}
GEN_VERSION = 1
BASELINE = "vectorised pandas: groupby fills per symbol+side, joined to the trades"


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

    from xlexec.core.orders import orders_from_trades
    from xlexec.formats.csvio import atomic_write_csv
    from xlexec.formats.trades import write_trades

    from ..data import DAY, book_trades, make_book

    book = make_book(size, seed=23, anomalies=False)
    trades = book_trades(book)
    write_trades(trades, root / "trades.csv")
    orders = orders_from_trades(trades, date=DAY)
    fills = make_fills(trades, orders, size * FILLS_PER_ORDER, DAY)
    fills.to_csv(root / "broker_fills.csv", index=False, float_format="%.10g")
    atomic_write_csv(root / "current_positions.csv", book.positions, {"avg_cost": 2})


FILES = ("trades.csv", "broker_fills.csv", "current_positions.csv")


def _read_xlexec(root: Path):
    from xlexec.formats.fills import read_fills
    from xlexec.formats.inputs import read_positions
    from xlexec.formats.trades import read_trades

    return (
        read_trades(root / "trades.csv"),
        read_fills(root / "broker_fills.csv"),
        read_positions(root / "current_positions.csv"),
    )


def _read_pandas(root: Path) -> dict:
    import pandas as pd

    return {
        "trades": pd.read_csv(root / "trades.csv", comment="#"),
        "fills": pd.read_csv(root / "broker_fills.csv"),
        "positions": pd.read_csv(root / "current_positions.csv"),
    }


def setup(root: Path, size: int, side: str):
    return {"root": root}


def run(state, side: str):
    root = state["root"]
    if side == "xlexec":
        from xlexec.core.reconcile import reconcile

        from ..data import DAY

        cold_reads()  # as a fresh `xlexec reconcile` reads: nothing parsed yet
        with Timer() as tr:
            trades, fills, positions = _read_xlexec(root)
        with Timer() as t:
            res = reconcile(trades, fills, positions, day=DAY, cash_before=1_000_000.0)
        bound = pandas_read_seconds([root / f for f in FILES], commented=[root / "trades.csv"])
        return t.seconds, {
            "read_seconds": tr.seconds,
            "end_to_end_seconds": tr.seconds + t.seconds,
            "bound_seconds": bound,
            "fills": int(len(fills)),
            "executed": res.trades_executed,
            "not_executed": len(res.not_executed),
            "partial": len(res.partial),
            "breaks": len(res.breaks),
        }
    with Timer() as tr:
        frames = _read_pandas(root)
    with Timer() as t:
        out = vectorised_reconcile(frames["trades"], frames["fills"], frames["positions"])
    return t.seconds, {**out, "read_seconds": tr.seconds, "end_to_end_seconds": tr.seconds + t.seconds}


def judge(row) -> bool | None:
    return None if row["ratio_to_bound"] is None else row["ratio_to_bound"] <= LIMIT


def vectorised_reconcile(trades, fills, positions) -> dict:
    """The guide's reconcile as a competent pandas user writes it: fills summed per symbol+side
    with ``groupby``, joined to the trades; status, slippage, positions and cash as columns."""
    import numpy as np

    f = fills.assign(notional=fills["shares"] * fills["price"])
    got = f.groupby(["symbol", "side"])[["shares", "notional"]].sum()
    got.columns = ["executed", "notional_done"]
    t = trades.join(got, on=["symbol", "side"])
    ex = t["executed"].fillna(0.0)
    sign = np.where(t["side"] == "buy", 1.0, -1.0)
    t["slippage_bps"] = sign * (t["notional_done"] / t["executed"] - t["price"]) / t["price"] * 1e4
    signed = np.where(f["side"] == "buy", 1.0, -1.0) * f["shares"]
    positions.set_index("symbol")["shares"].add(signed.groupby(f["symbol"]).sum(), fill_value=0.0)
    _cash = 1_000_000.0 - float((signed * f["price"]).sum()) - float(f["commission"].sum())
    partial = int(((ex > 0) & (ex < t["shares"])).sum())
    done = int((ex >= t["shares"]).sum())
    return {"executed": done + partial, "not_executed": int((ex == 0).sum()), "partial": partial}


def note(row) -> str:
    d = row["details"]
    return (
        f"{int(d['fills']):,} fills; xlexec reads the 3 files in {d['read_seconds']:.2f} s "
        f"(end to end {d['end_to_end_seconds']:.2f} s = {row['ratio_to_bound']:.2f}x the bound "
        f"{d['bound_seconds']:.2f} s; target <= {LIMIT:g}x); the vectorised pandas baseline end to end "
        f"{d['baseline_end_to_end_seconds']:.2f} s"
    )
