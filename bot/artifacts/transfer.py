"""``artifacts import``: history from the spreadsheets teams kept before the bot, as CSV.

Columns: ``period`` (YYYY-MM), ``email`` or ``slack_user_id``, ``url``, ``title``, ``kind`` (optional,
default ``other``), ``status`` (``submitted``, ``kept`` or ``killed``; default ``submitted``). The
columns ``artifacts export`` adds (counted value, flags, carried-over, review history) are accepted and
ignored, so an export imports again. Every problem is reported with file and line and nothing is
written from a bad file; one artifact per person, period and canonical URL, so importing the same
file again changes nothing. Each import is audited.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from bot.artifacts.links import LinkError, canonical_url, clean_title, validate_url
from bot.artifacts.store import MAX_TITLE
from bot.config import ARTIFACT_KINDS
from bot.db import session_scope
from bot.errors import ImportFileError
from bot.models import Artifact, ArtifactLink, AuditLog, Person
from bot.people.store import is_slack_id
from bot.periods import parse_period
from bot.scoring import STATUSES, SUBMITTED

COLUMNS = ("period", "email", "slack_user_id", "url", "title", "kind", "status")
EXPORT_ONLY = ("counted_value", "flags", "carried_over", "review_history")
MAX_PROBLEMS = 200
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """Neutralise a spreadsheet formula in a cell (CSV injection): a leading ``'`` before = + - @ tab CR."""
    return "'" + value if value[:1] in _FORMULA else value


def csv_unsafe(value: str) -> str:
    """The value ``csv_safe`` neutralised, as it was (so an export imports to the same text)."""
    return value[1:] if value[:1] == "'" and value[1:2] in _FORMULA and value[1:2] != "" else value


@dataclass(frozen=True)
class ArtifactRow:
    """One checked line of an artifacts CSV."""

    line: int
    period: str
    email: str | None
    slack_user_id: str | None
    url: str  # as written
    canonical: str
    title: str
    kind: str
    status: str


@dataclass
class ArtifactImport:
    """What an import did."""

    rows: int = 0
    created: int = 0
    unchanged: int = 0
    people_created: int = 0
    artifact_ids: list[int] = field(default_factory=list)


def _check_header(header: list[str], source: str) -> list[str]:
    problems = []
    missing = [c for c in ("period", "url", "title") if c not in header]
    if "email" not in header and "slack_user_id" not in header:
        missing.append("email or slack_user_id")
    if missing:
        problems.append(f"{source}:1: missing column(s): {', '.join(missing)}")
    unknown = [c for c in header if c not in COLUMNS and c not in EXPORT_ONLY]
    if unknown:
        problems.append(f"{source}:1: unknown column(s): {', '.join(unknown)} (columns are {', '.join(COLUMNS)})")
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        problems.append(f"{source}:1: column(s) given twice: {', '.join(dup)}")
    return problems


def _check_line(values: dict[str, str], *, current: str) -> tuple[ArtifactRow | None, list[str]]:
    problems: list[str] = []
    period = values.get("period", "").strip()
    try:
        parse_period(period)
        if period > current:
            problems.append(f"period {period} is after the current month ({current})")
    except ValueError as exc:
        problems.append(str(exc))
    email = values.get("email", "").strip().lower() or None
    slack = values.get("slack_user_id", "").strip() or None
    if email is None and slack is None:
        problems.append("give an email or a slack_user_id")
    if email is not None and not ("@" in email and "." in email.split("@")[-1]):
        problems.append(f"email {email!r} is not an email address")
    if slack is not None and not is_slack_id(slack):
        problems.append(f"slack_user_id {slack!r} is not a Slack user id (like U0123ABC)")
    url = values.get("url", "").strip()
    canonical = ""
    try:
        url = validate_url(url)
        canonical = canonical_url(url)
    except LinkError as exc:
        problems.append(f"url: {exc}" if url else "url is empty")
    title = clean_title(csv_unsafe(values.get("title", "")), limit=10_000)
    if not title:
        problems.append("title is empty")
    elif len(title) > MAX_TITLE:
        problems.append(f"title is longer than {MAX_TITLE} characters")
    kind = values.get("kind", "").strip().lower() or "other"
    if kind not in ARTIFACT_KINDS:
        problems.append(f"kind {kind!r} is not one of {', '.join(ARTIFACT_KINDS)}")
    status = values.get("status", "").strip().lower() or SUBMITTED
    if status not in STATUSES:
        problems.append(f"status {status!r} is not one of {', '.join(STATUSES)}")
    if problems:
        return None, problems
    return ArtifactRow(0, period, email, slack, url, canonical, title, kind, status), []


def parse_artifacts_csv(lines: Iterable[str], *, source: str, now: dt.datetime, tz: dt.tzinfo) -> list[ArtifactRow]:
    """Check every line of an artifacts CSV.

    Raises:
        ImportFileError: naming ``file:line`` and the problem of every bad line (nothing is written).
    """
    reader = csv.reader(lines)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ImportFileError([f"{source}:1: the file is empty (expected a header: {', '.join(COLUMNS)})"]) from None
    except csv.Error as exc:
        raise ImportFileError([f"{source}:1: {exc}"]) from None
    problems = _check_header(header, source)
    if problems:
        raise ImportFileError(problems)
    current = now.astimezone(tz).strftime("%Y-%m")
    rows: list[ArtifactRow] = []
    first_line: dict[tuple[str, str, str], int] = {}
    try:
        for record in reader:
            line = reader.line_num
            if not any(v.strip() for v in record):
                continue  # a blank line
            if len(record) != len(header):
                problems.append(f"{source}:{line}: {len(record)} fields, the header has {len(header)}")
                continue
            row, found = _check_line(dict(zip(header, record, strict=True)), current=current)
            if row is None:
                problems.extend(f"{source}:{line}: {p}" for p in found)
            else:
                key = (row.slack_user_id or row.email or "", row.period, row.canonical)
                if key in first_line:
                    problems.append(
                        f"{source}:{line}: the same person, period and link as line {first_line[key]} "
                        "(one artifact per person, period and link)"
                    )
                    continue
                first_line[key] = line
                rows.append(dataclasses.replace(row, line=line))
            if len(problems) >= MAX_PROBLEMS:
                problems.append(f"{source}: stopped after {MAX_PROBLEMS} problems")
                break
    except csv.Error as exc:
        problems.append(f"{source}:{reader.line_num}: {exc}")
    if problems:
        raise ImportFileError(problems)
    return rows


def _person(
    session: Session, row: ArtifactRow, source: str, cache: dict[tuple[str | None, str | None], Person]
) -> tuple[Person, bool]:
    """The row's person (a placeholder is created for someone unknown); ``True`` when created."""
    key = (row.email, row.slack_user_id)
    if key in cache:
        return cache[key], False
    by_slack = (
        session.scalars(select(Person).where(col(Person.slack_user_id) == row.slack_user_id)).first()
        if row.slack_user_id
        else None
    )
    by_email = session.scalars(select(Person).where(col(Person.email) == row.email)).first() if row.email else None
    if by_slack is not None and by_email is not None and by_slack.id != by_email.id:
        raise ImportFileError([f"{source}:{row.line}: {row.email} and {row.slack_user_id} are two different people"])
    person = by_slack or by_email
    created = person is None
    if person is None:
        name = row.email.split("@")[0] if row.email else (row.slack_user_id or "")
        person = Person(email=row.email, slack_user_id=row.slack_user_id, name=name)
        session.add(person)
        session.flush()
    cache[key] = person
    return person, created


def import_rows(
    session: Session, rows: list[ArtifactRow], *, source: str, actor: str, now: dt.datetime
) -> ArtifactImport:
    """Write checked rows: an artifact per person, period and canonical URL that is not there yet.

    Raises:
        ImportFileError: when a row's email and Slack id name two different people (the caller's
            transaction is then rolled back: nothing is written).
    """
    at = now.astimezone(dt.UTC).replace(tzinfo=None)
    result = ArtifactImport(rows=len(rows))
    people: dict[tuple[str | None, str | None], Person] = {}
    for row in rows:
        person, created = _person(session, row, source, people)
        result.people_created += created
        assert person.id is not None
        existing = session.scalars(
            select(Artifact.id)
            .join(ArtifactLink, col(ArtifactLink.artifact_id) == col(Artifact.id))
            .where(
                col(Artifact.person_id) == person.id,
                col(Artifact.period) == row.period,
                col(Artifact.removed).is_(False),
                col(ArtifactLink.normalized_url) == row.canonical,
            )
        ).first()
        if existing is not None:
            result.unchanged += 1
            continue
        # Known only by month: dated at its start, so it never looks like an end-of-period burst.
        start = dt.datetime(int(row.period[:4]), int(row.period[5:7]), 1)
        art = Artifact(
            person_id=person.id,
            period=row.period,
            title=clean_title(row.title, MAX_TITLE),
            kind=row.kind,
            status=row.status,
            source="import",
            primary_url=row.canonical,
            created_at=start,
            updated_at=at,
            reviewed_at=at if row.status != SUBMITTED else None,
        )
        session.add(art)
        session.flush()
        assert art.id is not None
        session.add(ArtifactLink(artifact_id=art.id, position=0, url=row.url, normalized_url=row.canonical))
        session.add(
            AuditLog(
                at=at,
                actor=actor,
                action="artifact_imported",
                target_type="artifact",
                target_id=str(art.id),
                detail={"status": row.status, "file": source, "line": row.line},
            )
        )
        result.created += 1
        result.artifact_ids.append(art.id)
    session.add(
        AuditLog(
            at=at,
            actor=actor,
            action="artifacts_import",
            target_type="file",
            target_id=source[-64:],
            detail={
                "rows": result.rows,
                "created": result.created,
                "unchanged": result.unchanged,
                "people_created": result.people_created,
            },
        )
    )
    session.flush()
    return result


def import_artifacts_csv(
    engine: Engine, path: str | Path, *, now: dt.datetime, tz: dt.tzinfo, actor: str = "cli"
) -> ArtifactImport:
    """Import an artifacts CSV file in one transaction.

    Raises:
        ImportFileError: when the file cannot be read or any line is bad; nothing is written.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError([f"{p}: cannot read: {getattr(exc, 'strerror', None) or exc}"]) from None
    rows = parse_artifacts_csv(io.StringIO(text, newline=""), source=str(p), now=now, tz=tz)
    with session_scope(engine) as s:
        return import_rows(s, rows, source=str(p), actor=actor, now=now)
