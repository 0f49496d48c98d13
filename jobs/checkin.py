"""The month-end artifact test: queue a DM per person, then send them."""

from __future__ import annotations

import datetime as dt

from bot.checkins import checkin as checkins
from bot.checkins import reminders
from bot.deps import Deps
from jobs.common import JobResult, Progress, dispatch_outbox


def run(deps: Deps, *, now: dt.datetime, period: str | None = None, progress: Progress | None = None) -> JobResult:
    """``jobs run checkin``: everyone's DM for ``period`` now, whatever their time zone; then send."""
    period = period or reminders.default_checkin_period(now, deps.org)
    queued = checkins.enqueue_checkins(deps.engine, deps.org, period, now)
    stats = dispatch_outbox(deps, now=now, progress=progress)
    return JobResult(
        job="checkin", period=period, queued=queued, stats=stats, failures=checkins.failures(deps.engine, period)
    )


def enqueue_due(deps: Deps, *, now: dt.datetime) -> JobResult:
    """The scheduled tick: queue the DMs of people whose local check-in time has come (the sweep sends)."""
    queued = reminders.enqueue_due_checkins(deps.engine, deps.org, now)
    return JobResult(job="checkin", period=",".join(sorted(queued)) or None, queued=sum(queued.values()))
