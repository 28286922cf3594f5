"""``python -m xlexec submit`` with ``execution.broker: ibkr`` against the loopback fake TWS
(tests/fake_tws.py, driven by the real ib_async in a subprocess run from a tmp folder with
``--config``): orders go out once each with the client order id as ``orderRef`` and their fills
come back with commissions (``import-fills``), a reply lost
after the send is found by that id and a rerun sends nothing twice, and the account TWS reports
decides paper or live (DU... paper, U... live) before anything is sent."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_tws import FakeTWS  # noqa: E402
from session_now import clock_tool, session_now  # noqa: E402
from tests import cli_fork

pytestmark = pytest.mark.slow


_tws_now = session_now  # the fake's clock (tests/session_now.py)


def _today() -> str:
    return _tws_now().astimezone(ZoneInfo("America/New_York")).date().isoformat()


def _setup(tmp_path: Path, fake: FakeTWS, *, account: str = "DU1234567", paper: bool = True) -> tuple[Path, Path]:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"live_dir: {tmp_path / 'live'}\nexecution:\n  broker: ibkr\n  require_human_approval: false\n"
        f"  price_collar_pct: null\n  request_timeout_seconds: 5\n  ibkr:\n    port: {fake.port}\n"
        f"    client_id: 5\n    account_id: {account}\n    paper: {'true' if paper else 'false'}\n"
    )
    day = tmp_path / "live" / _today()
    day.mkdir(parents=True)
    trades = day / "trades.csv"
    trades.write_text(
        f"# Date: {_today()}\n# Kill Switch: ACTIVE\n# Safety Checks: PASSED\n"
        "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
        "AAPL,buy,10,150.00,1500.00,0.015,0.15,0.30,0.45\n"
        "BRK.B,buy,5,400.00,2000.00,0.019,0.19,0.38,0.57\n"
    )
    return cfg, trades


def _submit(cfg: Path, trades: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("XLEXEC_CRASH_AT", "XLEXEC_NOW")}
    env["COLUMNS"] = "400"  # the result table's rows on one line each
    cmd = [sys.executable, "-m", "xlexec", "submit", str(trades), "--allow-closed", "--config", str(cfg), *extra]
    return cli_fork.run(cmd, cwd=cfg.parent, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def fake():
    with FakeTWS(prices={"AAPL": 150.0, "BRK B": 400.0}, now=_tws_now) as f:
        yield f


def test_submit_sends_each_order_once_with_our_id_as_order_ref(tmp_path, fake):
    cfg, trades = _setup(tmp_path, fake)
    r = _submit(cfg, trades)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PAPER · ibkr · 127.0.0.1:" in r.stdout and "2 sent, 0 already at the broker" in r.stdout, r.stdout
    # the engine sends up to max_concurrency orders at once: the order they arrive in is not fixed
    orders = sorted(fake.orders, key=lambda o: o["symbol"])
    assert [(o["symbol"], o["tif"], o["account"]) for o in orders] == [
        ("AAPL", "DAY", "DU1234567"),
        ("BRK B", "DAY", "DU1234567"),
    ]
    refs = [o["order_ref"] for o in orders]
    assert all(ref.startswith(f"xlx-{_today()}-") for ref in refs), refs
    log = (trades.parent / "execution_log.csv").read_text()
    assert all(str(o["perm_id"]) in log for o in fake.orders), log  # the permId is the order id
    env = {k: v for k, v in os.environ.items() if k != "XLEXEC_NOW"}
    imp = cli_fork.run(
        [sys.executable, "-m", "xlexec", "import-fills", "--date", _today(), "--config", str(cfg)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert imp.returncode == 0, imp.stdout + imp.stderr
    assert "2 fills imported from the broker (ibkr)" in imp.stdout, imp.stdout
    with (trades.parent / "broker_fills.csv").open(newline="") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda x: x["symbol"])
    # the fake charges max($1.00, $0.005/share): 10 and 5 shares -> $1.00 each
    assert [(x["symbol"], x["side"], x["shares"], x["price"], x["commission"]) for x in rows] == [
        ("AAPL", "buy", "10", "150.00", "1.00"),
        ("BRK.B", "buy", "5", "400.00", "1.00"),
    ]
    assert [x["client_order_id"] for x in rows] == refs
    assert [x["order_id"] for x in rows] == [str(o["perm_id"]) for o in orders]
    assert {x["fill_id"] for x in rows} == {e["exec_id"] for e in fake.executions}
    r2 = _submit(cfg, trades)
    assert r2.returncode == 0, r2.stdout + r2.stderr
    assert "0 sent, 2 already at the broker" in r2.stdout, r2.stdout
    assert fake.place_count == 2


def test_a_reply_lost_after_the_send_is_found_by_order_ref_and_a_rerun_sends_nothing(tmp_path, fake):
    cfg, trades = _setup(tmp_path, fake)
    fake.drop_after_place = 1  # AAPL reaches TWS, then the connection closes before any reply
    r = _submit(cfg, trades)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "reply lost" in r.stdout and "found by client_order_id" in r.stdout, r.stdout
    assert "2 sent, 0 already at the broker" in r.stdout, r.stdout
    assert fake.place_count == 2
    fake.drop_after_place = 0
    r2 = _submit(cfg, trades)
    assert r2.returncode == 0, r2.stdout + r2.stderr
    assert "0 sent, 2 already at the broker" in r2.stdout, r2.stdout
    assert fake.place_count == 2, "nothing sent twice"


def test_paper_mode_with_a_live_login_is_refused_and_nothing_is_placed(tmp_path):
    with FakeTWS(accounts=("U1234567",), now=_tws_now) as f:
        cfg, trades = _setup(tmp_path, f, account="U1234567", paper=True)
        r = _submit(cfg, trades)
        assert r.returncode != 0
        assert "U1234567, which is not a paper account (DU...)" in r.stderr, r.stdout + r.stderr
        assert f.place_count == 0


def test_live_mode_needs_live_and_a_live_account(tmp_path):
    with FakeTWS(accounts=("DU1234567",), now=_tws_now) as f:
        cfg, trades = _setup(tmp_path, f, paper=False)
        r = _submit(cfg, trades)
        assert r.returncode != 0 and "--live" in r.stderr, r.stdout + r.stderr
        r = _submit(cfg, trades, "--live")
        assert r.returncode != 0
        assert "paper account DU1234567" in r.stderr and "paper: false (LIVE)" in r.stderr, r.stdout + r.stderr
        assert f.place_count == 0


def test_an_account_the_login_does_not_manage_is_refused(tmp_path, fake):
    cfg, trades = _setup(tmp_path, fake, account="DU7654321")
    r = _submit(cfg, trades)
    assert r.returncode != 0
    assert "execution.ibkr.account_id DU7654321 is not an account of the login" in r.stderr, r.stdout + r.stderr
    assert fake.place_count == 0


def test_cancel_all_cancels_the_working_orders_at_tws(tmp_path):
    with FakeTWS(prices={"AAPL": 150.0, "BRK B": 400.0}, fill_modes={"BRK B": "none"}, now=_tws_now) as f:
        cfg, trades = _setup(tmp_path, f)
        r = _submit(cfg, trades)
        assert r.returncode == 0, r.stdout + r.stderr
        assert {o["symbol"]: o["status"] for o in f.orders} == {"AAPL": "Filled", "BRK B": "Submitted"}
        env = {k: v for k, v in os.environ.items() if k != "XLEXEC_NOW"}
        env["COLUMNS"] = "400"
        k = cli_fork.run(
            [sys.executable, "-m", "xlexec", "cancel-all", "--json", "--config", str(cfg)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert k.returncode == 0, k.stdout + k.stderr
        assert {o["symbol"]: o["status"] for o in f.orders} == {"AAPL": "Filled", "BRK B": "Cancelled"}
        out = json.loads(k.stdout)
        brk = next(o for o in f.orders if o["symbol"] == "BRK B")
        assert (out["cancelled"], out["still_open"], out["ok"]) == ([str(brk["perm_id"])], [], True)
        assert (tmp_path / "live" / "KILL_SWITCH").exists()


def test_live_mode_with_a_live_account_and_live_sends(tmp_path):
    with FakeTWS(accounts=("U1234567",), prices={"AAPL": 150.0, "BRK B": 400.0}, now=_tws_now) as f:
        cfg, trades = _setup(tmp_path, f, account="U1234567", paper=False)
        r = _submit(cfg, trades, "--live")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "LIVE · ibkr · 127.0.0.1:" in r.stdout and "2 sent" in r.stdout, r.stdout
        assert [o["account"] for o in f.orders] == ["U1234567", "U1234567"]


def _status(cfg: Path, *extra: str, clock: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("XLEXEC_CRASH_AT", "XLEXEC_NOW")}
    env["COLUMNS"] = "400"
    env.update(clock or {})
    cmd = [sys.executable, "-m", "xlexec", "status", "--date", _today(), "--config", str(cfg), *extra]
    return cli_fork.run(cmd, cwd=cfg.parent, env=env, capture_output=True, text=True, timeout=120)


def _clock_later(seconds: int) -> dict[str, str] | None:
    """The environment of a CLI run whose wall clock reads ``seconds`` later than this
    process's (``tools/session_clock.c``, the library ``make test`` loads on a closed day, on
    top of the shift already in force); None without a C compiler to build it."""
    clock = clock_tool()
    SHIFT, shim = clock.SHIFT, clock.build_shim()
    if shim is None:
        return None
    preload = os.environ.get("LD_PRELOAD", "").split()
    return {
        "LD_PRELOAD": " ".join(preload if str(shim) in preload else [str(shim), *preload]),
        SHIFT: str(int(os.environ.get(SHIFT, "0") or 0) + seconds),
    }


def test_the_limit_chase_through_the_cli_replaces_the_order_once(tmp_path):
    """``execution.chase`` (1 minute, the smallest period; a pinned clock is refused with a real
    broker, so the status run that chases reads a wall clock 61 s on: the clock library of
    ``make test``, or a real wait without a C compiler): ``xlexec status --enforce-timeouts``
    cancels the working limit at TWS and places the remainder at +$0.05 under ``<coid>-c1``; a
    rerun right after moves nothing (the replacement is younger than a period) and nothing is
    placed twice."""
    import time

    with FakeTWS(prices={"AAPL": 150.0, "BRK B": 400.0}, fill_modes={"AAPL": "none"}, now=_tws_now) as f:
        cfg, trades = _setup(tmp_path, f)
        chase = "  chase:\n    enabled: true\n    step: 0.05\n    minutes: 1\n    max_moves: 1\n"
        cfg.write_text(cfg.read_text() + chase)
        r = _submit(cfg, trades)
        assert r.returncode == 0, r.stdout + r.stderr
        assert {o["symbol"]: o["status"] for o in f.orders} == {"AAPL": "Submitted", "BRK B": "Filled"}
        aapl, brk = (next(o for o in f.orders if o["symbol"] == s) for s in ("AAPL", "BRK B"))
        root = aapl["order_ref"]
        early = _status(cfg, "--enforce-timeouts")
        assert early.returncode == 0 and f.place_count == 2, early.stdout + early.stderr
        later = _clock_later(61)
        if later is None:
            time.sleep(61)
        s = _status(cfg, "--enforce-timeouts", clock=later)
        assert s.returncode == 0, s.stdout + s.stderr
        assert "AAPL: chase: chase 1: limit 150 -> 150.05 for 10 remaining" in s.stdout, s.stdout
        assert sorted((o["order_ref"], o["status"], o["qty"], o["lmt_price"]) for o in f.orders) == sorted(
            [
                (root, "Cancelled", 10, 150.0),
                (brk["order_ref"], "Filled", 5, 400.0),
                (root + "-c1", "Submitted", 10, 150.05),
            ]
        )
        again = _status(cfg, "--enforce-timeouts", "--json")
        assert again.returncode == 0, again.stdout + again.stderr
        assert f.place_count == 3  # nothing placed twice
        rows = {o["client_order_id"]: o["status"] for o in json.loads(again.stdout)["orders"]}
        assert (rows[root], rows[root + "-c1"]) == ("replaced", "new"), rows
