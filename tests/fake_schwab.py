"""A loopback fake of the Schwab Trader API and its OAuth token endpoint, for the real schwab-py client.

Endpoints, with the JSON shapes Schwab documents for them:

* ``GET /trader/v1/accounts/accountNumbers`` -> ``[{"accountNumber", "hashValue"}]``
* ``GET /trader/v1/accounts/{hash}?fields=positions`` -> ``{"securitiesAccount": {accountNumber,
  positions: [{longQuantity, shortQuantity, averagePrice, marketValue, instrument{symbol}}],
  currentBalances: {cashBalance, buyingPower, liquidationValue}}}``
* ``POST /trader/v1/accounts/{hash}/orders`` (the order JSON: orderType, session, duration,
  price, orderLegCollection[{instruction, quantity, instrument{symbol, assetType}}]) -> 201, empty
  body, ``Location: https://api.schwabapi.com/trader/v1/accounts/{hash}/orders/{id}``
* ``GET .../orders?fromEnteredTime=&toEnteredTime=&status=`` (both times required, as Schwab
  requires), ``GET .../orders/{id}``, ``DELETE .../orders/{id}`` (200; a final order: 400)
* ``PUT .../orders/{id}`` (schwab-py ``Client.replace_order``: a full new order spec) -> 201,
  empty body, ``Location`` of the NEW order; the old one becomes ``REPLACED``. The spec is
  checked (:func:`spec_problem`) and, as the fake's own rule, must keep the old order's symbol
  and instruction and ask at most its remaining shares; a final old order (filled, canceled,
  ...) -> 400 with Schwab's error JSON ``{"message", "errors": [...]}``. Faults on it:
  ``inject("lost", method="PUT", path=".../orders/{id}")`` (replaced, the 201 lost),
  ``inject("503", method="PUT", ...)`` (nothing done).
* ``GET .../transactions?types=TRADE&startDate=&endDate=`` -> TRADE transactions, each with
  ``transferItems`` (the equity leg: amount = shares, + bought / - sold; price; fee items)
* ``GET /marketdata/v1/markets?markets=equity`` (the session hours)
* ``GET /marketdata/v1/quotes?symbols=A,B&fields=quote`` (schwab-py ``Client.get_quotes``,
  ``schwab/client/base.py``) -> an object keyed by the symbol as asked, each
  ``{"assetMainType": "EQUITY", "symbol", "realtime", "ssid", "quote": {bidPrice, askPrice,
  lastPrice, bidSize, askSize, lastSize, quoteTime, tradeTime (epoch ms), ...}}``; symbols it has
  no quote for are listed under ``"errors": {"invalidSymbols": [...]}`` and get no entry. Shape:
  Schwab's Market Data API "Quotes" (developer.schwab.com), as echoed by the schwab_api crate's
  fixtures (docs.rs/crate/schwab_api, tests/model/MarketData/QuoteResponse/*.json,
  QuoteError.json). Prices from :attr:`FakeSchwab.quotes` (symbol -> (bid, ask, last)); a
  symbol absent from it is the "missing from the reply" fault; ``inject("503", method="GET",
  path="/marketdata/v1/quotes")`` a 5xx.
* ``POST /v1/oauth/token`` (grant_type=refresh_token): a new access token; only the tokens it
  issued are accepted afterwards (others: 401).

Faults (:meth:`FakeSchwab.inject`, by method + path prefix, consumed ``times`` times): ``429``
(``retry_after=`` seconds or None), ``500``, ``503``, ``lost`` (the request is processed, e.g.
the order created, then the connection is dropped with no reply), ``expire_token`` (the access
token in use is revoked before the request is handled: 401). Loopback only, daemon threads.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

ACCOUNT_NUMBER = "12345678"
ACCOUNT_HASH = "E5B1C2D3A4F5E6D7C8B9A0F1E2D3C4B5A6F7E8D9C0B1A2F3E4D5C6B7A8F9E0D1"
FINAL = {"FILLED", "CANCELED", "REJECTED", "EXPIRED", "REPLACED"}


def schwab_time(t: dt.datetime) -> str:
    """Schwab's timestamp form: ``2024-03-01T14:30:00+0000`` (UTC)."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _parse(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def spec_problem(body) -> str | None:
    """Why an order spec is not a single-leg equity DAY/NORMAL LIMIT or MARKET order, or None."""
    if not isinstance(body, dict):
        return "order spec is not an object"
    if body.get("orderType") not in ("LIMIT", "MARKET"):
        return f"orderType {body.get('orderType')!r}"
    if body.get("session") != "NORMAL" or body.get("duration") != "DAY":
        return f"session/duration {body.get('session')!r}/{body.get('duration')!r}"
    if body.get("orderStrategyType") != "SINGLE":
        return f"orderStrategyType {body.get('orderStrategyType')!r}"
    legs = body.get("orderLegCollection")
    if not isinstance(legs, list) or len(legs) != 1 or not isinstance(legs[0], dict):
        return "orderLegCollection must hold one leg"
    leg = legs[0]
    if leg.get("instruction") not in ("BUY", "SELL", "SELL_SHORT", "BUY_TO_COVER"):
        return f"instruction {leg.get('instruction')!r}"
    inst = leg.get("instrument") or {}
    if inst.get("assetType") != "EQUITY" or not inst.get("symbol"):
        return "instrument must be an EQUITY with a symbol"
    q = leg.get("quantity")
    if not isinstance(q, int | float) or q <= 0 or q != int(q):
        return f"quantity {q!r}"
    if body["orderType"] == "LIMIT":
        try:
            if not float(body.get("price")) > 0:
                return "price must be > 0"
        except (TypeError, ValueError):
            return f"price {body.get('price')!r}"
    return None


def _error(message: str) -> dict:
    """Schwab's error reply shape."""
    return {"message": message, "errors": [message]}


class _Drop(Exception):
    pass


class FakeSchwab:
    def __init__(self, *, cash: float = 100_000.0, clock=None, latency: float = 0.0):
        self.cash = cash
        self.latency = float(latency)  # seconds each request takes before it is handled (a WAN round trip)
        self.orders: dict[int, dict] = {}
        self.transactions: list[dict] = []
        self.positions: dict[str, dict] = {}
        self.quotes: dict[str, tuple[float, float, float]] = {}  # Schwab's spelling -> (bid, ask, last) $/share
        self.quote_time: dt.datetime | None = None  # quoteTime of every quote; None: the clock's now
        self.log: list[dict] = []
        self.faults: list[dict] = []
        self.tokens = {"access-0"}
        self.refreshes = 0
        self._ids = itertools.count(1001)
        self._lock = threading.RLock()
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._server: _Server | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> FakeSchwab:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeSchwab:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- test controls ------------------------------------------------------------------------
    def inject(self, kind: str, *, method: str = "POST", path: str = "/trader/v1/accounts", times: int = 1, **kw):
        with self._lock:
            self.faults.append({"kind": kind, "method": method, "path": path, "times": times, **kw})

    def requests(self, method: str | None = None, path: str | None = None) -> list[dict]:
        return [
            r for r in self.log if (method is None or r["method"] == method) and (path is None or path in r["path"])
        ]

    def seed_order(
        self, symbol: str, instruction: str, qty: float, price: float | None, *, entered=None, status="WORKING"
    ):
        """An order entered at the broker by other means (another run, the operator's app)."""
        body = {
            "orderType": "LIMIT" if price is not None else "MARKET",
            "session": "NORMAL",
            "duration": "DAY",
            "orderStrategyType": "SINGLE",
            "orderLegCollection": [
                {"instruction": instruction, "quantity": qty, "instrument": {"symbol": symbol, "assetType": "EQUITY"}}
            ],
        }
        if price is not None:
            body["price"] = str(price)
        return self._create(body, entered=entered, status=status)

    def fill(self, order_id: int, qty: float, price: float, fee: float = 0.0) -> dict:
        """A (partial) execution of ``order_id``: the order, the position, cash and a TRADE transaction."""
        with self._lock:
            o = self.orders[order_id]
            leg = o["orderLegCollection"][0]
            sym = leg["instrument"]["symbol"]
            sign = 1 if leg["instruction"] in ("BUY", "BUY_TO_COVER") else -1
            now = self._clock()
            o["filledQuantity"] += qty
            o["remainingQuantity"] = o["quantity"] - o["filledQuantity"]
            o["status"] = "FILLED" if o["remainingQuantity"] <= 0 else "WORKING"
            o.setdefault("orderActivityCollection", []).append(
                {
                    "activityType": "EXECUTION",
                    "executionType": "FILL",
                    "quantity": qty,
                    "executionLegs": [{"legId": 1, "quantity": qty, "price": price, "time": schwab_time(now)}],
                }
            )
            p = self.positions.setdefault(sym, {"qty": 0.0, "cost": 0.0})
            p["qty"] += sign * qty
            p["cost"] += sign * qty * price
            self.cash -= sign * qty * price + fee
            t = {
                "activityId": next(self._ids) * 10,
                "time": schwab_time(now),
                "accountNumber": ACCOUNT_NUMBER,
                "type": "TRADE",
                "status": "VALID",
                "subAccount": "CASH",
                "tradeDate": schwab_time(now),
                "orderId": order_id,
                "netAmount": -(sign * qty * price) - fee,
                "transferItems": [
                    {
                        "instrument": {"assetType": "EQUITY", "symbol": sym},
                        "amount": sign * qty,
                        "cost": -(sign * qty * price),
                        "price": price,
                        "positionEffect": "OPENING" if sign > 0 else "CLOSING",
                    },
                    {
                        "instrument": {"assetType": "CURRENCY", "symbol": "CURRENCY_USD"},
                        "amount": 0.0,
                        "cost": -fee,
                        "feeType": "COMMISSION",
                    },
                ],
            }
            self.transactions.append(t)
            return t

    # -- the API --------------------------------------------------------------------------------
    def _create(self, body: dict, *, entered=None, status="WORKING") -> dict:
        with self._lock:
            oid = next(self._ids)
            leg = body["orderLegCollection"][0]
            q = float(leg["quantity"])
            o = {
                "session": body.get("session"),
                "duration": body.get("duration"),
                "orderType": body.get("orderType"),
                "complexOrderStrategyType": "NONE",
                "quantity": q,
                "filledQuantity": 0.0,
                "remainingQuantity": q,
                "requestedDestination": "AUTO",
                "destinationLinkName": "AUTO",
                "orderLegCollection": [
                    {
                        "orderLegType": "EQUITY",
                        "legId": 1,
                        "instrument": {
                            "assetType": "EQUITY",
                            "cusip": "000000000",
                            "symbol": leg["instrument"]["symbol"],
                            "instrumentId": 1,
                        },
                        "instruction": leg["instruction"],
                        "positionEffect": "OPENING",
                        "quantity": q,
                    }
                ],
                "orderStrategyType": body.get("orderStrategyType", "SINGLE"),
                "orderId": oid,
                "cancelable": True,
                "editable": True,
                "status": status,
                "enteredTime": schwab_time(entered or self._clock()),
                "tag": "API_TOS:xlexec",
                "accountNumber": int(ACCOUNT_NUMBER),
            }
            if body.get("price") is not None:
                o["price"] = float(body["price"])
            self.orders[oid] = o
            return o

    def _fault(self, method: str, path: str) -> dict | None:
        with self._lock:
            for f in self.faults:
                if f["method"] == method and path.startswith(f["path"]) and f["times"] > 0:
                    f["times"] -= 1
                    return f
        return None

    def handle(self, method: str, path: str, q: dict, body, headers) -> tuple[int, object, dict]:
        if self.latency > 0:
            time.sleep(self.latency)
        self.log.append({"method": method, "path": path, "query": q, "body": body})
        f = self._fault(method, path)
        if f is not None:
            k = f["kind"]
            if k == "429":
                h = {} if f.get("retry_after") is None else {"Retry-After": str(f["retry_after"])}
                return 429, {"errors": [{"status": "429", "title": "Too Many Requests"}]}, h
            if k in ("500", "503"):
                return int(k), {"message": "internal error"}, {}
            if k == "expire_token":
                with self._lock:
                    self.tokens.clear()
        if path == "/v1/oauth/token":
            return self._token(body)
        auth = headers.get("Authorization") or ""
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return 401, {"error": "invalid_token", "error_description": "access token expired"}, {}
        status, payload, h = self._route(method, path, q, body)
        if f is not None and f["kind"] == "lost":
            raise _Drop()
        return status, payload, h

    def _token(self, form) -> tuple[int, object, dict]:
        if not isinstance(form, dict) or form.get("grant_type") != "refresh_token" or not form.get("refresh_token"):
            return 400, {"error": "invalid_request"}, {}
        with self._lock:
            self.refreshes += 1
            tok = f"access-{self.refreshes}"
            self.tokens.add(tok)
        return (
            200,
            {
                "access_token": tok,
                "refresh_token": form["refresh_token"],
                "token_type": "Bearer",
                "expires_in": 1800,
                "scope": "api",
                "id_token": "x",
            },
            {},
        )

    def _route(self, method: str, path: str, q: dict, body) -> tuple[int, object, dict]:
        parts = path.strip("/").split("/")
        if path == "/trader/v1/accounts/accountNumbers" and method == "GET":
            return 200, [{"accountNumber": ACCOUNT_NUMBER, "hashValue": ACCOUNT_HASH}], {}
        if path.startswith("/marketdata/v1/markets") and method == "GET":
            return 200, self._hours(), {}
        if path == "/marketdata/v1/quotes" and method == "GET":
            return self._quotes(q)
        if len(parts) < 4 or parts[:3] != ["trader", "v1", "accounts"]:
            return 404, {"message": "not found"}, {}
        if parts[3] != ACCOUNT_HASH:
            return 400, {"message": "Invalid account hash"}, {}
        rest = parts[4:]
        if not rest and method == "GET":
            return 200, self._account("positions" in (q.get("fields") or "")), {}
        if rest == ["orders"] and method == "POST":
            o = self._create(body)
            loc = f"https://api.schwabapi.com/trader/v1/accounts/{ACCOUNT_HASH}/orders/{o['orderId']}"
            return 201, "", {"Location": loc}
        if rest == ["orders"] and method == "GET":
            if not q.get("fromEnteredTime") or not q.get("toEnteredTime"):
                return 400, {"message": "fromEnteredTime and toEnteredTime are required"}, {}
            lo, hi = _parse(q["fromEnteredTime"]), _parse(q["toEnteredTime"])
            rows = [
                o
                for o in self.orders.values()
                if lo <= _parse(o["enteredTime"]) <= hi and (not q.get("status") or o["status"] == q["status"])
            ]
            return 200, sorted(rows, key=lambda o: o["enteredTime"], reverse=True), {}
        if len(rest) == 2 and rest[0] == "orders":
            o = self.orders.get(int(rest[1])) if rest[1].isdigit() else None
            if o is None:
                return 404, {"message": "Order not found"}, {}
            if method == "GET":
                return 200, o, {}
            if method == "DELETE":
                if o["status"] in FINAL:
                    return 400, {"message": f"order is {o['status']}: cannot be canceled"}, {}
                o["status"] = "CANCELED"
                o["cancelable"] = False
                return 200, "", {}
            if method == "PUT":
                return self._replace(o, body)
        if rest == ["transactions"] and method == "GET":
            types = set((q.get("types") or "").split(","))
            lo = _parse(q["startDate"]) if q.get("startDate") else None
            hi = _parse(q["endDate"]) if q.get("endDate") else None
            rows = [
                t
                for t in self.transactions
                if t["type"] in types
                and (lo is None or _parse(t["time"]) >= lo)
                and (hi is None or _parse(t["time"]) <= hi)
            ]
            return 200, rows, {}
        return 404, {"message": "not found"}, {}

    def _replace(self, old: dict, body) -> tuple[int, object, dict]:
        with self._lock:
            if old["status"] in FINAL:
                return 400, _error(f"Order is {old['status']} and cannot be replaced"), {}
            why = spec_problem(body)
            if why is not None:
                return 400, _error(f"Invalid order spec: {why}"), {}
            leg, was = body["orderLegCollection"][0], old["orderLegCollection"][0]
            if leg["instrument"]["symbol"] != was["instrument"]["symbol"] or leg["instruction"] != was["instruction"]:
                return 400, _error("A replacement must keep the order's symbol and instruction"), {}
            if float(leg["quantity"]) > old["remainingQuantity"]:
                return 400, _error(f"quantity {leg['quantity']} exceeds the {old['remainingQuantity']:g} remaining"), {}
            new = self._create(body)
            old["status"] = "REPLACED"
            old["cancelable"] = old["editable"] = False
            old["closeTime"] = schwab_time(self._clock())
            loc = f"https://api.schwabapi.com/trader/v1/accounts/{ACCOUNT_HASH}/orders/{new['orderId']}"
            return 201, "", {"Location": loc}

    def _account(self, with_positions: bool) -> dict:
        pos = []
        mv = 0.0
        for sym, p in self.positions.items():
            if not p["qty"]:
                continue
            avg = p["cost"] / p["qty"]
            mv += p["qty"] * avg
            pos.append(
                {
                    "shortQuantity": max(0.0, -p["qty"]),
                    "averagePrice": avg,
                    "longQuantity": max(0.0, p["qty"]),
                    "settledLongQuantity": max(0.0, p["qty"]),
                    "instrument": {"assetType": "EQUITY", "cusip": "000000000", "symbol": sym},
                    "marketValue": p["qty"] * avg,
                }
            )
        acct: dict = {
            "type": "MARGIN",
            "accountNumber": ACCOUNT_NUMBER,
            "roundTrips": 0,
            "isDayTrader": False,
            "isClosingOnlyRestricted": False,
            "currentBalances": {
                "cashBalance": self.cash,
                "buyingPower": self.cash * 2,
                "liquidationValue": self.cash + mv,
            },
        }
        if with_positions:
            acct["positions"] = pos
        return {"securitiesAccount": acct, "aggregatedBalance": {"liquidationValue": self.cash + mv}}

    def _quotes(self, q: dict) -> tuple[int, object, dict]:
        syms = [x for x in (q.get("symbols") or "").split(",") if x]
        if not syms:
            err = {"status": 400, "title": "Bad Request", "detail": "Search combination should have min of 1."}
            return 400, {"errors": [err]}, {}
        ms = int((self.quote_time or self._clock()).timestamp() * 1000)
        out: dict = {}
        bad = []
        for s in syms:
            if s not in self.quotes:
                bad.append(s)
                continue
            bid, ask, last = self.quotes[s]
            out[s] = {
                "assetMainType": "EQUITY",
                "assetSubType": "COE",
                "quoteType": "NBBO",
                "realtime": True,
                "ssid": 1000 + len(out),
                "symbol": s,
                "quote": {
                    "askPrice": ask,
                    "askSize": 200,
                    "bidPrice": bid,
                    "bidSize": 300,
                    "closePrice": last,
                    "lastPrice": last,
                    "lastSize": 100,
                    "mark": last,
                    "quoteTime": ms,
                    "securityStatus": "Normal",
                    "totalVolume": 1_000_000,
                    "tradeTime": ms,
                },
            }
        if bad:
            out["errors"] = {"invalidSymbols": bad}
        return 200, out, {}

    def _hours(self) -> dict:
        now = self._clock()
        ny = ZoneInfo("America/New_York")  # EST or EDT, as the day is
        d = now.astimezone(ny).date()
        start = dt.datetime.combine(d, dt.time(9, 30), ny)
        end = dt.datetime.combine(d, dt.time(16, 0), ny)
        return {
            "equity": {
                "EQ": {
                    "date": d.isoformat(),
                    "marketType": "EQUITY",
                    "product": "EQ",
                    "isOpen": d.weekday() < 5,
                    "sessionHours": {"regularMarket": [{"start": start.isoformat(), "end": end.isoformat()}]},
                }
            }
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address) -> None:  # dropped connections are expected
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_fake: FakeSchwab
    timeout = 30

    def log_message(self, *args) -> None:
        pass

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        body: object = None
        if raw:
            if "application/x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
                body = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
            else:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
        try:
            status, payload, headers = self.server_fake.handle(method, parts.path, query, body, dict(self.headers))
        except _Drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            self.connection.close()
            return
        data = b"" if payload == "" else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Schwab-Client-CorrelId", str(uuid.uuid4()))
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

    def do_PUT(self) -> None:
        self._serve("PUT")
