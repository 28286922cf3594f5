"""Schwab adapter: schwab-py's ``Client`` (Trader API) behind xlexec's :class:`Broker` interface.

* **Auth.** An OAuth token file made once with schwab-py's login flow
  (``schwab.auth.client_from_login_flow``); this adapter only reads it
  (``client_from_token_file``), and schwab-py refreshes the access token (30 min) and writes it
  back. A 401 (the access token revoked or expired early) is refreshed once and the request
  sent again: a 401 is never processed, so the resend cannot duplicate anything.
* **Orders** are the Trader API's order JSON built by ``schwab.orders.equities`` (equity LIMIT
  or MARKET, ``duration`` DAY, ``session`` NORMAL, ``orderStrategyType`` SINGLE), to the
  account by its hash. The order id is read from the ``Location`` header of the 201 reply; a
  201 without one is an unknown outcome.
* **Exactly once without a client order id.** The Trader API has none. Before each send the
  intent's fields and moment are remembered (the engine journals them too); after an unknown
  outcome :meth:`SchwabBroker.get_order_by_client_id` lists the account's orders entered since
  the intent and matches on symbol, instruction, quantity, price and entered time
  (:mod:`xlexec.execution.brokers.schwab_match`). One match: found. None: not created (the
  engine may send again). Two or more: :class:`AmbiguousOrderMatch`, never resent, reported for
  the operator to resolve.
* **Limit chase** (:meth:`SchwabBroker.replace_order`): ``PUT .../orders/{id}`` with a full
  new spec (DAY LIMIT at the new price for the shares still unfilled); Schwab answers 201 with
  the NEW order's ``Location`` and the old one reads ``REPLACED``. The same exactly-once rule
  as a send: the replacement's intent is remembered under its client order id (``<coid>-c<n>``)
  before the request and looked for first, so a lost 201 is found by its fields and a rerun
  never replaces twice.
* **Retries**: only 429 (``Retry-After`` seconds, else exponential backoff; bounded) and one
  401 refresh; 5xx, timeouts, dropped connections and malformed replies ->
  :class:`BrokerUnavailable` (outcome unknown); other 4xx -> :class:`OrderRejected`.
* **Pacing**: 120 requests/min (Schwab's Trader API allowance) through the shared
  :class:`~xlexec.execution.ratelimit.RateLimiter`.
* Schwab has no paper trading: the adapter is always LIVE (``paper = False``).

Units: quantities in shares, prices in $/share, money in $. Times from Schwab are UTC.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from xlexec.errors import ConfigError
from xlexec.execution.brokers.base import (
    Account,
    Broker,
    BrokerFault,
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
from xlexec.execution.brokers.hosts import canonical_host
from xlexec.execution.brokers.schwab_match import AmbiguousOrderMatch, Intent, match_intent
from xlexec.formats.upload import broker_symbol

API_HOST = "api.schwabapi.com"
API_URL = f"https://{API_HOST}"
RATE_LIMIT_PER_MIN = 120  # Schwab's Trader API: 120 requests per minute
NY = ZoneInfo("America/New_York")
_LOCATION = re.compile(r"/trader/v1/accounts/([^/]+)/orders/(\d+)/?$")

#: Schwab order status -> the interface's (Alpaca's) vocabulary
STATUS = {
    "AWAITING_PARENT_ORDER": "accepted",
    "AWAITING_CONDITION": "accepted",
    "AWAITING_STOP_CONDITION": "accepted",
    "AWAITING_MANUAL_REVIEW": "pending_new",
    "ACCEPTED": "accepted",
    "AWAITING_UR_OUT": "accepted",
    "PENDING_ACTIVATION": "pending_new",
    "QUEUED": "accepted",
    "WORKING": "new",
    "NEW": "new",
    "AWAITING_RELEASE_TIME": "accepted",
    "PENDING_ACKNOWLEDGEMENT": "pending_new",
    "PENDING_RECALL": "pending_cancel",
    "PENDING_CANCEL": "pending_cancel",
    "PENDING_REPLACE": "accepted",
    "REJECTED": "rejected",
    "CANCELED": "canceled",
    "REPLACED": "replaced",
    "FILLED": "filled",
    "EXPIRED": "expired",
}


def schwab_symbol(symbol: str) -> str:
    """Our symbol as orders and quotes spell it to Schwab: class shares dotted (``BRK/B`` ->
    ``BRK.B``), the same rule as the Schwab order sheet (:func:`xlexec.formats.upload.broker_symbol`)."""
    return broker_symbol(symbol, "dot")


def _epoch_ms(v: Any) -> dt.datetime | None:
    """Schwab's ``quoteTime`` / ``tradeTime`` (milliseconds since the epoch) -> UTC; None when absent."""
    try:
        ms = float(v)
    except (TypeError, ValueError):
        return None
    return dt.datetime.fromtimestamp(ms / 1000.0, dt.UTC) if ms > 0 else None


def _price(v: Any) -> float | None:
    """A quote price > 0 as float; None for absent, zero, negative or not a number."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f > 0 and f == f and f != float("inf") else None


def _iso(schwab_time: Any) -> str | None:
    """``2024-03-01T14:30:00+0000`` -> ISO 8601 with ``+00:00``."""
    if not schwab_time:
        return None
    s = str(schwab_time)
    m = re.match(r"^(.*[T ]\d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d\d)(\d\d)$", s)
    if m:
        s = f"{m.group(1)}{m.group(2)}:{m.group(3)}"
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).isoformat()


def order_from_schwab(o: Any, client_order_id: str = "") -> Order:
    """One Trader API order object -> :class:`Order` (single-leg equity orders only)."""
    if not isinstance(o, dict):
        raise BrokerUnavailable("malformed reply from the broker (order is not an object)")
    try:
        leg = o["orderLegCollection"][0]
        instr = str(leg["instruction"]).upper()
        qty = float(o.get("quantity", leg.get("quantity")))
        filled = float(o.get("filledQuantity") or 0)
        status = STATUS.get(str(o.get("status")).upper(), str(o.get("status")).lower())
        if status == "new" and filled > 0:
            status = "partially_filled"
        execs = [
            (float(x["quantity"]), float(x["price"]))
            for a in o.get("orderActivityCollection") or []
            if a.get("activityType") == "EXECUTION"
            for x in a.get("executionLegs") or []
        ]
        shares = sum(q for q, _ in execs)
        avg = sum(q * p for q, p in execs) / shares if shares > 0 else None
        kind = str(o.get("orderType")).lower()
        return Order(
            id=str(o["orderId"]),
            client_order_id=client_order_id,
            symbol=str(leg["instrument"]["symbol"]),
            side="buy" if instr.startswith("BUY") else "sell",
            qty=qty,
            order_type=kind,
            limit_price=float(o["price"]) if kind == "limit" and o.get("price") is not None else None,
            status=status,
            filled_qty=filled,
            filled_avg_price=avg,
            submitted_at=_iso(o.get("enteredTime")),
            updated_at=_iso(o.get("closeTime")),
            reason=o.get("statusDescription"),
        )
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise BrokerUnavailable(f"malformed reply from the broker (order: {type(e).__name__} {e})") from None


def fill_from_transaction(t: Any) -> Fill | None:
    """One TRADE transaction -> :class:`Fill` (the EQUITY transfer item: ``amount`` shares,
    + bought / - sold, ``price`` $/share; fee items summed as commission $). None when not a TRADE."""
    if not isinstance(t, dict):
        raise BrokerUnavailable("malformed reply from the broker (transaction is not an object)")
    if str(t.get("type")).upper() != "TRADE":
        return None
    try:
        items = t["transferItems"]
        eq = [i for i in items if str(i["instrument"].get("assetType")).upper() != "CURRENCY" and not i.get("feeType")]
        if len(eq) != 1:
            raise ValueError(f"{len(eq)} security items")
        amount, price = float(eq[0]["amount"]), float(eq[0]["price"])
        if amount == 0 or not price > 0:
            raise ValueError("zero quantity or price")
        fee = sum(abs(float(i.get("cost") or 0)) for i in items if i.get("feeType"))
        return Fill(
            id=str(t["activityId"]),
            order_id=str(t["orderId"]),
            symbol=str(eq[0]["instrument"]["symbol"]),
            side="buy" if amount > 0 else "sell",
            qty=abs(amount),
            price=price,
            transaction_time=_iso(t["time"]) or "",
            commission=fee,
        )
    except (KeyError, TypeError, ValueError) as e:
        raise BrokerUnavailable(f"malformed reply from the broker (TRADE {t.get('activityId')}: {e})") from None


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class _HostTransport:
    """An httpx transport sending what schwab-py addresses to ``api.schwabapi.com`` to another
    base URL (a loopback test server or proxy; the host is checked by :func:`canonical_host`)."""

    def __init__(self, base_url: str):
        import httpx

        c = canonical_host(base_url, what="execution.schwab.base_url")
        self.scheme, self.host, self.port = c.scheme, c.host, c.port
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request):
        if request.url.host == API_HOST:
            request.url = request.url.copy_with(scheme=self.scheme, host=self.host, port=self.port)
            request.headers["Host"] = request.url.netloc.decode()
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class SchwabBroker(Broker):
    """Schwab (always live) through schwab-py, with timeouts, bounded 429 retries and pacing."""

    name = "schwab"
    paper = False
    thread_safe = False  # one schwab-py client (one httpx session, one token file)

    def __init__(
        self,
        app_key: str,
        app_secret: str,
        token_path: str,
        *,
        account_hash: str | None = None,
        account_number: str | None = None,
        base_url: str = API_URL,
        timeout: float = 10.0,
        limiter=None,
        max_429_retries: int = 5,
        max_429_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] | None = None,
    ):
        if not app_key or not app_secret:
            raise ConfigError(
                "execution.schwab: app_key and app_secret are empty; set them as ${SCHWAB_APP_KEY} / "
                "${SCHWAB_APP_SECRET} in config.yaml and export them"
            )
        if not token_path:
            raise ConfigError(
                "execution.schwab.token_path is empty: make the token file once with schwab-py's login flow"
            )
        self._key, self._secret, self.token_path = app_key, app_secret, str(token_path)
        self._hash = (account_hash or "").strip() or None
        self.account_number = (account_number or "").strip() or None
        self.base_url = base_url.rstrip("/")
        c = canonical_host(self.base_url, what="execution.schwab.base_url")
        if c.host != API_HOST and c.host != "localhost" and not _is_ip(c.host):  # IPs: loopback only (canonical_host)
            raise ConfigError(
                f"execution.schwab.base_url: {c.host} is not {API_HOST}; "
                "only a loopback test server is accepted instead"
            )
        self.timeout = float(timeout)
        self.limiter = limiter
        self.max_429_retries, self.max_429_wait = max_429_retries, max_429_wait
        self._sleep = sleep
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self._client_obj = None
        self._intents: dict[str, Intent] = {}
        self._claimed: dict[str, str] = {}  # order id -> client order id
        self._not_ours: dict[str, set[str]] = {}  # client order id -> order ids resolved as not its
        self.stats = {"requests": 0, "retries_429": 0, "refreshes_401": 0}

    @classmethod
    def from_config(cls, cfg, *, for_orders: bool = True) -> SchwabBroker:
        """The adapter of ``execution.schwab``; ``for_orders=False`` (market data only, nothing
        can be sent through it) skips the refusal of ``paper: true``."""
        from xlexec.execution.ratelimit import RateLimiter, per_min

        s, ex = cfg.execution.schwab, cfg.execution
        if s.paper and for_orders:
            raise ConfigError(
                "execution.schwab.paper is true but Schwab has no paper trading: every order is real money; "
                "use broker: paper to rehearse, or set execution.schwab.paper: false to trade live"
            )
        rate = min(per_min(ex), RATE_LIMIT_PER_MIN)
        burst = rate if ex.rate_limit_burst is None else min(int(ex.rate_limit_burst), rate)
        return cls(
            s.app_key.get_secret_value(),
            s.app_secret.get_secret_value(),
            s.token_path or "",
            account_hash=s.account_hash.get_secret_value() or None,
            account_number=s.account_number,
            base_url=s.base_url,
            timeout=ex.request_timeout_seconds,
            limiter=RateLimiter(rate, burst=burst),
        )

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    def __repr__(self) -> str:
        return f"SchwabBroker(LIVE, {self.host})"

    def _client(self):
        if self._client_obj is None:
            from schwab.auth import client_from_token_file

            try:
                c = client_from_token_file(self.token_path, self._key, self._secret)
            except FileNotFoundError:
                raise ConfigError(
                    f"execution.schwab.token_path: {self.token_path} does not exist: make it once with "
                    "schwab-py's login flow (schwab.auth.client_from_login_flow)"
                ) from None
            except (ValueError, KeyError, TypeError):
                raise ConfigError(
                    f"execution.schwab.token_path: {self.token_path} is not a schwab-py token file"
                ) from None
            if urlsplit(self.base_url).hostname != API_HOST:
                c.session._transport = _HostTransport(self.base_url)  # httpx.Client's one transport
            c.set_timeout(self.timeout)
            self._client_obj = c
        return self._client_obj

    def _scrub(self, text) -> str:
        return scrub(text, self._key, self._secret)

    def _wait_429(self, resp, attempt: int) -> float:
        ra = resp.headers.get("Retry-After")
        try:
            wait = float(ra) if ra else 0.5 * (2**attempt)
        except ValueError:
            wait = 0.5 * (2**attempt)
        return min(max(wait, 0.05), self.max_429_wait)

    def _call(self, what: str, fn: Callable[[Any], Any], *, wire: bool = False, ok=(200,)):
        """``fn(client)`` -> the httpx response with a status in ``ok``; paced; 429 retried
        (bounded); one 401 refresh; everything else mapped to the interface's errors."""
        import httpx
        from authlib.integrations.base_client.errors import OAuthError
        from schwab.auth import TOKEN_ENDPOINT

        attempt, waited, refreshed = 0, 0.0, False
        while True:
            if self.limiter is not None:
                self.limiter.acquire()
            if wire:
                self.before_wire(what)
            self.stats["requests"] += 1
            client = self._client()
            try:
                resp = fn(client)
            except httpx.TimeoutException:
                raise BrokerUnavailable(f"{what}: no reply within {self.timeout:g} s (timeout)") from None
            except httpx.HTTPError as e:
                raise BrokerUnavailable(f"{what}: connection failed ({type(e).__name__})") from None
            except OAuthError as e:
                raise OrderRejected(
                    f"{what}: token refresh refused ({self._scrub(e)}): run the login flow again", 401
                ) from None
            code = resp.status_code
            if code in ok:
                return resp
            if code == 429:
                wait = self._wait_429(resp, attempt)
                if attempt < self.max_429_retries and waited + wait <= self.max_429_wait:
                    attempt += 1
                    waited += wait
                    self.stats["retries_429"] += 1
                    if self.limiter is not None:
                        self.limiter.hold_off(wait)
                    else:
                        self._sleep(wait)
                    continue
                raise BrokerUnavailable(f"{what}: rate limited (HTTP 429) after {attempt} retries ({waited:.1f} s)")
            if code == 401 and not refreshed:
                refreshed = True
                self.stats["refreshes_401"] += 1
                try:
                    client.session.refresh_token(TOKEN_ENDPOINT)
                except httpx.HTTPError as e:
                    raise BrokerUnavailable(f"{what}: token refresh failed ({type(e).__name__})") from None
                except OAuthError as e:
                    raise OrderRejected(
                        f"{what}: token refresh refused ({self._scrub(e)}): run the login flow again", 401
                    ) from None
                continue
            msg = self._scrub(resp.text or "")
            if code >= 500:
                raise BrokerUnavailable(f"{what}: broker error HTTP {code}: {msg}")
            if code == 401:
                raise OrderRejected(f"{what}: authentication failed (HTTP 401) after a token refresh: {msg}", 401)
            raise OrderRejected(f"{what}: {msg} (HTTP {code})", code)

    def _json(self, what: str, resp) -> Any:
        try:
            return resp.json()
        except ValueError:
            raise BrokerUnavailable(f"{what}: malformed reply from the broker (not JSON)") from None

    @property
    def account_hash(self) -> str:
        """The account's hash (``execution.schwab.account_hash``, else looked up from its number)."""
        if self._hash is None:
            rows = self._json("account numbers", self._call("account numbers", lambda c: c.get_account_numbers()))
            if not isinstance(rows, list):
                raise BrokerUnavailable("account numbers: malformed reply from the broker (not a list)")
            want = self.account_number
            hits = [r for r in rows if isinstance(r, dict) and (want is None or str(r.get("accountNumber")) == want)]
            if len(hits) != 1:
                raise ConfigError(
                    "execution.schwab: set account_number (or account_hash): the token reaches "
                    f"{len(rows)} account(s) and {len(hits)} fit"
                )
            self._hash = str(hits[0]["hashValue"])
        return self._hash

    # -- Broker interface -------------------------------------------------------------------
    def _spec(self, req: OrderRequest) -> dict:
        from schwab.orders import equities as E

        if req.side not in ("buy", "sell"):
            raise OrderRejected(f"side {req.side!r} is not supported by the adapter")
        if (req.time_in_force or "day") != "day":
            raise OrderRejected(f"time in force {req.time_in_force!r}: the adapter sends DAY orders only")
        if req.order_type == "market":
            b = (E.equity_buy_market if req.side == "buy" else E.equity_sell_market)(
                schwab_symbol(req.symbol), int(req.qty)
            )
        elif req.order_type == "limit":
            if req.limit_price is None:
                raise OrderRejected("limit order without a limit price: not sent")
            f = E.equity_buy_limit if req.side == "buy" else E.equity_sell_limit
            b = f(
                schwab_symbol(req.symbol),
                int(req.qty),
                f"{float(req.limit_price):.2f}" if req.limit_price >= 1 else f"{req.limit_price:.4f}",
            )
        else:
            raise OrderRejected(f"order type {req.order_type!r} is not supported by the adapter")
        return b.build()

    def remember_intent(
        self, client_order_id: str, intent: Intent | dict, order_id: str | None = None, not_ours=()
    ) -> None:
        """The intent of ``client_order_id`` journaled earlier (an :class:`Intent`, or the
        journal's INTENT payload: symbol, side, qty shares, limit_price $/share or None,
        order_type, submitted_at ISO) for :meth:`get_order_by_client_id`; ``order_id``: the
        broker's id journaled for it, if any (then it is never matched to another intent);
        ``not_ours``: broker order ids the operator said are not this intent's (never matched to it)."""
        if isinstance(intent, dict):
            t = dt.datetime.fromisoformat(str(intent["submitted_at"]).replace("Z", "+00:00"))
            market = intent.get("order_type") == "market"
            intent = Intent(
                str(intent["symbol"]),
                str(intent["side"]),
                int(round(float(intent["qty"]))),
                None if market or intent.get("limit_price") is None else float(intent["limit_price"]),
                t if t.tzinfo else t.replace(tzinfo=dt.UTC),
            )
        self._intents[client_order_id] = intent
        if not_ours:
            self._not_ours[client_order_id] = {str(i) for i in not_ours}
        if order_id:
            self._claimed[str(order_id)] = client_order_id

    def submit_order(self, req: OrderRequest) -> Order:
        spec = self._spec(req)
        h = self.account_hash
        coid = req.client_order_id
        if coid and coid not in self._intents:
            self._intents[coid] = Intent(req.symbol, req.side, int(req.qty), req.limit_price, self._now())
        what = f"submit {coid}"
        resp = self._call(what, lambda c: c.place_order(h, spec), wire=True, ok=(200, 201))
        loc = resp.headers.get("Location") or ""
        m = _LOCATION.search(urlsplit(loc).path)
        if m is None or m.group(1) != h:
            raise BrokerUnavailable(
                f"{what}: the broker's reply has no order Location ({loc[:120]!r}): outcome unknown"
            )
        oid = m.group(2)
        self._claimed[oid] = coid
        return self.get_order(oid)

    def get_order(self, order_id: str) -> Order:
        what = f"get order {order_id}"
        o = self._json(what, self._call(what, lambda c: c.get_order(order_id, self.account_hash)))
        return order_from_schwab(o, self._claimed.get(str(order_id), ""))

    def get_order_by_client_id(self, client_order_id: str) -> Order | None:
        """The order matching the intent of ``client_order_id`` (see the module docstring);
        None when there is none; :class:`AmbiguousOrderMatch` when several fit."""
        for oid, coid in self._claimed.items():
            if coid == client_order_id:
                return self.get_order(oid)
        it = self._intents.get(client_order_id)
        if it is None:
            raise NotSupported(
                f"lookup {client_order_id}: Schwab orders carry no client order id and no intent of it is "
                "known to this run: find it by its fields in the account's orders (operator)"
            )
        orders = self.list_orders("all", after=(it.entered_at - dt.timedelta(seconds=60)).isoformat())
        kind, got = match_intent(orders, it, claimed={*self._claimed, *self._not_ours.get(client_order_id, ())})
        if kind == "none":
            return None
        if kind == "ambiguous":
            assert isinstance(got, list)
            ids = [o.id for o in got]
            raise AmbiguousOrderMatch(
                f"lookup {client_order_id}: {len(ids)} Schwab orders fit ({', '.join(ids)}: {it.symbol} {it.side} "
                f"{it.qty} @ {it.limit_price if it.limit_price is not None else 'market'}): which one is ours cannot "
                "be told; not resent: resolve by hand",
                ids,
            )
        assert isinstance(got, Order)
        self._claimed[got.id] = client_order_id
        got.client_order_id = client_order_id
        return got

    def list_orders(self, status: str = "all", after: str | None = None) -> list[Order]:
        """Orders entered after ``after`` (ISO; default: 24 h ago) until now; ``status``: all|open|closed."""
        now = self._now()
        lo = dt.datetime.fromisoformat(after.replace("Z", "+00:00")) if after else now - dt.timedelta(days=1)
        if lo.tzinfo is None:
            lo = lo.replace(tzinfo=dt.UTC)
        hi = now + dt.timedelta(minutes=5)
        h = self.account_hash
        rows = self._json(
            "list orders",
            self._call(
                "list orders",
                lambda c: c.get_orders_for_account(h, from_entered_datetime=lo, to_entered_datetime=hi),
            ),
        )
        if not isinstance(rows, list):
            raise BrokerUnavailable("list orders: malformed reply from the broker (not a list)")
        out = [order_from_schwab(o, self._claimed.get(str(o.get("orderId")), "")) for o in rows]
        if status == "open":
            return [o for o in out if o.is_open]
        if status == "closed":
            return [o for o in out if not o.is_open]
        return out

    def replace_order(self, order_id: str, *, limit_price: float, client_order_id: str) -> Order:
        """Move an open limit order to ``limit_price``: the shares still unfilled go on a new DAY
        limit (``PUT .../orders/{order_id}``, a full spec; the 201's ``Location`` names the new
        order, the old one reads ``replaced``). Exactly once: a replacement already at Schwab
        under ``client_order_id`` (found by its remembered fields) is returned and nothing is
        sent; the replacement's intent (symbol, side, remaining shares, new limit, now) is
        remembered before the request. The old order final (filled, canceled, ...) or filled
        before the PUT landed -> :class:`OrderRejected` 422 "order is filled: it cannot be
        replaced" (as Alpaca answers; nothing sent or created); outcome unknown (5xx, lost 201,
        no ``Location``) -> :class:`BrokerUnavailable` (then look it up by client order id)."""
        what = f"replace {order_id}"
        coid = client_order_id
        if coid in self._intents or coid in self._claimed.values():
            there = self.get_order_by_client_id(coid)
            if there is not None:  # replaced by an earlier call (its reply lost): never twice
                return there
        old = self.get_order(order_id)
        if not old.is_open:
            raise OrderRejected(f"{what}: order is {old.status}: it cannot be replaced", 422)
        if old.order_type != "limit":
            raise OrderRejected(f"{what}: a {old.order_type} order has no limit to move", 422)
        left = int(round(old.qty - float(old.filled_qty or 0)))
        if left <= 0:
            raise OrderRejected(f"{what}: order is filled: it cannot be replaced", 422)
        req = OrderRequest(old.symbol, old.side, left, "limit", float(limit_price), "day", coid)
        spec = self._spec(req)
        h = self.account_hash
        was = self._intents.get(coid)
        now = self._now()
        self._intents[coid] = Intent(
            old.symbol, old.side, left, float(limit_price), min(was.entered_at, now) if was else now
        )
        try:
            resp = self._call(what, lambda c: c.replace_order(h, order_id, spec), wire=True, ok=(200, 201))
        except OrderRejected as e:
            now_status = None
            if e.status_code in (400, 422):
                with contextlib.suppress(BrokerFault):
                    now_status = self.get_order(order_id).status
            if now_status == "filled":
                raise OrderRejected(
                    f"{what}: order is filled: it cannot be replaced (it filled before the replace; {e})", 422
                ) from None
            raise
        loc = resp.headers.get("Location") or ""
        m = _LOCATION.search(urlsplit(loc).path)
        if m is None or m.group(1) != h:
            raise BrokerUnavailable(
                f"{what}: the broker's reply has no order Location ({loc[:120]!r}): outcome unknown"
            )
        oid = m.group(2)
        self._claimed[oid] = coid
        return self.get_order(oid)

    def cancel_order(self, order_id: str) -> None:
        self._call(f"cancel {order_id}", lambda c: c.cancel_order(order_id, self.account_hash), ok=(200, 204))

    def cancel_all(self) -> list[str]:
        """Lists the working orders (last 24 h), cancels each, then reads each back: the ids now
        canceled (or pending cancel). A failed cancel leaves that id out (the caller reports it)."""
        done = []
        for o in self.list_orders("open"):
            try:
                self.cancel_order(o.id)
            except OrderRejected:
                continue
            if self.get_order(o.id).status in ("canceled", "pending_cancel"):
                done.append(o.id)
        return done

    def _account_json(self, what: str, positions: bool) -> dict:
        h = self.account_hash
        r = self._json(
            what,
            self._call(what, lambda c: c.get_account(h, fields=[c.Account.Fields.POSITIONS] if positions else None)),
        )
        acct = r.get("securitiesAccount") if isinstance(r, dict) else None
        if not isinstance(acct, dict):
            raise BrokerUnavailable(f"{what}: malformed reply from the broker (no securitiesAccount)")
        return acct

    def positions(self) -> list[Position]:
        acct = self._account_json("positions", True)
        out = []
        try:
            for p in acct.get("positions") or []:
                qty = float(p.get("longQuantity") or 0) - float(p.get("shortQuantity") or 0)
                mv = p.get("marketValue")
                out.append(
                    Position(
                        symbol=str(p["instrument"]["symbol"]),
                        qty=qty,
                        avg_entry_price=float(p["averagePrice"]),
                        current_price=float(mv) / qty if mv is not None and qty else None,
                        market_value=float(mv) if mv is not None else None,
                    )
                )
        except (KeyError, TypeError, ValueError) as e:
            raise BrokerUnavailable(f"positions: malformed reply from the broker ({type(e).__name__})") from None
        return out

    def account(self) -> Account:
        acct = self._account_json("account", False)
        try:
            b = acct["currentBalances"]
            return Account(
                cash=float(b["cashBalance"]),
                buying_power=float(b.get("buyingPower") or 0),
                portfolio_value=float(b.get("liquidationValue") or 0),
                status="ACTIVE",
                currency="USD",
                trading_blocked=bool(acct.get("isClosingOnlyRestricted")),
                account_number=str(acct.get("accountNumber") or ""),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise BrokerUnavailable(f"account: malformed reply from the broker ({type(e).__name__})") from None

    def clock(self) -> MarketClock:
        now = self._now()
        r = self._json("clock", self._call("clock", lambda c: c.get_market_hours([c.MarketHours.Market.EQUITY])))
        try:
            eq = next(iter(r["equity"].values()))
            sess = (eq.get("sessionHours") or {}).get("regularMarket") or []
            start = dt.datetime.fromisoformat(sess[0]["start"]) if sess else None
            end = dt.datetime.fromisoformat(sess[0]["end"]) if sess else None
        except (KeyError, TypeError, ValueError, StopIteration, AttributeError) as e:
            raise BrokerUnavailable(f"clock: malformed reply from the broker ({type(e).__name__})") from None
        is_open = bool(eq.get("isOpen")) and start is not None and end is not None and start <= now < end
        return MarketClock(
            timestamp=now.isoformat(),
            is_open=is_open,
            next_open=start.isoformat() if start is not None and now < start else None,
            next_close=end.isoformat() if end is not None and now < end else None,
        )

    def fills(self, day: str) -> list[Fill]:
        """Every TRADE transaction of ``day`` (New York calendar day), one request."""
        d = dt.date.fromisoformat(day)
        lo = dt.datetime.combine(d, dt.time(0, 0), NY).astimezone(dt.UTC)
        hi = dt.datetime.combine(d, dt.time(23, 59, 59), NY).astimezone(dt.UTC)
        h = self.account_hash
        what = f"fills {day}"
        rows = self._json(
            what,
            self._call(
                what,
                lambda c: c.get_transactions(
                    h, start_date=lo, end_date=hi, transaction_types=[c.Transactions.TransactionType.TRADE]
                ),
            ),
        )
        if not isinstance(rows, list):
            raise BrokerUnavailable(f"{what}: malformed reply from the broker (not a list)")
        out, seen = [], set()
        for t in rows:
            f = fill_from_transaction(t)
            if f is not None and f.id not in seen:
                seen.add(f.id)
                out.append(f)
        return out

    def quotes(self, symbols: list[str]) -> list[dict]:
        """The latest quote of each of ``symbols`` (our spelling), one request
        (``GET /marketdata/v1/quotes?symbols=...&fields=quote``): rows ``symbol`` (ours), ``bid``,
        ``ask``, ``last`` ($/share, None when Schwab gives none or zero), ``timestamp`` (UTC, the
        ``quoteTime``, else the ``tradeTime``). A symbol Schwab does not answer for, or answers
        with an error object / no price at all, is left out: never a stale or zero quote."""
        if not symbols:
            return []
        spelled = {schwab_symbol(s): s for s in symbols}
        r = self._json(
            "quotes", self._call("quotes", lambda c: c.get_quotes(list(spelled), fields=[c.Quote.Fields.QUOTE]))
        )
        if not isinstance(r, dict):
            raise BrokerUnavailable("quotes: malformed reply from the broker (not an object)")
        out = []
        for key, ours in spelled.items():
            q = (r.get(key) or {}).get("quote") if isinstance(r.get(key), dict) else None
            if not isinstance(q, dict):
                continue
            bid, ask, last = _price(q.get("bidPrice")), _price(q.get("askPrice")), _price(q.get("lastPrice"))
            if bid is None and ask is None and last is None:
                continue
            ts = _epoch_ms(q.get("quoteTime")) or _epoch_ms(q.get("tradeTime"))
            out.append({"symbol": ours, "bid": bid, "ask": ask, "last": last, "timestamp": ts})
        return out

    def close(self) -> None:
        if self._client_obj is not None:
            self._client_obj.session.close()
