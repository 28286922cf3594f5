"""One whole trading day against the configured broker, as the crash tests run it in a subprocess.

``python tests/reliability/dayrun.py '{"config": ..., "day": ..., "workbook": ...}'``

Steps, each idempotent (a rerun after ``kill -9`` at any point completes the day):
approve (if the day's orders have no approval yet) -> submit (the real engine, exactly once) ->
midday workbook -> status -> fills from the broker -> ``broker_fills.csv`` -> reconcile (journal
the fills, write the day's files, discrepancies, accept the positions) -> evening workbook.
Prints one JSON line; exit 0 when every order is at the broker and the day is reconciled.

Workbook save has no crash point of its own inside ``xlexec/excel`` yet, so this driver counts
``workbook_zip`` after each zip member the workbook writer stores and ``before_rename:<name>``
before the workbook's temp file replaces the old one (``xlexec.faults.crash_point``).
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path

from xlexec.faults import crash_point


def _hook_workbook_save() -> None:
    orig_write, orig_writestr, orig_replace = zipfile.ZipFile.write, zipfile.ZipFile.writestr, os.replace

    def is_book(name) -> bool:
        return str(name).lower().endswith((".xlsx", ".xlsm"))

    def write(self, *a, **k):
        r = orig_write(self, *a, **k)
        if is_book(self.filename):
            crash_point("workbook_zip")
        return r

    def writestr(self, *a, **k):
        r = orig_writestr(self, *a, **k)
        if is_book(self.filename):
            crash_point("workbook_zip")
        return r

    def replace(src, dst, *a, **k):
        if is_book(dst):
            crash_point("before_rename:" + Path(dst).name)
        return orig_replace(src, dst, *a, **k)

    zipfile.ZipFile.write, zipfile.ZipFile.writestr = write, writestr
    try:
        import inspect

        from xlexec.excel import build

        has_own_point = "crash_point" in inspect.getsource(build.write_workbook)
    except (ImportError, OSError, AttributeError):
        has_own_point = False
    if not has_own_point:  # once write_workbook calls crash_point itself, count only that one
        os.replace = replace


def run(a: dict) -> dict:
    from xlexec.core.orders import orders_from_trades, orders_sha256
    from xlexec.execution import engine as S
    from xlexec.execution import status as ST
    from xlexec.execution.brokers import get_broker
    from xlexec.formats.fills import fills_from_broker, write_fills_csv
    from xlexec.formats.inputs import read_positions
    from xlexec.formats.trades import read_trades
    from xlexec.steps import reconcile as R
    from xlexec.steps.context import Context
    from xlexec.store.approvals import find_approval, record_approval

    S.LOOKUP_BACKOFF = tuple(a.get("backoff", (0.05, 0.1)))
    R.FILLS_CHUNK = int(a.get("fills_chunk", R.FILLS_CHUNK))
    day = a["day"]
    ctx = Context.load(a["config"], user=a.get("user", "ops"))
    out: dict = {"day": day}
    try:
        live = Path(ctx.live_dir)
        tpath = live / day / "trades.csv"
        trades = read_trades(tpath)
        orders = orders_from_trades(trades, default_order_type=ctx.config.execution.default_order_type, date=day)
        if find_approval(live, day, orders_sha256(orders)) is None:
            record_approval(
                live,
                date=day,
                orders=orders,
                decision="APPROVED",
                reason=a.get("reason", "crash drill"),
                approver=a.get("approver", "ops"),
                recommended="APPROVE",
                now=ctx.now(),
            )
            out["approved"] = True
        broker = get_broker(ctx.config, live, day=day)
        try:
            res = S.submit_batch(ctx, trades, broker=broker, quotes=None, allow_closed=True)
            out["submit"] = {k: v for k, v in res.to_json().items() if k != "orders"}
            book = a.get("workbook")
            if book:
                from xlexec.excel.render import render_workbook

                render_workbook(ctx, day, book)
            ST.refresh_status(ctx, day, broker)
            fills = fills_from_broker(broker.fills(day), day)
        finally:
            broker.close()
        write_fills_csv(live / day / "broker_fills.csv", fills)
        opening = live / f"current_positions.{day}.bak.csv"
        positions = read_positions(opening if opening.exists() else live / "current_positions.csv", missing_ok=True)
        rec = R.reconcile_day(ctx, day, trades, fills, positions, accept=True, trades_path=str(tpath))
        out["fills"] = int(len(fills))
        out["breaks"] = len(rec.breaks)
        if book:
            render_workbook(ctx, day, book)
        out["ok"] = res.exit_code == 0
    finally:
        ctx.close()
    return out


if __name__ == "__main__":
    args = json.loads(sys.argv[1])
    _hook_workbook_save()
    result = run(args)
    print(json.dumps(result, default=str))
    sys.exit(0 if result.get("ok") else 1)
