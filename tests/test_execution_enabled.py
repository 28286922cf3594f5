"""``execution.enabled: false`` refuses every submission, names the key, and sends nothing."""

from __future__ import annotations

import sqlite3

from xlexec.cli.app import main
from xlexec.demo import sample
from xlexec.demo.run import write_demo_config

DAY = "2025-10-30"
MORNING = "2025-10-30T13:40:00+00:00"  # 09:40 New York


def _day(tmp_path, enabled: bool):
    s = sample.make_day(DAY)
    cfg = write_demo_config(tmp_path, s.cash, {"execution": {"enabled": enabled, "require_human_approval": False}})
    cfg.write_text(cfg.read_text().replace("live_dir: live", f"live_dir: {tmp_path / 'live'}"))
    sample.write_day(s, tmp_path / "live")
    return cfg, tmp_path / "live" / DAY / "trades.csv"


def _intents(live) -> int:
    path = live / "journal.sqlite"
    if not path.exists():
        return 0
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT COUNT(*) FROM events WHERE kind = 'order_intent'").fetchone()[0]
    finally:
        con.close()


def test_disabled_execution_refuses_and_names_the_key(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XLEXEC_NOW", MORNING)
    cfg, trades = _day(tmp_path, enabled=False)
    rc = main(["submit", str(trades), "--config", str(cfg), "--json"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "execution.enabled is false" in err and str(cfg) in err
    assert _intents(tmp_path / "live") == 0


def test_enabled_execution_sends_the_same_day(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XLEXEC_NOW", MORNING)
    cfg, trades = _day(tmp_path, enabled=True)
    rc = main(["submit", str(trades), "--config", str(cfg), "--json"])
    capsys.readouterr()
    assert rc == 0
    assert _intents(tmp_path / "live") == 10
