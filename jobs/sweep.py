"""The worker's outbox sweep: send whatever is due (every job only queues; this sends)."""

from __future__ import annotations

import datetime as dt

from bot.deps import Deps
from jobs.common import JobResult, Progress, dispatch_outbox


def run(deps: Deps, *, now: dt.datetime, period: str | None = None, progress: Progress | None = None) -> JobResult:
    """Send every due outbox row at the workspace's pace; return when nothing is due now."""
    stats = dispatch_outbox(deps, now=now, progress=progress, until_done=False)
    return JobResult(job="outbox", stats=stats)
