"""``Day(live_dir, date)``: the day's file names, a bad date refused, the day's journal queries."""

from __future__ import annotations

from pathlib import Path

import pytest

from xlexec.errors import InputError
from xlexec.store.day import Day, is_day_name
from xlexec.store.journal import INTENT, RECON, SLICE, Journal


def test_file_names(tmp_path):
    d = Day(tmp_path / "live", "2025-10-30")
    live = tmp_path / "live"
    assert d.dir == live / "2025-10-30"
    assert d.trades == live / "2025-10-30" / "trades.csv"
    assert d.validation == live / "2025-10-30" / "validation.json"
    assert d.quotes == live / "2025-10-30" / "quotes.csv"
    assert d.execution_log == live / "2025-10-30" / "execution_log.csv"
    assert d.positions_after_recon == live / "2025-10-30" / "positions_after_recon.csv"
    assert d.reconciliation == live / "2025-10-30" / "reconciliation.json"
    assert d.tca == live / "2025-10-30" / "tca.json"
    assert d.fills == live / "2025-10-30" / "broker_fills.csv"
    assert d.upload("ibkr") == live / "2025-10-30" / "trades_ibkr.csv"
    assert d.upload("ibkr", draft=True) == live / "2025-10-30" / "trades_ibkr_DRAFT.csv"
    assert d.upload("alpaca") == live / "2025-10-30" / "orders_alpaca.json"
    # live-level files
    assert d.current_positions == live / "current_positions.csv"
    assert d.positions_backup == live / "current_positions.2025-10-30.bak.csv"
    assert d.events == live / "events.csv" and d.day_events == live / "2025-10-30" / "events.csv"
    assert d.reference == live / "reference.csv"
    assert d.kill_switch == live / "KILL_SWITCH"
    assert d.discrepancies_log == live / "discrepancies.log"
    assert d.journal_file == live / "journal.sqlite"


@pytest.mark.parametrize("bad", ["2025-10-3", "20251030", "2025-13-01", "2025-02-30", "../etc", "", "2025-10-30x"])
def test_bad_date_refused(tmp_path, bad):
    with pytest.raises(InputError) as e:
        Day(tmp_path, bad)
    assert e.value.exit_code == 2


def test_on_another_day_and_folder_names(tmp_path):
    d = Day(str(tmp_path), "2025-10-30")
    assert isinstance(d.live_dir, Path)
    assert d.on(None) is d and d.on("2025-10-30") is d
    assert d.on("2025-10-31").dir == tmp_path / "2025-10-31"
    assert is_day_name("2025-10-30") and not is_day_name("demo")


def test_opening_positions_then_the_accept_backup(tmp_path):
    d = Day(tmp_path, "2025-10-30")
    assert d.opening_or_backup() is None
    d.positions_backup.write_text("symbol,shares\n")
    assert d.opening_or_backup() == d.positions_backup
    d.dir.mkdir()
    d.opening_positions.write_text("symbol,shares\n")
    assert d.opening_or_backup() == d.opening_positions


def test_journal_queries(tmp_path):
    j = Journal.for_live_dir(tmp_path)
    try:
        d = Day(tmp_path, "2025-10-30")
        j.append(INTENT, "A", {"client_order_id": "A", "qty": 1}, day="2025-10-30")
        j.append(INTENT, "B", {"client_order_id": "B", "qty": 2}, day="2025-10-29")
        j.append(SLICE, "P|2025-10-29", {"parent_id": "P"}, day="2025-10-29")
        assert list(d.intents(j)) == ["A"]
        assert [r["parent_id"] for r in d.slice_records(j)] == ["P"]  # schedules carry across days
        # cash before the day: none recorded, then the latest earlier day's cash after
        assert d.previous_cash(j) is None
        j.append(RECON, "2025-10-28|x", {"cash_after": 100.0}, day="2025-10-28")
        j.append(RECON, "2025-10-29|y", {"cash_after": 250.5}, day="2025-10-29")
        j.append(RECON, "2025-10-31|z", {"cash_after": 999.0}, day="2025-10-31")
        assert d.previous_cash(j) == 250.5
        # a rerun of the same day starts from the cash its first run started from
        j.append(RECON, "2025-10-30|w", {"cash_before": 240.0, "cash_after": 300.0}, day="2025-10-30")
        assert d.previous_cash(j) == 240.0
    finally:
        j.close()
