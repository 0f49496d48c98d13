"""The one list of scheduled jobs: ``name -> JobSpec``.

The scheduler (:mod:`jobs.scheduler`), ``artifact-bot jobs run`` (:mod:`jobs.runner`), the CLI's
choices and the runtime's Slack check all read :data:`REGISTRY`; a job's name is written here
and nowhere else. Adding a job is a module in ``jobs/`` with ``run`` and ``enqueue_due``, plus
one entry below.

This module stays light: the CLI imports it to build its choices, so APScheduler, the job
modules and the domains they call are imported only when a trigger is built or a job runs.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from bot.config import OrgConfig, Settings
    from jobs.common import JobResult

HOUR = 3600
Zone = Literal["org", "utc"]


@dataclass(frozen=True)
class JobSpec:
    """One job: what runs it, when, and what it needs.

    Attributes:
        name: the job id in the scheduler's store, the lease name and the ``jobs run`` argument.
        module: the ``jobs`` module holding ``run(deps, *, now, period, progress)`` (``jobs run``)
            and ``enqueue_due(deps, *, now)`` (the scheduled tick).
        trigger: builds the APScheduler trigger from the org config and the job's time zone.
        zone: the trigger's time zone: the organisation's (``org``) or UTC (``utc``, for ticks
            that apply each person's own time zone when they run, or plain intervals).
        misfire_grace_seconds: how late a missed run may still fire (once, coalesced).
        run_key: the key of one run for the lease (two workers firing it run it once).
        help: one line for ``jobs run --help`` and the README.
        needs_slack: ``jobs run`` refuses to start without ``SLACK_BOT_TOKEN``.
        dry_run: the job can show what it would send without sending (``--dry-run``).
        manual: offered by ``jobs run`` (the outbox sweep is not: ``jobs run`` sends what it queues).
        leased: runs under a database lease per run key.
        enabled: whether this deployment schedules it, from its settings and org config (usage
            sync needs a provider key or a seat licence).
    """

    name: str
    module: str
    trigger: Callable[[OrgConfig, dt.tzinfo], Any]
    zone: Zone
    misfire_grace_seconds: int
    run_key: Callable[[OrgConfig, dt.datetime], str | None]
    help: str
    needs_slack: bool = True
    dry_run: bool = True
    manual: bool = True
    leased: bool = True
    enabled: Callable[[Settings, OrgConfig], bool] = lambda settings, org: True

    def tz(self, org: OrgConfig) -> dt.tzinfo:
        """The trigger's time zone for ``org``."""
        return org.tz if self.zone == "org" else dt.UTC

    def make_trigger(self, org: OrgConfig) -> Any:
        """The APScheduler trigger of this job for ``org`` (imports APScheduler)."""
        return self.trigger(org, self.tz(org))

    def run_function(self) -> Callable[..., JobResult]:
        """``run`` of the job module: one run now, in the foreground."""
        return importlib.import_module(self.module).run  # type: ignore[no-any-return]

    def tick_function(self) -> Callable[..., JobResult]:
        """``enqueue_due`` of the job module: what the scheduler calls."""
        return importlib.import_module(self.module).enqueue_due  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- triggers and run keys


def _month_end(every_minutes: int) -> Callable[[OrgConfig, dt.tzinfo], Any]:
    def make(org: OrgConfig, tz: dt.tzinfo) -> Any:
        from jobs.triggers import MonthEndTrigger

        checkin = org.checkin
        return MonthEndTrigger(hour=checkin.hour, until_day=checkin.reply_until_day, every_minutes=every_minutes)

    return make


def _cron(**fields: Any) -> Callable[[OrgConfig, dt.tzinfo], Any]:
    def make(org: OrgConfig, tz: dt.tzinfo) -> Any:
        from apscheduler.triggers.cron import CronTrigger

        return CronTrigger(timezone=tz, **fields)

    return make


def _every(seconds: int) -> Callable[[OrgConfig, dt.tzinfo], Any]:
    def make(org: OrgConfig, tz: dt.tzinfo) -> Any:
        from apscheduler.triggers.interval import IntervalTrigger

        return IntervalTrigger(seconds=seconds, timezone=tz)

    return make


def _bucket(minutes: int) -> Callable[[OrgConfig, dt.datetime], str]:
    def key(org: OrgConfig, now: dt.datetime) -> str:
        t = now.astimezone(dt.UTC)
        return f"{t:%Y-%m-%dT%H}:{(t.minute // minutes) * minutes:02d}"

    return key


def _org_day(prefix: str) -> Callable[[OrgConfig, dt.datetime], str]:
    def key(org: OrgConfig, now: dt.datetime) -> str:
        return f"{prefix}:{now.astimezone(org.tz).date()}"

    return key


def _week(org: OrgConfig, now: dt.datetime) -> str:
    from bot.boards.summary import week_key

    return week_key(now, org.tz)


def _no_key(org: OrgConfig, now: dt.datetime) -> None:
    return None


def _usage_configured(settings: Settings, org: OrgConfig) -> bool:
    from bot.spend.connectors import configured

    # the connector registry says which providers have keys; seat licences need no key
    return bool(configured(settings)) or bool(org.seats)


# --------------------------------------------------------------------------- the registry

_SPECS = (
    JobSpec(
        "checkin",
        "jobs.checkin",
        _month_end(15),
        "utc",
        HOUR,
        _bucket(15),
        "month-end artifact test: a DM per person at their local check-in hour",
    ),
    JobSpec(
        "reminders",
        "jobs.reminders",
        _month_end(60),
        "utc",
        HOUR,
        _bucket(60),
        "remind people who have not answered their check-in",
    ),
    JobSpec(
        "weekly-summary",
        "jobs.weekly_summary",
        _cron(day_of_week="mon", hour=9, minute=0),
        "org",
        12 * HOUR,
        _week,
        "Monday's summary to the summary and team channels, spend alerts",
    ),
    JobSpec(
        "usage-sync",
        "jobs.usage_sync",
        _cron(minute=17),
        "utc",
        HOUR,
        _bucket(60),
        "pull spend from every provider with a key (hourly)",
        needs_slack=False,
        dry_run=False,
        enabled=_usage_configured,
    ),
    JobSpec(
        "close-period",
        "jobs.close_period",
        _cron(hour=9, minute=0),
        "org",
        12 * HOUR,
        _org_day("close"),
        "freeze last month's scores once replies close, post the final board",
    ),
    JobSpec(
        "review-queue",
        "jobs.review_queue",
        _cron(hour=9, minute=0),
        "org",
        12 * HOUR,
        _org_day("review-queue"),
        "managers' review queue: one DM each, three days before replies close",
        dry_run=False,
    ),
    JobSpec(
        "people-sync",
        "jobs.people_sync",
        _cron(hour=5, minute=30),
        "org",
        12 * HOUR,
        _org_day("people-sync"),
        "the Slack directory into people, daily (status events keep them fresh in between)",
        dry_run=False,
    ),
    JobSpec(
        "outbox",
        "jobs.sweep",
        _every(30),
        "utc",
        HOUR,
        _no_key,
        "send what the jobs queued, at Slack's pace",
        dry_run=False,
        manual=False,
        leased=False,
    ),
)

REGISTRY: dict[str, JobSpec] = {spec.name: spec for spec in _SPECS}


def manual_names() -> list[str]:
    """Jobs ``artifact-bot jobs run`` offers, in registry order."""
    return [spec.name for spec in REGISTRY.values() if spec.manual]


def get(name: str) -> JobSpec:
    """The spec of job ``name``.

    Raises:
        KeyError: no such job.
    """
    return REGISTRY[name]


def scheduled(settings: Settings, org: OrgConfig) -> list[JobSpec]:
    """The jobs this deployment schedules."""
    return [spec for spec in REGISTRY.values() if spec.enabled(settings, org)]
