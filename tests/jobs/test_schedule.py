"""Schedules, through the triggers' next fire times: last weekday, time zones, DST, December→January."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.engine import Engine

from bot.checkins.closing import period_to_close
from bot.checkins.reminders import checkin_opens, due_period, reminder_due_at
from jobs import registry
from jobs import scheduler as sched
from jobs.triggers import MonthEndTrigger
from tests.jobs.conftest import make_deps, org_config

UTC = dt.UTC
NY = zoneinfo.ZoneInfo("America/New_York")


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# --------------------------------------------------------------------------- the month-end tick


def test_month_end_tick_starts_when_the_first_zone_reaches_15h_on_the_last_weekday() -> None:
    trigger = MonthEndTrigger(hour=15, until_day=7, every_minutes=15)
    # Monday 30 November 2026 is November's last weekday; 15:00 at UTC+14 is 01:00 UTC.
    assert trigger.get_next_fire_time(None, at(2026, 11, 23, 18)) == at(2026, 11, 30, 1)
    # January 2027 ends on a Sunday: its last weekday is Friday the 29th.
    assert trigger.get_next_fire_time(None, at(2027, 1, 10)) == at(2027, 1, 29, 1)


def test_month_end_tick_every_15_minutes_until_the_last_zone_stops_accepting_replies() -> None:
    trigger = MonthEndTrigger(hour=15, until_day=7, every_minutes=15)
    first = at(2026, 11, 30, 1)
    assert trigger.get_next_fire_time(first, first) == at(2026, 11, 30, 1, 15)
    assert trigger.get_next_fire_time(None, at(2026, 12, 3, 7, 1)) == at(2026, 12, 3, 7, 15)
    # Replies close at the end of 7 December in the last zone (UTC-12): 8 December 12:00 UTC.
    assert trigger.get_next_fire_time(None, at(2026, 12, 8, 11, 44)) == at(2026, 12, 8, 11, 45)
    assert trigger.get_next_fire_time(at(2026, 12, 8, 11, 45), at(2026, 12, 8, 11, 45)) == at(2026, 12, 31, 1)


def test_month_end_tick_from_december_into_january() -> None:
    trigger = MonthEndTrigger(hour=15, until_day=7, every_minutes=15)
    assert trigger.get_next_fire_time(None, at(2026, 12, 20)) == at(2026, 12, 31, 1)  # Thursday 31 December
    assert trigger.get_next_fire_time(None, at(2027, 1, 1, 23, 59)) == at(2027, 1, 2)  # still December's window
    assert trigger.get_next_fire_time(None, at(2027, 1, 8, 12)) == at(2027, 1, 29, 1)  # next: January's


@pytest.mark.parametrize(
    "zone",
    [
        "Pacific/Kiritimati",
        "Asia/Tokyo",
        "Asia/Kolkata",
        "Asia/Kathmandu",
        "Europe/London",
        "America/St_Johns",
        "America/New_York",
        "Pacific/Pago_Pago",
        "Etc/GMT+12",
    ],
)
@pytest.mark.parametrize("period", ["2026-10", "2026-12", "2027-03"])
def test_every_zones_15h_is_a_tick(zone: str, period: str) -> None:
    opens = checkin_opens(period, zoneinfo.ZoneInfo(zone), 15)
    assert MonthEndTrigger(hour=15).get_next_fire_time(None, opens - dt.timedelta(seconds=1)) == opens
    assert due_period(opens, zoneinfo.ZoneInfo(zone), hour=15, until_day=7) == period
    assert due_period(opens - dt.timedelta(seconds=1), zoneinfo.ZoneInfo(zone), hour=15, until_day=7) != period


def test_checkin_is_at_15h_local_time_across_dst_changes() -> None:
    def utc_of(period: str, zone: str) -> dt.datetime:
        return checkin_opens(period, zoneinfo.ZoneInfo(zone), 15).astimezone(UTC)

    assert utc_of("2026-10", "America/New_York") == at(2026, 10, 30, 19)  # EDT, Friday 30 October
    assert utc_of("2026-11", "America/New_York") == at(2026, 11, 30, 20)  # EST after 1 November
    assert utc_of("2027-02", "Europe/London") == at(2027, 2, 26, 15)  # GMT
    assert utc_of("2027-03", "Europe/London") == at(2027, 3, 31, 14)  # BST after 28 March
    assert utc_of("2026-10", "Australia/Sydney") == at(2026, 10, 30, 4)  # AEDT (+11) since 4 October
    assert utc_of("2026-10", "Asia/Tokyo") == at(2026, 10, 30, 6)


def test_due_period_spans_the_reply_window_in_local_time() -> None:
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    assert due_period(at(2026, 10, 30, 5, 59), tokyo, hour=15, until_day=7) is None
    assert due_period(at(2026, 10, 30, 6), tokyo, hour=15, until_day=7) == "2026-10"
    assert due_period(at(2026, 11, 3), NY, hour=15, until_day=7) == "2026-10"  # late, but replies still count
    assert due_period(at(2026, 11, 8, 4, 59), NY, hour=15, until_day=7) == "2026-10"
    assert due_period(at(2026, 11, 8, 5), NY, hour=15, until_day=7) is None  # 8 November 00:00 EST
    assert due_period(at(2027, 1, 2), NY, hour=15, until_day=7) == "2026-12"  # December into January


def test_reminders_skip_weekends_and_keep_local_time_across_dst() -> None:
    sent = at(2026, 10, 30, 19)  # Friday 15:00 EDT
    first = reminder_due_at(sent, 1, after_days=2, zone=NY)
    assert first == dt.datetime(2026, 11, 2, 15, tzinfo=NY)  # Sunday moves to Monday, 15:00 EST now
    assert first.astimezone(UTC) == at(2026, 11, 2, 20)
    assert reminder_due_at(sent, 2, after_days=2, zone=NY) == dt.datetime(2026, 11, 4, 15, tzinfo=NY)


def test_close_period_waits_for_the_end_of_the_reply_window() -> None:
    org = org_config()
    assert period_to_close(org, at(2026, 12, 8, 4, 59)) is None  # 7 December 23:59 EST
    assert period_to_close(org, at(2026, 12, 8, 14)) == "2026-11"
    assert period_to_close(org, at(2027, 1, 8, 14)) == "2026-12"  # December closes in January


# --------------------------------------------------------------------------- the job definitions


def test_weekly_summary_is_monday_9h_org_time_across_dst_and_new_year(sqlite_engine: Engine) -> None:
    specs = {s.id: s for s in sched.job_specs(make_deps(sqlite_engine, None))}
    weekly = specs["weekly-summary"].trigger
    assert isinstance(weekly, CronTrigger) and str(weekly.timezone) == "America/New_York"
    assert weekly.get_next_fire_time(None, at(2026, 10, 25)) == dt.datetime(2026, 10, 26, 9, tzinfo=NY)
    assert weekly.get_next_fire_time(None, at(2026, 10, 25)).astimezone(UTC) == at(2026, 10, 26, 13)  # EDT
    assert weekly.get_next_fire_time(None, at(2026, 10, 30)).astimezone(UTC) == at(2026, 11, 2, 14)  # EST
    assert weekly.get_next_fire_time(None, at(2026, 12, 29)).astimezone(UTC) == at(2027, 1, 4, 14)
    close = specs["close-period"].trigger
    assert close.get_next_fire_time(None, at(2026, 12, 7, 15)).astimezone(UTC) == at(2026, 12, 8, 14)


@pytest.mark.parametrize("keys", [{}, {"anthropic_admin_key": "sk-ant-admin-test"}])
def test_every_registry_job_is_scheduled_with_its_trigger_time_zone_and_safe_defaults(
    sqlite_engine: Engine, keys: dict[str, str]
) -> None:
    deps = make_deps(sqlite_engine, None)
    deps.org = org_config(timezone="Asia/Kolkata")  # not UTC: an org-time job on UTC would show
    deps.settings = deps.settings.model_copy(update=keys)
    scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(engine=sqlite_engine)}, timezone=UTC)
    scheduler.start(paused=True)
    try:
        ids = sched.schedule_jobs(scheduler, deps)
        expected = set(registry.REGISTRY) - (set() if keys else {"usage-sync"})  # usage sync needs a key
        assert set(ids) == expected
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == expected
        for name, job in jobs.items():
            spec = registry.get(name)
            assert job.coalesce is True and job.max_instances == 1
            assert job.misfire_grace_time == spec.misfire_grace_seconds >= 3600
            assert job.func_ref == "jobs.scheduler:fire" and job.kwargs == {"name": name}
            assert str(job.trigger) == str(spec.make_trigger(deps.org))  # str: an interval's repr has its start
            want = zoneinfo.ZoneInfo("Asia/Kolkata") if spec.zone == "org" else UTC
            assert job.trigger.timezone == want, name
        assert jobs["weekly-summary"].trigger.timezone == zoneinfo.ZoneInfo("Asia/Kolkata")
        assert jobs["outbox"].trigger.timezone == UTC
    finally:
        scheduler.shutdown(wait=False)


def test_a_registry_change_reaches_the_scheduler_and_runner(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing else lists job names: an entry added to the registry is scheduled and runnable."""
    extra = registry.JobSpec(
        "nightly-test",
        "jobs.sweep",
        registry.REGISTRY["close-period"].trigger,
        "org",
        3600,
        lambda org, now: None,
        "a test job",
        needs_slack=False,
    )
    monkeypatch.setitem(registry.REGISTRY, "nightly-test", extra)
    deps = make_deps(sqlite_engine, None)
    assert "nightly-test" in {p.id for p in sched.job_specs(deps)}
    assert "nightly-test" in registry.manual_names()
    from jobs.runner import job_function
    from jobs.sweep import run as sweep_run

    assert job_function("nightly-test") is sweep_run


def test_usage_sync_is_scheduled_only_with_a_provider_key_or_a_seat(sqlite_engine: Engine) -> None:
    deps = make_deps(sqlite_engine, None)
    assert "usage-sync" not in {s.id for s in sched.job_specs(deps)}
    seats = org_config(seats=[{"tool": "cursor", "usd_per_month": 40}])
    assert "usage-sync" in {s.id for s in sched.job_specs(make_deps(sqlite_engine, None, org=seats))}
    deps.settings = deps.settings.model_copy(update={"openai_admin_key": "sk-admin-test"})
    spec = {s.id: s for s in sched.job_specs(deps)}["usage-sync"]
    assert spec.trigger.get_next_fire_time(None, at(2026, 11, 23, 18, 20)) == at(2026, 11, 23, 19, 17)


def test_restart_keeps_a_missed_run_and_replaces_changed_triggers(sqlite_engine: Engine) -> None:
    deps = make_deps(sqlite_engine, None)

    def scheduler() -> BackgroundScheduler:
        s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(engine=sqlite_engine)}, timezone=UTC)
        s.start(paused=True)
        return s

    def stop(s: BackgroundScheduler) -> None:
        s.remove_jobstore("default")  # so that shutting down does not run the due jobs
        s.shutdown(wait=False)

    first = scheduler()
    sched.schedule_jobs(first, deps)
    missed = dt.datetime.now(UTC).replace(microsecond=0) - dt.timedelta(hours=2)
    first.modify_job("weekly-summary", next_run_time=missed)
    stop(first)

    second = scheduler()  # a restart with the same config: the missed Monday run is still due (grace 12 h)
    sched.schedule_jobs(second, deps)
    assert second.get_job("weekly-summary").next_run_time == missed
    stop(second)

    deps.org = org_config(checkin={"hour": 10})
    third = scheduler()  # a config change: the check-in tick gets the new trigger
    sched.schedule_jobs(third, deps)
    job = third.get_job("checkin")
    assert isinstance(job.trigger, MonthEndTrigger) and job.trigger.hour == 10
    assert third.get_job("weekly-summary").next_run_time == missed  # unchanged trigger: kept
    stop(third)
