"""The one broker interface every adapter implements (paper simulator, Alpaca, file brokers).

Typed models in the spirit of alpaca-py: quantities in shares (whole), prices in $/share,
money in $. ``side`` is ``"buy"`` or ``"sell"``. Order ``status`` uses Alpaca's vocabulary:
new, accepted, pending_new, partially_filled, filled, canceled, expired, rejected,
pending_cancel, done_for_day, replaced.

Errors: :class:`OrderRejected` is a definitive "no" (nothing was created);
:class:`BrokerUnavailable` means the outcome is unknown (timeout, 5xx, reset, garbled reply):
the caller must ask the broker by client order id before sending again.
:class:`DuplicateClientOrderId` means the broker already has that client order id.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from xlexec.core.statuses import FINAL_STATUSES, OPEN_STATUSES  # noqa: F401  (the one set; re-exported for the adapters)


def scrub(text: object, *secrets: str | None, limit: int = 300) -> str:
    """A broker's reply text for a one-line message: whitespace folded, cut to ``limit``
    characters, and every secret given (API key, secret) replaced by ``***``."""
    out = " ".join(str(text).split())[:limit]
    for s in secrets:
        if s:
            out = out.replace(s, "***")
    return out


class BrokerFault(Exception):
    """Base of adapter errors."""


class OrderRejected(BrokerFault):
    def __init__(self, reason: str, status_code: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code


class DuplicateClientOrderId(BrokerFault):
    pass


class BrokerUnavailable(BrokerFault):
    """Outcome unknown: network error, timeout, 5xx, 429 after retries, malformed reply."""


class NotSupported(BrokerFault):
    pass


@dataclass
class OrderRequest:
    symbol: str
    side: str
    qty: int
    order_type: str = "limit"  # limit | market
    limit_price: float | None = None  # $; None for market
    time_in_force: str = "day"
    client_order_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Order:
    id: str
    client_order_id: str
    symbol: str
    side: str
    qty: float
    order_type: str
    limit_price: float | None
    status: str
    filled_qty: float = 0.0
    filled_avg_price: float | None = None
    submitted_at: str | None = None
    updated_at: str | None = None
    reason: str | None = None
    #: $ amount of a notional (dollar) order; None = an order for ``qty`` shares. A notional
    #: order's ``qty`` is the shares filled so far, so its ``remaining`` is 0 (nothing to chase).
    notional: float | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> float:
        return max(0.0, float(self.qty) - float(self.filled_qty or 0))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Fill:
    """One execution (Alpaca account activity of type FILL)."""

    id: str
    order_id: str
    symbol: str
    side: str
    qty: float
    price: float
    transaction_time: str
    client_order_id: str = ""
    commission: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Position:
    symbol: str
    qty: float
    avg_entry_price: float
    current_price: float | None = None
    market_value: float | None = None


@dataclass
class Account:
    cash: float
    buying_power: float
    portfolio_value: float
    status: str = "ACTIVE"
    currency: str = "USD"
    trading_blocked: bool = False
    account_number: str = ""  # the broker's own number (Alpaca paper accounts: ``PA...``); "" = not reported


@dataclass
class MarketClock:
    timestamp: str
    is_open: bool
    next_open: str | None = None
    next_close: str | None = None


class Broker(abc.ABC):
    """What xlexec needs from a broker. Every call has a bounded duration."""

    name: str = "broker"
    paper: bool = True
    #: the adapter may be called from several threads at once (the engine then sends concurrently)
    thread_safe: bool = False
    #: the gate right before the wire (:func:`xlexec.execution.guards.gated` sets it): called
    #: with what is about to be sent, immediately before each order request (after any pacing
    #: wait); raises :class:`~xlexec.errors.GateClosed` to stop it. None: no gate installed.
    gate: Callable[[str], None] | None = None

    def before_wire(self, what: str) -> None:
        """Pass the gate (if one is installed) right before an order request goes out."""
        if self.gate is not None:
            self.gate(what)

    @property
    def host(self) -> str:
        """The host orders go to, shown in the mode line of every submit."""
        return "local"

    @abc.abstractmethod
    def submit_order(self, req: OrderRequest) -> Order: ...

    @abc.abstractmethod
    def get_order(self, order_id: str) -> Order: ...

    @abc.abstractmethod
    def get_order_by_client_id(self, client_order_id: str) -> Order | None:
        """The order with that client order id, or None if the broker has none (404)."""

    @abc.abstractmethod
    def list_orders(self, status: str = "all", after: str | None = None) -> list[Order]: ...

    @abc.abstractmethod
    def cancel_order(self, order_id: str) -> None: ...

    def replace_order(self, order_id: str, *, limit_price: float, client_order_id: str) -> Order:
        """Replace an open limit order's price (the remaining quantity goes on a new order with
        ``client_order_id``; the old one becomes ``replaced``). Used by the limit chase."""
        raise NotSupported(f"{self.name}: replacing orders is not supported")

    @abc.abstractmethod
    def cancel_all(self) -> list[str]:
        """One request; returns the ids the broker accepted to cancel."""

    @abc.abstractmethod
    def positions(self) -> list[Position]: ...

    @abc.abstractmethod
    def account(self) -> Account: ...

    @abc.abstractmethod
    def clock(self) -> MarketClock: ...

    @abc.abstractmethod
    def fills(self, day: str) -> list[Fill]:
        """Every fill of ``day`` (YYYY-MM-DD), all pages."""

    def close(self) -> None:  # pragma: no cover - optional
        """Release the adapter's resources (connections, files); nothing by default."""
        return None
