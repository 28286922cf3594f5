"""IBKR Flex files as brokers publish them: Flex XML (Activity ``Trades`` and Trade
Confirmation ``TradeConfirms``), Flex CSV with header/trailer records, with line descriptors,
or with several sections in any order; cancels, execution ids, order references, commission
sign, currency; ``xlexec fills`` through the CLI from a folder that is not the project.

Samples: tests/data/fills/ibkr_* (sources in its README.md). Expected values are read off the
sample files by hand: line numbers are the files' own lines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import cli_fork
from xlexec.errors import InputError
from xlexec.formats.fills import parse_fills_text, read_fills

ROOT = str(Path(__file__).resolve().parents[1])
DATA = Path(__file__).parent / "data" / "fills"
# the demo day's three executions, as every IBKR sample writes them:
# (line, symbol, side, shares, price, commission $ paid, IBExecID, IBOrderID, OrderReference)
AAPL1 = ("AAPL", "buy", 6.0, 100.20, 0.21, "0000e0d5.6903a1b2.01.01", "7301", "xlx-2025-10-30-AAPL-buy-abc")
AAPL2 = ("AAPL", "buy", 4.0, 100.30, 0.14, "0000e0d5.6903a1b2.01.02", "7301", "xlx-2025-10-30-AAPL-buy-abc")
# IBCommission +0.10 is a rebate IBKR credits: our commission (a cost) is -0.10
BRK = ("BRK.B", "sell", 5.0, 481.00, -0.10, "0000e0d5.6903a1b4.01.01", "7303", "xlx-2025-10-30-BRK.B-sell-abc")


def fills(df) -> list[tuple]:
    cols = ["symbol", "side", "shares", "price", "commission", "fill_id", "order_id", "client_order_id"]
    return [
        (int(i), s, sd, float(q), float(p), round(float(c), 2), f, o, r)
        for i, (s, sd, q, p, c, f, o, r) in zip(df.index, df[cols].itertuples(index=False, name=None), strict=True)
    ]


def expect(*lines_and_rows) -> list[tuple]:
    return [(n, *r) for n, r in lines_and_rows]


def test_activity_flex_xml_trades_cancel_order_summary_option():
    df = read_fills(DATA / "ibkr_flex_activity.xml")
    assert df.attrs["format"] == "ibkr" and df.attrs["account"] == "U1234567"
    assert fills(df) == expect((12, AAPL1), (13, AAPL2), (17, BRK))
    assert set(df["date"]) == {"2025-10-30"} and set(df["currency"]) == {"USD"}
    assert df.attrs["skipped"] == [
        {"row": 14, "reason": "Order record: a summary, not an execution"},
        {"row": 15, "reason": "execution busted by the trade cancel on row 16"},
        {"row": 16, "reason": "trade cancel of trade 9303 (row 15)"},
        {"row": 18, "reason": "not a US equity/ETF: option (AssetClass OPT)"},
    ]


def test_trade_confirmation_flex_xml():
    df = read_fills(DATA / "ibkr_trade_confirm.xml")
    assert fills(df) == expect((7, AAPL1), (8, AAPL2), (9, BRK))
    assert df.attrs["skipped"] == []


def test_flex_csv_with_header_and_trailer_records_positions_section_first():
    df = read_fills(DATA / "ibkr_flex_sections.csv")
    assert fills(df) == expect((11, AAPL1), (12, AAPL2), (15, BRK))
    assert df.attrs["skipped"] == [
        {"row": 3, "reason": "section POST (Open Positions): 3 row(s), not trades"},
        {"row": 13, "reason": "execution busted by the trade cancel on row 14"},
        {"row": 14, "reason": "trade cancel of trade 9303 (row 13)"},
        {"row": 16, "reason": "not a US equity/ETF: option (AssetClass OPT)"},
    ]


def test_flex_csv_with_section_codes_and_line_descriptors():
    df = read_fills(DATA / "ibkr_flex_descriptors.csv")
    assert fills(df) == expect((5, AAPL1), (6, AAPL2), (7, BRK))
    assert df.attrs["skipped"] == [{"row": 9, "reason": "section POST (Open Positions): 2 row(s), not trades"}]


def test_flex_csv_sections_without_markers_trades_not_last():
    df = read_fills(DATA / "ibkr_flex_unmarked.csv")
    assert fills(df) == expect((5, AAPL1), (6, AAPL2), (7, BRK))
    assert len(df.attrs["skipped"]) == 1 and df.attrs["skipped"][0]["row"] == 1


def test_a_truncated_section_is_refused_naming_the_eos_row():
    lines = (DATA / "ibkr_flex_sections.csv").read_text().splitlines()
    del lines[14]  # the BRK B execution (line 15): EOS still says 6 records
    with pytest.raises(InputError) as e:
        parse_fills_text("\n".join(lines) + "\n", "flex.csv")
    assert e.value.row == 16 and "saying 6 record(s) but 5 were read" in e.value.message


def test_a_cancelled_execution_without_its_cancel_row_is_skipped():
    lines = (DATA / "ibkr_flex_sections.csv").read_text().splitlines()
    del lines[13]  # the TradeCancel row (line 14); the MSFT execution still carries Notes/Codes Ca
    lines[15] = lines[15].replace('"6"', '"5"')  # its EOS count
    df = parse_fills_text("\n".join(lines) + "\n", "flex.csv")
    assert [s for s in df["symbol"]] == ["AAPL", "AAPL", "BRK.B"]
    assert {"row": 13, "reason": "execution cancelled by IBKR (Notes/Codes Ca)"} in df.attrs["skipped"]


def test_a_trade_cancel_naming_no_trade_says_what_to_add():
    head = "ClientAccountID,AssetClass,Symbol,TransactionType,TradeDate,Buy/Sell,Quantity,TradePrice,IBCommission\n"
    text = head + "U1234567,STK,MSFT,ExchTrade,20251030,BUY,3,378.40,-1\n"
    text += "U1234567,STK,MSFT,TradeCancel,20251030,BUY (Ca.),-3,378.40,1\n"
    with pytest.raises(InputError) as e:
        parse_fills_text(text, "ib.csv")
    assert e.value.row == 3 and e.value.column == "TransactionType"
    assert "names no trade" in e.value.message and "IB Execution ID" in e.value.message


def test_eur_fill_is_refused_naming_row_currency_and_fix():
    with pytest.raises(InputError) as e:
        read_fills(DATA / "ibkr_confirm_eur.xml")
    assert e.value.row == 8 and e.value.column == "CurrencyPrimary"
    assert "fill in EUR" in e.value.message and "base currency is USD" in e.value.message
    assert "convert" in e.value.message
    # a fund whose base currency is EUR reads the EUR fill and refuses the dollar one instead
    with pytest.raises(InputError) as e:
        read_fills(DATA / "ibkr_confirm_eur.xml", base_currency="EUR")
    assert e.value.row == 7 and "fill in USD" in e.value.message


def test_a_commission_in_another_currency_is_refused_too():
    text = (DATA / "ibkr_trade_confirm.xml").read_text()
    text = text.replace('ibCommissionCurrency="USD"', 'ibCommissionCurrency="EUR"', 1)
    with pytest.raises(InputError) as e:
        parse_fills_text(text, "tc.xml")
    assert e.value.row == 7 and "EUR" in e.value.message


def test_hostile_xml_is_refused_before_anything_is_read(tmp_path):
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>\n'
        '<FlexQueryResponse><FlexStatements><FlexStatement accountId="&b;"><Trades/></FlexStatement>'
        "</FlexStatements></FlexQueryResponse>\n"
    )
    with pytest.raises(InputError, match="refused XML"):
        parse_fills_text(bomb, "bomb.xml")
    with pytest.raises(InputError) as e:
        parse_fills_text('<?xml version="1.0"?>\n<FlexQueryResponse>\n<FlexStatements>\n<Trade\n', "cut.xml")
    assert "malformed Flex XML" in e.value.message and e.value.row == 4  # the unclosed <Trade


def test_flex_xml_error_response_is_named():
    text = '<?xml version="1.0"?>\n<FlexQueryResponse queryName="q" type="AF">'
    text += "<Wrap><Status>Fail</Status><ErrorMessage>Statement is not available.</ErrorMessage></Wrap>"
    text += "</FlexQueryResponse>\n"
    with pytest.raises(InputError, match="without a FlexStatement: Statement is not available"):
        parse_fills_text(text, "reply.xml")


def test_a_day_without_trades_reads_no_fills():
    text = (
        '<FlexQueryResponse queryName="q" type="AF"><FlexStatements count="1">'
        '<FlexStatement accountId="U1234567" fromDate="20251030" toDate="20251030"><Trades/></FlexStatement>'
        "</FlexStatements></FlexQueryResponse>\n"
    )
    assert len(parse_fills_text(text, "empty.xml")) == 0


def test_two_flex_statements_need_an_account_chosen():
    text = (DATA / "ibkr_trade_confirm.xml").read_text()
    start, end = text.index("<FlexStatement "), text.index("</FlexStatement>") + len("</FlexStatement>")
    other = text[start:end].replace("U1234567", "U7654321")
    two = text[:end] + "\n" + other + text[end:]
    with pytest.raises(InputError, match="2 accounts in one file"):
        parse_fills_text(two, "two.xml")
    df = parse_fills_text(two, "two.xml", account="U7654321")
    assert len(df) == 3 and set(df["account"]) == {"U7654321"} and df.attrs["skipped_rows"] == 3


def xlexec(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "XLEXEC_NOW"}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_fills_command_reads_flex_xml_and_refuses_eur(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("live_dir: live\nexecution:\n  broker: paper\n")
    r = xlexec(tmp_path, "fills", str(DATA / "ibkr_flex_activity.xml"), "--config", str(cfg), "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["layout"] == "ibkr" and [f["row"] for f in j["fills"]] == [12, 13, 17]
    assert [f["fill_id"] for f in j["fills"]][2] == "0000e0d5.6903a1b4.01.01"
    r = xlexec(tmp_path, "fills", str(DATA / "ibkr_confirm_eur.xml"), "--config", str(cfg))
    assert r.returncode == 2
    assert "row 8" in r.stderr and "EUR" in r.stderr and "CurrencyPrimary" in r.stderr
