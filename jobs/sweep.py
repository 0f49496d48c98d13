"""The outbox sweep: send whatever is due (every job only queues; this sends).

The scheduled tick only makes sure this process's sender thread is running: a month-end
fan-out lasts hours, and the job must not sit on its only scheduler instance
(``max_instances=1``) all that time.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from bot.deps import Deps
from bot.slack.outbox import FatalSlackError
from jobs.common import JobResult, Progress, dispatch_outbox

log = logging.getLogger(__name__)

_SENDER_LOCK = threading.Lock()
_SENDER: dict[str, threading.Thread] = {}


def run(deps: Deps, *, now: dt.datetime, period: str | None = None, progress: Progress | None = None) -> JobResult:
    """Send every due outbox row at the workspace's pace; return when nothing is due now."""
    stats = dispatch_outbox(deps, now=now, progress=progress, until_done=False)
    return JobResult(job="outbox", stats=stats)


def enqueue_due(deps: Deps, *, now: dt.datetime) -> JobResult:
    """The scheduled tick: make sure the sender thread is running (it stops when nothing is due)."""
    ensure_sender(deps)
    return JobResult(job="outbox")


def ensure_sender(deps: Deps) -> threading.Thread:
    """Start the outbox sender thread unless it is running. Returns it."""
    with _SENDER_LOCK:
        thread = _SENDER.get("sender")
        if thread is None or not thread.is_alive():
            thread = threading.Thread(target=_send, args=(deps,), name="outbox-sender")
            _SENDER["sender"] = thread
            thread.start()
        return thread


def join_sender(timeout: float = 60) -> None:
    """Wait for the sender thread, if any, to hand back what it claimed and stop."""
    thread = _SENDER.get("sender")
    if thread is not None:
        thread.join(timeout=timeout)


def _send(deps: Deps) -> None:
    try:
        result = run(deps, now=deps.clock())
        if result.stats and (result.stats.sent or result.stats.failed):
            log.info(
                "outbox: %d sent, %d failed in %.0f s", result.stats.sent, result.stats.failed, result.stats.elapsed
            )
    except FatalSlackError as exc:
        log.error("outbox: %s; messages stay queued", exc)
    except Exception:
        log.exception("outbox sender failed; the next sweep retries")
