"""Approvals bound to the exact orders: hash binding, override rules, journal as the truth."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest

from xlexec.cli.app import main
from xlexec.core.orders import orders_from_trades, orders_sha256
from xlexec.errors import RefusedError
from xlexec.formats.trades import parse_trades_text
from xlexec.store.approvals import APPROVAL_COLUMNS, find_approval, list_approvals, record_approval
from xlexec.store.journal import APPROVAL, Journal

DATA = Path(__file__).parent / "data" / "validate"
NOW = dt.datetime(2025, 10, 30, 14, 0, tzinfo=dt.UTC)
DAY = "2025-10-30"


def clean_text() -> str:
    return (DATA / "trades_clean.csv").read_text()


def orders_of(text: str):
    return orders_from_trades(parse_trades_text(text, "<test>"), default_order_type="limit")


def approve(
    live,
    orders,
    decision="APPROVED",
    recommended="APPROVE",
    override=False,
    reason="All checks passed",
    approver="John Doe",
    now=NOW,
    date=DAY,
    login="jdoe",
):
    return record_approval(
        live,
        date=date,
        orders=orders,
        decision=decision,
        reason=reason,
        approver=approver,
        approver_login=login,
        recommended=recommended,
        override=override,
        now=now,
    )


def read_csv(live: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO((live / "trade_approvals.csv").read_text())))


def test_record_and_find(tmp_path):
    orders = orders_of(clean_text())
    row = approve(tmp_path, orders)
    sha = orders_sha256(orders)
    assert row["orders_sha256"] == sha and row["n_orders"] == 3 and row["override"] is False
    found = find_approval(tmp_path, DAY, sha)
    assert found is not None
    assert (found["decision"], found["approver"], found["reason"]) == ("APPROVED", "John Doe", "All checks passed")
    assert found["timestamp_utc"] == "2025-10-30T14:00:00.000+00:00"
    rows = read_csv(tmp_path)
    assert rows[0] == APPROVAL_COLUMNS
    assert rows[0][:4] == ["date", "decision", "reason", "approver"]  # the guide's four first
    assert rows[1] == [
        DAY,
        "APPROVED",
        "All checks passed",
        "John Doe",
        "2025-10-30T14:00:00.000+00:00",
        "APPROVE",
        sha,
        "3",
        "False",
        "jdoe",  # the OS login beside the display name
        "",  # no policy given: none bound
    ]
    assert find_approval(tmp_path, "2025-10-31", sha) is None  # another day


def test_changed_share_count_after_approval_is_not_approved(tmp_path):
    approve(tmp_path, orders_of(clean_text()))
    changed = orders_of(clean_text().replace("AAPL,buy,20,150.25,3005.00", "AAPL,buy,21,150.25,3155.25"))
    assert find_approval(tmp_path, DAY, orders_sha256(changed)) is None
    # a changed limit price or an excluded trade are different orders too
    limited = (
        clean_text()
        .replace("total_cost_est\n", "total_cost_est,limit_price\n")
        .replace("0.30,0.60,0.90\n", "0.30,0.60,0.90,150.10\n")
        .replace("0.38,0.76,1.14\n", "0.38,0.76,1.14,\n")
        .replace("0.36,0.71,1.07\n", "0.36,0.71,1.07,\n")
    )
    assert find_approval(tmp_path, DAY, orders_sha256(orders_of(limited))) is None
    fewer = orders_of("\n".join(ln for ln in clean_text().splitlines() if not ln.startswith("MSFT")))
    assert find_approval(tmp_path, DAY, orders_sha256(fewer)) is None
    # the unchanged orders still are
    assert find_approval(tmp_path, DAY, orders_sha256(orders_of(clean_text()))) is not None


def test_later_rejection_revokes_and_reapproval_restores(tmp_path):
    orders = orders_of(clean_text())
    sha = orders_sha256(orders)
    approve(tmp_path, orders, decision="CONDITIONAL", recommended="CONDITIONAL", reason="stale quote ok")
    assert find_approval(tmp_path, DAY, sha)["decision"] == "CONDITIONAL"
    approve(tmp_path, orders, decision="REJECTED", reason="news", now=NOW + dt.timedelta(minutes=1))
    assert find_approval(tmp_path, DAY, sha) is None
    approve(tmp_path, orders, decision="APPROVED", reason="news checked", now=NOW + dt.timedelta(minutes=2))
    found = find_approval(tmp_path, DAY, sha)
    assert found["decision"] == "APPROVED" and found["seq"] == 3
    df = list_approvals(tmp_path)
    assert list(df.columns) == APPROVAL_COLUMNS
    assert list(df["decision"]) == ["CONDITIONAL", "REJECTED", "APPROVED"]
    assert list(df["n_orders"]) == [3, 3, 3]


def test_override_rules(tmp_path):
    orders = orders_of(clean_text())
    sha = orders_sha256(orders)
    for decision in ("APPROVED", "CONDITIONAL"):
        with pytest.raises(RefusedError, match="override"):
            approve(tmp_path, orders, decision=decision, recommended="REJECT")
    assert find_approval(tmp_path, DAY, sha) is None
    assert not (tmp_path / "trade_approvals.csv").exists()  # nothing recorded
    row = approve(
        tmp_path, orders, decision="APPROVED", recommended="REJECT", override=True, reason="IC dip explained by holiday"
    )
    assert row["override"] is True and row["recommended"] == "REJECT"
    assert find_approval(tmp_path, DAY, sha)["override"] is True
    # rejecting needs no override; an --override flag that overrides nothing is not recorded as one
    row = approve(tmp_path, orders, decision="REJECTED", recommended="REJECT", reason="no")
    assert row["override"] is False
    row = approve(tmp_path, orders, decision="APPROVED", recommended="APPROVE", override=True, reason="ok")
    assert row["override"] is False
    assert list(list_approvals(tmp_path)["override"]) == [True, False, False]


@pytest.mark.parametrize("reason,approver", [("", "John Doe"), ("   ", "John Doe"), ("ok", ""), ("ok", " \t ")])
def test_reason_and_approver_required(tmp_path, reason, approver):
    with pytest.raises(RefusedError):
        approve(tmp_path, orders_of(clean_text()), reason=reason, approver=approver)
    assert list_approvals(tmp_path).empty


def test_unknown_decision_refused(tmp_path):
    with pytest.raises(RefusedError):
        approve(tmp_path, orders_of(clean_text()), decision="MAYBE")


def test_csv_edits_cannot_forge_an_approval(tmp_path):
    orders = orders_of(clean_text())
    sha = orders_sha256(orders)
    approve(tmp_path, orders, decision="REJECTED", reason="not today")
    other = orders_of(clean_text().replace("GOOGL,buy,25", "GOOGL,buy,250"))
    forged_sha = orders_sha256(other)
    path = tmp_path / "trade_approvals.csv"
    path.write_text(
        path.read_text().replace("REJECTED", "APPROVED")
        + f"{DAY},APPROVED,forged,Mallory,2025-10-30T14:00:00.000+00:00,APPROVE,{forged_sha},3,False\n"
    )
    assert find_approval(tmp_path, DAY, sha) is None
    assert find_approval(tmp_path, DAY, forged_sha) is None
    # the next recording rewrites the CSV from the journal: the forged rows are gone
    approve(
        tmp_path,
        orders_of(clean_text().replace("AAPL,buy,20", "AAPL,buy,19")),
        reason="smaller",
        now=NOW + dt.timedelta(minutes=5),
    )
    text = path.read_text()
    assert "Mallory" not in text and forged_sha not in text
    assert [r[1] for r in read_csv(tmp_path)[1:]] == ["REJECTED", "APPROVED"]


def test_journal_is_append_only_record(tmp_path):
    orders = orders_of(clean_text())
    approve(tmp_path, orders)
    with Journal.for_live_dir(tmp_path) as j:
        ev = j.events(APPROVAL, DAY)
    assert len(ev) == 1
    assert ev[0].key == f"{DAY}|{orders_sha256(orders)}|1" and ev[0].actor == "John Doe"
    assert ev[0].payload["orders"][0].startswith("AAPL|buy|20|150.2500|limit")


def test_hand_typed_guide_rows_are_kept_but_bind_nothing(tmp_path):
    (tmp_path / "trade_approvals.csv").write_text("2025-10-29,APPROVED,All checks passed,John Doe\n")
    approve(tmp_path, orders_of(clean_text()))
    rows = read_csv(tmp_path)
    assert rows[0] == APPROVAL_COLUMNS
    assert rows[1][:4] == ["2025-10-29", "APPROVED", "All checks passed", "John Doe"]
    assert rows[1][4:] == ["", "", "", "", "", "", ""]
    assert rows[2][1] == "APPROVED" and len(rows) == 3


def test_formula_text_is_neutralised_in_the_csv(tmp_path):
    approve(tmp_path, orders_of(clean_text()), reason='=HYPERLINK("http://x")', approver="@evil")
    rows = read_csv(tmp_path)
    assert rows[1][2].startswith("'=") and rows[1][3] == "'@evil"
    # the journal keeps the text as typed
    assert list_approvals(tmp_path)["reason"].iloc[0].startswith("=HYPERLINK")


def test_find_without_journal_creates_nothing(tmp_path):
    assert find_approval(tmp_path, DAY, "0" * 64) is None
    assert list_approvals(tmp_path).empty
    assert not (tmp_path / "journal.sqlite").exists()


# ---- CLI -------------------------------------------------------------------------------


def cfg_args(day) -> list[str]:
    """``--config`` naming the fixture's config (absolute live_dir): the tests never chdir."""
    return ["--config", str(day.parent.parent / "config.yaml")]


@pytest.fixture
def day(tmp_path, monkeypatch):
    d = tmp_path / "live" / DAY
    d.mkdir(parents=True)
    (d / "trades.csv").write_text(clean_text())
    (d / "quotes.csv").write_text((DATA / "quotes.csv").read_text())
    live = tmp_path / "live"
    (live / "current_positions.csv").write_text((DATA / "positions.csv").read_text())
    (live / "events.csv").write_text((DATA / "events.csv").read_text())
    (live / "reference.csv").write_text((DATA / "reference.csv").read_text())
    (tmp_path / "config.yaml").write_text(f"live_dir: {str(live)!r}\n")  # absolute: no chdir
    monkeypatch.setenv("XLEXEC_NOW", "2025-10-30T14:00:00+00:00")
    return d


def test_cli_approve_binds_the_hash(day, capsys):
    rc = main(
        [
            "approve",
            f"{day}/trades.csv",
            "--by",
            "John Doe",
            "--decision",
            "approved",
            "--reason",
            "All checks passed",
            *cfg_args(day),
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    sha = orders_sha256(orders_of(clean_text()))
    assert sha in out
    live = day.parent
    found = find_approval(live, DAY, sha)
    assert found["recommended"] == "APPROVE" and found["override"] is False
    # one share more in the file: the recorded approval no longer covers it
    (day / "trades.csv").write_text(clean_text().replace("AAPL,buy,20,150.25,3005.00", "AAPL,buy,21,150.25,3155.25"))
    assert find_approval(live, DAY, orders_sha256(orders_of((day / "trades.csv").read_text()))) is None


def test_cli_approve_against_reject_needs_override(day, capsys):
    (day / "trades.csv").write_text((DATA / "direction.csv").read_text())
    args = [
        "approve",
        f"{day}/trades.csv",
        "--by",
        "John Doe",
        "--decision",
        "APPROVED",
        "--reason",
        "weight sign known bug",
    ]
    assert main(args + cfg_args(day)) == 1
    assert "override" in capsys.readouterr().err
    assert list_approvals(day.parent).empty
    assert main(args + cfg_args(day) + ["--override", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["override"] is True and row["recommended"] == "REJECT"
    assert (
        main(
            ["approve", f"{day}/trades.csv", "--by", "Jane", "--decision", "REJECTED", "--reason", "no", *cfg_args(day)]
        )
        == 0
    )
    assert find_approval(day.parent, DAY, row["orders_sha256"]) is None


def test_cli_approve_requires_reason_and_name(day, capsys):
    with pytest.raises(SystemExit) as e:
        main(["approve", f"{day}/trades.csv", "--by", "John", "--decision", "APPROVED", *cfg_args(day)])
    assert e.value.code == 2
    assert (
        main(["approve", f"{day}/trades.csv", "--by", " ", "--decision", "APPROVED", "--reason", "ok", *cfg_args(day)])
        == 1
    )
    assert (
        main(["approve", f"{day}/missing.csv", "--by", "J", "--decision", "APPROVED", "--reason", "ok", *cfg_args(day)])
        == 2
    )
