"""The month-end artifact test: one check-in and one DM per active person, via the outbox."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from bot.config import OrgConfig
from bot.db import session_scope, upsert_insert
from bot.models import Artifact, ArtifactLink, Checkin, Person, utcnow
from bot.people.away import available
from bot.periods import last_reply_day
from bot.slack import outbox
from bot.slack.blocks import checkin_message

log = logging.getLogger(__name__)

CHUNK = 1000


@dataclass
class CheckinRun:
    """Outcome of a check-in run."""

    period: str
    enqueued: int
    sent: int
    failed: int
    failures: list[tuple[str, str]]


def eligible_people(
    engine: Engine, org: OrgConfig, *, after_id: int = 0, limit: int = CHUNK, now: dt.datetime | None = None
) -> list[Person]:
    """Active people with a Slack id (guests only when configured), by id, one page at a time; with ``now``,
    not those who are away then."""
    q = select(Person).where(
        Person.is_active.is_(True),
        Person.slack_user_id.is_not(None),  # type: ignore[attr-defined, union-attr]
        Person.forgotten.is_(False),
        Person.id > after_id,
    )  # type: ignore[attr-defined, operator]
    if not org.include_guests:
        q = q.where(Person.is_guest.is_(False))  # type: ignore[attr-defined]
    if now is not None:
        q = q.where(*available(org, now))
    with session_scope(engine) as s:
        return list(s.scalars(q.order_by(Person.id).limit(limit)).all())


def _spend(engine: Engine, period: str, ids: list[int]) -> dict[int, tuple[float, int]]:
    """Spend and tokens per person from the roll-up (kept current with every usage write)."""
    sql = text(
        "SELECT person_id, cost_usd, tokens FROM person_period_total "
        "WHERE period = :p AND person_id IN (" + ", ".join(str(int(i)) for i in ids) + ")"
    )
    with session_scope(engine) as s:
        return {pid: (float(c), int(t)) for pid, c, t in s.execute(sql, {"p": period})}


def _evidence(engine: Engine, period: str, ids: list[int]) -> dict[int, str]:
    """The coding tools' output per person as suggestion lines (suggestions only, never artifacts):
    Claude Code's pull requests and commits, Cursor's accepted lines, Copilot's accepted suggestions."""
    from bot.spend.sync import evidence_text

    sql = text(
        "SELECT person_id, source, metric, SUM(value) FROM output_signal WHERE period = :p AND metric IN "
        "('pull_requests', 'commits', 'lines_accepted', 'code_acceptances') "
        "AND person_id IN (" + ", ".join(str(int(i)) for i in ids) + ") "
        "GROUP BY person_id, source, metric"
    )
    sums: dict[int, dict[tuple[str, str], int]] = {}
    with session_scope(engine) as s:
        for pid, source, metric, value in s.execute(sql, {"p": period}):
            sums.setdefault(pid, {})[(source, metric)] = int(value or 0)
    out = {}
    for pid, m in sums.items():
        line = evidence_text(
            m.get(("claude_code", "pull_requests"), 0),
            m.get(("claude_code", "commits"), 0),
            cursor_lines=m.get(("cursor", "lines_accepted"), 0),
            copilot_acceptances=m.get(("copilot", "code_acceptances"), 0),
        )
        if line:
            out[pid] = line
    return out


def _artifacts(engine: Engine, period: str, ids: list[int]) -> dict[int, list[tuple[str, list[str], str]]]:
    out: dict[int, list[tuple[str, list[str], str]]] = {}
    with session_scope(engine) as s:
        arts = s.scalars(
            select(Artifact).where(
                Artifact.period == period,
                Artifact.removed.is_(False),  # type: ignore[attr-defined]
                Artifact.person_id.in_(ids),
            )
        ).all()  # type: ignore[attr-defined]
        links: dict[int, list[str]] = {}
        if arts:
            for link in s.scalars(
                select(ArtifactLink)
                .where(ArtifactLink.artifact_id.in_([a.id for a in arts]))
                .order_by(ArtifactLink.position)
            ):  # type: ignore[attr-defined]
                links.setdefault(link.artifact_id, []).append(link.url)
        for a in arts:
            out.setdefault(a.person_id, []).append((a.title, links.get(a.id or 0, []), a.status))
    return out


def _insert_checkins(engine: Engine, rows: list[dict[str, Any]]) -> None:
    ins = upsert_insert(engine.dialect.name, Checkin)
    with session_scope(engine) as s:
        s.execute(ins.on_conflict_do_nothing(index_elements=["person_id", "period"]), rows)


def build_items(
    engine: Engine,
    org: OrgConfig,
    period: str,
    now: dt.datetime,
    *,
    kind: str = "checkin",
    suggestions: Callable[[int], str | None] | None = None,
) -> Iterator[outbox.OutboxItem]:
    """Create the period's check-ins and yield their DMs, streaming the org a page at a time."""
    after = 0
    while True:
        people = eligible_people(engine, org, after_id=after, now=now)
        if not people:
            return
        after = people[-1].id or after
        yield from checkin_items(
            engine,
            period,
            people,
            now,
            kind=kind,
            suggestions=suggestions,
            deadline=last_reply_day(period, org.checkin.reply_until_day),
        )


def checkin_items(
    engine: Engine,
    period: str,
    people: list[Person],
    now: dt.datetime,
    *,
    kind: str = "checkin",
    suggestions: Callable[[int], str | None] | None = None,
    deadline: dt.date | None = None,
    record: bool = True,
) -> Iterator[outbox.OutboxItem]:
    """Create the check-ins of one page of people and yield their DMs (spend, artifacts so far,
    Claude Code's suggested evidence unless ``suggestions`` is given, and the last day a reply counts)."""
    at = now.astimezone(dt.UTC).replace(tzinfo=None)
    ids = [p.id for p in people if p.id is not None]
    if record:  # a dry run (``record=False``) creates no check-in
        new = {"period": period, "status": "pending", "reminders_sent": 0, "created_at": at}
        rows = [{"person_id": i, **new} for i in ids]
        _insert_checkins(engine, rows)
    spend = _spend(engine, period, ids)
    arts = _artifacts(engine, period, ids)
    evidence = _evidence(engine, period, ids)
    for p in people:
        assert p.id is not None and p.slack_user_id is not None
        cost, tokens = spend.get(p.id, (0.0, 0))
        text_, blocks = checkin_message(
            name=(p.name or "there").split(" ")[0],
            period=period,
            spend_usd=cost,
            tokens=tokens,
            artifacts=arts.get(p.id, []),
            suggestion=suggestions(p.id) if suggestions else evidence.get(p.id),
            deadline=deadline,
        )
        yield outbox.OutboxItem(
            dedupe_key=f"{kind}:{period}:{p.id}",
            kind=kind,
            channel=p.slack_user_id,
            text=text_,
            blocks=blocks,
            person_id=p.id,
            period=period,
        )


def preview_checkins(
    engine: Engine, org: OrgConfig, period: str, now: dt.datetime, *, keep: int = 5
) -> tuple[int, list[outbox.OutboxItem]]:
    """A dry run of :func:`enqueue_checkins`: how many DMs it would queue and the first ``keep`` of them.

    Writes nothing: no check-in is created, nothing is queued (people already asked are left out, as
    the real run would leave them out).
    """
    total, first = 0, []
    after = 0
    while True:
        people = eligible_people(engine, org, after_id=after, now=now)
        if not people:
            return total, first
        after = people[-1].id or after
        with session_scope(engine) as s:
            asked = set(
                s.scalars(
                    select(Checkin.person_id).where(
                        Checkin.period == period, Checkin.person_id.in_([p.id for p in people])  # type: ignore[attr-defined]
                    )
                ).all()
            )
        todo = [p for p in people if p.id not in asked]
        if not todo:
            continue
        deadline = last_reply_day(period, org.checkin.reply_until_day)
        for item in checkin_items(engine, period, todo, now, deadline=deadline, record=False):
            total += 1
            if len(first) < keep:
                first.append(item)


def enqueue_checkins(
    engine: Engine,
    org: OrgConfig,
    period: str,
    now: dt.datetime,
    suggestions: Callable[[int], str | None] | None = None,
) -> int:
    """Create check-ins and queue their DMs; running it twice for a period queues nothing new."""
    return outbox.enqueue(engine, build_items(engine, org, period, now, suggestions=suggestions), now=now)


def failures(engine: Engine, period: str) -> list[tuple[str, str]]:
    """(Slack id, error) of the period's check-ins that could not be delivered."""
    q = (
        select(Person.slack_user_id, Checkin.error)
        .join(Person, Person.id == Checkin.person_id)
        .where(Checkin.period == period, Checkin.status == "failed")
    )
    with session_scope(engine) as s:
        return [(sid or "", err or "") for sid, err in s.execute(q)]


def status_counts(engine: Engine, period: str) -> dict[str, int]:
    """Check-ins per status for a period."""
    q = select(Checkin.status, func.count()).where(Checkin.period == period).group_by(Checkin.status)
    with session_scope(engine) as s:
        return {st: int(n) for st, n in s.execute(q)}


def mark_skipped(engine: Engine, person_id: int, period: str, now: dt.datetime) -> bool:
    """*Nothing this month*: record the answer (nothing counted). False when no check-in exists."""
    with session_scope(engine) as s:
        c = s.scalars(select(Checkin).where(Checkin.person_id == person_id, Checkin.period == period)).first()
        if c is None:
            c = Checkin(person_id=person_id, period=period, status="skipped")
            s.add(c)
        elif c.status != "answered":
            c.status = "skipped"
        c.answered_at = now.astimezone(dt.UTC).replace(tzinfo=None) if now.tzinfo else utcnow()
        return True
