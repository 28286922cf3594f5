"""Alpaca adapter: alpaca-py's ``TradingClient`` behind xlexec's :class:`Broker` interface.

What this adds to alpaca-py (0.44):

* **A timeout on every request.** alpaca-py calls ``requests.Session.request`` with no timeout
  (a hung connection blocks forever). Each client gets a session that sets
  ``timeout=request_timeout_seconds`` on every request (``RESTClient._session`` is the hook:
  it is the only object ``RESTClient._one_request`` sends through).
* **Our retries, not theirs.** alpaca-py silently retries 429/504 three times, 3 s apart. That
  is switched off (``_retry = 0``); this adapter retries only 429 (the broker did not process
  the request, so a retry cannot duplicate anything), waiting as the broker says
  (``Retry-After`` seconds or date, else ``X-RateLimit-Reset`` epoch seconds, else exponential
  backoff), bounded in attempts and total wait. Every other failure is reported to the caller,
  who decides (the submit engine looks the order up by client order id before sending again).
* **Pacing.** An optional shared :class:`~xlexec.execution.ratelimit.RateLimiter` is acquired before each
  request (``execution.rate_limit_per_min``, ``rate_limit_burst``); a 429 holds every thread off together.
* **Error mapping.** 422/403 "client_order_id must be unique" -> :class:`DuplicateClientOrderId`;
  other 4xx -> :class:`OrderRejected` (the broker's message); 5xx, timeouts, resets, dropped
  connections and replies that are not the JSON expected -> :class:`BrokerUnavailable`
  (outcome unknown). The API key and secret never appear in messages (they travel only in
  request headers; messages are scrubbed anyway).
* One ``TradingClient`` per thread (``requests.Session`` is not documented as thread-safe).

Units: quantities in shares, prices in $/share, money in $.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from xlexec.errors import ConfigError
from xlexec.execution.brokers.base import (
    Account,
    Broker,
    BrokerUnavailable,
    DuplicateClientOrderId,
    Fill,
    MarketClock,
    Order,
    OrderRejected,
    OrderRequest,
    Position,
    scrub,
)
from xlexec.execution.brokers.hosts import alpaca_host_kind

_IMPORT_LOCK = threading.Lock()
_imported = False


def _load_alpaca_py() -> None:
    """Import alpaca-py's modules once, under one lock, before any lazy ``from alpaca...``.
    Python's import lock is per module: threads importing alpaca-py's interdependent modules for
    the first time at once (the read-ahead asks the clock, the account and the day's orders
    together) can stop each other with ``_DeadlockError``."""
    global _imported
    if _imported:
        return
    with _IMPORT_LOCK:
        if not _imported:
            import alpaca.common.exceptions  # noqa: F401
            import alpaca.trading.client  # noqa: F401
            import alpaca.trading.enums  # noqa: F401
            import alpaca.trading.requests  # noqa: F401

            _imported = True


LIVE_URL = "https://api.alpaca.markets"
PAPER_URL = "https://paper-api.alpaca.markets"
PAGE_SIZE_ORDERS = 500  # Alpaca's maximum for GET /v2/orders
PAGE_SIZE_ACTIVITIES = 100  # Alpaca's maximum for account activities
MAX_PAGES = 10_000


class _TimeoutSession(requests.Session):
    """A ``requests.Session`` that never waits forever: default ``timeout`` on every request."""

    def __init__(self, timeout: float):
        super().__init__()
        self.default_timeout = timeout

    def request(self, method, url, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().request(method, url, **kwargs)


def _enum(v) -> str | None:
    if v is None:
        return None
    return str(getattr(v, "value", v))


def _f(v) -> float | None:
    if v is None or v == "":
        return None
    return float(v)


def _iso(v) -> str | None:
    if v is None:
        return None
    return v.isoformat() if hasattr(v, "isoformat") else str(v)


def _orders_page(req) -> Callable[[Any], Any]:
    """``fn(client)`` listing one page of orders for ``req`` (bound now, not when called)."""
    return lambda c: c.get_orders(filter=req)


def _get_page(path: str, params: dict[str, Any]) -> Callable[[Any], Any]:
    """``fn(client)`` getting one page of ``path`` with ``params`` (bound now, not when called)."""
    return lambda c: c.get(path, params)


def _price(v) -> float | None:
    """A price the broker reported: ``0``, ``""`` and null are *no price* (Alpaca writes
    ``filled_avg_price: 0`` / null before a fill), never $0."""
    p = _f(v)
    return p if p is not None and p > 0 else None


#: the fields of a Trading API FILL activity (docs.alpaca.markets/us/docs/account-activities,
#: "The TradeActivity Object") a fill cannot be read without; ``type``, ``leaves_qty``,
#: ``cum_qty`` are documented too but not needed; ``order_status`` and ``account_id`` are
#: Broker-API fields (alpaca-py's ``TradeActivity`` requires them) that a Trading API record may lack.
FILL_FIELDS = ("id", "transaction_time", "price", "qty", "side", "symbol", "order_id")


def fill_from_activity(a: Any, what: str = "activity") -> Fill | None:
    """One account activity (a JSON object as the Trading API sends it) -> :class:`Fill`; None
    when it is not a FILL. A FILL lacking a documented field, or with a quantity or price that
    is not a positive number, is a malformed reply (:class:`BrokerUnavailable`) naming it."""
    if not isinstance(a, dict):
        raise BrokerUnavailable(f"{what}: malformed reply from the broker (not an object)")
    if str(a.get("activity_type") or "FILL").upper() != "FILL":
        return None
    missing = [k for k in FILL_FIELDS if a.get(k) in (None, "")]
    if missing:
        raise BrokerUnavailable(f"{what}: malformed reply from the broker (FILL without {', '.join(missing)})")
    try:
        qty, price = float(a["qty"]), float(a["price"])
    except (TypeError, ValueError):
        raise BrokerUnavailable(f"{what}: malformed reply from the broker (qty/price not numbers)") from None
    if not (qty > 0 and price > 0):  # also refuses NaN
        raise BrokerUnavailable(f"{what}: malformed reply from the broker (qty {a['qty']!r}, price {a['price']!r})")
    return Fill(
        id=str(a["id"]),
        order_id=str(a["order_id"]),
        symbol=str(a["symbol"]),
        side=str(a["side"]),
        qty=qty,
        price=price,
        transaction_time=str(a["transaction_time"]),
    )


def order_from_alpaca(o) -> Order:
    """alpaca-py ``Order`` model -> xlexec :class:`Order`. A notional order (``qty`` null,
    ``notional`` set: a dollar amount) keeps its notional; its ``qty`` is the shares filled so
    far (0 before any fill), never a size to chase. ``filled_avg_price`` 0 / null -> None."""
    filled = _f(o.filled_qty) or 0.0
    notional = _f(getattr(o, "notional", None))
    qty = _f(o.qty)
    return Order(
        id=str(o.id),
        client_order_id=o.client_order_id,
        symbol=o.symbol or "",
        side=_enum(o.side) or "",
        qty=qty if qty is not None else filled,
        order_type=_enum(o.order_type or o.type) or "",
        limit_price=_price(o.limit_price),
        status=_enum(o.status) or "",
        filled_qty=filled,
        filled_avg_price=_price(o.filled_avg_price),
        notional=notional,
        submitted_at=_iso(o.submitted_at),
        updated_at=_iso(o.updated_at),
        reason=None,
    )


class AlpacaBroker(Broker):
    """Alpaca (paper or live) through alpaca-py, with timeouts, bounded 429 retries and pacing."""

    name = "alpaca"
    thread_safe = True  # one TradingClient (and requests session) per thread

    def __init__(
        self,
        api_key: str,
        secret_key: str,
        *,
        paper: bool = True,
        base_url: str | None = None,
        timeout: float = 10.0,
        limiter=None,
        max_429_retries: int = 5,
        max_429_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not api_key or not secret_key:
            raise ConfigError(
                "execution.alpaca: api_key and api_secret are empty; set them as "
                "${ALPACA_API_KEY} / ${ALPACA_SECRET_KEY} in config.yaml (as its template does) and export them"
            )
        self._key = api_key
        self._secret = secret_key
        self.paper = bool(paper)
        self.base_url = (base_url or (PAPER_URL if paper else LIVE_URL)).rstrip("/")
        if self.paper and alpaca_host_kind(self.base_url) == "live":  # also refuses userinfo, IPs
            raise ConfigError(f"execution.alpaca: paper is true but {self.host} is the LIVE API; nothing sent")
        self.timeout = float(timeout)
        self.limiter = limiter
        self.max_429_retries = max_429_retries
        self.max_429_wait = max_429_wait
        self._sleep = sleep
        self._local = threading.local()
        self.stats = {"requests": 0, "retries_429": 0}
        self._stats_lock = threading.Lock()

    @classmethod
    def from_config(cls, cfg) -> AlpacaBroker:
        from xlexec.execution.ratelimit import RateLimiter

        a = cfg.execution.alpaca
        base = (a.base_url or "").strip() or None
        kind = alpaca_host_kind(base) if base else None  # host compared canonicalised, not as a string
        if a.paper and kind == "live":
            raise ConfigError(
                "execution.alpaca.base_url points at the LIVE API while paper is true; "
                f"use {PAPER_URL} or set paper: false"
            )
        if not a.paper and (base is None or kind == "paper"):
            base = LIVE_URL  # paper: false with the default (paper) URL means the live API
        ex = cfg.execution
        return cls(
            a.api_key.get_secret_value(),
            a.api_secret.get_secret_value(),
            paper=a.paper,
            base_url=base,
            timeout=ex.request_timeout_seconds,
            limiter=RateLimiter.from_config(ex),
        )

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    def __repr__(self) -> str:  # never the keys
        return f"AlpacaBroker({'paper' if self.paper else 'LIVE'}, {self.host})"

    def _client(self):
        c = getattr(self._local, "client", None)
        if c is None:
            _load_alpaca_py()
            from alpaca.trading.client import TradingClient

            c = TradingClient(api_key=self._key, secret_key=self._secret, paper=self.paper, url_override=self.base_url)
            c._retry = 0  # alpaca-py's own 429/504 retry: off (we decide)
            c._session = _TimeoutSession(self.timeout)
            self._local.client = c
        return c

    def _scrub(self, text) -> str:
        return scrub(text, self._key, self._secret)

    def _retry_after(self, response, attempt: int) -> float:
        h = getattr(response, "headers", None) or {}
        ra = h.get("Retry-After")
        wait = None
        if ra:
            try:
                wait = float(ra)
            except ValueError:
                try:
                    when = email.utils.parsedate_to_datetime(ra)
                    wait = (when - dt.datetime.now(dt.UTC)).total_seconds()
                except (TypeError, ValueError):
                    wait = None
        if wait is None:
            reset = h.get("X-RateLimit-Reset") or h.get("X-Ratelimit-Reset")
            if reset:
                try:
                    wait = float(reset) - time.time()
                except ValueError:
                    wait = None
        if wait is None:
            wait = 0.5 * (2**attempt)
        return min(max(wait, 0.05), self.max_429_wait)

    def _map_api_error(self, what: str, e) -> Exception:
        status = e.status_code
        body = str(e)
        try:
            msg = e.message
        except Exception:  # noqa: BLE001 - body not JSON
            msg = body
        msg = self._scrub(msg)
        if status is None or status >= 500:
            return BrokerUnavailable(f"{what}: broker error HTTP {status}: {msg}")
        if "client_order_id must be unique" in body.lower() or "client_order_id must be unique" in msg.lower():
            return DuplicateClientOrderId(f"{what}: {msg}")
        if status == 401:
            return OrderRejected(
                f"{what}: authentication failed (HTTP 401): check the API key/secret variables and paper/live", status
            )
        return OrderRejected(f"{msg} (HTTP {status})", status)

    def _call(self, what: str, fn: Callable[[Any], Any], *, wire: bool = False):
        """Run ``fn(client)`` paced, with a timeout, retrying only 429s (bounded). ``wire``: an
        order request: the gate (:meth:`before_wire`) is passed after each pacing wait."""
        _load_alpaca_py()
        from alpaca.common.exceptions import APIError

        attempt = 0
        waited = 0.0
        while True:
            if self.limiter is not None:
                self.limiter.acquire()
            if wire:
                self.before_wire(what)
            with self._stats_lock:
                self.stats["requests"] += 1
            try:
                return fn(self._client())
            except APIError as e:
                if e.status_code == 429:
                    wait = self._retry_after(e.response, attempt)
                    if attempt < self.max_429_retries and waited + wait <= self.max_429_wait:
                        attempt += 1
                        waited += wait
                        with self._stats_lock:
                            self.stats["retries_429"] += 1
                        if self.limiter is not None:
                            self.limiter.hold_off(wait)  # everyone waits; acquire() sleeps
                        else:
                            self._sleep(wait)
                        continue
                    raise BrokerUnavailable(
                        f"{what}: rate limited (HTTP 429) after {attempt} retries ({waited:.1f} s)"
                    ) from None
                raise self._map_api_error(what, e) from None
            except requests.exceptions.JSONDecodeError:
                raise BrokerUnavailable(f"{what}: malformed reply from the broker (not JSON)") from None
            except requests.Timeout:
                raise BrokerUnavailable(f"{what}: no reply within {self.timeout:g} s (timeout)") from None
            except requests.RequestException as e:
                raise BrokerUnavailable(f"{what}: connection failed ({type(e).__name__})") from None
            except (ValueError, TypeError, KeyError, AttributeError) as e:
                # bad JSON (json/requests JSONDecodeError) or a shape the models refuse (pydantic)
                raise BrokerUnavailable(f"{what}: malformed reply from the broker ({type(e).__name__})") from None

    # -- Broker interface -------------------------------------------------------------------
    def submit_order(self, req: OrderRequest) -> Order:
        _load_alpaca_py()
        from alpaca.trading.enums import OrderSide, TimeInForce
        from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest

        common = dict(
            symbol=req.symbol,
            qty=float(req.qty),
            side=OrderSide(req.side),
            time_in_force=TimeInForce(req.time_in_force or "day"),
            client_order_id=req.client_order_id or None,
        )
        data: MarketOrderRequest | LimitOrderRequest
        if req.order_type == "market":
            data = MarketOrderRequest(**common)
        elif req.order_type == "limit":
            if req.limit_price is None:
                raise OrderRejected("limit order without a limit price: not sent")
            data = LimitOrderRequest(limit_price=float(req.limit_price), **common)
        else:
            raise OrderRejected(f"order type {req.order_type!r} is not supported by the adapter")
        return order_from_alpaca(self._call(f"submit {req.client_order_id}", lambda c: c.submit_order(data), wire=True))

    def get_order(self, order_id: str) -> Order:
        return order_from_alpaca(self._call(f"get order {order_id}", lambda c: c.get_order_by_id(order_id)))

    def get_order_by_client_id(self, client_order_id: str) -> Order | None:
        try:
            o = self._call(f"lookup {client_order_id}", lambda c: c.get_order_by_client_id(client_order_id))
        except OrderRejected as e:
            if e.status_code == 404:
                return None
            raise
        return order_from_alpaca(o)

    def list_orders(self, status: str = "all", after: str | None = None) -> list[Order]:
        """Every order with ``status`` (open|closed|all) submitted after ``after`` (ISO), all pages."""
        _load_alpaca_py()
        from alpaca.trading.enums import QueryOrderStatus
        from alpaca.trading.requests import GetOrdersRequest

        cursor = dt.datetime.fromisoformat(after.replace("Z", "+00:00")) if after else None
        seen: dict[str, Order] = {}
        for _ in range(MAX_PAGES):
            req = GetOrdersRequest(
                status=QueryOrderStatus(status), limit=PAGE_SIZE_ORDERS, after=cursor, direction="asc"
            )
            page = self._call("list orders", _orders_page(req))
            new = 0
            for o in page:
                if str(o.id) not in seen:
                    seen[str(o.id)] = order_from_alpaca(o)
                    new += 1
            if len(page) < PAGE_SIZE_ORDERS or new == 0:
                break
            # ``after`` is strict: step back 1 us so orders sharing the last timestamp are not
            # skipped (the ones seen already are dropped by id)
            cursor = page[-1].submitted_at - dt.timedelta(microseconds=1)
        return list(seen.values())

    def cancel_order(self, order_id: str) -> None:
        self._call(f"cancel {order_id}", lambda c: c.cancel_order_by_id(order_id))

    def replace_order(self, order_id: str, *, limit_price: float, client_order_id: str) -> Order:
        """``PATCH /v2/orders/{id}`` with a new limit and our deterministic client order id."""
        _load_alpaca_py()
        from alpaca.trading.requests import ReplaceOrderRequest

        data = ReplaceOrderRequest(limit_price=float(limit_price), client_order_id=client_order_id)
        return order_from_alpaca(
            self._call(f"replace {order_id}", lambda c: c.replace_order_by_id(order_id, data), wire=True)
        )

    def cancel_all(self) -> list[str]:
        """ONE ``DELETE /v2/orders``; the ids the broker accepted to cancel (HTTP 2xx each)."""
        resp = self._call("cancel all", lambda c: c.cancel_orders())
        return [str(r.id) for r in (resp or []) if 200 <= int(r.status) < 300]

    def positions(self) -> list[Position]:
        rows = self._call("positions", lambda c: c.get_all_positions())
        return [
            Position(
                symbol=p.symbol,
                qty=float(p.qty),
                avg_entry_price=float(p.avg_entry_price),
                current_price=_f(p.current_price),
                market_value=_f(p.market_value),
            )
            for p in rows
        ]

    def account(self) -> Account:
        a = self._call("account", lambda c: c.get_account())
        return Account(
            cash=_f(a.cash) or 0.0,
            buying_power=_f(a.buying_power) or 0.0,
            portfolio_value=_f(a.portfolio_value) or 0.0,
            status=_enum(a.status) or "",
            currency=a.currency or "USD",
            trading_blocked=bool(a.trading_blocked),
            account_number=str(a.account_number or ""),
        )

    def clock(self) -> MarketClock:
        c = self._call("clock", lambda c: c.get_clock())
        return MarketClock(
            timestamp=_iso(c.timestamp) or "",
            is_open=bool(c.is_open),
            next_open=_iso(c.next_open),
            next_close=_iso(c.next_close),
        )

    def fills(self, day: str) -> list[Fill]:
        """Every FILL activity dated ``day``: ``GET /v2/account/activities/FILL``, all pages.

        Each record is read as the Trading API documents it (:func:`fill_from_activity`), not
        through alpaca-py's ``TradeActivity`` (a Broker-API model requiring ``account_id`` and
        ``order_status``, which Trading API records do not carry). Paging as documented
        (docs.alpaca.markets/us/reference/getaccountactivitiesbytype): ``direction=asc``,
        ``page_size`` (max 100), ``page_token`` = the id of the last record of the page before;
        a page shorter than ``page_size`` is the last. A page that brings nothing new (the
        server ignored the token) is a malformed reply, not the end: fills would be missed."""
        out: list[Fill] = []
        token = None
        seen: set[str] = set()
        what = f"fills {day}"
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"date": day, "direction": "asc", "page_size": PAGE_SIZE_ACTIVITIES}
            if token:
                params["page_token"] = token
            page = self._call(what, _get_page("/account/activities/FILL", params))
            if not isinstance(page, list):
                raise BrokerUnavailable(f"{what}: malformed reply from the broker (not a list)")
            new = 0
            for i, a in enumerate(page, 1):
                f = fill_from_activity(a, f"{what}: record {len(seen) + i}")
                if f is None or f.id in seen:
                    continue
                seen.add(f.id)
                new += 1
                out.append(f)
            if len(page) < PAGE_SIZE_ACTIVITIES:
                break
            if new == 0:
                raise BrokerUnavailable(f"{what}: malformed reply from the broker (a page repeated: paging stuck)")
            token = str(page[-1].get("id"))
        return out

    def close(self) -> None:
        c = getattr(self._local, "client", None)
        if c is not None:
            c._session.close()
