"""The exactly-once guarantees, for every broker of the registry (``_support.BROKERS``).

Each broker's loopback fake, the real client library underneath (alpaca-py, schwab-py,
ib_async), the config built for it; a 20-order day. Per broker and per fault it has (429, 5xx,
the order created and its reply lost, an expired access token, IBKR's status replies slower
than the adapter waits): submit (rerun while anything is unknown,
at most 3 runs) ends with every approved order at the broker exactly once, none unknown. Then a
``kill -9`` of the real CLI right after an order reached the broker, and a rerun: exactly once.
Where the brokers differ, each one's own guarantee is asserted: a twin entered at the broker
by other means plus a lost reply is, on a broker that keeps our client order id (Alpaca; IBKR
as ``orderRef``), found
by that id and sent once; on one that does not (Schwab), reported ambiguous, journaled with its
candidates and never resent. Observations: kind ``broker`` (one column per broker in the report).
"""

from __future__ import annotations

import datetime as dt
import signal
from collections import Counter

import pytest

from . import _support as U

N = 20
RUNS = [(b, f) for b, e in U.BROKERS.items() for f in e.faults]


def _day(root, entry, fake):
    day = entry.day(fake)
    live = root / "live"
    (live / day).mkdir(parents=True, exist_ok=True)
    (live / "current_positions.csv").write_text(U.positions_text(N))
    (live / day / "trades.csv").write_text(U.trades_text(day, N))
    return day, live / day / "trades.csv"


def _planned(trades, tag) -> list[str]:
    from xlexec.core.orders import orders_from_trades
    from xlexec.formats.trades import read_trades

    t = read_trades(trades)
    return U.as_sent(orders_from_trades(t, date=t.date)["client_order_id"], tag)


def _submit_in_process(cfg, root, trades, live: bool):
    from xlexec.config import load_config
    from xlexec.execution import engine as S
    from xlexec.execution.brokers import get_broker
    from xlexec.formats.trades import read_trades
    from xlexec.steps.context import Context

    ctx = Context(load_config(cfg, cwd=root), user="ops")
    b = get_broker(ctx.config, ctx.live_dir)
    try:
        return S.submit_batch(ctx, read_trades(trades), broker=b, quotes=None, allow_closed=True, live=live)
    finally:
        b.close()
        ctx.close()


@pytest.fixture
def fast_lookup(monkeypatch):
    from xlexec.execution import engine as S

    monkeypatch.setattr(S, "LOOKUP_BACKOFF", (0.05, 0.1))


@pytest.mark.parametrize("broker,fault", RUNS, ids=[f"{b}-{f}" for b, f in RUNS])
def test_fault_ends_with_every_order_at_the_broker_exactly_once(
    tmp_path, monkeypatch, fast_lookup, observe, broker, fault
):
    entry = U.BROKERS[broker]
    for k, v in entry.env.items():
        monkeypatch.setenv(k, v)
    with entry.start(N) as fake:
        day, trades = _day(tmp_path, entry, fake)
        cfg = entry.config(tmp_path, fake, require_human_approval=False, request_timeout_seconds=0.5)
        entry.faults[fault](fake, 3)
        runs, r = 0, None
        while runs < 3 and (r is None or r.exit_code != 0):
            r = _submit_in_process(cfg, tmp_path, trades, entry.live)
            runs += 1
        legs = Counter(entry.legs(fake, day))
    planned = _planned(trades, entry.tag)
    ok = r.exit_code == 0 and r.unknown == 0 and sorted(legs) == sorted(set(legs)) and len(legs) == N
    dups = sum(n - 1 for n in legs.values())
    observe("broker", broker=broker, scenario=f"fault {fault}", orders=N, at_broker=sum(legs.values()),
            duplicates=dups, unknown=int(r.unknown), runs=runs, ok=bool(ok and dups == 0))  # fmt: skip
    assert r.exit_code == 0 and r.unknown == 0, r.not_at_broker()
    assert dups == 0 and sum(legs.values()) == N, legs
    assert sorted(r.orders["client_order_id"]) == planned


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL (POSIX)")
@pytest.mark.parametrize("broker", list(U.BROKERS))
def test_kill_9_after_the_send_then_rerun_is_exactly_once(tmp_path, observe, broker):
    entry = U.BROKERS[broker]
    with entry.start(N) as fake:
        day, trades = _day(tmp_path, entry, fake)
        cfg = entry.config(tmp_path, fake, require_human_approval=False)
        args = ["submit", str(trades), "--allow-closed", "--config", str(cfg), *(["--live"] if entry.live else [])]
        env = U.env_with_keys(XLEXEC_CRASH_AT="after_send_before_response:7", **entry.env)
        crashed = U.xlexec(args, cwd=tmp_path, env=env)
        after_kill = Counter(entry.legs(fake, day))
        rerun = U.xlexec(args, cwd=tmp_path, env=U.env_with_keys(**entry.env))
        legs = Counter(entry.legs(fake, day))
    killed = crashed.returncode == -signal.SIGKILL
    dups = sum(n - 1 for n in legs.values())
    observe("broker", broker=broker, scenario="kill -9 after the send, rerun", orders=N, at_broker=sum(legs.values()),
            duplicates=dups, unknown=0, runs=2, ok=bool(killed and rerun.returncode == 0 and dups == 0
            and sum(legs.values()) == N))  # fmt: skip
    assert killed, (crashed.returncode, crashed.stderr[-1500:])
    assert sum(after_kill.values()) >= 7  # the 7th order reached the broker, its reply never journaled
    assert rerun.returncode == 0, (rerun.stdout[-800:], rerun.stderr[-1500:])
    assert dups == 0 and sum(legs.values()) == N, legs


@pytest.mark.parametrize("broker", list(U.BROKERS))
def test_a_twin_at_the_broker_plus_a_lost_reply_keeps_each_brokers_guarantee(
    tmp_path, monkeypatch, fast_lookup, observe, broker
):
    from xlexec.store import journal as J

    entry = U.BROKERS[broker]
    for k, v in entry.env.items():
        monkeypatch.setenv(k, v)
    with entry.start(N) as fake:
        day, trades = _day(tmp_path, entry, fake)
        first = U.symbols(N)[0]  # XAA, a sell in trades_text (row 0: (0 + seed) % 3 == 0)
        if entry.client_order_ids:
            fake.seed_order("hand-entered-twin", first, "sell", 10, 20.0)
        else:
            when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
            fake.seed_order(first, "SELL", 10, 20.0, entered=when)  # XAA sell 10 @ 20.00: row 0 exactly
        cfg = entry.config(tmp_path, fake, require_human_approval=False, request_timeout_seconds=0.5)
        entry.faults["lost"](fake, 1)  # row 0's order created, its reply lost
        r1 = _submit_in_process(cfg, tmp_path, trades, entry.live)
        r2 = _submit_in_process(cfg, tmp_path, trades, entry.live)
        legs = Counter(entry.legs(fake, day))
        jr = J.Journal.for_live_dir(tmp_path / "live")
        try:
            ambiguous = jr.payloads(J.AMBIGUOUS, day)
        finally:
            jr.close()
    row = r2.orders[r2.orders["symbol"] == first].iloc[0]
    if entry.client_order_ids:  # found by our id: the twin is someone else's order
        ok = row["outcome"] == "already_sent" and legs[(first, "sell")] == 2 and not ambiguous
    else:  # found by fields: two fit, never resent, the candidates journaled for the operator
        ok = row["outcome"] == "unknown" and "ambiguous" in row["note"] and legs[(first, "sell")] == 2
        ok = ok and len(ambiguous) == 1 and len(ambiguous[0]["candidates"]) == 2
    observe("broker", broker=broker, scenario="a twin at the broker + a lost reply", orders=N,
            at_broker=sum(legs.values()), duplicates=0, unknown=int(r2.unknown), runs=2, ok=bool(ok),
            guarantee="found by our id, sent once" if entry.client_order_ids else "ambiguous: journaled, never resent",
            )  # fmt: skip
    assert legs[(first, "sell")] == 2, legs  # the twin and ours: never a third
    assert sum(legs.values()) == N + 1
    if entry.client_order_ids:
        assert r1.exit_code == 0 and row["outcome"] == "already_sent" and not ambiguous
    else:
        assert r1.exit_code == 1 and r2.exit_code == 1
        assert row["outcome"] == "unknown" and "ambiguous: resolve by hand" in row["note"]
        assert len(ambiguous) == 1 and len(ambiguous[0]["candidates"]) == 2
