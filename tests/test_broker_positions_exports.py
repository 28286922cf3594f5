"""Broker positions exports as brokers publish them, through ``xlexec compare-positions``
(a subprocess from a folder that is not the project): IBKR Flex Open Positions (XML, CSV with
trailer records, with line descriptors), Schwab's positions export, Fidelity's
Portfolio_Positions with two accounts. Options, funds, cash and total rows are left out.

Samples: tests/data/positions/ and tests/data/fills/ibkr_* (sources in their README.md). The
system book (AAPL 110, BRK.B 15) and every broker file hold the same equities, worked out by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reliability import _support as U
from xlexec.errors import InputError
from xlexec.formats.broker_positions import read_broker_positions

DATA = Path(__file__).parent / "data"
SYSTEM = "symbol,shares,avg_cost\nAAPL,110,90.00\nBRK.B,15,400.00\n"
PAPER = "live_dir: live\nexecution:\n  broker: paper\n"


def compare(tmp_path: Path, broker_file: Path, config: str = PAPER, system: str = SYSTEM):
    root, elsewhere = tmp_path / "desk", tmp_path / "elsewhere"
    (root / "live").mkdir(parents=True, exist_ok=True)
    elsewhere.mkdir(exist_ok=True)
    (root / "config.yaml").write_text(config)
    (root / "system.csv").write_text(system)
    argv = ["compare-positions", "--config", str(root / "config.yaml"), "--system", str(root / "system.csv")]
    return U.xlexec([*argv, "--broker", str(broker_file), "--json"], cwd=elsewhere)


@pytest.mark.parametrize(
    "sample",
    [
        "fills/ibkr_flex_activity.xml",
        "fills/ibkr_flex_sections.csv",
        "fills/ibkr_flex_descriptors.csv",
        "positions/schwab_positions.csv",
    ],
)
def test_compare_positions_against_each_export(tmp_path, sample):
    r = compare(tmp_path, DATA / sample)
    assert r.returncode == 0, r.stderr + r.stdout
    assert json.loads(r.stdout)["differences"] == 0
    # one share fewer in the book: the export's own AAPL count (110) is what is compared
    r = compare(tmp_path, DATA / sample, system=SYSTEM.replace("AAPL,110", "AAPL,109"))
    assert r.returncode != 0 and json.loads(r.stdout)["differences"] == 1


def test_exports_read_by_hand():
    # IBKR: costBasisPrice; the OPT position is left out
    ib = read_broker_positions(DATA / "fills/ibkr_flex_activity.xml")
    assert list(zip(ib["symbol"], ib["shares"], ib["avg_cost"], strict=True)) == [
        ("AAPL", 110.0, 90.9418),
        ("BRK.B", 15.0, 400.0),
    ]
    # Schwab: Cost Basis is the position's total: 10,003.60 / 110 and 6,000.00 / 15
    sw = read_broker_positions(DATA / "positions/schwab_positions.csv")
    assert list(sw["symbol"]) == ["AAPL", "BRK.B"] and list(sw["total_cost"]) == [10003.60, 6000.00]
    assert sw["avg_cost"].iloc[1] == 400.0
    fi = read_broker_positions(DATA / "positions/fidelity_positions.csv", account="X12345678")
    assert list(zip(fi["symbol"], fi["shares"], fi["avg_cost"], strict=True)) == [
        ("AAPL", 110.0, 90.94),
        ("BRK.B", 15.0, 400.0),
    ]
    ira = read_broker_positions(DATA / "positions/fidelity_positions.csv", account="234567890")
    assert list(ira["symbol"]) == ["MSFT"]  # FXAIX is a mutual fund


def test_fidelity_positions_of_two_accounts_need_one_chosen(tmp_path):
    with pytest.raises(InputError) as e:
        read_broker_positions(DATA / "positions/fidelity_positions.csv")
    assert "2 accounts in one file (X12345678, 234567890)" in e.value.message and e.value.row == 7
    r = compare(tmp_path, DATA / "positions/fidelity_positions.csv")
    assert r.returncode == 2 and "2 accounts in one file" in r.stderr
    r = compare(tmp_path, DATA / "positions/fidelity_positions.csv", config=PAPER + "broker:\n  account: X12345678\n")
    assert r.returncode == 0, r.stderr + r.stdout
    assert json.loads(r.stdout)["differences"] == 0


# ------------------------------------------------------------------ the rows left out, listed

SCHWAB_SKIPPED = [
    {"row": 6, "reason": "not a US equity/ETF: option (AAPL 11/21/2025 280.00 C)"},
    {"row": 7, "reason": "not a US equity/ETF: mutual fund (SWPPX)"},
    {"row": 8, "reason": "Cash & Cash Investments: cash and money market, not a position"},
    {"row": 9, "reason": "Account Total: the account's total, not a position"},
]


def test_compare_positions_lists_the_rows_it_leaves_out(tmp_path):
    # Schwab: the option (line 6), the mutual fund (7), the cash (8) and total (9) rows of the file
    r = compare(tmp_path, DATA / "positions/schwab_positions.csv")
    assert r.returncode == 0, r.stderr + r.stdout
    out = json.loads(r.stdout)
    assert out["differences"] == 0 and out["skipped"] == SCHWAB_SKIPPED
    argv = ["compare-positions", "--config", str(tmp_path / "desk/config.yaml"), "--system"]
    argv += [str(tmp_path / "desk/system.csv"), "--broker", str(DATA / "positions/schwab_positions.csv")]
    text = U.xlexec(argv, cwd=tmp_path / "elsewhere")
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[1:] == [f"skipped row {x['row']}: {x['reason']}" for x in SCHWAB_SKIPPED]
    # one share fewer in the book: the difference, then the rows left out
    (tmp_path / "desk/system.csv").write_text(SYSTEM.replace("AAPL,110", "AAPL,109"))
    diff = U.xlexec(argv, cwd=tmp_path / "elsewhere")
    assert diff.returncode == 1 and diff.stdout.startswith("1 position(s) differ:")
    assert diff.stdout.splitlines()[-4:] == [f"skipped row {x['row']}: {x['reason']}" for x in SCHWAB_SKIPPED]


def test_ibkr_lots_and_cash_positions_are_listed(tmp_path):
    r = compare(tmp_path, DATA / "positions/ibkr_positions_lots.csv")
    assert r.returncode == 0, r.stderr + r.stdout
    out = json.loads(r.stdout)
    assert out["differences"] == 0
    lot = "LevelOfDetail LOT: part of a SUMMARY row read"
    assert out["skipped"] == [
        {"row": 6, "reason": lot},
        {"row": 7, "reason": lot},
        {"row": 9, "reason": lot},
        {"row": 10, "reason": "not a US equity/ETF: FX (AssetClass CASH)"},
    ]
    # the Flex XML's option position (line 9) and the Flex CSV's trades section (BOS line 9)
    xml = read_broker_positions(DATA / "fills/ibkr_flex_activity.xml")
    assert xml.attrs["skipped"] == [{"row": 9, "reason": "not a US equity/ETF: option (AssetClass OPT)"}]
    csv_ = read_broker_positions(DATA / "fills/ibkr_flex_sections.csv")
    assert [x["row"] for x in csv_.attrs["skipped"]] == [7, 9]
    assert csv_.attrs["skipped"][1]["reason"].startswith("section TRNT (Trades; trade date basis): 6 row(s)")


def test_fidelity_lists_cash_pending_footer_and_the_other_account(tmp_path):
    r = compare(tmp_path, DATA / "positions/fidelity_positions.csv", config=PAPER + "broker:\n  account: X12345678\n")
    assert r.returncode == 0, r.stderr + r.stdout
    assert json.loads(r.stdout)["skipped"] == [
        {"row": 2, "reason": "not a US equity/ETF: cash sweep (core position SPAXX**)"},
        {"row": 5, "reason": "not a US equity/ETF: option (-AAPL251121C280)"},
        {"row": 6, "reason": "Pending Activity: not a position"},
        {"row": 7, "reason": "not a US equity/ETF: mutual fund (FXAIX)"},
        {"row": 8, "reason": "account 234567890, not X12345678"},
        {"row": 10, "reason": "no Symbol: the file's footer or a note, not a position"},
        {"row": 12, "reason": "no Symbol: the file's footer or a note, not a position"},
    ]


@pytest.mark.parametrize(
    ("sample", "row", "column"),
    [("positions/ibkr_positions_eur.xml", 8, "currency"), ("positions/fidelity_positions_currency.csv", 5, "Currency")],
)
def test_a_position_in_another_currency_is_refused(tmp_path, sample, row, column):
    r = compare(tmp_path, DATA / sample)
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert f"{DATA / sample}, row {row}, column '{column}'" in lines[0]
    assert "position SAP in EUR, but the fund's base currency is USD (base_currency in config.yaml)" in lines[0]
    assert "leave the row out of the export" in lines[0]
    # a fund whose money is EUR: now the USD rows are the ones refused (AAPL, the first row)
    eur = PAPER + "base_currency: EUR\n"
    r = compare(tmp_path, DATA / sample, config=eur)
    assert r.returncode == 2 and "position AAPL in USD, but the fund's base currency is EUR" in r.stderr


TRADES = (
    "# Date: 2025-10-30\n# Portfolio Value: $100,000.00\n"
    "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
    "AAPL,buy,10,100.00,1000.00,0.01,0.10,0.20,0.30\nBRK.B,sell,5,480.00,2400.00,-0.024,0.24,0.48,0.72\n"
)
FILLS = (
    "date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id,fill_id\n"
    "2025-10-30,AAPL,buy,10,100.24,0.35,09:31:40,7301,,f1\n2025-10-30,BRK.B,sell,5,481.00,0.00,09:33:10,7303,,f2\n"
)


def test_reconcile_against_a_positions_export_lists_its_rows_left_out(tmp_path):
    root, elsewhere = tmp_path / "desk", tmp_path / "elsewhere"
    (root / "live").mkdir(parents=True)
    elsewhere.mkdir()
    (root / "config.yaml").write_text(PAPER)
    (root / "opening.csv").write_text("symbol,shares,avg_cost\nAAPL,100,90.00\nBRK.B,20,400.00\n")
    (root / "trades.csv").write_text(TRADES)
    (root / "fills.csv").write_text(FILLS)
    argv = ["reconcile", "--config", str(root / "config.yaml"), "--trades", str(root / "trades.csv")]
    argv += ["--fills", str(root / "fills.csv"), "--current-positions", str(root / "opening.csv"), "--cash", "0"]
    # a position in EUR: refused before anything is written
    r = U.xlexec([*argv, "--broker-positions", str(DATA / "positions/ibkr_positions_eur.xml"), "--json"], cwd=elsewhere)
    assert r.returncode == 2 and "row 8, column 'currency': position SAP in EUR" in r.stderr
    assert not (root / "live/2025-10-30/reconciliation.json").exists()
    # AAPL 100 + 10 = 110, BRK.B 20 - 5 = 15: Schwab's equities agree; its other rows are listed
    r = U.xlexec([*argv, "--broker-positions", str(DATA / "positions/schwab_positions.csv"), "--json"], cwd=elsewhere)
    assert r.returncode == 0, r.stderr + r.stdout
    out = json.loads(r.stdout)
    assert out["breaks"] == [] and out["broker_positions_skipped"] == SCHWAB_SKIPPED
    r = U.xlexec([*argv, "--broker-positions", str(DATA / "positions/schwab_positions.csv")], cwd=elsewhere)
    assert r.returncode == 0, r.stderr + r.stdout
    assert "skipped row 8: Cash & Cash Investments: cash and money market, not a position" in r.stdout.splitlines()
