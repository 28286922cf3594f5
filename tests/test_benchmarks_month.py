"""The month's market-benchmark figures (core): per broker and per week, the benchmark-notional-
weighted bps, percentiles of the per-order bps and the 5 bps histogram, all by hand here."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from xlexec.core.benchmarks import histogram, month_benchmarks, month_orders, percentiles


def _o(sym, side, broker, shares, fill, signal, arrival):
    return {
        "symbol": sym,
        "side": side,
        "broker": broker,
        "filled_shares": shares,
        "avg_fill_price": fill,
        "signal": signal,
        "arrival": arrival,
        "interval_vwap": None,
        "twap": None,
        "day_vwap": None,
        "close": None,
        "participation": None,
    }


DAYS = [
    (
        "2025-10-29",
        [_o("A", "buy", "alpaca", 100, 10.02, 10.00, 10.01), _o("B", "sell", "ibkr", 50, 19.90, 20.00, 19.95)],
    ),
    ("2025-10-31", [_o("C", "buy", "alpaca", 10, 50.00, 50.10, 49.90)]),
    ("2025-11-03", [_o("A", "sell", "alpaca", 20, 10.10, 10.00, 10.12), _o("D", "buy", "ibkr", 0, None, 30.0, 30.0)]),
]


def _bps(side, fill, bm):
    return side * (D(str(fill)) - D(str(bm))) / D(str(bm)) * 10000


def test_brokers_weeks_percentiles_by_hand():
    m = month_benchmarks(month_orders(DAYS))
    assert m["orders"] == 4  # D filled nothing
    alp = next(r for r in m["by_broker"] if r["broker"] == "alpaca")
    usd = 100 * (D("10.02") - 10) + 10 * (D("50.00") - D("50.10")) - 20 * (D("10.10") - 10)
    notional = 100 * 10 + 10 * D("50.10") + 20 * 10
    assert alp["orders"] == 3 and alp["signal"] == pytest.approx(float(usd / notional * 10000), abs=1e-9)
    weeks = {r["week"]: r for r in m["by_week"]}
    assert set(weeks) == {"2025-10-27", "2025-11-03"}  # Wednesday and Friday share the Monday
    w1 = 100 * (D("10.02") - D("10.01")) - 50 * (D("19.90") - D("19.95")) + 10 * (D("50.00") - D("49.90"))
    assert weeks["2025-10-27"]["arrival"] == pytest.approx(
        float(w1 / (100 * D("10.01") + 50 * D("19.95") + 10 * D("49.90")) * 10000), abs=1e-9
    )
    v = sorted([_bps(1, 10.02, 10), _bps(-1, 19.90, 20), _bps(1, 50.00, 50.10), _bps(-1, 10.10, 10)])
    # P25 of 4 values: rank (4 - 1) x 0.25 = 0.75, three quarters of the way from the 1st to the 2nd
    assert m["percentiles"]["signal"]["p25"] == pytest.approx(float(v[0] + D("0.75") * (v[1] - v[0])), abs=1e-9)
    assert m["percentiles"]["signal"]["p50"] == pytest.approx(float((v[1] + v[2]) / 2), abs=1e-9)
    assert m["percentiles"]["interval_vwap"]["p50"] is None


def test_histogram_bins_are_5_bps_from_the_lowest():
    assert histogram([-100.0, -19.96, 20.0, 50.0]) == [
        (-100.0, -95.0, 1),
        *[(float(k), float(k + 5), 0) for k in range(-95, -20, 5)],
        (-20.0, -15.0, 1),
        *[(float(k), float(k + 5), 0) for k in range(-15, 20, 5)],
        (20.0, 25.0, 1),
        *[(float(k), float(k + 5), 0) for k in range(25, 50, 5)],
        (50.0, 55.0, 1),
    ]
    assert percentiles([]) == {"p5": None, "p25": None, "p50": None, "p75": None, "p95": None}
