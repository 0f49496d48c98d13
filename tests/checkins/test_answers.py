"""*Nothing this month* (``bot.checkins.answers``) on a real database."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.checkins.answers import skip_month
from bot.config import OrgConfig
from bot.db import session_scope
from bot.errors import InputError
from bot.models import Checkin
from tests import factories as f

ORG = OrgConfig(timezone="UTC")
NOW = f.NOW  # 2026-10-30 20:00 UTC


def _statuses(engine: Engine, person_id: int) -> dict[str, str]:
    with session_scope(engine) as s:
        return {c.period: c.status for c in s.scalars(select(Checkin).where(col(Checkin.person_id) == person_id))}


def test_skip_records_the_buttons_period(engine: Engine):
    pid = f.person(engine, "U1")
    f.checkin(engine, pid, "2026-09", "sent")
    early = dt.datetime(2026, 10, 3, 9, 0, tzinfo=dt.UTC)  # September's window is open: both months answerable
    assert skip_month(engine=engine, org=ORG, person_id=pid, period="2026-10", now=early) == "2026-10"
    assert _statuses(engine, pid) == {"2026-09": "sent", "2026-10": "skipped"}


def test_skip_of_a_closed_month_is_refused_and_changes_nothing(engine: Engine):
    pid = f.person(engine, "U1")
    with pytest.raises(InputError, match="Answers for September 2026 are closed"):
        skip_month(engine=engine, org=ORG, person_id=pid, period="2026-09", now=NOW)
    assert _statuses(engine, pid) == {}


@pytest.mark.parametrize("value", [None, "", "2026-13", "garbage", "2026-10; DROP TABLE checkin"])
def test_a_missing_or_malformed_period_means_the_open_one(engine: Engine, value: str | None):
    pid = f.person(engine, "U1")
    assert skip_month(engine=engine, org=ORG, person_id=pid, period=value, now=NOW) == "2026-10"
    assert _statuses(engine, pid) == {"2026-10": "skipped"}


def test_an_open_checkin_of_last_month_is_the_one_skipped(engine: Engine):
    pid = f.person(engine, "U1")
    f.checkin(engine, pid, "2026-09", "sent")
    early = dt.datetime(2026, 10, 3, 9, 0, tzinfo=dt.UTC)  # before the reply deadline (day 7)
    assert skip_month(engine=engine, org=ORG, person_id=pid, period=None, now=early) == "2026-09"
    assert _statuses(engine, pid) == {"2026-09": "skipped"}


def test_an_answered_checkin_stays_answered(engine: Engine):
    pid = f.person(engine, "U1")
    f.checkin(engine, pid, "2026-10", "answered")
    skip_month(engine=engine, org=ORG, person_id=pid, period="2026-10", now=NOW)
    assert _statuses(engine, pid) == {"2026-10": "answered"}
