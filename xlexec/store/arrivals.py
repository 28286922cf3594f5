"""Arrival prices from the journal: the ``order_intent`` events of a day, as the frame
:func:`xlexec.core.tca.arrivals_from_payloads` makes (arrival_price $, NaN when unknown)."""

from __future__ import annotations

import pandas as pd

from xlexec.core.tca import arrivals_from_payloads
from xlexec.store.journal import INTENT


def arrivals_from_journal(journal, day: str) -> pd.DataFrame:
    """Arrival prices of ``day`` from the journal's ``order_intent`` events (one per order:
    ``client_order_id, symbol, side, qty, order_type, limit_price, price, arrival_price,
    submitted_at``); see :func:`arrivals_from_payloads` for the columns."""
    return arrivals_from_payloads(journal.payloads(INTENT, day))
