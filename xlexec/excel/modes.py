"""PAPER or LIVE: what the Control tab's mode cell and banner say for a config."""

from __future__ import annotations


def is_live(cfg) -> bool:
    """True when orders would go to a real-money account."""
    ex = cfg.execution
    if ex.broker == "paper":
        return False
    if ex.broker == "alpaca":
        return not ex.alpaca.paper
    return not ex.paper_trading


def mode_text(cfg) -> str:
    ex = cfg.execution
    if ex.broker == "paper":
        return "PAPER TRADING · built-in simulator"
    if is_live(cfg):
        return f"LIVE TRADING · REAL MONEY · {ex.broker}"
    return f"PAPER TRADING · {ex.broker}"
