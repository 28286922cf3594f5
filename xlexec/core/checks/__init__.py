"""Pre-trade validation: the guide's morning checklist as code, and its decision matrix.

Every check is a small class (:class:`~xlexec.core.checks.base.Check`: a stable ``id``, its
rule and units in the docstring, a ``policy`` fail/warn/log) registered in order in one
registry (:data:`~xlexec.core.checks.registry.VALIDATION`, decorator ``register``); adding a
check is one class in one of these modules:

* ``integrity``: shares_nonpositive, fractional_shares, notional_mismatch, direction
* ``portfolio``: portfolio_value, max_trade_pct, position_pct, sector_pct, position_count, oversell
  (a short FAILs unless ``validation.allow_short``), buy_and_sell (one symbol both bought and sold)
* ``prices``: price_deviation, price_stale, no_quote, spread (bid-ask, bps)
* ``costs``: turnover, total_cost_pct, high_cost_trade, small_trade, cost_estimate
* ``model``: ic, kill_switch, safety_checks, regime (fail closed: only ``Kill Switch: ACTIVE`` and
  ``Safety Checks: PASSED`` pass; any other value or a missing line FAILs)
* ``events``: corporate_event, macro_event (FOMC/CPI/jobs report on the day), halted;
  ``restricted``: restricted (the restricted list, as submit refuses it); ``calendar``:
  market_calendar; ``liquidity``: adv_pct
* ``exclusions``: excluded

:func:`validate` builds one shared context (:mod:`~xlexec.core.checks.context`: the trades to
send, marks, portfolio value, positions before/after, quotes, events, reference, the
:class:`Thresholds`, ``now``) and asks each check for its rows
``check, status (pass|warn|fail), symbol ('' for portfolio-level rows), value, limit, message``.
The decision: **REJECT** if any row fails, **CONDITIONAL** if any warns, else **APPROVE**.
Every check id in :data:`CHECK_IDS` appears at least once (a ``pass`` row when it found
nothing), so a reader can tell "checked, fine" from "never checked".

Pure core: no files, no clock (``now`` is a parameter), no config object (the thresholds are a
frozen dataclass, built from ``config.yaml`` by :func:`xlexec.config.validation_thresholds`),
vectorised over trades.

Conventions
-----------
* Money in $, quantities in shares, ``*_pct``/turnover/weights as fractions (0.10 = 10%).
  ``value`` and ``limit`` of a row are the measured quantity and the threshold it was held to,
  in the same unit.
* What is checked is what will be sent: rows the operator excluded (``include`` = no/false/0/
  excluded) only appear as ``excluded`` rows; where a ``limit_price`` is given, the price checks
  and the notionals use it instead of the signal ``price``.
* Portfolio value: the header's ``# Portfolio Value`` when present, else the current positions
  valued at the quote mid (else last, else the trade price, else ``avg_cost``) plus the cash
  (the journal's last reconciliation ``cash_after``). ``summary['portfolio_value_source']``
  says which (``header``/``positions+cash``/``positions (cash unknown)``/``unknown``); without
  the cash the positions alone are a lower bound and ``portfolio_value`` WARNs.
* Turnover = (buy notional + sell notional) / portfolio value (both sides, as the header's
  ``Portfolio Turnover``). The threshold check uses the included trades at the prices to be
  sent; the header cross-check uses every trade of the file at its signal price (what the
  model described).
* ``adv_pct``: days needed = ceil(shares / (ADV x max_adv_pct)) (the guide's snippet is wrong).
* Corporate events count when their date is within ``earnings_window_days`` NYSE sessions of
  the trade date, either side (``halt`` fails, the others warn); a macro event (``fomc``,
  ``cpi``, ``nfp``; symbol ``*``) warns on the trade date.
* The bid-ask spread is (ask - bid) / mid in bps, mid = (bid + ask) / 2, per traded symbol; a
  symbol whose spread cannot be measured warns.
* Ticker shape is the readers' (:func:`xlexec.core.symbols.symbol_problem`: a name such as
  ``Microsoft Corp`` refuses the file, exit 2), not a check.
"""

from __future__ import annotations

# The check modules, in the order of CHECK_IDS: importing one registers its checks, so this
# order is the order of the rows (and must not be sorted).
# isort: off
from xlexec.core.checks import integrity  # noqa: F401
from xlexec.core.checks import portfolio  # noqa: F401
from xlexec.core.checks import prices  # noqa: F401
from xlexec.core.checks import costs  # noqa: F401
from xlexec.core.checks import model  # noqa: F401
from xlexec.core.checks import events  # noqa: F401
from xlexec.core.checks import restricted  # noqa: F401
from xlexec.core.checks import calendar  # noqa: F401
from xlexec.core.checks import liquidity  # noqa: F401
from xlexec.core.checks import exclusions  # noqa: F401

# isort: on
from xlexec.core.checks.base import CHECK_COLUMNS, POLICIES, STATUSES, Check, Findings
from xlexec.core.checks.context import CheckContext, build_context
from xlexec.core.checks.registry import VALIDATION, Registry, register
from xlexec.core.checks.result import ValidationResult, decide, worst_by_symbol
from xlexec.core.checks.runner import validate
from xlexec.core.checks.thresholds import Thresholds

CHECK_IDS = VALIDATION.ids()

__all__ = [
    "CHECK_COLUMNS",
    "CHECK_IDS",
    "POLICIES",
    "STATUSES",
    "VALIDATION",
    "Check",
    "CheckContext",
    "Findings",
    "Registry",
    "Thresholds",
    "ValidationResult",
    "build_context",
    "decide",
    "register",
    "validate",
    "worst_by_symbol",
]
