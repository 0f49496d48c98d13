"""Period close: freeze last month's scores once replies are closed, post the final leaderboard."""

from __future__ import annotations

import datetime as dt

from bot.checkins import closing
from bot.deps import Deps
from bot.periods import period_at, previous
from jobs.common import JobResult, Progress, dispatch_outbox


def run(deps: Deps, *, now: dt.datetime, period: str | None = None, progress: Progress | None = None) -> JobResult:
    """``jobs run close-period``: close ``period`` (default: last month) now, then send the final posts."""
    period = period or previous(period_at(now, deps.org.tz))
    res = closing.close_period(deps.engine, deps.org, period, now, llm=deps.llm)
    stats = dispatch_outbox(deps, now=now, progress=progress)
    note = f"froze {res.frozen_rows} board line(s)" if res.closed_now else "already closed: scores unchanged"
    return JobResult(job="close-period", period=period, queued=res.queued, stats=stats, notes=[note])


def enqueue_due(deps: Deps, *, now: dt.datetime) -> JobResult:
    """The scheduled check: close last month once its replies have closed (idempotent)."""
    period = closing.period_to_close(deps.org, now)
    if period is None:
        return JobResult(job="close-period")
    res = closing.close_period(deps.engine, deps.org, period, now, llm=deps.llm)
    return JobResult(job="close-period", period=period, queued=res.queued)
