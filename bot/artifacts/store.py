"""Artifacts: logging (DM replies, modal, command), review (keep/kill), edits, removal."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from bot.artifacts.inbox import clean_text
from bot.artifacts.links import Link, LinkError, clean_title, extract_links, normalize_url, validate_url
from bot.config import ARTIFACT_KINDS, OrgConfig
from bot.db import savepoint, serialize
from bot.errors import InputError, NotFound, PermissionDenied
from bot.models import Artifact, ArtifactLink, AuditLog, Checkin, Note, Person, ProcessedEvent
from bot.periods import month_name, period_at, reply_deadline
from bot.scoring import KEPT, KILLED, STATUSES, SUBMITTED

log = logging.getLogger(__name__)

MAX_TITLE = 150
MAX_DESCRIPTION = 1000
MAX_NOTE = 3000
MAX_LINKS_PER_ARTIFACT = 5
MAX_ARTIFACTS_PER_MESSAGE = 10


@dataclass
class NewArtifact:
    """An artifact a person wants to log, before validation."""

    title: str
    urls: list[str]
    kind: str = "other"
    description: str | None = None


@dataclass
class LogOutcome:
    """Result of logging artifacts from one message or form."""

    period: str
    created: list[Artifact] = field(default_factory=list)
    duplicates: list[Artifact] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    note: Note | None = None
    replayed: bool = False
    carried: list[str] = field(default_factory=list)  # created, but first claimed in an earlier period


def validate_new(new: NewArtifact) -> dict[str, str]:
    """Field errors for a new artifact (empty when valid), keyed ``title``/``links``/``kind``/``description``."""
    errors: dict[str, str] = {}
    title = clean_title(new.title or "", limit=10_000)
    if not title:
        errors["title"] = "Give the artifact a title."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"Keep the title under {MAX_TITLE} characters."
    if not new.urls:
        errors["links"] = "Add at least one http(s) link as evidence."
    elif len(new.urls) > MAX_LINKS_PER_ARTIFACT:
        errors["links"] = f"At most {MAX_LINKS_PER_ARTIFACT} links per artifact."
    else:
        for url in new.urls:
            try:
                validate_url(url)
            except LinkError as exc:
                errors["links"] = f"{url[:60]}: {exc}"
                break
    if new.kind not in ARTIFACT_KINDS:
        errors["kind"] = f"Pick one of: {', '.join(ARTIFACT_KINDS)}."
    if new.description and len(new.description) > MAX_DESCRIPTION:
        errors["description"] = f"Keep this under {MAX_DESCRIPTION} characters."
    return errors


def open_period(session: Session, person_id: int, now: dt.datetime, org: OrgConfig) -> str:
    """The period a reply counts for: the latest check-in still open, else the current month."""
    checkins = session.scalars(
        select(Checkin).where(Checkin.person_id == person_id).order_by(Checkin.period.desc()).limit(3)  # type: ignore[attr-defined]
    ).all()
    for c in checkins:
        if now < reply_deadline(c.period, org.tz, org.checkin.reply_until_day):
            return c.period
    return period_at(now, org.tz)


def _existing_for_urls(
    session: Session, person_id: int, period: str, urls: list[str], excluding: int | None = None
) -> Artifact | None:
    q = (
        select(Artifact)
        .join(ArtifactLink, ArtifactLink.artifact_id == Artifact.id)
        .where(
            Artifact.person_id == person_id,
            Artifact.period == period,
            Artifact.removed.is_(False),  # type: ignore[attr-defined]
            ArtifactLink.normalized_url.in_(urls),
        )  # type: ignore[attr-defined]
    )
    if excluding is not None:
        q = q.where(col(Artifact.id) != excluding)
    return session.scalars(q).first()


def find_logged(
    session: Session, *, person_id: int, period: str, urls: list[str], excluding: int | None = None
) -> Artifact | None:
    """The person's live artifact of ``period`` (other than ``excluding``) with one of these canonical links."""
    return _existing_for_urls(session, person_id, period, urls, excluding)


class LinkTaken(InputError):
    """An edit gives an artifact a link its author already logged for the period in another artifact."""

    def __init__(self, period: str, title: str) -> None:
        super().__init__(f"You already logged this link for {month_name(period)} as “{title[:60]}”.")
        self.period, self.title = period, title


def add_artifact(
    session: Session,
    *,
    person: Person,
    period: str,
    new: NewArtifact,
    source: str,
    source_key: str | None,
    now: dt.datetime,
) -> tuple[Artifact, bool]:
    """Store one artifact; returns ``(artifact, created)``.

    Idempotent: the same ``source_key`` returns the stored artifact. A link this person already
    logged for the period returns that artifact instead of a second one.

    Raises:
        InputError: when a field is invalid (nothing stored).
    """
    errors = validate_new(new)
    if errors:
        raise InputError("; ".join(errors.values()))
    assert person.id is not None
    if source_key:
        existing = session.scalars(select(Artifact).where(Artifact.source_key == source_key)).first()
        if existing is not None:
            return existing, False
    urls = [validate_url(u) for u in new.urls]
    normalised = list(dict.fromkeys(normalize_url(u) for u in urls))
    # Two replies with the same link at once: the second waits here, then finds the first's artifact.
    serialize(session, f"artifacts:{person.id}:{period}")
    dup = _existing_for_urls(session, person.id, period, normalised)
    if dup is not None:
        return dup, False
    at = now.astimezone(dt.UTC).replace(tzinfo=None)
    artifact = Artifact(
        person_id=person.id,
        period=period,
        title=clean_title(clean_text(new.title), MAX_TITLE),
        kind=new.kind,
        status=SUBMITTED,
        source=source,
        source_key=source_key,
        primary_url=normalised[0],
        description=clean_text(new.description or "", 2000).strip() or None,
        created_at=at,
        updated_at=at,
    )
    try:
        with savepoint(session):
            session.add(artifact)
            session.flush()
    except IntegrityError:
        # A concurrent retry stored the same source_key first, or the same link for this person and
        # period (the unique index of migration 0006): return that one.
        existing = session.scalars(select(Artifact).where(Artifact.source_key == source_key)).first()
        if existing is None:
            existing = _existing_for_urls(session, person.id, period, normalised[:1])
        if existing is None:
            raise
        return existing, False
    seen: set[str] = set()
    for pos, url in enumerate(urls):
        norm = normalize_url(url)
        if norm in seen:
            continue
        seen.add(norm)
        session.add(ArtifactLink(artifact_id=artifact.id, position=pos, url=url, normalized_url=norm))
    session.flush()
    return artifact, True


def links_of(session: Session, artifact_ids: list[int]) -> dict[int, list[ArtifactLink]]:
    """Links per artifact, in order."""
    out: dict[int, list[ArtifactLink]] = {}
    if not artifact_ids:
        return out
    q = (
        select(ArtifactLink)
        .where(ArtifactLink.artifact_id.in_(artifact_ids))
        .order_by(  # type: ignore[attr-defined]
            ArtifactLink.artifact_id, ArtifactLink.position
        )
    )
    for link in session.scalars(q):
        out.setdefault(link.artifact_id, []).append(link)
    return out


def mark_answered(session: Session, person_id: int, period: str, now: dt.datetime) -> None:
    """Record that a person answered the period's check-in."""
    c = session.scalars(select(Checkin).where(Checkin.person_id == person_id, Checkin.period == period)).first()
    if c is not None and c.status in ("pending", "sent", "failed", "skipped"):
        c.status = "answered"
        c.answered_at = now.astimezone(dt.UTC).replace(tzinfo=None)


def claim_event(session: Session, event_id: str | None) -> bool:
    """Record an event id; False when it was handled before (a Slack retry or replay)."""
    if not event_id:
        return True
    if session.get(ProcessedEvent, event_id) is not None:
        return False
    try:
        with savepoint(session):
            session.add(ProcessedEvent(event_id=event_id))
            session.flush()
    except IntegrityError:
        return False
    return True


def capture_reply(
    session: Session,
    *,
    person: Person,
    text: str,
    event_key: str,
    now: dt.datetime,
    org: OrgConfig,
    extracted: list[NewArtifact] | None = None,
) -> LogOutcome:
    """Turn a DM reply into artifacts of the open period, or keep it as a note.

    ``extracted`` may come from the language model (already verified against the text); the
    deterministic link parser is used otherwise. Replays of ``event_key`` change nothing.
    """
    assert person.id is not None
    text = clean_text(text)  # no NUL or control character reaches a database (PostgreSQL refuses NUL)
    period = open_period(session, person.id, now, org)
    outcome = LogOutcome(period=period)
    if not claim_event(session, event_key):
        outcome.replayed = True
        return outcome
    if extracted is None:
        from bot.artifacts.extraction import deterministic_extract

        extracted = [NewArtifact(title=e.title, urls=e.links, kind=e.kind) for e in deterministic_extract(text)]
    _, outcome.rejected = extract_links(text)
    for i, new in enumerate(extracted[:MAX_ARTIFACTS_PER_MESSAGE]):
        try:
            art, created = add_artifact(
                session,
                person=person,
                period=period,
                new=new,
                source="dm",
                source_key=f"{event_key}:{i}",
                now=now,
            )
        except InputError as exc:
            outcome.rejected.append(str(exc))
            continue
        (outcome.created if created else outcome.duplicates).append(art)
    outcome.carried = carried_lines(session, period, outcome.created, org)
    if len(extracted) > MAX_ARTIFACTS_PER_MESSAGE:
        outcome.rejected.append(f"only the first {MAX_ARTIFACTS_PER_MESSAGE} links of a message are recorded")
    if not extracted:
        note = Note(person_id=person.id, period=period, text=text[:MAX_NOTE], source_key=event_key)
        session.add(note)
        session.flush()
        outcome.note = note
    mark_answered(session, person.id, period, now)
    return outcome


def carried_lines(session: Session, period: str, artifacts: list[Artifact], org: OrgConfig) -> list[str]:
    """For the artifacts whose link was first claimed in an earlier period: what the answer says of each."""
    from bot.artifacts.flags import carried_over
    from bot.config import weights_of

    first = carried_over(session, period, [a.primary_url for a in artifacts], weights_of(org))
    return [
        f"{a.title}: {first[a.primary_url].label()}, so it counts 0 in {month_name(period)}"
        for a in artifacts
        if a.primary_url in first
    ]


def _audit(session: Session, actor: str, action: str, artifact: Artifact, detail: dict[str, object]) -> None:
    session.add(AuditLog(actor=actor, action=action, target_type="artifact", target_id=str(artifact.id), detail=detail))


def _decided_first(session: Session, artifact: Artifact) -> InputError:
    """The refusal for a reviewer who came second: "Already killed by Grace: nothing was changed."."""
    by = session.scalar(select(Person.name).where(col(Person.slack_user_id) == artifact.reviewed_by))
    who = f" by {by}" if by else ""
    return InputError(f"Already {artifact.status}{who}: nothing was changed.")


def check_review(
    session: Session,
    *,
    artifact_id: int,
    status: str,
    reviewer: Person,
    may_review: bool,
    seen: str | None = None,
) -> Artifact:
    """What :func:`review_once` would refuse, checked without writing (before a Kill modal opens).

    Returns:
        The artifact, whose status is still ``seen`` (when given).

    Raises:
        NotFound: no such artifact.
        PermissionDenied: the reviewer made it, or may not review this team.
        InputError: its status is no longer ``seen`` (someone reviewed it since the button was shown).
    """
    if status not in STATUSES:
        raise InputError(f"unknown status {status!r}")
    artifact = session.get(Artifact, artifact_id)
    if artifact is None or artifact.removed:
        raise NotFound("That artifact no longer exists.")
    if artifact.person_id == reviewer.id:
        raise PermissionDenied("You cannot keep or kill your own artifact: someone who did not make it must.")
    if not may_review:
        raise PermissionDenied("Only a manager of this person's team or an admin can review this artifact.")
    if seen is not None and artifact.status != seen:
        raise _decided_first(session, artifact)
    return artifact


def review_once(
    session: Session,
    *,
    artifact_id: int,
    status: str,
    reviewer: Person,
    now: dt.datetime,
    may_review: bool,
    seen: str | None = None,
    reason: str | None = None,
) -> tuple[Artifact, bool]:
    """Keep or kill an artifact, compare-and-set: it changes only if its status is still ``seen`` (the one
    the reviewer's button showed; default: the one read now). One winner when two managers (or a double
    click) race: the change is audited once and the others are told who decided first. ``reason`` (the
    reviewer's, optional) is kept in the audit entry's detail.

    Returns:
        The artifact and whether this call changed it (False: it already had ``status``).

    Raises:
        NotFound: no such artifact.
        PermissionDenied: the reviewer made it, or may not review this team.
        InputError: someone else reviewed it since the button was shown ("already killed by Grace").
    """
    artifact = check_review(session, artifact_id=artifact_id, status=status, reviewer=reviewer, may_review=may_review)
    before = artifact.status if seen is None else seen
    if before == status and artifact.status == status:
        return artifact, False
    at = now.astimezone(dt.UTC).replace(tzinfo=None)
    won = session.execute(
        update(Artifact)
        .where(col(Artifact.id) == artifact_id, col(Artifact.status) == before)
        .values(status=status, reviewed_by=reviewer.slack_user_id, reviewed_at=at, updated_at=at)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        session.refresh(artifact)
        raise _decided_first(session, artifact)
    # The row is ours; the same values through the ORM so the flush marks the roll-ups dirty.
    artifact.status = status
    artifact.reviewed_by = reviewer.slack_user_id
    artifact.reviewed_at = at
    artifact.updated_at = at
    detail: dict[str, object] = {"before": before, "after": status, "title": artifact.title}
    if reason:
        detail["reason"] = reason
    _audit(session, reviewer.slack_user_id or str(reviewer.id), f"artifact_{status}", artifact, detail)
    session.flush()
    return artifact, True


def kill_reasons(session: Session, artifact_ids: list[int]) -> dict[int, str]:
    """The reason given with each artifact's latest kill (for the report's "killed by Grace: duplicate of X").

    Artifacts killed without a reason, or never killed, are left out; whether one is killed now is the caller's
    to check (its status).
    """
    if not artifact_ids:
        return {}
    rows = session.execute(
        select(AuditLog.target_id, AuditLog.detail)
        .where(
            col(AuditLog.target_type) == "artifact",
            col(AuditLog.action) == f"artifact_{KILLED}",
            col(AuditLog.target_id).in_([str(i) for i in artifact_ids]),
        )
        .order_by(col(AuditLog.id))
    ).all()
    latest = {int(target): (detail or {}).get("reason") for target, detail in rows}
    return {i: str(reason) for i, reason in latest.items() if reason}


def edit_artifact(
    session: Session, *, artifact_id: int, editor: Person, new: NewArtifact, now: dt.datetime
) -> Artifact:
    """Change an artifact's title, links, kind or description; a kept one returns to submitted.

    Raises:
        NotFound, PermissionDenied, InputError (:class:`LinkTaken`: another of the author's artifacts of the
        period has one of the new links).
    """
    artifact = session.get(Artifact, artifact_id)
    if artifact is None or artifact.removed:
        raise NotFound("That artifact no longer exists.")
    if artifact.person_id != editor.id:
        raise PermissionDenied("Only the person who logged an artifact can edit it.")
    errors = validate_new(new)
    if errors:
        raise InputError("; ".join(errors.values()))
    urls = [validate_url(u) for u in new.urls]
    normalised = list(dict.fromkeys(normalize_url(u) for u in urls))
    taken = find_logged(
        session, person_id=artifact.person_id, period=artifact.period, urls=normalised, excluding=artifact.id
    )
    if taken is not None:  # one live artifact per person, period and link: the edit changes nothing
        raise LinkTaken(artifact.period, taken.title)
    before = {
        "title": artifact.title,
        "kind": artifact.kind,
        "status": artifact.status,
        "primary_url": artifact.primary_url,
    }
    for link in session.scalars(select(ArtifactLink).where(ArtifactLink.artifact_id == artifact.id)).all():
        session.delete(link)
    session.flush()
    for pos, url in enumerate(dict.fromkeys(urls)):
        session.add(ArtifactLink(artifact_id=artifact.id, position=pos, url=url, normalized_url=normalize_url(url)))
    artifact.title = clean_title(new.title, MAX_TITLE)
    artifact.kind = new.kind
    artifact.description = (new.description or "").strip() or None
    artifact.primary_url = normalised[0]
    if artifact.status == KEPT:
        artifact.status = SUBMITTED  # a kept artifact changed after review must be confirmed again
    artifact.updated_at = now.astimezone(dt.UTC).replace(tzinfo=None)
    session.flush()
    # A keep that committed after this edit read the artifact approved the old links: the database's
    # latest status decides, not the one read (compare-and-set, as reviews are).
    reset = session.execute(
        update(Artifact)
        .where(col(Artifact.id) == artifact.id, col(Artifact.status) == KEPT)
        .values(status=SUBMITTED)
        .execution_options(synchronize_session=False)
    ).rowcount
    if reset:
        artifact.status = SUBMITTED
    _audit(
        session,
        editor.slack_user_id or str(editor.id),
        "artifact_edited",
        artifact,
        {
            "before": before,
            "after": {"title": artifact.title, "kind": artifact.kind, "status": artifact.status},
        },
    )
    session.flush()
    return artifact


def remove_artifact(session: Session, *, artifact_id: int, actor: Person, now: dt.datetime) -> Artifact:
    """Remove one's own artifact (kept for the audit trail, no longer counted)."""
    artifact = session.get(Artifact, artifact_id)
    if artifact is None or artifact.removed:
        raise NotFound("That artifact no longer exists.")
    if artifact.person_id != actor.id:
        raise PermissionDenied("Only the person who logged an artifact can remove it.")
    artifact.removed = True
    artifact.updated_at = now.astimezone(dt.UTC).replace(tzinfo=None)
    _audit(session, actor.slack_user_id or str(actor.id), "artifact_removed", artifact, {"title": artifact.title})
    session.flush()
    return artifact


def artifacts_of(session: Session, person_id: int, period: str) -> list[Artifact]:
    """A person's artifacts of a period, newest first (removed ones left out)."""
    q = (
        select(Artifact)
        .where(Artifact.person_id == person_id, Artifact.period == period, Artifact.removed.is_(False))
        .order_by(Artifact.created_at.desc())
    )  # type: ignore[attr-defined]
    return list(session.scalars(q).all())


__all__ = ["KEPT", "KILLED", "SUBMITTED", "Link", "LogOutcome", "NewArtifact"]
