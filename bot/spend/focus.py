"""Cloud bills in FOCUS 1.x: ``usage import FILE`` of a FinOps Open Cost and Usage Specification CSV.

A CSV whose header has ``BilledCost``, ``ChargePeriodStart`` and ``ServiceName`` is read as
FOCUS (recognised by :func:`is_focus_file`), so Bedrock, Vertex AI and Azure OpenAI spend
arrives without a connector each: export the cloud's FOCUS billing data and import it.

Columns (FOCUS specification 1.0–1.2, ``focus.finops.org``; Microsoft's FocusCost column list,
``learn.microsoft.com/cloud-computing/finops/focus/metadata``): ``BilledCost`` (decimal, in
``BillingCurrency``: "a charge serving as the basis for invoicing"), ``ChargePeriodStart`` /
``ChargePeriodEnd`` (inclusive start and exclusive end, date-time), ``ServiceName``,
``ProviderName`` (``Provider`` in 1.0), ``ResourceId``, ``ChargeCategory`` (``Usage``,
``Purchase``, ``Tax``, ``Credit``, ``Adjustment``), ``ConsumedQuantity``, ``Tags`` (a JSON object
of key-value pairs).

Each line becomes spend of the org day holding most of its charge period, provider =
``ProviderName`` (lower case), model = ``ServiceName``, source ``focus``. Config
``focus: {person_tag, team_tag}`` names the tags that carry a person (an email or a Slack id)
and a team; a line with a person tag that matches someone is theirs (one that matches nobody
stays unattributed under that tag's value); a line without one stays unattributed under
``team:NAME`` (with a team tag), its ``ResourceId``, or ``(unattributed)``. A line of no person
whose identity is ``team:NAME`` of a known team, or one the config's ``identities:`` assigns to a
team (``i-0abc: team:Growth``), is that team's team-level spend (``usage_row.team_id``).
Importing a file replaces the ``focus`` rows of the days it covers, so importing it twice
changes nothing; a bad line rejects the whole file (file and line named), nothing written.

Assumed (not stated there): costs are USD (a line in another ``BillingCurrency`` is an error:
convert before importing); ``Tags`` may be empty; every ``ChargeCategory`` counts, credits as
negative amounts as the bill does; the spend of a team-tagged line is not split over the
team's members.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from bot.config import TEAM_PREFIX, OrgConfig
from bot.db import session_scope
from bot.errors import ImportFileError
from bot.people.store import PersonIndex
from bot.spend.sync import assign_teams, teams_in_days
from bot.spend.usage import UsageRecord, replace_days

SOURCE = "focus"
UNATTRIBUTED = "(unattributed)"
REQUIRED = ("BilledCost", "ChargePeriodStart", "ServiceName")
MAX_PROBLEMS = 20


def is_focus_header(header: Iterable[str]) -> bool:
    """True when a CSV header is a FOCUS one."""
    names = {h.strip().lstrip("\ufeff") for h in header}
    return all(c in names for c in REQUIRED)


def is_focus_file(path: Path) -> bool:
    """True when the file's first line is a FOCUS header (False when it cannot be read)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return is_focus_header(next(csv.reader(fh), []))
    except (OSError, UnicodeDecodeError, csv.Error):
        return False


@dataclass
class FocusImport:
    """What a FOCUS import stored."""

    lines: int = 0
    rows: int = 0
    cost_usd: Decimal = Decimal(0)
    attributed_usd: Decimal = Decimal(0)
    first: dt.date | None = None
    last: dt.date | None = None
    by_service: dict[str, Decimal] = field(default_factory=dict)
    team_level_rows: int = 0  # rows of no person assigned to a team (a team tag, ``identities:``)
    team_level_usd: Decimal = Decimal(0)

    def line(self) -> str:
        """One line for the CLI."""
        if not self.lines:
            return "FOCUS file: no charges"
        teams = (
            f", ${self.team_level_usd:,.2f} team-level spend ({self.team_level_rows} rows)"
            if self.team_level_rows
            else ""
        )
        return (
            f"imported {self.lines} FOCUS charges ({self.first}..{self.last}) as {self.rows} usage rows, "
            f"${self.cost_usd:,.2f} (${self.attributed_usd:,.2f} attributed to people{teams})"
        )


def _when(raw: str) -> dt.datetime:
    raw = raw.strip()
    if len(raw) == 10:
        return dt.datetime.combine(dt.date.fromisoformat(raw), dt.time(0), tzinfo=dt.UTC)
    moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _tags(raw: str) -> dict[str, Any]:
    raw = raw.strip()
    if not raw:
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("Tags is not a JSON object")
    return value


def _day(start: dt.datetime, end: dt.datetime | None, org: OrgConfig) -> dt.date:
    """The org day holding most of a charge period (its midpoint)."""
    if end is None or end <= start:
        end = start + dt.timedelta(hours=1)
    return (start + (end - start) / 2).astimezone(org.tz).date()


def _teams_of(records: list[UsageRecord], org: OrgConfig) -> dict[str, str]:
    """Identity → team of the records of no person: ``team:NAME`` (a team tag), or an identity (a
    ``ResourceId``, an unknown person tag) that the config's ``identities:`` assigns to a team."""
    assigned = org.team_identities()
    out: dict[str, str] = {}
    for r in records:
        if r.person_id is not None:
            continue
        if r.identity.startswith(TEAM_PREFIX):
            out[r.identity] = r.identity[len(TEAM_PREFIX) :]
        elif r.identity.casefold() in assigned:
            out[r.identity] = assigned[r.identity.casefold()]
    return out


def import_focus_csv(engine: Engine, path: Path, org: OrgConfig) -> FocusImport:
    """Import a FOCUS CSV as usage rows of source ``focus``, replacing the days it covers.

    Raises:
        ImportFileError: naming file and line of every bad line (up to 20); nothing is written.
    """
    problems: list[str] = []
    parsed: list[tuple[dt.date, str | None, str, str, str, Decimal]] = []
    try:
        fh = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ImportFileError([f"{path}: cannot read: {exc.strerror}"]) from None
    with fh:
        reader = csv.DictReader(fh)
        if not is_focus_header(reader.fieldnames or []):
            raise ImportFileError([f"{path}:1: not a FOCUS header (needs {', '.join(REQUIRED)})"])
        for n, line in enumerate(reader, 2):
            try:
                cost = Decimal((line.get("BilledCost") or "0").strip() or "0")
                if not cost.is_finite():
                    raise InvalidOperation
                currency = (line.get("BillingCurrency") or "USD").strip().upper() or "USD"
                if currency != "USD":
                    raise ValueError(f"BillingCurrency {currency}: only USD is read (convert first)")
                start = _when(line.get("ChargePeriodStart") or "")
                end_raw = (line.get("ChargePeriodEnd") or "").strip()
                tags = _tags(line.get("Tags") or "")
            except InvalidOperation:
                problems.append(f"{path}:{n}: BilledCost {line.get('BilledCost')!r} is not a number")
            except ValueError as exc:
                problems.append(f"{path}:{n}: {exc}")
            else:
                person = str(tags.get(org.focus.person_tag, "")).strip() if org.focus.person_tag else ""
                team = str(tags.get(org.focus.team_tag, "")).strip() if org.focus.team_tag else ""
                fallback = f"team:{team}" if team else ((line.get("ResourceId") or "").strip() or UNATTRIBUTED)
                provider = ((line.get("ProviderName") or line.get("Provider") or "cloud").strip() or "cloud").lower()
                service = (line.get("ServiceName") or "").strip() or "unknown"
                day = _day(start, _when(end_raw) if end_raw else None, org)
                parsed.append((day, person or None, fallback[:320], provider[:40], service[:120], cost))
            if len(problems) >= MAX_PROBLEMS:
                break
    if problems:
        raise ImportFileError(problems)
    result = FocusImport(lines=len(parsed))
    if not parsed:
        return result
    with session_scope(engine) as session:
        index = PersonIndex.load(session)
        merged: dict[tuple[dt.date, str, str, str], tuple[int | None, Decimal]] = {}
        for day, who, fallback, provider, service, cost in parsed:
            pid = index.resolve(who) if who else None
            identity = (who.lower() if "@" in who else who)[:320] if who else fallback
            key = (day, identity, provider, service)
            prev = merged.get(key, (pid, Decimal(0)))
            merged[key] = (pid, prev[1] + cost)
            result.by_service[service] = result.by_service.get(service, Decimal(0)) + cost
        records = [
            UsageRecord(date=d, identity=i, provider=p, model=m, cost_usd=float(c), person_id=pid)
            for (d, i, p, m), (pid, c) in sorted(merged.items())
        ]
        result.first, result.last = min(r.date for r in records), max(r.date for r in records)
        before = teams_in_days(session, source=SOURCE, first=result.first, last=result.last)
        replace_days(session, records, source=SOURCE, first=result.first, last=result.last)
        level = assign_teams(
            session,
            source=SOURCE,
            first=result.first,
            last=result.last,
            teams=_teams_of(records, org),
            before=before,
        )
        result.team_level_rows, result.team_level_usd = level.rows, Decimal(str(level.cost_usd))
    result.rows = len(records)
    result.cost_usd = sum((c for _d, _p, _f, _pr, _s, c in parsed), Decimal(0))
    result.attributed_usd = sum((c for (_k, (pid, c)) in merged.items() if pid is not None), Decimal(0))
    return result
