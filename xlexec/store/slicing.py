"""The day's slicing plan, read from the day's inputs: the one recipe ``convert --slice`` and
``submit --slice`` share.

:func:`plan_day` reads ``<live_dir>/reference.csv`` (only when today's orders are to be sliced
afresh) and hands the frame to the pure :func:`xlexec.core.slicing.plan_slices`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from xlexec.core.slicing import SlicePlan, plan_slices, recorded_parents
from xlexec.errors import InputError
from xlexec.formats.inputs import read_reference


def plan_day(
    orders: pd.DataFrame,
    *,
    day: str,
    batch_sha256: str,
    prior: Iterable[dict[str, Any]],
    max_adv_pct: float,
    live_dir: str | Path,
    slice_new: bool = True,
    sent_whole: Iterable[str] = (),
) -> SlicePlan:
    """The day's slicing plan as ``convert --slice`` and ``submit --slice`` both use it.

    :func:`plan_slices` with the reference file ``<live_dir>/reference.csv`` read only when today's
    orders are to be sliced afresh (``slice_new`` and no schedule of this batch recorded yet);
    then a missing file is an :class:`InputError`. The only file this reads; nothing is written
    (the caller journals ``plan.records``, kind SLICE, unless a draft).
    """
    prior = list(prior)
    ref = None
    ref_path = Path(live_dir) / "reference.csv"
    if slice_new and not recorded_parents(prior, day, batch_sha256):
        if not ref_path.exists():
            raise InputError(str(ref_path), "--slice needs the reference file (symbol,sector,adv_shares)")
        ref = read_reference(ref_path)
    return plan_slices(
        orders,
        ref,
        max_adv_pct,
        day=day,
        batch_sha256=batch_sha256,
        prior=prior,
        slice_new=slice_new,
        reference_name=str(ref_path),
        sent_whole=sent_whole,
    )
