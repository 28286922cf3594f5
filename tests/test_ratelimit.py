"""The pacer (xlexec/execution/ratelimit.py): token bucket + the broker's sliding window.

Every expected time is computed by hand from the rule (a token every 60/rate s, ``burst``
tokens at most, at most ``window_max`` requests in any ``window_seconds``), on an injected clock.
"""

from __future__ import annotations

import pytest

from xlexec.config import config_from_dict
from xlexec.errors import ConfigError
from xlexec.execution.ratelimit import RateLimiter


def slots(lim: RateLimiter, t: list[float], n: int) -> list[float]:
    """The absolute times of ``n`` reservations made at the clock's current time."""
    return [round(t[0] + lim.reserve(), 9) for _ in range(n)]


def test_a_full_bucket_goes_back_to_back_then_one_request_per_interval():
    t = [0.0]
    lim = RateLimiter(600, burst=5, clock=lambda: t[0])  # a token every 0.1 s, 5 at most
    assert slots(lim, t, 7) == [0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.2]


def test_an_idle_bucket_refills_to_its_size_and_no_more():
    t = [0.0]
    lim = RateLimiter(600, burst=5, clock=lambda: t[0])
    slots(lim, t, 7)  # the last at 0.2 s: the bucket is empty then
    t[0] = 1.0  # 0.8 s later: 8 tokens' worth, but the bucket holds 5
    assert slots(lim, t, 6) == [1.0, 1.0, 1.0, 1.0, 1.0, 1.1]


def test_partly_refilled_bucket():
    t = [0.0]
    lim = RateLimiter(60, burst=4, clock=lambda: t[0])  # a token a second
    assert slots(lim, t, 4) == [0.0, 0.0, 0.0, 0.0]
    t[0] = 2.5  # 2 tokens back (the third comes at 3.0)
    assert slots(lim, t, 4) == [2.5, 2.5, 3.0, 4.0]


def test_the_window_caps_what_a_full_bucket_plus_its_refill_would_send():
    # 6 per minute, bucket of 6: alone, the bucket would let 6 go at 0 s and one more every
    # 10 s (12 in the first minute); the broker's window allows 6 in any 60 s
    t = [0.0]
    lim = RateLimiter(6, burst=6, clock=lambda: t[0])
    assert slots(lim, t, 13) == [0.0] * 6 + [60.0] * 6 + [120.0]


def test_window_independent_of_the_rate():
    t = [0.0]
    lim = RateLimiter(60, burst=1, window_max=3, window_seconds=10, clock=lambda: t[0])
    assert slots(lim, t, 7) == [0.0, 1.0, 2.0, 10.0, 11.0, 12.0, 20.0]


def test_evenly_spaced_requests_never_exceed_the_window():
    t = [0.0]
    lim = RateLimiter(60, burst=1, clock=lambda: t[0])  # 60 in any 60 s
    got = slots(lim, t, 122)
    # a token a second: 0, 1, ..., 59, then the 61st would be at 60 s, exactly when the first
    # leaves the window: allowed (the window is the 60 s before a request, exclusive)
    assert got[:61] == [float(i) for i in range(61)]
    assert all(b - a >= 60.0 for a, b in zip(got, got[60:], strict=False))


def test_hold_off_delays_everyone_and_the_bucket_keeps_its_tokens():
    t = [0.0]
    lim = RateLimiter(60, burst=3, clock=lambda: t[0])
    assert slots(lim, t, 1) == [0.0]
    lim.hold_off(5.0)  # a 429 said Retry-After: 5
    assert slots(lim, t, 4) == [5.0, 5.0, 5.0, 6.0]


def test_acquire_sleeps_the_reserved_wait():
    t, slept = [0.0], []
    lim = RateLimiter(120, burst=2, clock=lambda: t[0], sleep=slept.append)
    assert [lim.acquire() for _ in range(4)] == pytest.approx([0.0, 0.0, 0.5, 1.0])
    assert slept == pytest.approx([0.5, 1.0])


def test_bad_parameters_are_refused():
    for kw in ({"rate_per_min": 0}, {"rate_per_min": 10, "burst": 0}, {"rate_per_min": 10, "window_max": 0}):
        with pytest.raises(ValueError):
            RateLimiter(**kw)


def ex(**kw):
    return config_from_dict({"execution": kw}).execution


def test_from_config_burst_defaults_to_the_whole_window_and_is_capped_by_it():
    lim = RateLimiter.from_config(ex(rate_limit_per_min=200))
    assert (lim.rate_per_min, lim.burst, lim.window_max, lim.window_seconds) == (200, 200, 200, 60.0)
    assert RateLimiter.from_config(ex(rate_limit_per_min=200, rate_limit_burst=1)).burst == 1
    assert RateLimiter.from_config(ex(rate_limit_per_min=100, rate_limit_burst=500)).burst == 100


def test_config_refuses_a_burst_below_one():
    with pytest.raises(ConfigError, match="rate_limit_burst"):
        ex(rate_limit_burst=0)


def test_unset_the_rate_is_the_brokers_documented_allowance():
    """Alpaca's Trading API 200/min, Schwab's Trader API 120/min, TWS 50 messages/s (written out)."""
    from xlexec.execution.brokers.ibkr import pacer
    from xlexec.execution.ratelimit import per_min

    assert [per_min(ex(broker=b)) for b in ("alpaca", "paper", "schwab", "ibkr")] == [200, 200, 120, 3000]
    assert RateLimiter.from_config(ex(broker="alpaca")).rate_per_min == 200
    assert per_min(ex(broker="ibkr", rate_limit_per_min=600)) == 600  # set: used as is
    assert pacer(ex(broker="ibkr")).rate_per_min == 3000
    assert pacer(ex(broker="ibkr", rate_limit_per_min=100_000)).rate_per_min == 3000  # never past TWS's 50/s
