"""Secrets: a full day with a recognisable fake key and secret, then grep everything.

The day runs against the loopback fake Alpaca server (``execution.broker: alpaca``,
``alpaca.base_url`` = the fake, keys as ``${ENV}``) in a separate interpreter with DEBUG logging
and every warning on: validate, approve, convert, submit (table and JSON), status, timeouts,
fills from the broker, reconcile + accept, TCA, monthly, P&L, positions compare, kill-switch
report, cancel-all, the workbook (built with VBA, then a button pressed), plus error paths where
the broker echoes the key and secret back in its error messages.

Then every file under the folder (``live/``, the journal and its WAL, the workbook unzipped) and
all captured output (stdout, stderr) are searched for the key, the secret, pieces of them and
their Basic-auth form: zero hits. And ``config.yaml`` refuses a literal key, with a message that
says to use ``${ENV}`` and does not repeat the key.
"""

from __future__ import annotations

import base64
import json
import subprocess

import pytest

from . import _support as U

DAY = "2025-11-03"
NEEDLES = {
    "key": U.KEY,
    "secret": U.SECRET,
    "key prefix": U.KEY[:12],
    "secret head": U.SECRET[:16],
    "secret tail": U.SECRET[-16:],
    "basic auth": base64.b64encode(f"{U.KEY}:{U.SECRET}".encode()).decode(),
    "secret urlencoded": U.SECRET.replace("-", "%2D"),
}

DRIVER = r"""
import json, logging, sys, warnings
warnings.simplefilter("always")
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
from xlexec.cli.app import main
rcs = []
for argv in json.loads(sys.argv[1]):
    print(f"===== xlexec {' '.join(argv)}", flush=True)
    print(f"===== xlexec {' '.join(argv)}", file=sys.stderr, flush=True)
    try:
        rc = main(argv)
    except SystemExit as e:
        rc = e.code
    rcs.append(rc)
    sys.stdout.flush(); sys.stderr.flush()
print("RCS " + json.dumps(rcs))
"""


def _hits(blob: bytes | str, where: str) -> list[str]:
    text = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else blob
    return [f"{where}: {name}" for name, n in NEEDLES.items() if n in text or n.lower() in text.lower()]


def test_full_day_never_writes_or_prints_a_key(tmp_path, observe):
    root = tmp_path
    with U.FakeAlpaca(fill_modes=U.fill_modes(8), buying_power=1e8, max_lifetime=180) as fake:
        fake.fixed_now = U.ny(DAY, 10, 0)
        U.alpaca_config(root, fake.url, require_human_approval=True)
        live = root / "live"
        trades = live / DAY / "trades.csv"
        trades.parent.mkdir(parents=True)
        trades.write_text(U.trades_text(DAY, 8))
        (live / "current_positions.csv").write_text(U.positions_text(8))
        # the broker echoes the credentials back in error messages (seen in the wild with proxies)
        fake.inject("reject", status=403, message=f"bad credentials {U.KEY}:{U.SECRET}")
        fake.inject(
            "reject",
            method="GET",
            path="/v2/account",
            status=401,
            message=f"APCA-API-KEY-ID {U.KEY} APCA-API-SECRET-KEY {U.SECRET} rejected",
        )
        T, D = str(trades), str(live / DAY)
        # `approve` below reads the real clock and refuses this file (dated the fake broker's day,
        # in the past); the approval submit needs is recorded as approve records it
        U.plant_approval(live, trades, approver="ops", reason="secrets drill")
        day = [
            ["validate", T],
            ["validate", T, "--json"],
            ["approve", T, "--by", "ops", "--decision", "APPROVED", "--reason", "secrets drill", "--override"],
            ["convert", T, "--broker", "alpaca"],
            ["convert", T, "--broker", "ibkr"],
            ["submit", T, "--allow-closed"],  # account lookup 401 (echo): refused, nothing sent
            ["submit", T, "--allow-closed"],  # one order rejected with the echo, the rest sent
            ["submit", T, "--allow-closed", "--json"],  # rerun: completes the day
            ["status", "--date", DAY],
            ["status", "--date", DAY, "--json", "--enforce-timeouts"],
            ["reconcile", "--trades", T, "--from-broker", "--accept"],
            ["tca", D],
            ["tca", D, "--json"],
            ["monthly", "--month", DAY[:7]],
            ["pnl", "--date", DAY],
            ["pnl", "--date", DAY, "--json"],
            ["kill-switch-report"],
            ["compare-positions"],
            ["workbook", "build", "--day", DAY, "--output", str(root / "wb.xlsm")],
            ["button", "refresh-status", "--book", str(root / "wb.xlsm"), "--day", DAY],
            ["cancel-all", "--reason", "secrets drill"],
            ["cancel-all", "--json"],
            ["status", "--date", DAY],
        ]
        env = U.env_with_keys()
        p = subprocess.run(
            [U.PY, "-c", DRIVER, json.dumps(day)], cwd=str(root), env=env, capture_output=True, text=True, timeout=240
        )
        orders_at_broker = len(fake.orders)
    rcs = json.loads(p.stdout.strip().splitlines()[-1][4:]) if "RCS " in p.stdout else []
    # also the real console entry point, twice
    q = U.xlexec(["status", "--date", DAY, "--json"], cwd=root, env=env)
    output = p.stdout + p.stderr + q.stdout + q.stderr

    hits, scanned = [], 0
    for f in sorted(root.rglob("*")):
        if not f.is_file():
            continue
        scanned += 1
        raw = f.read_bytes()
        hits += _hits(raw, str(f.relative_to(root)))
        if f.suffix in (".xlsx", ".xlsm"):
            hits += _hits(U.unzip_text(f), f"{f.relative_to(root)} (unzipped)")
    hits += _hits(output, "captured output")
    observe(
        "secrets",
        files_scanned=scanned,
        output_chars=len(output),
        commands=len(day) + 1,
        needles=len(NEEDLES),
        leaks=len(hits),
        hits=hits[:10],
        exit_codes=rcs,
        orders_at_broker=orders_at_broker,
    )

    assert "Traceback" not in output, output[-3000:]
    assert len(rcs) == len(day), p.stderr[-3000:]
    assert orders_at_broker == 8, (rcs, p.stderr[-2000:])  # the day really traded
    assert (root / "wb.xlsm").exists() and (live / DAY / "broker_fills.csv").exists()
    assert "***" in output or "authentication" in output or "rejected" in output
    assert hits == []


LITERALS = [
    ("execution.alpaca.api_key", "execution:\n  alpaca:\n    api_key: {v}\n    api_secret: ${{S}}\n"),
    ("execution.alpaca.api_secret", "execution:\n  alpaca:\n    api_key: ${{K}}\n    api_secret: {v}\n"),
    ("execution.alpaca.api_key", "execution:\n  alpaca:\n    api_key: PK${{K}}{v}\n"),
    ("execution.td.refresh_token", "execution:\n  td:\n    refresh_token: {v}\n"),
]


@pytest.mark.parametrize("key,text", LITERALS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(LITERALS)])
def test_config_refuses_a_literal_key(tmp_path, observe, key, text):
    from xlexec.config import load_config
    from xlexec.errors import ConfigError

    cfg = tmp_path / "config.yaml"
    cfg.write_text("live_dir: live\n" + text.format(v=U.SECRET))
    with pytest.raises(ConfigError) as e:
        load_config(cfg, cwd=tmp_path)
    msg = str(e.value)
    trades = tmp_path / "trades.csv"
    trades.write_text(U.trades_text(DAY, 2))
    rc, out, err = U.cli(["submit", str(trades)], cwd=tmp_path)
    observe("secrets", config_literal=key, refused=True, leaks=len(_hits(msg + out + err, "message")))
    assert key in msg and "${" in msg and "ENV" in msg
    assert U.SECRET not in msg and U.SECRET[:16] not in msg
    assert rc == 2 and len(err.strip().splitlines()) == 1 and U.SECRET not in out + err
