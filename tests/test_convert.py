"""Broker formats: golden files, tick rounding, whole shares, symbols, round trip, CLI gate.

Regenerate the golden files after an intended format change with
``XLEXEC_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/test_convert.py`` and review the diff.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xlexec.cli.app import main
from xlexec.core.orders import canonical_lines_of, orders_from_trades, orders_sha256
from xlexec.errors import InputError
from xlexec.formats.trades import read_trades
from xlexec.formats.upload import (
    FORMATS,
    broker_symbol,
    convert_orders,
    draft_path,
    output_name,
    prepare_orders,
    read_ibkr_basket,
    split_symbol,
)

GOLDEN = Path(__file__).parent / "golden" / "convert"
TAG = "XLX20251030TEST"
REGEN = os.environ.get("XLEXEC_REGEN_GOLDEN") == "1"


@pytest.fixture
def golden_orders():
    """Buys, sells, two sub-dollar stocks, a market order, a dotted symbol, typed limits."""
    trades = read_trades(GOLDEN / "trades.csv")
    return orders_from_trades(trades, default_order_type="limit", date="2025-10-30")


@pytest.mark.parametrize("broker", list(FORMATS))
def test_golden_file_per_broker(golden_orders, broker):
    text = convert_orders(golden_orders, broker, basket_tag=TAG)
    golden = GOLDEN / output_name("2025-10-30", broker, False)
    if REGEN:
        golden.write_text(text)
    assert golden.exists(), f"missing golden {golden.name}: run with XLEXEC_REGEN_GOLDEN=1"
    assert text == golden.read_text()


def test_formats_registry_lists_every_broker_of_the_issue():
    assert set(FORMATS) == {"ibkr", "ibkr-simple", "schwab", "fidelity", "alpaca", "generic"}
    assert all(isinstance(d, str) and d for d in FORMATS.values())


def test_ibkr_rows_exact(golden_orders):
    lines = convert_orders(golden_orders, "ibkr", basket_tag=TAG).splitlines()
    assert lines[0] == "Action,Quantity,Symbol,SecType,Exchange,Currency,TimeInForce,OrderType,LmtPrice,BasketTag"
    assert lines[1] == f"BUY,100,AAPL,STK,SMART,USD,DAY,LMT,150.25,{TAG}"
    assert lines[2] == f"SELL,50,MSFT,STK,SMART,USD,DAY,LMT,380.50,{TAG}"
    assert lines[3] == f"BUY,5000,SNDL,STK,SMART,USD,DAY,LMT,0.5678,{TAG}"  # 0.56789 buy -> down
    assert lines[4] == f"SELL,3000,ZOMX,STK,SMART,USD,DAY,LMT,0.4322,{TAG}"  # 0.43211 sell -> up
    assert lines[5] == f"BUY,10,TSLA,STK,SMART,USD,DAY,MKT,,{TAG}"  # market: empty LmtPrice
    assert lines[6] == f"BUY,20,BRK B,STK,SMART,USD,DAY,LMT,412.34,{TAG}"  # typed 412.347 buy -> down
    assert lines[7] == f"SELL,40,NVDA,STK,SMART,USD,DAY,LMT,130.01,{TAG}"  # typed 130.001 sell -> up
    assert all(", " not in ln and " ," not in ln for ln in lines)


def test_alpaca_json_is_the_request_bodies(golden_orders):
    bodies = json.loads(convert_orders(golden_orders, "alpaca", basket_tag=TAG))
    assert bodies[5] == {
        "symbol": "BRK.B",
        "qty": "20",
        "side": "buy",
        "type": "limit",
        "time_in_force": "day",
        "limit_price": "412.34",
        "client_order_id": golden_orders["client_order_id"].iloc[5],
    }
    assert "limit_price" not in bodies[4] and bodies[4]["type"] == "market"


def test_typed_limits_are_rounded_again_never_more_aggressive():
    orders = pd.DataFrame(
        {
            "symbol": ["A", "B", "C", "D", "E"],
            "side": ["buy", "sell", "buy", "sell", "buy"],
            "qty": [1, 1, 1, 1, 1],
            "order_type": ["limit"] * 5,
            "limit_price": [150.2567, 150.2512, 0.56789, 0.43211, 0.5678],
        },
        index=pd.Index([2, 3, 4, 5, 6], name="row"),
    )
    got = prepare_orders(orders)["limit_price"].tolist()
    assert got == [150.25, 150.26, 0.5678, 0.4322, 0.5678]


def test_fractional_shares_name_row_and_column(golden_orders):
    o = golden_orders.copy()
    o.loc[6, "qty"] = 5000.5
    with pytest.raises(InputError) as e:
        convert_orders(o, "ibkr", basket_tag=TAG, name="live/2025-10-30/trades.csv")
    assert e.value.row == 6 and e.value.column == "shares"
    assert "whole shares" in str(e.value) and "5000.5" in str(e.value)


def test_limit_order_without_price_is_refused():
    o = pd.DataFrame(
        {"symbol": ["AAPL"], "side": ["buy"], "qty": [1], "order_type": ["limit"], "limit_price": [np.nan]},
        index=pd.Index([7], name="row"),
    )
    with pytest.raises(InputError) as e:
        prepare_orders(o, "t.csv")
    assert (e.value.row, e.value.column) == (7, "limit_price")


@pytest.mark.parametrize(
    "given,style,want",
    [
        ("BRK.B", "space", "BRK B"),
        ("BRK/B", "space", "BRK B"),
        ("BRK-B", "dot", "BRK.B"),
        ("BRK B", "dot", "BRK.B"),
        ("AAPL", "space", "AAPL"),
        ("BRK.B", "canonical", "BRK.B"),
    ],
)
def test_symbol_normalisation(given, style, want):
    assert broker_symbol(given, style) == want


def test_split_symbol():
    assert split_symbol("brk.b") == ("BRK", "B")
    assert split_symbol("GOOGL") == ("GOOGL", None)


def test_round_trip_ibkr(golden_orders, tmp_path):
    p = tmp_path / "trades_ibkr.csv"
    p.write_text(convert_orders(golden_orders, "ibkr", basket_tag=TAG))
    back = read_ibkr_basket(p)
    want = prepare_orders(golden_orders)
    assert back["symbol"].tolist() == want["symbol"].tolist()  # BRK B read back as BRK.B
    assert back["side"].tolist() == want["side"].tolist()
    assert back["qty"].tolist() == want["qty"].astype(float).tolist()
    assert back["order_type"].tolist() == want["order_type"].tolist()
    assert all((math.isnan(a) and math.isnan(b)) or a == b for a, b in zip(back["limit_price"], want["limit_price"]))
    assert set(back["basket_tag"]) == {TAG}
    # what is sent survives (the order lines); the basket carries no signal price, so the approval
    # hash (which covers it) is not recoverable from the file
    cols = ("symbol", "side", "qty", "order_type", "limit_price")
    assert sorted(canonical_lines_of(*(back[c].tolist() for c in cols))) == sorted(
        canonical_lines_of(*(golden_orders[c].tolist() for c in cols))
    )
    assert orders_sha256(back) != orders_sha256(golden_orders)


def test_read_ibkr_basket_accepts_several_header_rows_and_names_bad_rows(tmp_path):
    p = tmp_path / "b.csv"
    p.write_text(
        "Action,Quantity,Symbol,SecType,Exchange,Currency,TimeInForce,OrderType\n"
        "BUY,100,IBM,STK,SMART/ARCA,USD,DAY,MKT\n"
        "Action,Quantity,Symbol,SecType,Exchange,Currency,TimeInForce,OrderType,LmtPrice\n"
        "SELL,100,GE,STK,SMART/ARCA,USD,DAY,LMT,18.98\n"
    )
    df = read_ibkr_basket(p)
    assert df.index.tolist() == [2, 4]
    assert df["order_type"].tolist() == ["market", "limit"] and df["limit_price"].iloc[1] == 18.98
    p.write_text("Action,Quantity,Symbol,OrderType,LmtPrice\nBUY,ten,IBM,LMT,1.00\n")
    with pytest.raises(InputError) as e:
        read_ibkr_basket(p)
    assert (e.value.row, e.value.column) == (2, "Quantity")


def test_output_names_and_draft():
    assert output_name("2025-10-30", "ibkr", False) == "trades_ibkr.csv"
    assert output_name("2025-10-30", "ibkr", True) == "trades_ibkr_DRAFT.csv"
    assert output_name("2025-10-30", "alpaca", False) == "orders_alpaca.json"
    assert output_name("2025-10-30", "alpaca", True) == "orders_alpaca_DRAFT.json"
    assert draft_path("/x/basket.csv").name == "basket_DRAFT.csv"
    assert draft_path("/x/my_draft.csv").name == "my_draft.csv"


def test_unknown_broker_and_bad_tag(golden_orders):
    with pytest.raises(InputError, match="unknown broker format"):
        convert_orders(golden_orders, "etrade", basket_tag=TAG)
    with pytest.raises(InputError, match="letters or digits"):
        convert_orders(golden_orders, "ibkr", basket_tag="a,b")


def test_fidelity_positional_columns(golden_orders):
    rows = convert_orders(golden_orders, "fidelity", basket_tag=TAG).splitlines()
    assert rows[0] == ",,B,100,AAPL,L,D,150.25"
    assert rows[4] == ",,B,10,TSLA,M,D,"
    assert rows[5] == ",,B,20,BRK.B,L,D,412.34"


# ------------------------------------------------------------------------------------------ CLI


def _setup(tmp_path, *, require_approval=True):
    live = tmp_path / "live"
    day = live / "2025-10-30"
    day.mkdir(parents=True)
    trades = day / "trades.csv"
    trades.write_text((GOLDEN / "trades.csv").read_text())
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"live_dir: {live}\nexecution:\n  require_human_approval: {str(require_approval).lower()}\n")
    return live, trades, cfg


def test_cli_list_needs_no_trades(capsys):
    assert main(["convert", "--list"]) == 0
    out = capsys.readouterr().out
    assert "ibkr" in out and "fidelity" in out and "alpaca" in out


def test_cli_refuses_unapproved_orders(tmp_path, capsys, monkeypatch):
    live, trades, cfg = _setup(tmp_path)
    monkeypatch.setenv("XLEXEC_NOW", "2025-10-30T13:00:00Z")
    rc = main(["convert", str(trades), "--broker", "ibkr", "--config", str(cfg)])
    assert rc == 1
    err = capsys.readouterr().err
    assert "approv" in err and "--draft" in err
    assert not (trades.parent / "trades_ibkr.csv").exists()


def test_cli_draft_writes_DRAFT_file_and_records_nothing(tmp_path, capsys, monkeypatch):
    live, trades, cfg = _setup(tmp_path)
    monkeypatch.setenv("XLEXEC_NOW", "2025-10-30T13:00:00Z")
    assert main(["convert", str(trades), "--broker", "ibkr", "--draft", "--config", str(cfg)]) == 0
    out = trades.parent / "trades_ibkr_DRAFT.csv"
    assert out.exists() and not (trades.parent / "trades_ibkr.csv").exists()
    assert out.read_text().splitlines()[5].startswith("BUY,10,TSLA,STK,SMART,USD,DAY,MKT,,XLX20251030")
    assert "DRAFT" in capsys.readouterr().out
    assert (
        main(
            [
                "convert",
                str(trades),
                "--broker",
                "alpaca",
                "--draft",
                "-o",
                str(tmp_path / "a.json"),
                "--config",
                str(cfg),
            ]
        )
        == 0
    )
    assert (tmp_path / "a_DRAFT.json").exists()


def test_cli_writes_when_approved(tmp_path, capsys, monkeypatch):
    import datetime as dt

    from xlexec.store import approvals

    live, trades, cfg = _setup(tmp_path)
    monkeypatch.setenv("XLEXEC_NOW", "2025-10-30T13:00:00Z")
    orders = orders_from_trades(read_trades(trades), default_order_type="limit", date="2025-10-30")
    approvals.record_approval(
        live,
        date="2025-10-30",
        orders=orders,
        decision="APPROVED",
        reason="test",
        approver="pm",
        recommended="APPROVE",
        override=False,
        now=dt.datetime(2025, 10, 30, 13, tzinfo=dt.UTC),
    )
    assert main(["convert", str(trades), "--broker", "ibkr", "--json", "--config", str(cfg)]) == 0
    res = json.loads(capsys.readouterr().out)
    out = trades.parent / "trades_ibkr.csv"
    assert res["output"] == str(out) and res["orders"] == 7 and res["draft"] is False
    assert out.read_text() == convert_orders(orders, "ibkr", basket_tag=res["basket_tag"])

    # one share changed after approval: a different hash, which no approval covers
    trades.write_text(trades.read_text().replace("AAPL,buy,100,", "AAPL,buy,101,"))
    assert main(["convert", str(trades), "--broker", "ibkr", "--config", str(cfg)]) == 1
    assert "not approved" in capsys.readouterr().err
    assert out.read_text() == convert_orders(orders, "ibkr", basket_tag=res["basket_tag"])  # untouched
