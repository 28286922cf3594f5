"""The broker's word, not the local files: the live guard checks the account the broker reports,
and exactly-once holds without the local journal.

Every attack goes through the real CLI (``python -m xlexec submit`` in a subprocess, run from a
temporary folder with ``--config``) against the loopback fake Alpaca (``tests/fake_alpaca.py``,
driven by the real alpaca-py client) or the paper simulator; what reached the broker is read
from the fake's own request log / the simulator's own database.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.reliability import _support as U

DAY = "2025-11-03"
N = 6
NOW = U.ny(DAY, 9, 40).isoformat()
# the fake's default paper account PA0000001 -> tag "a000001" (written out by hand)
TAG = "a000001"


def _trades(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _changed(text: str) -> str:
    """The same day's batch with one quantity changed (so every client order id changes:
    the batch hash is part of them); symbols and sides are the same."""
    lines = text.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("symbol,"))
    f = lines[head + 1].split(",")
    f[2] = str(int(f[2]) + 1)
    lines[head + 1] = ",".join(f)
    return "\n".join(lines) + "\n"


def _submit(cfg: Path, trades: Path, cwd: Path, *extra: str, env: dict | None = None):
    p = U.xlexec(
        ["submit", str(trades), "--allow-closed", "--json", *extra, "--config", str(cfg)],
        cwd=cwd,
        env=U.env_with_keys(**(env or {})),
    )
    out = json.loads(p.stdout) if p.stdout.strip().startswith("{") else None
    return p.returncode, out, p.stderr


@pytest.fixture
def fake():
    with U.FakeAlpaca(now=U.ny(DAY, 9, 40), buying_power=1e8, max_lifetime=120) as f:
        yield f


def _cfg(root: Path, url: str, live_dir: Path, **alpaca) -> Path:
    return U.alpaca_config(root, url, require_human_approval=False, live_dir=live_dir, alpaca=alpaca)


# ---------------------------------------------------------------------------------------------
# the live guard by what the broker says


@pytest.mark.parametrize(
    "base_url",
    [
        "https://api.alpaca.markets.",  # trailing dot: the same host
        "https://API.Alpaca.Markets",  # case
        "https://api.alpaca.markets:443/",  # default port spelled out
        "https://api.alpaca.markets.:443",
    ],
)
def test_live_host_in_any_spelling_is_refused_in_paper_mode(tmp_path, fake, base_url):
    """Any request would go through the fake (as the proxy): its log shows nothing was tried."""
    trades = _trades(tmp_path / "live" / DAY / "trades.csv", U.trades_text(DAY, N))
    cfg = _cfg(tmp_path / "cfg", base_url, tmp_path / "live")
    proxy = {"HTTPS_PROXY": fake.url, "HTTP_PROXY": fake.url, "NO_PROXY": ""}
    rc, out, err = _submit(cfg, trades, tmp_path, env=proxy)
    assert rc == 2, err
    assert "points at the LIVE API while paper is true" in err, err
    assert fake.log == [] and fake.orders == {}
    assert not (tmp_path / "live" / "journal.sqlite").exists() or _intents(tmp_path / "live") == []


@pytest.mark.parametrize(
    ("base_url", "why"),
    [
        ("https://trader@api.alpaca.markets", "userinfo"),
        ("https://x:y@paper-api.alpaca.markets", "userinfo"),
        ("https://34.120.8.20", "IP address"),
        ("https://[2600:1f18::1]", "IP address"),
    ],
)
def test_userinfo_and_ip_hosts_are_refused(tmp_path, fake, base_url, why):
    trades = _trades(tmp_path / "live" / DAY / "trades.csv", U.trades_text(DAY, N))
    cfg = _cfg(tmp_path / "cfg", base_url, tmp_path / "live")
    proxy = {"HTTPS_PROXY": fake.url, "HTTP_PROXY": fake.url, "NO_PROXY": ""}
    rc, out, err = _submit(cfg, trades, tmp_path, env=proxy)
    assert rc == 2 and why in err, err
    assert fake.log == []


def test_live_account_behind_a_paper_config_is_refused(tmp_path):
    with U.FakeAlpaca(now=U.ny(DAY, 9, 40), buying_power=1e8, account_number="612345678") as fake:
        trades = _trades(tmp_path / "live" / DAY / "trades.csv", U.trades_text(DAY, N))
        cfg = _cfg(tmp_path / "cfg", fake.url, tmp_path / "live")  # paper: true
        rc, out, err = _submit(cfg, trades, tmp_path)
        assert rc == 1, err
        assert "reports account 612345678, which is not a paper account" in err and "nothing sent" in err
        assert fake.requests("POST", "/v2/orders") == [] and fake.orders == {}
        assert _intents(tmp_path / "live") == []


def test_paper_account_behind_a_live_config_is_refused(tmp_path, fake):
    trades = _trades(tmp_path / "live" / DAY / "trades.csv", U.trades_text(DAY, N))
    cfg = _cfg(tmp_path / "cfg", fake.url, tmp_path / "live", paper=False)
    rc, out, err = _submit(cfg, trades, tmp_path, "--live")
    assert rc == 1, err
    assert "reports paper account PA0000001 while the config says paper: false" in err
    assert fake.requests("POST", "/v2/orders") == [] and fake.orders == {}


def test_configured_account_number_must_be_the_one_reported(tmp_path, fake):
    trades = _trades(tmp_path / "live" / DAY / "trades.csv", U.trades_text(DAY, N))
    wrong = _cfg(tmp_path / "cfg_wrong", fake.url, tmp_path / "live", account_number="PA0000002")
    rc, out, err = _submit(wrong, trades, tmp_path)
    assert rc == 1, err
    assert "not the configured execution.alpaca.account_number PA0000002" in err
    assert fake.orders == {}
    right = _cfg(tmp_path / "cfg_right", fake.url, tmp_path / "live", account_number="PA0000001")
    rc, out, err = _submit(right, trades, tmp_path)
    assert rc == 0 and out["sent"] == N, err
    # ids name the account: xlx-<date>-<tag>-<symbol>-<side>-<batch hash>
    assert all(o["client_order_id"].startswith(f"xlx-{DAY}-{TAG}-") for o in fake.orders.values())


# ---------------------------------------------------------------------------------------------
# exactly once without the local journal


def _intents(live: Path) -> list[str]:
    p = live / "journal.sqlite"
    if not p.exists():
        return []
    con = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
    try:
        return [k for (k,) in con.execute("SELECT key FROM events WHERE kind='order_intent'")]
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


def _forget(live: Path) -> None:
    for p in live.glob("journal.sqlite*"):
        p.unlink()


def test_journal_deleted_then_same_or_changed_batch_sends_nothing_again(tmp_path, fake):
    text = U.trades_text(DAY, N)
    trades = _trades(tmp_path / "live" / DAY / "trades.csv", text)
    cfg = _cfg(tmp_path / "cfg", fake.url, tmp_path / "live")
    rc, first, err = _submit(cfg, trades, tmp_path)
    assert rc == 0 and first["sent"] == N, err
    sent_ids = sorted(o["client_order_id"] for o in fake.orders.values())

    _forget(tmp_path / "live")  # the journal is lost
    rc, again, err = _submit(cfg, trades, tmp_path)
    assert rc == 0, err
    assert again["sent"] == 0 and again["already_sent"] == N
    assert len(fake.requests("POST", "/v2/orders")) == N  # not one more order request
    assert sorted(_intents(tmp_path / "live")) == sent_ids  # the journal knows them again

    _forget(tmp_path / "live")
    trades.write_text(_changed(text))  # a changed batch: every client order id is new
    rc, changed, err = _submit(cfg, trades, tmp_path)
    assert rc == 1, err  # refused rows: not a clean run
    assert changed["sent"] == 0 and changed["refused"] == N and changed["already_sent"] == 0
    assert len(fake.requests("POST", "/v2/orders")) == N and len(fake.orders) == N
    for row in changed["orders"]:
        assert row["outcome"] == "refused" and row["note"].startswith(f"duplicate: {row['symbol']} {row['side']}")
        # the note names the broker's order: same date, account, symbol and side, old batch hash
        prefix = f"xlx-{DAY}-{TAG}-{row['symbol']}-{row['side']}-"
        named = next(c for c in sent_ids if c.startswith(prefix))
        assert named in row["note"] and named != row["client_order_id"]


def test_second_live_folder_sends_nothing_again(tmp_path, fake):
    text = U.trades_text(DAY, N)
    a = _trades(tmp_path / "liveA" / DAY / "trades.csv", text)
    rc, out, err = _submit(_cfg(tmp_path / "cfgA", fake.url, tmp_path / "liveA"), a, tmp_path)
    assert rc == 0 and out["sent"] == N, err

    cfg_b = _cfg(tmp_path / "cfgB", fake.url, tmp_path / "liveB")
    b = _trades(tmp_path / "liveB" / DAY / "trades.csv", text)
    rc, same, err = _submit(cfg_b, b, tmp_path)
    assert rc == 0 and same["sent"] == 0 and same["already_sent"] == N, err
    b.write_text(_changed(text))
    rc, changed, err = _submit(cfg_b, b, tmp_path)
    assert rc == 1 and changed["sent"] == 0 and changed["refused"] == N, err
    assert len(fake.requests("POST", "/v2/orders")) == N and len(fake.orders) == N


def test_an_order_cancelled_at_the_broker_is_not_a_duplicate(tmp_path, fake):
    """Only live or filled orders block: a cancelled (unfilled) one may be replaced by the new batch."""
    text = U.trades_text(DAY, N)
    trades = _trades(tmp_path / "live" / DAY / "trades.csv", text)
    cfg = _cfg(tmp_path / "cfg", fake.url, tmp_path / "live")
    rc, first, err = _submit(cfg, trades, tmp_path)
    assert rc == 0, err
    gone = next(iter(fake.orders.values()))
    gone["status"] = "canceled"
    _forget(tmp_path / "live")
    trades.write_text(_changed(text))
    rc, changed, err = _submit(cfg, trades, tmp_path)
    sent = [r for r in changed["orders"] if r["outcome"] == "sent"]
    assert [(r["symbol"], r["side"]) for r in sent] == [(gone["symbol"], gone["side"])], err
    assert changed["refused"] == N - 1 and rc == 1


def test_broker_order_under_our_id_for_another_order_is_a_collision_never_already_sent(tmp_path, fake):
    trades = _trades(tmp_path / "live" / DAY / "trades.csv", U.trades_text(DAY, N))
    cfg = _cfg(tmp_path / "cfg", fake.url, tmp_path / "live")
    # the first order's id as it would be sent, taken from a run against a second, empty fake
    with U.FakeAlpaca(now=U.ny(DAY, 9, 40), buying_power=1e8) as other:
        probe = _cfg(tmp_path / "cfg_probe", other.url, tmp_path / "probe")
        _trades(tmp_path / "probe" / DAY / "trades.csv", U.trades_text(DAY, N))
        rc, out, err = _submit(probe, tmp_path / "probe" / DAY / "trades.csv", tmp_path)
        assert rc == 0, err
        first = out["orders"][0]
    # the broker has that id for another quantity (e.g. from another tool)
    fake.seed_order(first["client_order_id"], first["symbol"], first["side"], first["qty"] + 5, first["limit_price"])
    rc, out, err = _submit(cfg, trades, tmp_path)
    row = next(r for r in out["orders"] if r["client_order_id"] == first["client_order_id"])
    assert rc == 1 and row["outcome"] == "refused", err
    assert "client order id collision" in row["note"] and "qty" in row["note"]
    assert out["already_sent"] == 0 and out["sent"] == N - 1
    assert fake.order_count(first["client_order_id"]) == 1


def test_paper_simulator_journal_deleted_changed_batch_sends_nothing_again(tmp_path):
    text = U.trades_text(DAY, N)
    live = tmp_path / "live"
    trades = _trades(live / DAY / "trades.csv", text)
    (live / "current_positions.csv").write_text(U.positions_text(N))
    cfg = tmp_path / "cfg" / "config.yaml"
    cfg.parent.mkdir()
    cfg.write_text(
        f"live_dir: {json.dumps(str(live))}\nexecution:\n  broker: paper\n  require_human_approval: false\n"
        "  price_collar_pct: null\n  max_order_size_usd: 1000000\n  paper:\n    starting_cash: 100000000\n"
    )
    rc, first, err = _submit(cfg, trades, tmp_path, env={"XLEXEC_NOW": NOW})
    assert rc == 0 and first["sent"] == N, err
    # the simulator's account is a paper one, and it is in the ids
    assert all(r["client_order_id"].startswith(f"xlx-{DAY}-asim001-") for r in first["orders"])

    def at_sim() -> int:
        con = sqlite3.connect(f"file:{live / 'paper_broker.sqlite'}?mode=ro", uri=True)
        try:
            return con.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
        finally:
            con.close()

    _forget(live)
    trades.write_text(_changed(text))
    rc, changed, err = _submit(cfg, trades, tmp_path, env={"XLEXEC_NOW": NOW})
    assert rc == 1 and changed["sent"] == 0, err
    assert changed["refused"] == N and changed["already_sent"] == 0
    assert all(r["note"].startswith("duplicate: ") for r in changed["orders"])
    assert at_sim() == N


# ---------------------------------------------------------------------------------------------
# the same through the workbook's Submit button


def _button(cfg: Path, book: Path, cwd: Path):
    p = U.xlexec(
        ["button", "submit", "--book", str(book), "--day", DAY, "--json", "--config", str(cfg)],
        cwd=cwd,
        env=U.env_with_keys(),
    )
    return p.returncode, (json.loads(p.stdout) if p.stdout.strip().startswith("{") else {}), p.stderr


def test_workbook_submit_button_checks_the_account_and_the_broker_orders(tmp_path):
    text = U.trades_text(DAY, N)
    with U.FakeAlpaca(now=U.ny(DAY, 9, 40), buying_power=1e8, account_number=U.LIVE_ACCOUNT) as fake:
        trades = _trades(tmp_path / "live" / DAY / "trades.csv", text)
        cfg = _cfg(tmp_path / "cfg", fake.url, tmp_path / "live")  # paper: true
        book = tmp_path / "book.xlsx"
        p = U.xlexec(
            ["workbook", "build", "--output", str(book), "--day", DAY, "--config", str(cfg)],
            cwd=tmp_path,
            env=U.env_with_keys(),
        )
        assert p.returncode == 0, p.stderr
        rc, res, err = _button(cfg, book, tmp_path)
        assert rc == 1, (res, err)
        assert "which is not a paper account" in json.dumps(res), res
        assert fake.requests("POST", "/v2/orders") == []

        fake.account_number = U.PAPER_ACCOUNT
        rc, res, err = _button(cfg, book, tmp_path)
        assert rc == 0, (res, err)
        assert len(fake.orders) == N

        _forget(tmp_path / "live")
        trades.write_text(_changed(text))
        rc, res, err = _button(cfg, book, tmp_path)
        assert rc == 1, (res, err)
        assert f"0 sent, 0 already at the broker, {N} refused" in res["message"], res
        log = (tmp_path / "live" / DAY / "execution_log.csv").read_text()
        assert log.count("duplicate: ") == N, log
        assert len(fake.requests("POST", "/v2/orders")) == N and len(fake.orders) == N


def test_journal_deleted_does_not_reset_max_daily_trades(tmp_path, fake):
    """The day's count is the broker's too: N orders sent, the journal lost, then a new batch of 2
    other symbols under max_daily_trades N + 1: one goes, one is refused (not both)."""
    trades = _trades(tmp_path / "live" / DAY / "trades.csv", U.trades_text(DAY, N))
    cfg = U.alpaca_config(
        tmp_path / "cfg", fake.url, require_human_approval=False, live_dir=tmp_path / "live", max_daily_trades=N + 1
    )
    rc, first, err = _submit(cfg, trades, tmp_path)
    assert rc == 0 and first["sent"] == N, err
    _forget(tmp_path / "live")
    lines = U.trades_text(DAY, N + 2, seed=1).splitlines()  # seed 1: rows N and N + 1 are buys
    head = next(i for i, ln in enumerate(lines) if ln.startswith("symbol,"))
    new = [ln.replace(f"# Total Trades: {N + 2}", "# Total Trades: 2") for ln in lines[: head + 1]] + lines[-2:]
    other = _trades(tmp_path / "live" / DAY / "trades_pm.csv", "\n".join(new) + "\n")
    rc, second, err = _submit(cfg, other, tmp_path)
    assert rc == 1, err
    assert second["sent"] == 1 and second["refused"] == 1, second
    (refused,) = [r for r in second["orders"] if r["outcome"] == "refused"]
    assert refused["note"].startswith(f"max_daily_trades {N + 1} reached ({N} already today)"), refused["note"]
    assert len(fake.requests("POST", "/v2/orders")) == N + 1
