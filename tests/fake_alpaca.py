"""A loopback fake of the Alpaca trading REST API, for driving the *real* alpaca-py client.

Speaks the endpoints xlexec uses, with the JSON shapes alpaca-py's models parse:

* ``POST /v2/orders`` (``client_order_id`` unique: a second one gets 422 "client_order_id must
  be unique", as Alpaca does), ``GET /v2/orders`` (status/limit/after/until/direction),
  ``GET /v2/orders/{id}``, ``GET /v2/orders:by_client_order_id`` (404 when absent),
  ``DELETE /v2/orders/{id}``, ``DELETE /v2/orders`` (207 multi-status, one request cancels all)
* ``GET /v2/positions``, ``GET /v2/account`` (``account_number``: paper ``PA...`` by default, or
  any chosen one, e.g. :data:`LIVE_ACCOUNT`), ``GET /v2/clock``
* ``GET /v2/account/activities/FILL?date=&page_size=&page_token=&direction=`` (paginated), each
  record in the Trading API's documented shape (no ``account_id``; ``order_status`` absent from
  the first record), not the Broker API's

Faults (:meth:`FakeAlpaca.inject`, matched by method + path prefix, consumed ``times`` times):
``429`` (``retry_after=`` seconds or ``None``; ``reset_in=`` adds ``X-RateLimit-Reset``),
``500``, ``503``, ``lost`` (the request is processed, e.g. the order created, then the connection
is dropped with no reply), ``hang`` (no reply for ``seconds``, then dropped; ``after_create=True``
processes it first), ``reset`` (TCP RST, nothing processed), ``malformed`` (processed, reply is
broken JSON), ``dup422`` (422 duplicate without creating), ``reject`` (422 with ``message``).
Also: ``latency`` (seconds added to every request), ``rate_limit_per_min`` (sliding 60 s window,
429 beyond it, with or without ``Retry-After``), fills on creation (``fill_mode``: ``none``,
``fill``, or a fraction for partial fills; per symbol in ``fill_modes``), :meth:`fill` for later
(partial) fills.

Runs on 127.0.0.1, port 0, in daemon threads, and stops itself after ``max_lifetime`` seconds.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import struct
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

NY = ZoneInfo("America/New_York")
ACCOUNT_ID = "11111111-2222-3333-4444-555555555555"
PAPER_ACCOUNT = "PA0000001"  # what a paper account reports by default
LIVE_ACCOUNT = "612345678"  # a live-looking account number (no PA prefix)
OPEN = {"new", "accepted", "pending_new", "partially_filled", "pending_cancel"}


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _num(x) -> str | None:
    if x is None:
        return None
    x = float(x)
    return str(int(x)) if x.is_integer() else repr(x)


class _Drop(Exception):
    """Close the connection without a reply."""

    def __init__(self, rst: bool = False):
        self.rst = rst


class FakeAlpaca:
    def __init__(
        self,
        *,
        latency: float = 0.0,
        rate_limit_per_min: int | None = None,
        rate_limit_retry_after: bool = True,
        fill_mode: str | float = "none",
        fill_modes: dict | None = None,
        prices: dict | None = None,
        is_open: bool = True,
        buying_power: float = 1_000_000.0,
        cash: float | None = None,
        positions: dict | None = None,
        max_lifetime: float = 120.0,
        now: dt.datetime | None = None,
        sticky_cancel: set | None = None,
        account_number: str = PAPER_ACCOUNT,
    ):
        self.latency = latency
        self.rate_limit_per_min = rate_limit_per_min
        self.rate_limit_retry_after = rate_limit_retry_after
        self.fill_mode = fill_mode
        self.fill_modes = dict(fill_modes or {})
        self.prices = dict(prices or {})
        self.is_open = is_open
        self.buying_power = buying_power
        self.cash = buying_power if cash is None else cash
        self.max_lifetime = max_lifetime
        self.fixed_now = now
        self.sticky_cancel = set(sticky_cancel or ())  # symbols whose cancel leaves them open
        self.account_number = account_number  # GET /v2/account reports it (may be changed between runs)
        self.positions: dict[str, dict] = {}
        for sym, (qty, avg) in (positions or {}).items():
            self.positions[sym] = {"qty": float(qty), "avg": float(avg)}
        self.orders: dict[str, dict] = {}  # id -> order json
        self.by_coid: dict[str, str] = {}  # client_order_id -> id
        self.activities: list[dict] = []
        self.faults: list[dict] = []
        self.log: list[dict] = []  # every request: method, path, status, fault
        self._window: deque[float] = deque()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._seq = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> FakeAlpaca:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        srv = _Server(("127.0.0.1", 0), Handler)
        srv.daemon_threads = True
        srv.block_on_close = False
        self._server = srv
        self._thread = threading.Thread(
            target=srv.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-alpaca", daemon=True
        )
        self._thread.start()
        self._timer = threading.Timer(self.max_lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.cancel()
        srv, self._server = self._server, None
        if srv is not None:
            srv.shutdown()
            srv.server_close()

    def __enter__(self) -> FakeAlpaca:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- test helpers -----------------------------------------------------------------------
    def inject(self, kind: str, *, method: str = "POST", path: str = "/v2/orders", times: int = 1, **params) -> None:
        with self._lock:
            self.faults.append(
                {"kind": str(kind), "method": method.upper(), "path": path, "remaining": times, **params}
            )

    def now(self) -> dt.datetime:
        return self.fixed_now or dt.datetime.now(dt.UTC)

    def order_count(self, coid: str | None = None) -> int:
        with self._lock:
            if coid is None:
                return len(self.orders)
            return sum(1 for o in self.orders.values() if o["client_order_id"] == coid)

    def requests(self, method: str | None = None, path: str | None = None) -> list[dict]:
        with self._lock:
            return [
                r for r in self.log if (method is None or r["method"] == method) and (path is None or r["path"] == path)
            ]

    def seed_order(
        self, coid: str, symbol: str, side: str, qty: float, limit_price: float | None = None, status: str = "new"
    ) -> dict:
        """Put an order at the broker directly (as if sent by an earlier run)."""
        with self._lock:
            o = self._create(
                {
                    "symbol": symbol,
                    "side": side,
                    "qty": str(qty),
                    "type": "limit" if limit_price else "market",
                    "time_in_force": "day",
                    "limit_price": limit_price,
                    "client_order_id": coid,
                },
                fill=False,
            )
            o["status"] = status
            return o

    def fill(self, coid: str, qty: float, price: float, when: dt.datetime | None = None) -> dict:
        """Execute ``qty`` shares of the order at ``price`` (one FILL activity)."""
        with self._lock:
            o = self.orders[self.by_coid[coid]]
            return self._fill(o, qty, price, when)

    def add_fill_activities(self, n: int, day: str, symbol: str = "SPY") -> None:
        """``n`` standalone fill activities dated ``day`` (pagination tests)."""
        base = dt.datetime.fromisoformat(day + "T14:00:00+00:00")
        with self._lock:
            for i in range(n):
                o = self._create(
                    {
                        "symbol": symbol,
                        "side": "buy",
                        "qty": "1",
                        "type": "market",
                        "time_in_force": "day",
                        "client_order_id": f"pg-{day}-{i}",
                    },
                    fill=False,
                )
                self._fill(o, 1, 10.0 + i / 100, base + dt.timedelta(seconds=i))

    # -- state ------------------------------------------------------------------------------
    def _create(self, body: dict, fill: bool = True) -> dict:
        t = self.now()
        last = getattr(self, "_last_t", None)
        if last is not None and t <= last:
            t = last + dt.timedelta(microseconds=1)  # strictly increasing submitted_at
        self._last_t = t
        self._seq += 1
        oid = str(uuid.UUID(int=self._seq))
        typ = body.get("type") or body.get("order_type") or "market"
        o = {
            "id": oid,
            "client_order_id": body.get("client_order_id") or str(uuid.uuid4()),
            "created_at": _iso(t),
            "updated_at": _iso(t),
            "submitted_at": _iso(t),
            "filled_at": None,
            "expired_at": None,
            "canceled_at": None,
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, body["symbol"])),
            "symbol": body["symbol"],
            "asset_class": "us_equity",
            "notional": None,
            "qty": _num(body.get("qty")),
            "filled_qty": "0",
            "filled_avg_price": None,
            "order_class": "simple",
            "order_type": typ,
            "type": typ,
            "side": body["side"],
            "time_in_force": body.get("time_in_force", "day"),
            "limit_price": _num(body.get("limit_price")),
            "stop_price": None,
            "status": "new",
            "extended_hours": False,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
            "_seq": self._seq,
        }
        self.orders[oid] = o
        self.by_coid[o["client_order_id"]] = oid
        if fill:
            mode = self.fill_modes.get(o["symbol"], self.fill_mode)
            px = float(o["limit_price"] or self.prices.get(o["symbol"], 100.0))
            qty = float(o["qty"])
            if mode == "fill":
                self._fill(o, qty, px)
            elif isinstance(mode, (int, float)) and not isinstance(mode, bool) and mode > 0:
                self._fill(o, max(1.0, float(int(qty * mode))), px)
        return o

    def _fill(self, o: dict, qty: float, price: float, when: dt.datetime | None = None) -> dict:
        t = when or self.now()
        done = float(o["filled_qty"])
        qty = min(float(qty), float(o["qty"]) - done)
        avg = float(o["filled_avg_price"] or 0.0)
        cum = done + qty
        o["filled_avg_price"] = _num(round((avg * done + price * qty) / cum, 6))
        o["filled_qty"] = _num(cum)
        full = cum >= float(o["qty"])
        o["status"] = "filled" if full else "partially_filled"
        o["updated_at"] = _iso(t)
        if full:
            o["filled_at"] = _iso(t)
        sign = 1 if o["side"] == "buy" else -1
        p = self.positions.setdefault(o["symbol"], {"qty": 0.0, "avg": 0.0})
        new_qty = p["qty"] + sign * qty
        if sign > 0 and new_qty != 0:
            p["avg"] = (p["qty"] * p["avg"] + qty * price) / new_qty if p["qty"] > 0 else price
        p["qty"] = new_qty
        self.cash -= sign * qty * price
        self.buying_power -= sign * qty * price
        # The Trading API's documented FILL record, field for field (docs.alpaca.markets/us/docs/
        # account-activities, "Sample TradeActivity"): no ``account_id`` (a Broker-API field); the
        # ``order_status`` some replies add is left out of the first record, as the sample has none.
        act = {
            "activity_type": "FILL",
            "cum_qty": _num(cum),
            "id": f"{t.strftime('%Y%m%d%H%M%S%f')[:17]}::{uuid.UUID(int=len(self.activities) + 1)}",
            "leaves_qty": _num(float(o["qty"]) - cum),
            "price": _num(price),
            "qty": _num(qty),
            "side": o["side"],
            "symbol": o["symbol"],
            "transaction_time": _iso(t),
            "order_id": o["id"],
            "type": "fill" if full else "partial_fill",
            "_day": t.astimezone(NY).date().isoformat(),
        }
        if self.activities:
            act["order_status"] = o["status"]
        self.activities.append(act)
        return act

    def _public(self, o: dict) -> dict:
        return {k: v for k, v in o.items() if not k.startswith("_")}

    # -- request handling (called by the handler thread) --------------------------------------
    def _take_fault(self, method: str, path: str) -> dict | None:
        with self._lock:
            for f in self.faults:
                if f["remaining"] > 0 and f["method"] == method and path.startswith(f["path"]):
                    f["remaining"] -= 1
                    return dict(f)
        return None

    def _rate_limited(self) -> tuple[int, dict, dict] | None:
        if not self.rate_limit_per_min:
            return None
        with self._lock:
            now = time.monotonic()
            while self._window and self._window[0] <= now - 60.0:
                self._window.popleft()
            if len(self._window) >= self.rate_limit_per_min:
                wait = max(0.0, self._window[0] + 60.0 - now)
                headers = {
                    "X-RateLimit-Limit": str(self.rate_limit_per_min),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(int(time.time() + wait) + 1),
                }
                if self.rate_limit_retry_after:
                    headers["Retry-After"] = str(max(1, int(wait + 0.999)))
                return 429, {"code": 42910000, "message": "rate limit exceeded"}, headers
            self._window.append(now)
        return None

    def handle(self, method: str, path: str, query: dict, body: dict | None):
        """Returns (status, json-able or raw str, headers). May raise _Drop."""
        received = time.monotonic()  # when the request arrived (before the added latency)
        if self.latency:
            self._stop.wait(self.latency)
        fault = self._take_fault(method, path)
        entry = {"method": method, "path": path, "fault": fault["kind"] if fault else None, "received": received}
        with self._lock:
            self.log.append(entry)
        rl = self._rate_limited()
        if rl is not None:
            entry["status"] = 429
            return rl
        if fault:
            k = fault["kind"]
            if k == "429":
                h = {}
                if fault.get("retry_after") is not None:
                    h["Retry-After"] = str(fault["retry_after"])
                if fault.get("reset_in") is not None:
                    h["X-RateLimit-Reset"] = str(int(time.time() + float(fault["reset_in"])))
                entry["status"] = 429
                return 429, {"code": 42910000, "message": "rate limit exceeded"}, h
            if k in ("500", "503"):
                if fault.get("after_create"):
                    self._route(method, path, query, body)
                entry["status"] = int(k)
                return int(k), {"code": int(k) * 100000, "message": "internal error"}, {}
            if k == "reset":
                raise _Drop(rst=True)
            if k == "lost":
                self._route(method, path, query, body)
                raise _Drop()
            if k == "hang":
                if fault.get("after_create"):
                    self._route(method, path, query, body)
                self._stop.wait(float(fault.get("seconds", 3.0)))
                raise _Drop()
            if k == "malformed":
                self._route(method, path, query, body)
                entry["status"] = 200
                return 200, '{"id": "0000-garbled', {}
            if k == "dup422":
                entry["status"] = 422
                return 422, {"code": 40010001, "message": "client_order_id must be unique"}, {}
            if k == "reject":
                entry["status"] = int(fault.get("status", 422))
                return entry["status"], {"code": 40310000, "message": fault.get("message", "rejected")}, {}
        status, payload = self._route(method, path, query, body)
        entry["status"] = status
        return status, payload, {}

    def _route(self, method: str, path: str, q: dict, body: dict | None):
        with self._lock:
            if path == "/v2/orders" and method == "POST":
                b = body or {}
                coid = b.get("client_order_id")
                if coid and coid in self.by_coid:
                    return 422, {"code": 40010001, "message": "client_order_id must be unique"}
                for f in ("symbol", "qty", "side", "type", "time_in_force"):
                    if f not in b:
                        return 422, {"code": 40010000, "message": f"{f} is required"}
                return 200, self._public(self._create(b))
            if path == "/v2/orders" and method == "GET":
                return 200, self._list(q)
            if path == "/v2/orders" and method == "DELETE":
                out = []
                for o in sorted(self.orders.values(), key=lambda o: o["_seq"]):
                    if o["status"] in OPEN:
                        if o["symbol"] in self.sticky_cancel:
                            o["status"] = "pending_cancel"
                        else:
                            o["status"] = "canceled"
                            o["canceled_at"] = o["updated_at"] = _iso(self.now())
                        out.append({"id": o["id"], "status": 200, "body": self._public(o)})
                return 207, out
            if path == "/v2/orders:by_client_order_id" and method == "GET":
                coid = q.get("client_order_id", "")
                oid = self.by_coid.get(coid)
                if oid is None:
                    return 404, {"code": 40410000, "message": "order not found"}
                return 200, self._public(self.orders[oid])
            if path.startswith("/v2/orders/"):
                oid = path.rsplit("/", 1)[1]
                o = self.orders.get(oid)
                if o is None:
                    return 404, {"code": 40410000, "message": "order not found"}
                if method == "GET":
                    return 200, self._public(o)
                if method == "PATCH":  # replace: the remaining qty on a new order
                    b = body or {}
                    if o["status"] not in OPEN or o["status"] == "pending_cancel":
                        return 422, {"code": 42210000, "message": "order is not replaceable"}
                    coid = b.get("client_order_id")
                    if coid and coid in self.by_coid:
                        return 422, {"code": 40010001, "message": "client_order_id must be unique"}
                    remaining = float(o["qty"]) - float(o["filled_qty"])
                    new = self._create(
                        {
                            "symbol": o["symbol"],
                            "side": o["side"],
                            "qty": b.get("qty") or remaining,
                            "type": o["type"],
                            "time_in_force": b.get("time_in_force") or o["time_in_force"],
                            "limit_price": b.get("limit_price") or o["limit_price"],
                            "client_order_id": coid,
                        }
                    )
                    o["status"] = "replaced"
                    o["replaced_at"] = o["updated_at"] = _iso(self.now())
                    o["replaced_by"] = new["id"]
                    new["replaces"] = o["id"]
                    return 200, self._public(new)
                if method == "DELETE":
                    if o["status"] not in OPEN or o["status"] == "pending_cancel":
                        return 422, {"code": 42210000, "message": "order is not cancelable"}
                    o["status"] = "canceled"
                    o["canceled_at"] = o["updated_at"] = _iso(self.now())
                    return 204, ""
            if path == "/v2/positions" and method == "GET":
                return 200, [self._position(s, p) for s, p in sorted(self.positions.items()) if p["qty"]]
            if path == "/v2/account" and method == "GET":
                mv = sum(p["qty"] * self.prices.get(s, p["avg"]) for s, p in self.positions.items())
                return 200, {
                    "id": ACCOUNT_ID,
                    "account_number": self.account_number,
                    "status": "ACTIVE",
                    "currency": "USD",
                    "buying_power": _num(round(self.buying_power, 2)),
                    "cash": _num(round(self.cash, 2)),
                    "portfolio_value": _num(round(self.cash + mv, 2)),
                    "trading_blocked": False,
                    "account_blocked": False,
                    "pattern_day_trader": False,
                    "shorting_enabled": False,
                }
            if path == "/v2/clock" and method == "GET":
                t = self.now()
                return 200, {
                    "timestamp": _iso(t),
                    "is_open": self.is_open,
                    "next_open": _iso(t + dt.timedelta(hours=18)),
                    "next_close": _iso(t + dt.timedelta(hours=2)),
                }
            if path == "/v2/account/activities/FILL" and method == "GET":
                return 200, self._activities(q)
        return 404, {"code": 40400000, "message": f"no route {method} {path}"}

    def _position(self, sym: str, p: dict) -> dict:
        px = self.prices.get(sym, p["avg"])
        return {
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, sym)),
            "symbol": sym,
            "exchange": "NASDAQ",
            "asset_class": "us_equity",
            "avg_entry_price": _num(round(p["avg"], 4)),
            "qty": _num(p["qty"]),
            "side": "long" if p["qty"] > 0 else "short",
            "market_value": _num(round(p["qty"] * px, 2)),
            "cost_basis": _num(round(p["qty"] * p["avg"], 2)),
            "current_price": _num(px),
            "lastday_price": _num(px),
            "change_today": "0",
            "unrealized_pl": _num(round(p["qty"] * (px - p["avg"]), 2)),
        }

    def _list(self, q: dict) -> list[dict]:
        status = q.get("status", "open")
        limit = min(int(q.get("limit", 50)), 500)
        rows = sorted(self.orders.values(), key=lambda o: (o["submitted_at"], o["_seq"]))
        if status == "open":
            rows = [o for o in rows if o["status"] in OPEN]
        elif status == "closed":
            rows = [o for o in rows if o["status"] not in OPEN]
        if q.get("after"):
            a = dt.datetime.fromisoformat(q["after"].replace("Z", "+00:00"))
            rows = [o for o in rows if dt.datetime.fromisoformat(o["submitted_at"].replace("Z", "+00:00")) > a]
        if q.get("until"):
            u = dt.datetime.fromisoformat(q["until"].replace("Z", "+00:00"))
            rows = [o for o in rows if dt.datetime.fromisoformat(o["submitted_at"].replace("Z", "+00:00")) <= u]
        if q.get("direction", "desc") == "desc":
            rows = rows[::-1]
        return [self._public(o) for o in rows[:limit]]

    def _activities(self, q: dict) -> list[dict]:
        # as docs.alpaca.markets/us/reference/getaccountactivitiesbytype describes: ``date``, or
        # ``after`` / ``until`` (timestamps); ``direction`` (default desc); ``page_size``: default
        # and maximum 100 without ``date``, no maximum with it; ``page_token`` = the last id seen
        def when(x: str) -> dt.datetime:
            return dt.datetime.fromisoformat(x.replace("Z", "+00:00"))

        rows = [a for a in self.activities if not q.get("date") or a["_day"] == q["date"]]
        if q.get("after"):
            rows = [a for a in rows if when(a["transaction_time"]) > when(q["after"])]
        if q.get("until"):
            rows = [a for a in rows if when(a["transaction_time"]) < when(q["until"])]
        rows.sort(key=lambda a: a["id"], reverse=q.get("direction", "desc") == "desc")
        size = int(q.get("page_size", 0)) or (len(rows) if q.get("date") else 100)
        if not q.get("date"):
            size = min(size, 100)
        tok = q.get("page_token")
        if tok:
            ids = [a["id"] for a in rows]
            rows = rows[ids.index(tok) + 1 :] if tok in ids else []
        return [{k: v for k, v in a.items() if not k.startswith("_")} for a in rows[:size]]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address) -> None:  # dropped connections are expected
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # the headers and the body are two writes: with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms a request), which no real broker adds; ``latency`` is the only delay
    disable_nagle_algorithm = True
    server_fake: FakeAlpaca
    timeout = 30

    def log_message(self, *args) -> None:  # quiet
        pass

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        try:
            status, payload, headers = self.server_fake.handle(method, parts.path, query, body)
        except _Drop as d:
            self.close_connection = True
            try:
                if d.rst:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                else:
                    self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.connection.close()
            return
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        if status == 204:
            data = b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if data:
            self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PATCH(self) -> None:
        self._serve("PATCH")


def serve_forever_in_process(**kw) -> None:  # pragma: no cover - manual use
    """``python -m tests.fake_alpaca``: run a server and print its URL."""
    with FakeAlpaca(**kw) as f:
        print(f.url, flush=True)
        f._stop.wait(f.max_lifetime)


if __name__ == "__main__":  # pragma: no cover
    serve_forever_in_process()
