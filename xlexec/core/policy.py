"""The effective policy: everything in the config (and the restricted list) that governs sending.

A policy is a flat, canonical dict (key -> value) of the settings listed in :data:`DIRECTIONS`,
plus ``restricted.sha256`` (sha256 of the sorted, de-duplicated canonical symbols, one per line,
``\\n``-joined; of the empty string for an empty list). Its identity is :func:`policy_sha256`,
the sha256 of its canonical JSON (sorted keys, no spaces). Units as in the config: ``*_usd`` in
$, ``*_pct`` and ``buying_power_buffer`` as fractions, ``*_minutes`` in minutes, ``chase.step``
in $.

Each key has a **direction**: which change *loosens* the policy (lets more, bigger or less
checked orders out). :func:`loosened` names every key in which a current policy is looser than
an approved one; any other change tightens (or is neutral) and may take effect at once.

Pure: no I/O, no clock, no config library.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

VERSION = 1

# directions: how a change of the value loosens the policy
TRUE_LOOSENS = "true loosens"  # false -> true loosens (a switch that lets orders out)
FALSE_LOOSENS = "false loosens"  # true -> false loosens (a control switched off)
LARGER_LOOSENS = "larger loosens"  # a larger number loosens
SMALLER_LOOSENS = "smaller loosens"  # a smaller number loosens
OFF_OR_LARGER_LOOSENS = "null (off) or larger loosens"  # None = the limit is off
ZERO_OR_LARGER_LOOSENS = "0 (off) or larger loosens"  # 0 = the control is off
MARKET_LOOSENS = "market loosens"  # limit -> market loosens (no price cap)
FEWER_LOOSENS = "fewer members loosens"  # a member removed loosens (restricted symbols)
MORE_LOOSENS = "more members (or empty = anyone) loosens"  # a member added, or emptied (approvers)
ANY_CHANGE = "any change loosens"  # broker, mode, endpoint: another place to send to

#: key -> direction; the keys of every policy (plus the derived ``restricted.sha256``)
DIRECTIONS: dict[str, str] = {
    "execution.enabled": TRUE_LOOSENS,
    "execution.require_human_approval": FALSE_LOOSENS,
    "execution.require_four_eyes": FALSE_LOOSENS,
    "execution.approvers": MORE_LOOSENS,
    "execution.max_order_size_usd": LARGER_LOOSENS,
    "execution.max_daily_trades": LARGER_LOOSENS,
    "execution.price_collar_pct": OFF_OR_LARGER_LOOSENS,
    "execution.buying_power_buffer": SMALLER_LOOSENS,
    "execution.default_order_type": MARKET_LOOSENS,
    "execution.order_timeout_minutes": ZERO_OR_LARGER_LOOSENS,
    "execution.max_quote_age_seconds": LARGER_LOOSENS,
    "execution.chase.enabled": TRUE_LOOSENS,
    "execution.chase.step": LARGER_LOOSENS,
    "execution.chase.minutes": SMALLER_LOOSENS,
    "execution.chase.max_moves": LARGER_LOOSENS,
    "validation.allow_short": TRUE_LOOSENS,
    "validation.max_adv_pct": LARGER_LOOSENS,
    "restricted.symbols": FEWER_LOOSENS,
    "broker": ANY_CHANGE,
    "mode": ANY_CHANGE,
    "endpoint": ANY_CHANGE,
}
DERIVED = ("restricted.sha256", "version")  # follow from the other keys: never compared themselves
INT_KEYS = ("execution.max_daily_trades", "execution.order_timeout_minutes", "execution.chase.minutes",
            "execution.chase.max_moves")  # fmt: skip


def restricted_sha256(symbols: Iterable[str]) -> str:
    """sha256 of the canonical restricted list: sorted unique symbols, ``\\n``-joined."""
    return hashlib.sha256("\n".join(sorted({str(s) for s in symbols})).encode("utf-8")).hexdigest()


def _canon(key: str, value: Any) -> Any:
    """The canonical JSON value of ``key``: lists sorted and unique, numbers as float (limits)
    or int (counts), switches as bool."""
    d = DIRECTIONS[key]
    if d in (FEWER_LOOSENS, MORE_LOOSENS):
        return sorted({str(v) for v in (value or [])})
    if d in (TRUE_LOOSENS, FALSE_LOOSENS):
        return bool(value)
    if value is None or isinstance(value, str):
        return value
    if key in INT_KEYS:
        return int(value)
    return float(value)


def make_policy(values: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical policy of ``values`` (exactly the keys of :data:`DIRECTIONS`; ``KeyError``
    naming a missing one, ``ValueError`` naming an unknown one), with ``restricted.sha256`` and
    ``version`` added."""
    unknown = sorted(set(values) - set(DIRECTIONS))
    if unknown:
        raise ValueError(f"not a policy key: {unknown[0]}")
    out: dict[str, Any] = {k: _canon(k, values[k]) for k in DIRECTIONS}
    out["restricted.sha256"] = restricted_sha256(out["restricted.symbols"])
    out["version"] = VERSION
    return out


def canonical_json(policy: Mapping[str, Any]) -> str:
    """The policy as canonical JSON (sorted keys, no spaces): what :func:`policy_sha256` hashes."""
    return json.dumps(dict(policy), sort_keys=True, separators=(",", ":"), allow_nan=False)


def policy_sha256(policy: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(policy).encode("utf-8")).hexdigest()


def _num(v: Any) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x


def _looser(direction: str, old: Any, new: Any) -> bool:
    """Whether the change ``old`` -> ``new`` of a key with ``direction`` loosens it."""
    if direction == TRUE_LOOSENS:
        return bool(new) and not bool(old)
    if direction == FALSE_LOOSENS:
        return bool(old) and not bool(new)
    if direction == MARKET_LOOSENS:
        return new != old and new != "limit"
    if direction == FEWER_LOOSENS:
        return bool(set(old or []) - set(new or []))
    if direction == MORE_LOOSENS:
        was, now = set(old or []), set(new or [])
        return bool(was) and (not now or bool(now - was))
    if direction == ANY_CHANGE:
        return new != old
    if direction == OFF_OR_LARGER_LOOSENS:
        return old is not None and (new is None or _num(new) > _num(old) or math.isnan(_num(new)))
    o, n = _num(old), _num(new)
    if math.isnan(o) or math.isnan(n):
        return True  # unreadable: fail closed
    if direction == LARGER_LOOSENS:
        return n > o
    if direction == SMALLER_LOOSENS:
        return n < o
    if direction == ZERO_OR_LARGER_LOOSENS:
        return o != 0 and (n == 0 or n > o)
    raise ValueError(f"unknown direction {direction!r}")


def loosened(approved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """The keys (in :data:`DIRECTIONS` order) in which ``current`` is looser than ``approved``.

    A key missing from one side (a policy of another version) counts as loosened unless both
    lack it; keys outside :data:`DIRECTIONS` other than the derived ones count as loosened when
    they differ (an unknown setting cannot be shown to be tighter)."""
    out = []
    for key, direction in DIRECTIONS.items():
        if key not in approved and key not in current:
            continue
        if key not in approved or key not in current or _looser(direction, approved[key], current[key]):
            out.append(key)
    extra = sorted((set(approved) | set(current)) - set(DIRECTIONS) - set(DERIVED))
    out += [k for k in extra if approved.get(k) != current.get(k)]
    return out


def _show(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(map(str, v)) + "]"
    if v is None:
        return "null (off)"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return f"{v:.0f}"
    return str(v)


def describe(key: str, approved: Mapping[str, Any], current: Mapping[str, Any]) -> str:
    """One phrase for a loosened ``key``: ``execution.max_order_size_usd 10000 -> 1000000000000``;
    for the restricted list, the symbols removed."""
    old, new = approved.get(key), current.get(key)
    if key == "restricted.symbols":
        gone = sorted(set(old or []) - set(new or []))
        return f"{key} ({', '.join(gone[:10])}{' ...' if len(gone) > 10 else ''} removed)"
    if key == "execution.approvers":
        added = sorted(set(new or []) - set(old or []))
        return f"{key} {_show(old)} -> {_show(new)}" + (f" (added {', '.join(added)})" if added and new else "")
    return f"{key} {_show(old)} -> {_show(new)}"


def describe_all(approved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """:func:`describe` for each key :func:`loosened` names."""
    return [describe(k, approved, current) for k in loosened(approved, current)]
