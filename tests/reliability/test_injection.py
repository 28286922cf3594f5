"""Formula injection: text from outside lands inert in every CSV and in the workbook.

A day on the fake Alpaca server where every outside text field is hostile: the approver's name
and reason, the operator name, a restricted-list reason, a broker rejection message, broker fill
ids (Alpaca activity ``id``), a broker position's symbol. Payloads: ``=HYPERLINK("http://x","y")``,
``=cmd|' /C calc'!A0``, ``@SUM(1+1)``, ``+``/``-`` formulas, leading tab and CR.

Then: no cell of any CSV under ``live/`` starts with ``= + - @ \\t \\r`` unless it is a number;
the payloads are there, as text behind a ``'``; numbers stay numbers (``-10`` is not ``'-10``);
in the workbook every payload is a string cell, never a formula.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from . import _support as U

DAY = "2025-11-03"
HYPERLINK, CMD, SUM = U.HOSTILE[0], U.HOSTILE[1], U.HOSTILE[2]
MARKERS = ("HYPERLINK(", "cmd|", "SUM(1+1)", "=1+1")


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


INPUTS = {"restricted.csv", "trades.csv"}  # written by this test (the operator's own files)


def csv_cells(root: Path):
    """Every cell of every CSV xlexec wrote under ``root``."""
    for p in sorted(Path(root).rglob("*.csv")):
        if p.name.startswith(".") or p.name in INPUTS:
            continue
        text = p.read_text(encoding="utf-8-sig")
        for i, row in enumerate(csv.reader(io.StringIO(text)), 1):
            for j, cell in enumerate(row):
                yield p, i, j, cell


def workbook_cells(book: Path):
    import openpyxl

    wb = openpyxl.load_workbook(book)
    try:
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if c.value is not None:
                        yield ws.title, c
    finally:
        wb.close()


@pytest.fixture
def hostile_day(tmp_path, monkeypatch):
    from xlexec.execution import engine as S

    monkeypatch.setattr(S, "LOOKUP_BACKOFF", (0.05,))
    with U.FakeAlpaca(fill_modes=U.fill_modes(8), buying_power=1e8, max_lifetime=120) as fake:
        fake.fixed_now = U.ny(DAY, 10, 0)
        cfg = U.alpaca_config(tmp_path, fake.url)
        text = cfg.read_text().replace("user: ops", f"user: {json.dumps(CMD)}")
        cfg.write_text(text)
        live = tmp_path / "live"
        (live / DAY).mkdir(parents=True)
        trades = live / DAY / "trades.csv"
        trades.write_text(U.trades_text(DAY, 8))
        # XAA..XAH: hold only some of them, so one sell leaves a short (a negative number)
        (live / "current_positions.csv").write_text("symbol,shares,avg_cost\nXAB,100,23.70\nXAC,100,27.40\n")
        (live / "restricted.csv").write_text(f'symbol,reason\nXAH,"{SUM}"\n')
        yield tmp_path, fake, cfg, trades


def test_outside_text_is_inert_in_every_csv_and_the_workbook(hostile_day, observe):
    root, fake, cfg, trades = hostile_day
    live = root / "live"
    env = {U.KEY_ENV: U.KEY, U.SECRET_ENV: U.SECRET}  # the fake broker's clock is the day
    base = ["--config", str(cfg)]
    # `xlexec approve` reads the real clock, and this file is dated the fake broker's day (in the
    # past): it refuses the file, hostile names and all, one line ...
    rc_a, _, err_a = U.cli(
        [
            "approve",
            str(trades),
            "--by",
            HYPERLINK,
            "--reason",
            "\t=1+1 " + SUM,
            "--decision",
            "APPROVED",
            "--override",
            *base,
        ],
        env=env,
        cwd=root,
    )
    # ... so the approval, with the same hostile approver and reason, is recorded as approve records it
    U.plant_approval(live, trades, approver=HYPERLINK, reason="\t=1+1 " + SUM)
    fake.inject("reject", status=403, message=CMD)  # the broker's reason, verbatim
    rc_s, out_s, err_s = U.cli(["submit", str(trades), "--allow-closed", "--json", *base], env=env, cwd=root)
    with fake._lock:  # hostile broker fill ids
        for a, payload in zip(fake.activities, U.HOSTILE):
            a["id"] = payload
        fake.positions[HYPERLINK] = {"qty": -5.0, "avg": 1.0}
    rc_r, out_r, err_r = U.cli(
        ["reconcile", "--trades", str(trades), "--from-broker", "--accept", "--json", *base], env=env, cwd=root
    )
    rc_t, _, err_t = U.cli(["tca", str(live / DAY), "--json", *base], env=env, cwd=root)
    rc_y, _, err_y = U.cli(["sync-positions", "--source", "broker", "--force-update", *base], env=env, cwd=root)

    from xlexec.excel.render import render_workbook
    from xlexec.steps.context import Context

    ctx = Context.load(cfg)
    try:
        book = render_workbook(ctx, DAY, root / "book.xlsx")
    finally:
        ctx.close()

    live_formulas, numbers_as_text, payload_cells, negative_numbers = [], [], [], 0
    for p, i, j, cell in csv_cells(live):
        if cell.startswith(U.FORMULA_START) and not _is_number(cell):
            live_formulas.append(f"{p.name} row {i} col {j + 1}: {cell!r}")
        if cell.startswith("'") and _is_number(cell[1:]):
            numbers_as_text.append(f"{p.name} row {i}: {cell!r}")
        if cell.startswith("-") and _is_number(cell):
            negative_numbers += 1
        if any(m in cell for m in MARKERS):
            payload_cells.append((p.name, cell))
    wb_formulas, wb_payloads = [], []
    for title, c in workbook_cells(book):
        v = str(c.value)
        if c.data_type == "f" and any(m in v for m in MARKERS):
            wb_formulas.append(f"{title}!{c.coordinate}: {v[:60]}")
        if any(m in v for m in MARKERS):
            wb_payloads.append((title, c.coordinate, c.data_type))
    files = sorted({name for name, _ in payload_cells})
    observe(
        "injection",
        payloads=len(U.HOSTILE),
        csv_files=len({p for p, *_ in csv_cells(live)}),
        cells_with_payload=len(payload_cells),
        files_with_payload=files,
        live_formulas=len(live_formulas),
        numbers_as_text=len(numbers_as_text),
        negative_numbers=negative_numbers,
        workbook_payload_cells=len(wb_payloads),
        workbook_formulas=len(wb_formulas),
        examples=live_formulas[:3] + numbers_as_text[:3] + wb_formulas[:3],
    )

    assert rc_a == 1 and f"the trades file is dated {DAY} but " in err_a, err_a
    assert rc_s == 1, err_s  # the restricted and the rejected order: refused
    assert rc_r in (0, 1), err_r
    assert rc_t in (0, 1), err_t
    assert rc_y == 0, err_y
    assert live_formulas == []
    assert numbers_as_text == []
    assert negative_numbers >= 1  # a short position and negative weights stayed numbers
    # the payloads did reach the files (as inert text): approvals, notes, fill ids, positions
    assert {"trade_approvals.csv", "execution_log.csv", "broker_fills.csv", "current_positions.csv"} <= set(files), (
        files
    )
    assert all(cell.startswith("'") or not cell.startswith(U.FORMULA_START) for _, cell in payload_cells)
    assert wb_formulas == []
    assert wb_payloads and all(t == "s" for *_, t in wb_payloads), wb_payloads
