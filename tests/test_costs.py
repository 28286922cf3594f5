"""THE bps/sign convention (core/costs.py), checked on hand-computed figures."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from xlexec.core.costs import bps_of, cost_bps, cost_usd, fraction_from_bps, half_up, side_sign, usd_from_bps


def test_side_sign():
    assert side_sign("buy") == 1.0 and side_sign("sell") == -1.0
    assert side_sign(np.array(["buy", "sell", "buy"], dtype=object)).tolist() == [1.0, -1.0, 1.0]


def test_positive_is_a_cost_for_buys_and_sells():
    # buy at 100.10 vs 100.00: paid 10 cents more per share = 10 bps cost
    assert cost_bps(1.0, 100.10, 100.00) == pytest.approx(10.0)
    # sell at 99.90 vs 100.00: received 10 cents less = 10 bps cost
    assert cost_bps(-1.0, 99.90, 100.00) == pytest.approx(10.0)
    # sell above the benchmark: a gain (negative cost)
    assert cost_bps(-1.0, 100.20, 100.00) == pytest.approx(-20.0)


def test_dollars():
    assert cost_usd(1.0, 200, 50.05, 50.00) == pytest.approx(10.0)  # 200 sh x $0.05
    assert cost_usd(-1.0, 300, 19.98, 20.00) == pytest.approx(6.0)  # 300 sh x $0.02, a sell
    assert bps_of(10.0, 10_000.0) == pytest.approx(10.0)  # $10 on $10,000 = 10 bps
    assert usd_from_bps(25_000.0, 4.0) == pytest.approx(10.0)  # 4 bps of $25,000
    assert fraction_from_bps(25.0) == pytest.approx(0.0025)


def test_vectorised():
    v = cost_bps(np.array([1.0, -1.0]), np.array([10.1, 9.9]), np.array([10.0, 10.0]))
    assert v.tolist() == pytest.approx([100.0, 100.0])


@pytest.mark.parametrize(
    ("x", "places", "shown"),
    [
        # written by hand: half-up on the decimal text, never banker's rounding, never -0.0
        (2.675, 2, 2.68),  # the float 2.67499999... is the decimal 2.675: up
        (1.005, 2, 1.01),
        (2.665, 2, 2.67),  # banker's rounding would give 2.66
        (-2.675, 2, -2.68),  # away from zero at exactly half
        (-0.004, 2, 0.0),
        (10.074999999999999, 2, 10.08),  # binary noise below 1e-9 dropped first: 10.075
        (10.0749, 2, 10.07),
        ("20.15", 4, 20.15),
        (Decimal("0.125"), 2, 0.13),
        (9.333333333332424, 2, 9.33),
        (None, 2, None),
        (float("nan"), 2, None),
    ],
)
def test_half_up_shows_a_figure_once(x, places, shown):
    got = half_up(x, places)
    assert got == shown and (got is None or str(got) != "-0.0")


def test_half_up_floats_shows_each_figure_as_half_up_does():
    """The list form gives the figures written by hand above, and the one rule's figure for
    every float of a wide spread (noise, halves, negatives, huge, tiny, places 0 to 10)."""
    from xlexec.core.costs import half_up_floats

    by_hand = [2.675, 1.005, 2.665, -2.675, -0.004, 10.074999999999999, 10.0749, 9.333333333332424, float("nan")]
    got = half_up_floats(by_hand, 2)
    assert got == [2.68, 1.01, 2.67, -2.68, 0.0, 10.08, 10.07, 9.33, None]
    assert str(got[4]) == "0.0" and half_up_floats([float("inf"), -0.0], 2) == [None, 0.0]
    assert half_up_floats([1e15 + 0.5, -3e16], 2) == [1e15 + 0.5, -3e16]  # no cents to round from 10^15
    rng = np.random.default_rng(3)
    spread = np.concatenate(
        [
            rng.normal(0, 1e4, 3000),
            np.round(rng.normal(0, 100, 3000), 3),  # exact halves at 2 places
            np.round(rng.normal(0, 100, 3000), 2) + rng.choice([-1, 1], 3000) * 1e-12,  # binary noise
            rng.uniform(-1e-6, 1e-6, 500),
            rng.uniform(-2e15, 2e15, 200),
        ]
    ).tolist()
    for places in (0, 2, 4, 8, 9, 10):
        assert half_up_floats(spread, places) == [half_up(x, places) for x in spread], places


def test_half_up_floats_near_every_half_and_in_numpy_elsewhere():
    """Floats at, just below and just above the halves of every scale (the figures the decimal
    rule and rounding to nearest could tell apart) give the one rule's figure; and a spread of
    ordinary figures is rounded in numpy (most of it), with the same figures."""
    from xlexec.core.costs import _nearest_shown, half_up_floats

    rng = np.random.default_rng(11)
    near = []
    for places in (0, 2, 4, 8):
        for mag in (1, 10, 1e3, 1e6, 1e9, 1e12):
            k = np.floor(rng.uniform(0, mag, 400) * 10**places)
            halves = (k + 0.5) / 10**places
            near += halves.tolist()
            near += np.nextafter(halves, np.inf).tolist() + np.nextafter(halves, -np.inf).tolist()
            near += (halves + 1e-10).tolist() + (halves - 1e-10).tolist() + (halves + 6e-10).tolist()
    near += [-x for x in near[::7]]
    for places in (-1, 0, 1, 2, 4, 8, 9, 12, 15, 16):  # (-1 and 16: the decimal rule for every figure)
        assert half_up_floats(near, places) == [half_up(x, places) for x in near], places
    ordinary = rng.normal(0, 5e3, 20_000)
    shown, ok = _nearest_shown(ordinary, 2)
    assert ok.mean() > 0.99  # nearly every figure takes the numpy path ...
    assert shown[ok].tolist() == [half_up(x, 2) for x in ordinary[ok]]  # ... and gives the rule's figure
    assert _nearest_shown(ordinary, 16) is None and _nearest_shown(ordinary, -1) is None
