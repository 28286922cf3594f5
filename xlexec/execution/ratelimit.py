"""A thread-safe pacer: keeps requests under a broker's rate limit, with bursts.

Two rules, both enforced for every request:

* a **token bucket** holding at most ``burst`` tokens (requests), refilled at ``rate_per_min / 60``
  tokens per second: up to ``burst`` requests go back-to-back, then one every
  ``60 / rate_per_min`` seconds. ``burst=1``: strictly evenly spaced requests.
* a **sliding window**: at most ``window_max`` requests (default ``rate_per_min``) in any
  ``window_seconds`` (default 60 s), the way a broker documents its allowance ("200 requests per
  minute"). This bounds what a full bucket plus its refill could otherwise send in one window
  (``burst + rate_per_min``), so a burst never pushes the broker past its window.

So a batch that fits in the window goes out as fast as the sending threads can send it, and a
larger one is paced to the window. Each caller *reserves* its slot under a lock and sleeps
outside it, so N threads share one budget without serialising their network calls.

:meth:`RateLimiter.hold_off` pushes every future slot past a moment (used when the broker
answers 429 with ``Retry-After``), so all threads back off together.

Times are seconds (``time.monotonic``); ``clock``/``sleep`` are injectable.

The rate is ``execution.rate_limit_per_min``, or, unset, the broker's documented allowance
(:data:`ALLOWANCE_PER_MIN`, :func:`per_min`); the Schwab and IBKR adapters never go past their broker's own.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

#: requests per minute each broker documents: Alpaca's Trading API 200/min per account, Schwab's
#: Trader API 120/min, TWS 50 messages/s; the paper simulator takes Alpaca's
ALLOWANCE_PER_MIN = {"alpaca": 200, "paper": 200, "schwab": 120, "ibkr": 50 * 60}


def per_min(ex: Any) -> int:
    """The requests per 60 s of ``execution`` (:class:`xlexec.config.ExecutionConfig`): its
    ``rate_limit_per_min`` when set (an Alpaca account's allowance can be raised; the Schwab and
    IBKR adapters still cap it at theirs), else the allowance of its broker."""
    if ex.rate_limit_per_min:
        return int(ex.rate_limit_per_min)
    return ALLOWANCE_PER_MIN.get(str(ex.broker), ALLOWANCE_PER_MIN["alpaca"])


class RateLimiter:
    """``rate_per_min`` requests per minute, at most ``burst`` back-to-back, at most
    ``window_max`` (default ``rate_per_min``) in any ``window_seconds``."""

    def __init__(
        self,
        rate_per_min: float,
        burst: int = 1,
        *,
        window_max: int | None = None,
        window_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if rate_per_min <= 0:
            raise ValueError("rate_per_min must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        self.rate_per_min = float(rate_per_min)
        self.interval = 60.0 / float(rate_per_min)  # seconds between tokens
        self.burst = int(burst)
        cap = max(1, int(rate_per_min)) if window_max is None else int(window_max)
        if cap < 1:
            raise ValueError("window_max must be at least 1")
        self.window_max = cap
        self.window_seconds = float(window_seconds)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        # ``_tat``: theoretical arrival time of the next request (GCRA form of a token bucket)
        self._tat = clock()
        self._not_before = 0.0
        # the slots of the last ``window_max`` requests granted (non-decreasing)
        self._recent: deque[float] = deque(maxlen=cap)

    @classmethod
    def from_config(cls, ex) -> RateLimiter:
        """The pacer of ``execution`` (:class:`xlexec.config.ExecutionConfig`):
        ``rate_limit_per_min`` (the broker's window, requests per 60 s) and ``rate_limit_burst``
        (requests back-to-back; ``None``: the whole window)."""
        rate = per_min(ex)
        burst = rate if ex.rate_limit_burst is None else min(int(ex.rate_limit_burst), rate)
        return cls(rate, burst=burst)

    def reserve(self) -> float:
        """Reserve the next slot; returns how many seconds the caller must wait for it."""
        with self._lock:
            now = self._clock()
            start = max(now, self._not_before)
            tolerance = (self.burst - 1) * self.interval
            slot = max(start, self._tat - tolerance)
            if len(self._recent) == self.window_max:  # the window is full: wait for its oldest to leave
                slot = max(slot, self._recent[0] + self.window_seconds)
            self._tat = max(self._tat, slot) + self.interval
            self._recent.append(slot)
            return max(0.0, slot - now)

    def acquire(self) -> float:
        """Block until a request may be sent; returns the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait

    def hold_off(self, seconds: float) -> None:
        """No slot is granted before ``seconds`` from now (a 429's Retry-After, for everyone)."""
        if seconds <= 0:
            return
        with self._lock:
            self._not_before = max(self._not_before, self._clock() + float(seconds))

    def __repr__(self) -> str:
        return (
            f"RateLimiter({self.rate_per_min:g}/min, burst={self.burst}, "
            f"{self.window_max} per {self.window_seconds:g} s)"
        )
