"""Broker adapters behind one interface (:class:`xlexec.execution.brokers.base.Broker`)."""

from __future__ import annotations

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
)

__all__ = [
    "Account",
    "Broker",
    "BrokerUnavailable",
    "DuplicateClientOrderId",
    "Fill",
    "MarketClock",
    "Order",
    "OrderRejected",
    "OrderRequest",
    "Position",
    "get_broker",
]


def get_broker(cfg, live_dir=None, *, quotes=None, day: str | None = None, now=None) -> Broker:
    """The adapter selected by ``execution.broker``.

    ``paper`` -> built-in simulator (state under ``live/paper_broker.sqlite``; ``now`` is its
    clock, a callable returning a tz-aware datetime, e.g. ``ctx.now``);
    ``alpaca`` -> alpaca-py ``TradingClient`` (``xlexec.execution.brokers.alpaca``);
    ``schwab`` -> schwab-py ``Client`` (``xlexec.execution.brokers.schwab``);
    ``ibkr`` -> ib_async ``IB`` to TWS / IB Gateway (``xlexec.execution.brokers.ibkr``; without
    ib_async installed, a ConfigError naming ``pip install xlexec[ibkr]``);
    ``td`` -> explains the move to Schwab.
    """
    from xlexec.errors import ConfigError

    name = cfg.execution.broker
    if name == "paper":
        from xlexec.execution.brokers.paper import PaperBroker

        return PaperBroker.for_config(cfg, live_dir or cfg.live_dir, quotes=quotes, day=day, now_fn=now)
    if name == "alpaca":
        from xlexec.execution.brokers.alpaca import AlpacaBroker

        return AlpacaBroker.from_config(cfg)
    if name == "schwab":
        from xlexec.execution.brokers.schwab import SchwabBroker

        return SchwabBroker.from_config(cfg)
    if name == "ibkr":
        from xlexec.execution.brokers.ibkr import IbkrBroker

        return IbkrBroker.from_config(cfg)
    if name == "td":
        raise ConfigError(
            "execution.broker: td: TD Ameritrade's API was shut down in May 2024 "
            "(accounts moved to Schwab); use execution.broker: schwab (execution.schwab keys)"
        )
    raise ConfigError(f"execution.broker: unknown broker {name!r}")
