"""The ``xlwings.conf`` tab, read against the installed xlwings' own VBA.

xlwings' VBA (``xlwings.bas``, ``GetConfigFromSheet``/``GetConfig``) reads column A from A1
down to the first blank cell, upper-cases each key and looks it up exactly with
``GetConfig("UDF MODULES")`` etc. Checked here: every xlwings key the build writes or the tab's
help names is one of the keys that VBA asks for (parsed out of the installed package's file);
no row has a blank value (it would hide the operator's own setting); the operator's settings
survive every headless press (``xlexec button NAME --book FILE``, run as the CLI from a folder
that is not the book's).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from tests import cli_fork
from tests.test_buttons_file import CLOSE, DAY, DEMO_DAY, MORNING, setup_day
from xlexec.excel.layout import XLWINGS_CONF, XLWINGS_CONF_HELP
from xlexec.excel.xlwings_conf import OPERATOR_KEYS, XLEXEC_KEYS, merge_conf

ROOT = Path(__file__).resolve().parents[1]


def xlwings_vba_keys() -> set[str]:
    """Every key the installed xlwings' VBA module asks ``GetConfig`` for."""
    import xlwings

    src = (Path(xlwings.__file__).parent / "xlwings.bas").read_bytes().decode("cp1252")
    return set(re.findall(r'GetConfig\("([^"]+)"', src))


def conf_rows(book: Path) -> list[tuple]:
    ws = openpyxl.load_workbook(book, keep_vba=True)["xlwings.conf"]
    return [(r[0], r[1]) for r in ws.iter_rows(min_row=1, max_col=2, values_only=True)]


def xlwings_block(rows: list[tuple]) -> dict[str, object]:
    """What xlwings reads: A1 down to the first blank key, keys upper-cased."""
    out: dict[str, object] = {}
    for key, value in rows:
        if key is None or key == "":
            break
        assert str(key).upper() not in out, f"{key!r} twice: xlwings stops with 'key already exists'"
        out[str(key).upper()] = value
    return out


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_parsed_xlwings_keys_are_the_ones_its_vba_reads():
    keys = xlwings_vba_keys()
    # hand-checked against xlwings 0.37.8's xlwings.bas: spaces, not underscores, in these four
    assert {"UDF MODULES", "USE UDF SERVER", "SHOW CONSOLE", "DEBUG UDFS"} <= keys
    assert {"INTERPRETER_WIN", "INTERPRETER_MAC", "PYTHONPATH", "CONDA PATH", "CONDA ENV"} <= keys
    assert not {"UDF_MODULES", "USE_UDF_SERVER", "SHOW_CONSOLE", "DEBUG_UDFS"} & keys


def test_every_key_written_or_advertised_is_one_xlwings_reads(tmp_path):
    cfg = setup_day(tmp_path / "day")
    book = tmp_path / "book" / "xlexec.xlsm"
    p = run_cli("workbook", "build", "--config", str(cfg), "--output", str(book), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    keys = xlwings_vba_keys()
    rows = conf_rows(book)
    written = [k for k, _v in rows if k]
    assert written == ["UDF Modules"]
    for key in written:
        assert key in XLEXEC_KEYS or key.upper() in keys, key
    for key in OPERATOR_KEYS:
        assert key.upper() in keys, key
        assert any(key in line for line in XLWINGS_CONF_HELP), key
    # xlexec's own keys cannot collide with one xlwings reads
    assert not {k.upper() for k in XLEXEC_KEYS} & keys
    # no key without a value: a blank row would hide the folder's / user's xlwings.conf
    assert all(v not in (None, "") for k, v in rows if k)
    assert xlwings_block(rows) == {"UDF MODULES": "xlexec.excel.udfs"}
    # the README the operator reads names keys in xlwings' spelling only
    readme = (ROOT / "workbook" / "README.md").read_text(encoding="utf-8")
    assert "UDF_MODULES" not in readme and "INTERPRETER_MAC" not in readme


def test_merge_by_hand():
    # a book built before this fix: its default rows go, the operator's interpreter stays
    old = [
        ("INTERPRETER_WIN", r"C:\py\python.exe"),
        ("INTERPRETER_MAC", None),
        ("PYTHONPATH", None),
        ("UDF_MODULES", "xlexec.excel.udfs"),
        ("DEBUG_UDFS", "False"),
        ("USE_UDF_SERVER", "False"),
        ("SHOW_CONSOLE", "False"),
        ("XLEXEC_CONFIG", "../cfg/config.yaml"),
    ]
    assert merge_conf(old) == [
        ("INTERPRETER_WIN", r"C:\py\python.exe"),
        ("XLEXEC_CONFIG", "../cfg/config.yaml"),
        ("UDF Modules", "xlexec.excel.udfs"),
    ]
    # owned key kept in the operator's spelling, their modules kept; rows after a blank stay after it
    mine = [("udf modules", "mymod; other"), ("Show Console", True), None, ("Note", "below the block")]
    assert merge_conf(mine) == [
        ("udf modules", "xlexec.excel.udfs;mymod;other"),
        ("Show Console", True),
        None,
        ("Note", "below the block"),
    ]
    assert merge_conf(None) == list(XLWINGS_CONF)
    assert merge_conf(merge_conf(mine)) == merge_conf(mine)  # a second press changes nothing


OPERATOR_ROWS = [
    ("Interpreter_Win", r"C:\xlexec\.venv\Scripts\python.exe"),
    ("Conda Env", "trading"),
    ("Show Console", True),
]


@pytest.mark.slow
def test_operator_settings_survive_every_press(tmp_path):
    cfg = setup_day(tmp_path / "day")
    book = tmp_path / "book" / "xlexec.xlsm"
    run = tmp_path / "elsewhere"
    run.mkdir()
    p = run_cli("workbook", "build", "--config", str(cfg), "--output", str(book), cwd=run)
    assert p.returncode == 0, p.stderr
    wb = openpyxl.load_workbook(book, keep_vba=True)
    ws = wb["xlwings.conf"]
    ws["B1"] = "xlexec.excel.udfs;my_udfs"  # the operator adds their own UDF module
    for i, (k, v) in enumerate(OPERATOR_ROWS, start=2):
        ws.cell(i, 1, k)
        ws.cell(i, 2, v)
    wb.save(book)
    expected = {
        "UDF MODULES": "xlexec.excel.udfs;my_udfs",
        "INTERPRETER_WIN": r"C:\xlexec\.venv\Scripts\python.exe",
        "CONDA ENV": "trading",
        "SHOW CONSOLE": True,
    }
    assert xlwings_block(conf_rows(book)) == expected
    sets = {"approve": ["approver=demo", "decision=CONDITIONAL", "reason=demo day: validation says CONDITIONAL"]}
    redrawn = 0
    for name in [*DEMO_DAY, "cancel_all"]:
        when = MORNING if name in ("load_trades", "validate", "approve", "convert", "submit") else CLOSE
        before = book.read_bytes()
        args = ["button", name.replace("_", "-"), "--config", str(cfg), "--book", str(book)]
        args += ["--day", DAY] if name == "load_trades" else []
        args += [a for s in sets.get(name, []) for a in ("--set", s)]
        p = cli_fork.run(
            [sys.executable, "-m", "xlexec", *args],
            cwd=run,
            env=dict(
                os.environ,
                PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                XLEXEC_NOW=when.isoformat(),
                XLWINGS_LICENSE_KEY=os.environ.get("XLWINGS_LICENSE_KEY", "noncommercial"),
            ),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert p.returncode == 0, (name, p.stderr[-2000:])
        redrawn += book.read_bytes() != before
        assert xlwings_block(conf_rows(book)) == expected, name
    assert redrawn == len(DEMO_DAY) + 1  # every press re-rendered the file
