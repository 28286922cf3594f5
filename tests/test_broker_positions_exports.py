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
