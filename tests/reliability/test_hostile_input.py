"""Hostile input, property-based (hypothesis): trades.csv, fills in every layout, positions,
events, config.yaml and blocks pasted into the workbook.

Random bytes, wrong encodings (UTF-16 with and without BOM, UTF-32, cp1252), BOMs, huge
numbers, NaN/inf, negative and fractional shares, empty files, duplicate headers, dropped
columns, cut lines, one 1,000,000-row file. The promise, checked on every example:

* the reader returns clean data (finite numbers, positive shares where required) or raises
  :class:`InputError` / :class:`ConfigError` whose one line names the file and, for anything in
  the body, the row; a bad value names its row *and* column exactly;
* the CLI exits 2 with one line on stderr naming the file, never a traceback, and writes
  nothing (every file under the folder byte-for-byte the same, no journal event);
* the workbook's Import Fills button answers with a message (exit 2), the workbook file and
  ``live/`` untouched.

``max_examples`` is bounded so the suite stays fast; the counts tried are reported.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import _support as U

DAY = "2025-10-30"
SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)
FAST = settings(max_examples=120, **SETTINGS)
CLI = settings(max_examples=25, **SETTINGS)
#: examples of each CLI property run through a real ``python -m xlexec`` (the rest in-process)
PROCESS_EXAMPLES = 2

DATA = U.TESTS / "data" / "fills"
_ACTS = [a for a in json.loads((DATA / "alpaca_activities.json").read_text()) if a.get("activity_type") == "FILL"]
ALPACA_CSV = "id,order_id,symbol,side,qty,price,transaction_time\n" + "".join(
    f"{a['id']},{a.get('order_id', '')},{a['symbol']},{a['side']},{a['qty']},{a['price']},{a['transaction_time']}\n"
    for a in _ACTS
)
CONFIG = """live_dir: live
costs_bps: 1.0
slippage_bps: 2.0
user: ops
execution:
  broker: paper
  max_order_size_usd: 10000
  max_daily_trades: 50
  price_collar_pct: 0.05
  alpaca:
    api_key: ${ALPACA_API_KEY}
    api_secret: ${ALPACA_API_SECRET}
    paper: true
validation:
  max_trade_pct: 0.10
"""


def _read_trades(p):
    from xlexec.formats.trades import read_trades

    return read_trades(p)


def _read_fills(fmt):
    def f(p):
        from xlexec.formats.fills import read_fills

        return read_fills(p, format=fmt)

    return f


def _read_positions(p):
    from xlexec.formats.inputs import read_positions

    return read_positions(p)


def _read_events(p):
    from xlexec.formats.inputs import read_events

    return read_events(p, missing_ok=False)


def _load_config(p):
    from xlexec.config import load_config

    return load_config(p, cwd=Path(p).parent)


@dataclass
class Target:
    name: str
    file: str
    text: str
    reader: Callable
    cli: list[list[str]]  # argv with {f} = the hostile file, {t} = valid trades
    numeric: dict[str, str] = field(default_factory=dict)  # header column -> column named in errors
    positive: tuple[str, ...] = ()


TARGETS = [
    Target(
        "trades.csv",
        "trades.csv",
        U.trades_text(DAY, 8),
        _read_trades,
        [
            ["validate", "{f}"],
            ["convert", "{f}", "--broker", "ibkr"],
            ["submit", "{f}"],
            ["approve", "{f}", "--by", "ops", "--decision", "APPROVED", "--reason", "r"],
        ],
        {
            c: c
            for c in (
                "shares",
                "price",
                "notional",
                "weight_change",
                "commission_est",
                "slippage_est",
                "total_cost_est",
            )
        },
        ("shares", "price"),
    ),
    Target(
        "fills (xlexec)",
        "broker_fills.csv",
        (DATA / "broker_fills.csv").read_text(),
        _read_fills(None),
        [["reconcile", "--trades", "{t}", "--fills", "{f}"]],
        {"shares": "shares", "price": "price"},
    ),
    Target(
        "fills (alpaca)",
        "alpaca_fills.csv",
        ALPACA_CSV,
        _read_fills("alpaca"),
        [["reconcile", "--trades", "{t}", "--fills", "{f}", "--format", "alpaca"]],
        {"qty": "qty", "price": "price"},
    ),
    Target(
        "fills (ibkr)",
        "ibkr.csv",
        (DATA / "ibkr_trade_confirm.csv").read_text(),
        _read_fills(None),
        [["reconcile", "--trades", "{t}", "--fills", "{f}"]],
    ),
    Target(
        "fills (schwab)",
        "schwab.csv",
        (DATA / "schwab_transactions.csv").read_text(),
        _read_fills(None),
        [["reconcile", "--trades", "{t}", "--fills", "{f}"]],
    ),
    Target(
        "fills (fidelity)",
        "fidelity.csv",
        (DATA / "fidelity_history.csv").read_text(),
        _read_fills(None),
        [["reconcile", "--trades", "{t}", "--fills", "{f}"]],
    ),
    Target(
        "positions",
        "current_positions.csv",
        "symbol,shares,avg_cost\nXAA,100,150.00\nXAB,-50,380.5\nXAC,7,12\n",
        _read_positions,
        [
            ["validate", "{t}", "--positions", "{f}"],
            ["reconcile", "--trades", "{t}", "--fills", "{fills}", "--current-positions", "{f}"],
        ],
        {"shares": "shares", "avg_cost": "avg_cost"},
    ),
    Target(
        "events",
        "events.csv",
        "symbol,date,event,ratio\nXAA,2025-10-30,split,4\nXAB,2025-10-31,earnings,\n",
        _read_events,
        [["validate", "{t}", "--events", "{f}"]],
        {"ratio": "ratio"},
    ),
    Target("config.yaml", "config.yaml", CONFIG, _load_config, [["validate", "{t}", "--config", "{f}"]]),
]
IDS = [t.name for t in TARGETS]

WEIRD = [
    "",
    " ",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "1e309",
    "-1e309",
    "1e400",
    "9" * 400,
    "-5",
    "-0.5",
    "0",
    "0.5",
    "12.5",
    "1e-400",
    "-0",
    "+5",
    "0x1F",
    "1_000",
    "١٢٣",
    "１２",
    "$-",
    "1,2,3",
    "--1",
    "=1+1",
    "@SUM(1+1)",
    "\x00",
    "\ufeff",
    "\u202e",
    "\x85",
    "\u2028",
    '"',
    "a\nb",
    "True",
    "None",
    "2025-13-45",
    "é",
    "\r",
    "\t",
]
CELL = st.one_of(
    st.sampled_from(WEIRD),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**40), 10**40).map(str),
    st.text(max_size=12),
)
BAD_NUMBER = st.one_of(
    st.sampled_from(
        [
            "",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "Infinity",
            "1e309",
            "-1e400",
            "9" * 400,
            "abc",
            "1.2.3",
            "--1",
            "0x1F",
            "=1+1",
            "１２",
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not math.isfinite(x)).map(repr),
)
ENCODINGS = ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252", "latin-1", "utf-8-sig", "utf-8"]


# ------------------------------------------------------------------ building hostile files


def _lines(t: Target) -> list[str]:
    return t.text.split("\n")[:-1] if t.text.endswith("\n") else t.text.split("\n")


def _header_index(t: Target, lines: list[str]) -> int:
    if t.name == "config.yaml":
        return -1
    keys = {
        "trades.csv": "symbol,side",
        "fills (xlexec)": "date,symbol",
        "fills (alpaca)": "id,order_id",
        "fills (ibkr)": '"Symbol"',
        "fills (schwab)": '"Date","Action"',
        "fills (fidelity)": "Run Date",
        "positions": "symbol,",
        "events": "symbol,",
    }
    return next(i for i, ln in enumerate(lines) if keys[t.name] in ln)


def _row_text(cells: list[str]) -> str:
    b = io.StringIO()
    csv.writer(b, lineterminator="").writerow(cells)
    return b.getvalue()


@st.composite
def hostile(draw, t: Target) -> tuple[str, bytes]:
    """(what was done, the file's bytes)"""
    lines = _lines(t)
    kind = draw(st.sampled_from(["bytes", "encoding", "structure", "cell", "cell", "cell"]))
    if kind == "bytes":
        raw = draw(st.binary(max_size=600))
        if draw(st.booleans()):  # valid start, garbage after
            raw = t.text.encode()[: draw(st.integers(0, len(t.text)))] + raw
        return "random bytes", raw
    if kind == "encoding":
        enc = draw(st.sampled_from(ENCODINGS))
        text = t.text.replace("XAA", draw(st.sampled_from(["XAA", "XÄA", "X€A"])), 1)
        raw = text.encode(enc, errors="replace")
        if draw(st.booleans()):
            raw = b"\xef\xbb\xbf" + raw  # a (second) BOM
        return f"encoding {enc}", raw
    if kind == "structure":
        op = draw(
            st.sampled_from(
                [
                    "empty",
                    "bom only",
                    "comments only",
                    "header only",
                    "dup header",
                    "drop column",
                    "dup line",
                    "cut line",
                    "crlf",
                    "blank lines",
                    "long line",
                    "reverse line",
                ]
            )
        )
        h = _header_index(t, lines)
        out = list(lines)
        i = draw(st.integers(0, len(out) - 1))
        if op == "empty":
            return op, b""
        if op == "bom only":
            return op, b"\xef\xbb\xbf"
        if op == "comments only":
            return op, b"# nothing here\n# at all\n"
        if op == "header only":
            out = out[: h + 1] if h >= 0 else out[:1]
        elif op == "dup header" and h >= 0:
            cells = next(csv.reader([out[h]]))
            j = draw(st.integers(0, len(cells) - 1))
            k = draw(st.integers(0, len(cells) - 1))
            cells[k] = cells[j]
            out[h] = _row_text(cells)
        elif op == "drop column" and h >= 0:
            cells = next(csv.reader([out[h]]))
            j = draw(st.integers(0, len(cells) - 1))
            out[h] = _row_text(cells[:j] + cells[j + 1 :])
        elif op == "dup line":
            out.insert(i, out[i])
        elif op == "cut line":
            out[i] = out[i][: draw(st.integers(0, len(out[i])))]
        elif op == "crlf":
            return op, ("\r\n".join(out) + "\r\n").encode()
        elif op == "blank lines":
            out.insert(i, "")
            out.insert(i, ",,,")
        elif op == "long line":
            out.insert(i, "," * 5000 + "x" * 100_000)
        elif op == "reverse line":
            out[i] = out[i][::-1]
        return op, ("\n".join(out) + "\n").encode()
    # cell: one value replaced
    value = draw(CELL)
    if t.name == "config.yaml":
        i = draw(st.integers(0, len(lines) - 1))
        key = lines[i].split(":")[0]
        lines[i] = f"{key}: {value}"
        return f"value {value!r:.30}", ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    h = _header_index(t, lines)
    i = draw(st.integers(h + 1, len(lines) - 1))
    cells = next(csv.reader([lines[i]]), [""])
    j = draw(st.integers(0, max(0, len(cells) - 1)))
    cells[j] = value
    lines[i] = _row_text(cells)
    return f"cell {value!r:.30}", ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


# ------------------------------------------------------------------ the checks


class Tally:
    def __init__(self):
        self.tried = self.accepted = self.clean = self.tracebacks = self.misplaced = self.partial = 0
        self.processes = 0  # of the tried, run through a real subprocess
        self.examples: list[str] = []

    def bad(self, msg: str):
        if len(self.examples) < 5:
            self.examples.append(msg[:300])


def _errors():
    from xlexec.errors import ConfigError, InputError

    return InputError, ConfigError


def check_reader(t: Target, path: Path, tally: Tally) -> None:
    InputError, ConfigError = _errors()
    tally.tried += 1
    try:
        out = t.reader(path)
    except (InputError, ConfigError) as e:
        tally.clean += 1
        msg = str(e)
        assert "\n" not in msg, msg
        assert str(path) in msg, msg
        if isinstance(e, InputError):
            assert e.file == str(path)
            empty = "empty" in e.message or "no header" in e.message
            assert e.row is not None or empty, msg
            if e.row is not None and e.column is None:
                assert "row" in msg
        return
    except Exception as e:  # noqa: BLE001 - the finding
        tally.tracebacks += 1
        tally.bad(f"{type(e).__name__}: {e}")
        raise
    tally.accepted += 1
    if t.name == "config.yaml":
        return
    df = getattr(out, "df", out)
    for c in df.columns:
        if df[c].dtype.kind == "f":
            assert np.isfinite(df[c].dropna().to_numpy()).all() or c in ("ratio",), (c, df[c].tolist())
    for c in t.positive:
        assert (df[c] > 0).all(), (c, df[c].tolist())


@pytest.mark.parametrize("t", TARGETS, ids=IDS)
def test_reader_never_crashes_and_names_file_and_row(t, tmp_path_factory, observe):
    d = tmp_path_factory.mktemp("hostile")
    path = d / t.file
    tally = Tally()

    @FAST
    @given(case=hostile(t))
    def run(case):
        what, raw = case
        path.write_bytes(raw)
        check_reader(t, path, tally)

    try:
        run()
    finally:
        observe(
            "hostile",
            target=t.name,
            level="reader",
            tried=tally.tried,
            accepted=tally.accepted,
            clean_errors=tally.clean,
            tracebacks=tally.tracebacks,
            misplaced=0,
            partial_writes=0,
            examples=tally.examples,
        )


NUMERIC_TARGETS = [t for t in TARGETS if t.numeric]


@pytest.mark.parametrize("t", NUMERIC_TARGETS, ids=[t.name for t in NUMERIC_TARGETS])
def test_a_bad_number_names_its_row_and_column(t, tmp_path_factory, observe):
    """NaN, inf, 1e400, '' or text in a numeric column: the error points at that exact cell."""
    InputError, _ = _errors()
    d = tmp_path_factory.mktemp("cell")
    path = d / t.file
    lines = _lines(t)
    h = _header_index(t, lines)
    header = next(csv.reader([lines[h]]))
    cols = [c for c in header if c in t.numeric]
    tally = Tally()

    @FAST
    @given(col=st.sampled_from(cols), row=st.integers(h + 1, len(lines) - 1), value=BAD_NUMBER)
    def run(col, row, value):
        out = list(lines)
        cells = next(csv.reader([out[row]]))
        j = header.index(col)
        if value == "" and t.name == "positions" and col == "avg_cost":
            value = "nan"  # an empty avg_cost is allowed (unknown cost)
        if value == "" and t.name == "events":
            value = "inf"  # an empty ratio is allowed (not a split)
        cells[j] = value
        out[row] = _row_text(cells)
        path.write_text("\n".join(out) + "\n", encoding="utf-8")
        tally.tried += 1
        try:
            t.reader(path)
        except InputError as e:
            tally.clean += 1
            if (e.row, e.column) != (row + 1, t.numeric[col]):
                tally.misplaced += 1
                tally.bad(str(e))
            assert (e.row, e.column) == (row + 1, t.numeric[col]), str(e)
            return
        except Exception as e:  # noqa: BLE001
            tally.tracebacks += 1
            tally.bad(f"{type(e).__name__}: {e}")
            raise
        tally.accepted += 1
        pytest.fail(f"{value!r} in {col} row {row + 1} accepted")

    try:
        run()
    finally:
        observe(
            "hostile",
            target=t.name,
            level="bad number -> exact cell",
            tried=tally.tried,
            accepted=tally.accepted,
            clean_errors=tally.clean,
            tracebacks=tally.tracebacks,
            misplaced=tally.misplaced,
            partial_writes=0,
            examples=tally.examples,
        )


# ------------------------------------------------------------------ through the CLI


@pytest.fixture(scope="module")
def cli_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    live = root / "live"
    (live / DAY).mkdir(parents=True)
    (live / DAY / "trades.csv").write_text(U.trades_text(DAY, 8))
    (live / DAY / "broker_fills.csv").write_text((DATA / "broker_fills.csv").read_text())
    (root / "config.yaml").write_text(CONFIG)
    (root / "hostile").mkdir()
    return root


def _here_listing() -> list[str]:
    """The names in the test process's current folder (hidden ones aside: other tests' caches)."""
    return sorted(n for n in os.listdir() if not n.startswith("."))


def check_cli(t: Target, root: Path, path: Path, argv: list[str], tally: Tally, *, process: bool = True) -> None:
    """One CLI run on the hostile file: ``process``: the real ``python -m xlexec`` in a subprocess
    started in ``root``; else ``main`` in this process as that subprocess sees it (its environment,
    its stdout/stderr pipes, its warnings; ``U.cli(as_process=True)``). Every path in ``args`` is
    absolute, and a relative ``live_dir`` resolves against the config file's folder, so both read
    and write the same files; in-process, the current folder (not ``root``) must stay as it was."""
    live = root / "live"
    args = [
        a.format(f=str(path), t=str(live / DAY / "trades.csv"), fills=str(live / DAY / "broker_fills.csv"))
        for a in argv
    ]
    if "--config" not in args:
        args += ["--config", str(root / "config.yaml")]
    before, events = U.snapshot(root), U.journal_rows(live)
    tally.tried += 1
    env = {"XLEXEC_NOW": "2025-10-30T13:40:00+00:00"}
    if process:
        tally.processes += 1
        rc, out, err = U.cli(args, cwd=root, env=env)
    else:
        here = _here_listing()
        rc, out, err = U.cli(args, env=env, as_process=True)
        assert _here_listing() == here, f"wrote into the current folder: {sorted(set(_here_listing()) ^ set(here))}"
    if rc is None or "Traceback" in err:
        tally.tracebacks += 1
        tally.bad(err[-400:])
    assert rc is not None and "Traceback" not in err, err[-3000:]
    if rc == 2:
        tally.clean += 1
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert str(path) in lines[0] or (t.name == "config.yaml" and "config" in lines[0]), lines[0]
        after, events_after = U.snapshot(root), U.journal_rows(live)
        if after != before or events_after != events:
            tally.partial += 1
            tally.bad(f"partial write: {sorted(set(after) ^ set(before))}")
        assert after == before and events_after == events, "a failing command wrote something"
    else:
        tally.accepted += 1
        assert rc in (0, 1), (rc, err)


@pytest.mark.parametrize("t", TARGETS, ids=IDS)
def test_cli_exit_2_one_line_no_traceback_no_write(t, cli_root, observe):
    path = cli_root / "hostile" / t.file
    tally = Tally()

    through_process: set[int] = set()

    @CLI
    @given(case=hostile(t), which=st.integers(0, len(t.cli) - 1))
    def run(case, which):
        what, raw = case
        path.write_bytes(raw)
        # the first examples, and the first of each command, through the real process (exit
        # code, one stderr line, no traceback as a user sees them); every other one in-process
        process = tally.tried < PROCESS_EXAMPLES or which not in through_process
        through_process.update([which] if process else [])
        check_cli(t, cli_root, path, t.cli[which], tally, process=process)

    try:
        run()
        assert through_process == set(range(len(t.cli))), "a command never ran through the real process"
    finally:
        observe(
            "hostile",
            target=t.name,
            level="CLI",
            tried=tally.tried,
            through_process=tally.processes,
            accepted=tally.accepted,
            clean_errors=tally.clean,
            tracebacks=tally.tracebacks,
            misplaced=0,
            partial_writes=tally.partial,
            examples=tally.examples,
        )


def test_negative_and_fractional_shares_never_reach_the_broker(tmp_path, observe):
    """Negative shares: trades.csv is refused (row, column). Fractional shares: validation says
    REJECT; even approved with an override, the order is refused with a note, never rounded."""
    live = tmp_path / "live"
    t = live / DAY / "trades.csv"
    t.parent.mkdir(parents=True)
    good = U.trades_text(DAY, 3)
    t.write_text(good.replace("XAB,buy,17,", "XAB,buy,-17,"))
    (tmp_path / "config.yaml").write_text("live_dir: live\nexecution:\n  broker: paper\n  price_collar_pct: null\n")
    (live / "current_positions.csv").write_text("symbol,shares,avg_cost\nXAA,100,20.00\n")
    env = {"XLEXEC_NOW": "2025-10-30T13:40:00+00:00"}
    rc_neg, _, err_neg = U.cli(["submit", str(t), "--allow-closed"], cwd=tmp_path, env=env)
    t.write_text(good.replace("XAB,buy,17,", "XAB,buy,17.5,").replace("XAC,buy,24,", "XAC,buy,0.4,"))
    rc_val, out_val, _ = U.cli(["validate", str(t), "--json"], cwd=tmp_path, env=env)
    rc_ap, _, err_ap = U.cli(
        ["approve", str(t), "--by", "ops", "--decision", "APPROVED", "--reason", "test", "--override"],
        cwd=tmp_path,
        env=env,
    )
    rc_sub, out_sub, err_sub = U.cli(["submit", str(t), "--allow-closed", "--json"], cwd=tmp_path, env=env)
    res = json.loads(out_sub) if out_sub.strip() else {}
    rows = {o["symbol"]: o for o in res.get("orders", [])}
    import sqlite3

    con = sqlite3.connect(live / "paper_broker.sqlite")
    try:
        sent = {
            b["symbol"]: float(b["qty"])
            for b in (json.loads(r[0]) for r in con.execute("SELECT body FROM orders").fetchall())
        }
    finally:
        con.close()
    observe(
        "hostile",
        target="trades.csv",
        level="negative/fractional shares end to end",
        tried=3,
        accepted=0,
        clean_errors=2 + int(rows.get("XAB", {}).get("status") == "refused"),
        tracebacks=0,
        misplaced=0,
        partial_writes=0,
        examples=[err_neg.strip()],
    )
    assert rc_neg == 2 and "row 8" in err_neg and "'shares'" in err_neg, err_neg
    assert rc_val == 1 and json.loads(out_val)["decision"] == "REJECT"
    assert rc_ap == 0, err_ap
    assert rc_sub == 1, err_sub
    assert rows["XAB"]["status"] == "refused" and "17.5 shares is not a whole" in rows["XAB"]["note"]
    assert rows["XAC"]["status"] == "refused" and "0.4 shares" in rows["XAC"]["note"]
    assert sent == {"XAA": 10}  # only the whole-share order went out, as approved


def test_a_million_rows_once(tmp_path, observe):
    """One 1,000,000-row trades.csv with one bad price near the end: exit 2 naming that row and
    column, nothing written, in bounded time."""
    n = 1_000_000
    chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    syms = [
        "Z" + chars[i // 46656 % 36] + chars[i // 1296 % 36] + chars[i // 36 % 36] + chars[i % 36] for i in range(n)
    ]
    body = [f"{s},buy,10,12.50,125.00,0.0001,0.01,0.02,0.03\n" for s in syms]
    body[n - 2] = body[n - 2].replace(",12.50,", ",1e999,")
    t = tmp_path / "live" / DAY / "trades.csv"
    t.parent.mkdir(parents=True)
    with t.open("w") as f:
        f.write("symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n")
        f.writelines(body)
    del body, syms
    before = U.snapshot(tmp_path)
    t0 = time.perf_counter()
    rc, out, err = U.cli(
        ["convert", str(t), "--broker", "ibkr"], cwd=tmp_path, env={"XLEXEC_NOW": "2025-10-30T13:40:00+00:00"}
    )
    seconds = time.perf_counter() - t0
    after = U.snapshot(tmp_path)
    observe(
        "hostile",
        target="trades.csv",
        level="1,000,000 rows",
        tried=1,
        accepted=0,
        clean_errors=int(rc == 2),
        tracebacks=int(rc is None),
        misplaced=0,
        partial_writes=int(after != before),
        rows=n,
        seconds=round(seconds, 1),
        examples=[err.strip()[-200:]],
    )
    assert rc == 2, err[-2000:]
    assert err.strip().splitlines() == [
        f"xlexec convert: error: {t}, row {n}, column 'price': price is not a finite number: '1e999'"
    ]
    assert after == before


# ------------------------------------------------------------------ blocks pasted into the workbook

FILLS_HEADER = ["date", "symbol", "side", "shares", "price", "commission"]
TYPED = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**30), 10**30),
    st.booleans(),
    st.sampled_from(WEIRD),
    st.text(max_size=10),
)


def test_pasted_fills_block_in_any_shape(observe):
    """The Fills tab parser on typed cells (what Excel hands over: None, floats, ints, text)."""
    InputError, _ = _errors()
    from xlexec.formats.fills import read_fills_block

    tally = Tally()

    @settings(max_examples=200, **SETTINGS)
    @given(
        cells=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 5), TYPED), max_size=4),
        header=st.sampled_from(
            [
                FILLS_HEADER,
                ["Symbol", "Side", "Shares", "Price", "Commission", "Date"],
                ["id", "order_id", "symbol", "side", "qty", "price"],
            ]
        ),
        garbage=st.booleans(),
    )
    def run(cells, header, garbage):
        rows = [list(header)] + [[DAY, "XAA", "buy", 10, 150.0, 0.5][: len(header)] for _ in range(4)]
        if header[0] == "Symbol":
            rows[1:] = [["XAA", "BUY", 10, 150.0, 0.5, DAY] for _ in range(4)]
        if header[0] == "id":
            rows[1:] = [[f"f{i}", "o1", "XAA", "buy", 10, 150.0] for i in range(4)]
        for r, c, v in cells:
            rows[r][c] = v
        if garbage:
            rows = [[v for _, _, v in cells]]
        tally.tried += 1
        try:
            df = read_fills_block(rows, name="Fills tab", first_row=4)
        except InputError as e:
            tally.clean += 1
            assert e.row is not None or "empty" in e.message or "no header" in e.message or "header" in e.message, str(
                e
            )
            assert "\n" not in str(e)
            return
        except Exception as e:  # noqa: BLE001
            tally.tracebacks += 1
            tally.bad(f"{type(e).__name__}: {e}")
            raise
        tally.accepted += 1
        assert np.isfinite(df["shares"].to_numpy(dtype=float)).all() and (df["shares"] > 0).all()
        assert np.isfinite(df["price"].to_numpy(dtype=float)).all()

    try:
        run()
    finally:
        observe(
            "hostile",
            target="pasted Fills block",
            level="parser",
            tried=tally.tried,
            accepted=tally.accepted,
            clean_errors=tally.clean,
            tracebacks=tally.tracebacks,
            misplaced=0,
            partial_writes=0,
            examples=tally.examples,
        )


def test_workbook_import_fills_with_hostile_block(tmp_path, observe):
    """Import Fills on a workbook whose Fills tab holds junk: a message (exit 2) naming the tab,
    row and column; the workbook file and live/ stay byte-for-byte as they were."""
    import openpyxl

    from xlexec.config import load_config
    from xlexec.excel.build import FILLS_PASTE_ROW, build_workbook
    from xlexec.excel.buttons import run_button
    from xlexec.steps.context import Context

    (tmp_path / "config.yaml").write_text(CONFIG)
    live = tmp_path / "live"
    (live / DAY).mkdir(parents=True)
    (live / DAY / "trades.csv").write_text(U.trades_text(DAY, 8))
    book = tmp_path / "wb.xlsx"
    build_workbook(book)
    base = book.read_bytes()
    blocks = [
        ("NaN shares", [FILLS_HEADER, [DAY, "XAA", "buy", float("nan"), 150.0, 0.5]], (FILLS_PASTE_ROW + 2, "shares")),
        ("text price", [FILLS_HEADER, [DAY, "XAA", "buy", 10, "=1+1", 0.5]], (FILLS_PASTE_ROW + 2, "price")),
        (
            "huge number",
            [FILLS_HEADER, [DAY, "XAA", "buy", 10, 150.0, 0.5], [DAY, "XAB", "sell", 1e308 * 10, 1, 0]],
            (FILLS_PASTE_ROW + 3, "shares"),
        ),
        ("negative shares", [FILLS_HEADER, [DAY, "XAA", "buy", -10, 150.0, 0.5]], (FILLS_PASTE_ROW + 2, "shares")),
        (
            "duplicate header",
            [FILLS_HEADER[:5] + ["price"], [DAY, "XAA", "buy", 10, 150.0, 151.0]],
            (FILLS_PASTE_ROW + 1, "price"),
        ),
        ("bad side", [FILLS_HEADER, [DAY, "XAA", "hold", 10, 150.0, 0.5]], (FILLS_PASTE_ROW + 2, "side")),
    ]
    tally = Tally()
    results = []
    cfg = load_config(tmp_path / "config.yaml", cwd=tmp_path)
    for label, block, (row, col) in blocks:
        book.write_bytes(base)
        wb = openpyxl.load_workbook(book)
        ws = wb["Fills"]
        for i, r in enumerate(block):
            for j, v in enumerate(r):
                ws.cell(row=FILLS_PASTE_ROW + 1 + i, column=1 + j, value=v)
        wb.save(book)
        before_book, before_live = book.read_bytes(), U.snapshot(live)
        ctx = Context(cfg, "ops")
        try:
            tally.tried += 1
            res = run_button("import_fills", book, ctx=ctx, day=DAY)
        finally:
            ctx.close()
        named = f"row {row}" in res.message and f"'{col}'" in res.message.lower()
        untouched = book.read_bytes() == before_book and U.snapshot(live) == before_live
        tally.clean += int(res.exit_code == 2)
        tally.misplaced += int(not named)
        tally.partial += int(not untouched)
        tally.tracebacks += int("internal error" in res.message)
        results.append((label, res.exit_code, res.message, named, untouched))
    observe(
        "hostile",
        target="workbook Fills tab",
        level="Import Fills button",
        tried=tally.tried,
        accepted=0,
        clean_errors=tally.clean,
        tracebacks=tally.tracebacks,
        misplaced=tally.misplaced,
        partial_writes=tally.partial,
        examples=[r[2][:200] for r in results],
    )
    for label, code, msg, named, untouched in results:
        assert code == 2 and "internal error" not in msg, (label, msg)
        assert untouched, (label, "the workbook or live/ changed")
        assert named, (label, msg)


def test_workbook_blotter_limit_typed_as_junk(tmp_path, observe):
    """A Limit typed into the Blotter as text / NaN / negative: Validate answers with a message
    naming the Blotter's row and the Limit column; nothing written (trades.csv unchanged)."""
    import openpyxl

    from xlexec.config import load_config
    from xlexec.excel.build import BLOTTER_COLUMNS, FIRST_DATA_ROW, build_workbook
    from xlexec.excel.buttons import run_button
    from xlexec.steps.context import Context

    (tmp_path / "config.yaml").write_text(CONFIG)
    live = tmp_path / "live"
    (live / DAY).mkdir(parents=True)
    (live / DAY / "trades.csv").write_text(U.trades_text(DAY, 8))
    cfg = load_config(tmp_path / "config.yaml", cwd=tmp_path)
    book = tmp_path / "wb.xlsx"
    ctx = Context(cfg, "ops")
    try:
        build_workbook(book, ctx, DAY)
    finally:
        ctx.close()
    base = book.read_bytes()
    col = BLOTTER_COLUMNS.index("Limit") + 1
    row = FIRST_DATA_ROW + 1 + 2  # the third order's row (1-based sheet row)
    tally = Tally()
    results = []
    # (a formula typed by openpyxl has no cached value and reads as blank = the default limit;
    #  Excel stores the formula's value, which the price checks then judge like any typed price)
    for value in ["abc", "-5", "0", "1e400", "nan"]:
        book.write_bytes(base)
        wb = openpyxl.load_workbook(book)
        wb["Blotter"].cell(row=row, column=col, value=value)
        wb.save(book)
        before = U.snapshot(live)
        ctx = Context(cfg, "ops")
        try:
            tally.tried += 1
            res = run_button("validate", book, ctx=ctx, day=DAY)
        finally:
            ctx.close()
        named = f"row {row}" in res.message and "limit" in res.message.lower()
        untouched = U.snapshot(live) == before
        tally.clean += int(res.exit_code == 2)
        tally.misplaced += int(res.exit_code == 2 and not named)
        tally.partial += int(not untouched)
        tally.tracebacks += int("internal error" in res.message)
        results.append((value, res.exit_code, res.message, named, untouched))
    observe(
        "hostile",
        target="workbook Blotter Limit",
        level="Validate button",
        tried=tally.tried,
        accepted=tally.tried - tally.clean,
        clean_errors=tally.clean,
        tracebacks=tally.tracebacks,
        misplaced=tally.misplaced,
        partial_writes=tally.partial,
        examples=[r[2][:200] for r in results],
    )
    for value, code, msg, named, untouched in results:
        assert "internal error" not in msg, (value, msg)
        assert untouched, (value, "live/ changed")
        assert code == 2 and named, (value, code, msg)
