"""A module imported on first use: the CLI's handlers name their step module at the top
(``steps = lazy("xlexec.steps.validate")``) and it is imported only when a command runs, so
``xlexec COMMAND --help`` imports no step (and, for most commands, not pandas)."""

from __future__ import annotations

import importlib


class lazy:  # noqa: N801 (reads as the import it stands for)
    """``lazy("pkg.mod").name`` is ``pkg.mod.name``, ``pkg.mod`` imported on the first access."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"
