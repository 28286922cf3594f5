"""Shared material of the reliability suite: a 50-order day, its config, file checks.

Nothing here mocks xlexec: days are written as files, brokers are the loopback fake Alpaca
server (``tests/fake_alpaca.py``) driven by the real alpaca-py client, or the paper simulator.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from fake_alpaca import LIVE_ACCOUNT, PAPER_ACCOUNT, FakeAlpaca  # noqa: E402,F401  (re-exported for the test modules)
from tests import cli_fork  # noqa: E402

NY = ZoneInfo("America/New_York")
# the fake's default account PA0000001 as client order ids name it (written out, not computed)
FAKE_TAG = "a000001"


def as_sent(plan_ids, tag: str = FAKE_TAG) -> list[str]:
    """Plan client order ids (``orders_from_trades``) as the broker gets them: the account tag
    right after the date (``xlx-<date>-`` + ``<tag>-`` + the rest), sorted."""
    return sorted(re.sub(r"^(xlx-\d{4}-\d{2}-\d{2}-)", rf"\g<1>{tag}-", str(c)) for c in plan_ids)


PY = sys.executable

# recognisable fake credentials: any occurrence of these outside the process memory is a leak
KEY = "PK_LEAK_CANARY_7Q2W9E4R"
SECRET = "sk-canary-ZX81-do-not-print-5f0c7a9e3b1d"
KEY_ENV, SECRET_ENV = "RELI_ALPACA_KEY", "RELI_ALPACA_SECRET"

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def symbols(n: int = 50) -> list[str]:
    return [f"X{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(n)]


def fill_modes(n: int = 50) -> dict:
    """Per symbol: 1 in 10 never fills, 1 in 10 fills half, the rest fill at the limit."""
    out = {}
    for i, s in enumerate(symbols(n)):
        out[s] = "none" if i % 10 == 3 else (0.5 if i % 10 == 7 else "fill")
    return out


def trades_text(day: str, n: int = 50, seed: int = 0) -> str:
    lines = [
        f"# Date: {day}",
        f"# Total Trades: {n}",
        "# Portfolio Value: $1,000,000.00",
        "# Kill Switch: ACTIVE",
        "# Safety Checks: PASSED",
        "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est",
    ]
    for i, s in enumerate(symbols(n)):
        side = "sell" if (i + seed) % 3 == 0 else "buy"
        sh = 10 + (i * 7 + seed) % 17
        px = round(20 + i * 3.7 + seed * 0.11, 2)
        notional = round(sh * px, 2)
        w = round((1 if side == "buy" else -1) * notional / 1_000_000, 4)
        c = round(notional * 1e-4, 2)
        sl = round(notional * 2e-4, 2)
        lines.append(f"{s},{side},{sh},{px:.2f},{notional:.2f},{w:.4f},{c:.2f},{sl:.2f},{c + sl:.2f}")
    return "\n".join(lines) + "\n"


def positions_text(n: int = 50) -> str:
    rows = ["symbol,shares,avg_cost"] + [f"{s},1000,{20 + i * 3.7:.2f}" for i, s in enumerate(symbols(n))]
    return "\n".join(rows) + "\n"


def weekdays(start: str, count: int) -> list[str]:
    d = dt.date.fromisoformat(start)
    out = []
    while len(out) < count:
        if d.weekday() < 5:
            out.append(d.isoformat())
        d += dt.timedelta(days=1)
    return out


def ny(day: str, hh: int, mm: int) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hh, mm), NY).astimezone(dt.UTC)


#: the execution keys every broker's test config shares (limits wide open, a short timeout)
BASE_EXECUTION = {
    "require_human_approval": True,
    "price_collar_pct": None,
    "max_order_size_usd": 1_000_000,
    "max_daily_trades": 200,
    "request_timeout_seconds": 2,
}


def write_config(
    root: Path,
    broker: str,
    section: dict[str, str],
    *,
    live_dir: Path | None = None,
    journal: str = "sqlite",
    **execution,
) -> Path:
    """``root/config.yaml``: :data:`BASE_EXECUTION` with ``execution`` over it, and the broker's
    own section ``execution.<broker>`` (``section``: key -> value as YAML text); ``live_dir``
    defaults to ``root/live``; ``journal``: the config's ``journal`` (``sqlite``: the file in
    ``live_dir``, or a ``postgresql://`` URL of a shared journal)."""
    ex = {"broker": broker, **BASE_EXECUTION, **execution}
    lines = [f"live_dir: {json.dumps(str(live_dir or root / 'live'))}", "user: ops"]
    if journal != "sqlite":
        lines.append(f"journal: {json.dumps(journal)}")
    lines.append("execution:")
    lines += [f"  {k}: {json.dumps(v)}" for k, v in ex.items()]
    lines.append(f"  {broker}:")
    lines += [f"    {k}: {v}" for k, v in section.items()]
    root.mkdir(parents=True, exist_ok=True)
    p = root / "config.yaml"
    p.write_text("\n".join(lines) + "\n")
    return p


def alpaca_config(root: Path, url: str, *, live_dir: Path | None = None, journal: str = "sqlite", **execution) -> Path:
    """``root/config.yaml`` for the fake Alpaca server, keys as ``${ENV}`` (never literal);
    ``execution["alpaca"]``: keys over the section's (see :func:`write_config`)."""
    alp = {
        "api_key": f"${{{KEY_ENV}}}",
        "api_secret": f"${{{SECRET_ENV}}}",
        "paper": True,
        "base_url": url,
        **execution.pop("alpaca", {}),
    }
    section = {k: v if isinstance(v, str) and v.startswith("${") else json.dumps(v) for k, v in alp.items()}
    ex = {"rate_limit_per_min": 100_000, "max_concurrency": 4, **execution}
    return write_config(root, "alpaca", section, live_dir=live_dir, journal=journal, **ex)


def env_with_keys(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("XLEXEC_CRASH_AT", "XLEXEC_NOW")}
    env[KEY_ENV], env[SECRET_ENV] = KEY, SECRET
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


def xlexec(
    args: list[str], *, cwd: Path, env: dict | None = None, timeout: float = 120, input: str | None = None
) -> subprocess.CompletedProcess:
    """Run the real CLI (``python -m xlexec.cli.app``) in a subprocess; output captured as text."""
    return cli_fork.run(
        [PY, "-m", "xlexec", *args],
        cwd=str(cwd),
        env=env or env_with_keys(),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
    )


# ------------------------------------------------------------------ integrity checks


def csv_problems(root: Path) -> list[str]:
    """Every ``*.csv`` under ``root`` must be complete: UTF-8, one header, every row as wide as
    the header (``#`` comment rows allowed first). Returns what is wrong (empty = all good)."""
    bad = []
    for p in sorted(Path(root).rglob("*.csv")):
        if p.name.startswith("."):
            continue  # a writer's temp file (never read by anything)
        try:
            text = p.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as e:
            bad.append(f"{p}: not UTF-8 ({e})")
            continue
        lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
        if not lines:
            bad.append(f"{p}: empty")
            continue
        if not text.endswith("\n"):
            bad.append(f"{p}: no final newline (truncated?)")
        try:
            rows = list(csv.reader(io.StringIO("\n".join(lines))))
        except csv.Error as e:
            bad.append(f"{p}: {e}")
            continue
        width = len(rows[0])
        for i, r in enumerate(rows[1:], 2):
            if r and len(r) != width:
                bad.append(f"{p}: row {i} has {len(r)} fields, header {width}")
                break
    return bad


def workbook_problems(path: Path) -> list[str]:
    """The workbook opens with openpyxl (and its zip is complete)."""
    import openpyxl

    path = Path(path)
    if not path.exists():
        return []
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
            if bad:
                return [f"{path}: corrupt member {bad}"]
        wb = openpyxl.load_workbook(path, read_only=True)
        names = wb.sheetnames
        wb.close()
        if not names:
            return [f"{path}: no sheets"]
    except Exception as e:  # noqa: BLE001 - any failure to open is the finding
        return [f"{path}: does not open: {type(e).__name__}: {e}"]
    return []


def journal_problems(path: Path) -> list[str]:
    if not Path(path).exists():
        return []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        r = con.execute("PRAGMA integrity_check").fetchone()[0]
        dup = con.execute("SELECT kind, key, COUNT(*) FROM events GROUP BY kind, key HAVING COUNT(*) > 1").fetchall()
    finally:
        con.close()
    out = [] if r == "ok" else [f"{path}: integrity_check {r}"]
    return out + [f"{path}: duplicate event {k}" for k in dup]


def shared_journal_problems(url: str) -> list[str]:
    """:func:`journal_problems` of a PostgreSQL journal: its chain verifies, no (kind, key) twice."""
    from xlexec.store.pg_journal import PgJournal, redacted

    j = PgJournal(url)
    try:
        rep = j.verify()
        dup = j._pg.execute("SELECT kind, key, count(*) FROM events GROUP BY kind, key HAVING count(*) > 1").fetchall()
    finally:
        j.close()
    out = [] if rep.ok else [f"{redacted(url)}: {rep.line()}"]
    return out + [f"{redacted(url)}: duplicate event {tuple(k)}" for k in dup]


def journal_problems_of(live: Path, journal: str) -> list[str]:
    """What is wrong with the journal of ``live`` as the config's ``journal`` names it."""
    if journal == "sqlite":
        return journal_problems(Path(live) / "journal.sqlite")
    return shared_journal_problems(journal)


def open_journal_of(live: Path, journal: str):
    """The journal of ``live`` (the caller closes it), as the config's ``journal`` names it."""
    from xlexec.store import journal as J

    if journal == "sqlite":
        return J.Journal.for_live_dir(live)
    from xlexec.store.pg_journal import PgJournal

    return PgJournal(journal)


def temp_leftovers(root: Path) -> list[Path]:
    """Temp files a killed atomic writer left behind (hidden, never read)."""
    return [p for p in Path(root).rglob(".*") if p.is_file() and (p.suffix == ".tmp" or p.suffix in (".xlsx", ".xlsm"))]


def unzip_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())


def cli(
    argv: list[str], *, env: dict | None = None, cwd: Path | None = None, as_process: bool = False
) -> tuple[int | None, str, str]:
    """Run the CLI, output captured; ``env`` adds variables (a ``None`` value unsets one).

    With ``cwd``: the real ``python -m xlexec`` in a subprocess started in that folder (the test
    process never changes its own current folder: a chdir into the fixture can hide a path
    resolved against the current folder). Without: ``xlexec.cli.app.main(argv)`` in this process
    (so a test's monkeypatch applies; pass ``--config`` with an absolute ``live_dir``).

    ``as_process`` (in-process only): run ``main`` as the subprocess would see it: the
    subprocess's environment (:func:`env_with_keys`, then ``env``), stdout and stderr as pipes
    of the encoding and error handlers a child process has (:func:`child_streams`; text a pipe
    cannot carry fails as it would there), and every warning under Python's default filters
    written to stderr, as a child process prints it.

    Returns ``(exit code, stdout, stderr)``; in-process, an exception escaping ``main`` (what a
    user would see as a traceback) gives exit code ``None`` and the traceback as stderr."""
    import contextlib
    import traceback
    import warnings

    if cwd is not None:
        full = env_with_keys(**{k: v for k, v in (env or {}).items() if v is not None})
        for k, v in (env or {}).items():
            if v is None:
                full.pop(k, None)
        p = xlexec(argv, cwd=Path(cwd), env=full)
        return p.returncode, p.stdout, p.stderr

    from xlexec.cli.app import main

    if as_process:
        child = env_with_keys()
        env = {**{k: None for k in os.environ if k not in child}, **child, **(env or {})}
        streams = child_streams()
        out = io.TextIOWrapper(io.BytesIO(), encoding=streams[0], errors=streams[1], newline=None)
        err = io.TextIOWrapper(io.BytesIO(), encoding=streams[0], errors=streams[2], newline=None)
    else:
        out, err = io.StringIO(), io.StringIO()
    old_env = {k: os.environ.get(k) for k in (env or {})}
    try:
        os.environ.update({k: v for k, v in (env or {}).items() if v is not None})
        for k, v in (env or {}).items():
            if v is None:
                os.environ.pop(k, None)
        with contextlib.ExitStack() as stack:
            stack.enter_context(contextlib.redirect_stdout(out))
            stack.enter_context(contextlib.redirect_stderr(err))
            if as_process:
                seen = stack.enter_context(warnings.catch_warnings(record=True))
                warnings.resetwarnings()
                for action, category in DEFAULT_WARNING_FILTERS:
                    warnings.simplefilter(action, category, append=True)
            try:
                rc = main(argv)
            except SystemExit as e:
                rc = e.code if isinstance(e.code, int) else 2
            except BaseException:  # noqa: BLE001 - the finding
                err.write(traceback.format_exc())
                rc = None
            if as_process:
                for w in seen:
                    err.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line))
    finally:
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if isinstance(out, io.TextIOWrapper):
        texts = []
        for stream in (out, err):
            stream.flush()
            texts.append(cli_fork.as_text(stream.buffer.getvalue()))  # type: ignore[attr-defined]
        return rc, texts[0], texts[1]
    return rc, out.getvalue(), err.getvalue()


#: Python's warning filters when no ``-W`` option or ``PYTHONWARNINGS`` is given, outside ``__main__``
DEFAULT_WARNING_FILTERS = [
    ("ignore", DeprecationWarning),
    ("ignore", PendingDeprecationWarning),
    ("ignore", ImportWarning),
    ("ignore", ResourceWarning),
    ("default", Warning),
]
_CHILD_STREAMS: list[tuple[str, str, str]] = []


def child_streams() -> tuple[str, str, str]:
    """(encoding, stdout errors, stderr errors) of a child process's piped stdout and stderr in
    the environment :func:`env_with_keys` gives (asked once of a real child)."""
    if not _CHILD_STREAMS:
        code = "import sys; print(sys.stdout.encoding, sys.stdout.errors, sys.stderr.errors)"
        p = subprocess.run([PY, "-c", code], env=env_with_keys(), capture_output=True, text=True, check=True)
        enc, out_errors, err_errors = p.stdout.split()
        _CHILD_STREAMS.append((enc, out_errors, err_errors))
    return _CHILD_STREAMS[0]


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` -> its bytes, except lock files and SQLite databases (a reader
    may checkpoint the WAL into the main file: compare their events with :func:`journal_rows`)."""
    out = {}
    for p in sorted(Path(root).rglob("*")):
        if p.is_file() and p.name != ".xlexec.lock" and ".sqlite" not in p.name:
            out[str(p.relative_to(root))] = p.read_bytes()
    return out


def journal_rows(live: Path) -> list[tuple]:
    path = Path(live) / "journal.sqlite"
    if not path.exists():
        return []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute("SELECT seq, kind, key FROM events ORDER BY seq").fetchall()
    finally:
        con.close()


def plant_approval(
    live: Path, trades: Path, *, at: dt.datetime | None = None, approver: str = "jane", reason: str = "ok"
) -> dict:
    """An APPROVED decision on ``trades`` recorded straight into ``live``'s journal at the instant
    ``at`` (default: the real clock), as ``xlexec approve`` records it.

    ``xlexec approve`` refuses a file that is not dated today's session by the real clock (on a
    real-broker config) or ``XLEXEC_NOW`` (paper). Tests that pin the fake Alpaca's clock to a
    past session, or replay an approval from another day, plant the approval with this; submit's
    and convert's own rules (the file's session by the broker's clock, the approval's session)
    still judge it."""
    from xlexec.core.orders import orders_from_trades
    from xlexec.core.trades import header_sha256
    from xlexec.formats.trades import read_trades
    from xlexec.store.approvals import record_approval

    t = read_trades(trades)
    return record_approval(
        live, date=str(t.date), orders=orders_from_trades(t, date=t.date), decision="APPROVED", reason=reason,
        approver=approver, recommended="CONDITIONAL", override=True, now=at or dt.datetime.now(dt.UTC),
        header_sha256=header_sha256(t.header),
    )  # fmt: skip


# ------------------------------------------------------------------ one entry per broker


@dataclass(frozen=True)
class Accounts:
    """A broker's account numbers as its fake knows them (written out, not computed).

    ``paper``: a paper account it reports (None: the broker has no paper trading); ``live``: a
    live account it can be made to report (``BrokerEntry.report_account``); ``other``: a
    well-formed number of the entry's own mode (``BrokerEntry.live``) that the fake never reports
    (a configured account that is not the broker's)."""

    paper: str | None
    live: str
    other: str


@dataclass(frozen=True)
class BrokerEntry:
    """How the per-broker reliability tests drive one broker through its loopback fake.

    ``start(n)``: a started fake (a context manager) able to take ``n`` orders; ``day(fake)``:
    the session its clock is on; ``config(root, fake, **execution)``: ``root/config.yaml`` for it
    (secrets as ``${ENV}``); ``env``: those variables; ``faults``: the common fault vocabulary
    (``429``, ``5xx``, ``lost`` = the order created and its reply lost, ``expired_token``) ->
    ``inject(fake, times)``, only the faults the broker has; ``legs(fake, day)``: the (symbol,
    side) of every order at the broker that day; ``tag``: the account tag in client order ids;
    ``client_order_ids``: whether the broker keeps ours (False: found by fields, an ambiguous
    match never resent); ``live``: the account is real money (``--live``).

    For the per-broker controls (``test_controls_brokers.py``): ``config`` also takes
    ``account=`` (the configured account number, ``execution.<broker>.account_number`` / IBKR
    ``account_id``) and ``paper=`` (the configured mode); ``accounts``: the numbers the fake
    reports or can be made to report (:class:`Accounts`); ``report_account(fake, number)``: from
    now on the fake reports that account; ``refusals``: the words of the refusal where the
    brokers' rules differ (``paper_config_live_account``, ``other_account``), written by hand."""

    name: str
    start: Callable[[int], Any]
    day: Callable[[Any], str]
    config: Callable[..., Path]
    env: dict[str, str]
    faults: dict[str, Callable[[Any, int], None]]
    legs: Callable[[Any, str], list[tuple[str, str]]]
    tag: str
    client_order_ids: bool
    live: bool
    accounts: Accounts
    report_account: Callable[[Any, str], None]
    refusals: dict[str, tuple[str, ...]]


ALPACA_DAY = "2025-11-03"


def _alpaca_config(root: Path, fake, *, account: str | None = None, paper: bool | None = None, **execution) -> Path:
    alp = dict(execution.pop("alpaca", {}))
    if account is not None:
        alp["account_number"] = account
    if paper is not None:
        alp["paper"] = paper
    return alpaca_config(root, fake.url, **execution, **({"alpaca": alp} if alp else {}))


def _alpaca_report(fake, number: str) -> None:
    fake.account_number = number  # GET /v2/account reports it from the next request on


def _alpaca_start(n: int):
    return FakeAlpaca(now=ny(ALPACA_DAY, 10, 0), fill_modes=fill_modes(n), buying_power=1e9, max_lifetime=900)


def _alpaca_legs(fake, day: str) -> list[tuple[str, str]]:
    with fake._lock:  # one fresh fake per test: every order is of that day
        return [(o["symbol"], o["side"]) for o in fake.orders.values()]


SCHWAB_KEY_ENV, SCHWAB_SECRET_ENV = "RELI_SCHWAB_KEY", "RELI_SCHWAB_SECRET"
SCHWAB_KEY, SCHWAB_SECRET = "SCHWAB_LEAK_CANARY_3K8M", "schwab-canary-secret-Q7Z1-do-not-print"


def _schwab_start(n: int):
    from fake_schwab import FakeSchwab

    return FakeSchwab(cash=1e12)


def _schwab_day(fake) -> str:
    return dt.datetime.now(NY).date().isoformat()  # the fake's and the adapter's clock: the real one


def schwab_config(
    root: Path, fake, *, live_dir: Path | None = None, account: str | None = None, paper: bool = False, **execution
) -> Path:
    """``root/config.yaml`` for the fake Schwab (a token file beside it, keys as ``${ENV}``);
    ``account``: ``execution.schwab.account_number`` (default: the fake's); ``paper``: the
    config's ``execution.schwab.paper`` (Schwab has no paper trading: true is refused)."""
    from fake_schwab import ACCOUNT_NUMBER

    now = int(dt.datetime.now(dt.UTC).timestamp())
    tok = {"access_token": "access-0", "refresh_token": "refresh-1", "token_type": "Bearer",
           "expires_in": 1800, "scope": "api", "expires_at": now + 1800}  # fmt: skip
    root.mkdir(parents=True, exist_ok=True)
    (root / "token.json").write_text(json.dumps({"creation_timestamp": now, "token": tok}))
    section = {
        "app_key": f"${{{SCHWAB_KEY_ENV}}}",
        "app_secret": f"${{{SCHWAB_SECRET_ENV}}}",
        "token_path": json.dumps(str(root / "token.json")),
        "account_number": f"'{account or ACCOUNT_NUMBER}'",
        "paper": json.dumps(bool(paper)),
        "base_url": fake.url,
    }
    return write_config(root, "schwab", section, live_dir=live_dir, **execution)


def _schwab_legs(fake, day: str) -> list[tuple[str, str]]:
    with fake._lock:
        out = []
        for o in fake.orders.values():  # one fresh fake per test: every order is of that day
            leg = o["orderLegCollection"][0]
            out.append((leg["instrument"]["symbol"], "buy" if leg["instruction"].startswith("BUY") else "sell"))
        return out


def _schwab_report(fake, number: str) -> None:
    """The fake Schwab reports one account only (``fake_schwab.ACCOUNT_NUMBER``, a live one)."""
    from fake_schwab import ACCOUNT_NUMBER

    assert number == ACCOUNT_NUMBER, f"the fake Schwab reports only account {ACCOUNT_NUMBER}, not {number}"


def _schwab_orders_path() -> str:
    from fake_schwab import ACCOUNT_HASH

    return f"/trader/v1/accounts/{ACCOUNT_HASH}/orders"


IBKR_DAY = "2025-11-03"
IBKR_ACCOUNT = "DU1234567"


class _TWS:
    """The fake TWS (``tests/fake_tws.py``) for the registry: its clock on :data:`IBKR_DAY` (a
    session, 10:00 New York, moving with the real clock), and ``seed_order``: an order entered
    at TWS by another client (the operator's own API tool), its own ``orderRef``, so a twin of
    ours exists at the broker."""

    def __init__(self, n: int):
        from fake_tws import FakeTWS

        t0, start = ny(IBKR_DAY, 10, 0), dt.datetime.now(dt.UTC)
        self.fake = FakeTWS(
            accounts=(IBKR_ACCOUNT,), fill_modes=fill_modes(n), cash=1e12,
            now=lambda: t0 + (dt.datetime.now(dt.UTC) - start),
        )  # fmt: skip

    def __enter__(self):
        self.fake.start()
        return self

    def __exit__(self, *exc):
        self.fake.stop()

    def __getattr__(self, name):
        return getattr(self.fake, name)

    def __setattr__(self, name, value):
        if name == "fake":
            object.__setattr__(self, name, value)
        else:
            setattr(self.fake, name, value)

    def report_account(self, number: str) -> None:
        """From the next connection on, TWS's login manages ``number`` only (its cash as the first's)."""
        with self.fake._lock:
            self.fake._cash.setdefault(number, self.fake._cash[self.fake.accounts[0]])
            self.fake.accounts = (number,)

    def seed_order(self, order_ref: str, symbol: str, side: str, qty: int, price: float) -> None:
        from ib_async import IB, LimitOrder, Stock

        ib = IB()
        ib.connect(self.fake.host, self.fake.port, clientId=99, timeout=5)
        try:
            order = LimitOrder(side.upper(), qty, price, orderRef=order_ref, account=IBKR_ACCOUNT, tif="DAY")
            trade = ib.placeOrder(Stock(symbol, "SMART", "USD"), order)
            while not trade.order.permId:
                ib.waitOnUpdate(timeout=1)
        finally:
            ib.disconnect()


def ibkr_config(
    root: Path,
    fake,
    *,
    live_dir: Path | None = None,
    account: str | None = None,
    paper: bool | None = None,
    **execution,
) -> Path:
    """``root/config.yaml`` for the fake TWS (paper: a DU... account; no secrets); ``account``:
    ``execution.ibkr.account_id`` (default :data:`IBKR_ACCOUNT`), ``paper``: its ``paper``
    (default: left out, i.e. paper)."""
    section = {"port": str(fake.port), "client_id": "7", "account_id": str(account or IBKR_ACCOUNT)}
    if paper is not None:
        section["paper"] = json.dumps(bool(paper))
    return write_config(root, "ibkr", section, live_dir=live_dir, **execution)


def _ibkr_legs(fake, day: str) -> list[tuple[str, str]]:
    return [(o["symbol"], o["action"].lower()) for o in fake.orders]  # one fresh fake per test


def _ibkr_slow(fake, n: int) -> None:
    """Every status reply later than the adapter waits (``request_timeout_seconds`` 0.5 in the
    fault runs), for the first ``n`` orders; then prompt again."""
    import threading

    fake.status_delay = 1.0

    def back():
        while fake.place_count < n:
            threading.Event().wait(0.05)
        fake.status_delay = 0.0

    threading.Thread(target=back, daemon=True).start()


BROKERS: dict[str, BrokerEntry] = {
    "alpaca": BrokerEntry(
        name="alpaca",
        start=_alpaca_start,
        day=lambda fake: ALPACA_DAY,
        config=_alpaca_config,
        env={KEY_ENV: KEY, SECRET_ENV: SECRET},
        faults={
            "429": lambda f, n: f.inject("429", retry_after=0.2, times=n),
            "5xx": lambda f, n: f.inject("503", times=n),
            "lost": lambda f, n: f.inject("lost", times=n),
        },
        legs=_alpaca_legs,
        tag=FAKE_TAG,
        client_order_ids=True,
        live=False,
        accounts=Accounts(paper=PAPER_ACCOUNT, live=LIVE_ACCOUNT, other="PA0000002"),
        report_account=_alpaca_report,
        refusals={
            "paper_config_live_account": ("612345678, which is not a paper account (PA...)",),
            "other_account": (
                "reports account PA0000001, not the configured execution.alpaca.account_number PA0000002",
            ),
        },
    ),
    "schwab": BrokerEntry(
        name="schwab",
        start=_schwab_start,
        day=_schwab_day,
        config=schwab_config,
        env={SCHWAB_KEY_ENV: SCHWAB_KEY, SCHWAB_SECRET_ENV: SCHWAB_SECRET},
        faults={
            "429": lambda f, n: f.inject("429", path=_schwab_orders_path(), retry_after=0.2, times=n),
            "5xx": lambda f, n: f.inject("503", path=_schwab_orders_path(), times=n),
            "lost": lambda f, n: f.inject("lost", path=_schwab_orders_path(), times=n),
            "expired_token": lambda f, n: f.inject("expire_token", path=_schwab_orders_path(), times=n),
        },
        legs=_schwab_legs,
        tag="a345678",
        client_order_ids=False,
        live=True,
        # Schwab has no paper trading: every account is live; the fake's is 12345678
        accounts=Accounts(paper=None, live="12345678", other="87654321"),
        report_account=_schwab_report,
        refusals={
            "paper_config_live_account": ("execution.schwab.paper is true but Schwab has no paper trading",),
            # looked up by number (no account_hash configured): the token reaches no such account
            "other_account": ("execution.schwab", "account_number", "the token reaches 1 account(s) and 0 fit"),
        },
    ),
    "ibkr": BrokerEntry(
        name="ibkr",
        start=_TWS,
        day=lambda fake: IBKR_DAY,
        config=ibkr_config,
        env={},
        faults={
            # the order reaches TWS, then the connection closes before any reply (once per run)
            "lost": lambda f, n: setattr(f, "drop_after_place", 1),
            "slow_status": _ibkr_slow,
        },
        legs=_ibkr_legs,
        tag="a234567",  # DU1234567 as client order ids name it (written out, not computed)
        client_order_ids=True,
        live=False,
        accounts=Accounts(paper=IBKR_ACCOUNT, live="U1234567", other="DU7654321"),
        report_account=lambda f, number: f.report_account(number),
        refusals={
            "paper_config_live_account": ("U1234567, which is not a paper account (DU...)",),
            "other_account": ("execution.ibkr.account_id DU7654321 is not an account of the login",),
        },
    ),
}
