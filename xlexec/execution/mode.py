"""The trading mode of a broker (PAPER or LIVE), part of every result and message."""

from __future__ import annotations

from typing import Any

from xlexec.execution.brokers.base import Broker


def describe_mode(broker: Broker) -> dict[str, Any]:
    """``{"mode": "PAPER"|"LIVE", "broker": name, "host": host, "text": one line}``."""
    mode = "PAPER" if getattr(broker, "paper", True) else "LIVE"
    host = getattr(broker, "host", None) or "local simulator"
    name = getattr(broker, "name", type(broker).__name__)
    return {"mode": mode, "broker": name, "host": host, "text": f"{mode} · {name} · {host}"}
