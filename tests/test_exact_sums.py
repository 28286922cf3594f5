"""The whole-unit (int64) sums of fills equal the cell-by-cell Decimal sums they replace: each
float taken as the Decimal of its shortest repr (``Decimal(repr(x))``, the oracle here)."""

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from xlexec.core import positions, reconcile
from xlexec.core.exact_sums import column_sum, product_sums, scaled
from xlexec.errors import InputError


def _d(x):
    return Decimal(repr(float(x)))


def _oracle(xs):
    return sum((_d(x) for x in xs), Decimal(0))


def test_scaled_reads_each_float_as_written():
    m, k = scaled([20.15, 0.1, 3.0])
    assert k == 2 and m.tolist() == [2015, 10, 300]
    assert scaled([0.1 + 0.2]) is None  # 0.30000000000000004: 17 places, left to the Decimal loop
    assert scaled([float("nan")]) is None


def test_sums_equal_decimal_of_repr():
    rng = np.random.default_rng(3)
    q = np.round(rng.uniform(1, 5000, 1000), 0)
    px = np.round(rng.uniform(0.01, 900, 1000), 4)
    g = rng.integers(0, 3, 1000)
    tq, tn = product_sums(q, px, g, 3)
    for i in range(3):
        sel = g == i
        assert tq[i] == _oracle(q[sel])
        want = sum((_d(a) * _d(b) for a, b in zip(q[sel], px[sel])), Decimal(0))
        assert tn[i] == want
    assert column_sum(px) == _oracle(px)
    # 0.1 + 0.2 written 0.30000000000000004 is not whole units at 9 places: no proof, no figure
    assert column_sum([0.1, 0.1 + 0.2]) is None


def test_overflow_is_refused():
    assert product_sums([1e15, 1e15], [1e5, 1e5], np.array([0, 0]), 1) is None


def _fills(n, seed):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "symbol": rng.choice(["AAA", "BBB", "CCC"], n),
            "side": rng.choice(["buy", "sell"], n),
            "shares": np.where(rng.random(n) < 0.1, 0.1 + 0.2, np.round(rng.uniform(1, 900, n))),
            "price": np.round(rng.uniform(1, 500, n), 2),
            "commission": np.where(rng.random(n) < 0.2, np.nan, np.round(rng.uniform(-1, 5, n), 4)),
        }
    )


def test_fill_sums_and_cash_flows_match_the_decimal_loop():
    for seed in range(20):
        f = _fills(40, seed)
        sums = positions._fill_sums(f)
        for sym in f["symbol"].unique():
            b = f[(f["symbol"] == sym) & (f["side"] == "buy")]
            s = f[(f["symbol"] == sym) & (f["side"] == "sell")]
            want = (
                _oracle(b["shares"]),
                sum((_d(a) * _d(p) for a, p in zip(b["shares"], b["price"])), Decimal(0)),
                _oracle(s["shares"]),
                sum((_d(a) * _d(p) for a, p in zip(s["shares"], s["price"])), Decimal(0)),
            )
            assert sums[sym] == want
        clean = f[f["shares"] != 0.1 + 0.2]
        buys, sells, paid = reconcile._cash_flows(clean)
        bb, ss = clean[clean["side"] == "buy"], clean[clean["side"] == "sell"]
        assert buys == sum((_d(a) * _d(p) for a, p in zip(bb["shares"], bb["price"])), Decimal(0))
        assert sells == sum((_d(a) * _d(p) for a, p in zip(ss["shares"], ss["price"])), Decimal(0))
        assert paid == _oracle(clean["commission"].fillna(0.0))


def _fills_text(n: int, bad_row: int | None = None, bad: str = "") -> str:
    lines = ["date,symbol,side,shares,price,commission,fill_time,order_id"]
    for r in range(2, n + 2):
        sym = bad if r == bad_row else f"S{r % 300:03d}"
        lines.append(f"2025-10-30,{sym},buy,10,12.5,0.05,2025-10-30T14:00:00Z,o{r}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("bad", ["Microsoft Corp", "MICROSOFT CORP"])
def test_a_bad_symbol_in_row_9731_of_10k_fills_is_named_every_time(tmp_path, bad):
    """The symbol check is remembered per text: a second file with the same bad text, read after
    it was seen, still names its own row."""
    from xlexec.formats.fills import read_fills

    good = tmp_path / "good.csv"
    good.write_text(_fills_text(10_000))
    read_fills(good)
    for row in (9_731, 17):
        p = tmp_path / f"bad{row}.csv"
        p.write_text(_fills_text(10_000, bad_row=row, bad=bad))
        with pytest.raises(InputError) as e:
            read_fills(p)
        assert e.value.row == row, str(e.value)
        assert e.value.column == "symbol"
        assert str(p) in str(e.value) and "is not a ticker" in str(e.value)
