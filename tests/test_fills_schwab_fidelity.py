"""Schwab and Fidelity exports with rows that are not US equities (options, bills by CUSIP,
mutual funds, money market sweeps, journals): listed, never a reason to refuse the file; the
Schwab account from its title line; Fidelity's all-accounts export read one account at a time.

Samples: tests/data/fills/schwab_options_bonds.csv, fidelity_all_accounts.csv (sources in its
README.md). Expected values are read off the sample files by hand.
"""

from __future__ import annotations

import pytest

from tests.test_fills_ibkr import DATA, xlexec
from xlexec.errors import InputError
from xlexec.formats.fills import read_fills


def rows(df) -> list[tuple]:
    cols = ["symbol", "side", "shares", "price", "commission", "account"]
    return [(int(i), *r) for i, r in zip(df.index, df[cols].itertuples(index=False, name=None), strict=True)]


def test_schwab_option_bill_fund_journal_rows_are_listed_and_the_title_names_the_account():
    df = read_fills(DATA / "schwab_options_bonds.csv")
    assert rows(df) == [
        (3, "AAPL", "buy", 10.0, 100.24, 0.0, "Individual ...123"),
        (4, "BRK.B", "sell", 5.0, 481.00, 0.02, "Individual ...123"),
    ]
    assert df.attrs["account"] == "Individual ...123"
    reasons = {s["row"]: s["reason"] for s in df.attrs["skipped"]}
    assert reasons[5] == "not a US equity/ETF: option (AAPL 11/21/2025 280.00 C)"  # Sell to Open
    assert "CUSIP 912797QF5" in reasons[6]
    assert reasons[7] == "not a US equity/ETF: mutual fund (SWPPX)"
    assert reasons[8] == "action 'Journal' is not a buy or sell"
    assert reasons[9] == "action 'Expired' is not a buy or sell"
    assert sorted(reasons) == [5, 6, 7, 8, 9, 10]  # 10: the "Transactions Total" row


def test_schwab_account_chosen_must_be_the_title_lines():
    assert len(read_fills(DATA / "schwab_options_bonds.csv", account="Individual ...123")) == 2
    with pytest.raises(InputError) as e:
        read_fills(DATA / "schwab_options_bonds.csv", account="Joint ...999")
    assert e.value.column == "title line" and "Individual ...123" in e.value.message


def test_fidelity_all_accounts_needs_one_chosen_and_reads_only_that_one():
    with pytest.raises(InputError) as e:
        read_fills(DATA / "fidelity_all_accounts.csv")
    # the 529 plan's only row is a CUSIP portfolio: it still counts as an account of the file
    assert "4 accounts in one file (X12345678, 234567890, 345678901, 456789012)" in e.value.message
    assert e.value.row == 10 and e.value.column == "Account Number"
    df = read_fills(DATA / "fidelity_all_accounts.csv", account="X12345678")
    assert rows(df) == [
        (5, "AAPL", "buy", 10.0, 100.24, 0.0, "X12345678"),
        (6, "BRK.B", "sell", 5.0, 481.00, 0.02, "X12345678"),
    ]
    reasons = {s["row"]: s["reason"] for s in df.attrs["skipped"]}
    assert reasons[7] == "not a US equity/ETF: option (-AAPL251121C280)"  # OPENING TRANSACTION CALL
    assert "CUSIP 912797QF5" in reasons[8] and "CUSIP 31617H102" in reasons[13]
    assert reasons[10] == "not a US equity/ETF: mutual fund (FXAIX)"
    assert reasons[11] == "account 234567890, not X12345678" and reasons[12] == "account 345678901, not X12345678"
    assert "not a buy or sell" in reasons[9] and "not a buy or sell" in reasons[14]  # reinvestment, journal
    ira = read_fills(DATA / "fidelity_all_accounts.csv", account="234567890")
    assert rows(ira) == [(11, "MSFT", "buy", 3.0, 378.40, 0.0, "234567890")]


def test_fills_command_account_flag_and_config(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("live_dir: live\nexecution:\n  broker: paper\n")
    f = str(DATA / "fidelity_all_accounts.csv")
    r = xlexec(tmp_path, "fills", f, "--config", str(cfg))
    assert r.returncode == 2 and "4 accounts in one file" in r.stderr and "--account" in r.stderr
    r = xlexec(tmp_path, "fills", f, "--config", str(cfg), "--account", "345678901", "--json")
    assert r.returncode == 0, r.stderr
    assert '"symbol": "VTI"' in r.stdout and '"symbol": "AAPL"' not in r.stdout
