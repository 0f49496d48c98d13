"""The managers' review queue: one DM each, three days before the period's replies close."""

from __future__ import annotations

import datetime as dt

from bot.checkins import review_queue
from bot.deps import Deps
from jobs.common import JobResult, Progress, dispatch_outbox


def run(deps: Deps, *, now: dt.datetime, period: str | None = None, progress: Progress | None = None) -> JobResult:
    """``jobs run review-queue``: queue the managers' review DMs (now, or for ``period``), then send them."""
    chosen, queued = review_queue.enqueue_review_queues(deps.engine, deps.org, now, period)
    stats = dispatch_outbox(deps, now=now, progress=progress)
    notes = [] if chosen else ["not in the last three days of a reply window: nothing queued (try --period)"]
    return JobResult(job="review-queue", period=chosen, queued=queued, stats=stats, notes=notes)


def enqueue_due(deps: Deps, *, now: dt.datetime) -> JobResult:
    """The scheduled tick (daily, 09:00 org time): queue the DMs once their time has come (the sweep sends)."""
    chosen, queued = review_queue.enqueue_review_queues(deps.engine, deps.org, now)
    return JobResult(job="review-queue", period=chosen, queued=queued)
