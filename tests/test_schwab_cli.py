"""``python -m xlexec submit`` against the loopback fake Trader API (a subprocess, run from a tmp
folder with ``--config``): a lost 201 is found by its fields, a rerun sends nothing twice, several
fitting orders are reported ambiguous and never resent, and Schwab (always real money) needs --live."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_schwab import ACCOUNT_HASH, ACCOUNT_NUMBER, FakeSchwab  # noqa: E402
from tests import cli_fork

ORDERS = f"/trader/v1/accounts/{ACCOUNT_HASH}/orders"


def _today() -> str:
    return dt.datetime.now(ZoneInfo("America/New_York")).date().isoformat()


def _setup(tmp_path: Path, fake: FakeSchwab, account: str = ACCOUNT_NUMBER, extra: str = "") -> tuple[Path, Path]:
    now = int(time.time())
    tok = {"access_token": "access-0", "refresh_token": "refresh-1", "token_type": "Bearer",
           "expires_in": 1800, "scope": "api", "expires_at": now + 1800}  # fmt: skip
    token = tmp_path / "token.json"
    token.write_text(json.dumps({"creation_timestamp": now, "token": tok}))
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"live_dir: {tmp_path / 'live'}\nexecution:\n  broker: schwab\n  require_human_approval: false\n"
        "  price_collar_pct: null\n  schwab:\n    app_key: ${SCHWAB_APP_KEY}\n    app_secret: ${SCHWAB_APP_SECRET}\n"
        f"    token_path: {token}\n    account_number: '{account}'\n    paper: false\n    base_url: {fake.url}\n{extra}"
    )
    day = tmp_path / "live" / _today()
    day.mkdir(parents=True)
    trades = day / "trades.csv"
    trades.write_text(
        f"# Date: {_today()}\n# Kill Switch: ACTIVE\n# Safety Checks: PASSED\n"
        "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
        "AAPL,buy,10,150.00,1500.00,0.015,0.15,0.30,0.45\n"
        "MSFT,buy,5,380.00,1900.00,0.019,0.19,0.38,0.57\n"
    )
    return cfg, trades


def _submit(cfg: Path, trades: Path, *extra: str, crash: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("XLEXEC_CRASH_AT", "XLEXEC_NOW")}
    if crash:
        env["XLEXEC_CRASH_AT"] = crash
    # COLUMNS: the result table's rows on one line each
    env.update(SCHWAB_APP_KEY="KEY", SCHWAB_APP_SECRET="SECRET", SCHWAB_ACCOUNT_HASH=ACCOUNT_HASH, COLUMNS="400")
    cmd = [sys.executable, "-m", "xlexec", "submit", str(trades), "--allow-closed", "--config", str(cfg), *extra]
    return cli_fork.run(cmd, cwd=cfg.parent, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def fake():
    with FakeSchwab() as f:
        yield f


def test_submit_without_live_is_refused_and_nothing_is_posted(tmp_path, fake):
    cfg, trades = _setup(tmp_path, fake)
    r = _submit(cfg, trades)
    assert r.returncode != 0 and "--live" in r.stderr, r.stderr
    assert fake.requests("POST", ORDERS) == []


def test_lost_201_is_found_by_its_fields_and_a_rerun_sends_nothing(tmp_path, fake):
    cfg, trades = _setup(tmp_path, fake)
    fake.inject("lost", method="POST", path=ORDERS, times=1)  # the first order is created, its reply lost
    r = _submit(cfg, trades, "--live")
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(fake.requests("POST", ORDERS)) == 2 and len(fake.orders) == 2
    assert "reply lost" in r.stdout and "2 sent, 0 already at the broker" in r.stdout, r.stdout
    r2 = _submit(cfg, trades, "--live")
    assert r2.returncode == 0, r2.stdout + r2.stderr
    assert len(fake.requests("POST", ORDERS)) == 2 and len(fake.orders) == 2, "nothing sent twice"
    assert "0 sent, 2 already at the broker" in r2.stdout, r2.stdout


def test_crash_after_the_send_rerun_finds_the_order_by_its_fields(tmp_path, fake):
    cfg, trades = _setup(tmp_path, fake)
    r = _submit(cfg, trades, "--live", crash="after_send_before_response:1")
    assert r.returncode != 0
    assert len(fake.orders) == 1  # created, its id never journaled
    r2 = _submit(cfg, trades, "--live")
    assert r2.returncode == 0, r2.stdout + r2.stderr
    assert len(fake.requests("POST", ORDERS)) == 2 and len(fake.orders) == 2, "the crashed order not sent again"
    assert "1 sent, 1 already at the broker" in r2.stdout, r2.stdout


def test_an_identical_order_entered_by_hand_plus_a_lost_201_is_ambiguous_and_never_resent(tmp_path, fake):
    cfg, trades = _setup(tmp_path, fake)
    fake.seed_order("AAPL", "BUY", 10, 150.00, entered=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5))
    fake.inject("lost", method="POST", path=ORDERS, times=1)  # AAPL (the first row) is created, reply lost
    r = _submit(cfg, trades, "--live")
    assert r.returncode == 1, r.stdout + r.stderr
    [line] = [x for x in r.stdout.splitlines() if x.startswith("│ AAPL")]
    assert "unknown" in line and "ambiguous: resolve by hand" in line and "not resent" in line, r.stdout
    aapl = [o for o in fake.orders.values() if o["orderLegCollection"][0]["instrument"]["symbol"] == "AAPL"]
    assert len(aapl) == 2  # the hand-entered one and ours: never a third
    posts = len(fake.requests("POST", ORDERS))
    r2 = _submit(cfg, trades, "--live")
    assert r2.returncode == 1
    [line] = [x for x in r2.stdout.splitlines() if x.startswith("│ AAPL")]
    assert "unknown" in line and "ambiguous: resolve by hand" in line, r2.stdout
    assert len(fake.requests("POST", ORDERS)) == posts, "an ambiguous match is never resent"
    env = {k: v for k, v in os.environ.items() if k != "XLEXEC_NOW"}
    env.update(SCHWAB_APP_KEY="KEY", SCHWAB_APP_SECRET="SECRET", COLUMNS="400")
    st = cli_fork.run(
        [sys.executable, "-m", "xlexec", "status", "--json", "--date", _today(), "--config", str(cfg)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "ambiguous: resolve by hand" in st.stdout, st.stdout + st.stderr
    assert len(fake.requests("POST", ORDERS)) == posts


def test_an_account_other_than_the_configured_number_is_refused_and_nothing_is_posted(tmp_path, fake):
    # the hash given directly (no lookup by number): the account the broker then reports must be
    # execution.schwab.account_number
    cfg, trades = _setup(tmp_path, fake, account="87654321", extra="    account_hash: ${SCHWAB_ACCOUNT_HASH}\n")
    r = _submit(cfg, trades, "--live")
    assert r.returncode != 0
    assert f"reports account {ACCOUNT_NUMBER}" in r.stderr and "execution.schwab.account_number 87654321" in r.stderr
    assert fake.requests("POST", ORDERS) == []


def test_mode_and_account_text_for_schwab(tmp_path):
    from xlexec.config import config_from_dict
    from xlexec.excel.modes import account_text, mode_text
    from xlexec.store.policy import mode_of

    cfg = config_from_dict({"execution": {"broker": "schwab", "schwab": {"account_number": "12345678"}}})
    assert mode_of(cfg) == ("LIVE", "api.schwabapi.com")
    assert account_text(cfg) == "account 12345678"
    assert mode_text(cfg) == "LIVE TRADING · REAL MONEY · schwab · account 12345678"
