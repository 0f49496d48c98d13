"""A savepoint never commits on its own: the processed-event mark commits with what it marks."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.artifacts.store import claim_event
from bot.db import session_scope
from bot.models import ProcessedEvent


class Crash(Exception):
    pass


def _marked(engine: Engine, event_id: str) -> bool:
    with Session(engine) as s:
        return s.scalars(select(ProcessedEvent).where(ProcessedEvent.event_id == event_id)).first() is not None


def test_a_unit_of_work_that_fails_after_claiming_an_event_leaves_no_mark(engine: Engine) -> None:
    # Before: on SQLite the SAVEPOINT opened the transaction itself (pysqlite emits BEGIN only before
    # DML), so its RELEASE committed the mark; the reply's artifact, written after it, was then lost
    # by a crash while every retry of the event was refused as already handled.
    with pytest.raises(Crash), session_scope(engine) as s:
        assert claim_event(s, "Ev-crash") is True
        raise Crash
    assert not _marked(engine, "Ev-crash")
    with session_scope(engine) as s:
        assert claim_event(s, "Ev-crash") is True  # the retry is handled
    assert _marked(engine, "Ev-crash")
    with session_scope(engine) as s:
        assert claim_event(s, "Ev-crash") is False  # and only once


def test_two_savepoints_in_one_unit_of_work_commit_together(engine: Engine) -> None:
    with pytest.raises(Crash), session_scope(engine) as s:
        claim_event(s, "Ev-a")
        claim_event(s, "Ev-b")
        raise Crash
    assert not _marked(engine, "Ev-a") and not _marked(engine, "Ev-b")
