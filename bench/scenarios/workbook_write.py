"""Scenario 4a: write a 100,000-row Fills tab (target: within 1.2x of the fastest library,
XlsxWriter in constant-memory mode, and >= 3x faster than openpyxl cell by cell).

Data: 100,000 canonical fills (``date,symbol,side,shares,price,commission,fill_time,order_id,
client_order_id``: 9 columns, text and numbers), held in memory as rows before timing.

* xlexec: our path, :func:`xlexec.excel.build.write_workbook` of the template book
  (:func:`xlexec.excel.render.empty_book_data`) with the block on the Fills tab (every tab,
  styles, the unlocked paste area, protection; ``.xlsx``, so no VBA project), atomically.
* library: XlsxWriter ``constant_memory`` writing the same rows with ``write_row`` (the fastest
  writer available here; nothing else in the book).
* baseline: openpyxl, ``ws.cell(row, column, value)`` for every cell, then ``save``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..harness import Timer

NAME = "workbook_write"
TITLE = "write a {size:,}-row Fills tab (.xlsx)"
UNIT = "rows"
FULL_SIZE = 100_000
TARGET = "<= 1.2x XlsxWriter constant_memory; >= 3x faster than openpyxl cell-by-cell"
SIDES = ("xlexec", "library", "baseline")
WARMUP = {"xlexec": 0, "library": 0, "baseline": 0}
MAX_REPEAT = {"baseline": 2}
GEN_VERSION = 1
BASELINE = "openpyxl cell-by-cell"
LIBRARY = "XlsxWriter constant_memory"
DAY = "2025-10-30"


def make_block(n: int, seed: int = 4):
    """Header + ``n`` rows of canonical fills as Python values (text and floats)."""
    import numpy as np

    from ..harness import tickers

    rng = np.random.default_rng(seed)
    pool = np.array(tickers(2_000, seed=seed))
    sym = pool[rng.integers(0, len(pool), n)]
    side = np.where(rng.random(n) < 0.5, "buy", "sell")
    shares = rng.integers(1, 2_000, n).astype(float)
    price = np.round(np.exp(rng.normal(np.log(80), 0.8, n)), 2)
    comm = np.round(shares * 0.005, 2)
    secs = rng.integers(0, int(6.5 * 3600), n)
    times = np.datetime_as_string(np.datetime64(f"{DAY}T13:30:00") + secs.astype("timedelta64[s]"), unit="s")
    oid = np.char.add("ord-", rng.integers(0, 10**9, n).astype(str))
    coid = np.char.add(np.char.add(f"xlx-{DAY}-", sym.astype(str)), np.char.add("-", side.astype(str)))
    header = ["date", "symbol", "side", "shares", "price", "commission", "fill_time", "order_id", "client_order_id"]
    rows = [header]
    rows += [
        list(r)
        for r in zip(
            [DAY] * n,
            sym.tolist(),
            side.tolist(),
            shares.tolist(),
            price.tolist(),
            comm.tolist(),
            [t + "Z" for t in times.tolist()],
            oid.tolist(),
            coid.tolist(),
        )
    ]
    return rows


def prepare(root: Path, size: int) -> None:
    import json

    (root / "block.json").write_text(json.dumps(make_block(size)))


def setup(root: Path, size: int, side: str):
    import json

    tmp = Path(tempfile.mkdtemp(prefix="xlexec-bench-wb-"))
    return {"block": json.loads((root / "block.json").read_text()), "tmp": tmp, "n": 0}


def teardown(state, side: str) -> None:
    import shutil

    shutil.rmtree(state["tmp"], ignore_errors=True)


def run(state, side: str):
    state["n"] += 1
    path = state["tmp"] / f"{side}-{state['n']}.xlsx"
    block = state["block"]
    if side == "xlexec":
        from xlexec.excel.build import write_workbook
        from xlexec.excel.render import empty_book_data

        with Timer() as t:
            data = empty_book_data(DAY)
            data.fills_block = block
            write_workbook(path, data, vba=False)
    elif side == "library":
        import xlsxwriter

        with Timer() as t:
            wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
            ws = wb.add_worksheet("Fills")
            for i, row in enumerate(block):
                ws.write_row(i, 0, row)
            wb.close()
    else:
        from openpyxl import Workbook

        with Timer() as t:
            wb = Workbook()
            ws = wb.active
            ws.title = "Fills"
            for i, row in enumerate(block, start=1):
                for j, v in enumerate(row, start=1):
                    ws.cell(row=i, column=j, value=v)
            wb.save(str(path))
    size = path.stat().st_size
    path.unlink()
    return t.seconds, {"file_mb": round(size / 1e6, 2)}


def judge(row) -> bool:
    d = row["details"]
    lib = d.get("library_seconds")
    return bool(lib and row["seconds"] <= 1.2 * lib and row["ratio"] is not None and row["ratio"] <= 1 / 3)


def note(row) -> str:
    d = row["details"]
    return (
        f"XlsxWriter constant_memory {d['library_seconds']:.2f} s (xlexec {d['ratio_vs_library']:.2f}x it; "
        f"it is {row['baseline_seconds'] / d['library_seconds']:.1f}x faster than openpyxl)"
    )
