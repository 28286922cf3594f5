"""The numbers the checks hold the trades to: a plain frozen dataclass (no config object in core).

Built from ``config.yaml`` by :func:`xlexec.config.validation_thresholds` (the ``validation.*``
keys plus ``costs_bps`` and ``slippage_bps``); the defaults are the guide's and match the
config model's. Units: ``*_pct``/turnover as fractions (0.10 = 10%), ``*_usd`` in $, ``*_bps``
in basis points, ``*_minutes`` in minutes, ``*_days`` in NYSE sessions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    """Limits of the pre-trade checks (see the module docstring for units)."""

    max_trade_pct: float = 0.10  # one trade's notional / portfolio value
    max_position_pct: float = 0.15  # one position after the trades / portfolio value
    max_sector_pct: float = 0.30  # one sector after the trades / portfolio value
    top_k: int = 20  # expected number of positions after the trades
    position_count_tolerance: int = 5  # +/- positions around top_k
    price_warn_pct: float = 0.02  # |price - quote mid| / mid: warn above
    price_fail_pct: float = 0.10  # ... fail above
    quote_stale_minutes: float = 15  # quote age (minutes) before it is stale
    turnover_warn: float = 0.30  # (buys + sells) / portfolio value: warn above
    turnover_fail: float = 0.35  # ... fail above
    turnover_header_tolerance: float = 0.01  # |header turnover - trades' turnover|
    max_cost_pct: float = 0.005  # estimated costs / notional: fail at or above
    high_cost_trade_usd: float = 50.0  # one trade's estimated cost ($): warn above
    min_trade_usd: float = 500.0  # one trade's notional ($): warn below
    notional_tolerance_usd: float = 0.01  # |notional - shares x price| ($)
    cost_tolerance_usd: float = 0.01  # |estimate - expected| ($)
    ic_pass: float = 0.02  # IC above: pass
    ic_fail: float = 0.01  # IC below: fail (between: warn)
    regime_multiplier_min: float = 0.0  # accepted risk multiplier range
    regime_multiplier_max: float = 1.5
    earnings_window_days: int = 1  # NYSE sessions either side of the trade date
    max_adv_pct: float = 0.05  # shares / average daily volume (fraction of ADV a day)
    allow_short: bool = False  # a sale beyond the shares held (a short) passes only when true
    spread_warn_bps: float = 50.0  # quote spread (ask - bid) / mid, bps: warn above
    spread_fail_bps: float = 200.0  # ... fail above
    costs_bps: float = 1.0  # commission estimate, bps of notional
    slippage_bps: float = 2.0  # slippage estimate, bps of notional
