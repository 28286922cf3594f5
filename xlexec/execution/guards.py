"""What may be sent: the switch ``execution.enabled``, the kill switch and the pre-trade limits.

**Pre-trade limits** are checks of the same base and registry mechanism as validation's
(:mod:`xlexec.core.checks`): a small class per limit with a stable ``id`` (the refusal code
journaled as ``REFUSED`` and shown in the order's note), its rule and units in the docstring,
and a ``policy``: ``fail`` refuses the order (nothing sent), ``warn`` and ``log`` let it go with
the note. They run in the order of :data:`SUBMISSION`; the first limit that refuses an order
names it. Orders already journaled as intents (``known``) skip them: they passed when first
sent and may be at the broker. Units: $ notional = qty x limit for a limit order; a market
order is valued at the live quote, qty x ask for a buy and qty x bid for a sell
(:func:`xlexec.core.quotes.market_value`), never at the signal price, for every $ limit (order
size, buying power); ``price_collar_pct`` and ``buying_power_buffer`` as fractions;
``max_quote_age_seconds`` in seconds (a quote older than that, or without a time, is no quote:
see :class:`FreshQuote`).

**Batch guards** (:class:`RefusedError`, nothing sent): :func:`require_enabled`
(``execution.enabled: false`` switches sending off) and :func:`kill_switch_state`.

**The gate right before the wire** (:func:`wire_gate`, installed on a broker by :func:`gated`):
every path that sends or writes orders (submit and its sliced children, chase replacements,
convert, the workbook buttons, which call the same steps) passes this one check of the kill
switch (``live/KILL_SWITCH`` and the trades header) immediately before each request, after any
rate-limit wait; it raises :class:`~xlexec.errors.GateClosed` and nothing goes out. Orders
waiting in a rate limiter when cancel-all runs therefore never reach the broker. Submit and the
chase also hand it a ``policy_check`` (:func:`xlexec.store.policy.gate_check`): the policy was
checked when the run was authorised and the config is loaded once per process, so the gate
re-reads only what can change under a running process, the restricted list, and closes when it
is no longer the authorised policy's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xlexec.core.checks.base import Check
from xlexec.core.checks.model import kill_switch_reason, kill_switch_triggered
from xlexec.core.checks.registry import Registry
from xlexec.core.money import usd
from xlexec.core.quotes import market_value, mid_map, quote_age_problems, side_quotes
from xlexec.core.restricted import restricted_reason
from xlexec.errors import GateClosed, RefusedError

SUBMISSION = Registry("submission")
limit = SUBMISSION.register


# ---------------------------------------------------------------------------------------------
# batch guards


def require_enabled(enabled: bool, source: str = "config.yaml", *, what: str = "submit", tag: str = "") -> None:
    """Refuse (:class:`RefusedError`, nothing sent) when ``execution.enabled`` is false; the
    message names the key and the config file (``source``), after the mode ``tag`` if given."""
    if not enabled:
        raise RefusedError(
            f"{tag + ' ' if tag else ''}execution.enabled is false ({source}): sending orders "
            f"is switched off; {what} refused, nothing sent (set execution.enabled: true "
            "to trade)",
            rule="execution_enabled",
        )


HEADER_NOT_IN_PLAY = "\x00no trades file"  # kill_switch_state without a trades header to read


def kill_switch_state(live_dir: Path, header_kill_switch: str | None = HEADER_NOT_IN_PLAY) -> str | None:
    """Why trading is stopped, or None: the trades header's kill switch is not ``ACTIVE`` (fail
    closed: triggered, unknown or missing) or ``live/KILL_SWITCH`` exists. ``header_kill_switch``
    left out = no trades file in play (only the file is checked)."""
    if header_kill_switch != HEADER_NOT_IN_PLAY and kill_switch_triggered(header_kill_switch):
        return kill_switch_reason(header_kill_switch)
    f = Path(live_dir) / "KILL_SWITCH"
    if f.exists():
        first = ""
        with contextlib.suppress(OSError, IndexError):
            first = f.read_text(encoding="utf-8", errors="replace").strip().splitlines()[0][:200]
        return f"{f} exists ({first or 'kill switch triggered'}); delete it once the incident is closed"
    return None


def wire_gate(
    live_dir: Path,
    header_kill_switch: str | None = HEADER_NOT_IN_PLAY,
    *,
    what: str = "order",
    policy_check: Callable[[], str | None] | None = None,
) -> None:
    """The one check right before the wire: raises :class:`GateClosed` (nothing sent) when the
    kill switch is triggered (``live/KILL_SWITCH`` exists, or the trades header says so), or when
    ``policy_check`` (the run's authorised policy, :func:`xlexec.store.policy.gate_check`) says
    the policy changed since the run was authorised."""
    why = kill_switch_state(live_dir, header_kill_switch)
    if why:
        raise GateClosed(f"kill switch: {why}; {what}: not sent")
    changed = policy_check() if policy_check is not None else None
    if changed:
        raise GateClosed(f"{changed}; {what}: not sent")


@contextlib.contextmanager
def gated(
    broker,
    live_dir: Path,
    header_kill_switch: str | None = HEADER_NOT_IN_PLAY,
    policy_check: Callable[[], str | None] | None = None,
) -> Iterator[None]:
    """Install :func:`wire_gate` on ``broker`` (its ``gate``) for the ``with`` block: each order
    request the adapter makes (submit, replace) passes it after any pacing wait."""
    previous = getattr(broker, "gate", None)
    broker.gate = lambda what: wire_gate(live_dir, header_kill_switch, what=what, policy_check=policy_check)
    try:
        yield
    finally:
        broker.gate = previous


# ---------------------------------------------------------------------------------------------
# pre-trade limits


@dataclass
class OrderContext:
    """One batch being decided: ``orders`` carries ``arrival_price``, ``refusal`` and ``note``."""

    orders: pd.DataFrame
    new: pd.Series  # bool: no intent yet (the limits apply)
    max_order_size_usd: float
    max_daily_trades: int
    price_collar_pct: float | None
    buying_power: float | None
    buying_power_buffer: float
    restricted: pd.DataFrame | None = None
    trades_used_today: int = 0
    others: pd.DataFrame | None = None
    fit_buying_power: bool = False
    held: pd.Series | None = None  # shares held when the day opened, by symbol (None = unknown)
    allow_short: bool = False
    quotes: pd.DataFrame | None = None  # symbol, bid, ask, timestamp: market orders' value, quote age
    now: Any = None  # the time quotes are aged at (tz-aware; None = no clock: no quote is usable)
    max_quote_age_seconds: float = 60.0
    _notional: pd.Series | None = field(default=None, repr=False)

    @property
    def market(self) -> pd.Series:
        """bool per order: a market order (valued at the live quote)."""
        ot = self.orders["order_type"] if "order_type" in self.orders.columns else ""
        return pd.Series(ot == "market", index=self.orders.index, dtype=bool)

    @property
    def needs_quote(self) -> pd.Series:
        """bool per order: its limits need a live quote (market orders: the $ value; every order
        while the price collar is on: the mid)."""
        if self.price_collar_pct is not None:
            return pd.Series(True, index=self.orders.index)
        return self.market

    @property
    def quote_problem(self) -> pd.Series:
        """Per order, why its symbol's quote may not be used ("" = usable or no quote at all)."""
        probs = quote_age_problems(self.quotes, self.now, self.max_quote_age_seconds)
        return self.orders["symbol"].map(probs).fillna("").astype(object)

    @property
    def side_price(self) -> pd.Series:
        """$ per share a market order is valued at: the ask for a buy, the bid for a sell (NaN
        without it); NaN for limit orders."""
        sq = side_quotes(self.quotes)
        o = self.orders
        px = o["symbol"].map(sq["ask"]).where(o["side"] == "buy", o["symbol"].map(sq["bid"])).astype(float)
        return px.where(self.market)

    @property
    def notional(self) -> pd.Series:
        """$ per order (NaN when it cannot be valued): qty x limit, or for a market order qty x
        ask (buy) / bid (sell) of the live quote (:func:`market_value`)."""
        if self._notional is None:
            n = pd.to_numeric(self.orders["notional"], errors="coerce").astype(float)
            mkt = self.market
            if mkt.any():
                o, sq = self.orders, side_quotes(self.quotes)
                qty = pd.to_numeric(o["qty"], errors="coerce").astype(float)
                bid, ask = o["symbol"].map(sq["bid"]), o["symbol"].map(sq["ask"])
                v = pd.Series(market_value(qty, o["side"], bid, ask), index=o.index)
                n = n.where(~mkt, v)
            self._notional = n
        return self._notional

    def open(self) -> pd.Series:
        """New orders not refused so far."""
        return self.new & (self.orders["refusal"] == "")


class Refusals:
    """Collector of one limit's decisions: writes ``refusal``/``note`` into the batch frame."""

    def __init__(self, c: OrderContext, check: Check) -> None:
        self.c, self.check = c, check

    def refuse(self, mask: pd.Series, notes) -> None:
        """Orders where ``mask`` (new and not yet refused) breach this limit; ``notes``: str or Series."""
        out = self.c.orders
        m = mask & self.c.open()
        if not m.any():
            return
        if self.check.policy == "fail":
            out.loc[m, "refusal"] = self.check.id
        else:  # warn / log: the order goes, with the note (unless it already has one)
            m = m & (out["note"] == "")
        out.loc[m, "note"] = notes[m] if isinstance(notes, pd.Series) else notes


@limit
class Restricted(Check):
    """No order for a symbol on the restricted list (``live/restricted.csv``: symbol, reason)."""

    id = "restricted"

    def rows(self, c: OrderContext, out: Refusals) -> None:
        why = restricted_reason(c.orders["symbol"], c.restricted)  # the one rule validation shares
        out.refuse(why != "", "restricted list: " + why)


@limit
class WholeShares(Check):
    """qty is a whole positive number of shares: the request carries whole shares, so 17.5 would go
    out as 18 (0.4 as 0), a different order from the one approved."""

    id = "fractional_shares"

    def rows(self, c: OrderContext, out: Refusals) -> None:
        qty = pd.to_numeric(c.orders["qty"], errors="coerce").astype(float)
        frac = ~np.isfinite(qty) | (qty % 1 != 0) | (qty <= 0)
        out.refuse(
            frac,
            qty.map(
                lambda v: f"{v:g} shares is not a whole positive number: not sent (fix trades.csv and approve again)"
            ),
        )


@limit
class FreshQuote(Check):
    """An order whose limits need a quote (every market order: its $ value is shares x ask or
    bid; every order while ``price_collar_pct`` is set: the mid) has one at most
    ``max_quote_age_seconds`` (seconds) old, whatever the collar setting. The age is measured
    from now during the NYSE session and from the last session's close outside it (a closing
    quote serves an ``--allow-closed`` submit; a week-old one never does). A quote without a
    timestamp, or stamped more than that age after now, is refused the same (fail closed)."""

    id = "stale_quote"

    def rows(self, c: OrderContext, out: Refusals) -> None:
        need = c.needs_quote
        if not need.any():
            return
        prob = c.quote_problem
        why = pd.Series("to check the price collar", index=c.orders.index).where(~c.market, "to value the market order")
        out.refuse(need & (prob != ""), c.orders["symbol"] + ": " + prob + "; a live quote is needed " + why)


@limit
class MarketQuote(Check):
    """A market order is valued at the live quote: shares x ask for a buy, shares x bid for a
    sell ($). Without that side of the quote (missing, or not > 0) it cannot be held to the $
    limits and is refused (fail closed; never the signal price, which is not what it will pay)."""

    id = "no_market_quote"

    def rows(self, c: OrderContext, out: Refusals) -> None:
        mkt = c.market
        if not mkt.any():
            return
        o = c.orders
        what = pd.Series("bid", index=o.index).where(o["side"] != "buy", "ask")
        out.refuse(
            mkt & ~np.isfinite(c.notional),
            "no " + what + " quote for " + o["symbol"] + " to value the market " + o["side"].astype(str) + " order at",
        )


@limit
class Priced(Check):
    """The order has a $ notional: one that cannot be valued cannot be held to the $ limits (fail closed)."""

    id = "no_price"

    def rows(self, c: OrderContext, out: Refusals) -> None:
        out.refuse(
            ~np.isfinite(c.notional), "no price to value the order against the limits (no limit, signal price or quote)"
        )


@limit
class MaxOrderSize(Check):
    """Notional ($) <= ``max_order_size_usd``."""

    id = "max_order_size"

    def rows(self, c: OrderContext, out: Refusals) -> None:
        cap = float(c.max_order_size_usd)
        px, qty = c.side_price, pd.to_numeric(c.orders["qty"], errors="coerce").astype(float)
        what = pd.Series("ask", index=c.orders.index).where(c.orders["side"] == "buy", "bid")
        basis = (" (" + qty.map(lambda v: f"{v:g}") + " x " + what + " " + px.map(usd) + ")").where(
            c.market & px.notna(), ""
        )
        out.refuse(
            c.notional > cap,
            c.notional.map(usd) + basis + f" exceeds max_order_size_usd {usd(c.max_order_size_usd)}",
        )


@limit
class CollarQuote(Check):
    """With a price collar on, every order has a quote mid to hold it to (fail closed)."""

    id = "no_quote"

    def rows(self, c: OrderContext, out: Refusals) -> None:
        if c.price_collar_pct is None:
            return
        out.refuse(
            c.orders["arrival_price"].isna(), f"no quote to check the {c.price_collar_pct:.1%} price collar against"
        )


@limit
class PriceCollar(Check):
    """|limit (or signal price) - quote mid| / mid <= ``price_collar_pct`` (fraction)."""

    id = "price_collar"

    def rows(self, c: OrderContext, out: Refusals) -> None:
        if c.price_collar_pct is None:
            return
        o, collar = c.orders, c.price_collar_pct
        ref = o["limit_price"].where(o["limit_price"].notna(), o["price"]).astype(float)
        mid = o["arrival_price"]
        dev = (ref - mid).abs() / mid
        out.refuse(
            dev > float(collar) + 1e-12,
            ref.map(usd)
            + " is "
            + dev.map(lambda v: f"{v:.2%}")
            + " from the quote mid "
            + mid.map(usd)
            + f" (collar {collar:.1%})",
        )


@limit
class Duplicate(Check):
    """No second order for a (symbol, side) already live or (partly) filled today under another
    client order id (``others``: symbol, side, client_order_id, status)."""

    id = "duplicate"

    def rows(self, c: OrderContext, out: Refusals) -> None:
        if c.others is None or not len(c.others):
            return
        o = c.orders
        prior = c.others.drop_duplicates(["symbol", "side"]).set_index(["symbol", "side"])
        keys = pd.MultiIndex.from_arrays([o["symbol"], o["side"]])
        hit = pd.Series(keys.isin(prior.index), index=o.index)
        if not hit.any():
            return
        cid = pd.Series([prior.loc[k, "client_order_id"] if k in prior.index else "" for k in keys], index=o.index)
        st = pd.Series([prior.loc[k, "status"] if k in prior.index else "" for k in keys], index=o.index)
        out.refuse(
            hit,
            "duplicate: "
            + o["symbol"]
            + " "
            + o["side"]
            + " already "
            + st.astype(str)
            + " today as "
            + cid.astype(str),
        )


@limit
class NoShort(Check):
    """Sells of a symbol (this batch's new orders, cumulative in batch order) <= the shares held
    when the day opened (``live/current_positions.csv`` with the day's splits applied: post-split
    shares); a short needs ``validation.allow_short: true``. Not checked without a positions file."""

    id = "short"

    def rows(self, c: OrderContext, out: Refusals) -> None:
        if c.held is None or c.allow_short:
            return
        o = c.orders
        sells = c.open() & (o["side"] == "sell")
        qty = pd.to_numeric(o["qty"], errors="coerce").astype(float).where(sells, 0.0)
        sold = qty.groupby(o["symbol"]).cumsum()
        held = o["symbol"].map(c.held).fillna(0.0).astype(float)
        out.refuse(
            sells & (sold > held + 1e-9),
            "selling "
            + sold.map(lambda v: f"{v:g}")
            + " of "
            + held.map(lambda v: f"{v:g}")
            + " held would go short (validation.allow_short is false)",
        )


@limit
class BuyingPower(Check):
    """Buys' notional ($) <= buying_power x (1 - ``buying_power_buffer``) + sells' notional (orders
    still open). With ``fit_buying_power`` the lowest ``ml_score`` buys are dropped first (else the
    smallest |weight_change|) until the rest fits; without it every buy is refused."""

    id = "buying_power"

    def rows(self, c: OrderContext, out: Refusals) -> None:
        if c.buying_power is None:
            return
        ok, o, notional = c.open(), c.orders, c.notional
        buys, sells = ok & (o["side"] == "buy"), ok & (o["side"] == "sell")
        budget = float(c.buying_power) * (1 - float(c.buying_power_buffer)) + float(notional[sells].sum())
        need = float(notional[buys].sum())
        if need <= budget + 1e-9:
            return
        if not c.fit_buying_power:
            out.refuse(
                buys,
                f"buys total {usd(need)} > buying power {usd(budget)} "
                f"after the {c.buying_power_buffer:.0%} buffer (use --fit-buying-power)",
            )
            return
        drop, by = _to_drop(o[buys].copy(), notional, need, budget)
        out.refuse(
            pd.Series(o.index.isin(drop), index=o.index),
            f"dropped to fit buying power {usd(budget)} (lowest {by} first)",
        )


def _to_drop(cand: pd.DataFrame, notional: pd.Series, need: float, budget: float) -> tuple[list, str]:
    """The buys to drop, lowest conviction first, until ``need`` ($) fits ``budget`` ($)."""
    if "ml_score" in cand.columns and pd.to_numeric(cand["ml_score"], errors="coerce").notna().any():
        cand["_rank"] = pd.to_numeric(cand["ml_score"], errors="coerce").fillna(-np.inf)
        by = "ml_score"
    else:
        cand["_rank"] = pd.to_numeric(cand["weight_change"], errors="coerce").abs().fillna(0)
        by = "|weight_change|"
    cand = cand.sort_values(["_rank", "symbol"], kind="mergesort")
    drop = []
    for idx, n in zip(cand.index, notional[cand.index]):
        if need <= budget + 1e-9:
            break
        drop.append(idx)
        need -= float(n)
    return drop, by


@limit
class MaxDailyTrades(Check):
    """Orders sent in today's session for this account (intents in the journal, across every
    batch, trades file and file date; :func:`xlexec.execution.session.session_count`) + this
    batch's new orders <= ``max_daily_trades``; the orders beyond the room left are refused, in
    batch order."""

    id = "max_daily_trades"

    def rows(self, c: OrderContext, out: Refusals) -> None:
        ok = c.open()
        room = max(0, int(c.max_daily_trades) - int(c.trades_used_today))
        out.refuse(
            ok & (ok.cumsum() > room),
            f"max_daily_trades {c.max_daily_trades} reached ({c.trades_used_today} already today)",
        )


def pretrade_checks(
    orders: pd.DataFrame,
    *,
    max_order_size_usd: float,
    max_daily_trades: int,
    price_collar_pct: float | None,
    buying_power: float | None,
    buying_power_buffer: float,
    quotes: pd.DataFrame | None = None,
    restricted: pd.DataFrame | None = None,
    trades_used_today: int = 0,
    others: pd.DataFrame | None = None,
    known: set[str] | frozenset = frozenset(),
    fit_buying_power: bool = False,
    held: pd.Series | None = None,
    allow_short: bool = False,
    now=None,
    max_quote_age_seconds: float = 60.0,
    registry: Registry = SUBMISSION,
) -> pd.DataFrame:
    """Decide which orders may be sent: run every limit of ``registry``. Returns ``orders`` plus
    ``arrival_price`` ($, quote mid or NaN), ``refusal`` (the refusing limit's id or "") and
    ``note`` (one line for the operator).

    ``trades_used_today``: the intents journaled for this account in today's session, this
    batch's ``known`` ones included (chase replacements excluded).
    ``others``: orders of the day and of the account's session under *other* client order ids that are live or (partly)
    filled (columns symbol, side, client_order_id, status). ``known``: client order ids of this
    batch that already have an intent (skip the limits). ``held``: shares held when the day
    opened, by symbol (None = unknown: the short limit is not checked). ``now``: the time the
    quotes are aged at (tz-aware; None = no clock, so an order needing a quote is refused);
    ``max_quote_age_seconds``: seconds. ``notional`` comes back as the $ the limits used (market
    orders at the ask/bid of the quote).
    """
    out = orders.copy()
    out["arrival_price"] = out["symbol"].map(mid_map(quotes)).astype(float)
    out["refusal"] = ""
    out["note"] = ""
    if len(out) == 0:
        return out
    c = OrderContext(
        out,
        ~out["client_order_id"].isin(list(known)),
        max_order_size_usd=max_order_size_usd,
        max_daily_trades=max_daily_trades,
        price_collar_pct=price_collar_pct,
        buying_power=buying_power,
        buying_power_buffer=buying_power_buffer,
        restricted=restricted,
        trades_used_today=trades_used_today,
        others=others,
        fit_buying_power=fit_buying_power,
        held=held,
        allow_short=allow_short,
        quotes=quotes,
        now=now,
        max_quote_age_seconds=max_quote_age_seconds,
    )
    for check in registry.checks():
        check.rows(c, Refusals(c, check))
    out["notional"] = c.notional
    return out
