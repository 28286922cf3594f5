"""The built-in paper broker: a deterministic simulator behind the :class:`Broker` interface.

State (orders, fills, positions, cash) lives in ``live/paper_broker.sqlite`` so that submit,
status, cancel and fills work across separate commands, as with a real broker. Same orders and
same quotes always give the same fills, ids and times.

Fill model (per order, at submission, against the day's ``quotes.csv``):

* buy: reference = ask (else last). A limit buy fills only if ``limit >= ask``; the fill price
  is ``ask x (1 + slippage_bps/10^4)`` capped at the limit, rounded to the tick.
  sell: mirror image against the bid (``limit <= bid``, ``bid x (1 - slippage)``, floored at
  the limit). Market orders take the reference price plus slippage.
* quantity: when the quote has ``ask_size``/``bid_size`` (shares), at most
  ``floor(size x participation)`` fills now; the rest stays open (``partially_filled``).
* no quote, or a limit away from the market: the order rests, unfilled (``new``).
* commission: ``max(commission_min_usd, notional x commission_bps / 10^4)``, rounded to cents.
* a sell beyond the position or a buy beyond cash is rejected, as a cash account would.
* positions and cash, exactly (Decimal): a position is its shares and its total cost ($, kept as
  decimal text; a buy adds shares x price, a sale removes cost pro rata, a split keeps it),
  reported with ``avg_entry_price`` = total cost / shares; the cash (decimal text) moves by each
  fill's exact notional and its commission; the account shows it rounded half-up to the cent.
* splits: the ones dated ``day`` in the day's events file are applied to its positions once,
  when it is first opened for ``day`` (a broker does its own corporate actions).

Session (the NYSE calendar of :mod:`xlexec.core.calendar`: 09:30 .. 16:00 New York, 13:00 on
half days, none on weekends and holidays). The broker trades one session, that of its ``day``,
against that day's quotes. Its clock is ``now_fn`` (``XLEXEC_NOW`` by default):

* *live* (the clock is on ``day``, New York date): an order accepted during the session is
  tried at once, timestamped ``now``. One accepted before the open is ``accepted`` (as Alpaca
  reports an order queued outside the session) and is tried at the open, timestamped exactly
  the open (09:30:00), against the quote it was accepted with (kept in ``pending``): the
  result is the same whichever later call first looks. One accepted at or after the close,
  or on a day without a session, never fills.
* *replay* (the clock is on another date: a past day re-run, or tests with the real clock):
  the session of ``day`` is simulated, each order at 09:35 New York + 7 s x its sequence
  number; one that would land at or after the close never fills; a day without a session
  never fills.
* DAY orders: an order still open at the close of its day (for a day without a session, the
  close of the next session) is ``expired`` (``updated_at`` = that close, or its submission
  when later) by the first call of any kind at or after the close (order, list, fills,
  positions, account, submit, cancel, replace): no status call is needed. No fill is ever
  timestamped outside the session of its day; ``clock()`` says open only inside it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import sqlite3
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pandas as pd

from xlexec.core import calendar as cal
from xlexec.core.corporate_actions import exact
from xlexec.core.costs import fraction_from_bps, half_up, usd_from_bps
from xlexec.core.positions import basis
from xlexec.core.symbols import canonical_symbol
from xlexec.execution.brokers.base import (
    OPEN_STATUSES,
    Account,
    Broker,
    DuplicateClientOrderId,
    Fill,
    MarketClock,
    Order,
    OrderRejected,
    OrderRequest,
    Position,
)
from xlexec.execution.clock import env_now
from xlexec.store.journal import wal_mode

NY = ZoneInfo("America/New_York")
ACCOUNT_NUMBER = "PA0000SIM001"  # the simulator's account: a paper number (``PA...``), as Alpaca's paper accounts


def _round_tick(price: float, up: bool) -> float:
    tick = 0.01 if price >= 1 else 0.0001
    n = price / tick
    n = math.ceil(n - 1e-9) if up else math.floor(n + 1e-9)
    return round(n * tick, 4)


def _plain(v):
    """A quote value JSON can hold (numpy scalars -> Python)."""
    return v.item() if hasattr(v, "item") else str(v)


class PaperBroker(Broker):
    name = "paper"
    paper = True
    thread_safe = False  # one SQLite connection: the engine sends to it from one thread

    def __init__(
        self,
        path: str | Path,
        *,
        quotes: pd.DataFrame | None = None,
        day: str | None = None,
        commission_bps: float = 1.0,
        commission_min_usd: float = 0.0,
        slippage_bps: float = 2.0,
        participation: float = 1.0,
        starting_cash: float = 100_000.0,
        seed_positions: pd.DataFrame | None = None,
        now_fn=None,
    ):
        self.path = Path(path)
        self.now_fn = now_fn or env_now
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.day = day
        self.quotes = {} if quotes is None else {r.symbol: r for r in quotes.itertuples(index=False)}
        self.commission_bps = commission_bps
        self.commission_min = commission_min_usd
        self.slippage_bps = slippage_bps
        self.participation = participation
        self._con = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        wal_mode(self._con)  # several processes may open the simulated broker at once
        self._con.executescript("""
            CREATE TABLE IF NOT EXISTS orders(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE,
                client_order_id TEXT UNIQUE, day TEXT, body TEXT);
            CREATE TABLE IF NOT EXISTS fills(id TEXT PRIMARY KEY, order_id TEXT, day TEXT, body TEXT);
            CREATE TABLE IF NOT EXISTS positions(symbol TEXT PRIMARY KEY, qty REAL, avg REAL, cost TEXT);
            CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT);
            CREATE TABLE IF NOT EXISTS pending(order_id TEXT PRIMARY KEY, active_at REAL, quote TEXT);
        """)
        if "cost" not in {c[1] for c in self._con.execute("PRAGMA table_info(positions)")}:
            # an older file: add the exact total cost ($, decimal text); its rows without it: qty x avg
            try:
                self._con.execute("ALTER TABLE positions ADD COLUMN cost TEXT")
            except sqlite3.OperationalError as e:  # another process added it first
                if "duplicate column" not in str(e):
                    raise
        self._ends: dict[str, float | None] = {}  # day -> its orders' expiry (epoch s), cached
        with self._tx():
            if self._meta("cash") is None:
                self._set_meta("cash", str(exact(float(starting_cash))))
                if seed_positions is not None:
                    for r in seed_positions.itertuples(index=False):
                        if float(r.shares) != 0:
                            total, _ = basis(r.shares, getattr(r, "avg_cost", None), getattr(r, "total_cost", None))
                            self._put(r.symbol, exact(float(r.shares)), total)

    @classmethod
    def for_config(
        cls,
        cfg,
        live_dir,
        *,
        quotes: pd.DataFrame | None = None,
        day: str | None = None,
        seed_positions: pd.DataFrame | None = None,
        now_fn=None,
    ) -> PaperBroker:
        live_dir = Path(live_dir)
        if quotes is None and day is not None and (live_dir / day / "quotes.csv").exists():
            from xlexec.formats.inputs import read_quotes

            quotes = read_quotes(live_dir / day / "quotes.csv")
        if (
            seed_positions is None
            and (live_dir / "current_positions.csv").exists()
            and not (live_dir / "paper_broker.sqlite").exists()
        ):
            from xlexec.formats.inputs import read_positions

            seed_positions = read_positions(live_dir / "current_positions.csv")
        p = cfg.execution.paper
        broker = cls(
            live_dir / "paper_broker.sqlite",
            quotes=quotes,
            day=day,
            commission_bps=cfg.costs_bps if p.commission_bps is None else p.commission_bps,
            commission_min_usd=p.commission_min_usd,
            slippage_bps=cfg.slippage_bps if p.slippage_bps is None else p.slippage_bps,
            participation=p.participation,
            starting_cash=p.starting_cash,
            seed_positions=seed_positions,
            now_fn=now_fn,
        )
        if day is not None:  # the broker does its own corporate actions, as a real one does
            from xlexec.formats.inputs import read_events
            from xlexec.store.day import Day

            ev = Day(live_dir, day).events_file()
            if ev is not None:
                broker.apply_splits_once(read_events(ev, missing_ok=False), day)
        return broker

    def apply_splits_once(self, events: pd.DataFrame, day: str) -> None:
        """The splits dated ``day`` applied to the simulated positions once (meta ``splits:DAY``;
        :func:`xlexec.core.corporate_actions.apply_splits`: shares x ratio, cost unchanged)."""
        from xlexec.core.corporate_actions import split_ratios

        if not split_ratios(events, day):
            return
        with self._tx():
            if self._meta(f"splits:{day}") is not None:
                return
            ratios = split_ratios(events, day)
            for sym, (qty, cost) in self._held_all().items():
                r = ratios.get(canonical_symbol(sym))
                if r is not None:
                    self._put(sym, qty * r, cost)  # shares x ratio, the total cost unchanged
            self._set_meta(f"splits:{day}", "applied")

    # -- positions: shares and the exact total cost ------------------------------------------
    def _held_all(self) -> dict[str, tuple[Decimal, Decimal]]:
        """symbol -> (shares, total cost $), exact; a row without ``cost`` (older file): qty x avg."""
        out = {}
        for sym, qty, avg, cost in self._con.execute("SELECT symbol, qty, avg, cost FROM positions ORDER BY symbol"):
            q = exact(float(qty))
            out[sym] = (q, Decimal(cost) if cost is not None else q * exact(float(avg)))
        return out

    def _put(self, symbol: str, qty: Decimal, cost: Decimal) -> None:
        """Store a position (shares, total cost $, exact); ``avg`` = cost / shares (derived); flat: removed."""
        if abs(qty) < Decimal("1e-9"):
            self._con.execute("DELETE FROM positions WHERE symbol=?", (symbol,))
            return
        self._con.execute(
            "INSERT OR REPLACE INTO positions(symbol, qty, avg, cost) VALUES (?,?,?,?)",
            (symbol, float(qty), float(cost / qty), str(cost)),
        )

    # -- plumbing ---------------------------------------------------------------------------
    def _tx(self):
        con = self._con

        class _T:
            def __enter__(self_inner):
                con.execute("BEGIN IMMEDIATE")

            def __exit__(self_inner, et, ev, tb):
                con.execute("ROLLBACK" if et else "COMMIT")

        return _T()

    def _meta(self, k):
        r = self._con.execute("SELECT v FROM meta WHERE k=?", (k,)).fetchone()
        return None if r is None else r[0]

    def _set_meta(self, k, v):
        self._con.execute("INSERT OR REPLACE INTO meta VALUES (?,?)", (k, v))

    def _save(self, o: Order, day: str | None = None) -> None:
        self._con.execute(
            "INSERT INTO orders(id, client_order_id, day, body) VALUES (?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET body=excluded.body",
            (o.id, o.client_order_id, day or self.day or "", json.dumps(o.to_dict())),
        )

    @staticmethod
    def _load(body: str) -> Order:
        return Order(**json.loads(body))

    def _live(self, now: dt.datetime) -> bool:
        """True when the clock is on the simulated day (New York date): session rules use it."""
        return bool(self.day) and now.astimezone(NY).date().isoformat() == self.day

    def _event_time(self, seq: int, now: dt.datetime) -> dt.datetime:
        """When an order is accepted: the clock when live, else 09:35 New York + 7 s/order on the day."""
        if self._live(now):
            return now.astimezone(dt.UTC)
        day = dt.date.fromisoformat(self.day) if self.day else dt.date(2000, 1, 3)
        t = dt.datetime.combine(day, dt.time(9, 35), NY) + dt.timedelta(seconds=7 * seq)
        return t.astimezone(dt.UTC)

    def _sim_time(self, seq: int) -> str:
        """The clock when it reads the simulated day (pinned or real), else 09:35 New York + 7 s/order."""
        return self._event_time(seq, self.now_fn()).isoformat()

    def _session(self) -> tuple[dt.datetime, dt.datetime] | None:
        """(open, close) of the simulated day's session, UTC; None when it has none (or no day)."""
        day = self.day or "2000-01-03"
        try:
            if not cal.is_session(day):
                return None
            return (cal.session_open_utc(day).to_pydatetime(), cal.session_close_utc(day).to_pydatetime())
        except ValueError:
            return None

    def _fill_at(self, t: dt.datetime) -> dt.datetime | None:
        """When an order accepted at ``t`` may be tried: ``t`` in the session, the open before
        it, None at or after the close or on a day without a session."""
        s = self._session()
        if s is None or t >= s[1]:
            return None
        return max(t, s[0])

    def _end_of(self, day: str) -> float | None:
        """Epoch seconds at which open DAY orders of ``day`` expire: its close, or the next
        session's close for a day without one; None for an order without a day."""
        if day not in self._ends:
            end = None
            try:
                if day:
                    s = day if cal.is_session(day) else cal.next_session(day)
                    end = cal.session_close_utc(s).timestamp()
            except ValueError:
                end = None
            self._ends[day] = end
        return self._ends[day]

    def _advance(self) -> None:
        """Bring the book to the clock: orders waiting for the open are tried at the open (in
        acceptance order), then open orders whose day has closed expire. Depends only on what
        is stored and on the clock, so every reader sees the same book. Writes (one
        transaction) only when there is something to do."""
        now = self.now_fn().timestamp()
        if self._due(now) or self._ended(now):
            with self._tx():
                self._open_due(now)
                for day in self._ended(now):
                    self._expire(day)

    def _due(self, now: float) -> list[tuple]:
        return self._con.execute(
            "SELECT p.order_id, p.active_at, p.quote, o.body FROM pending p JOIN orders o ON o.id = p.order_id "
            "WHERE p.active_at <= ? ORDER BY p.active_at, o.seq",
            (now,),
        ).fetchall()

    def _open_sql(self) -> str:
        return f"json_extract(body, '$.status') IN ({','.join('?' * len(OPEN_STATUSES))})"

    def _ended(self, now: float) -> list[str]:
        """Days with an order still open whose orders' end (:meth:`_end_of`) has come."""
        days = self._con.execute(
            f"SELECT DISTINCT day FROM orders WHERE {self._open_sql()}", sorted(OPEN_STATUSES)
        ).fetchall()
        return [d for (d,) in days if (end := self._end_of(d)) is not None and end <= now]

    def _open_due(self, now: float) -> None:
        for oid, at, quote, body in self._due(now):
            o = self._load(body)
            if o.is_open:
                t = dt.datetime.fromtimestamp(at, dt.UTC)
                o.status, o.updated_at = "new", t.isoformat()
                self._try_fill(o, None if quote is None else SimpleNamespace(**json.loads(quote)), t)
                self._save(o)
            self._con.execute("DELETE FROM pending WHERE order_id=?", (oid,))

    def _expire(self, day: str) -> None:
        """Open orders of ``day`` -> ``expired`` at its end (or at their submission, when later)."""
        end = self._end_of(day)
        assert end is not None
        at = dt.datetime.fromtimestamp(end, dt.UTC).isoformat()
        rows = self._con.execute(
            f"SELECT body FROM orders WHERE day=? AND {self._open_sql()} ORDER BY seq", (day, *sorted(OPEN_STATUSES))
        ).fetchall()
        for (body,) in rows:
            o = self._load(body)
            o.status, o.updated_at = "expired", max(at, o.submitted_at or "")
            self._con.execute("DELETE FROM pending WHERE order_id=?", (o.id,))
            self._save(o)

    def _place(self, o: Order, t: dt.datetime) -> None:
        """A just-accepted order: tried now in the session, kept for the open before it, else it rests."""
        q = self.quotes.get(o.symbol)
        at = self._fill_at(t)
        if at is None:  # the session is over, or there is none: accepted, it never works
            o.status = "accepted"
            return
        if at > t:
            o.status = "accepted"
            quote = None if q is None else json.dumps(q._asdict(), default=_plain)
            self._con.execute("INSERT OR REPLACE INTO pending VALUES (?,?,?)", (o.id, at.timestamp(), quote))
            return
        self._try_fill(o, q, t)

    # -- Broker interface -----------------------------------------------------------------------
    def submit_order(self, req: OrderRequest) -> Order:
        self.before_wire(f"submit {req.client_order_id}")
        if req.qty <= 0 or float(req.qty) != int(req.qty):
            raise OrderRejected(f"qty must be a positive whole number, got {req.qty}", 422)
        if req.order_type == "limit" and (req.limit_price is None or req.limit_price <= 0):
            raise OrderRejected("limit orders need a positive limit_price", 422)
        self._advance()
        with self._tx():
            if (
                req.client_order_id
                and self._con.execute("SELECT 1 FROM orders WHERE client_order_id=?", (req.client_order_id,)).fetchone()
            ):
                raise DuplicateClientOrderId("client_order_id must be unique")
            seq = self._con.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
            oid = "paper-" + hashlib.sha1((req.client_order_id or f"anon{seq}").encode()).hexdigest()[:16]
            t = self._event_time(seq, self.now_fn())
            now = t.isoformat()
            o = Order(
                id=oid,
                client_order_id=req.client_order_id,
                symbol=req.symbol,
                side=req.side,
                qty=float(req.qty),
                order_type=req.order_type,
                limit_price=req.limit_price,
                status="new",
                submitted_at=now,
                updated_at=now,
            )
            held = self._con.execute("SELECT qty FROM positions WHERE symbol=?", (req.symbol,)).fetchone()
            held_qty = held[0] if held else 0.0
            if req.side == "sell" and req.qty > held_qty + 1e-9:
                raise OrderRejected(
                    f"insufficient qty available for order (requested: {req.qty}, available: {held_qty:g})", 403
                )
            self._place(o, t)
            self._save(o)
            return o

    def _try_fill(self, o: Order, q, t: dt.datetime) -> None:
        """Fill what the quote ``q`` allows of ``o`` at time ``t`` (inside the session)."""
        if q is None:
            return
        buy = o.side == "buy"
        ref = q.ask if buy else q.bid
        if ref is None or (isinstance(ref, float) and (math.isnan(ref) or ref <= 0)):
            ref = q.last
        if ref is None or (isinstance(ref, float) and math.isnan(ref)) or ref <= 0:
            return
        lim = o.limit_price if o.order_type == "limit" else None
        if lim is not None and ((buy and lim < ref) or (not buy and lim > ref)):
            return
        slip = fraction_from_bps(self.slippage_bps)
        px = _round_tick(ref * (1 + slip), up=True) if buy else _round_tick(ref * (1 - slip), up=False)
        if lim is not None:
            px = min(px, lim) if buy else max(px, lim)
        size = getattr(q, "ask_size" if buy else "bid_size", float("nan"))
        qty = o.qty - o.filled_qty
        if size is not None and not (isinstance(size, float) and math.isnan(size)):
            qty = min(qty, math.floor(size * self.participation))
        if qty <= 0:
            return
        if not buy:
            held = self._con.execute("SELECT qty FROM positions WHERE symbol=?", (o.symbol,)).fetchone()
            if qty > (held[0] if held else 0.0) + 1e-9:
                o.status, o.reason = "rejected", "insufficient qty available for order"
                return
        notional = exact(float(qty)) * exact(float(px))  # $, exact
        commission = round(max(self.commission_min, usd_from_bps(float(notional), self.commission_bps)), 2)
        cash = Decimal(self._meta("cash"))  # exact decimal text (an older file: a float's repr)
        if buy and notional + exact(commission) > cash + Decimal("1e-6"):
            o.status, o.reason = "rejected", "insufficient buying power"
            return
        pq, pc = self._held_all().get(o.symbol, (Decimal(0), Decimal(0)))
        q = exact(float(qty))
        if buy:  # the cost basis: + shares x price (commission is cash, not basis)
            self._put(o.symbol, pq + q, pc + notional)
            cash -= notional + exact(commission)
        else:  # a sale removes cost pro rata (the average cost is unchanged)
            self._put(o.symbol, pq - q, pc * (pq - q) / pq if pq else Decimal(0))
            cash += notional - exact(commission)
        self._set_meta("cash", str(cash))
        n_prev = self._con.execute("SELECT COUNT(*) FROM fills WHERE order_id=?", (o.id,)).fetchone()[0]
        f = Fill(
            id=f"{o.id}-{n_prev + 1}",
            order_id=o.id,
            symbol=o.symbol,
            side=o.side,
            qty=float(qty),
            price=px,
            transaction_time=t.isoformat(),
            client_order_id=o.client_order_id,
            commission=commission,
        )
        self._con.execute("INSERT INTO fills VALUES (?,?,?,?)", (f.id, o.id, self.day or "", json.dumps(f.to_dict())))
        prev = o.filled_qty * (o.filled_avg_price or 0.0)
        o.filled_qty += qty
        o.filled_avg_price = round((prev + qty * px) / o.filled_qty, 6)
        o.status = "filled" if o.filled_qty >= o.qty else "partially_filled"
        o.updated_at = t.isoformat()

    def get_order(self, order_id: str) -> Order:
        self._advance()
        r = self._con.execute("SELECT body FROM orders WHERE id=?", (order_id,)).fetchone()
        if r is None:
            raise OrderRejected(f"order {order_id} not found", 404)
        return self._load(r[0])

    def get_order_by_client_id(self, client_order_id: str) -> Order | None:
        self._advance()
        r = self._con.execute("SELECT body FROM orders WHERE client_order_id=?", (client_order_id,)).fetchone()
        return None if r is None else self._load(r[0])

    def list_orders(self, status: str = "all", after: str | None = None) -> list[Order]:
        self._advance()
        return self._list(status, after)

    def _list(self, status: str = "all", after: str | None = None) -> list[Order]:
        out = [self._load(b) for (b,) in self._con.execute("SELECT body FROM orders ORDER BY seq")]
        if status == "open":
            out = [o for o in out if o.status in OPEN_STATUSES]
        elif status == "closed":
            out = [o for o in out if o.status not in OPEN_STATUSES]
        if after:
            out = [o for o in out if (o.submitted_at or "") > after]
        return out

    def cancel_order(self, order_id: str) -> None:
        self._advance()
        with self._tx():
            r = self._con.execute("SELECT body FROM orders WHERE id=?", (order_id,)).fetchone()
            if r is None:
                raise OrderRejected(f"order {order_id} not found", 404)
            o = self._load(r[0])
            if o.status not in OPEN_STATUSES:
                raise OrderRejected(f"order is already {o.status}", 422)
            o.status = "canceled"
            self._con.execute("DELETE FROM pending WHERE order_id=?", (o.id,))
            self._save(o)

    def replace_order(self, order_id: str, *, limit_price: float, client_order_id: str) -> Order:
        """The remaining quantity at a new limit, as a new order; the old one is ``replaced``."""
        self.before_wire(f"replace {order_id}")
        self._advance()
        with self._tx():
            if self._con.execute("SELECT 1 FROM orders WHERE client_order_id=?", (client_order_id,)).fetchone():
                raise DuplicateClientOrderId("client_order_id must be unique")
            r = self._con.execute("SELECT body FROM orders WHERE id=?", (order_id,)).fetchone()
            if r is None:
                raise OrderRejected(f"order {order_id} not found", 404)
            old = self._load(r[0])
            if old.status not in OPEN_STATUSES or old.order_type != "limit":
                raise OrderRejected(f"order is {old.status}: it cannot be replaced", 422)
            seq = self._con.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
            t = self._event_time(seq, self.now_fn())
            now = t.isoformat()
            old.status, old.updated_at = "replaced", now
            self._con.execute("DELETE FROM pending WHERE order_id=?", (old.id,))
            self._save(old)
            new = Order(
                id="paper-" + hashlib.sha1(client_order_id.encode()).hexdigest()[:16],
                client_order_id=client_order_id,
                symbol=old.symbol,
                side=old.side,
                qty=old.remaining,
                order_type="limit",
                limit_price=float(limit_price),
                status="new",
                submitted_at=now,
                updated_at=now,
            )
            self._place(new, t)
            self._save(new)
            return new

    def _close_open(self, status: str) -> list[str]:
        """Every open order -> ``status``, in one transaction; returns their ids."""
        self._advance()
        with self._tx():
            ids = []
            for o in self._list("open"):
                o.status = status
                self._con.execute("DELETE FROM pending WHERE order_id=?", (o.id,))
                self._save(o)
                ids.append(o.id)
            return ids

    def cancel_all(self) -> list[str]:
        return self._close_open("canceled")

    def expire_day(self) -> list[str]:
        """End of session: DAY orders still open expire (what a real broker does at the close)."""
        return self._close_open("expired")

    def positions(self) -> list[Position]:
        self._advance()
        out = []
        for sym, (qty, cost) in self._held_all().items():
            avg = float(cost / qty)
            q = self.quotes.get(sym)
            mark = getattr(q, "mid", None) if q is not None else None
            if mark is None or (isinstance(mark, float) and math.isnan(mark)):
                mark = avg
            out.append(Position(sym, float(qty), avg, mark, float(qty * exact(float(mark))) + 0.0))
        return out

    def account(self) -> Account:
        self._advance()
        cash = Decimal(self._meta("cash"))
        mv = sum((exact(float(p.market_value or 0.0)) for p in self.positions()), Decimal(0))
        shown = half_up(cash, 2) or 0.0
        return Account(
            cash=shown,
            buying_power=shown,
            portfolio_value=half_up(cash + mv, 2) or 0.0,
            account_number=ACCOUNT_NUMBER,
        )

    def clock(self) -> MarketClock:
        """The NYSE session of the simulated day: live (clock on the day), open from 09:30 to the
        close (16:00, 13:00 on half days); in a replay, open all that day when it is a session."""
        now = self.now_fn()
        day = self.day or now.astimezone(NY).date().isoformat()
        try:
            if not cal.is_session(day):
                nxt = cal.next_session(day)
                return MarketClock(
                    timestamp=self._sim_time(0),
                    is_open=False,
                    next_open=cal.session_open_utc(nxt).isoformat(),
                    next_close=cal.session_close_utc(nxt).isoformat(),
                )
            op, cl = cal.session_open_utc(day), cal.session_close_utc(day)
            if self.day and not self._live(now):  # a replay: the simulated session
                return MarketClock(self._sim_time(0), True, op.isoformat(), cl.isoformat())
            t = pd.Timestamp(now)
            nxt = cal.next_session(day)
            return MarketClock(
                timestamp=now.astimezone(dt.UTC).isoformat(),
                is_open=bool(op <= t < cl),
                next_open=(op if t < op else cal.session_open_utc(nxt)).isoformat(),
                next_close=(cl if t < cl else cal.session_close_utc(nxt)).isoformat(),
            )
        except ValueError:
            return MarketClock(timestamp=self._sim_time(0), is_open=False)

    def fills(self, day: str) -> list[Fill]:
        self._advance()
        return [
            Fill(**json.loads(b))
            for (b,) in self._con.execute("SELECT body FROM fills WHERE day=? ORDER BY rowid", (day,))
        ]

    def close(self) -> None:
        self._con.close()
