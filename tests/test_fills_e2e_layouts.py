"""End to end on the demo day (2025-10-30): ``xlexec reconcile --fills FILE`` from every broker
layout's sample (IBKR Flex XML, Trade Confirmation XML, Flex CSV with trailer records, with line
descriptors, unmarked sections; Schwab with options and bills; Fidelity all-accounts with the
account chosen in config.yaml). Each run is ``python -m xlexec`` in a subprocess started in a
folder that is not the project. Expected positions and cash are worked out by hand from the
samples: AAPL 100 + 10 = 110, BRK.B 20 - 5 = 15; cash 5,000 - 1,002.40 + 2,405.00 - commissions.
"""

from __future__ import annotations

import json

import pytest

from tests.reliability import _support as U
from tests.test_fills_e2e import DATA, desk, positions_after, reconcile

PAPER = "live_dir: live\nexecution:\n  broker: paper\n"


@pytest.mark.parametrize(
    ("sample", "config", "cash"),
    [
        # IBKR: IBCommission -0.21 and -0.14 paid, +0.10 rebate on BRK B: 0.25 net
        ("ibkr_flex_activity.xml", PAPER, 6402.35),
        ("ibkr_trade_confirm.xml", PAPER, 6402.35),
        ("ibkr_flex_sections.csv", PAPER, 6402.35),
        ("ibkr_flex_descriptors.csv", PAPER, 6402.35),
        ("ibkr_flex_unmarked.csv", PAPER, 6402.35),
        # Schwab: Fees & Comm 0.02 on the sale
        ("schwab_options_bonds.csv", PAPER, 6402.58),
        # Fidelity: Fees 0.02 on the sale; the individual account chosen in config.yaml
        ("fidelity_all_accounts.csv", PAPER + "broker:\n  account: X12345678\n", 6402.58),
    ],
)
def test_reconcile_from_each_layout(tmp_path, sample, config, cash):
    cfg, live, elsewhere = desk(tmp_path, config)
    r = reconcile(cfg, elsewhere, "--fills", str(DATA / sample))
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["breaks"] == []
    assert positions_after(live) == {"AAPL": 110.0, "BRK.B": 15.0}
    assert abs(j["cash_after"] - cash) < 1e-6


def test_reconcile_from_the_all_accounts_file_without_an_account_is_refused(tmp_path):
    cfg, live, elsewhere = desk(tmp_path, PAPER)
    r = reconcile(cfg, elsewhere, "--fills", str(DATA / "fidelity_all_accounts.csv"))
    assert r.returncode == 2 and "4 accounts in one file" in r.stderr
    assert not (live / "2025-10-30" / "positions_after_recon.csv").exists()


def test_reconcile_from_a_eur_confirmation_is_refused_and_writes_nothing(tmp_path):
    cfg, live, elsewhere = desk(tmp_path, PAPER)
    r = reconcile(cfg, elsewhere, "--fills", str(DATA / "ibkr_confirm_eur.xml"))
    assert r.returncode == 2 and "fill in EUR" in r.stderr and "row 8" in r.stderr
    assert not (live / "2025-10-30" / "positions_after_recon.csv").exists()


def test_monthly_reads_the_days_fills_in_the_configured_base_currency(tmp_path):
    # a EUR fund: its broker_fills.csv is written in EUR; the monthly summary re-reads it in EUR
    cfg, live, elsewhere = desk(tmp_path, PAPER + "base_currency: EUR\n")
    (live / "2025-10-30" / "broker_fills.csv").write_text(
        "date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id,fill_id,fees,currency\n"
        "2025-10-30,AAPL,buy,10,100.25,0.35,,o1,,f1,0,EUR\n"
        "2025-10-30,BRK.B,sell,5,481.00,1.00,,o2,,f2,0,EUR\n"
    )
    r = U.xlexec(["monthly", "--config", str(cfg), "--month", "2025-10", "--json"], cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["total_commission"] == 1.35  # 0.35 + 1.00, both fills read
    # the same file under the USD default is refused naming the currency, as before the fix
    cfg.write_text(PAPER)
    r = U.xlexec(["monthly", "--config", str(cfg), "--month", "2025-10", "--json"], cwd=elsewhere)
    assert r.returncode == 2 and "fill in EUR" in r.stderr
