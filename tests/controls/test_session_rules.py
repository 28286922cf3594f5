"""The pure rules of today's session (:mod:`xlexec.core.session`) and the per-account,
per-session intent filter (:func:`xlexec.execution.session.session_intents`). Expected values
are written out by hand from the NYSE calendar (2025-10-30 a Thursday session, 2025-11-01 a
Saturday, 2025-12-25 Christmas, 2025-11-28 the day after Thanksgiving, a half day)."""

from __future__ import annotations

import datetime as dt

import pytest

from xlexec.core.session import approval_refusal, file_day_refusal, ny_date, session_on
from xlexec.execution.session import session_intents
from xlexec.store.journal import Event


@pytest.mark.parametrize(
    ("utc", "session"),
    [
        ("2025-10-30T12:00:00+00:00", "2025-10-30"),  # 08:00 New York, before the open: today's
        ("2025-10-30T14:05:00+00:00", "2025-10-30"),  # in progress
        ("2025-10-30T21:30:00+00:00", "2025-10-30"),  # 17:30 New York, after the close: still today's
        ("2025-10-31T03:30:00+00:00", "2025-10-30"),  # 23:30 New York on Thursday (Friday in UTC)
        ("2025-10-31T04:30:00+00:00", "2025-10-31"),  # 00:30 New York on Friday
        ("2025-11-01T15:00:00+00:00", None),  # Saturday
        ("2025-12-25T15:00:00+00:00", None),  # Christmas
        ("2025-11-28T19:00:00+00:00", "2025-11-28"),  # half day, after its 13:00 close
        ("2025-10-30T14:05:00", "2025-10-30"),  # naive means UTC
    ],
)
def test_session_on(utc, session):
    assert session_on(dt.datetime.fromisoformat(utc)) == session


def test_session_on_outside_the_calendar_is_none():
    assert session_on(dt.datetime(1985, 1, 2, 15, tzinfo=dt.UTC)) is None


def test_ny_date_crosses_midnight_in_new_york_not_utc():
    assert ny_date(dt.datetime(2025, 10, 31, 3, 59, tzinfo=dt.UTC)) == "2025-10-30"
    assert ny_date(dt.datetime(2025, 10, 31, 4, 0, tzinfo=dt.UTC)) == "2025-10-31"


def test_file_day_refusal():
    assert file_day_refusal("2025-10-30", "2025-10-30", what="sent") is None
    line = file_day_refusal("2025-10-29", "2025-10-30", what="sent")
    assert line == (
        "the trades file is dated 2025-10-29 but today's session is 2025-10-30: "
        "a file can only be sent on the session it is for"
    )
    line = file_day_refusal("2025-11-03", None, what="converted")
    assert line is not None and "dated 2025-11-03 but there is no trading session today" in line
    assert "converted" in line


def test_approval_refusal_same_new_york_date_only():
    who = "the approval #1 by jane"
    # 09:40 New York on the day: valid
    assert approval_refusal(dt.datetime(2025, 10, 30, 13, 40, tzinfo=dt.UTC), "2025-10-30", who=who) is None
    # the evening before (21:00 New York on Wednesday = 01:00 UTC on Thursday): another session
    line = approval_refusal(dt.datetime(2025, 10, 30, 1, 0, tzinfo=dt.UTC), "2025-10-30", who=who)
    assert line is not None
    assert line.startswith("the approval #1 by jane was given on 2025-10-29 (New York), not on 2025-10-30")
    # a week earlier
    line = approval_refusal(dt.datetime(2025, 10, 23, 14, 0, tzinfo=dt.UTC), "2025-10-30", who=who)
    assert line is not None and "given on 2025-10-23" in line


def _intent(seq: int, coid: str, day: str, **payload) -> Event:
    body = {"client_order_id": coid, **payload}
    return Event(seq, "2026-01-01T00:00:00+00:00", day, "order_intent", coid, "ops", body)


def test_session_intents_count_the_session_and_the_account_whatever_the_day():
    events = [
        _intent(1, "a", "2025-10-30", session="2025-10-30", account="ACC1"),
        _intent(2, "b", "2025-10-29", session="2025-10-30", account="ACC1"),  # journaled under another day
        _intent(3, "c", "2025-10-30"),  # older intent: no session (its day) and no account (counts for all)
        _intent(4, "d", "2025-10-30", session="2025-10-30", account="ACC2"),  # another account
        _intent(5, "e", "2025-10-29", session="2025-10-29", account="ACC1"),  # another session
        _intent(6, "a", "2025-10-30", session="2025-10-30", account="ACC1", qty=9),  # a repeat: first wins
    ]
    got = session_intents(events, "2025-10-30", "ACC1")
    assert list(got) == ["a", "b", "c"]
    assert "qty" not in got["a"] and got["b"]["_day"] == "2025-10-29"
    assert list(session_intents(events, "2025-10-30", "ACC2")) == ["c", "d"]
    assert list(session_intents(events, "2025-10-29", "ACC1")) == ["e"]
