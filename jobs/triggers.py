"""Triggers for the month-end schedule (APScheduler 3)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from apscheduler.triggers.base import BaseTrigger

from bot.checkins.reminders import window_utc
from bot.periods import following, period_of, previous


class MonthEndTrigger(BaseTrigger):
    """Fires every ``every_minutes`` (on UTC multiples of it) while some time zone is in a month-end window.

    The window of a month opens when the first time zone on Earth (UTC+14) reaches ``hour``:00 on
    the month's last weekday, and closes when the last one (UTC-12) passes the reply deadline
    (the end of day ``until_day`` of the next month). Every real zone's check-in moment falls
    inside it, and every offset is a multiple of 15 minutes, so a 15-minute tick meets each
    zone's ``hour``:00 exactly. Outside the windows — most of the month — it does not fire.

    Its ticks are UTC instants (``timezone`` is UTC); each person's own time zone is applied
    when a tick queues their messages.
    """

    timezone: dt.tzinfo = dt.UTC

    def __init__(self, *, hour: int = 15, until_day: int = 7, every_minutes: int = 15) -> None:
        if not 0 <= hour <= 23 or every_minutes <= 0 or (60 % every_minutes and every_minutes % 60):
            raise ValueError("hour must be 0-23 and every_minutes divide an hour (or be whole hours)")
        self.hour = hour
        self.until_day = until_day
        self.every_minutes = every_minutes

    def _ceil(self, t: dt.datetime) -> dt.datetime:
        step = self.every_minutes * 60
        ts = t.timestamp()
        up = -(-ts // step) * step
        return dt.datetime.fromtimestamp(up, dt.UTC)

    def get_next_fire_time(self, previous_fire_time: dt.datetime | None, now: dt.datetime) -> dt.datetime | None:
        start = now
        if previous_fire_time is not None:
            start = max(now, previous_fire_time + dt.timedelta(microseconds=1))
        start = start.astimezone(dt.UTC)
        here = period_of(start.date())
        for period in (previous(here), here, following(here)):
            opens, closes = window_utc(period, hour=self.hour, until_day=self.until_day)
            candidate = self._ceil(max(start, opens))
            if candidate < closes:
                return candidate
        return None  # pragma: no cover - a window opens every month

    def __getstate__(self) -> dict[str, Any]:
        return {"version": 1, "hour": self.hour, "until_day": self.until_day, "every_minutes": self.every_minutes}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.hour = state["hour"]
        self.until_day = state["until_day"]
        self.every_minutes = state["every_minutes"]

    def __str__(self) -> str:
        return f"month-end[hour={self.hour}, until_day={self.until_day}, every={self.every_minutes}m]"

    def __repr__(self) -> str:
        return f"<MonthEndTrigger (hour={self.hour}, until_day={self.until_day}, every_minutes={self.every_minutes})>"
