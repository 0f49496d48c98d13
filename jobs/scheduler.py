"""The schedule: APScheduler 3 with its jobs stored in the app's database.

Every job has an explicit id, ``replace_existing=True``, ``coalesce=True``, ``max_instances=1``,
an explicit time zone and a misfire grace of hours. Scheduled jobs only *queue* messages (so a
long fan-out never delays the next time zone's check-ins); the ``outbox`` job sends them, every
30 seconds, sharing the work with any other worker. Two workers started by mistake both fire
each job, but a database lease per job run (``bot.lease``) lets only one of them run it.

On start-up the stored jobs are reconciled with the config: a job whose trigger is unchanged
keeps its stored next run time, so a run missed while the worker was down still fires (once,
coalesced) if it is within its grace time.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
from dataclasses import dataclass
from types import FrameType
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_STARTED, SchedulerEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger

from bot import lease
from bot.deps import Deps
from jobs import registry, sweep
from jobs.common import SHUTDOWN, JobResult
from jobs.registry import HOUR, JobSpec

log = logging.getLogger(__name__)

JOBSTORE_TABLE = "apscheduler_jobs"
LEASE_TTL = 300.0  # renewed every 100 s while a job runs; a crashed worker's job is taken over after this

_STATE: dict[str, Any] = {}  # the process's Deps and scheduler (jobs in the store are looked up by name)


@dataclass(frozen=True)
class Planned:
    """A registry job as this deployment schedules it: its trigger built from the org config."""

    spec: JobSpec
    trigger: BaseTrigger

    @property
    def id(self) -> str:
        return self.spec.name

    def run(self, deps: Deps, *, now: dt.datetime) -> JobResult:
        return self.spec.tick_function()(deps, now=now)


def job_specs(deps: Deps) -> list[Planned]:
    """The registry's jobs this deployment runs (usage sync only when a provider key is configured)."""
    return [Planned(spec, spec.make_trigger(deps.org)) for spec in registry.scheduled(deps.settings, deps.org)]


def _kick_outbox() -> None:
    """Send now what a job just queued, instead of at the next sweep."""
    deps = _STATE.get("deps")
    if deps is not None:
        sweep.ensure_sender(deps)


def fire(name: str) -> None:
    """Run scheduled job ``name`` (the function APScheduler stores): under its lease, with the process's deps."""
    deps: Deps | None = _STATE.get("deps")
    if deps is None:
        log.error("scheduled job %s fired before the scheduler was set up; skipped", name)
        return
    spec = registry.REGISTRY.get(name)
    if spec is None or not spec.enabled(deps.settings, deps.org):
        log.warning("scheduled job %s is not configured any more; skipped", name)
        return
    now = deps.clock()
    tick = spec.tick_function()
    if not spec.leased:
        tick(deps, now=now)
        return
    run_key = spec.run_key(deps.org, now)
    with lease.hold(deps.engine, f"job:{name}", run_key=run_key, ttl=LEASE_TTL) as held:
        if held is None:
            log.info("job %s (%s) is running or already ran on another worker: skipped", name, run_key)
            return
        result = tick(deps, now=now)
    if result.queued:
        log.info("job %s (%s): queued %d message(s)", name, run_key, result.queued)
        _kick_outbox()


def make_scheduler(deps: Deps, cls: type[BaseScheduler] = BackgroundScheduler) -> BaseScheduler:
    """A scheduler whose jobs live in the app's database (table ``apscheduler_jobs``)."""
    scheduler = cls(
        jobstores={"default": SQLAlchemyJobStore(engine=deps.engine, tablename=JOBSTORE_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": HOUR},
        timezone=dt.UTC,
    )
    scheduler.add_listener(lambda event: _on_started(scheduler, deps, event), EVENT_SCHEDULER_STARTED)
    return scheduler


def _on_started(scheduler: BaseScheduler, deps: Deps, event: SchedulerEvent) -> None:
    try:
        schedule_jobs(scheduler, deps)
    finally:
        scheduler.resume()


def schedule_jobs(scheduler: BaseScheduler, deps: Deps) -> list[str]:
    """Add (or update) every job; a job whose trigger is unchanged keeps its stored next run time."""
    _STATE["deps"] = deps
    _STATE["scheduler"] = scheduler
    wanted = job_specs(deps)
    for spec in wanted:
        kwargs: dict[str, Any] = {}
        existing = scheduler.get_job(spec.id)
        if existing is not None and repr(existing.trigger) == repr(spec.trigger) and existing.next_run_time:
            kwargs["next_run_time"] = existing.next_run_time
        scheduler.add_job(
            "jobs.scheduler:fire",
            trigger=spec.trigger,
            id=spec.id,
            name=spec.id,
            kwargs={"name": spec.id},
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=spec.spec.misfire_grace_seconds,
            **kwargs,
        )
    ids = [s.id for s in wanted]
    for job in scheduler.get_jobs():
        if job.id in registry.REGISTRY and job.id not in ids:
            scheduler.remove_job(job.id)
    log.info("scheduled jobs: %s", ", ".join(f"{j.id} next {j.next_run_time}" for j in scheduler.get_jobs()))
    return ids


def start_background_scheduler(deps: Deps) -> BackgroundScheduler:
    """The scheduler inside ``serve``: started, in background threads."""
    _ensure_slack(deps)
    SHUTDOWN.clear()
    scheduler = make_scheduler(deps, BackgroundScheduler)
    scheduler.start(paused=True)  # the started-listener schedules the jobs, then resumes
    assert isinstance(scheduler, BackgroundScheduler)
    return scheduler


def run_worker(deps: Deps) -> int:
    """``artifact-bot worker``: the scheduler alone, in the foreground, until SIGINT/SIGTERM."""
    deps.settings.require("slack_bot_token")
    _ensure_slack(deps)
    SHUTDOWN.clear()
    scheduler = make_scheduler(deps, BlockingScheduler)

    def stop(signum: int, frame: FrameType | None) -> None:
        log.warning("signal %d: stopping the worker (claimed messages are handed back)", signum)
        SHUTDOWN.set()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("worker started as %s", lease.holder_id())
    scheduler.start(paused=True)  # blocks until shutdown
    _join_sender()
    return 0


def stop_scheduler(scheduler: BaseScheduler) -> None:
    """Stop a scheduler from :func:`start_background_scheduler`: the sender hands back what it claimed."""
    SHUTDOWN.set()
    scheduler.shutdown(wait=True)
    _join_sender()
    SHUTDOWN.clear()  # ``jobs run`` in this process may still send


def _join_sender() -> None:
    sweep.join_sender(timeout=60)


def _ensure_slack(deps: Deps) -> None:
    if deps.slack is None and deps.settings.slack_bot_token:
        from bot.slack.client import make_client

        deps.slack = make_client(deps.settings)
