"""The layers, enforced: each package imports only the layers below it, and ``core/`` stays pure.

Read from the source with ``ast`` (every import, including those inside functions), so a
violation anywhere in ``xlexec/`` fails here with the file, the line and the rule it breaks.

Layers, lowest first (a module may import its own package and any lower rank)::

    0  xlexec.errors, xlexec.faults, xlexec.vba     foundations (vba: the MS-OVBA writer, a library)
    1  xlexec.core                                  pure: pandas / dataclasses in and out
    2  xlexec.formats, xlexec.config                file layouts; the config model and loader
    3  xlexec.store                                 journal, day lock, Day
    4  xlexec.execution                             brokers, sending engine, guards, market data
    5  xlexec.steps                                 one function per step of the day
    6  xlexec.excel                                 the workbook face
    7  xlexec.demo                                  the built-in demo (calls steps, builds a workbook)
    8  xlexec.cli                                   the command-line face
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "xlexec"

RANKS = {
    "xlexec.errors": 0,
    "xlexec.faults": 0,
    "xlexec.vba": 0,
    "xlexec.core": 1,
    "xlexec.formats": 2,
    "xlexec.config": 2,
    "xlexec.store": 3,
    "xlexec.execution": 4,
    "xlexec.steps": 5,
    "xlexec.excel": 6,
    "xlexec.demo": 7,
    "xlexec.cli": 8,
}
TOP = {"xlexec", "xlexec.__main__"}  # the package's face: may import anything

# core/ may import none of these (I/O, clock, network, SQLite, Excel, broker, config libraries)
CORE_BANNED = {
    "os",
    "io",
    "pathlib",
    "shutil",
    "tempfile",
    "glob",
    "sqlite3",
    "socket",
    "ssl",
    "http",
    "urllib",
    "requests",
    "subprocess",
    "time",
    "threading",
    "asyncio",
    "fcntl",
    "msvcrt",
    "yaml",
    "pydantic",
    "xlwings",
    "openpyxl",
    "xlsxwriter",
    "python_calamine",
    "alpaca",
    "psycopg",
    "ib_async",
    "schwab",
    "xlexec.faults",
}
CORE_BANNED_CALLS = {
    "open",
    "now",
    "today",
    "utcnow",
    "read_csv",
    "read_excel",
    "read_json",
    "read_text",
    "write_text",
    "read_bytes",
    "write_bytes",
    "to_csv",
    "to_excel",
}
CORE_MAX_FUNCTION_LINES = 60  # longer only with a comment "# long: <why>" on the def line or above


def _module(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _layer(mod: str) -> str | None:
    for name in sorted(RANKS, key=len, reverse=True):
        if mod == name or mod.startswith(name + "."):
            return name
    return None


def _imports(path: Path):
    """(line, absolute module) for every import of the file, relative ones resolved."""
    mod = _module(path)
    pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node.lineno, target
            for a in node.names:  # "from xlexec import core" names a module too
                full = f"{target}.{a.name}"
                if _layer(full) and _layer(full) != _layer(target):
                    yield node.lineno, full


def _files():
    return sorted(p for p in PKG.rglob("*.py"))


def layer_violations() -> list[str]:
    out = []
    for path in _files():
        mod = _module(path)
        if mod in TOP:
            continue
        own = _layer(mod)
        assert own is not None, f"{path}: module {mod} is in no layer; add it to a layer package"
        for line, target in _imports(path):
            if not target.startswith("xlexec"):
                if own == "xlexec.core" and target.split(".")[0] in CORE_BANNED:
                    out.append(f"{path.relative_to(PKG.parent)}:{line}: core imports {target}")
                continue
            if target in TOP:
                if target == "xlexec":
                    continue  # __version__
                out.append(f"{path.relative_to(PKG.parent)}:{line}: imports the package face {target}")
                continue
            other = _layer(target)
            if other is None or other == own:
                continue
            if RANKS[other] >= RANKS[own] or (own == "xlexec.core" and other != "xlexec.errors"):
                out.append(
                    f"{path.relative_to(PKG.parent)}:{line}: {own} (rank {RANKS[own]}) imports "
                    f"{target} (rank {RANKS[other]})"
                )
    return out


def core_purity_violations() -> list[str]:
    out = []
    for path in sorted((PKG / "core").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        lines = path.read_text(encoding="utf-8").splitlines()
        rel = path.relative_to(PKG.parent)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                if name in CORE_BANNED_CALLS:
                    out.append(f"{rel}:{node.lineno}: core calls {name}() (I/O or the clock)")
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
                around = " ".join(lines[max(0, first - 3) : node.lineno])
                if n > CORE_MAX_FUNCTION_LINES and "# long:" not in around:
                    out.append(
                        f"{rel}:{node.lineno}: {node.name} is {n} lines "
                        f"(> {CORE_MAX_FUNCTION_LINES}; split it or say why with '# long:')"
                    )
    return out


def test_every_module_is_in_a_layer_and_imports_only_lower_layers():
    bad = layer_violations()
    assert not bad, "layer violations:\n" + "\n".join(bad)


def test_core_is_pure_and_its_functions_are_short():
    bad = core_purity_violations()
    assert not bad, "core purity violations:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    "snippet, expect",
    [
        ("import sqlite3\n", "core imports sqlite3"),
        ("from xlexec.store.journal import Journal\n", "imports xlexec.store.journal"),
        ("import datetime as dt\nx = dt.datetime.now()\n", "core calls now()"),
    ],
)
def test_the_contract_check_catches_what_it_forbids(tmp_path, monkeypatch, snippet, expect):
    """The checks above can fail: a planted violation in a scratch copy of core/ is reported."""
    fake = tmp_path / "xlexec"
    (fake / "core").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "core" / "__init__.py").write_text("")
    (fake / "core" / "planted.py").write_text(snippet)
    monkeypatch.setattr(__import__(__name__, fromlist=["PKG"]), "PKG", fake)
    found = layer_violations() + core_purity_violations()
    assert any(expect in v for v in found), found


def test_no_test_skips_when_our_own_module_fails_to_import():
    tests = Path(__file__).resolve().parent
    bad = []
    for path in tests.rglob("*.py"):
        if path.name == "test_architecture.py":
            continue
        text = path.read_text(encoding="utf-8")
        if 'importorskip("xlexec' in text or "importorskip('xlexec" in text:
            bad.append(str(path))
    assert not bad, bad
