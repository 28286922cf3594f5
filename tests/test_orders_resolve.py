"""``xlexec orders resolve``: the operator's resolution of an ambiguous Schwab match, end to end.

The real CLI in a subprocess against the loopback fake Trader API (tests/fake_schwab.py): a
hand-entered twin plus a lost 201 leaves AAPL ambiguous (journaled with both candidates, never
resent). ``--order-id`` adopts our order (submit and status follow it, nothing posted again);
``--not-sent`` lets the next submit send it exactly once; a bad order id, an order without an
ambiguity and a contradicting second resolution are refused in one line, recording nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_schwab import ACCOUNT_HASH, FakeSchwab  # noqa: E402
from test_schwab_cli import _setup, _submit, _today  # noqa: E402
from tests import cli_fork

ORDERS = f"/trader/v1/accounts/{ACCOUNT_HASH}/orders"


def _xlexec(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("XLEXEC_CRASH_AT", "XLEXEC_NOW")}
    env.update(SCHWAB_APP_KEY="KEY", SCHWAB_APP_SECRET="SECRET", COLUMNS="400")
    cmd = [sys.executable, "-m", "xlexec", *args, "--config", str(cfg)]
    return cli_fork.run(cmd, cwd=cfg.parent, env=env, capture_output=True, text=True, timeout=120)


def _events(cfg: Path, kind: str) -> list[tuple[str, dict, str]]:
    con = sqlite3.connect(cfg.parent / "live" / "journal.sqlite")
    try:
        rows = con.execute("SELECT key, payload, actor FROM events WHERE kind=? ORDER BY seq", (kind,)).fetchall()
    finally:
        con.close()
    return [(k, json.loads(p), a) for k, p, a in rows]


def _aapl(fake: FakeSchwab) -> list[dict]:
    return [o for o in fake.orders.values() if o["orderLegCollection"][0]["instrument"]["symbol"] == "AAPL"]


@pytest.fixture
def ambiguous(tmp_path):
    """A day whose AAPL order is ambiguous: (config, trades, fake, AAPL coid, hand-entered id, our id)."""
    with FakeSchwab() as fake:
        cfg, trades = _setup(tmp_path, fake)
        hand = fake.seed_order("AAPL", "BUY", 10, 150.00, entered=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5))
        fake.inject("lost", method="POST", path=ORDERS, times=1)  # AAPL (the first row) created, reply lost
        r = _submit(cfg, trades, "--live")
        assert r.returncode == 1 and "ambiguous: resolve by hand" in r.stdout, r.stdout + r.stderr
        [ours] = [o for o in _aapl(fake) if o["orderId"] != hand["orderId"]]
        [(key, amb, _)] = _events(cfg, "order_ambiguous")
        coid = amb["client_order_id"]
        assert coid.startswith(f"xlx-{_today()}-") and "-AAPL-buy-" in coid
        assert sorted(amb["candidates"]) == sorted([str(hand["orderId"]), str(ours["orderId"])])
        assert key == f"{coid}|{','.join(sorted(amb['candidates']))}"
        yield cfg, trades, fake, coid, str(hand["orderId"]), str(ours["orderId"])


def test_order_id_resolution_adopts_the_order_and_it_is_never_resent(ambiguous):
    cfg, trades, fake, coid, hand, ours = ambiguous
    day = _today()
    posts = len(fake.requests("POST", ORDERS))

    r = _xlexec(cfg, "orders", "resolve", day, coid, "--order-id", ours, "--by", "Jane Doe", "--reason", "ticket 7")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"broker order {ours} is ours, by Jane Doe" in r.stdout and "never resent" in r.stdout
    [(key, p, actor)] = _events(cfg, "order_resolution")
    assert key == coid and p["resolution"] == "ours" and p["order_id"] == ours
    assert p["operator"] == "Jane Doe" and p["reason"] == "ticket 7" and p["login"] and actor
    assert sorted(p["candidates"]) == sorted([hand, ours])

    again = _xlexec(cfg, "orders", "resolve", day, coid, "--order-id", ours, "--by", "Jane Doe", "--reason", "again")
    assert again.returncode == 0 and "already recorded" in again.stdout, again.stdout + again.stderr
    n_events = len(_events(cfg, "order_resolution")) + len(_events(cfg, "order_update"))
    other = _xlexec(cfg, "orders", "resolve", day, coid, "--not-sent", "--by", "Bob", "--reason", "changed my mind")
    assert other.returncode == 1 and other.stdout == "", other.stdout
    [line] = other.stderr.strip().splitlines()
    assert "already resolved" in line and f"broker order {ours} is ours" in line and "contradicting" in line
    assert len(_events(cfg, "order_resolution")) + len(_events(cfg, "order_update")) == n_events

    r2 = _submit(cfg, trades, "--live", "--json")
    assert r2.returncode == 0, r2.stdout + r2.stderr
    doc = json.loads(r2.stdout)
    assert (doc["sent"], doc["already_sent"]) == (0, 2), doc["summary"]
    [row] = [o for o in doc["orders"] if o["symbol"] == "AAPL"]
    assert row["order_id"] == ours and row["outcome"] == "already_sent"
    st = _xlexec(cfg, "status", "--json", "--date", day)
    assert st.returncode == 0, st.stderr
    [aapl] = [o for o in json.loads(st.stdout)["orders"] if o["symbol"] == "AAPL"]
    assert aapl["order_id"] == ours and "ambiguous" not in aapl["note"]
    assert len(fake.requests("POST", ORDERS)) == posts and len(_aapl(fake)) == 2, "the adopted order is never resent"


def test_not_sent_resolution_lets_the_next_submit_send_it_exactly_once(ambiguous):
    cfg, trades, fake, coid, hand, ours = ambiguous
    posts = len(fake.requests("POST", ORDERS))
    r = _xlexec(cfg, "orders", "resolve", _today(), coid, "--not-sent", "--by", "Jane", "--reason", "both manual")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "not sent (none is ours)" in r.stdout and "sends it once" in r.stdout

    r2 = _submit(cfg, trades, "--live", "--json")
    assert r2.returncode == 0, r2.stdout + r2.stderr
    doc = json.loads(r2.stdout)
    assert (doc["sent"], doc["already_sent"]) == (1, 1), doc["summary"]
    assert len(fake.requests("POST", ORDERS)) == posts + 1 and len(_aapl(fake)) == 3
    [new] = [str(o["orderId"]) for o in _aapl(fake) if str(o["orderId"]) not in (hand, ours)]
    [row] = [o for o in doc["orders"] if o["symbol"] == "AAPL"]
    assert row["order_id"] == new and row["outcome"] == "sent"

    r3 = _submit(cfg, trades, "--live")
    assert r3.returncode == 0 and "0 sent, 2 already at the broker" in r3.stdout, r3.stdout + r3.stderr
    assert len(fake.requests("POST", ORDERS)) == posts + 1, "one new send, never a second"


def test_refused_resolutions_say_why_in_one_line_and_record_nothing(ambiguous):
    cfg, _trades, _fake, coid, hand, ours = ambiguous
    day = _today()
    intents = [p["client_order_id"] for _, p, _ in _events(cfg, "order_intent")]
    [msft] = [c for c in intents if "-MSFT-" in c]
    cases = [
        (["--order-id", "999999"], coid, "broker order 999999 is not among the orders the broker lists"),
        (["--order-id", ours], msft, "no ambiguous outcome is recorded"),
        (["--not-sent"], f"xlx-{day}-nope", "no order intent of that client order id is journaled"),
        (["--order-id", ours, "--reason", " "], coid, "a reason is required"),
    ]
    for extra, who, says in cases:
        args = ["orders", "resolve", day, who, "--by", "Jane", "--reason", "x", *extra]
        r = _xlexec(cfg, *args)
        assert r.returncode == 1, (extra, r.stdout, r.stderr)
        # (schwab-py's Authlib may print its own deprecation warning first: not ours)
        [line] = [x for x in r.stderr.splitlines() if x.startswith("xlexec")]
        assert says in line and line.startswith("xlexec orders: error:"), line
    assert _events(cfg, "order_resolution") == []
    both = _xlexec(cfg, "orders", "resolve", day, coid, "--order-id", hand, "--not-sent", "--by", "J", "--reason", "x")
    assert both.returncode == 2  # argparse: not allowed together
