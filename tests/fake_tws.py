"""A loopback fake of Interactive Brokers' TWS / IB Gateway, for the real ``ib_async`` client.

It speaks the TWS API socket protocol at **server version 178** (the top of ib_async 2.1.0's
``Client.MinClientVersion`` 157 .. ``MaxClientVersion`` 178 range, so what a current TWS answers
that client with). Sources of every layout below: ib_async 2.1.0's own encoder
(``ib_async/client.py``: the handshake, the 4-byte big-endian length prefix of ``_prefix``,
``send``'s field encoding, ``startApi`` and the field order of ``placeOrder``, ``cancelOrder``,
``reqExecutions``, ``reqContractDetails`` at that version) and decoder (``ib_async/decoder.py``:
the field order it unpacks for each incoming message at that version), with the message ids and
semantics of the TWS API reference (https://interactivebrokers.github.io/tws-api/, "Message
codes" for the error codes). Written from those descriptions; no code taken from elsewhere.

Framing: the client opens with ``API\\0`` + a framed ``v157..178``; every later message both ways
is a 4-byte big-endian length then NUL-terminated text fields. The server answers the handshake
with the framed fields ``[version, connection time]``.

Client -> server (id: fields after the id):

* 71 startApi: version, clientId, optCapab -> 15 managedAccounts, 9 nextValidId, farm notices
  (error 2104/2106/2158 with reqId -1)
* 3 placeOrder: orderId, contract (conId, symbol, secType, lastTradeDate, strike, right,
  multiplier, exchange, primaryExchange, currency, localSymbol, tradingClass), secIdType, secId,
  action, totalQuantity, orderType, lmtPrice, auxPrice, tif, ocaGroup, account, openClose, origin,
  orderRef, transmit, parentId, blockOrder, sweepToFill, displaySize, triggerMethod, outsideRth, ...
  (the rest is read by position and ignored)
* 4 cancelOrder: version, orderId, manualCancelOrderTime; 58 reqGlobalCancel: version
* 5 reqOpenOrders / 16 reqAllOpenOrders: version; 99 reqCompletedOrders: apiOnly
* 7 reqExecutions: version, reqId, clientId, acctCode, time, symbol, secType, exchange, side
* 6 reqAccountUpdates: version, subscribe, acctCode; 76 reqAccountUpdatesMulti: version, reqId,
  account, modelCode, ledgerAndNLV; 61 reqPositions / 64 cancelPositions: version
* 8 reqIds: version, numIds; 17 reqManagedAccts: version; 49 reqCurrentTime: version
* 9 reqContractDetails: version, reqId, contract, includeExpired, secIdType, secId, issuerId
* 1 reqMktData: version 11, reqId, contract (12 fields: conId .. tradingClass), deltaNeutral
  (0, or 1 + conId, delta, price), genericTickList, snapshot, regulatorySnapshot, mktDataOptions
  (``Client.reqMktData``); 2 cancelMktData: version, reqId; 59 reqMarketDataType: version, type

Server -> client (id: fields after the id, as ib_async's decoder reads them at version 178):

* 15 managedAccounts: version, accounts comma-joined; 9 nextValidId: version, orderId
* 4 error: version, reqId, code, message, advancedOrderRejectJson (server version >= 166)
* 5 openOrder (no version field): orderId, contract (conId .. tradingClass, 11 fields), the
  order's fields in the decoder's order (no faProfile at >= 177; duration, postToAts,
  autoCancelParent, and the 5 peg fields at >= 159/160/162/170), orderState (status, 9 margin
  fields, commission, min, max, currency, warningText)
* 3 orderStatus (no version): orderId, status, filled, remaining, avgFillPrice, permId, parentId,
  lastFillPrice, clientId, whyHeld, mktCapPrice
* 53 openOrderEnd: version
* 101 completedOrder (no version, no orderId or clientId: ib_async keys it by permId): contract,
  order fields, status, ..., completedTime, completedStatus; 102 completedOrdersEnd
* 11 execDetails (no version): reqId (-1 live), orderId, contract (conId .. tradingClass, 12
  fields with exchange), execId, time ("YYYYMMDD HH:MM:SS US/Eastern", which ib_async's
  ``parseIBDatetime`` reads with the zone), acctNumber, exchange, side (BOT/SLD), shares, price,
  permId, clientId, liquidation, cumQty, avgPrice, orderRef, evRule, evMultiplier, modelCode,
  lastLiquidity, pendingPriceRevision (>= 178); 55 execDetailsEnd: version, reqId
* 59 commissionReport: version, execId, commission, currency, realizedPNL, yield,
  yieldRedemptionDate
* 61 position: version, account, contract (12 fields with exchange), position, avgCost;
  62 positionEnd: version
* 6 updateAccountValue: version, key, value, currency, account; 7 updatePortfolio: version,
  contract (conId, symbol, secType, lastTradeDate, strike, right, multiplier, primaryExchange,
  currency, localSymbol, tradingClass), position, marketPrice, marketValue, averageCost,
  unrealizedPNL, realizedPNL, account; 8 updateAccountTime: version, "HH:MM";
  54 accountDownloadEnd: version, account
* 73 accountUpdateMulti: version, reqId, account, modelCode, key, value, currency;
  74 accountUpdateMultiEnd: version, reqId
* 49 currentTime: version, epoch seconds
* 10 contractDetails (no version at >= 164) and 52 contractDetailsEnd: version, reqId
* a market data snapshot (reqMktData with snapshot 1), in the order TWS sends it: 58
  marketDataType: version, reqId, type (1 live; as set by reqMarketDataType, else
  ``default_market_data_type``); 81 tickReqParams (no version): reqId, minTick, bboExchange,
  snapshotPermissions; 1 tickPrice: version, reqId, tickType (1 bid, 2 ask, 4 last; delayed
  data 66, 67, 68), price, size, attrMask (ib_async's ``Decoder.priceSizeTick``); 2 tickSize:
  version, reqId, tickType (0 bid, 3 ask, 5 last, 8 volume; delayed 69, 70, 71), size; 46
  tickString: version, reqId, tickType 45 (last trade time, epoch seconds), value; 57
  tickSnapshotEnd: version, reqId. Prices from ``quotes`` (symbol as IBKR spells it,
  ``BRK B`` -> (bid, ask, last) $/share; a price <= 0 is not sent). A symbol without a quote gets
  no ticks: error 354 "Requested market data is not subscribed" for its reqId (the TWS API
  reference's message codes: the answer to a request for data the login has no subscription
  for; 10167 would announce delayed data instead, which then does come), then tickSnapshotEnd.
  A symbol in ``silent_quotes`` gets no answer at all (a market data farm that hangs).

Behaviour: ``fill_modes[symbol]`` is "fill" (default: a limit order fills at its limit price at
once, any other order at ``prices[symbol]``, default 100.0), "none" (stays Submitted) or a
fraction f in (0, 1) (floor(qty * f) shares fill, the rest stays working). Each fill sends
execDetails, then commissionReport (max(1.0, 0.005 * shares) USD, same execId), then orderStatus
and openOrder; :meth:`FakeTWS.fill` fills a working order later. orderStatus's ``remaining`` is
the unexecuted quantity (also once Cancelled); a rejection is error + orderStatus Inactive.
The account is a cash account: BuyingPower = AvailableFunds = TotalCashValue; NetLiquidation
adds the positions at ``prices`` (default 100.0). Order events go to the
connection of the client id that placed the order. ``latency`` (seconds, default 0): every
message a connection receives (the handshake's version message too) waits that long before it
is handled, one at a time per connection, as a network round trip would; ``messages`` counts
them. Faults: ``drop_after_place``, ``status_delay``, ``reject`` and :meth:`FakeTWS.restart`
(see the class). Loopback only, daemon
threads; an unknown message id is logged and ignored.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import re
import socket
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

SERVER_VERSION = 178
MIN_CLIENT_VERSION = 157  # ib_async 2.1.0 Client.MinClientVersion
TWS_TZ = "US/Eastern"  # the zone name TWS appends to execution times for a US login

_log = logging.getLogger("tests.fake_tws")

# a few well-known stock conIds; any other symbol gets a stable one derived from its name
_CON_IDS = {"AAPL": 265598, "MSFT": 272093, "SPY": 756733, "IBM": 8314}


def con_id(symbol: str) -> int:
    return _CON_IDS.get(symbol) or 10_000_000 + zlib.crc32(symbol.encode()) % 900_000_000


def _enc(v: Any) -> str:
    """One field as TWS writes it: None -> empty, bools 1/0, integral floats without '.0'."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        if math.isinf(v):
            return "Infinite"
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(v)


def _float(s: str) -> float | None:
    if s in ("", None):
        return None
    v = float(s)
    return None if v >= 1.7e308 else v


@dataclass
class _Order:
    order_id: int
    perm_id: int
    client_id: int
    order_ref: str
    symbol: str
    action: str
    qty: float
    order_type: str
    lmt_price: float | None
    tif: str
    account: str
    epoch: int
    aux_price: float | None = None
    outside_rth: bool = False
    status: str = "Submitted"
    filled: float = 0.0
    avg_price: float = 0.0
    last_fill_price: float = 0.0
    completed_time: str = ""
    completed_status: str = ""

    @property
    def working(self) -> bool:
        return self.status in ("PreSubmitted", "Submitted")

    def public(self) -> dict:
        return {
            "order_id": self.order_id,
            "perm_id": self.perm_id,
            "client_id": self.client_id,
            "order_ref": self.order_ref,
            "symbol": self.symbol,
            "action": self.action,
            "qty": self.qty,
            "order_type": self.order_type,
            "lmt_price": self.lmt_price,
            "tif": self.tif,
            "account": self.account,
            "status": self.status,
            "filled": self.filled,
            "avg_price": self.avg_price,
        }


@dataclass
class _Exec:
    exec_id: str
    order: _Order
    side: str
    shares: float
    price: float
    time: dt.datetime
    commission: float
    cum_qty: float
    avg_price: float

    def public(self) -> dict:
        return {
            "exec_id": self.exec_id,
            "perm_id": self.order.perm_id,
            "order_id": self.order.order_id,
            "order_ref": self.order.order_ref,
            "symbol": self.order.symbol,
            "side": self.side,
            "shares": self.shares,
            "price": self.price,
            "time": self.time,
            "commission": self.commission,
        }


@dataclass(eq=False)
class _Conn:
    sock: socket.socket
    client_id: int | None = None
    market_data_type: int | None = None  # as the client set it (reqMarketDataType); None: the fake's default
    account_sub: str | None = None
    positions_sub: bool = False
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False

    def send(self, fields: list[Any]) -> None:
        payload = "".join(_enc(f) + "\0" for f in fields).encode()
        with self.send_lock:
            if self.closed:
                return
            try:
                self.sock.sendall(struct.pack(">I", len(payload)) + payload)
            except OSError:
                self.closed = True

    def close(self) -> None:
        with self.send_lock:
            self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()


class _Dropped(Exception):
    """The connection is closed on purpose (drop_after_place)."""


class FakeTWS:
    """TWS on 127.0.0.1. State (``orders``, ``executions``, ``place_count``) is safe to read from
    any thread. Faults, settable at any time:

    * ``drop_after_place = N``: the Nth placeOrder is recorded (working or filled "at the
      exchange") and the socket closed before any reply; 0 = off.
    * ``status_delay``: seconds slept before the replies to a placeOrder.
    * ``reject[symbol] = (code, message)``: placeOrder answered with that error, then orderStatus
      Inactive; no fill.
    * :meth:`restart`: every connection closed, the next valid order id back to 1; the day's orders
      and executions stay and are reported by reqAllOpenOrders / reqCompletedOrders /
      reqExecutions.

    Also: :meth:`fill` (the exchange fills a working order later, the owner connected or not),
    :meth:`position` and :meth:`account_cash` (the books), ``connections`` (open sockets) and
    ``unknown`` (message ids received and ignored). A placeOrder with the orderId of a working
    order of the same client modifies it; with the id of a done order since the last restart it
    gets error 103. reqExecutions applies the filter's clientId (0: all), acctCode, symbol, side
    and time.
    """

    host: str = "127.0.0.1"

    def __init__(
        self,
        *,
        accounts=("DU1234567",),
        prices: dict[str, float] | None = None,
        fill_modes: dict[str, object] | None = None,
        cash: float = 1_000_000.0,
        positions: dict[str, tuple[float, float]] | None = None,
        quotes: dict[str, tuple[float, float, float]] | None = None,
        now=None,
        latency: float = 0.0,
    ):
        self.accounts = tuple(accounts)
        self.prices = dict(prices or {})
        self.fill_modes: dict[str, object] = dict(fill_modes or {})
        self.quotes: dict[str, tuple[float, float, float]] = dict(quotes or {})  # IBKR spelling -> bid, ask, last
        self.default_market_data_type = 1  # 1 live; 3 delayed: ticks 66/67/68 (sizes 69/70/71) instead
        self.snapshots: list[dict] = []  # every reqMktData received: symbol, snapshot, market data type
        self.silent_quotes: set[str] = set()  # symbols whose snapshot request is never answered (a hung farm)
        self.now = now or (lambda: dt.datetime.now(dt.UTC))
        self.drop_after_place = 0
        self.status_delay = 0.0
        self.latency = float(latency)
        self.messages = 0  # messages received from clients (every connection, the handshake's too)
        self.reject: dict[str, tuple[int, str]] = {}
        self.port = 0
        self.place_count = 0
        self.unknown: list[int] = []  # message ids received that the fake does not implement
        self._lock = threading.RLock()
        self._orders: list[_Order] = []
        self._execs: list[_Exec] = []
        self._cash = {a: float(cash) for a in self.accounts}
        # (account, symbol) -> [shares, avg_cost]; the initial positions are in the first account
        self._positions: dict[tuple[str, str], list[float]] = {
            (self.accounts[0], s): [float(q), float(c)] for s, (q, c) in (positions or {}).items()
        }
        self._next_id = 1
        self._epoch = 0
        self._perm_seq = 1_950_000_000
        self._exec_seq = 0x6553A8B1
        self._conns: set[_Conn] = set()
        self._threads: list[threading.Thread] = []
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeTWS:
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((self.host, 0))
        ls.listen(16)
        ls.settimeout(0.2)
        self._listener = ls
        self.port = ls.getsockname()[1]
        t = threading.Thread(target=self._accept_loop, name=f"fake-tws-{self.port}", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._close_all()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
        for t in list(self._threads):
            if t is not threading.current_thread():
                t.join(timeout=2)

    def __enter__(self) -> FakeTWS:
        return self.start() if self._listener is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    def restart(self) -> None:
        """A TWS restart: every connection closed, the order id sequence starts again at 1."""
        with self._lock:
            self._epoch += 1
            self._next_id = 1
        self._close_all()

    def _close_all(self) -> None:
        with self._lock:
            conns = list(self._conns)
            self._conns.clear()
        for c in conns:
            c.close()

    # ------------------------------------------------------------------ state, read side

    @property
    def orders(self) -> list[dict]:
        with self._lock:
            return [o.public() for o in self._orders]

    @property
    def executions(self) -> list[dict]:
        with self._lock:
            return [e.public() for e in self._execs]

    def position(self, symbol: str, account: str | None = None) -> tuple[float, float]:
        """(shares, average cost) held in ``account`` (default: the first)."""
        with self._lock:
            q, avg = self._positions.get((account or self.accounts[0], symbol), [0.0, 0.0])
        return q, avg

    def account_cash(self, account: str | None = None) -> float:
        with self._lock:
            return self._cash.get(account or self.accounts[0], 0.0)

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._conns)

    # ------------------------------------------------------------------ sockets

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Conn(sock)
            with self._lock:
                self._conns.add(conn)
            t = threading.Thread(target=self._serve, args=(conn,), name="fake-tws-conn", daemon=True)
            t.start()
            self._threads = [x for x in self._threads if x.is_alive()] + [t]

    @staticmethod
    def _recv_exact(sock: socket.socket, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("client closed")
            buf += chunk
        return buf

    def _read_msg(self, sock: socket.socket) -> list[str]:
        (size,) = struct.unpack(">I", self._recv_exact(sock, 4))
        text = self._recv_exact(sock, size).decode(errors="replace")
        fields = text.split("\0")
        if fields and fields[-1] == "":
            fields.pop()
        return fields

    def _serve(self, conn: _Conn) -> None:
        try:
            if self._recv_exact(conn.sock, 4) != b"API\0":
                return
            (hello,) = self._read_msg(conn.sock)[:1] or ("",)
            self._arrived()
            m = re.match(r"v(\d+)(?:\.\.(\d+))?", hello)
            if not m:
                return
            lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
            if hi < MIN_CLIENT_VERSION or lo > SERVER_VERSION:
                return
            now = self.now().astimezone(ZoneInfo(TWS_TZ))
            conn.send([min(hi, SERVER_VERSION), now.strftime("%Y%m%d %H:%M:%S ") + TWS_TZ])
            while not conn.closed:
                fields = self._read_msg(conn.sock)
                self._arrived()
                if not fields:
                    continue
                try:
                    self._dispatch(conn, fields)
                except _Dropped:
                    return
                except Exception:  # a bad message never takes the server down
                    _log.exception("fake TWS: error handling %r", fields)
        except (ConnectionError, OSError, struct.error):
            pass
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()

    def _arrived(self) -> None:
        """One message received: counted, then ``latency`` seconds before it is handled."""
        with self._lock:
            self.messages += 1
        if self.latency > 0:
            time.sleep(self.latency)

    # ------------------------------------------------------------------ dispatch

    def _dispatch(self, conn: _Conn, f: list[str]) -> None:
        msg_id = int(f[0])
        handler = {
            71: self._start_api,
            3: self._place_order,
            4: self._cancel_order,
            58: self._global_cancel,
            5: self._req_open_orders,
            16: self._req_all_open_orders,
            99: self._req_completed_orders,
            7: self._req_executions,
            6: self._req_account_updates,
            76: self._req_account_updates_multi,
            77: lambda c, f: None,
            61: self._req_positions,
            64: self._cancel_positions,
            8: self._req_ids,
            17: self._req_managed_accts,
            49: self._req_current_time,
            9: self._req_contract_details,
            15: lambda c, f: None,  # reqAutoOpenOrders
            59: self._req_market_data_type,
            1: self._req_mkt_data,
            2: lambda c, f: None,  # cancelMktData: a snapshot ends by itself
        }.get(msg_id)
        if handler is None:
            _log.warning("fake TWS: ignoring message id %s: %r", msg_id, f)
            with self._lock:
                self.unknown.append(msg_id)
            return
        handler(conn, f)

    def _error(self, conn: _Conn | None, req_id: int, code: int, text: str) -> None:
        if conn is not None:
            conn.send([4, 2, req_id, code, text, ""])

    def _start_api(self, conn: _Conn, f: list[str]) -> None:
        conn.client_id = int(f[2])
        with self._lock:
            next_id = self._next_id
        conn.send([15, 1, ",".join(self.accounts)])
        conn.send([9, 1, next_id])
        self._error(conn, -1, 2104, "Market data farm connection is OK:usfarm")
        self._error(conn, -1, 2106, "HMDS data farm connection is OK:ushmds")
        self._error(conn, -1, 2158, "Sec-def data farm connection is OK:secdefnj")

    def _req_ids(self, conn: _Conn, f: list[str]) -> None:
        with self._lock:
            next_id = self._next_id
        conn.send([9, 1, next_id])

    def _req_managed_accts(self, conn: _Conn, f: list[str]) -> None:
        conn.send([15, 1, ",".join(self.accounts)])

    def _req_current_time(self, conn: _Conn, f: list[str]) -> None:
        conn.send([49, 1, int(self.now().timestamp())])

    # ------------------------------------------------------------------ orders

    def _owner(self, client_id: int) -> list[_Conn]:
        with self._lock:
            return [c for c in self._conns if c.client_id == client_id and not c.closed]

    def _find_working(self, client_id: int, order_id: int) -> _Order | None:
        with self._lock:
            for o in reversed(self._orders):
                if o.client_id == client_id and o.order_id == order_id and o.working:
                    return o
        return None

    def _place_order(self, conn: _Conn, f: list[str]) -> None:
        order_id = int(f[1])
        cid = conn.client_id or 0
        symbol = f[3] or next((s for s, c in _CON_IDS.items() if str(c) == f[2]), "")
        action, qty, order_type = f[16], float(f[17] or 0), f[18]
        lmt, aux, tif, account, order_ref = _float(f[19]), _float(f[20]), f[21], f[23], f[26]
        outside_rth = f[33] == "1" if len(f) > 33 else False
        with self._lock:
            self.place_count += 1
            drop = self.drop_after_place > 0 and self.place_count == self.drop_after_place
            rejection = self.reject.get(symbol)
            existing = self._find_working(cid, order_id)
            duplicate = existing is None and any(
                o.client_id == cid and o.order_id == order_id and o.epoch == self._epoch for o in self._orders
            )
            if duplicate:
                order = None
            elif existing is not None:  # a modification of a working order
                order = existing
                order.qty, order.order_type, order.lmt_price, order.aux_price, order.tif = (
                    qty,
                    order_type,
                    lmt,
                    aux,
                    tif,
                )
                order.order_ref = order_ref or order.order_ref
            else:
                self._perm_seq += 1
                order = _Order(
                    order_id=order_id,
                    perm_id=self._perm_seq,
                    client_id=cid,
                    order_ref=order_ref,
                    symbol=symbol,
                    action=action,
                    qty=qty,
                    order_type=order_type,
                    lmt_price=lmt,
                    tif=tif or "DAY",
                    account=account or self.accounts[0],
                    epoch=self._epoch,
                    aux_price=aux,
                    outside_rth=outside_rth,
                )
                self._orders.append(order)
                self._next_id = max(self._next_id, order_id + 1)
                if rejection is not None:
                    order.status = "Inactive"
                    order.completed_time = self._tws_time()
                    order.completed_status = rejection[1]
            fills = [] if order is None or rejection is not None else self._evaluate(order)
        if drop:
            conn.close()
            raise _Dropped
        if self.status_delay > 0:
            time.sleep(self.status_delay)
        if order is None:
            self._error(conn, order_id, 103, "Duplicate order id")
            return
        if rejection is not None:
            code, text = rejection
            self._error(conn, order_id, code, text)
            conn.send(self._order_status(order))
            return
        targets = self._owner(order.client_id) or [conn]
        for c in targets:
            c.send(self._open_order(order, "Submitted" if fills else order.status))
            c.send(self._order_status(order, status="Submitted", filled=0.0) if fills else self._order_status(order))
        self._publish_fills(order, fills)

    def _fill_mode(self, symbol: str) -> object:
        return self.fill_modes.get(symbol, "fill")

    def _evaluate(self, order: _Order) -> list[_Exec]:
        """Fill what the symbol's mode says is due now (under the lock)."""
        mode = self._fill_mode(order.symbol)
        if mode == "none" or not order.working:
            return []
        if isinstance(mode, int | float) and not isinstance(mode, bool):
            target = math.floor(order.qty * float(mode))
        else:
            target = order.qty
        shares = target - order.filled
        if shares <= 0:
            return []
        if order.order_type in ("LMT", "LOC", "LOO", "STP LMT") and order.lmt_price is not None:
            price = order.lmt_price
        else:
            price = self.prices.get(order.symbol, 100.0)
        return [self._execute(order, shares, price)]

    def _execute(self, order: _Order, shares: float, price: float) -> _Exec:
        self._exec_seq += 1
        commission = round(max(1.0, 0.005 * shares), 2)
        cost = order.avg_price * order.filled + price * shares
        order.filled += shares
        order.avg_price = cost / order.filled
        order.last_fill_price = price
        if order.filled >= order.qty:
            order.status = "Filled"
            order.completed_time = self._tws_time()
            order.completed_status = f"Filled Size: {_enc(order.qty)}"
        buy = order.action.upper() == "BUY"
        pos = self._positions.setdefault((order.account, order.symbol), [0.0, 0.0])
        signed = shares if buy else -shares
        if pos[0] == 0 or (pos[0] > 0) == (signed > 0):
            pos[1] = (pos[0] * pos[1] + signed * price) / (pos[0] + signed)
        elif abs(signed) > abs(pos[0]):
            pos[1] = price
        pos[0] += signed
        if pos[0] == 0:
            pos[1] = 0.0
        self._cash[order.account] = self._cash.get(order.account, 0.0) - signed * price - commission
        ex = _Exec(
            exec_id=f"0000e0d5.{self._exec_seq:08x}.01.01",
            order=order,
            side="BOT" if buy else "SLD",
            shares=shares,
            price=price,
            time=self.now().astimezone(dt.UTC),
            commission=commission,
            cum_qty=order.filled,
            avg_price=order.avg_price,
        )
        self._execs.append(ex)
        return ex

    def _publish_fills(self, order: _Order, fills: list[_Exec]) -> None:
        if not fills:
            return
        for c in self._owner(order.client_id):
            for ex in fills:
                c.send(self._exec_details(-1, ex))
                c.send(self._commission_report(ex))
            c.send(self._order_status(order))
            c.send(self._open_order(order))
        with self._lock:
            subs = [c for c in self._conns if not c.closed]
        for c in subs:
            if c.positions_sub:
                c.send(self._position_msg(order.account, order.symbol))
            if c.account_sub == order.account:
                self._send_account(c, order.account, only=order.symbol)

    def fill(self, order_ref: str, shares: float | None = None, price: float | None = None) -> dict:
        """The exchange fills a working order later (matched by orderRef, the newest working one):
        ``shares`` (default: all that remain) at ``price`` (default: its limit, else
        ``prices[symbol]``). The fill goes to the owner's connection if it is connected; otherwise
        it is only in the day's executions (reqExecutions). Returns the execution's dict."""
        with self._lock:
            order = next((o for o in reversed(self._orders) if o.order_ref == order_ref and o.working), None)
            if order is None:
                raise KeyError(f"no working order with orderRef {order_ref!r}")
            qty = order.qty - order.filled if shares is None else min(float(shares), order.qty - order.filled)
            if price is None:
                price = order.lmt_price if order.lmt_price is not None else self.prices.get(order.symbol, 100.0)
            ex = self._execute(order, qty, price)
        self._publish_fills(order, [ex])
        return ex.public()

    def _cancel(self, order: _Order) -> None:
        for c in self._owner(order.client_id):
            c.send(self._order_status(order))
            self._error(c, order.order_id, 202, "Order Canceled - reason:")

    def _cancel_order(self, conn: _Conn, f: list[str]) -> None:
        order_id = int(f[2])
        cid = conn.client_id or 0
        with self._lock:
            order = self._find_working(cid, order_id)
            if order is not None:
                order.status = "Cancelled"
                order.completed_time = self._tws_time()
                order.completed_status = "Cancelled by Trader"
            else:
                done = next(
                    (o for o in reversed(self._orders) if o.client_id == cid and o.order_id == order_id),
                    None,
                )
        if order is not None:
            self._cancel(order)
        elif done is not None:
            text = f"OrderId {order_id} that needs to be cancelled cannot be cancelled, state: {done.status}."
            self._error(conn, order_id, 10148, text)
        else:
            self._error(conn, order_id, 10147, f"OrderId {order_id} that needs to be cancelled is not found.")

    def _global_cancel(self, conn: _Conn, f: list[str]) -> None:
        with self._lock:
            working = [o for o in self._orders if o.working]
            for o in working:
                o.status = "Cancelled"
                o.completed_time = self._tws_time()
                o.completed_status = "Cancelled by Trader"
        for o in working:
            self._cancel(o)

    def _req_open_orders(self, conn: _Conn, f: list[str], everyone: bool = False) -> None:
        with self._lock:
            working = [o for o in self._orders if o.working and (everyone or o.client_id == conn.client_id)]
        for o in working:
            conn.send(self._open_order(o))
            conn.send(self._order_status(o))
        conn.send([53, 1])

    def _req_all_open_orders(self, conn: _Conn, f: list[str]) -> None:
        self._req_open_orders(conn, f, everyone=True)

    def _req_completed_orders(self, conn: _Conn, f: list[str]) -> None:
        with self._lock:
            done = [o for o in self._orders if not o.working]
        for o in done:
            conn.send(self._completed_order(o))
        conn.send([102])

    def _req_executions(self, conn: _Conn, f: list[str]) -> None:
        req_id = int(f[2])
        client, acct, since, symbol, sec_type, _exch, side = (f + [""] * 10)[3:10]
        since_t = None
        if since:
            with contextlib.suppress(ValueError, KeyError):
                parts = since.split(" ")
                naive = dt.datetime.strptime(parts[0] + parts[1], "%Y%m%d%H:%M:%S")
                since_t = naive.replace(tzinfo=ZoneInfo(parts[2]) if len(parts) > 2 else dt.UTC)
        side_map = {"BUY": "BOT", "SELL": "SLD", "BOT": "BOT", "SLD": "SLD"}
        with self._lock:
            sel = [
                e
                for e in self._execs
                if (not client or int(client) == 0 or e.order.client_id == int(client))
                and (not acct or e.order.account == acct)
                and (not symbol or e.order.symbol == symbol)
                and (not sec_type or sec_type == "STK")
                and (not side or e.side == side_map.get(side.upper(), side))
                and (since_t is None or e.time >= since_t)
            ]
        for e in sel:
            conn.send(self._exec_details(req_id, e))
            conn.send(self._commission_report(e))
        conn.send([55, 1, req_id])

    # ------------------------------------------------------------------ account, positions

    def _account_values(self, account: str) -> dict[str, float]:
        with self._lock:
            cash = self._cash.get(account, 0.0)
            value = sum(q * self.prices.get(s, 100.0) for (a, s), (q, _c) in self._positions.items() if a == account)
        return {
            "NetLiquidation": cash + value,
            "TotalCashValue": cash,
            "BuyingPower": cash,
            "AvailableFunds": cash,
        }

    def _send_account(self, conn: _Conn, account: str, only: str | None = None) -> None:
        for key, v in self._account_values(account).items():
            conn.send([6, 2, key, f"{v:.2f}", "USD", account])
        with self._lock:
            items = [(s, q, c) for (a, s), (q, c) in self._positions.items() if a == account and (only in (None, s))]
        for sym, q, avg in items:
            px = self.prices.get(sym, 100.0)
            conn.send(
                [7, 8, con_id(sym), sym, "STK", "", 0.0, "", "", "NASDAQ", "USD", sym, "NMS"]
                + [q, px, q * px, avg, q * (px - avg), 0.0, account]
            )
        conn.send([8, 1, self.now().astimezone(ZoneInfo(TWS_TZ)).strftime("%H:%M")])

    def _req_account_updates(self, conn: _Conn, f: list[str]) -> None:
        subscribe, account = f[2] == "1", f[3] or self.accounts[0]
        if not subscribe:
            conn.account_sub = None
            return
        conn.account_sub = account
        self._send_account(conn, account)
        conn.send([54, 1, account])

    def _req_account_updates_multi(self, conn: _Conn, f: list[str]) -> None:
        req_id, account, model = int(f[2]), f[3], f[4]
        for acct in [account] if account and account != "All" else list(self.accounts):
            for key, v in self._account_values(acct).items():
                conn.send([73, 1, req_id, acct, model, key, f"{v:.2f}", "USD"])
        conn.send([74, 1, req_id])

    def _position_msg(self, account: str, symbol: str) -> list[Any]:
        with self._lock:
            q, avg = self._positions.get((account, symbol), [0.0, 0.0])
        return [61, 3, account, con_id(symbol), symbol, "STK", "", 0.0, "", "", "NASDAQ", "USD", symbol, "NMS", q, avg]

    def _req_positions(self, conn: _Conn, f: list[str]) -> None:
        conn.positions_sub = True
        with self._lock:
            keys = list(self._positions)
        for account, symbol in keys:
            conn.send(self._position_msg(account, symbol))
        conn.send([62, 1])

    def _cancel_positions(self, conn: _Conn, f: list[str]) -> None:
        conn.positions_sub = False

    def _req_contract_details(self, conn: _Conn, f: list[str]) -> None:
        req_id, cid_s, symbol = int(f[2]), f[3], f[4]
        if not symbol:
            symbol = next((s for s, c in _CON_IDS.items() if str(c) == cid_s), "")
        if not symbol or (f[5] or "STK") != "STK":
            self._error(conn, req_id, 200, "No security definition has been found for the request")
            return
        cid = con_id(symbol)
        # symbol .. minTick, then multiplier .. evMultiplier, numSecIds, aggGroup .. stockType, sizes
        conn.send(
            [10, req_id, symbol, "STK", "", 0.0, "", f[10] or "SMART", "USD", symbol, "NMS", "NMS", cid, 0.01]
            + ["", "LMT,MKT,MOC,LOC", "SMART,NASDAQ,NYSE,ARCA", 1, 0, f"{symbol} INC", "NASDAQ", ""]
            + ["", "", "", "US/Eastern", "", "", "", "", 0]
            + [1, "", "", "26", "", "COMMON", 1, 1, 100]
        )
        conn.send([52, 1, req_id])

    # ------------------------------------------------------------------ market data

    def _req_market_data_type(self, conn: _Conn, f: list[str]) -> None:
        conn.market_data_type = int(f[2])

    def _req_mkt_data(self, conn: _Conn, f: list[str]) -> None:
        req_id, symbol = int(f[2]), f[4]
        mdt = conn.market_data_type or self.default_market_data_type
        dn = f[15] not in ("", "0")
        rest = f[19 if dn else 16 :]
        snapshot = rest[1] not in ("", "0") if len(rest) > 1 else False
        with self._lock:
            self.snapshots.append({"symbol": symbol, "snapshot": snapshot, "type": mdt})
            q = self.quotes.get(symbol)
        if symbol in self.silent_quotes:
            return
        if not snapshot:
            self._error(conn, req_id, 10197, "the fake answers snapshots only")
            return
        if q is None:
            self._error(conn, req_id, 354, "Requested market data is not subscribed.")
            conn.send([57, 1, req_id])
            return
        bid, ask, last = q
        conn.send([58, 1, req_id, mdt])
        conn.send([81, req_id, 0.01, "9c0001", 3])
        delayed = mdt in (3, 4)  # delayed bid/ask/last are 66/67/68, their sizes 69/70/71
        for tick, size_tick, price, size in ((1, 0, bid, 300), (2, 3, ask, 200), (4, 5, last, 100)):
            if delayed:
                tick, size_tick = tick + 65, {0: 69, 3: 70, 5: 71}[size_tick]
            if price and price > 0:
                conn.send([1, 6, req_id, tick, float(price), size, 0])
                conn.send([2, 6, req_id, size_tick, size])
        conn.send([2, 6, req_id, 8, 12345])
        if last and last > 0:
            conn.send([46, 6, req_id, 45, int(self.now().timestamp())])
        conn.send([57, 1, req_id])

    # ------------------------------------------------------------------ encoders

    def _tws_time(self) -> str:
        return self.now().astimezone(ZoneInfo(TWS_TZ)).strftime("%Y%m%d %H:%M:%S ") + TWS_TZ

    @staticmethod
    def _contract11(o: _Order) -> list[Any]:
        """conId, symbol, secType, lastTradeDate, strike, right, multiplier, exchange, currency,
        localSymbol, tradingClass (openOrder / completedOrder)."""
        return [con_id(o.symbol), o.symbol, "STK", "", 0.0, "", "", "SMART", "USD", o.symbol, "NMS"]

    def _order_status(self, o: _Order, status: str | None = None, filled: float | None = None) -> list[Any]:
        filled = o.filled if filled is None else filled
        remaining = o.qty - filled  # the unexecuted quantity, also once Cancelled / Inactive
        avg = o.avg_price if filled else 0.0
        last = o.last_fill_price if filled else 0.0
        return [3, o.order_id, status or o.status, filled, remaining, avg, o.perm_id, 0, last, o.client_id, "", 0.0]

    def _open_order(self, o: _Order, status: str | None = None) -> list[Any]:
        return (
            [5, o.order_id]
            + self._contract11(o)
            # action .. orderRef, clientId, permId, outsideRth, hidden, discretionaryAmt,
            # goodAfterTime, (sharesAllocation), faGroup, faMethod, faPercentage (no faProfile: 178)
            + [o.action, o.qty, o.order_type, o.lmt_price, o.aux_price, o.tif, "", o.account, "", 0, o.order_ref]
            + [o.client_id, o.perm_id, o.outside_rth, False, 0.0, "", "", "", "", ""]
            # modelCode .. deltaNeutralAuxPrice
            + ["", "", "", "", "", 0, "", -1, 0, "", "", "", "", "", 0, False, False, False, "", 3]
            + [False, False, "", 0, 0, "", 0, "", ""]
            # continuousUpdate, referencePriceType, trailStopPrice, trailingPercent, basisPoints,
            # basisPointsType, comboLegsDescrip, 0 legs, 0 order legs, 0 smart combo params
            + [False, 0, "", "", "", "", "", 0, 0, 0]
            # scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement, hedgeType
            + ["", "", "", ""]
            # optOutSmartRouting, clearingAccount, clearingIntent, notHeld, no delta-neutral
            # contract, algoStrategy
            + [False, "", "IB", False, 0, ""]
            # solicited, whatIf, orderState: status, 9 margin fields, commission, min, max,
            # currency, warningText; randomizeSize, randomizePrice
            + [False, False, status or o.status]
            + [""] * 9
            + ["", "", "", "", ""]
            + [False, False]
            # no conditions; adjustedOrderType .. usePriceMgmtAlgo
            + [0, "None", "", "", "", "", "", "", 0, "", "", "", "", False, False, False, ""]
            # duration (159), postToAts (160), autoCancelParent (162), 5 peg fields (170)
            + ["", "", False, "", "", "", "", ""]
        )

    def _completed_order(self, o: _Order) -> list[Any]:
        return (
            [101]
            + self._contract11(o)
            # action .. orderRef, permId, outsideRth, hidden, discretionaryAmt, goodAfterTime,
            # faGroup, faMethod, faPercentage (no faProfile: 178)
            + [o.action, o.qty, o.order_type, o.lmt_price, o.aux_price, o.tif, "", o.account, "", 0, o.order_ref]
            + [o.perm_id, o.outside_rth, False, 0.0, "", "", "", ""]
            # modelCode .. deltaNeutralAuxPrice
            + ["", "", "", "", "", 0, "", -1, "", "", "", "", "", 0, False, False, "", 3, 0, "", 0, "", ""]
            # continuousUpdate, referencePriceType, trailStopPrice, trailingPercent,
            # comboLegsDescrip, 0 legs, 0 order legs, 0 smart combo params
            + [False, 0, "", "", "", 0, 0, 0]
            # scale fields, hedgeType, clearingAccount, clearingIntent, notHeld, no dnc, algo
            + ["", "", "", "", "", "IB", False, 0, ""]
            # solicited, status, randomizeSize, randomizePrice, no conditions
            + [False, o.status, False, False, 0]
            # trailStopPrice, lmtPriceOffset, cashQty, dontUseAutoPriceForHedge, isOmsContainer,
            # autoCancelDate, filledQuantity, refFuturesConId, autoCancelParent, shareholder,
            # imbalanceOnly, routeMarketableToBbo, parentPermId, completedTime, completedStatus
            + ["", "", "", False, False, "", o.filled, 0, False, "", False, False, 0]
            + [o.completed_time, o.completed_status]
            # 5 peg fields (170)
            + ["", "", "", "", ""]
        )

    def _exec_details(self, req_id: int, e: _Exec) -> list[Any]:
        o = e.order
        t = e.time.astimezone(ZoneInfo(TWS_TZ)).strftime("%Y%m%d %H:%M:%S ") + TWS_TZ
        return (
            [11, req_id, o.order_id, con_id(o.symbol), o.symbol, "STK", "", 0.0, "", "", "ISLAND", "USD"]
            + [o.symbol, "NMS", e.exec_id, t, o.account, "ISLAND", e.side, e.shares, e.price, o.perm_id]
            + [o.client_id, 0, e.cum_qty, e.avg_price, o.order_ref, "", "", "", 2]
            # pendingPriceRevision (178)
            + [False]
        )

    @staticmethod
    def _commission_report(e: _Exec) -> list[Any]:
        # realizedPNL and yield unset as TWS sends them for an opening trade
        return [59, 1, e.exec_id, e.commission, "USD", 1.7976931348623157e308, 1.7976931348623157e308, ""]
