"""Today's session for submit and convert, an approval's session, and the session's order count.

Which clock (the rules themselves are :mod:`xlexec.core.session`'s):

* **paper broker**: ``ctx.now()`` (``XLEXEC_NOW`` when pinned, for the demo and tests, else the
  real clock) and the NYSE calendar; an approval's time is its ``timestamp_utc`` (taken from
  the same ``ctx.now()``);
* **any other broker** (``XLEXEC_NOW`` is refused there): the broker's own clock
  (``broker.clock().timestamp``) and the NYSE calendar give today's session; an approval's time
  is the journal row's ``ts_utc`` (the real clock), which must fall on today's New York date by
  the real clock. Without a broker (``xlexec convert``): ``ctx.now()``, the real clock.

``max_daily_trades`` and the duplicate check count per account and per session: every order
intent journaled for the same account (``account`` in the intent; intents without one count
for every account) in the same session (``session`` in the intent, else the journal day), from
whatever trades file or date it came.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from xlexec.core.orders import chase_root
from xlexec.core.session import approval_refusal, file_day_refusal, ny_date, session_on
from xlexec.errors import RefusedError
from xlexec.execution.clock import wall_now
from xlexec.store import journal as J


def is_paper(broker_name: str) -> bool:
    """True for the built-in paper simulator (the only broker whose clock may be pinned)."""
    return broker_name == "paper"


def todays_session(ctx, broker=None) -> str | None:
    """Today's session (``YYYY-MM-DD``, ``None`` on a non-session day): from the broker's clock
    for a real broker, else from ``ctx.now()``. May raise the broker's ``BrokerFault``."""
    now = ctx.now()  # first: a pinned clock with a real broker is refused before anything else
    if broker is not None and not is_paper(getattr(broker, "name", "")):
        stamp = broker.clock().timestamp
        if stamp:
            return session_on(_parse(stamp))
    return session_on(now)


def _parse(stamp: Any) -> dt.datetime:
    return dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))


def require_file_day(file_day: str, session: str | None, *, what: str, tag: str = "") -> None:
    """:class:`RefusedError` (one line) unless ``file_day`` is today's ``session``."""
    why = file_day_refusal(file_day, session, what=what)
    if why:
        nothing = "sent" if what in ("sent", "chased") else "written"
        raise RefusedError(f"{tag + ' ' if tag else ''}{why}; nothing {nothing}", rule="session")


def _approval_ts(jr: J.Journal, approval: dict[str, Any]) -> str | None:
    """The journal ``ts_utc`` (real clock) of the approval row ``approval`` (date, sha, seq)."""
    for e in jr.events(J.APPROVAL, str(approval.get("date"))):
        p = e.payload
        if p.get("orders_sha256") == approval.get("orders_sha256") and p.get("seq") == approval.get("seq"):
            return e.ts_utc
    return None


def require_approval_session(
    jr: J.Journal, approval: dict[str, Any], session: str, *, paper: bool, tag: str = "", what: str = "sent"
) -> None:
    """:class:`RefusedError` unless ``approval`` was given on the New York date of ``session``.

    Paper: its ``timestamp_utc`` (the ``ctx.now()`` it was given at) against ``session``. A real
    broker: its journal ``ts_utc`` (the real clock) against today's New York date by the real
    clock (on a real broker that is the date of today's session)."""
    lead = f"{tag} " if tag else ""
    who = f"the approval #{approval.get('seq')} by {approval.get('approver')}"
    stamp = approval.get("timestamp_utc") if paper else _approval_ts(jr, approval)
    if not stamp:
        raise RefusedError(f"{lead}{who} has no recorded time; approve again; nothing {what}", rule="approval_session")
    day = session if paper else ny_date(wall_now())
    why = approval_refusal(_parse(stamp), day, who=who)
    if why:
        raise RefusedError(f"{lead}{why}; nothing {what}", rule="approval_session")


def account_key(acct: Any, mode: dict[str, Any]) -> str:
    """The account orders are counted for: the broker's account number/id when it gives one,
    else ``broker@host`` (one account per adapter and host)."""
    for attr in ("account_number", "account_id", "id"):
        v = getattr(acct, attr, None)
        if v:
            return str(v)
    return f"{mode.get('broker')}@{mode.get('host')}"


def session_intents(events: list[J.Event], session: str, account: str) -> dict[str, dict]:
    """The intents (``{client order id: payload}``, first one wins, journal order) of ``events``
    (journal INTENT events) that count for ``account`` in ``session``: the intent's ``session``
    (else its journal day) is ``session`` and its ``account`` is ``account`` or missing."""
    out: dict[str, dict] = {}
    for e in events:
        p = e.payload
        if (p.get("session") or e.day) != session:
            continue
        if p.get("account") not in (None, "", account):
            continue
        out.setdefault(str(p.get("client_order_id") or e.key), {**p, "_day": e.day})
    return out


def session_count(intents: dict[str, dict], listed: Iterable[str] = ()) -> int:
    """Orders counted against ``max_daily_trades``: the client order ids of ``intents``
    (:func:`session_intents` of one account and session) together with ``listed`` (the ids the
    broker lists for that session and account: a lost journal or another ``live/`` folder does
    not reset the count), each once; chase replacements excluded (``chase_of`` / ``-c<n>``:
    they replace an order, they are not a new trade)."""
    ids = {c for c, p in intents.items() if not p.get("chase_of")}
    ids |= {c for c in listed if chase_root(c) == c}
    return len(ids)


def session_orders(jr: J.Journal, intents: dict[str, dict]) -> dict[str, dict]:
    """The newest broker snapshot of every intent of ``intents`` (:func:`session_intents` of one
    account and session; ``{client order id: snapshot}``), whatever journal day it was recorded
    under."""
    out: dict[str, dict] = {}
    for day in sorted({p["_day"] for p in intents.values()}):
        for coid, snap in jr.latest_orders(day).items():
            if coid in intents:
                out[coid] = snap
    return out
