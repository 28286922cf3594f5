"""Client order ids name the account; the stable part of an order's id is recognisable."""

from __future__ import annotations

import pytest

from xlexec.core.orders import account_tag, client_order_id, order_key, slice_parent, with_account, without_account


@pytest.mark.parametrize(
    ("number", "tag"),
    [
        ("PA3XK0071234", "a071234"),
        ("PA0000001", "a000001"),
        ("612345678", "a345678"),
        ("pa-12 34", "apa1234"),
        ("  PA0000SIM001 ", "asim001"),
    ],
)
def test_account_tag(number, tag):
    assert account_tag(number) == tag


@pytest.mark.parametrize("number", ["", "   ", "--", None])
def test_no_account_number_no_tag(number):
    with pytest.raises(ValueError):
        account_tag(number)


def test_tagged_ids():
    plan = "xlx-2025-11-03-BRK.B-sell-0123456789ab"
    sent = "xlx-2025-11-03-a071234-BRK.B-sell-0123456789ab"
    assert client_order_id("2025-11-03", "BRK.B", "sell", "0123456789abcdef") == plan
    assert client_order_id("2025-11-03", "BRK.B", "sell", "0123456789abcdef", account="a071234") == sent
    assert with_account(plan, "a071234") == sent
    assert with_account(sent, "a999999") == sent  # already tagged: unchanged
    assert without_account(sent) == plan and without_account(plan) == plan
    assert with_account("someone-elses-id", "a071234") == "someone-elses-id"
    assert with_account(plan + "-s2", "a071234") == sent + "-s2"
    # a 6-letter symbol is never mistaken for a tag (tags are lower-case)
    assert without_account("xlx-2025-11-03-ABCDEF-buy-0123456789ab") == "xlx-2025-11-03-ABCDEF-buy-0123456789ab"
    assert without_account("xlx-nodate-a071234-AAPL-buy-0123456789ab") == "xlx-nodate-AAPL-buy-0123456789ab"
    assert without_account("xlx-nodate-AAPL-buy-0123456789ab") == "xlx-nodate-AAPL-buy-0123456789ab"
    assert without_account("xlx-2025-11-03-a1-A-buy-x") == "xlx-2025-11-03-A-buy-x"  # the shortest tag
    for other in ("xlx-2025-11-03-aZZ-buy-x", "someone-elses-iaaaaaaa", "broker-ab-a0a0a0-x", "", "a", "xlx-2025-11-0"):
        assert without_account(other) == other, other


def test_order_key_is_the_stable_part():
    key = "xlx-2025-11-03-a071234-AAPL-buy-"
    assert order_key("xlx-2025-11-03-a071234-AAPL-buy-0123456789ab") == key
    assert order_key("xlx-2025-11-03-a071234-AAPL-buy-ba9876543210") == key  # another batch
    assert order_key("xlx-2025-11-03-a071234-AAPL-buy-0123456789ab-s1") == key
    assert order_key("xlx-2025-11-03-a071234-AAPL-buy-0123456789ab-c2") == key
    assert order_key("xlx-2025-11-03-a071234-AAPL-sell-0123456789ab") == "xlx-2025-11-03-a071234-AAPL-sell-"
    assert order_key("xlx-2025-11-03-AAPL-buy-0123456789ab") is None  # no account: not a sent id
    assert order_key("abc") is None


def test_tagged_ids_fit_alpaca():
    long_hash = "f" * 64
    cid = client_order_id("2025-11-03", "A" * 200, "buy", long_hash, account="a071234")
    assert len(cid) == 128
    assert slice_parent("xlx-2025-11-03-a1-X-buy-h-s12") == ("xlx-2025-11-03-a1-X-buy-h", 12)
    assert slice_parent("xlx-2025-11-03-a1-X-buy-h") is None
