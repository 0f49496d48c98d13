"""Data rights and the audit trail: export everything about a person, forget a person, read the log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.errors import NotFound
from bot.models import (
    Artifact,
    ArtifactLink,
    AuditLog,
    Checkin,
    HomeChartFile,
    InboundMessage,
    Note,
    OutboxMessage,
    OutputSignal,
    Person,
    TeamManager,
    TeamMember,
    UsageRow,
)
from bot.people.store import find_person


def _person(session: Session, ident: str) -> Person:
    person = find_person(session, ident)
    if person is None and ident.isdigit():
        person = session.get(Person, int(ident))
    if person is None:
        raise NotFound(f"no person with email or Slack id {ident!r}")
    return person


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


def _row(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: _iso(v) for k, v in obj.model_dump().items() if k not in skip}


def export_person(session: Session, ident: str, *, actor: str) -> dict[str, Any]:
    """Everything stored about a person, as JSON-ready data (audited)."""
    p = _person(session, ident)
    arts = session.scalars(select(Artifact).where(Artifact.person_id == p.id).order_by(Artifact.id)).all()
    links = session.scalars(select(ArtifactLink).where(ArtifactLink.artifact_id.in_([a.id for a in arts]))).all()
    by_art: dict[int, list[dict[str, Any]]] = {}
    for link in links:
        by_art.setdefault(link.artifact_id, []).append({"url": link.url, "label": link.label})
    data = {
        "person": _row(p),
        "teams": [t for (t,) in session.execute(select(TeamMember.team_id).where(TeamMember.person_id == p.id))],
        "manages": [
            t
            for (t,) in session.execute(
                select(TeamManager.team_id).where(TeamManager.ident.in_([x for x in (p.slack_user_id, p.email) if x]))
            )
        ],
        "usage": [
            _row(u, skip=("id",))
            for u in session.scalars(select(UsageRow).where(UsageRow.person_id == p.id).order_by(UsageRow.date))
        ],
        "artifacts": [{**_row(a), "links": by_art.get(a.id or 0, [])} for a in arts],
        "notes": [_row(n) for n in session.scalars(select(Note).where(Note.person_id == p.id))],
        "checkins": [_row(c) for c in session.scalars(select(Checkin).where(Checkin.person_id == p.id))],
        "home_chart": [_row(h) for h in session.scalars(select(HomeChartFile).where(HomeChartFile.person_id == p.id))],
        "output_signals": [
            _row(o) for o in session.scalars(select(OutputSignal).where(OutputSignal.person_id == p.id))
        ],
        "messages_sent": [
            _row(m, skip=("payload",))
            for m in session.scalars(select(OutboxMessage).where(OutboxMessage.person_id == p.id))
        ],
        "audit": [
            _row(a)
            for a in session.scalars(
                select(AuditLog).where(AuditLog.actor.in_([x for x in (p.slack_user_id, p.email, str(p.id)) if x]))
            )
        ],
    }
    session.add(AuditLog(actor=actor, action="person_exported", target_type="person", target_id=str(p.id), detail={}))
    return data


def forget_person(session: Session, ident: str, *, actor: str, journal: Engine | None = None) -> int:
    """Remove a person's personal data and message text; keep anonymised numbers (audited).

    Kept: usage amounts, artifact kind/status/period and the normalised primary link (team
    de-duplication depends on it), so past boards do not change. Removed: name, email, Slack id,
    timezone, titles, descriptions, link labels and raw links, notes, the App Home chart's file id,
    stored DM text (also in
    ``journal``, the DM journal when it is a database of its own), queued message bodies, the
    identities providers knew them by.
    """
    p = _person(session, ident)
    pid = p.id
    assert pid is not None
    old_ids = [x for x in (p.slack_user_id, p.email) if x]
    p.name, p.email, p.slack_user_id, p.tz = f"forgotten-{pid}", None, None, None
    p.is_active, p.forgotten = False, True
    art_ids = [a for (a,) in session.execute(select(Artifact.id).where(Artifact.person_id == pid))]
    session.execute(
        update(Artifact).where(Artifact.person_id == pid).values(title="[removed]", description=None, source_key=None)
    )
    if art_ids:
        session.execute(
            update(ArtifactLink).where(ArtifactLink.artifact_id.in_(art_ids)).values(url="[removed]", label=None)
        )
    session.execute(delete(Note).where(Note.person_id == pid))
    session.execute(delete(HomeChartFile).where(HomeChartFile.person_id == pid))  # their App Home chart's file id
    for model in (UsageRow, OutputSignal):
        idents = [i for (i,) in session.execute(select(model.identity).where(model.person_id == pid).distinct())]
        for n, ident in enumerate(idents):
            session.execute(
                update(model)
                .where(model.person_id == pid, model.identity == ident)
                .values(identity=f"forgotten:{pid}:{n}")
            )
    session.execute(update(OutboxMessage).where(OutboxMessage.person_id == pid).values(payload={}, channel="forgotten"))
    session.execute(update(Checkin).where(Checkin.person_id == pid).values(channel_id=None, message_ts=None))
    if old_ids:
        session.execute(delete(InboundMessage).where(InboundMessage.user_id.in_(old_ids)))
        if journal is not None:
            # The DM journal in its own database (bot.db.journal_engine): the same delete there.
            # Written here, not through bot.artifacts.inbox, because artifacts import people.
            with Session(journal) as js, js.begin():
                js.execute(delete(InboundMessage).where(InboundMessage.user_id.in_(old_ids)))
        session.execute(delete(TeamManager).where(TeamManager.ident.in_(old_ids)))
    session.add(AuditLog(actor=actor, action="person_forgotten", target_type="person", target_id=str(pid), detail={}))
    session.flush()
    return pid


def audit_entries(session: Session, *, since: dt.datetime | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """The audit log, oldest first."""
    q = select(AuditLog).order_by(AuditLog.at, AuditLog.id)
    if since is not None:
        q = q.where(AuditLog.at >= since.astimezone(dt.UTC).replace(tzinfo=None) if since.tzinfo else since)
    return [_row(a) for a in session.scalars(q.limit(limit))]
