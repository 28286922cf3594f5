"""The workbook face and the VBA library as modules: each imports on its own, none is part of
an import cycle (every import counted, those inside functions too), and ``xlexec.vba`` uses
nothing of xlexec but ``xlexec.errors``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "xlexec"


def _modules(folder: str) -> list[str]:
    return sorted(f"xlexec.{folder}.{p.stem}" for p in (PKG / folder).glob("*.py") if p.stem != "__init__")


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names; ``from a import b`` gives ``a`` and ``a.b``)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = path.parent.relative_to(PKG.parent).parts
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ((node.module,) if node.module else ()))
            else:
                mod = node.module or ""
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}
    return out


def _graph(folder: str) -> dict[str, set[str]]:
    mods = set(_modules(folder))
    return {
        m: {t for t in _imports(PKG / folder / (m.rsplit(".", 1)[1] + ".py")) if t in mods and t != m} for m in mods
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (module -> modules it imports), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                return stack[stack.index(t) :] + [t]
            if t not in state:
                found = visit(t)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


@pytest.mark.parametrize("folder", ["excel", "vba"])
def test_no_import_cycle(folder):
    cycle = find_cycle(_graph(folder))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_view_modules_are_layered():
    """The order of the workbook's modules: each imports only modules before it."""
    order = [
        "layout",
        "macros",
        "sources",
        "modes",
        "reader",
        "blotter",
        "journal_view",
        "quotes_tab",
        "viewmodel",
        "writer",
        "build",
        "render",
        "book",
    ]
    g = _graph("excel")
    for i, name in enumerate(order):
        later = {f"xlexec.excel.{n}" for n in order[i:]}
        assert not (g[f"xlexec.excel.{name}"] & later), f"{name} imports {g[f'xlexec.excel.{name}'] & later}"


@pytest.mark.parametrize("module", _modules("excel") + _modules("vba"))
def test_each_module_imports_alone(module):
    r = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=PKG.parent,
    )
    assert r.returncode == 0, r.stderr[-2000:]


def test_vba_uses_nothing_of_xlexec_but_errors():
    for m in _modules("vba") + ["xlexec.vba.__init__"]:
        path = PKG / "vba" / (m.rsplit(".", 1)[1] + ".py")
        ours = {t for t in _imports(path) if t.split(".")[0] == "xlexec"}
        assert all(t == "xlexec.errors" or t.startswith(("xlexec.errors.", "xlexec.vba")) for t in ours), (m, ours)
