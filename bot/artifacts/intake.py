"""Artifacts coming in: from ``/artifact`` text, a DM reply, the modal; edits and removals.

Each function takes plain values (the person already resolved, the parsed text or form fields)
and returns plain data; the caller turns it into a Slack answer. Notes for managers about a
link claimed across teams come back as :class:`Notice` values for the caller to send through
the outbox.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from bot.artifacts import inbox
from bot.artifacts.flags import claim_message, cross_team_claim, slack_ids
from bot.artifacts.links import (
    LinkError,
    clean_title,
    escape_mrkdwn,
    extract_links,
    normalize_url,
    title_for,
    validate_url,
)
from bot.artifacts.store import (
    LinkTaken,
    NewArtifact,
    add_artifact,
    capture_reply,
    edit_artifact,
    find_logged,
    links_of,
    open_period,
    remove_artifact,
    validate_new,
)
from bot.config import ARTIFACT_KINDS, OrgConfig
from bot.db import session_scope
from bot.errors import InputError, NotFound, PermissionDenied
from bot.models import Artifact, Person
from bot.periods import period_at

log = logging.getLogger(__name__)

MAX_COMMAND_TEXT = 1000
NOTICE_KIND = "claim_notice"  # the outbox kind of a manager's note about a cross-team claim


@dataclass(frozen=True)
class Notice:
    """A message for someone other than the person who acted (sent through the outbox)."""

    channel: str
    text: str
    key: str  # idempotency: the same notice is never queued twice


@dataclass
class Logged:
    """What was recorded from one command, reply or form, in the shape of the bot's answer."""

    period: str
    created: list[tuple[int, str, list[str]]] = field(default_factory=list)  # (id, title, links)
    duplicates: list[str] = field(default_factory=list)  # titles of artifacts already logged
    rejected: list[str] = field(default_factory=list)
    note_kept: bool = False
    notices: list[Notice] = field(default_factory=list)
    carried: list[str] = field(default_factory=list)  # recorded, but first claimed in an earlier period (counts 0)


@dataclass
class ArtifactForm:
    """An artifact's fields as the *Edit* modal shows them."""

    artifact_id: int
    period: str
    title: str
    urls: list[str]
    kind: str
    description: str


@dataclass
class Changed:
    """The artifact an edit or a removal touched."""

    artifact_id: int
    title: str
    period: str


class FieldErrors(InputError):
    """Invalid form fields, keyed ``title``/``links``/``kind``/``description``; nothing was saved."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def already_logged(period: str, title: str) -> FieldErrors:
    """The form's error for a link its author already logged in ``period``."""
    return FieldErrors({"links": str(LinkTaken(period, title))})


def _uid(person: Person) -> int:
    if person.id is None:
        raise NotFound("That person is not stored yet.")
    return person.id


def sent_at(ts: str, now: dt.datetime) -> dt.datetime:
    """When a message was sent (Slack's ``ts``), so a reply processed late still counts for its period.

    A ``ts`` more than a week before ``now`` or in the future (not a real Slack timestamp) gives ``now``.
    """
    try:
        sent = dt.datetime.fromtimestamp(float(ts), dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return now
    return sent if now - dt.timedelta(days=7) <= sent <= now + dt.timedelta(minutes=5) else now


def period_for(*, engine: Engine, org: OrgConfig, person: Person, now: dt.datetime) -> str:
    """The period a new artifact of ``person`` counts for now (the modal's period)."""
    with session_scope(engine) as s:
        return open_period(s, _uid(person), now, org)


def flag_claims(*, engine: Engine, artifact_ids: list[int]) -> list[Notice]:
    """Notes for both teams' managers when a link is claimed by people of different teams (once per link)."""
    notices: list[Notice] = []
    with session_scope(engine) as s:
        for art_id in artifact_ids:
            art = s.get(Artifact, art_id)
            claim = cross_team_claim(s, art) if art is not None else None
            if claim is None or not claim.new:
                continue
            text = claim_message(claim)
            digest = hashlib.sha256(claim.url.encode()).hexdigest()[:24]
            for manager in slack_ids(claim.managers, s):
                notices.append(Notice(channel=manager, text=text, key=f"claim:{claim.period}:{digest}:{manager}"))
    return notices


def log_from_command(*, engine: Engine, org: OrgConfig, person: Person, text: str, now: dt.datetime) -> Logged:
    """``/artifact URL [title]``: log one link for the open period.

    Returns:
        What was recorded; ``created`` is empty and ``duplicates`` names the artifact when the
        person already logged that link for the period.

    Raises:
        InputError: the text is too long, does not start with an http(s) link, or the artifact is
            invalid (nothing saved).
    """
    text = (text or "").strip()
    if len(text) > MAX_COMMAND_TEXT:
        raise InputError(f"That is too long: keep /artifact under {MAX_COMMAND_TEXT} characters.")
    with session_scope(engine) as s:
        period = open_period(s, _uid(person), now, org)
    links, rejected = extract_links(text)
    first = (text.split() or [""])[0].strip("<>").split("|")[0]
    if not links or not text.lstrip("<").lower().startswith(("http://", "https://")):
        why = rejected[0] if rejected else f"{first[:60]!r} is not an http(s) link"
        raise InputError(
            f"Usage: /artifact URL [title], e.g. /artifact https://github.com/acme/app/pull/42 "
            f"Churn agent. ({escape_mrkdwn(why)}) Nothing was saved."
        )
    link = links[0]
    title = text[link.end :].strip() if link.start == 0 else ""
    title = title or link.label or title_for(text, link, links)
    new = NewArtifact(title=title, urls=[link.url], kind="other")
    errors = validate_new(new)
    if errors:
        raise InputError(" ".join(errors.values()) + " Nothing was saved.")
    with session_scope(engine) as s:
        art, created = add_artifact(
            s, person=person, period=period, new=new, source="command", source_key=None, now=now
        )
        art_id, art_title = art.id or 0, art.title
    if not created:
        return Logged(period=period, duplicates=[art_title])
    return Logged(
        period=period,
        created=[(art_id, art_title, [link.url])],
        notices=flag_claims(engine=engine, artifact_ids=[art_id]),
    )


def refine_titles(*, engine: Engine, llm: Any, artifact_ids: list[int], text: str) -> None:
    """Let the language model name and classify artifacts already stored from ``text``.

    Only title, kind and impact change, matched by link (links are never taken from the model);
    any failure leaves the stored artifacts as they are.
    """
    try:
        result = llm.extract_artifacts(text)
    except Exception:
        log.exception("language model refinement failed; keeping the parsed artifacts")
        return
    if getattr(result, "path", None) != "model":
        return
    by_url = {normalize_url(u): e for e in result.artifacts for u in e.links}
    with session_scope(engine) as s:
        for art_id in artifact_ids:
            art = s.get(Artifact, art_id)
            found = by_url.get(art.primary_url) if art is not None else None
            if art is None or found is None:
                continue
            if found.title:
                art.title = clean_title(found.title, 150)
            if found.kind in ARTIFACT_KINDS:
                art.kind = found.kind
            if found.impact and not art.description:
                art.description = found.impact[:1000]


def capture_dm(
    *,
    engine: Engine,
    journal: Engine,
    org: OrgConfig,
    person: Person,
    channel: str,
    ts: str,
    text: str,
    now: dt.datetime,
    llm: Any = None,
) -> Logged | None:
    """A DM reply: links become artifacts of the open period; no link keeps a note.

    The deterministic parser stores the artifacts first, so nothing depends on the language
    model; when ``llm`` is given it then refines titles and kinds of what was stored. The
    reply's journal row (``journal``) is marked processed.

    Returns:
        What was recorded, or None for a replay of a message already handled (Slack retries).
    """
    key = inbox.message_key(channel, ts)
    with session_scope(engine) as s:
        outcome = capture_reply(s, person=person, text=text or "", event_key=key, now=sent_at(ts, now), org=org)
    inbox.mark_processed(journal, key)
    if outcome.replayed:
        return None
    new_ids = [a.id for a in outcome.created if a.id is not None]
    if new_ids and llm is not None:
        refine_titles(engine=engine, llm=llm, artifact_ids=new_ids, text=text)
    notices = flag_claims(engine=engine, artifact_ids=new_ids) if new_ids else []
    with session_scope(engine) as s:
        fresh = {a.id: a for a in (s.get(Artifact, i) for i in new_ids) if a is not None}
        links = links_of(s, new_ids)
        created = [(i, fresh[i].title, [link.url for link in links.get(i, [])]) for i in new_ids if i in fresh]
    return Logged(
        period=outcome.period,
        created=created,
        duplicates=[a.title for a in outcome.duplicates],
        rejected=list(outcome.rejected),
        note_kept=outcome.note is not None,
        notices=notices,
        carried=list(outcome.carried),
    )


def read_form(*, title: str, links: str, kind: str | None, description: str | None) -> NewArtifact:
    """The modal's fields as an artifact to save: links split on spaces and commas, all checked.

    Raises:
        FieldErrors: one message per invalid field (nothing saved).
    """
    urls = [u.strip().strip("<>") for u in re.split(r"[\s,]+", links or "") if u.strip()]
    errors: dict[str, str] = {}
    for u in urls:
        try:
            validate_url(u)
        except LinkError as exc:
            errors["links"] = f"{u[:60]}: {exc}"
            break
    kind = kind or "other"
    new = NewArtifact(
        title=(title or "").strip(),
        urls=urls,
        kind=kind if kind in ARTIFACT_KINDS else "invalid",
        description=(description or "").strip() or None,
    )
    for key, msg in validate_new(new).items():
        errors.setdefault(key, msg)
    if errors:
        raise FieldErrors(errors)
    return new


def check_new(
    *, engine: Engine, org: OrgConfig, person: Person, new: NewArtifact, asked_period: str | None, now: dt.datetime
) -> str:
    """What the *Add artifact* modal will be saved under, checked by reads alone (no write lock waited for).

    Run before the ack so a link already logged is a field error; the save after the ack
    (``save_new``) still holds, as the unique index does, against a concurrent save.

    Raises:
        FieldErrors: the person already logged this link for that period.
    """
    pid = _uid(person)
    with session_scope(engine) as s:
        open_now = open_period(s, pid, now, org)
        period = asked_period if asked_period in {open_now, period_at(now, org.tz)} else open_now
        urls = list(dict.fromkeys(normalize_url(validate_url(u)) for u in new.urls))
        art = find_logged(s, person_id=pid, period=period, urls=urls)
        if art is not None:
            raise already_logged(period, art.title)
    return period


def save_new(
    *,
    engine: Engine,
    org: OrgConfig,
    person: Person,
    new: NewArtifact,
    asked_period: str | None,
    source_key: str | None,
    now: dt.datetime,
) -> Logged:
    """Save the *Add artifact* modal; a resubmission of the same view (``source_key``) is answered again.

    The modal's period comes back from Slack: only a period the person may log for now is taken.

    Raises:
        FieldErrors: the person already logged this link for the period under another submission.
    """
    pid = _uid(person)
    with session_scope(engine) as s:
        open_now = open_period(s, pid, now, org)
        period = asked_period if asked_period in {open_now, period_at(now, org.tz)} else open_now
        art, created = add_artifact(
            s, person=person, period=period, new=new, source="modal", source_key=source_key, now=now
        )
        if not created and art.source_key != source_key:
            raise already_logged(period, art.title)
        art_id, title = art.id or 0, art.title
    notices = flag_claims(engine=engine, artifact_ids=[art_id]) if created else []
    return Logged(period=period, created=[(art_id, title, list(new.urls))], notices=notices)


def save_edit(*, engine: Engine, person: Person, artifact_id: int, new: NewArtifact, now: dt.datetime) -> Changed:
    """Save the *Edit artifact* modal (the owner only; a kept artifact returns to submitted).

    Raises:
        NotFound, PermissionDenied, InputError: nothing changed.
    """
    with session_scope(engine) as s:
        try:
            art = edit_artifact(s, artifact_id=artifact_id, editor=person, new=new, now=now)
        except LinkTaken as exc:
            raise already_logged(exc.period, exc.title) from exc  # shown under the links field
        return Changed(artifact_id=art.id or 0, title=art.title, period=art.period)


def edit_form(*, engine: Engine, person: Person, artifact_id: int) -> ArtifactForm:
    """An artifact's fields for the *Edit* modal, for its owner only.

    Raises:
        NotFound: no such artifact, or it was removed.
        PermissionDenied: someone else logged it.
    """
    with session_scope(engine) as s:
        art = s.get(Artifact, artifact_id)
        if art is None or art.removed:
            raise NotFound("That artifact no longer exists.")
        if art.person_id != person.id:
            raise PermissionDenied("Only the person who logged an artifact can edit it.")
        urls = [link.url for link in links_of(s, [artifact_id]).get(artifact_id, [])]
        return ArtifactForm(
            artifact_id=artifact_id,
            period=art.period,
            title=art.title,
            urls=urls,
            kind=art.kind,
            description=art.description or "",
        )


def remove(*, engine: Engine, person: Person, artifact_id: int, now: dt.datetime) -> Changed:
    """*Remove* one's own artifact (kept for the audit trail, no longer counted).

    Raises:
        NotFound, PermissionDenied: nothing changed.
    """
    with session_scope(engine) as s:
        art = remove_artifact(s, artifact_id=artifact_id, actor=person, now=now)
        return Changed(artifact_id=art.id or 0, title=art.title, period=art.period)
