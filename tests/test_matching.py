"""THE fill -> order matcher (core/matching.py): client order id, then broker order id, then
symbol+side; an id match must agree on symbol and side; a fill only matches its own day."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xlexec.core.matching import BY_CLIENT_ID, BY_ORDER_ID, BY_SYMBOL_SIDE, NONE, match_fills

ORDERS = pd.DataFrame(
    {
        "symbol": ["AAPL", "AAPL", "MSFT"],
        "side": ["buy", "buy", "sell"],
        "client_order_id": ["c-aapl-1", "c-aapl-2", "c-msft"],
    }
)


def _fills(rows):
    return pd.DataFrame(rows, columns=["symbol", "side", "client_order_id", "order_id"])


def test_client_order_id_first_then_symbol_side():
    f = _fills(
        [
            ["AAPL", "buy", "c-aapl-2", ""],  # its own id: the second AAPL order, not the first
            ["AAPL", "buy", "", ""],  # no id: the first AAPL buy
            ["MSFT", "sell", " c-msft ", ""],  # blanks around the id are ignored
            ["TSLA", "buy", "", ""],
        ]
    )  # nothing
    m = match_fills(f, ORDERS)
    assert m.pos.tolist() == [1, 0, 2, -1]
    assert m.how.tolist() == [BY_CLIENT_ID, BY_SYMBOL_SIDE, BY_CLIENT_ID, NONE]
    assert m.how_text().tolist() == ["client_order_id", "symbol+side", "client_order_id", ""]


def test_an_id_on_the_wrong_stock_is_not_taken():
    # the MSFT order's id on an AAPL fill: matched by symbol+side to the first AAPL buy instead
    m = match_fills(_fills([["AAPL", "buy", "c-msft", ""]]), ORDERS)
    assert m.pos.tolist() == [0] and m.how.tolist() == [BY_SYMBOL_SIDE]


def test_broker_order_id_through_the_journal():
    f = _fills([["AAPL", "buy", "", "B-2"], ["AAPL", "buy", "", "B-unknown"], ["AAPL", "buy", "", "B-3"]])
    m = match_fills(f, ORDERS, order_ids={"B-2": "c-aapl-2", "B-3": "c-msft"})
    # B-2 -> c-aapl-2; B-unknown -> symbol+side; B-3 names the MSFT order: disagrees -> symbol+side
    assert m.pos.tolist() == [1, 0, 0]
    assert m.how.tolist() == [BY_ORDER_ID, BY_SYMBOL_SIDE, BY_SYMBOL_SIDE]


def test_a_fill_only_matches_an_order_of_its_own_day():
    orders = pd.concat([ORDERS, ORDERS.assign(client_order_id=ORDERS["client_order_id"] + "-d2")], ignore_index=True)
    oday = np.array([0, 0, 0, 1, 1, 1])
    f = _fills([["AAPL", "buy", "c-aapl-2", ""], ["MSFT", "sell", "", ""], ["AAPL", "buy", "c-aapl-2-d2", ""]])
    m = match_fills(f, orders, fill_day=np.array([1, 1, 0]), order_day=oday)
    # day-0 id on a day-1 fill: not that order, the day's first AAPL buy (3); day-1 MSFT -> 5;
    # a day-1 id on a day-0 fill -> the day-0 AAPL buy (0)
    assert m.pos.tolist() == [3, 5, 0]
    assert m.how.tolist() == [BY_SYMBOL_SIDE, BY_SYMBOL_SIDE, BY_SYMBOL_SIDE]


def test_no_fills_or_no_orders():
    assert match_fills(_fills([]), ORDERS).pos.tolist() == []
    m = match_fills(_fills([["AAPL", "buy", "x", ""]]), ORDERS.iloc[:0])
    assert m.pos.tolist() == [-1] and m.how.tolist() == [NONE]


def test_ids_without_their_account_tag_match_as_the_plan_names_them():
    """A sent id carries the account tag (``xlx-DATE-a1b2-...``), the plan's does not; spaces,
    gaps and blanks around either never match wrongly. Written out by hand."""
    plan = ["xlx-2025-10-30-AAPL-buy-0123456789ab", "xlx-2025-10-30-MSFT-sell-0123456789ab", "c-x"]
    orders = pd.DataFrame({"symbol": ["AAPL", "MSFT", "TSLA"], "side": ["buy", "sell", "buy"], "client_order_id": plan})
    f = _fills(
        [
            ["AAPL", "buy", "xlx-2025-10-30-a7k2-AAPL-buy-0123456789ab", ""],  # tagged: the plan's AAPL
            ["MSFT", "sell", "xlx-2025-10-30-MSFT-sell-0123456789ab ", ""],  # untagged, a trailing blank
            ["MSFT", "sell", " xlx-2025-10-30-a7k2-MSFT-sell-0123456789ab", ""],  # blank first: the tag stays
            ["TSLA", "buy", None, ""],
            ["TSLA", "buy", "a7k2-c-x", ""],  # not an xlexec id: taken as it is
            ["TSLA", "buy", " c-x", ""],
            ["AAPL", "buy", "xlx-2025-10-30-a7k2-AAPL-buy-0123456789ab", ""],  # the same id again
        ]
    )
    m = match_fills(f, orders)
    assert m.pos.tolist() == [0, 1, 1, 2, 2, 2, 0]
    assert m.how_text().tolist() == [
        "client_order_id",
        "client_order_id",
        "symbol+side",
        "symbol+side",
        "symbol+side",
        "client_order_id",
        "client_order_id",
    ]
    # through the broker's order ids (the journal's snapshots name the tagged id)
    g = _fills([["MSFT", "sell", "", "B-1"], ["AAPL", "buy", "", "B-2"]])
    m = match_fills(g, orders, order_ids={"B-1": "xlx-2025-10-30-a7k2-MSFT-sell-0123456789ab", "B-2": "c-x"})
    assert m.pos.tolist() == [1, 0] and m.how_text().tolist() == ["order_id", "symbol+side"]
