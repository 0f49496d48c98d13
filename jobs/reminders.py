"""Reminders for check-ins not answered after a few days."""

from __future__ import annotations

import datetime as dt

from bot.checkins import reminders
from bot.deps import Deps
from jobs.common import JobResult, Progress, dispatch_outbox


def run(deps: Deps, *, now: dt.datetime, period: str | None = None, progress: Progress | None = None) -> JobResult:
    """``jobs run reminders``: queue every reminder due now (any local hour), then send them."""
    result = reminders.enqueue_reminders(deps.engine, deps.org, now, quiet_hours=False)
    stats = dispatch_outbox(deps, now=now, progress=progress)
    return JobResult(
        job="reminders", period=period or ",".join(sorted(result.queued)) or None, queued=result.total, stats=stats
    )


def enqueue_due(deps: Deps, *, now: dt.datetime) -> JobResult:
    """The scheduled tick: queue reminders due now, in each person's daytime (the sweep sends)."""
    result = reminders.enqueue_reminders(deps.engine, deps.org, now, quiet_hours=True)
    return JobResult(job="reminders", queued=result.total)
