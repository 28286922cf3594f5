"""The ``xlwings.conf`` tab: the keys xlexec writes, and the operator's settings kept on a press.

How xlwings reads the tab (its VBA, ``GetConfigFromSheet`` / ``GetConfig`` in ``xlwings.bas``):
column A from A1 down to the first blank cell, each key upper-cased and looked up exactly,
the value in column B. So ``UDF Modules`` (xlwings' spelling) is found as ``UDF MODULES``,
``UDF_MODULES`` is not; a row with a blank value *is* found and returns "" (it hides the same
key in the folder's or the user's ``xlwings.conf`` file, e.g. the interpreter the operator set
in the xlwings ribbon); a key twice in the block stops xlwings with "key already exists".

So xlexec writes only keys with a value (:data:`XLWINGS_CONF`), in xlwings' spelling, and a
re-render (every headless press) starts from the tab's rows as read (:func:`merge_conf`):

* rows the operator added or changed are kept, in their order, blank rows included;
* keys of :data:`XLWINGS_CONF_OWNED` are xlexec's: ``UDF Modules`` always lists
  ``xlexec.excel.udfs`` (the operator's other modules kept, ``;``-separated as xlwings splits them);
* the other keys of :data:`XLWINGS_CONF` are defaults, written only when the key is absent;
* a missing key goes at the end of the block xlwings reads (before the first blank row);
* rows a build before this one wrote with their default values (``INTERPRETER_WIN`` blank,
  ``UDF_MODULES``... see :data:`LEGACY_ROWS`) are dropped: xlwings ignored the misspelt ones
  and the blank ones hid the operator's own settings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from xlexec.excel.layout import XLWINGS_CONF

#: the module with the worksheet functions (xlwings imports it with Import Functions)
UDF_MODULE = dict(XLWINGS_CONF)["UDF Modules"]
#: xlexec's own keys (xlwings ignores keys it does not ask for): none since the config path moved
#: to the defined name ``xlexec_config`` (:mod:`xlexec.excel.bookconfig`)
XLEXEC_KEYS: frozenset[str] = frozenset()
#: the xlwings settings the tab's help names for the operator (xlwings' spelling)
OPERATOR_KEYS = ("Interpreter_Win", "Interpreter_Mac", "PYTHONPATH", "Conda Path", "Conda Env", "Show Console")
#: rows earlier builds wrote (key upper-cased -> the value they wrote): dropped when unchanged
LEGACY_ROWS = {
    "INTERPRETER_WIN": "",
    "INTERPRETER_MAC": "",
    "PYTHONPATH": "",
    "UDF_MODULES": UDF_MODULE,
    "DEBUG_UDFS": "False",
    "USE_UDF_SERVER": "False",
    "SHOW_CONSOLE": "False",
    "XLEXEC_CONFIG": "config.yaml",  # never read: the book's config is its defined name xlexec_config
}

Row = tuple[Any, Any] | None  # (key, value) of columns A:B, None for a blank key cell


def conf_key(key: Any) -> str:
    """A key as xlwings looks it up: upper-cased (and, as typed cells may carry them, stripped)."""
    return str(key).strip().upper()


def _text(v: Any) -> str:
    return "" if v is None else str(v)


def _udf_modules(value: Any) -> str:
    """``value`` with :data:`UDF_MODULE` in its ``;``-separated list (first when added)."""
    mods = [m.strip() for m in _text(value).split(";") if m.strip()]
    return ";".join(mods if UDF_MODULE in mods else [UDF_MODULE, *mods])


#: keys (upper-cased) xlexec keeps up to date on every press -> how; the rest are defaults
XLWINGS_CONF_OWNED: dict[str, Callable[[Any], str]] = {"UDF MODULES": _udf_modules}


def merge_conf(existing: Sequence[Row] | None) -> list[Row]:
    """The rows to write from A1 down, given the rows read from the tab (``None``: a new book).

    See the module docstring for the rules; the result has no trailing blank rows."""
    if existing is None:
        return list(XLWINGS_CONF)
    rows = [r for r in existing if not (r is not None and _text(r[1]).strip() == LEGACY_ROWS.get(conf_key(r[0])))]
    while rows and rows[-1] is None:
        rows.pop()
    end = next((i for i, r in enumerate(rows) if r is None), len(rows))
    active = {conf_key(r[0]): i for i, r in enumerate(rows[:end]) if r is not None}
    missing: list[Row] = []
    for key, value in XLWINGS_CONF:
        i = active.get(key.upper())
        if i is None:
            missing.append((key, value))
        elif key.upper() in XLWINGS_CONF_OWNED:
            row = rows[i]
            assert row is not None
            rows[i] = (row[0], XLWINGS_CONF_OWNED[key.upper()](row[1]))
    return rows[:end] + missing + rows[end:]
