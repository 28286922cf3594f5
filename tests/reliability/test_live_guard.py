"""Live guard: with ``paper: false`` nothing is sent without ``--live`` (CLI) or the confirmation
(workbook); the mode is printed on every submit, refused or not.

The "live" account is the loopback fake (``alpaca.paper: false``, ``base_url`` = the fake), so
the guard is exercised for real without any real broker.
"""

from __future__ import annotations

import json

import pytest

from . import _support as U

DAY = "2025-11-03"


@pytest.fixture
def live_day(tmp_path):
    with U.FakeAlpaca(now=U.ny(DAY, 9, 40), fill_modes=U.fill_modes(8), buying_power=1e8, max_lifetime=120) as fake:
        trades = tmp_path / "live" / DAY / "trades.csv"
        trades.parent.mkdir(parents=True)
        trades.write_text(U.trades_text(DAY, 8))
        live_cfg = U.alpaca_config(
            tmp_path / "cfg_live",
            fake.url,
            require_human_approval=False,
            live_dir=tmp_path / "live",
            alpaca={"paper": False},
        )
        paper_cfg = U.alpaca_config(
            tmp_path / "cfg_paper", fake.url, require_human_approval=False, live_dir=tmp_path / "live"
        )
        yield tmp_path, fake, trades, live_cfg, paper_cfg


def test_live_account_sends_nothing_without_live_and_says_so(live_day, observe):
    root, fake, trades, live_cfg, paper_cfg = live_day
    env = {U.KEY_ENV: U.KEY, U.SECRET_ENV: U.SECRET}  # the fake broker's clock is the day
    runs = {}
    for label, argv in [
        ("live, no --live", ["submit", str(trades), "--allow-closed", "--config", str(live_cfg)]),
        ("live, no --live, --json", ["submit", str(trades), "--allow-closed", "--json", "--config", str(live_cfg)]),
    ]:
        runs[label] = U.cli(argv, env=env, cwd=root)
    posts_before_live = len(fake.requests("POST", "/v2/orders"))
    requests_before_live = len(fake.log)
    fake.account_number = U.LIVE_ACCOUNT  # the broker behind the live config reports a live account
    runs["live, --live"] = U.cli(
        ["submit", str(trades), "--allow-closed", "--live", "--json", "--config", str(live_cfg)], env=env, cwd=root
    )
    fake.account_number = U.PAPER_ACCOUNT  # and a paper account behind the paper config
    # another mode is another policy (store/policy.py): refused until an approver records it
    runs["paper, mode change not approved"] = U.cli(
        ["submit", str(trades), "--allow-closed", "--config", str(paper_cfg)], env=env, cwd=root
    )
    approved = U.cli(
        ["policy", "approve", "--config", str(paper_cfg), "--approver", "Risk", "--reason", "back to paper"],
        env=env,
        cwd=root,
    )
    assert approved[0] == 0, approved
    runs["paper"] = U.cli(["submit", str(trades), "--allow-closed", "--config", str(paper_cfg)], env=env, cwd=root)
    runs["paper, --json"] = U.cli(
        ["submit", str(trades), "--allow-closed", "--json", "--config", str(paper_cfg)], env=env, cwd=root
    )
    (root / "live" / "KILL_SWITCH").write_text("TRIGGERED by test\n")
    fake.account_number = U.LIVE_ACCOUNT
    runs["kill switch"] = U.cli(
        ["submit", str(trades), "--allow-closed", "--live", "--config", str(live_cfg)], env=env, cwd=root
    )
    mode_lines = {
        k: [ln for ln in err.splitlines() if ln.startswith("xlexec submit: mode ")] for k, (_, _, err) in runs.items()
    }
    observe(
        "live_guard",
        surface="CLI",
        unconfirmed_runs=2,
        sent_without_live=posts_before_live,
        requests_without_live=requests_before_live,
        sent_with_live=len(fake.orders),
        submits=len(runs),
        mode_printed=sum(1 for v in mode_lines.values() if v),
    )

    for k in ("live, no --live", "live, no --live, --json"):
        rc, out, err = runs[k]
        assert rc == 1, (k, err)
        assert "LIVE" in err and "--live" in err and "nothing sent" in err, err
    assert posts_before_live == 0 and requests_before_live == 0  # not one request reached the broker
    rc, out, err = runs["live, --live"]
    assert rc == 0, err
    assert json.loads(out)["mode"] == "LIVE" and json.loads(out)["sent"] == 8
    assert len(fake.orders) == 8
    for k, lines in mode_lines.items():  # every submit says which mode
        want = "LIVE" if k.startswith(("live", "kill")) else "PAPER"
        assert lines == [f"xlexec submit: mode {want} · alpaca · 127.0.0.1:{fake.port}"], (k, runs[k][2])
    rc, out, err = runs["paper, mode change not approved"]
    assert rc == 1 and "policy:" in err and "mode LIVE -> PAPER" in err and "xlexec policy approve" in err, err
    rc, out, err = runs["paper"]
    assert "[PAPER · alpaca" in out  # and the summary line repeats it
    assert runs["kill switch"][0] == 1 and "[LIVE · alpaca" in runs["kill switch"][2]


def test_paper_simulator_prints_its_mode_too(tmp_path, observe):
    trades = tmp_path / "live" / DAY / "trades.csv"
    trades.parent.mkdir(parents=True)
    trades.write_text(U.trades_text(DAY, 3))
    (tmp_path / "config.yaml").write_text("live_dir: live\nexecution:\n  broker: paper\n")
    rc, out, err = U.cli(
        ["submit", str(trades), "--allow-closed"], cwd=tmp_path, env={"XLEXEC_NOW": U.ny(DAY, 9, 40).isoformat()}
    )
    observe(
        "live_guard",
        surface="CLI (paper simulator, approval missing)",
        unconfirmed_runs=0,
        sent_without_live=0,
        submits=1,
        mode_printed=int("mode PAPER" in err),
    )
    assert rc == 1 and "no approval" in err
    assert err.splitlines()[0].startswith("xlexec submit: mode PAPER · paper · local")


def test_workbook_submit_needs_the_live_confirmation(live_day, observe, monkeypatch):
    import openpyxl

    from xlexec.config import load_config
    from xlexec.excel.build import build_workbook
    from xlexec.excel.buttons import run_button
    from xlexec.steps.context import Context

    root, fake, trades, live_cfg, _ = live_day
    monkeypatch.setenv(U.KEY_ENV, U.KEY)
    monkeypatch.setenv(U.SECRET_ENV, U.SECRET)
    cfg = load_config(live_cfg, cwd=root)
    book = root / "wb.xlsx"
    ctx = Context(cfg, "ops")
    try:
        build_workbook(book, ctx, DAY)  # drawn from the config: its banner shows the mode
    finally:
        ctx.close()
    statuses = []

    def press(live: bool):
        ctx = Context(cfg, "ops")
        try:
            return run_button("submit", book, ctx=ctx, day=DAY, live=live, echo=statuses.append)
        finally:
            ctx.close()

    refused = press(False)
    banner = " ".join(
        str(c.value)
        for row in openpyxl.load_workbook(book, read_only=True)["Control"].iter_rows(max_row=3)
        for c in row
        if c.value is not None
    )
    sent_before = len(fake.orders)
    requests_before = len(fake.log)
    fake.account_number = U.LIVE_ACCOUNT  # the live config's broker reports a live account
    ok = press(True)
    observe(
        "live_guard",
        surface="workbook Submit button",
        unconfirmed_runs=1,
        sent_without_live=sent_before,
        requests_without_live=requests_before,
        sent_with_live=len(fake.orders),
        submits=2,
        mode_printed=int("LIVE" in banner) + int("LIVE" in ok.message),
    )
    assert "LIVE" in banner, banner  # the workbook shows the mode before any press
    assert refused.result == "refused" and refused.exit_code == 1, refused
    assert "not confirmed" in refused.message and "nothing sent" in refused.message
    assert sent_before == 0 and requests_before == 0
    assert ok.ok, ok.message
    assert "[LIVE · alpaca" in ok.message and len(fake.orders) == 8
