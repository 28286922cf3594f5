"""Batched TCA (:func:`xlexec.core.tca.tca_many`) against the single-day API and a row-by-row reference.

Generated days (deterministic seeds) carry everything the matcher and the figures must handle:
partial, full, over- and unfilled orders; fills by client order id, by a padded id, by no id
(NaN or blank: symbol+side), by an unknown id ('manual-k': symbol+side), by another day's id;
a name bought and sold the same day; excluded trades; market orders; a sub-dollar price; fills
of names never planned (one broker order with two fills, one without any id); closes missing
for some names, lower-case symbols in closes; arrivals by id, by symbol+side only, unknown.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from xlexec.core.orders import orders_from_trades
from xlexec.core.tca import daily_tca, tca_many
from xlexec.formats.trades import parse_trades_text

POOL = [a + b for a in "ABCDEFGHJKLMNPQRSTUVWXYZ" for b in "ABCDEFGHJKLMNPQRSTUVWXYZ"]
HDR = (
    "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est,"
    "include,order_type,limit_price"
)
FILL_COLS = ["date", "symbol", "side", "shares", "price", "commission", "fill_time", "order_id", "client_order_id"]
CENT = 0.01 + 1e-9


def gen_day(seed: int, date: str, *, n: int = 24, foreign_coid: str = "", pv: bool = True, n_extra: int = 0):
    """(trades, fills, closes, arrivals) of a generated day."""
    rng = np.random.default_rng(seed)
    syms = list(rng.choice(POOL, n, replace=False))
    sides = list(rng.choice(["buy", "sell"], n))
    syms[1], sides[0], sides[1] = syms[0], "buy", "sell"  # one name bought and sold
    shares = rng.integers(10, 500, n)
    price = np.round(rng.uniform(0.5, 300, n), 2)
    price[2] = 0.8731
    include = rng.choice(["", "yes", "no"], n, p=[0.75, 0.15, 0.10])
    otype = rng.choice(["", "limit", "market"], n, p=[0.75, 0.15, 0.10])
    lim = np.where(rng.random(n) < 0.3, np.round(price * (1 + rng.normal(0, 0.003, n)), 4), np.nan)
    rows = []
    for i in range(n):
        notional = round(shares[i] * price[i], 2)
        rows.append(
            f"{syms[i]},{sides[i]},{shares[i]},{price[i]},{notional},0.01,{notional * 1e-4:.2f},"
            f"{notional * 2e-4:.2f},{notional * 3e-4:.2f},{include[i]},{otype[i]},"
            + ("" if np.isnan(lim[i]) else f"{lim[i]}")
        )
    head = f"# Date: {date}\n" + ("# Portfolio Value: $1,000,000.00\n" if pv else "")
    trades = parse_trades_text(head + HDR + "\n" + "\n".join(rows) + "\n", f"{date}/trades.csv")
    orders = orders_from_trades(trades, date=date)
    f = []
    for k, (sym, side, qty, px, coid) in enumerate(
        zip(orders["symbol"], orders["side"], orders["qty"], orders["price"], orders["client_order_id"])
    ):
        u = rng.random()
        if u < 0.15:
            continue
        ex = int(qty) if u < 0.75 else max(1, int(qty * rng.uniform(0.2, 0.9))) if u < 0.95 else int(qty) + 7
        parts = rng.integers(1, 5)
        cuts = np.sort(rng.choice(np.arange(1, ex), min(parts - 1, ex - 1), replace=False)) if ex > 1 else []
        sizes = np.diff(np.concatenate([[0], cuts, [ex]])).astype(int)
        sgn = 1 if side == "buy" else -1
        for s in sizes:
            c = rng.choice(["real", "blank", "nan", "pad", "manual", "foreign"], p=[0.6, 0.12, 0.05, 0.05, 0.1, 0.08])
            cid = {
                "real": coid,
                "blank": "",
                "nan": np.nan,
                "pad": f"  {coid} ",
                "manual": f"manual-{k}",
                "foreign": foreign_coid,
            }[c]
            fp = round(px * (1 + sgn * rng.normal(2e-4, 8e-4)), 2 if px >= 1 else 4)
            f.append(
                {
                    "date": date,
                    "symbol": sym,
                    "side": side,
                    "shares": float(s),
                    "price": fp,
                    "commission": round(s * 0.005, 2),
                    "fill_time": f"{date}T14:{k % 60:02d}:00Z",
                    "order_id": f"o{k}",
                    "client_order_id": cid,
                }
            )
    never = [s for s in POOL if s not in syms][seed % 50]
    o3 = orders.iloc[3]
    extra = [
        (never, "buy", 10.0, 0.25, "u1", ""),
        (never, "buy", 4.0, 0.05, "u1", ""),  # one broker order
        (o3["symbol"], "sell" if o3["side"] == "buy" else "buy", 5.0, 0.10, "u2", ""),  # planned name, other side
        (never, "sell", 3.0, 0.0, "", np.nan),
        (never, "sell", 2.0, 0.0, "", "xlx-other-day"),
    ]
    extra += [(f"Z{j}", "buy", 1.0 + j, 0.01, f"e{j}", "") for j in range(n_extra)]
    for sym, side, sh, cm, oid, cid in extra:
        f.append(
            {
                "date": date,
                "symbol": sym,
                "side": side,
                "shares": sh,
                "price": 50.0,
                "commission": cm,
                "fill_time": f"{date}T15:00:00Z",
                "order_id": oid,
                "client_order_id": cid,
            }
        )
    fills = pd.DataFrame(f, columns=FILL_COLS)
    fills = fills.iloc[rng.permutation(len(fills))].reset_index(drop=True)
    for c in ("date", "symbol", "side", "fill_time", "order_id", "client_order_id"):
        fills[c] = fills[c].astype("str")
    keep = rng.random(n) < 0.9
    closes = pd.DataFrame(
        {
            "symbol": [s.lower() if i % 5 == 0 else s for i, s in enumerate(syms)],
            "close": np.round(price * (1 + rng.normal(0, 0.01, n)), 2),
        }
    )[keep].reset_index(drop=True)
    a = orders.sample(frac=0.7, random_state=seed)
    arrivals = pd.DataFrame(
        {
            "client_order_id": np.where(rng.random(len(a)) < 0.6, a["client_order_id"], ""),
            "symbol": a["symbol"].str.lower().to_numpy(),
            "side": a["side"].str.upper().to_numpy(),
            "arrival_price": np.where(
                rng.random(len(a)) < 0.1, np.nan, np.round(a["price"].to_numpy() * (1 + rng.normal(0, 5e-4, len(a))), 4)
            ),
        }
    )
    return trades, fills, closes, arrivals


DATES = [f"2025-03-{d:02d}" for d in range(3, 13)]


@pytest.fixture(scope="module")
def month():
    """Ten days; day 1's fills carry one of day 0's client order ids; the variants: day 2 no
    arrivals, day 3 arrivals without ids, day 4 no portfolio value, day 5 no fills, day 6 an
    empty fills frame, day 7 no closes, day 8 thirteen unplanned broker orders."""
    first = gen_day(0, DATES[0])
    foreign = orders_from_trades(first[0], date=DATES[0])["client_order_id"].iloc[5]
    days = []
    for i, d in enumerate(DATES):
        tr, fi, cl, ar = (
            first
            if i == 0
            else gen_day(i, d, foreign_coid=foreign if i == 1 else "", pv=i != 4, n_extra=12 if i == 8 else 0)
        )
        days.append(
            {
                "date": d,
                "trades": tr,
                "fills": None if i == 5 else fi.iloc[0:0] if i == 6 else fi,
                "closes": None if i == 7 else cl,
                "arrivals": None if i == 2 else ar.drop(columns="client_order_id") if i == 3 else ar,
                "pv": None if i == 4 else 1_000_000.0,
            }
        )
    return days


def _daily(d, **kw):
    return daily_tca(
        d["trades"],
        d["fills"],
        closes=d["closes"],
        arrivals=d["arrivals"],
        portfolio_value=d["pv"],
        date=d["date"],
        **kw,
    )


def _assert_same_day(a, b):
    assert a.to_json() == b.to_json()
    assert a.record() == b.record()
    assert a.notes == b.notes
    assert a.report_text() == b.report_text()
    pd.testing.assert_frame_equal(a.by_trade, b.by_trade)
    pd.testing.assert_frame_equal(a.by_symbol, b.by_symbol)
    pd.testing.assert_frame_equal(a.unplanned.reset_index(drop=True), b.unplanned.reset_index(drop=True))
    for k in ("opportunity_usd", "delay_usd", "execution_usd", "shortfall_total"):
        x, y = getattr(a, k), getattr(b, k)
        assert (math.isnan(x) and math.isnan(y)) or abs(x - y) <= CENT, k


@pytest.mark.parametrize("order_type", ["limit", "market"])
def test_many_equals_daily_day_by_day(month, order_type):
    res = tca_many(
        [(d["date"], d["trades"]) for d in month],
        [d["fills"] for d in month],
        closes=[d["closes"] for d in month],
        arrivals={d["date"]: d["arrivals"] for d in month},
        portfolio_values=[d["pv"] for d in month],
        default_order_type=order_type,
    )
    assert [r.date for r in res] == DATES
    for d, r in zip(month, res):
        _assert_same_day(r, _daily(d, default_order_type=order_type))
    # the variants did what they say
    assert res[5].trades_filled == 0 and res[6].trades_filled == 0 and len(res[5].unplanned) == 0
    assert res[2].to_json()["shortfall"]["delay"] is None
    assert any("portfolio value unknown" in n for n in res[4].notes)
    assert res[7].to_json()["opportunity"]["usd"] is None
    assert any("match no planned trade" in n and "and 6 more" in n for n in res[8].notes)  # 16 broker orders
    assert len(res[8].unplanned) == 16


def test_one_fills_frame_with_a_date_column(month):
    frames = [d["fills"] for d in month if d["fills"] is not None]
    stray = frames[0].iloc[:3].assign(date="2025-04-01")  # a day not asked for: ignored
    big = pd.concat(frames + [stray], ignore_index=True)
    res = tca_many(
        [(d["date"], d["trades"]) for d in month],
        big,
        closes=[d["closes"] for d in month],
        arrivals=[d["arrivals"] for d in month],
        portfolio_values=[d["pv"] for d in month],
    )
    for d, r in zip(month, res):
        _assert_same_day(r, _daily(d))
    with pytest.raises(ValueError, match="distinct dates"):
        tca_many([(DATES[0], month[0]["trades"]), (DATES[0], month[0]["trades"])], big)


def _reference(d) -> dict:
    """Row by row, nothing vectorised: every fill to the first planned order of its day with its
    client order id (blanks around it ignored), else with its symbol and side."""
    orders = orders_from_trades(d["trades"], date=d["date"])
    plan = list(zip(orders["symbol"], orders["side"], orders["qty"], orders["price"], orders["client_order_id"]))
    filled = [0.0] * len(plan)
    pxsh = [0.0] * len(plan)
    comm = [0.0] * len(plan)
    unplanned = 0
    unplanned_comm = 0.0  # paid too: the commission is every fill's
    fills = d["fills"] if d["fills"] is not None else pd.DataFrame(columns=FILL_COLS)
    for _, f in fills.iterrows():
        cid = "" if pd.isna(f["client_order_id"]) else str(f["client_order_id"]).strip()
        k = next((i for i, o in enumerate(plan) if cid and o[4] == cid), None)
        if k is None:
            k = next((i for i, o in enumerate(plan) if (o[0], o[1]) == (f["symbol"], f["side"])), None)
        if k is None:
            unplanned += 1
            unplanned_comm += f["commission"]
            continue
        filled[k] += f["shares"]
        pxsh[k] += f["shares"] * f["price"]
        comm[k] += f["commission"]
    closes = {}
    if d["closes"] is not None:
        for s, c in zip(d["closes"]["symbol"], d["closes"]["close"]):
            closes.setdefault(s.upper(), c)
    slip = notional = opp = 0.0
    opp_known = True
    for (sym, side, qty, p, _), fq, v in zip(plan, filled, pxsh):
        sg = 1 if side == "buy" else -1
        if fq > 0:
            slip += sg * fq * (v / fq - p)
            notional += fq * p
        if qty - fq > 0:
            if sym in closes:
                opp += sg * (qty - fq) * (closes[sym] - p)
            else:
                opp_known = False
    return {
        "commission": sum(comm) + unplanned_comm,
        "slippage": slip,
        "notional": notional,
        "opportunity": opp if opp_known else None,
        "unplanned": unplanned,
        "filled": sum(1 for x in filled if x > 0),
    }


def test_many_matches_a_row_by_row_reference(month):
    res = tca_many(
        [(d["date"], d["trades"]) for d in month],
        [d["fills"] for d in month],
        closes=[d["closes"] for d in month],
        portfolio_values=[d["pv"] for d in month],
    )
    for d, r in zip(month, res):
        ref = _reference(d)
        assert r.commission_actual == pytest.approx(ref["commission"], abs=CENT)
        assert r.slippage_actual_usd == pytest.approx(ref["slippage"], abs=CENT)
        assert r.notional == pytest.approx(ref["notional"], abs=CENT)
        assert r.trades_filled == ref["filled"]
        if ref["opportunity"] is None:
            assert math.isnan(r.opportunity_usd)
        else:
            assert r.opportunity_usd == pytest.approx(ref["opportunity"], abs=CENT)
        n_unplanned = sum(int(n.split(" fill(s)")[0]) for n in r.notes if "match no planned trade" in n)
        assert n_unplanned == ref["unplanned"]


def test_a_fill_never_matches_another_days_order(month):
    d0, d1 = month[0], month[1]
    o0 = orders_from_trades(d0["trades"], date=d0["date"])
    sym, side, coid = o0["symbol"].iloc[5], o0["side"].iloc[5], o0["client_order_id"].iloc[5]
    f = pd.DataFrame(
        [
            {
                "date": d1["date"],
                "symbol": sym,
                "side": side,
                "shares": 7.0,
                "price": 10.0,
                "commission": 0.07,
                "fill_time": "x",
                "order_id": "zz",
                "client_order_id": coid,
            }
        ]
    )
    alone = daily_tca(d0["trades"], d0["fills"], date=d0["date"])
    r0, r1 = tca_many([(d0["date"], d0["trades"]), (d1["date"], d1["trades"])], [d0["fills"], f])
    assert r0.to_json() == alone.to_json()  # day 0 untouched by day 1's fill with its id
    planned1 = set(zip(r1.by_trade["symbol"], r1.by_trade["side"]))
    assert ((sym, side) in planned1) == (r1.trades_filled == 1)  # only ever by symbol+side on its own day
    if (sym, side) not in planned1:
        assert r1.unplanned["client_order_id"].tolist() == [coid]


def test_inputs_by_date_and_their_checks(month):
    d = month[0]
    (r,) = tca_many(
        [(None, d["trades"])], [d["fills"]], closes={d["date"]: d["closes"]}, portfolio_values={d["date"]: 1_000_000.0}
    )  # the date from the trades header
    assert r.date == d["date"]
    _assert_same_day(r, daily_tca(d["trades"], d["fills"], closes=d["closes"], portfolio_value=1_000_000.0))
    with pytest.raises(ValueError, match="closes: 2 given for 1 days"):
        tca_many([(d["date"], d["trades"])], [d["fills"]], closes=[d["closes"], d["closes"]])
    assert tca_many([]) == []
