"""What the job modules share: the outbox dispatch over the app's Slack client, and job results."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.deps import Deps
from bot.slack import outbox

Progress = Callable[[outbox.DispatchStats, int], None]

# Set when the process is shutting down (the worker got SIGTERM): dispatchers hand their rows back.
SHUTDOWN = threading.Event()


@dataclass
class JobResult:
    """What a job run did, for the command line and the logs."""

    job: str
    period: str | None = None
    queued: int = 0
    stats: outbox.DispatchStats | None = None
    notes: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return self.stats.sent if self.stats else 0

    @property
    def failed(self) -> int:
        return self.stats.failed if self.stats else 0


def logical_clock(now: dt.datetime) -> Callable[[], dt.datetime]:
    """A clock that starts at the job's ``now`` and moves with real time (retries fall due in tests too)."""
    start = time.monotonic()
    return lambda: now + dt.timedelta(seconds=time.monotonic() - start)


def dispatch_outbox(
    deps: Deps,
    *,
    now: dt.datetime,
    progress: Progress | None = None,
    until_done: bool = True,
    settings: outbox.OutboxSettings | None = None,
    send: Any = None,
    upload: Any = None,
) -> outbox.DispatchStats:
    """Send the outbox through ``deps.slack`` at the configured pace.

    ``until_done``: wait for retries until every row is sent or failed for good (``jobs run``);
    otherwise return once nothing is due now (the worker's periodic sweep).

    Raises:
        outbox.FatalSlackError: when there is no Slack client or Slack refuses the token.
    """
    cfg = settings or outbox.OutboxSettings()
    if send is None:
        if deps.slack is None:
            raise outbox.FatalSlackError("no Slack client: set SLACK_BOT_TOKEN")
        send, upload = outbox.slack_sender(deps.slack)
    return outbox.dispatch(
        deps.engine,
        send,
        upload=upload,
        rate_per_second=cfg.rate_per_second,
        pace=outbox.PaceSettings.from_settings(cfg),
        concurrency=cfg.concurrency,
        lease_seconds=cfg.lease_seconds,
        retry_base_seconds=cfg.retry_base_seconds,
        clock=logical_clock(now),
        progress=progress,
        stop_when_idle=until_done,
        stop=SHUTDOWN,
    )
