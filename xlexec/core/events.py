"""The kinds of event ``events.csv`` lists (pure: names only, no file reading).

* Per symbol (a ticker in ``symbol``): ``earnings``, ``ex_dividend``, ``split``, ``merger``
  (corporate events: validation WARNs within ``validation.earnings_window_days`` NYSE sessions
  of the trade date) and ``halt`` (a trading halt: validation FAILs every order in the symbol).
* Market-wide (``symbol`` = ``*`` or empty): the macro days of :data:`MACRO_EVENTS`, ``fomc``
  (an FOMC rate decision), ``cpi`` (the CPI release) and ``nfp`` (the jobs report, non-farm
  payrolls; ``jobs_report`` is read as ``nfp``): validation WARNs on the trade date itself.

A macro kind with a ticker, or a per-symbol kind without one, is refused by the reader.
"""

from __future__ import annotations

MARKET_WIDE = "*"  # the symbol of a market-wide (macro) event

CORPORATE_EVENTS = ("earnings", "ex_dividend", "split", "merger")
HALT = "halt"
SYMBOL_EVENTS = (*CORPORATE_EVENTS, HALT)

#: macro kind -> how a message names it
MACRO_EVENTS = {
    "fomc": "FOMC rate decision",
    "cpi": "CPI release",
    "nfp": "jobs report (non-farm payrolls)",
}

#: other spellings the reader accepts (after lower-casing, ``-``/space -> ``_``)
EVENT_ALIASES = {"jobs_report": "nfp"}

EVENT_KINDS = (*SYMBOL_EVENTS, *MACRO_EVENTS)


def is_macro(kind: str) -> bool:
    """Whether ``kind`` (a normalised event kind) is a market-wide macro event."""
    return kind in MACRO_EVENTS
