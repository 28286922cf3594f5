"""A button press on a workbook file reads the day and collects the view model once: the book it
writes is drawn from the pass that showed the result. Counted with a profiler hook on the real
functions (nothing replaced), for the presses of the issue (validate, reconcile, tca)."""

from __future__ import annotations

import sys
from collections import Counter

import pytest

from test_buttons_file import CLOSE, DAY, MORNING, press, setup_day
from xlexec.excel import viewmodel
from xlexec.excel.build import build_workbook

WATCHED = {viewmodel.collect.__code__: "collect", viewmodel.read_sources.__code__: "read_sources"}


def _counted(fn):
    calls: Counter[str] = Counter()

    def hook(frame, event, arg):
        if event == "call" and frame.f_code in WATCHED:
            calls[WATCHED[frame.f_code]] += 1

    old = sys.getprofile()
    sys.setprofile(hook)
    try:
        result = fn()
    finally:
        sys.setprofile(old)
    return result, calls


@pytest.mark.parametrize(
    "steps",
    [
        [("load_trades", MORNING), ("validate", MORNING)],
        [
            ("load_trades", MORNING),
            ("validate", MORNING),
            ("approve", MORNING),
            ("submit", MORNING),
            ("import_fills", CLOSE),
            ("reconcile", CLOSE),
            ("tca", CLOSE),
        ],
    ],
    ids=["validate", "through-tca"],
)
def test_each_press_collects_the_view_model_once(tmp_path, steps):
    cfg = setup_day(tmp_path)
    book = tmp_path / "book.xlsm"
    build_workbook(book, config=cfg)
    for name, when in steps:
        kw: dict = {"day": DAY} if name == "load_trades" else {}
        if name == "approve":
            kw["set_inputs"] = {"approver": "pm", "reason": "ok"}
        res, calls = _counted(lambda name=name, when=when, kw=kw: press(name, book, cfg, when, **kw))
        assert res.ok, (name, res.message)
        assert calls == Counter(collect=1, read_sources=1), name
