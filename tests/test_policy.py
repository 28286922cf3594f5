"""The effective policy (``xlexec.core.policy``): canonical form, hash, and which changes loosen it.

Expected loosened keys are written by hand for each change; the hash of a hand-written canonical
JSON is checked against ``hashlib`` directly."""

from __future__ import annotations

import hashlib

import pytest

from xlexec.core import policy as P

BASE = {
    "execution.enabled": True,
    "execution.require_human_approval": True,
    "execution.require_four_eyes": True,
    "execution.approvers": ["ann", "bob"],
    "execution.max_order_size_usd": 10_000,
    "execution.max_daily_trades": 50,
    "execution.price_collar_pct": 0.05,
    "execution.buying_power_buffer": 0.05,
    "execution.default_order_type": "limit",
    "execution.order_timeout_minutes": 30,
    "execution.max_quote_age_seconds": 60,
    "execution.chase.enabled": False,
    "execution.chase.step": 0.05,
    "execution.chase.minutes": 15,
    "execution.chase.max_moves": 3,
    "validation.allow_short": False,
    "validation.max_adv_pct": 0.05,
    "restricted.symbols": ["TSLA", "GME"],
    "broker": "paper",
    "mode": "PAPER",
    "endpoint": None,
}


def with_(key: str, value, **more) -> dict:
    """BASE with ``key`` set to ``value`` (and ``more``: ``{key: value}`` pairs, dotted)."""
    return P.make_policy({**BASE, key: value, **more})


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("execution.enabled", False, []),
        ("execution.require_human_approval", False, ["execution.require_human_approval"]),
        ("execution.require_four_eyes", False, ["execution.require_four_eyes"]),
        ("execution.approvers", ["ann", "bob", "mallory"], ["execution.approvers"]),
        ("execution.approvers", [], ["execution.approvers"]),  # empty = anyone
        ("execution.approvers", ["ann"], []),
        ("execution.approvers", ["bob", "ann"], []),  # the same set in another order
        ("execution.max_order_size_usd", 1e12, ["execution.max_order_size_usd"]),
        ("execution.max_order_size_usd", 10_000.01, ["execution.max_order_size_usd"]),
        ("execution.max_order_size_usd", 9_999, []),
        ("execution.max_quote_age_seconds", 3600, ["execution.max_quote_age_seconds"]),
        ("execution.max_quote_age_seconds", 30, []),
        ("execution.max_daily_trades", 51, ["execution.max_daily_trades"]),
        ("execution.max_daily_trades", 10, []),
        ("execution.price_collar_pct", None, ["execution.price_collar_pct"]),
        ("execution.price_collar_pct", 0.06, ["execution.price_collar_pct"]),
        ("execution.price_collar_pct", 0.01, []),
        ("execution.buying_power_buffer", 0.0, ["execution.buying_power_buffer"]),
        ("execution.buying_power_buffer", 0.10, []),
        ("execution.default_order_type", "market", ["execution.default_order_type"]),
        ("execution.order_timeout_minutes", 0, ["execution.order_timeout_minutes"]),  # 0 = never cancel
        ("execution.order_timeout_minutes", 45, ["execution.order_timeout_minutes"]),
        ("execution.order_timeout_minutes", 5, []),
        ("execution.chase.enabled", True, ["execution.chase.enabled"]),
        ("execution.chase.step", 0.10, ["execution.chase.step"]),
        ("execution.chase.step", 0.01, []),
        ("execution.chase.minutes", 5, ["execution.chase.minutes"]),
        ("execution.chase.minutes", 30, []),
        ("execution.chase.max_moves", 4, ["execution.chase.max_moves"]),
        ("execution.chase.max_moves", 0, []),
        ("validation.allow_short", True, ["validation.allow_short"]),
        ("validation.max_adv_pct", 0.5, ["validation.max_adv_pct"]),
        ("validation.max_adv_pct", 0.01, []),
        ("restricted.symbols", ["TSLA"], ["restricted.symbols"]),
        ("restricted.symbols", [], ["restricted.symbols"]),
        ("restricted.symbols", ["TSLA", "GME", "AMC"], []),
        ("broker", "alpaca", ["broker"]),
        ("mode", "LIVE", ["mode"]),
        ("endpoint", "paper-api.alpaca.markets", ["endpoint"]),
    ],
)
def test_each_key_loosens_in_its_direction_only(key, value, expected):
    before, after = P.make_policy(BASE), with_(key, value)
    assert P.loosened(before, after) == expected
    assert P.loosened(before, before) == []


@pytest.mark.parametrize(
    ("key", "start", "back"),
    [
        ("execution.enabled", False, True),
        ("mode", "LIVE", "PAPER"),  # a mode change either way is another place to send to
        ("broker", "alpaca", "paper"),
        ("execution.price_collar_pct", None, 0.05),
    ],
)
def test_the_reverse_changes(key, start, back):
    base = with_(key, start)
    expected = [] if key == "execution.price_collar_pct" else [key]
    assert P.loosened(base, with_(key, back)) == expected


def test_the_attack_names_both_keys_in_order():
    official = P.make_policy(BASE)
    own = with_("execution.require_human_approval", False, **{"execution.max_order_size_usd": 1e12})
    assert P.loosened(official, own) == ["execution.require_human_approval", "execution.max_order_size_usd"]
    assert P.describe_all(official, own) == [
        "execution.require_human_approval true -> false",
        "execution.max_order_size_usd 10000 -> 1000000000000",
    ]


def test_a_change_that_tightens_one_key_and_loosens_another_is_loosened():
    official = P.make_policy(BASE)
    mixed = with_("execution.max_order_size_usd", 5_000, **{"execution.max_daily_trades": 500})
    assert P.loosened(official, mixed) == ["execution.max_daily_trades"]
    assert P.loosened(mixed, official) == ["execution.max_order_size_usd"]


def test_describe_names_the_restricted_symbols_removed_and_approvers_added():
    official = P.make_policy(BASE)
    assert P.describe_all(official, with_("restricted.symbols", ["GME"])) == ["restricted.symbols (TSLA removed)"]
    assert P.describe_all(official, with_("execution.approvers", ["ann", "bob", "eve"])) == [
        "execution.approvers [ann, bob] -> [ann, bob, eve] (added eve)"
    ]


def test_canonical_form_and_hash():
    p = P.make_policy({**BASE, "restricted.symbols": ["TSLA", "GME", "TSLA"], "execution.approvers": ["bob", "ann"]})
    assert p["restricted.symbols"] == ["GME", "TSLA"]
    assert p["execution.approvers"] == ["ann", "bob"]
    assert p["execution.max_order_size_usd"] == 10000.0 and isinstance(p["execution.max_order_size_usd"], float)
    assert p["execution.max_daily_trades"] == 50 and isinstance(p["execution.max_daily_trades"], int)
    assert p["execution.chase.minutes"] == 15 and isinstance(p["execution.chase.minutes"], int)
    assert p["restricted.sha256"] == hashlib.sha256(b"GME\nTSLA").hexdigest()
    assert P.restricted_sha256([]) == hashlib.sha256(b"").hexdigest()
    # the same settings written differently are the same policy
    q = P.make_policy({**BASE, "execution.max_order_size_usd": 10000.0, "restricted.symbols": ("GME", "TSLA")})
    assert P.policy_sha256(p) == P.policy_sha256(q)
    small = {"a": 1, "b": [2, "x"], "c": None}
    assert P.canonical_json(small) == '{"a":1,"b":[2,"x"],"c":null}'
    assert P.policy_sha256(small) == hashlib.sha256(b'{"a":1,"b":[2,"x"],"c":null}').hexdigest()


def test_a_missing_or_unknown_key_is_an_error_and_an_unknown_key_in_a_journaled_policy_loosens():
    with pytest.raises(KeyError):
        P.make_policy({k: v for k, v in BASE.items() if k != "broker"})
    with pytest.raises(ValueError, match="not a policy key: execution.max_everything"):
        P.make_policy({**BASE, "execution.max_everything": 1})
    official = P.make_policy(BASE)
    newer = {**official, "execution.future_limit": 5}
    assert P.loosened(official, newer) == ["execution.future_limit"]
    older = {k: v for k, v in official.items() if k != "validation.max_adv_pct"}
    assert P.loosened(older, official) == ["validation.max_adv_pct"]


def test_the_wire_gate_closes_when_the_restricted_list_changes_under_a_running_process(tmp_path):
    from xlexec.config import config_from_dict
    from xlexec.errors import GateClosed
    from xlexec.execution.guards import wire_gate
    from xlexec.store.policy import effective_policy, gate_check

    live = tmp_path / "live"
    live.mkdir()
    (live / "restricted.csv").write_text("symbol,reason\nGME,compliance\nbrk-b,insider\n")
    cfg = config_from_dict({"live_dir": str(live)})
    policy = effective_policy(cfg)
    assert policy["restricted.symbols"] == ["BRK.B", "GME"]
    assert policy["restricted.sha256"] == hashlib.sha256(b"BRK.B\nGME").hexdigest()
    check = gate_check(live, policy)
    wire_gate(live, what="submit X", policy_check=check)  # unchanged: open
    (live / "restricted.csv").write_text("symbol,reason\nGME,compliance\nBRK B,insider\n")  # same symbols
    wire_gate(live, what="submit X", policy_check=check)
    (live / "restricted.csv").write_text("symbol,reason\nGME,compliance\n")
    with pytest.raises(GateClosed, match=r"restricted list .* changed during the run; submit X: not sent"):
        wire_gate(live, what="submit X", policy_check=check)


def test_the_wire_gate_sees_a_same_size_edit_with_its_modification_time_put_back(tmp_path):
    """The gate re-reads the restricted list only when the file is not the one it last read;
    an edit that keeps the size and restores the modification time is still seen (the change
    time moves), and so are a removal, a creation and an unreadable file."""
    import os

    from xlexec.config import config_from_dict
    from xlexec.errors import GateClosed
    from xlexec.execution.guards import wire_gate
    from xlexec.store.policy import effective_policy, gate_check

    live = tmp_path / "live"
    live.mkdir()
    f = live / "restricted.csv"
    f.write_text("symbol,reason\nGME,compliance\n")
    policy = effective_policy(config_from_dict({"live_dir": str(live)}))
    check = gate_check(live, policy)
    assert check() is None and check() is None  # unchanged, twice
    st = f.stat()
    f.write_text("symbol,reason\nAMC,compliance\n")  # same size
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # modification time put back
    assert f.stat().st_size == st.st_size and f.stat().st_mtime_ns == st.st_mtime_ns
    with pytest.raises(GateClosed, match="changed during the run"):
        wire_gate(live, what="submit X", policy_check=check)
    f.write_text("symbol,reason\nGME,compliance\n")  # back as authorised: open again
    assert check() is None
    f.unlink()
    assert "changed during the run" in check()
    f.write_text("symbol,reason\nGME,compliance\n")
    assert check() is None
    f.write_text("symbol,reason\n,compliance\n")  # a row with no symbol: cannot be read
    assert "cannot be read" in check()
    assert "cannot be read" in check()
