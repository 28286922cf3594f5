"""A thread-safe pacer: keeps requests under a broker's rate limit (requests per minute).

A token bucket refilled at ``rate_per_min / 60`` tokens per second holding at most ``burst``
tokens (default 1: strictly evenly spaced requests, which keeps a sliding-window limit of
``rate_per_min`` per 60 s from ever triggering). Each caller *reserves* its slot under a lock and
sleeps outside it, so N threads share one budget without serialising their network calls.

:meth:`RateLimiter.hold_off` pushes every future slot past a moment (used when the broker
answers 429 with ``Retry-After``), so all threads back off together.

Times are seconds (``time.monotonic``); ``clock``/``sleep`` are injectable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Token bucket: ``rate_per_min`` requests per minute, at most ``burst`` back-to-back."""

    def __init__(
        self,
        rate_per_min: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if rate_per_min <= 0:
            raise ValueError("rate_per_min must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate_per_min = float(rate_per_min)
        self.interval = 60.0 / float(rate_per_min)  # seconds between tokens
        self.burst = int(burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        # ``_tat``: theoretical arrival time of the next request (GCRA form of a token bucket)
        self._tat = clock()
        self._not_before = 0.0

    def reserve(self) -> float:
        """Reserve the next slot; returns how many seconds the caller must wait for it."""
        with self._lock:
            now = self._clock()
            start = max(now, self._not_before)
            tolerance = (self.burst - 1) * self.interval
            tat = max(self._tat, start)
            slot = max(start, tat - tolerance)
            self._tat = tat + self.interval
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
        return f"RateLimiter({self.rate_per_min:g}/min, burst={self.burst})"
