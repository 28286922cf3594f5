"""One registry of checks, in order: a decorator adds a class, a run asks each for its rows.

``VALIDATION`` holds the checks of ``xlexec validate``; :mod:`xlexec.execution.guards` keeps
the pre-trade limits of ``xlexec submit`` in a :class:`Registry` of its own (same base, same
decorator). Registering a class checks that its id is set and unique, that it states its rule
(a docstring) and that its policy is one of ``fail``/``warn``/``log``.
"""

from __future__ import annotations

from collections.abc import Iterator

from xlexec.core.checks.base import POLICIES, Check


class Registry:
    """Check classes in registration order, unique by id."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._classes: dict[str, type[Check]] = {}

    def register(self, cls: type[Check]) -> type[Check]:
        """Decorator: add ``cls`` (a :class:`Check` subclass) at the end of the registry."""
        if not (isinstance(cls, type) and issubclass(cls, Check)):
            raise TypeError(f"{self.name}: {cls!r} is not a Check subclass")
        if not cls.id:
            raise ValueError(f"{self.name}: {cls.__name__} has no id")
        if cls.id in self._classes:
            raise ValueError(
                f"{self.name}: check id {cls.id!r} is already registered ({self._classes[cls.id].__name__})"
            )
        if not (cls.__doc__ or "").strip():
            raise ValueError(f"{self.name}: {cls.__name__} ({cls.id}) must state its rule in a docstring")
        if cls.policy not in POLICIES:
            raise ValueError(f"{self.name}: {cls.__name__} policy {cls.policy!r} not in {POLICIES}")
        self._classes[cls.id] = cls
        return cls

    def copy(self, name: str | None = None) -> Registry:
        """A registry with the same checks (to extend without touching this one)."""
        out = Registry(name or self.name)
        out._classes = dict(self._classes)
        return out

    def ids(self) -> list[str]:
        """The check ids, in order."""
        return list(self._classes)

    def classes(self) -> list[type[Check]]:
        return list(self._classes.values())

    def checks(self) -> list[Check]:
        """One instance of every check, in order (each with its class's policy)."""
        return [cls() for cls in self._classes.values()]

    def __getitem__(self, check_id: str) -> type[Check]:
        return self._classes[check_id]

    def __contains__(self, check_id: object) -> bool:
        return check_id in self._classes

    def __iter__(self) -> Iterator[type[Check]]:
        return iter(self.classes())

    def __len__(self) -> int:
        return len(self._classes)


VALIDATION = Registry("validation")
register = VALIDATION.register
