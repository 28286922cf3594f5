"""Interactive Brokers adapter: ib_async's ``IB`` (to TWS or IB Gateway) behind xlexec's :class:`Broker`.

* **Connection.** ``execution.ibkr``: ``host`` (default 127.0.0.1; TWS may run on another
  machine), ``port`` (TWS 7497 paper / 7496 live, IB Gateway 4002 / 4001; unset: TWS's port of
  the mode), ``client_id``, ``account_id``, ``connect_timeout_seconds``. The port does not tell
  paper from live reliably (any port can be configured in TWS): the account does. IBKR numbers
  paper accounts ``DU...`` and live ones ``U...``; submit refuses paper mode with a ``U...``
  account and live mode with a ``DU...`` one (:func:`xlexec.execution.mode.check_account`).
  ``account_id`` must be one of the login's managed accounts (else refused, nothing sent); unset,
  the login must manage exactly one.
* **Orders** are SMART-routed US stocks, ``Stock(symbol, "SMART", "USD")`` with class shares
  spelled IBKR's way (``BRK B``: :func:`xlexec.formats.upload.broker_symbol`, the same rule as the
  BasketTrader file), ``LimitOrder`` / ``MarketOrder``, ``tif`` DAY, ``orderRef`` = our client
  order id, ``account`` = the account. The order's id is its ``permId`` (stable across TWS
  restarts; the per-connection ``orderId`` is not). After ``placeOrder`` the adapter waits
  (``request_timeout_seconds``) for the permId and a status: an error for that order id
  (201 rejected, 203 not allowed, 110 price increment, ...) -> :class:`OrderRejected`; no reply
  in time or a lost connection -> :class:`BrokerUnavailable` (outcome unknown).
* **Exactly once.** :meth:`IbkrBroker.get_order_by_client_id` (re)connects, then asks TWS for the
  open orders of every client (``reqAllOpenOrders``), the completed ones (``reqCompletedOrders``,
  not only API orders) and the executions (``reqExecutions``), and matches on ``orderRef``.
* **Limit chase** (:meth:`IbkrBroker.replace_order`): cancel, then replace. TWS modifies an
  order in place (same orderId and orderRef), so each move is a new order instead, for the
  shares TWS reports unfilled once it confirms the old one Cancelled, with the move's own
  ``orderRef`` (``<coid>-c<n>``); the old one then reads ``replaced`` (also after a restart:
  the later ``-c<n>`` of the same root at TWS names it). A replacement TWS already has under
  that id is returned, never placed twice.
* **Fills**: executions and their commission reports joined by ``execId`` (ib_async's ``Fill``),
  for the New York trading day asked for; ``BOT`` -> buy, ``SLD`` -> sell.
* **Pacing**: TWS accepts at most 50 messages per second; every request passes the shared
  :class:`~xlexec.execution.ratelimit.RateLimiter` (50 per 1 s window, and
  ``execution.rate_limit_per_min``).
* **One thread.** ib_async's synchronous API runs its asyncio event loop in the calling thread,
  and the connection belongs to that loop. The engine calls adapters from its own worker
  threads, so every call of this adapter runs on the adapter's one thread (calls from elsewhere
  queue for it and run one at a time): one connection, one request on it at a time. Calls from
  several threads at once are safe, so ``thread_safe = True``: the engine's sending threads
  journal the next orders' intents and pass their checks while one order is on the wire, and
  the orders still go out one after the other.

ib_async is optional (``pip install xlexec[ibkr]``); nothing here imports it at module level.
Units: quantities in shares, prices in $/share, money in $ (USD).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, TypeVar

import pandas as pd

from xlexec.core import calendar as cal
from xlexec.core.orders import chase_root
from xlexec.core.session import ny_date
from xlexec.core.symbols import canonical_symbol
from xlexec.errors import ConfigError
from xlexec.execution.brokers.base import (
    Account,
    Broker,
    BrokerUnavailable,
    Fill,
    MarketClock,
    NotSupported,
    Order,
    OrderRejected,
    OrderRequest,
    Position,
    scrub,
)
from xlexec.formats.upload import broker_symbol, price_text

PAPER_PORT, LIVE_PORT = 7497, 7496  # TWS's defaults (IB Gateway: 4002 paper, 4001 live)
MESSAGES_PER_SECOND = 50  # TWS's API limit on messages a client sends
INSTALL_HINT = "execution.broker: ibkr needs ib_async: pip install xlexec[ibkr]"

#: IBKR order status -> the interface's (Alpaca's) vocabulary. ``ValidationError`` is ib_async's
#: own: a warning for a live order (still working).
STATUS = {
    "PendingSubmit": "pending_new",
    "ApiPending": "pending_new",
    "PreSubmitted": "accepted",
    "Submitted": "new",
    "ValidationError": "accepted",
    "ApiUpdate": "accepted",
    "PendingCancel": "pending_cancel",
    "Cancelled": "canceled",
    "ApiCancelled": "canceled",
    "Filled": "filled",
    "Inactive": "rejected",
}

#: error codes that are notes on a live order, not a refusal (IBKR's "warning" messages: 399
#: order message, 404 shares located later, 10167/10090/354 market data, 10349 TIF set by a preset,
#: 10311 direct routing)
NOTE_CODES = frozenset({354, 399, 404, 492, 10090, 10167, 10197, 10311, 10349})
#: error codes that refuse a new order outright (TWS API "Message codes": 103 duplicate order id,
#: 110 price increment, 200 no security definition, 201 rejected, 202 canceled, 203 not allowed
#: for the account, 382/383 size limits, 387/388 size, 434 zero size)
REJECT_CODES = frozenset({103, 110, 200, 201, 202, 203, 382, 383, 387, 388, 434})
#: statuses TWS sends for an order it holds (working, done, or being canceled)
LIVE_STATES = frozenset({"PreSubmitted", "Submitted", "Filled", "PendingCancel", "Cancelled", "ApiCancelled"})
#: the statuses that end a cancel: the order canceled, or filled before the cancel landed
CANCEL_ENDS = frozenset({"Cancelled", "ApiCancelled", "Filled"})
#: TWS's answer to a cancel of an order that is done already ("cannot be cancelled, state: ...")
CANCEL_TOO_LATE = 10148

_CHASE_N = re.compile(r"-c(\d+)$")


def is_note(code: int) -> bool:
    """True for an IBKR message about an order that does not refuse it (399 order message,
    404 shares located later, 21xx farm notices)."""
    return code in NOTE_CODES or 2100 <= code < 2200


def order_status(ib_status: str, filled: float = 0.0) -> str:
    """An IBKR order status (``Submitted``, ``Filled``...) in the interface's vocabulary; a
    working order with shares filled is ``partially_filled``. Unknown -> lower case as given."""
    s = STATUS.get(str(ib_status), str(ib_status).lower() or "pending_new")
    if s in ("new", "accepted") and filled > 0:
        return "partially_filled"
    return s


def ibkr_symbol(symbol: str) -> str:
    """Our symbol as IBKR spells it: class shares with a space (``BRK.B`` / ``BRK/B`` -> ``BRK B``)."""
    return broker_symbol(symbol, "space")


def our_symbol(contract_symbol: str) -> str:
    """IBKR's symbol (``BRK B``) as our canonical one (``BRK.B``)."""
    try:
        return canonical_symbol(contract_symbol)
    except (ValueError, TypeError):
        return str(contract_symbol)


def _num(v: Any) -> float:
    """An ib_async number, its "unset" (``UNSET_DOUBLE``, 1.7976931348623157e308) and None as 0."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if f != f or abs(f) > 1e300 else f


def chase_number(ref: str) -> int:
    """The move number of a chase replacement's id (``<root>-c<n>`` -> n); 0 for any other id."""
    m = _CHASE_N.search(ref or "")
    return int(m.group(1)) if m else 0


def replaced_refs(refs: Iterable[str]) -> set[str]:
    """The orderRefs among ``refs`` that a later chase replacement of the same root is among
    ``refs`` for (``X`` with ``X-c1``, ``X-c1`` with ``X-c2`` or ``X-c3``...). The chase places
    ``<root>-c<n>`` only after TWS confirmed the live order of that root canceled, so a canceled
    order with a later replacement was canceled to be replaced: that is how an order replaced
    before a restart is known for one after it (TWS itself only says Cancelled)."""
    refs = [r for r in refs if r]
    latest: dict[str, int] = {}
    for r in refs:
        root = chase_root(r)
        latest[root] = max(latest.get(root, 0), chase_number(r))
    return {r for r in refs if latest[chase_root(r)] > chase_number(r)}


def live_refs(trades: Iterable[Any]) -> list[str]:
    """The orderRefs of the ib_async trades that TWS took (a rejected one, Inactive or refused
    with an error and no status of TWS's own, replaces nothing)."""
    out = []
    for t in trades:
        if t.orderStatus.status == "Inactive":
            continue
        log = list(getattr(t, "log", []) or [])
        refused = any(getattr(e, "errorCode", 0) and not is_note(e.errorCode) for e in log)
        told = any(e.status in ("PreSubmitted", "Submitted", "Filled") and not getattr(e, "errorCode", 0) for e in log)
        if refused and not told and _num(t.orderStatus.filled) <= 0:
            continue
        out.append(str(t.order.orderRef or ""))
    return out


def _utc(t: Any) -> dt.datetime | None:
    if not isinstance(t, dt.datetime):
        return None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def _submitted(o: Order) -> dt.datetime | None:
    return _utc(dt.datetime.fromisoformat(o.submitted_at)) if o.submitted_at else None


def _ny_day(t: Any) -> str | None:
    u = _utc(t)
    return ny_date(u) if u is not None else None


def _perm(trade: Any) -> int:
    return int(trade.order.permId or trade.orderStatus.permId or 0)


def order_from_trade(trade: Any, executions: Iterable[Any] = ()) -> Order:
    """One ib_async ``Trade`` -> :class:`Order` (id = ``permId``). ``executions``: ib_async
    ``Fill`` objects; those of this order (same permId) give the filled shares and average price
    when the order's own status carries none (a completed order listed after a reconnect)."""
    o, s, c = trade.order, trade.orderStatus, trade.contract
    perm = _perm(trade)
    mine = [f for f in executions if perm and int(f.execution.permId) == perm]
    ex_qty = sum(_num(f.execution.shares) for f in mine)
    filled = max(_num(s.filled), _num(getattr(o, "filledQuantity", 0)), ex_qty)
    avg = _num(s.avgFillPrice) or None
    if ex_qty > 0 and (avg is None or ex_qty >= filled):
        avg = sum(_num(f.execution.shares) * _num(f.execution.price) for f in mine) / ex_qty
    kind = "market" if str(o.orderType).upper() == "MKT" else "limit"
    log = list(getattr(trade, "log", []) or [])
    # the first entry is the moment of the send only when this connection placed the order
    # (ib_async logs PendingSubmit then); an order read from TWS later has no sent time
    first = _utc(log[0].time) if log and log[0].status == "PendingSubmit" else None
    last = _utc(log[-1].time) if log else None
    reason = next((e.message for e in reversed(log) if getattr(e, "errorCode", 0)), None) or None
    return Order(
        id=str(perm) if perm else f"order:{o.orderId}",
        client_order_id=str(o.orderRef or ""),
        symbol=our_symbol(c.symbol or c.localSymbol),
        side="buy" if str(o.action).upper() == "BUY" else "sell",
        qty=_num(o.totalQuantity),
        order_type=kind,
        limit_price=(_num(o.lmtPrice) or None) if kind == "limit" else None,
        status=order_status(s.status, filled),
        filled_qty=filled,
        filled_avg_price=avg if filled > 0 else None,
        submitted_at=first.isoformat() if first else None,
        updated_at=last.isoformat() if last else None,
        reason=reason,
    )


def fill_from_ibkr(f: Any) -> Fill:
    """One ib_async ``Fill`` (execution + commission report, joined by execId) -> :class:`Fill`."""
    e = f.execution
    t = _utc(e.time) or _utc(f.time)
    side = str(e.side).upper()
    if side not in ("BOT", "SLD"):
        raise BrokerUnavailable(f"malformed reply from the broker (execution {e.execId}: side {e.side!r})")
    cr = f.commissionReport
    return Fill(
        id=str(e.execId),
        order_id=str(e.permId),
        symbol=our_symbol(f.contract.symbol),
        side="buy" if side == "BOT" else "sell",
        qty=_num(e.shares),
        price=_num(e.price),
        transaction_time=t.isoformat() if t else "",
        client_order_id=str(e.orderRef or ""),
        commission=abs(_num(cr.commission)) if cr is not None and cr.execId else 0.0,
    )


def fills_of_day(fills: Iterable[Any], day: str, account: str | None = None) -> list[Fill]:
    """The executions of ``fills`` (ib_async ``Fill``) on the New York date ``day`` (and of
    ``account`` when given), each execId once, in time order."""
    seen: dict[str, Fill] = {}
    for f in fills:
        e = f.execution
        if account and e.acctNumber and e.acctNumber != account:
            continue
        t = _utc(e.time) or _utc(f.time)
        if t is None or ny_date(t) != day:
            continue
        x = fill_from_ibkr(f)
        if x.id not in seen or (x.commission and not seen[x.id].commission):
            seen[x.id] = x
    return sorted(seen.values(), key=lambda x: (x.transaction_time, x.id))


def market_clock(now: dt.datetime) -> MarketClock:
    """The NYSE session at ``now`` (the broker's time): open 09:30-16:00 New York (13:00 on half days)."""
    now = _utc(now) or now
    day = ny_date(now)
    try:
        t = pd.Timestamp(now)
        if not cal.is_session(day):
            nxt = cal.next_session(day)
            return MarketClock(
                now.isoformat(), False, cal.session_open_utc(nxt).isoformat(), cal.session_close_utc(nxt).isoformat()
            )
        op, cl = cal.session_open_utc(day), cal.session_close_utc(day)
        nxt = cal.next_session(day)
        return MarketClock(
            timestamp=now.isoformat(),
            is_open=bool(op <= t < cl),
            next_open=(op if t < op else cal.session_open_utc(nxt)).isoformat(),
            next_close=(cl if t < cl else cal.session_close_utc(nxt)).isoformat(),
        )
    except ValueError:  # outside the calendar's range
        return MarketClock(timestamp=now.isoformat(), is_open=False)


def pacer(ex, *, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
    """The :class:`~xlexec.execution.ratelimit.RateLimiter` of ``execution`` (:class:`ExecutionConfig`)
    for TWS: at most :data:`MESSAGES_PER_SECOND` requests in any 1 s window, refilled at
    ``rate_limit_per_min`` (capped at 50/s), at most ``rate_limit_burst`` (capped at 50) back-to-back."""
    from xlexec.execution.ratelimit import RateLimiter, per_min

    rate = min(per_min(ex), MESSAGES_PER_SECOND * 60)
    burst = MESSAGES_PER_SECOND if ex.rate_limit_burst is None else int(ex.rate_limit_burst)
    burst = max(1, min(burst, MESSAGES_PER_SECOND))
    return RateLimiter(rate, burst=burst, window_max=MESSAGES_PER_SECOND, window_seconds=1.0, clock=clock, sleep=sleep)


_P = ParamSpec("_P")
_R = TypeVar("_R")
_inside = threading.local()


def _close_thread_loop() -> None:
    """Close the event loop ib_async made for this thread, as ``asyncio.run`` closes its own:
    its tasks cancelled and awaited, then the loop closed. Left open, the loop is collected
    with its self-pipe in one garbage cycle at exit, in either order: when the socket goes
    first, ``BaseEventLoop.__del__`` prints a traceback ("Invalid file descriptor: -1") under
    the command's one line, even after a clean refusal."""
    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:  # no loop made on this thread
        return
    if loop.is_closed() or loop.is_running():
        return
    with contextlib.suppress(Exception):  # closing: nothing to report
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    asyncio.set_event_loop(None)


def _on_loop_thread(fn: Callable[Concatenate[IbkrBroker, _P], _R]) -> Callable[Concatenate[IbkrBroker, _P], _R]:
    """Run the method on the adapter's own thread (where ib_async's event loop and the
    connection live); a call made there already (one method calling another) runs directly."""

    @functools.wraps(fn)
    def run(self: IbkrBroker, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        if getattr(_inside, "broker", None) is self:
            return fn(self, *args, **kwargs)
        return self._thread().submit(fn, self, *args, **kwargs).result()

    return run


def _import_ib():
    try:
        import ib_async
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return ib_async


class IbkrBroker(Broker):
    """IBKR through ib_async to TWS / IB Gateway: bounded waits, paced requests, permId ids."""

    name = "ibkr"
    thread_safe = True  # callers queue for the adapter's one thread (ib_async's event loop lives there)

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        client_id: int = 1,
        *,
        account_id: str | None = None,
        paper: bool = True,
        connect_timeout: float = 10.0,
        timeout: float = 10.0,
        limiter=None,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        _import_ib()
        self.host_name = (host or "127.0.0.1").strip()
        self.paper = bool(paper)
        self.port = int(port) if port else (PAPER_PORT if self.paper else LIVE_PORT)
        self.client_id = int(client_id)
        self.account_id = (account_id or "").strip() or None
        self.connect_timeout = float(connect_timeout)
        self.timeout = float(timeout)
        self.limiter = limiter
        self._mono = monotonic
        self._ib: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._errors: dict[int, list[tuple[int, str]]] = {}
        self._replaced: dict[int, str] = {}  # permId canceled to be replaced -> its replacement's id
        self.stats = {"requests": 0, "connects": 0, "orders_sent": 0}

    @classmethod
    def from_config(cls, cfg) -> IbkrBroker:
        k, ex = cfg.execution.ibkr, cfg.execution
        return cls(
            k.host,
            k.port,
            k.client_id,
            account_id=k.account_id,
            paper=k.paper,
            connect_timeout=k.connect_timeout_seconds,
            timeout=ex.request_timeout_seconds,
            limiter=pacer(ex),
        )

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return f"{self.host_name}:{self.port}"

    def __repr__(self) -> str:
        return f"IbkrBroker({'PAPER' if self.paper else 'LIVE'}, {self.host}, client {self.client_id})"

    def _thread(self) -> ThreadPoolExecutor:
        if self._pool is None:

            def mark() -> None:
                _inside.broker = self

            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xlexec-ibkr", initializer=mark)
        return self._pool

    def _on_error(self, req_id, code, text, contract=None) -> None:
        if isinstance(req_id, int) and req_id > 0:
            self._errors.setdefault(req_id, []).append((int(code), str(text)))

    def _pace(self) -> None:
        if self.limiter is not None:
            self.limiter.acquire()
        self.stats["requests"] += 1

    def _connected(self):
        """The connected ``IB`` (connecting, or reconnecting after a drop, first)."""
        ib_async = _import_ib()
        if self._ib is None:
            # the adapter reports every error itself (one line each): ib_async's own log lines
            # go to the application's logging only, never straight to stderr
            lg = logging.getLogger("ib_async")
            if not any(isinstance(h, logging.NullHandler) for h in lg.handlers):
                lg.addHandler(logging.NullHandler())
            self._ib = ib_async.IB()
            self._ib.RequestTimeout = self.timeout
            self._ib.RaiseRequestErrors = True
            self._ib.errorEvent += self._on_error
        ib = self._ib
        if ib.isConnected():
            # let the event loop take what the socket holds first: a close TWS sent while
            # nothing ran the loop (a TWS restart between two calls) is noticed here, not by
            # the next request
            with contextlib.suppress(ConnectionError, OSError):
                ib.sleep(0)
        if ib.isConnected():
            return ib
        self._errors.clear()  # order ids start again on a new connection
        where = f"TWS / IB Gateway at {self.host} (client id {self.client_id})"
        self._pace()
        self.stats["connects"] += 1
        try:
            ib.disconnect()
            ib.connect(
                self.host_name,
                self.port,
                clientId=self.client_id,
                timeout=self.connect_timeout,
                account=self.account_id or "",
            )
        except (ConnectionError, OSError, TimeoutError) as e:
            ib.disconnect()
            raise BrokerUnavailable(
                f"connecting to {where} failed ({type(e).__name__}{': ' + scrub(e) if str(e) else ''}): "
                "is it running and logged in, with the API enabled on that port?"
            ) from None
        managed = [a for a in ib.managedAccounts() if a]
        if self.account_id is None and len(managed) != 1:
            ib.disconnect()
            raise ConfigError(
                f"execution.ibkr.account_id: set it: the login at {self.host} manages {len(managed)} accounts"
            )
        if self.account_id is not None and self.account_id not in managed:
            ib.disconnect()
            raise ConfigError(
                f"execution.ibkr.account_id {self.account_id} is not an account of the login at {self.host} "
                f"(it manages {', '.join(managed) or 'none'}); nothing sent"
            )
        if self.account_id is None:
            self.account_id = managed[0]
        return ib

    def _req(self, what: str, fn: Callable[[Any], Any], *, reads: bool = True) -> Any:
        """``fn(ib)`` for one request: connected first, paced, errors mapped. A read
        (``reads``) whose connection drops is sent once more on a new connection (asking again
        changes nothing at the broker); anything else is never resent."""
        from ib_async.wrapper import RequestError

        for attempt in (1, 2):
            ib = self._connected()
            self._pace()
            try:
                return fn(ib)
            except TimeoutError:
                raise BrokerUnavailable(f"{what}: no reply from TWS within {self.timeout:g} s") from None
            except (ConnectionError, OSError) as e:
                if reads and attempt == 1:
                    with contextlib.suppress(Exception):
                        ib.disconnect()
                    continue
                raise BrokerUnavailable(f"{what}: connection to TWS lost ({type(e).__name__})") from None
            except RequestError as e:
                raise BrokerUnavailable(f"{what}: TWS error {e.code}: {scrub(e.message)}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, ib, seconds: float) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            ib.waitOnUpdate(timeout=max(0.01, seconds))

    def _refresh(self) -> list[Any]:
        """Every order TWS knows today: open ones of every client and completed ones (API and
        manual), each permId once (a completed snapshot wins over a stale open one)."""
        opened = self._req("open orders", lambda ib: ib.reqAllOpenOrders())
        done = self._req("completed orders", lambda ib: ib.reqCompletedOrders(apiOnly=False))
        live = [t for t in self._ib.trades() if _perm(t)]
        by: dict[int, Any] = {}
        for t in [*opened, *live, *done]:
            p = _perm(t)
            if not p:
                continue
            old = by.get(p)
            if old is None or t.orderStatus.status in ("Filled", "Cancelled", "ApiCancelled", "Inactive"):
                by[p] = t
        return [t for t in by.values() if self._mine(t)]

    def _mine(self, trade) -> bool:
        acct = str(getattr(trade.order, "account", "") or "")
        return not acct or not self.account_id or acct == self.account_id

    def _executions(self) -> list[Any]:
        """Every execution of today (this account), commissions joined by execId."""
        got = self._req(
            "executions",
            lambda ib: ib.reqExecutions(self._filter()),
        )
        by = {f.execution.execId: f for f in self._ib.fills()}
        for f in got:
            by.setdefault(f.execution.execId, f)
        return list(by.values())

    def _filter(self):
        from ib_async import ExecutionFilter

        return ExecutionFilter(acctCode=self.account_id or "")

    def _find(self, order_id: str) -> Any | None:
        try:
            perm = int(order_id)
        except ValueError:
            raise OrderRejected(f"order id {order_id!r} is not an IBKR permId") from None
        ib = self._connected()
        for t in ib.trades():
            if _perm(t) == perm and (t.isDone() or t.order.clientId == self.client_id):
                return t
        for t in self._refresh():
            if _perm(t) == perm:
                return t
        return None

    # -- Broker interface -------------------------------------------------------------------
    def _spec(self, req: OrderRequest):
        ib_async = _import_ib()
        if req.side not in ("buy", "sell"):
            raise OrderRejected(f"side {req.side!r} is not supported by the adapter")
        if (req.time_in_force or "day") != "day":
            raise OrderRejected(f"time in force {req.time_in_force!r}: the adapter sends DAY orders only")
        qty = int(req.qty)
        if qty <= 0 or qty != req.qty:
            raise OrderRejected(f"quantity {req.qty!r}: whole shares above zero only")
        action = "BUY" if req.side == "buy" else "SELL"
        common = {"tif": "DAY", "orderRef": req.client_order_id, "account": self.account_id or ""}
        if req.order_type == "market":
            order = ib_async.MarketOrder(action, qty, **common)
        elif req.order_type == "limit":
            if req.limit_price is None or not req.limit_price > 0:
                raise OrderRejected("limit order without a limit price: not sent")
            order = ib_async.LimitOrder(action, qty, float(price_text(float(req.limit_price))), **common)
        else:
            raise OrderRejected(f"order type {req.order_type!r} is not supported by the adapter")
        return ib_async.Stock(ibkr_symbol(req.symbol), "SMART", "USD"), order

    @_on_loop_thread
    def submit_order(self, req: OrderRequest) -> Order:
        contract, order = self._spec(req)
        ib = self._connected()
        order.account = self.account_id or ""
        what = f"submit {req.client_order_id or req.symbol}"
        self._pace()
        self.before_wire(what)
        oid = order.orderId = int(ib.client.getReqId())
        self._errors.pop(oid, None)  # nothing said about an earlier order of that id counts
        try:
            trade = ib.placeOrder(contract, order)
        except (ConnectionError, OSError) as e:
            raise BrokerUnavailable(f"{what}: connection to TWS lost while sending ({type(e).__name__})") from None
        self.stats["orders_sent"] += 1
        deadline = self._mono() + self.timeout
        said: tuple[int, str] | None = None  # an error for the order whose meaning TWS's status tells
        while True:
            for code, msg in self._errors.pop(oid, []):
                if is_note(code):
                    continue
                if code in REJECT_CODES and _num(trade.orderStatus.filled) <= 0:
                    raise OrderRejected(f"{what}: IBKR error {code}: {scrub(msg)}", code)
                said = (code, msg)
            # the statuses TWS itself sent (ib_async also writes a local Cancelled on an error)
            told = [e.status for e in trade.log[1:] if not getattr(e, "errorCode", 0)]
            last = told[-1] if told else ""
            if last in ("Inactive", "Cancelled", "ApiCancelled") and _num(trade.orderStatus.filled) <= 0:
                why = f"IBKR error {said[0]}: {scrub(said[1])}" if said else f"TWS made the order {last}"
                raise OrderRejected(f"{what}: {why}", said[0] if said else None)
            if _perm(trade) and last in LIVE_STATES:
                got = order_from_trade(trade, ib.fills())
                if said and not got.reason:
                    got.reason = f"IBKR {said[0]}: {scrub(said[1])}"
                return got
            if not ib.isConnected():
                raise BrokerUnavailable(f"{what}: connection to TWS lost after the order was sent: outcome unknown")
            left = deadline - self._mono()
            if left <= 0:
                note = f" (TWS said {said[0]}: {scrub(said[1])})" if said else ""
                raise BrokerUnavailable(
                    f"{what}: no permId/status from TWS within {self.timeout:g} s after the order was sent{note}: "
                    "outcome unknown"
                )
            self._wait(ib, min(left, 0.2))

    def _marked(self, o: Order, trade, replaced: set[str]) -> Order:
        """``o`` (of ``trade``) as ``replaced`` when it was canceled to be replaced: by this
        adapter (remembered), or as the later chase replacement among TWS's orders shows
        (``replaced``: :func:`replaced_refs` of them)."""
        if o.status == "canceled" and (_perm(trade) in self._replaced or o.client_order_id in replaced):
            o.status = "replaced"
        return o

    @_on_loop_thread
    def get_order(self, order_id: str) -> Order:
        t = self._find(order_id)
        if t is None:
            raise OrderRejected(f"get order {order_id}: TWS knows no such order today", 404)
        o = order_from_trade(t, self._ib.fills())
        if o.status == "canceled" and o.client_order_id and _perm(t) not in self._replaced:
            # replaced before a restart? the replacement (same root, later move) tells
            refs = live_refs(self._ib.trades())
            if o.client_order_id not in replaced_refs(refs):
                refs = live_refs(self._refresh())
            return self._marked(o, t, replaced_refs(refs))
        return self._marked(o, t, set())

    @_on_loop_thread
    def get_order_by_client_id(self, client_order_id: str) -> Order | None:
        """The order whose ``orderRef`` is ``client_order_id`` among TWS's open and completed
        orders (any client), else one known from its executions; None when TWS has none."""
        if not client_order_id:
            return None
        every = self._refresh()
        trades = [t for t in every if str(t.order.orderRef or "") == client_order_id]
        execs = self._executions()
        if trades:
            replaced = replaced_refs(live_refs(every))
            orders = [self._marked(order_from_trade(t, execs), t, replaced) for t in trades]
            live = [o for o in orders if o.is_open or o.filled_qty > 0]
            return (live or orders)[0]
        mine = [f for f in execs if str(f.execution.orderRef or "") == client_order_id]
        if not mine:
            return None
        shares = sum(_num(f.execution.shares) for f in mine)
        e0 = mine[0].execution
        t0 = _utc(e0.time)
        return Order(
            id=str(e0.permId),
            client_order_id=client_order_id,
            symbol=our_symbol(mine[0].contract.symbol),
            side="buy" if str(e0.side).upper() == "BOT" else "sell",
            qty=shares,
            order_type="limit",
            limit_price=None,
            status="filled",
            filled_qty=shares,
            filled_avg_price=sum(_num(f.execution.shares) * _num(f.execution.price) for f in mine) / shares,
            submitted_at=t0.isoformat() if t0 else None,
            reason="known from its executions only (TWS listed no order)",
        )

    @_on_loop_thread
    def list_orders(self, status: str = "all", after: str | None = None) -> list[Order]:
        """Today's orders at TWS (open of every client and completed); ``status``: all|open|closed;
        ``after`` (ISO): orders submitted before it are left out when their time is known."""
        every = self._refresh()
        replaced = replaced_refs(live_refs(every))
        fills = self._ib.fills() if self._ib else ()
        out = [self._marked(order_from_trade(t, fills), t, replaced) for t in every]
        lo = _utc(dt.datetime.fromisoformat(after.replace("Z", "+00:00"))) if after else None
        if lo is not None:
            out = [o for o in out if _submitted(o) is None or _submitted(o) >= lo]  # type: ignore[operator]
        if status == "open":
            return [o for o in out if o.is_open]
        if status == "closed":
            return [o for o in out if not o.is_open]
        return out

    @_on_loop_thread
    def cancel_order(self, order_id: str) -> None:
        t = self._find(order_id)
        if t is None:
            raise OrderRejected(f"cancel {order_id}: TWS knows no such order today", 404)
        if t.isDone():
            raise OrderRejected(f"cancel {order_id}: the order is {t.orderStatus.status} already")
        if t.order.clientId != self.client_id or not t.order.orderId:
            raise NotSupported(
                f"cancel {order_id}: placed by another client (id {t.order.clientId}): "
                "cancel it in TWS or use cancel_all"
            )
        what = f"cancel {order_id}"
        oid = int(t.order.orderId)
        self._req(what, lambda ib: ib.cancelOrder(t.order), reads=False)
        deadline = self._mono() + self.timeout
        while t.orderStatus.status not in ("Cancelled", "ApiCancelled", "PendingCancel", "Filled"):
            errs = [(c, m) for c, m in self._errors.pop(oid, []) if not is_note(c) and c != 202]
            if errs:
                raise OrderRejected(f"{what}: IBKR error {errs[-1][0]}: {scrub(errs[-1][1])}", errs[-1][0])
            left = deadline - self._mono()
            if left <= 0 or not self._ib.isConnected():
                raise BrokerUnavailable(f"{what}: no confirmation from TWS within {self.timeout:g} s")
            self._wait(self._ib, min(left, 0.2))

    @_on_loop_thread
    def replace_order(self, order_id: str, *, limit_price: float, client_order_id: str) -> Order:
        """Cancel, then replace: TWS modifies an order in place (same orderId, same orderRef),
        so the chase's new client order id per move goes on a new order instead. Exactly once:
        a replacement TWS already has under ``client_order_id`` is returned and nothing is sent.
        Otherwise the old order is canceled and TWS's own final status awaited
        (``request_timeout_seconds``): Filled before the cancel landed -> :class:`OrderRejected`
        422 "order is filled" (as Alpaca answers a replace of a filled order; nothing placed);
        Cancelled -> the remaining quantity (the order's less the shares TWS reports filled)
        goes out as a new DAY limit at ``limit_price`` with ``orderRef`` = ``client_order_id``
        (same contract, side, account), and the old order reads ``replaced`` from then on (also
        after a restart: :func:`replaced_refs`). No confirmation of the cancel in time ->
        :class:`BrokerUnavailable`, nothing placed; the place's outcome unknown ->
        :class:`BrokerUnavailable` (:meth:`submit_order`)."""
        what = f"replace {order_id}"
        there = self.get_order_by_client_id(client_order_id)
        if there is not None:  # placed by an earlier call (its reply lost): never twice
            return there
        t = self._find(order_id)
        if t is None:
            raise OrderRejected(f"{what}: TWS knows no such order today", 404)
        old = order_from_trade(t, self._ib.fills())
        if not old.is_open or t.isDone():
            raise OrderRejected(f"{what}: order is {old.status}: it cannot be replaced", 422)
        if old.order_type != "limit":
            raise OrderRejected(f"{what}: a {old.order_type} order has no limit to move", 422)
        if t.order.clientId != self.client_id or not t.order.orderId:
            raise NotSupported(f"{what}: placed by another client (id {t.order.clientId}): replace it in TWS")
        self.before_wire(what)
        final = self._cancel_confirmed(t, what)
        done = order_from_trade(t, self._ib.fills())
        left = int(round(old.qty - done.filled_qty))
        if final == "Filled" or left <= 0:
            raise OrderRejected(f"{what}: order is filled: it cannot be replaced (it filled before the cancel)", 422)
        req = OrderRequest(old.symbol, old.side, left, "limit", float(limit_price), "day", client_order_id)
        # refused, gate closed, unknown: the old one stays canceled unless TWS shows a replacement
        new = self.submit_order(req)
        self._replaced[_perm(t)] = client_order_id
        return new

    def _cancel_confirmed(self, t, what: str) -> str:
        """Cancel ``t`` and wait (``request_timeout_seconds``) for the final status TWS itself
        sends (Cancelled, ApiCancelled or Filled): ib_async writes a Cancelled of its own on any
        error for an order (10148 "cannot be cancelled" for one that filled too), which is no
        confirmation. Returns that status; none in time -> :class:`BrokerUnavailable`."""
        oid = int(t.order.orderId)
        self._errors.pop(oid, None)
        seen = len(t.log)
        self._req(f"{what}: cancel", lambda ib: ib.cancelOrder(t.order), reads=False)
        deadline = self._mono() + self.timeout
        while True:
            told = [e.status for e in t.log[seen:] if not getattr(e, "errorCode", 0)]
            end = next((s for s in reversed(told) if s in CANCEL_ENDS), None)
            if end is not None:
                return end
            errs = [(c, m) for c, m in self._errors.pop(oid, []) if not is_note(c) and c not in (202, CANCEL_TOO_LATE)]
            if errs:
                code, msg = errs[-1]
                raise OrderRejected(f"{what}: cancel refused: IBKR error {code}: {scrub(msg)}", code)
            left = deadline - self._mono()
            if left <= 0 or not self._ib.isConnected():
                raise BrokerUnavailable(
                    f"{what}: cancel sent, no final status from TWS within {self.timeout:g} s; nothing placed"
                )
            self._wait(self._ib, min(left, 0.2))

    @_on_loop_thread
    def cancel_all(self) -> list[str]:
        """``reqGlobalCancel`` (every working order of the login, any client, manual ones too),
        then the open orders listed until none of those open before is working (bounded by
        ``request_timeout_seconds``): the ids now canceled or pending cancel."""
        before = [o.id for o in self.list_orders("open")]
        self._req("global cancel", lambda ib: ib.reqGlobalCancel(), reads=False)
        deadline = self._mono() + self.timeout
        while True:
            now = {o.id: o.status for o in self.list_orders("all")}
            working = [i for i in before if now.get(i) not in ("canceled", "pending_cancel", "filled")]
            if not working or self._mono() >= deadline:
                return [i for i in before if now.get(i) in ("canceled", "pending_cancel")]
            self._wait(self._ib, min(0.2, max(0.0, deadline - self._mono())))

    @_on_loop_thread
    def positions(self) -> list[Position]:
        ps = self._req("positions", lambda ib: ib.reqPositions())
        prices = {}
        for item in self._ib.portfolio(self.account_id or ""):
            prices[item.contract.conId] = item
        out = []
        for p in ps:
            if self.account_id and p.account != self.account_id:
                continue
            if p.contract.secType != "STK" or not _num(p.position):
                continue
            item = prices.get(p.contract.conId)
            mv = _num(item.marketValue) if item is not None else None
            px = _num(item.marketPrice) if item is not None else None
            out.append(
                Position(
                    symbol=our_symbol(p.contract.symbol),
                    qty=_num(p.position),
                    avg_entry_price=_num(p.avgCost),
                    current_price=px or None,
                    market_value=mv if item is not None else None,
                )
            )
        return out

    @_on_loop_thread
    def account(self) -> Account:
        ib = self._connected()
        acct = self.account_id or ""
        vals = list(ib.accountValues(acct))
        if not any(v.tag == "NetLiquidation" for v in vals):
            vals = list(self._req("account summary", lambda ib: ib.accountSummary(acct)))

        def tag(name: str) -> tuple[float, str]:
            rows = [v for v in vals if v.tag == name and (not acct or v.account == acct)]
            for cur in ("USD", "BASE"):
                for v in rows:
                    if v.currency == cur:
                        try:
                            return float(v.value), ("USD" if cur == "BASE" else cur)
                        except ValueError:
                            break
            raise BrokerUnavailable(f"account: TWS reported no {name} in USD for {acct}")

        nlv, currency = tag("NetLiquidation")
        cash, _ = tag("TotalCashValue")
        bp, _ = tag("BuyingPower")
        return Account(
            cash=cash,
            buying_power=bp,
            portfolio_value=nlv,
            status="ACTIVE",
            currency=currency,
            account_number=acct,
        )

    @_on_loop_thread
    def clock(self) -> MarketClock:
        t = self._req("clock", lambda ib: ib.reqCurrentTime())
        now = _utc(t)
        if now is None:
            raise BrokerUnavailable("clock: malformed reply from TWS (no time)")
        return market_clock(now)

    @_on_loop_thread
    def fills(self, day: str) -> list[Fill]:
        """Every execution of ``day`` (New York date) with its commission (waiting, bounded, for
        commission reports TWS sends after the executions). TWS reports the executions it still
        holds: today's (IB Gateway / TWS can be set to keep up to 7 days); an older day's fills
        come from a Flex statement (``xlexec fills``)."""
        dt.date.fromisoformat(day)
        execs = self._executions()
        deadline = self._mono() + min(self.timeout, 3.0)
        while True:
            todays = [f for f in execs if _ny_day(f.execution.time) == day]
            if all(f.commissionReport.execId for f in todays) or self._mono() >= deadline:
                break
            self._wait(self._ib, 0.1)
            by = {f.execution.execId: f for f in self._ib.fills()}
            execs = [by.get(f.execution.execId, f) for f in execs]
        return fills_of_day(execs, day, self.account_id)

    @_on_loop_thread
    def quotes(self, symbols: list[str]) -> list[dict]:
        """The latest quote of each of ``symbols`` (our spelling): the contract qualified
        (``reqContractDetails``), then one market data snapshot each (ib_async ``reqTickers``:
        ``reqMktData`` with ``snapshot=True``, answered by ticks and ``tickSnapshotEnd``), all in
        flight at once, paced without holding up the event loop, each request within
        ``request_timeout_seconds`` of its paced slot (no reply: :class:`BrokerUnavailable`).
        Rows ``symbol`` (ours), ``bid``, ``ask``, ``last`` ($/share; None when TWS sent none),
        ``timestamp`` (UTC, when the ticks arrived; None unless TWS says the data is live,
        ``marketDataType`` 1: a delayed or frozen quote has no time, so an order needing a fresh
        quote is refused). A symbol TWS has no data for (no ticks, or an error such as 354 "not
        subscribed" or 200 "no security definition") is left out: never a stale or zero quote."""
        if not symbols:
            return []
        import asyncio

        from ib_async.wrapper import RequestError

        ib_async = _import_ib()
        contracts = {s: ib_async.Stock(ibkr_symbol(s), "SMART", "USD") for s in symbols}

        def snap(ib) -> dict[str, Any]:
            t0 = dt.datetime.now(dt.UTC)

            async def paced() -> None:  # the shared pacer, waited for without holding up the event loop
                self.stats["requests"] += 1
                wait = self.limiter.reserve() if self.limiter is not None else 0.0
                if wait > 0:
                    await asyncio.sleep(wait)

            async def one(c):
                # each request has its own timeout, counted from its paced slot
                await paced()
                [q] = await asyncio.wait_for(ib.qualifyContractsAsync(c), self.timeout)  # the conId
                if q is None:
                    return []
                old = ib.ticker(q)  # values of an earlier snapshot of the same contract are not this one's
                if old is not None:
                    old.bid = old.ask = old.last = float("nan")
                await paced()
                return await asyncio.wait_for(ib.reqTickersAsync(q), self.timeout)

            async def every():
                return await asyncio.gather(*(one(c) for c in contracts.values()), return_exceptions=True)

            got = ib.run(every())
            out: dict[str, Any] = {}
            for s, r in zip(contracts, got, strict=True):
                if isinstance(r, RequestError):
                    continue  # this symbol's snapshot was refused (354, 200...): no quote
                if isinstance(r, TimeoutError):
                    raise BrokerUnavailable(f"quotes: no reply from TWS within {self.timeout:g} s for {s}")
                if isinstance(r, BaseException):
                    raise r
                t = r[0] if r else None
                when = _utc(getattr(t, "time", None))
                if t is not None and when is not None and when >= t0:
                    out[s] = t
            return out

        tickers = self._req("quotes", snap)
        rows = []
        for s, t in tickers.items():
            bid, ask, last = (_num(getattr(t, k, None)) or None for k in ("bid", "ask", "last"))
            if bid is None and ask is None and last is None:
                continue
            live = int(getattr(t, "marketDataType", 1) or 1) == 1
            rows.append(
                {"symbol": s, "bid": bid, "ask": ask, "last": last, "timestamp": _utc(t.time) if live else None}
            )
        return rows

    @_on_loop_thread
    def _disconnect(self) -> None:
        if self._ib is not None:
            with contextlib.suppress(Exception):  # closing: nothing to report
                self._ib.disconnect()
        _close_thread_loop()

    def close(self) -> None:
        if self._pool is not None:
            self._disconnect()
            self._pool.shutdown(wait=True)
            self._pool = None
