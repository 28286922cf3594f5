"""A button press on a workbook file (``python -m xlexec button NAME --book FILE``) imports only
what its path needs: no order-sending step (``xlexec.steps.execution``, the broker adapters),
no Flex XML parser (``defusedxml`` brings ``urllib.request``, ``http.client`` and ``ssl``), no
charting or other workbook library. Each press runs in a fresh process, as Excel's RunPython
and the benchmark do, and reports every module it imported on its way out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# ``python -m xlexec ARGS`` that, on its way out, writes the names of every module it imported
MODULES_AT_EXIT = (
    "import atexit, json, runpy, sys; "
    "atexit.register(lambda: sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules)))); "
    "sys.argv = ['xlexec', *sys.argv[1:]]; runpy.run_module('xlexec', run_name='__main__')"
)

DAY = "2025-10-30"
NOW = "2025-10-30T20:10:00Z"  # after the close, as the benchmark presses
NOT_ON_A_PRESS = {"defusedxml", "ssl", "http", "openpyxl", "matplotlib", "exchange_calendars", "alpaca", "xlwings"}


def _env(root: Path) -> dict[str, str]:
    env = dict(os.environ, XLWINGS_LICENSE_KEY="noncommercial", XLEXEC_CACHE_DIR=str(root / "cache"))
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _press(name: str, book: Path, cfg: Path) -> tuple[subprocess.CompletedProcess, set[str]]:
    p = subprocess.run(
        [sys.executable, "-c", MODULES_AT_EXIT, "button", name, "--book", str(book), "--config", str(cfg)],
        capture_output=True,
        text=True,
        env=dict(_env(book.parent.parent), XLEXEC_NOW=NOW),
        cwd=book.parent,
        timeout=300,
    )
    line = [ln for ln in p.stderr.splitlines() if ln.startswith("MODULES ")][-1]
    return p, set(json.loads(line.removeprefix("MODULES ")))


@pytest.fixture(scope="module")
def day_book(tmp_path_factory) -> tuple[Path, Path]:
    """A one-day demo (trades, fills, the book), as the benchmark builds its 15 days."""
    root = tmp_path_factory.mktemp("press-lazy")
    demo = root / "demo"
    cmd = [sys.executable, "-m", "xlexec", "demo", "--dir", str(demo), "--date", DAY, "--days", "1"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=_env(root), cwd=root, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    return demo / f"xlexec_{DAY}.xlsm", demo / "config.yaml"


@pytest.mark.parametrize("name", ["validate", "reconcile", "tca"])
def test_a_press_imports_neither_the_order_steps_nor_the_xml_parser(day_book, name):
    book, cfg = day_book
    p, mods = _press(name, book, cfg)
    assert p.returncode == 0, p.stderr[-2000:]
    assert f"xlexec.steps.{name}" in mods  # the import log is real: the press ran its step
    assert "pandas" in mods and "xlsxwriter" in mods  # and drew the book
    assert sorted(m for m in mods if m.split(".")[0] in NOT_ON_A_PRESS) == []
    adapters = [f"xlexec.execution.brokers.{b}" for b in ("alpaca", "schwab", "ibkr", "paper")]
    assert sorted(m for m in mods if m.startswith("xlexec.steps.execution") or m in adapters) == []
    assert "xlexec.steps.convert" not in mods


def _help_modules(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, set[str]]:
    p = subprocess.run(
        [sys.executable, "-c", MODULES_AT_EXIT, *args, "--help"],
        capture_output=True,
        text=True,
        env=_env(cwd),
        cwd=cwd,
        timeout=120,
    )
    line = [ln for ln in p.stderr.splitlines() if ln.startswith("MODULES ")][-1]
    return p, set(json.loads(line.removeprefix("MODULES ")))


# every command and subcommand whose help is printed from its area's parser alone: its step
# module (and every other command's) is imported only when the command runs
HELP_PAGES = [
    [],
    ["validate"],
    ["approve"],
    ["submit"],
    ["status"],
    ["cancel-all"],
    ["pnl"],
    ["orders", "resolve"],
    ["reconcile"],
    ["import-fills"],
    ["fills"],
    ["tca"],
    ["monthly"],
    ["workbook", "build"],
    ["button"],
    ["journal", "verify"],
    ["policy", "show"],
    ["demo"],
    ["addin"],
]


@pytest.mark.parametrize("args", HELP_PAGES, ids=lambda a: "_".join(a) or "xlexec")
def test_a_help_page_imports_no_step_and_no_pandas(tmp_path, args):
    p, mods = _help_modules(args, tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.startswith("usage: xlexec")
    assert "xlexec.cli.app" in mods  # the import log is real
    assert sorted(m for m in mods if m.startswith("xlexec.steps")) == []
    assert sorted(m for m in mods if m.split(".")[0] in {"pandas", "numpy", "pydantic", "xlsxwriter"}) == []


def test_convert_help_imports_the_upload_formats_but_no_step(tmp_path):
    """``convert --help`` lists the broker formats (:data:`xlexec.formats.upload.FORMATS`), and
    still imports no step: ``xlexec.steps.convert`` is imported when ``convert`` runs."""
    p, mods = _help_modules(["convert"], tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "xlexec.formats.upload" in mods and "ibkr" in p.stdout
    assert sorted(m for m in mods if m.startswith("xlexec.steps")) == []


def test_the_button_names_of_button_help_are_the_workbook_buttons(tmp_path):
    """``button --help`` names the buttons from the light layout table, the same list the built
    workbook draws (:data:`xlexec.excel.build.BUTTONS`), without importing the book builder."""
    from xlexec.excel.build import BUTTONS

    p, mods = _help_modules(["button"], tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "xlexec.excel.build" not in mods and "xlexec.excel.buttons" not in mods
    names = ", ".join(fn.replace("_", "-") for _c, fn, _s in BUTTONS)
    assert "one of: " + names in " ".join(p.stdout.split())
