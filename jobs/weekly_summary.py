"""The weekly summary: to the summary channel and each team's channel, plus private spend alerts."""

from __future__ import annotations

import datetime as dt

from bot.boards import summary
from bot.deps import Deps
from bot.slack.words import count
from jobs.common import JobResult, Progress, dispatch_outbox


def run(deps: Deps, *, now: dt.datetime, period: str | None = None, progress: Progress | None = None) -> JobResult:
    """``jobs run weekly-summary``: queue this week's summaries, charts and alerts, then send them.

    ``period`` is not used: a summary is always about the current month so far.
    """
    res = summary.enqueue_weekly(deps.engine, deps.org, now)
    stats = dispatch_outbox(deps, now=now, progress=progress)
    notes = [f"week {res.week}: {count(len(res.channels), 'channel')}, {count(len(res.anomalies), 'spend anomaly')}"]
    return JobResult(job="weekly-summary", period=res.period, queued=res.queued, stats=stats, notes=notes)


def enqueue_due(deps: Deps, *, now: dt.datetime) -> JobResult:
    """The scheduled run (Monday 09:00 org time): queue the week's messages (the sweep sends)."""
    res = summary.enqueue_weekly(deps.engine, deps.org, now)
    return JobResult(job="weekly-summary", period=res.period, queued=res.queued)
