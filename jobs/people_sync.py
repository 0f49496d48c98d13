"""People sync: the Slack directory into people, once a day (events keep them fresh in between)."""

from __future__ import annotations

import datetime as dt

from bot.deps import Deps
from jobs.common import JobResult, Progress


def run(deps: Deps, *, now: dt.datetime, period: str | None = None, progress: Progress | None = None) -> JobResult:
    """Walk ``users.list`` (every workspace of an org-wide install) as ``artifact-bot people sync`` does."""
    from bot.people.directory import sync_people

    assert deps.slack is not None  # the registry marks the job needs_slack: jobs run refuses without a token
    res = sync_people(deps.engine, deps.slack, deps.org)
    return JobResult(job="people-sync", notes=[res.line()])


def enqueue_due(deps: Deps, *, now: dt.datetime) -> JobResult:
    """The scheduled run (daily, before the day's check-ins and reminders)."""
    return run(deps, now=now)
