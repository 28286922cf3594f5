"""PAPER or LIVE: what the Control tab's mode cell and banner say for a config, with the account."""

from __future__ import annotations


def is_live(cfg) -> bool:
    """True when orders would go to a real-money account."""
    ex = cfg.execution
    if ex.broker == "paper":
        return False
    if ex.broker == "alpaca":
        return not ex.alpaca.paper
    if ex.broker == "schwab":
        return True  # Schwab has no paper trading
    if ex.broker == "ibkr":
        return not ex.ibkr.paper
    return not ex.paper_trading


def account_text(cfg) -> str:
    """The account orders go to: ``account PA3XK0071234`` (``execution.alpaca.account_number``,
    ``execution.schwab.account_number`` or ``execution.ibkr.account_id``, the one submit insists the
    broker reports), ``account not
    configured`` when a broker is set without one, or ``built-in simulator`` (the paper broker has
    no account)."""
    ex = cfg.execution
    if ex.broker == "paper":
        return "built-in simulator"
    from xlexec.execution.mode import configured_account

    number = configured_account(ex)[1]
    return f"account {number}" if number else "account not configured"


def mode_text(cfg) -> str:
    """Control!B6 and every press message's ``[config PATH · MODE]``: PAPER/LIVE, the broker and
    the account (:func:`account_text`). The LIVE confirmation dialog (macros/Buttons.bas) shows it."""
    ex = cfg.execution
    if ex.broker == "paper":
        return "PAPER TRADING · built-in simulator"
    if is_live(cfg):
        return f"LIVE TRADING · REAL MONEY · {ex.broker} · {account_text(cfg)}"
    return f"PAPER TRADING · {ex.broker} · {account_text(cfg)}"
