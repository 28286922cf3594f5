"""Controls through the CLI: the harness behind ``test_controls.py`` and the report's "controls"
table (``python tests/reliability/report.py``).

A control test reproduces one attack the way a user would meet it: a demo-like day (the demo's
sample trades, positions, quotes, reference and events) in a tmp desk folder whose
``config.yaml`` names an **absolute** ``live_dir``; the real CLI (``python -m xlexec ...``) run
as a subprocess from a *different* tmp folder (never a chdir into the fixture); and the orders
reaching the broker counted **from the broker itself** (the paper broker's
``paper_broker.sqlite``, every one under the test's tmp folder, or the loopback fake Alpaca's
received orders), never from our journal.

Adding a row for a new control (any test folder, e.g. ``tests/controls/``)::

    from tests.reliability import controls as C

    def test_my_attack_is_refused(tmp_path):
        desk = C.Desk(tmp_path)                      # or C.Desk(tmp_path, approval=False, ...)
        desk.approve()                               # the day approved through the CLI
        ...                                          # the attack: edit a file, add a row, ...
        p = desk.run("submit", desk.trades, "--allow-closed")
        n = desk.orders_at_broker()                  # counted at the broker
        C.record("my attack in a few words", p, n, refused=C.refused(p, "the rule's words"))
        assert C.refused(p, "the rule's words") and n == 0, p.stderr

``record`` appends one ``{"kind": "controls", attack, face, refused, orders_at_broker,
exit_code, says}`` line to the observations file of a report run (nothing otherwise); record it
*before* asserting, so a broken control still shows in the table. ``report.py`` runs
``tests/reliability`` and, when present, ``tests/controls``, prints every recorded row, and exits
1 when a row is not refused or has an order at the broker. For the workbook's face use
``desk.button("submit")`` (``xlexec button NAME --book FILE``) and ``face="button"``; for a fake
Alpaca broker, ``C.Desk(tmp_path, alpaca_url=fake.url)`` and count ``len(fake.orders)``.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from pathlib import Path

from . import _support as U

DAY = "2025-10-30"
NOW = "2025-10-30T13:40:00+00:00"  # 09:40 New York: the market is open, quotes 30 s old
HEADER = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est"
GOOD_HEADER = [f"# Date: {DAY}", "# Portfolio Value: $100,000.00", "# Kill Switch: ACTIVE", "# Safety Checks: PASSED"]


def controls_out() -> Path | None:
    """Where a report run collects control rows (next to ``XLEXEC_RELIABILITY_OUT``), else None."""
    explicit = os.environ.get("XLEXEC_CONTROLS_OUT")
    if explicit:
        return Path(explicit)
    out = os.environ.get("XLEXEC_RELIABILITY_OUT")
    return Path(out).with_suffix(".controls.jsonl") if out else None


def refused(p: subprocess.CompletedProcess, *says: str) -> bool:
    """True when the run exited non-zero with no traceback and its output names every one of
    ``says`` (case-insensitive): refused *by that rule*, not by something else on the way."""
    text = (p.stdout + p.stderr).lower()
    return p.returncode not in (0, None) and "traceback" not in text and all(s.lower() in text for s in says)


def record(
    attack: str,
    p: subprocess.CompletedProcess,
    orders_at_broker: int,
    *,
    refused: bool,
    face: str = "cli",
    **extra,
) -> dict:
    """One row of the controls table (returned; appended to the report's file when one runs)."""
    lines = [ln for ln in (p.stderr or "").strip().splitlines() if ln.strip()]
    says = next((ln for ln in reversed(lines) if "error" in ln or "refused" in ln), "")
    if not says:  # a per-order refusal: the order's note in the printed result
        says = _refused_notes(p.stdout or "") or (lines[-1] if lines else "")
    row = {
        "kind": "controls",
        "attack": attack,
        "face": face,
        "refused": bool(refused),
        "orders_at_broker": int(orders_at_broker),
        "exit_code": p.returncode,
        "says": says[:300],
        **extra,
    }
    out = controls_out()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "a", encoding="utf-8") as f:  # one short line per write: safe across workers
            f.write(json.dumps(row, default=str) + "\n")
    return row


def _refused_notes(stdout: str) -> str:
    """The notes of the refused orders in a ``--json`` result (else a printed ``Refused: ...``)."""
    for ln in reversed(stdout.splitlines()):
        if ln.startswith("{"):
            try:
                doc = json.loads(ln)
            except ValueError:
                break
            notes = [str(o.get("note")) for o in doc.get("orders") or [] if o.get("status") == "refused"]
            return "; ".join(f"{o}" for o in notes)
    m = re.search(r"Refused: [^\n│|]*", stdout)
    return m.group(0).strip() if m else ""


def paper_orders(root: Path, symbols: set[str] | None = None) -> int:
    """Orders every paper broker under ``root`` received (optionally only for ``symbols``).

    Every ``paper_broker.sqlite`` below ``root`` counts, so an order that went to a broker in the
    wrong folder (a path resolved against the current directory) is counted too."""
    n = 0
    for db in sorted(Path(root).rglob("paper_broker.sqlite")):
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            bodies = [r[0] for r in con.execute("select body from orders")]
        finally:
            con.close()
        n += sum(1 for b in bodies if symbols is None or json.loads(b)["symbol"] in symbols)
    return n


class Desk:
    """A demo-like day in ``tmp_path/desk`` (absolute paths), run from ``tmp_path/elsewhere``.

    ``approval`` is ``execution.require_human_approval``; ``execution``/``validation`` add keys
    to those blocks; ``alpaca_url`` points the broker at a fake Alpaca (keys from the env)."""

    def __init__(
        self,
        tmp_path: Path,
        *,
        approval: bool = True,
        execution: dict | None = None,
        validation: dict | None = None,
        alpaca_url: str | None = None,
        now: str = NOW,
    ):
        from xlexec.demo import sample

        self.tmp = Path(tmp_path).resolve()
        self.root = self.tmp / "desk"
        self.live = self.root / "live"
        self.elsewhere = self.tmp / "elsewhere"
        self.elsewhere.mkdir(parents=True, exist_ok=True)
        self.now = now
        self.day = sample.make_day(DAY)
        sample.write_day(self.day, self.live)
        self.trades = self.live / DAY / "trades.csv"
        self.quotes = self.live / DAY / "quotes.csv"
        self.book = self.root / "xlexec.xlsm"
        self._built = False
        if alpaca_url:
            self.config = U.alpaca_config(
                self.root,
                alpaca_url,
                live_dir=self.live,
                require_human_approval=approval,
                **(execution or {}),
            )
        else:
            ex = {
                "broker": "paper",
                "require_human_approval": approval,
                "max_order_size_usd": 50000,
                "paper": {"starting_cash": round(self.day.cash, 2)},
                **(execution or {}),
            }
            doc = {"live_dir": str(self.live), "user": "ops", "execution": ex}
            if validation:
                doc["validation"] = validation
            self.config = self.root / "config.yaml"
            self.config.write_text(json.dumps(doc, indent=1) + "\n")  # JSON is YAML

    # ---------------------------------------------------------------- files

    def write_trades(self, rows: list[str], header: list[str] | None = None) -> Path:
        """A trades.csv of ``rows`` (CSV lines in the guide's columns) under the good header."""
        self.trades.write_text("\n".join([*(header or GOOD_HEADER), HEADER, *rows]) + "\n")
        return self.trades

    def add_quote(self, symbol: str, bid: float, ask: float) -> None:
        with self.quotes.open("a") as f:
            f.write(f"{symbol},{bid:.2f},{ask:.2f},{(bid + ask) / 2:.2f},2025-10-30T13:39:30+00:00,5000,5000\n")

    def edit_trades(self, old: str, new: str) -> None:
        text = self.trades.read_text()
        assert old in text, old
        self.trades.write_text(text.replace(old, new, 1))

    def kill_switch(self) -> Path:
        p = self.live / "KILL_SWITCH"
        p.write_text("TRIGGERED 2025-10-30T13:35:00+00:00 by ops: drill\n")
        return p

    def files(self) -> set[str]:
        """Every file under the test's tmp folder (relative), lock files aside."""
        return {str(p.relative_to(self.tmp)) for p in self.tmp.rglob("*") if p.is_file() and p.name != ".xlexec.lock"}

    def baskets(self) -> list[str]:
        """Broker basket files (``trades_<broker>*``) anywhere under the tmp folder."""
        return sorted(str(p.relative_to(self.tmp)) for p in self.tmp.rglob("trades_*") if p.is_file())

    # ---------------------------------------------------------------- the CLI

    def env(self, **extra) -> dict:
        env = U.env_with_keys(XLEXEC_NOW=self.now, **extra)
        env.pop("XLEXEC_CONFIG", None)
        return env

    def run(self, *args, config: Path | None = None, timeout: float = 120, **env) -> subprocess.CompletedProcess:
        """``python -m xlexec ARGS --config CONFIG`` from ``elsewhere`` (``config=False``: none)."""
        argv = [str(a) for a in args]
        if config is not False:
            argv += ["--config", str(config or self.config)]
        return U.xlexec(argv, cwd=self.elsewhere, env=self.env(**env), timeout=timeout)

    def approve(self, override: bool = True, **env) -> subprocess.CompletedProcess:
        """The day approved by a named approver through the CLI (``--override``: the demo day may
        carry a warning or a REJECT that is not the point of the test)."""
        args = ["approve", self.trades, "--by", "risk", "--decision", "APPROVED", "--reason", "checked"]
        p = self.run(*args, *(["--override"] if override else []), **env)
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
        return p

    def submit(self, *extra, **env) -> subprocess.CompletedProcess:
        return self.run("submit", self.trades, "--allow-closed", *extra, **env)

    def button(self, name: str, *sets: str, **env) -> subprocess.CompletedProcess:
        """``xlexec button NAME --book FILE --day DAY`` (the workbook built and loaded first)."""
        if not self._built:
            p = self.run("workbook", "build", "--output", self.book, "--day", DAY, **env)
            assert p.returncode == 0, p.stderr[-2000:]
            self._built = True
        argv = ["button", name, "--book", self.book, "--day", DAY]
        for kv in sets:
            argv += ["--set", kv]
        return self.run(*argv, **env)

    def orders_at_broker(self, symbols: set[str] | None = None) -> int:
        return paper_orders(self.tmp, symbols)
