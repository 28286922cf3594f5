"""The policy in force: journaled, loosened only by an approver, bound to every approval.

The **effective policy** of a config is :func:`effective_policy` (the keys of
:data:`xlexec.core.policy.DIRECTIONS`: ``execution.enabled``, ``require_human_approval``,
``require_four_eyes``, ``approvers``, every pre-trade limit, the chase, ``validation.allow_short``
and ``max_adv_pct``, the restricted list of ``live/restricted.csv``, the broker, the mode
PAPER/LIVE and the endpoint host), identified by its sha256.

**Journal** (kind ``policy``; key ``<policy sha256>|<status>|<journal seq of the policy in
force it follows, 0 for none>``, so a rerun adds nothing and a return to an earlier policy is a
new event). Payload: ``status`` (``in_force`` or ``proposed``), ``policy``, ``policy_sha256``,
``replaces`` (the sha256 in force before), ``loosened`` (keys), ``login`` (OS login of whoever
caused the event), ``why`` (``first use``, ``tightened``, ``approved``, ``proposed``), and for an
approval ``approver`` (display name), ``reason``, ``proposed_by``. The policy in force is the
last ``in_force`` event.

* The first approve/submit/convert/chase of a live folder journals the config's policy as in
  force (trust on first use: a config naming *another* ``live_dir`` starts another journal).
* A config whose policy is not looser than the one in force (equal, or tighter in every key that
  changed) becomes in force at once.
* A looser one is journaled as ``proposed`` (by the login that first used it) and submit,
  convert and the chase refuse it, naming each loosened key, until
  ``xlexec policy approve --approver NAME --reason TEXT`` (:func:`approve_policy`) records it.

**Maker-checker**, always by the rules of the policy in force *before* the change (a pending
loosening has no effect, so a config cannot add its own author to ``approvers``):
``execution.approvers`` non-empty -> only those OS logins may approve orders (APPROVED or
CONDITIONAL; anyone may REJECT) or a policy; ``execution.require_four_eyes`` -> the login that
approves a loosened policy differs from the login that proposed it, and the login that approved
the orders differs from the login that submits or converts them (:func:`check_approval`).
Identities are OS logins (:func:`xlexec.store.journal.current_user`), never the display name.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from xlexec.core import policy as P
from xlexec.errors import InputError, RefusedError
from xlexec.formats.inputs import read_restricted
from xlexec.store.journal import POLICY, Journal, current_user

IN_FORCE, PROPOSED = "in_force", "proposed"


def mode_of(cfg) -> tuple[str, str | None]:
    """(``PAPER`` | ``LIVE``, endpoint host or None) the config sends to (Schwab: always LIVE)."""
    ex = cfg.execution
    if ex.broker == "schwab":
        return "LIVE", urlsplit((ex.schwab.base_url or "").strip()).hostname or None
    if ex.broker == "ibkr":
        return ("PAPER" if ex.ibkr.paper else "LIVE"), (ex.ibkr.host or "").strip() or None
    if ex.broker != "alpaca":
        return "PAPER" if ex.broker == "paper" else "FILE", None
    a = ex.alpaca
    host = urlsplit((a.base_url or "").strip()).hostname or None
    return ("PAPER" if a.paper else "LIVE"), host


def restricted_symbols(live_dir: Path) -> list[str]:
    """The canonical symbols of ``live/restricted.csv`` (empty without the file)."""
    df = read_restricted(Path(live_dir) / "restricted.csv")
    return sorted(set(df["symbol"].astype(str))) if len(df) else []


def effective_policy(cfg, live_dir: Path | None = None) -> dict[str, Any]:
    """The canonical policy of ``cfg`` and the restricted list of ``live_dir`` (default the
    config's); see :mod:`xlexec.core.policy` for keys, units and directions."""
    ex, mode = cfg.execution, mode_of(cfg)
    return P.make_policy(
        {
            "execution.enabled": ex.enabled,
            "execution.require_human_approval": ex.require_human_approval,
            "execution.require_four_eyes": ex.require_four_eyes,
            "execution.approvers": list(ex.approvers),
            "execution.max_order_size_usd": ex.max_order_size_usd,
            "execution.max_daily_trades": ex.max_daily_trades,
            "execution.price_collar_pct": ex.price_collar_pct,
            "execution.buying_power_buffer": ex.buying_power_buffer,
            "execution.default_order_type": ex.default_order_type,
            "execution.order_timeout_minutes": ex.order_timeout_minutes,
            "execution.max_quote_age_seconds": ex.max_quote_age_seconds,
            "execution.chase.enabled": ex.chase.enabled,
            "execution.chase.step": ex.chase.step,
            "execution.chase.minutes": ex.chase.minutes,
            "execution.chase.max_moves": ex.chase.max_moves,
            "validation.allow_short": cfg.validation.allow_short,
            "validation.max_adv_pct": cfg.validation.max_adv_pct,
            "restricted.symbols": restricted_symbols(live_dir or cfg.live_dir),
            "broker": ex.broker,
            "mode": mode[0],
            "endpoint": mode[1],
        }
    )


@dataclass
class Standing:
    """The config's policy against the policy in force (after journaling what takes effect)."""

    current: dict[str, Any]
    in_force: dict[str, Any] | None  # None: nothing journaled yet (read-only look)
    loosened: list[str] = field(default_factory=list)  # keys looser than in force: not yet approved
    changes: list[str] = field(default_factory=list)  # one phrase per loosened key
    proposed_by: str | None = None  # OS login that first used the pending policy
    journaled: str = ""  # what this look recorded: "first use" | "tightened" | "proposed" | ""

    @property
    def current_sha256(self) -> str:
        return P.policy_sha256(self.current)

    @property
    def in_force_sha256(self) -> str | None:
        return None if self.in_force is None else P.policy_sha256(self.in_force)


def _last_in_force(events) -> tuple[int, dict[str, Any]] | None:
    last = None
    for e in events:
        if e.payload.get("status") == IN_FORCE:
            last = (e.seq, e.payload)
    return last


def in_force(jr: Journal) -> dict[str, Any] | None:
    """The payload of the policy event in force (``policy``, ``policy_sha256``...), or None."""
    last = _last_in_force(jr.events(POLICY))
    return None if last is None else last[1]


def policy_by_sha(jr: Journal, sha: str) -> dict[str, Any] | None:
    """The policy journaled under ``sha`` (any status), or None."""
    for e in jr.events(POLICY):
        if e.payload.get("policy_sha256") == sha:
            return e.payload.get("policy")
    return None


def _payload(status: str, policy: dict, prev: dict | None, login: str, why: str, **extra) -> dict[str, Any]:
    return {
        "status": status,
        "policy_sha256": P.policy_sha256(policy),
        "policy": policy,
        "replaces": None if prev is None else prev.get("policy_sha256"),
        "loosened": [] if prev is None else P.loosened(prev["policy"], policy),
        "login": login,
        "why": why,
        **extra,
    }


def standing(
    jr: Journal, policy: dict[str, Any], *, day: str, login: str | None = None, record: bool = True
) -> Standing:
    """Compare ``policy`` with the policy in force and journal what follows (unless ``record``
    is false): the first policy of the journal and any policy not looser than the one in force
    become in force at once; a looser one is journaled once as ``proposed`` by ``login``."""
    login = login or current_user()
    sha = P.policy_sha256(policy)
    with jr.transaction() if record else contextlib.nullcontext():
        events = jr.events(POLICY)
        last = _last_in_force(events)
        if last is None:
            if record:
                jr.append(POLICY, f"{sha}|{IN_FORCE}|0", _payload(IN_FORCE, policy, None, login, "first use"), day=day)
            return Standing(policy, policy if record else None, journaled="first use" if record else "")
        seq, prev = last
        if prev.get("policy_sha256") == sha:
            return Standing(policy, prev["policy"])
        keys = P.loosened(prev["policy"], policy)
        if not keys:
            if record:
                jr.append(
                    POLICY, f"{sha}|{IN_FORCE}|{seq}", _payload(IN_FORCE, policy, prev, login, "tightened"), day=day
                )
            return Standing(policy, policy if record else prev["policy"], journaled="tightened" if record else "")
        key = f"{sha}|{PROPOSED}|{seq}"
        proposer = next((e.payload.get("login") for e in events if e.key == key), None)
        journaled = ""
        if proposer is None and record:
            jr.append(POLICY, key, _payload(PROPOSED, policy, prev, login, "proposed"), day=day)
            proposer, journaled = login, "proposed"
        return Standing(
            policy, prev["policy"], keys, P.describe_all(prev["policy"], policy), proposer, journaled=journaled
        )


def approve_command(source: str) -> str:
    cfg = f" --config {source}" if source and not source.startswith("<") else ""
    return f"`xlexec policy approve{cfg} --approver NAME --reason TEXT`"


def require_in_force(
    jr: Journal, policy: dict[str, Any], *, day: str, what: str, source: str, tag: str = ""
) -> Standing:
    """:func:`standing`, then :class:`RefusedError` (``what`` refused, nothing sent) when the
    config's policy is looser than the policy in force, naming each loosened key."""
    st = standing(jr, policy, day=day)
    if st.loosened:
        raise RefusedError(
            f"{tag + ' ' if tag else ''}policy: the config ({source}) loosens the policy in force "
            f"(sha256 {(st.in_force_sha256 or '')[:12]}): {'; '.join(st.changes)}; {what} refused, "
            f"nothing sent; an approver records the change with {approve_command(source)} "
            "(`xlexec policy show` lists it)",
            rule="policy",
        )
    return st


def check_approver(rules: dict[str, Any], login: str, *, what: str) -> None:
    """Refuse (rule ``approvers``) a login outside a non-empty ``execution.approvers``."""
    allowed = list(rules.get("execution.approvers") or [])
    if allowed and login not in allowed:
        raise RefusedError(
            f"approvers: the OS login {login!r} is not in execution.approvers of the policy in force "
            f"({', '.join(allowed)}); {what} refused",
            rule="approvers",
        )


def approve_policy(
    jr: Journal, policy: dict[str, Any], *, day: str, approver: str, reason: str, now: dt.datetime,
    login: str | None = None,
) -> tuple[Standing, dict[str, Any] | None]:  # fmt: skip
    """Record ``policy`` (the config's) as in force, approved by ``approver`` (display name) as
    the OS ``login``. Returns the standing before and the event payload journaled (None when
    ``policy`` was already in force, or took effect by itself as first use or a tightening).

    Refused (:class:`RefusedError`): an empty reason or approver; by the rules of the policy in
    force: ``approvers`` (the login is not listed) and ``require_four_eyes`` (the login proposed
    the change: another login must approve it)."""
    login = login or current_user()
    approver, reason = " ".join(str(approver or "").split()), " ".join(str(reason or "").split())
    if not approver:
        raise InputError("--approver", "the approver's name is required")
    if not reason:
        raise InputError("--reason", "a reason is required to approve a policy change")
    st = standing(jr, policy, day=day, login=login)
    if not st.loosened:
        return st, None
    rules = st.in_force or {}
    check_approver(rules, login, what="policy approve")
    if rules.get("execution.require_four_eyes") and st.proposed_by == login:
        raise RefusedError(
            f"require_four_eyes: the change ({'; '.join(st.changes)}) was proposed by the OS login "
            f"{login!r}; another login must approve it; policy approve refused",
            rule="four_eyes",
        )
    sha = P.policy_sha256(policy)
    with jr.transaction():
        last = _last_in_force(jr.events(POLICY))
        seq, prev = last if last is not None else (0, None)
        payload = _payload(
            IN_FORCE,
            policy,
            prev,
            login,
            "approved",
            approver=approver,
            reason=reason,
            proposed_by=st.proposed_by,
            timestamp_utc=now.astimezone(dt.UTC).isoformat(timespec="milliseconds"),
        )
        jr.append(POLICY, f"{sha}|{IN_FORCE}|{seq}", payload, day=day, actor=approver)
    return st, payload


def check_approval(approval: dict[str, Any], policy: dict[str, Any], *, login: str, what: str, tag: str = "") -> None:
    """Refuse (:class:`RefusedError`, nothing sent) ``what`` under ``approval`` when: the policy
    now is looser than the approval's (``policy_sha256`` recorded; approvals recorded before
    policies were bound carry none and are judged by the policy in force alone); ``approvers``
    (non-empty) does not list the approval's login; ``require_four_eyes`` and the approval's
    login is ``login`` (the submitter's) or was not recorded."""
    t = f"{tag} " if tag else ""
    n = f"approval #{approval.get('seq')} of {approval.get('date')} by {approval.get('approver')}"
    bound = approval.get("policy")
    if approval.get("policy_sha256") and isinstance(bound, dict):
        changes = P.describe_all(bound, policy)
        if changes:
            raise RefusedError(
                f"{t}policy: the policy in force is looser than when {n} was recorded "
                f"({'; '.join(changes)}); approve the orders again; {what} refused, nothing sent",
                rule="policy_bound",
            )
    who = approval.get("approver_login")
    allowed = list(policy.get("execution.approvers") or [])
    if allowed and who not in allowed:
        raise RefusedError(
            f"{t}approvers: {n} was recorded by the OS login {who!r}, not in execution.approvers "
            f"({', '.join(allowed)}); {what} refused, nothing sent",
            rule="approvers",
        )
    if policy.get("execution.require_four_eyes"):
        if not who:
            raise RefusedError(
                f"{t}require_four_eyes: {n} records no OS login (recorded before logins were kept); "
                f"approve again; {what} refused, nothing sent",
                rule="four_eyes",
            )
        if who == login:
            raise RefusedError(
                f"{t}require_four_eyes: {n} was recorded by the OS login {login!r}, who is now running "
                f"{what}; another login must approve the orders (or {what} them); nothing sent",
                rule="four_eyes",
            )


def gate_check(live_dir: Path, policy: dict[str, Any]) -> Callable[[], str | None]:
    """A check for the wire gate: why the restricted list (``live/restricted.csv``, re-read)
    is no longer the one in ``policy``, or None. The rest of the policy comes from the config,
    loaded once per process: it cannot change during a run."""
    want = policy.get("restricted.sha256")
    path = Path(live_dir) / "restricted.csv"
    seen: dict[str, Any] = {}  # the file's identity at the last reading -> that reading's verdict

    def check() -> str | None:
        # re-read only when the file is not the one last read: any write, replacement, creation
        # or removal changes its identity (inode, size, modification and change times in ns)
        try:
            st = path.stat()
            ident: tuple | None = (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        except FileNotFoundError:
            ident = None
        except OSError:
            ident = ("unreadable",)  # never cached: read (and fail) each time
        if "ident" in seen and seen["ident"] == ident and ident != ("unreadable",):
            return seen["verdict"]
        try:
            got = P.restricted_sha256(restricted_symbols(live_dir))
        except InputError as e:
            seen.clear()
            return f"policy: the restricted list cannot be read ({e})"
        verdict = None if got == want else f"policy: the restricted list ({path}) changed during the run"
        seen.update(ident=ident, verdict=verdict)
        return verdict

    return check
