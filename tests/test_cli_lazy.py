"""The lazy CLI: ``xlexec --help`` imports no area, no step and no pandas, ``xlexec COMMAND``
imports only COMMAND's area, and every help page is the one main printed before areas were
loaded on demand (``tests/golden/cli_help/``, saved from ``python -m xlexec ... --help`` with
COLUMNS=100 before the change)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xlexec.cli import app

GOLDEN = Path(__file__).resolve().parent / "golden" / "cli_help"
REPO = Path(__file__).resolve().parent.parent
AREA_MODULES = [
    "validate",
    "convert",
    "execution",
    "reconcile",
    "tca",
    "workbook",
    "addin",
    "demo",
    "journal",
    "policy",
    "orders",
]


def _env() -> dict[str, str]:
    env = dict(os.environ, COLUMNS="100", XLWINGS_LICENSE_KEY="noncommercial")
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


# ``python -m xlexec ARGS`` that, on its way out, writes the names of every module it imported
MODULES_AT_EXIT = (
    "import atexit, json, runpy, sys; "
    "atexit.register(lambda: sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules)))); "
    "sys.argv = ['xlexec', *sys.argv[1:]]; runpy.run_module('xlexec', run_name='__main__')"
)


def _imported(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, set[str]]:
    p = subprocess.run(
        [sys.executable, "-c", MODULES_AT_EXIT, *args], capture_output=True, text=True, env=_env(), cwd=cwd, timeout=120
    )
    line = [ln for ln in p.stderr.splitlines() if ln.startswith("MODULES ")][-1]
    return p, set(json.loads(line.removeprefix("MODULES ")))


def test_top_level_help_is_the_golden_and_imports_no_area_and_no_pandas(tmp_path):
    p, mods = _imported(["--help"], tmp_path)
    assert p.returncode == 0
    assert p.stdout == (GOLDEN / "xlexec.txt").read_text()
    assert "xlexec.cli.app" in mods  # the import log is real
    heavy = sorted(m for m in mods if m.split(".")[0] in {"pandas", "numpy", "openpyxl", "xlsxwriter", "yaml"})
    assert heavy == []
    assert sorted(m for m in mods if m.startswith(("xlexec.steps", "xlexec.core", "xlexec.excel"))) == []
    assert [m for m in mods if m.startswith("xlexec.cli.") and m.split(".")[2] in AREA_MODULES] == []


def test_a_command_imports_only_its_own_area(tmp_path):
    p, mods = _imported(["journal", "--help"], tmp_path)
    assert p.returncode == 0 and p.stdout == (GOLDEN / "journal.txt").read_text()
    areas = sorted(m for m in mods if m.startswith("xlexec.cli.") and m.split(".")[2] in AREA_MODULES)
    assert areas == ["xlexec.cli.journal"]


def test_an_unknown_command_is_refused_naming_the_choices(tmp_path):
    p, mods = _imported(["valdate"], tmp_path)
    assert p.returncode == 2
    assert "invalid choice: 'valdate'" in p.stderr and "'validate', 'approve', 'convert'" in p.stderr
    assert not any(m.startswith("pandas") for m in mods)


@pytest.mark.parametrize("page", sorted(f.stem for f in GOLDEN.glob("*.txt")))
def test_every_help_page_is_unchanged(page, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "100")
    argv = [] if page == "xlexec" else page.split("_")
    with pytest.raises(SystemExit) as e:
        app.main([*argv, "--help"])
    assert e.value.code == 0
    assert capsys.readouterr().out == (GOLDEN / f"{page}.txt").read_text()


def test_the_light_table_lists_what_the_areas_register(monkeypatch):
    """The full parser (every area imported) prints the same command list as the light table."""
    monkeypatch.setenv("COLUMNS", "100")
    assert app.build_parser().format_help() == (GOLDEN / "xlexec.txt").read_text()
    assert app.build_parser(["--help"]).format_help() == (GOLDEN / "xlexec.txt").read_text()
