"""``artifacts export``: every artifact with what it counted, its flags, carry-over and review history.

The columns of ``artifacts import`` come first (an export imports again and changes nothing), then
``counted_value``, ``flags``, ``carried_over`` and ``review_history``. CSV cells are neutralised
against formula injection.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from bot.artifacts.flags import burst_people, carried_over
from bot.artifacts.transfer import COLUMNS, EXPORT_ONLY, csv_safe
from bot.boards.leaderboard import counted_artifact_values
from bot.config import OrgConfig, weights_of
from bot.models import Artifact, ArtifactLink, AuditLog, Person, TeamMember
from bot.periods import bounds

_REVIEWS = ("artifact_imported", "artifact_kept", "artifact_killed", "artifact_submitted", "artifact_edited")


@dataclass
class ExportedArtifact:
    """One line of ``artifacts export``."""

    period: str
    email: str | None
    slack_user_id: str | None
    url: str
    title: str
    kind: str
    status: str
    counted_value: float
    flags: list[str] = field(default_factory=list)
    carried_over: str | None = None
    review_history: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The JSON object of this line: the fields, by their names, the counted value to six places."""
        return {**asdict(self), "counted_value": round(self.counted_value, 6)}

    def as_csv(self) -> list[str]:
        """The CSV cells of this line, neutralised against formulas."""
        history = "; ".join(f"{h['at']} {h['actor']} {h['action']}" for h in self.review_history)
        cells = [
            self.period,
            self.email or "",
            self.slack_user_id or "",
            self.url,
            self.title,
            self.kind,
            self.status,
            f"{self.counted_value:g}",
            "; ".join(self.flags),
            self.carried_over or "",
            history,
        ]
        return [csv_safe(c) for c in cells]


def _history(session: Session, ids: list[int]) -> dict[int, list[dict[str, str]]]:
    out: dict[int, list[dict[str, str]]] = defaultdict(list)
    keys = [str(i) for i in ids]
    for i in range(0, len(keys), 500):
        rows = session.execute(
            select(
                col(AuditLog.target_id),
                col(AuditLog.at),
                col(AuditLog.actor),
                col(AuditLog.action),
                col(AuditLog.detail),
            )
            .where(
                col(AuditLog.target_type) == "artifact",
                col(AuditLog.target_id).in_(keys[i : i + 500]),
                col(AuditLog.action).in_(_REVIEWS),
            )
            .order_by(col(AuditLog.at), col(AuditLog.id))
        ).all()
        for target, at, actor, action, detail in rows:
            what = action.removeprefix("artifact_")
            if what == "imported":
                what = f"imported as {(detail or {}).get('status', 'submitted')}"
            out[int(target)].append({"at": at.isoformat(timespec="minutes"), "actor": actor, "action": what})
    return out


def _teams(session: Session, person_ids: set[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    ids = sorted(person_ids)
    for i in range(0, len(ids), 500):
        for tid, pid in session.execute(
            select(col(TeamMember.team_id), col(TeamMember.person_id)).where(
                col(TeamMember.person_id).in_(ids[i : i + 500])
            )
        ):
            out[pid].add(tid)
    return out


def export_artifacts(session: Session, *, org: OrgConfig, period: str | None = None) -> list[ExportedArtifact]:
    """Every artifact (removed ones left out) of ``period``, or of every period, in a stable order."""
    w = weights_of(org)
    periods = (
        [period]
        if period
        else sorted(
            set(session.scalars(select(col(Artifact.period)).where(col(Artifact.removed).is_(False)).distinct()))
        )
    )
    out: list[ExportedArtifact] = []
    for p in periods:
        arts = session.execute(
            select(
                col(Artifact.id),
                col(Artifact.person_id),
                col(Artifact.title),
                col(Artifact.kind),
                col(Artifact.status),
                col(Artifact.primary_url),
                col(Artifact.created_at),
                col(Person.email),
                col(Person.slack_user_id),
            )
            .join(Person, col(Person.id) == col(Artifact.person_id))
            .where(col(Artifact.period) == p, col(Artifact.removed).is_(False))
            .order_by(col(Artifact.id))
        ).all()
        if not arts:
            continue
        ids = [a.id for a in arts]
        person_ids = {a.person_id for a in arts}
        counted = counted_artifact_values(session, p, w, sorted(person_ids))
        carried = carried_over(session, p, {a.primary_url for a in arts}, w)
        history = _history(session, ids)
        first_link: dict[int, str] = {}
        for i in range(0, len(ids), 500):
            for aid, url in session.execute(
                select(col(ArtifactLink.artifact_id), col(ArtifactLink.url))
                .where(col(ArtifactLink.artifact_id).in_(ids[i : i + 500]))
                .order_by(col(ArtifactLink.artifact_id), col(ArtifactLink.position))
            ):
                first_link.setdefault(aid, url)
        teams = _teams(session, person_ids)
        claimants: dict[str, set[int]] = defaultdict(set)
        for a in arts:
            claimants[a.primary_url].add(a.person_id)
        bursts = burst_people(
            session, p, sorted(person_ids), tz=org.tz, hours=org.burst_window_hours, minimum=org.burst_min_artifacts
        )
        end = dt.datetime.combine(bounds(p)[1] + dt.timedelta(days=1), dt.time(0), tzinfo=org.tz)
        burst_start = (end - dt.timedelta(hours=org.burst_window_hours)).astimezone(dt.UTC).replace(tzinfo=None)
        given: set[tuple[int, str]] = set()
        for a in arts:
            flags = []
            if any(
                not (teams.get(o, set()) & teams.get(a.person_id, set()))
                for o in claimants[a.primary_url] - {a.person_id}
            ):
                flags.append("also claimed by another team")
            if a.person_id in bursts and a.created_at >= burst_start:
                flags.append(f"one of {bursts[a.person_id]} logged in the last {org.burst_window_hours}h of the period")
            # A person's link counts once: its value goes to the first of their artifacts with it.
            key = (a.person_id, a.primary_url)
            value = 0.0 if key in given else counted.get(a.person_id, {}).get(a.primary_url, 0.0)
            given.add(key)
            first = carried.get(a.primary_url)
            out.append(
                ExportedArtifact(
                    period=p,
                    email=a.email,
                    slack_user_id=a.slack_user_id,
                    url=first_link.get(a.id, a.primary_url),
                    title=a.title,
                    kind=a.kind,
                    status=a.status,
                    counted_value=value,
                    flags=flags,
                    carried_over=first.label() if first is not None else None,
                    review_history=history.get(a.id, []),
                )
            )
    out.sort(key=lambda e: (e.period, e.email or "", e.slack_user_id or "", e.url, e.title))
    return out


def export_csv(rows: list[ExportedArtifact]) -> str:
    """The export as CSV (the import's columns first)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*COLUMNS, *EXPORT_ONLY])
    for r in rows:
        writer.writerow(r.as_csv())
    return buf.getvalue()


def export_json(rows: list[ExportedArtifact]) -> str:
    """The export as one JSON array."""
    return json.dumps([r.as_json() for r in rows], indent=2, ensure_ascii=False)
