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


PAPER_PREFIX = "PA"  # Alpaca numbers paper accounts PA...; live accounts never start so
#: broker name -> how that broker numbers its paper accounts (IBKR: DU..., live U...); others: PA
PAPER_PREFIXES = {"alpaca": "PA", "ibkr": "DU"}


#: broker name -> the key of ``execution.<broker>`` naming the account submit insists the broker reports
ACCOUNT_KEYS = {"alpaca": "account_number", "schwab": "account_number", "ibkr": "account_id"}


def configured_account(ex: Any, broker: str | None = None) -> tuple[str | None, str | None]:
    """``(key path, value)`` of the account configured for ``broker`` (default ``ex.broker``) in
    ``execution`` ``ex``, e.g. ``("execution.ibkr.account_id", "DU1234567")``; ``(None, None)``
    for a broker without one (the paper simulator, file brokers)."""
    name = str(ex.broker if broker is None else broker)
    field = ACCOUNT_KEYS.get(name)
    if field is None:
        return None, None
    return f"execution.{name}.{field}", getattr(getattr(ex, name), field)


def paper_prefix(broker: Broker) -> str:
    """The prefix of ``broker``'s paper account numbers (:data:`PAPER_PREFIXES`, else ``PA``)."""
    return PAPER_PREFIXES.get(str(getattr(broker, "name", "")), PAPER_PREFIX)


def check_account(
    broker: Broker,
    account: Any,
    *,
    expected: str | None = None,
    tag: str = "",
    key: str = "execution.alpaca.account_number",
) -> str:
    """The mode by what the broker says: the account it reports must fit the mode.

    ``account``: the broker's :class:`~xlexec.execution.brokers.base.Account`; ``expected``: the
    configured account number (``key``: ``execution.alpaca.account_number``,
    ``execution.schwab.account_number`` or ``execution.ibkr.account_id``; None/blank = any). PAPER
    mode with an account that is not the broker's paper kind (:func:`paper_prefix`: Alpaca
    ``PA...``, IBKR ``DU...``), LIVE mode with a paper account, no account number
    at all, or a number other than ``expected`` -> :class:`~xlexec.errors.RefusedError` (nothing
    sent). Returns the reported account number (stripped)."""
    from xlexec.errors import RefusedError

    mode = describe_mode(broker)["mode"]
    number = str(getattr(account, "account_number", "") or "").strip()
    if not number:
        raise RefusedError(
            f"{tag} the broker reported no account number: the mode cannot be verified; nothing sent", rule="account"
        )
    prefix = paper_prefix(broker)
    is_paper = number.upper().startswith(prefix)
    if mode == "PAPER" and not is_paper:
        raise RefusedError(
            f"{tag} the broker reports account {number}, which is not a paper account ({prefix}...), "
            "while the config says paper: this is a LIVE account; nothing sent",
            rule="account",
        )
    if mode == "LIVE" and is_paper:
        raise RefusedError(
            f"{tag} the broker reports paper account {number} while the config says paper: false (LIVE); nothing sent",
            rule="account",
        )
    want = str(expected or "").strip()
    if want and want.upper() != number.upper():
        raise RefusedError(
            f"{tag} the broker reports account {number}, not the configured {key} {want}; nothing sent",
            rule="account",
        )
    return number
