"""The one rule for the period a surface shows by default: last month until day ``reply_until_day``."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from bot.periods import collecting_period, month_name, reply_deadline

ZONES = ["America/Los_Angeles", "Asia/Tokyo", "UTC"]


def local(tz: str, *args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zoneinfo.ZoneInfo(tz))  # type: ignore[misc]


@pytest.mark.parametrize("tz", ZONES)
def test_the_boundary_is_the_end_of_day_seven_in_the_orgs_zone(tz: str) -> None:
    assert collecting_period(local(tz, 2026, 12, 1, 0, 0), tz) == "2026-11"
    assert collecting_period(local(tz, 2026, 12, 7, 23, 59), tz) == "2026-11"
    assert collecting_period(local(tz, 2026, 12, 8, 0, 0), tz) == "2026-12"
    assert collecting_period(local(tz, 2026, 12, 31, 23, 59), tz) == "2026-12"


@pytest.mark.parametrize("tz", ZONES)
def test_december_is_collected_in_the_first_days_of_january(tz: str) -> None:
    assert collecting_period(local(tz, 2027, 1, 1, 0, 0), tz) == "2026-12"
    assert collecting_period(local(tz, 2027, 1, 7, 23, 59), tz) == "2026-12"
    assert collecting_period(local(tz, 2027, 1, 8, 0, 0), tz) == "2027-01"


def test_the_same_instant_is_a_different_period_in_different_zones() -> None:
    instant = dt.datetime(2026, 12, 7, 20, 0, tzinfo=dt.UTC)  # 8 Dec 05:00 in Tokyo, 7 Dec 12:00 in Los Angeles
    assert collecting_period(instant, "Asia/Tokyo") == "2026-12"
    assert collecting_period(instant, "UTC") == "2026-11"
    assert collecting_period(instant, zoneinfo.ZoneInfo("America/Los_Angeles")) == "2026-11"


@pytest.mark.parametrize("until_day", [1, 3, 7, 28])
def test_it_agrees_with_the_reply_deadline(until_day: int) -> None:
    tz = zoneinfo.ZoneInfo("America/Los_Angeles")
    deadline = reply_deadline("2026-11", tz, until_day)
    assert collecting_period(deadline - dt.timedelta(minutes=1), tz, until_day) == "2026-11"
    assert collecting_period(deadline, tz, until_day) == "2026-12"


def test_month_names() -> None:
    assert month_name("2026-11") == "November 2026"
    assert month_name("2027-01") == "January 2027"
