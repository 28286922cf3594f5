"""The broker reads a batch's guards need before its first order, asked together.

Before anything is sent, submit asks the broker three things: its clock (today's session, the
market open), the account (the live guard, buying power, trading blocked) and the day's orders
(exactly once: what the broker already has). Asked one after the other they are three round
trips before the first order; on an adapter that may be called from several threads
(``thread_safe``) :class:`ReadAhead` sends them at once when the batch takes the day lock, so they
travel while the journal chain and the policy are checked locally, and the guards then read the
answers. Nothing about the guards changes:

* each guard still gets its answer at its own place, in the same order: a fault of one read
  (:class:`~xlexec.execution.brokers.base.BrokerFault`) is raised where that read was asked
  before (the clock's at the session guard, the account's at the account guard, the listing's at
  the exactly-once check), with the same message;
* the clock is read once: the session guard and the market-open guard see the same reading;
* the reads are only reads: no order request is made before every guard has passed;
* an adapter that is not thread-safe (the paper simulator's one SQLite connection, schwab-py's
  one client) is asked in sequence, each read when its guard asks, as before.

Everything else (``name``, ``paper``, ``account_number`` ...) is the broker's own.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from xlexec.execution.broker_orders import broker_day_orders
from xlexec.execution.brokers.base import Broker, Order


class ReadAhead:
    """``with ReadAhead(broker, day) as reads:`` then ``reads.clock()``, ``reads.account()``,
    ``reads.day_orders(broker, day)`` (the signature of :func:`broker_day_orders`), each the
    broker's answer (or its fault, raised). Thread-safe adapters are asked all three on entry."""

    def __init__(self, broker: Broker, day: str):
        self._broker = broker
        self._day = day
        self._pool: ThreadPoolExecutor | None = None
        self._asked: dict[str, Future] = {}

    def __enter__(self) -> ReadAhead:
        if getattr(self._broker, "thread_safe", False):
            self._pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="xlexec-read-ahead")
            for what, read in self._reads().items():
                self._asked[what] = self._pool.submit(read)
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:  # a guard refused early: the reads in flight end (nothing is sent)
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _reads(self) -> dict[str, Callable[[], Any]]:
        b, day = self._broker, self._day
        return {"clock": b.clock, "account": b.account, "day_orders": lambda: broker_day_orders(b, day)}

    def _answer(self, what: str) -> Any:
        fut = self._asked.get(what)
        if fut is None:  # asked in sequence (not thread-safe), once
            fut = Future()
            try:
                fut.set_result(self._reads()[what]())
            except BaseException as e:  # noqa: BLE001 - kept and raised to each asker, as the read would
                fut.set_exception(e)
            self._asked[what] = fut
        return fut.result()

    def clock(self):
        """The broker's clock (one reading for the whole batch)."""
        return self._answer("clock")

    def account(self):
        """The broker's account."""
        return self._answer("account")

    def day_orders(self, broker: Broker, day: str) -> list[Order]:
        """:func:`broker_day_orders` of the batch's broker and day (read ahead); another broker or
        day is asked directly."""
        if (broker is not self._broker and broker is not self) or day != self._day:
            return broker_day_orders(broker, day)
        return self._answer("day_orders")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._broker, name)
