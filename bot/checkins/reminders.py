"""Month-end timing: the check-in DM at each person's own local time, and reminders after it.

The month-end artifact test goes out at ``checkin.hour`` (15:00) on the last weekday of the month
in each person's Slack time zone (their ``tz``, else the organisation's), so the fan-out spreads
across the day. A scheduled tick calls :func:`enqueue_due_checkins` every few minutes; it queues
the DMs of the people whose local time has reached that moment and who have none queued yet, so
a tick that was missed (a worker down for an hour) is caught up by the next one, and running it
twice queues nothing new. Reminders go to people who have not answered ``reminder_after_days``
after their DM (never on a weekend), at most ``max_reminders`` times, until replies close.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import exists, false, select, update
from sqlalchemy.engine import Engine

from bot.checkins.checkin import _artifacts, _spend, checkin_items
from bot.config import OrgConfig
from bot.db import session_scope
from bot.models import Checkin, OutboxMessage, Period, Person
from bot.people.away import available, not_snoozed
from bot.periods import bounds, following, last_reply_day, last_weekday, period_at, period_of, previous, reply_deadline
from bot.slack import outbox
from bot.slack.blocks import checkin_message

log = logging.getLogger(__name__)

PAGE = 1000
EARLIEST = dt.timezone(dt.timedelta(hours=14))  # the first zone to reach any local time (Pacific/Kiritimati)
LATEST = dt.timezone(dt.timedelta(hours=-12))  # the last one (Etc/GMT+12)
QUIET_BEFORE, QUIET_AFTER = 9, 20  # scheduled reminders go out between 09:00 and 20:00 local time


def zone_of(name: str | None, fallback: zoneinfo.ZoneInfo) -> zoneinfo.ZoneInfo:
    """A person's time zone from its IANA name; ``fallback`` (the org's) when missing or unknown."""
    if not name:
        return fallback
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return fallback


def checkin_opens(period: str, zone: dt.tzinfo, hour: int) -> dt.datetime:
    """When the check-in of ``period`` goes out in ``zone``: ``hour``:00 on the month's last weekday."""
    return dt.datetime.combine(last_weekday(period), dt.time(hour), tzinfo=zone)


def due_period(now: dt.datetime, zone: dt.tzinfo, *, hour: int, until_day: int) -> str | None:
    """The period whose check-in is due in ``zone`` at ``now`` (opened, replies not yet closed), if any."""
    local = period_of(now.astimezone(zone).date())
    for period in (local, previous(local)):
        if checkin_opens(period, zone, hour) <= now < reply_deadline(period, zone, until_day):  # type: ignore[arg-type]
            return period
    return None


def window_utc(period: str, *, hour: int, until_day: int) -> tuple[dt.datetime, dt.datetime]:
    """From the first zone's check-in of ``period`` to the last zone's reply deadline (aware UTC)."""
    opens = checkin_opens(period, EARLIEST, hour).astimezone(dt.UTC)
    closes = dt.datetime.combine(
        bounds(following(period))[0] + dt.timedelta(days=until_day), dt.time(0), tzinfo=LATEST
    ).astimezone(dt.UTC)
    return opens, closes


def default_checkin_period(now: dt.datetime, org: OrgConfig) -> str:
    """The period a check-in run now is about: the one whose window is open in org time, else this month."""
    return due_period(now, org.tz, hour=org.checkin.hour, until_day=org.checkin.reply_until_day) or period_at(
        now, org.tz
    )


def _eligible(org: OrgConfig) -> list[object]:
    conds: list[object] = [Person.is_active.is_(True), Person.slack_user_id.is_not(None), Person.forgotten.is_(False)]
    if not org.include_guests:
        conds.append(Person.is_guest.is_(False))
    return conds


def due_zones(engine: Engine, org: OrgConfig, now: dt.datetime) -> dict[str, tuple[list[str], bool]]:
    """Period -> (the ``tz`` values whose check-in is due now, whether people without a tz are due)."""
    with session_scope(engine) as s:
        names = [n for (n,) in s.execute(select(Person.tz).where(*_eligible(org)).distinct())]
    hour, until = org.checkin.hour, org.checkin.reply_until_day
    org_due = due_period(now, org.tz, hour=hour, until_day=until)
    out: dict[str, tuple[list[str], bool]] = {}
    if org_due:
        out[org_due] = ([], True)
    for name in names:
        if not name:
            continue
        p = due_period(now, zone_of(name, org.tz), hour=hour, until_day=until)
        if p:
            zones, with_null = out.get(p, ([], False))
            zones.append(name)
            out[p] = (zones, with_null)
    return out


def _people_due(
    engine: Engine, org: OrgConfig, period: str, zones: list[str], with_null: bool, after: int, now: dt.datetime
) -> list[Person]:
    tz_cond = Person.tz.in_(zones) if zones else false()
    if with_null:
        tz_cond = tz_cond | Person.tz.is_(None) | (Person.tz == "")
    queued = exists().where(
        OutboxMessage.person_id == Person.id, OutboxMessage.kind == "checkin", OutboxMessage.period == period
    )
    q = (
        select(Person)
        .where(*_eligible(org), *available(org, now), tz_cond, ~queued, Person.id > after)
        .order_by(Person.id)
        .limit(PAGE)
    )
    with session_scope(engine) as s:
        return list(s.scalars(q).all())


def _checkin_items(
    engine: Engine, org: OrgConfig, period: str, zones: list[str], with_null: bool, now: dt.datetime
) -> Iterator[outbox.OutboxItem]:
    after = 0
    while True:
        people = _people_due(engine, org, period, zones, with_null, after, now)
        if not people:
            return
        after = people[-1].id or after
        yield from checkin_items(
            engine, period, people, now, deadline=last_reply_day(period, org.checkin.reply_until_day)
        )


def enqueue_due_checkins(engine: Engine, org: OrgConfig, now: dt.datetime) -> dict[str, int]:
    """Queue the check-in DMs of everyone whose local check-in time has come. Period -> DMs queued.

    Streams people a page at a time; people who already have their DM queued are skipped in SQL,
    so the tick is cheap once the month's fan-out is done.
    """
    queued: dict[str, int] = {}
    for period, (zones, with_null) in sorted(due_zones(engine, org, now).items()):
        if is_closed(engine, period):
            continue
        n = outbox.enqueue(engine, _checkin_items(engine, org, period, zones, with_null, now), now=now)
        if n:
            log.info(
                "check-ins %s: queued %d DM(s) for %d time zone(s)%s",
                period,
                n,
                len(zones),
                " and people without one" if with_null else "",
            )
        queued[period] = n
    return queued


def is_closed(engine: Engine, period: str) -> bool:
    """True when the period's scores are frozen."""
    with session_scope(engine) as s:
        row = s.get(Period, period)
        return row is not None and row.status == "closed"


# --------------------------------------------------------------------------- reminders


def reminder_due_at(sent_at: dt.datetime, n: int, *, after_days: int, zone: dt.tzinfo) -> dt.datetime:
    """When reminder ``n`` (1-based) is due: ``after_days`` after the previous message, weekends skipped.

    Arithmetic is on local wall time, so a DM sent at 15:00 is reminded at 15:00 across a DST change.
    """
    t = (sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=dt.UTC)).astimezone(zone)
    for _ in range(n):
        t = t + dt.timedelta(days=after_days)
        while t.weekday() >= 5:
            t = t + dt.timedelta(days=1)
    return t


@dataclass
class ReminderRun:
    """What a reminders run queued."""

    queued: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.queued.values())


def open_periods(engine: Engine, org: OrgConfig, now: dt.datetime) -> list[str]:
    """Periods whose replies are still accepted at ``now`` (org time) and that are not closed."""
    current = period_at(now, org.tz)
    out = []
    for p in (previous(current), current):
        if now < reply_deadline(p, org.tz, org.checkin.reply_until_day) and not is_closed(engine, p):
            out.append(p)
    return out


def _reminder_page(engine: Engine, org: OrgConfig, period: str, now: dt.datetime, after: int) -> list[tuple]:
    latest_sent = (now - dt.timedelta(days=org.checkin.reminder_after_days)).astimezone(dt.UTC)
    latest_sent = latest_sent.replace(tzinfo=None)
    q = (
        select(
            Checkin.id,
            Checkin.person_id,
            Checkin.sent_at,
            Checkin.reminders_sent,
            Person.slack_user_id,
            Person.name,
            Person.tz,
        )
        .join(Person, Person.id == Checkin.person_id)
        .where(
            Checkin.period == period,
            Checkin.status == "sent",
            Checkin.reminders_sent < org.checkin.max_reminders,
            Checkin.sent_at.is_not(None),
            Checkin.sent_at <= latest_sent,
            Checkin.id > after,
            *_eligible(org),
            *available(org, now),  # away: no reminder until back
            not_snoozed(now),  # "remind me tomorrow"
        )
        .order_by(Checkin.id)
        .limit(PAGE)
    )
    with session_scope(engine) as s:
        return [tuple(r) for r in s.execute(q)]


def enqueue_reminders(
    engine: Engine,
    org: OrgConfig,
    now: dt.datetime,
    *,
    quiet_hours: bool = True,
    preview: list[outbox.OutboxItem] | None = None,
) -> ReminderRun:
    """Queue reminders for check-ins sent but not answered; each reminder once (its number is in its key).

    With ``quiet_hours`` (the scheduled run) a reminder waits for 09:00-20:00 in the person's zone.
    With ``preview`` (a dry run) the reminders due are appended to it instead: nothing queued, nothing marked.
    """
    run = ReminderRun()
    cfg = org.checkin
    if cfg.max_reminders <= 0:
        return run
    for period in open_periods(engine, org, now):
        deadline = reply_deadline(period, org.tz, cfg.reply_until_day)
        after = 0
        total = 0
        while True:
            page = _reminder_page(engine, org, period, now, after)
            if not page:
                break
            after = page[-1][0]
            due: list[tuple[int, int, int, str, str]] = []
            for cid, pid, sent_at, sent_n, slack_id, name, tz in page:
                zone = zone_of(tz, org.tz)
                n = sent_n + 1
                due_at = reminder_due_at(sent_at, n, after_days=cfg.reminder_after_days, zone=zone)
                if not due_at <= now < deadline:
                    continue
                if quiet_hours and not QUIET_BEFORE <= now.astimezone(zone).hour < QUIET_AFTER:
                    continue
                due.append((cid, pid, n, slack_id, name or "there"))
            if not due:
                continue
            ids = [pid for _, pid, _, _, _ in due]
            spend = _spend(engine, period, ids)
            arts = _artifacts(engine, period, ids)
            items = []
            for _, pid, n, slack_id, name in due:
                cost, tokens = spend.get(pid, (0.0, 0))
                text, blocks = checkin_message(
                    name=name.split(" ")[0],
                    period=period,
                    spend_usd=cost,
                    tokens=tokens,
                    artifacts=arts.get(pid, []),
                    reminder=n,
                    deadline=last_reply_day(period, cfg.reply_until_day),
                )
                items.append(
                    outbox.OutboxItem(
                        dedupe_key=f"reminder{n}:{period}:{pid}",
                        kind="reminder",
                        channel=slack_id,
                        text=text,
                        blocks=blocks,
                        person_id=pid,
                        period=period,
                    )
                )
            if preview is not None:
                preview.extend(items)
                total += len(items)
                continue
            total += outbox.enqueue(engine, items, now=now)
            with session_scope(engine) as s:
                for cid, _, n, _, _ in due:
                    s.execute(
                        update(Checkin).where(Checkin.id == cid, Checkin.reminders_sent < n).values(reminders_sent=n)
                    )
        run.queued[period] = total
        if total:
            log.info("reminders %s: queued %d", period, total)
    return run
