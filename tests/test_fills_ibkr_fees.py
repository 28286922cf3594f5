"""IBKR commissions split into IBKR's own commission and the fees it passes through, read by
``xlexec fills FILE --json`` (a subprocess started in a folder that is not the project).

Our sign: commission and fees are $ paid (negative = a rebate); IBKR's: negative = charged.
Expected values are worked out by hand from the samples (tests/data/fills/README.md).
"""

from __future__ import annotations

import json

from tests.reliability import _support as U
from tests.test_fills_e2e import DATA


def _fills(tmp_path, path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("live_dir: live\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    r = U.xlexec(["fills", str(path), "--config", str(cfg), "--json"], cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    return {f["fill_id"]: f for f in json.loads(r.stdout)["fills"]}


def test_a_trade_confirmation_splits_third_party_fees_and_tax_from_the_commission(tmp_path):
    got = _fills(tmp_path, DATA / "ibkr_confirm_fees.csv")
    aapl, brk = got["0000e0d5.6903b1c2.01.01"], got["0000e0d5.6903b1c3.01.01"]
    # AAPL: Commission -1.00 + Tax -0.02 = 1.02 paid; fees = third-party 0.30 + 0.10 + 0.05 + tax 0.02
    assert abs(aapl["commission"] - 1.02) < 1e-9
    assert abs(aapl["fees"] - 0.47) < 1e-9
    # BRK B: Commission -0.50 paid, of which the exchange's +0.12 is a rebate: fees -0.12
    assert abs(brk["commission"] - 0.50) < 1e-9
    assert abs(brk["fees"] - (-0.12)) < 1e-9


def test_an_activity_flex_trade_counts_its_taxes_as_fees_and_in_the_total(tmp_path):
    text = (DATA / "ibkr_flex_activity.xml").read_text()
    first = 'tradeID="9301"'
    head, rest = text.split(first, 1)
    rest = rest.replace('taxes="0"', 'taxes="-0.04"', 1)  # the first execution pays 0.04 of tax
    f = tmp_path / "flex.xml"
    f.write_text(head + first + rest)
    got = _fills(tmp_path, f)
    taxed, plain = got["0000e0d5.6903a1b2.01.01"], got["0000e0d5.6903a1b2.01.02"]
    assert abs(taxed["commission"] - 0.25) < 1e-9 and abs(taxed["fees"] - 0.04) < 1e-9  # 0.21 + 0.04
    assert abs(plain["commission"] - 0.14) < 1e-9 and plain["fees"] == 0.0
    rebate = got["0000e0d5.6903a1b4.01.01"]  # IBCommission +0.10: a rebate
    assert abs(rebate["commission"] - (-0.10)) < 1e-9 and rebate["fees"] == 0.0
