"""Usage rows: CSV import, upserts from connectors, pricing of rows that lack a cost."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.db import session_scope
from bot.errors import ImportFileError
from bot.models import UsageRow, utcnow
from bot.periods import period_of
from bot.pricing import price_tokens
from bot.services.people import PersonIndex
from bot.services.rollups import refresh_spend

log = logging.getLogger(__name__)

CSV_COLUMNS = ("date", "provider", "model", "input_tokens", "output_tokens", "cost_usd")
MAX_TOKENS = 10**13
MAX_COST = 10**9
BATCH = 5000


@dataclass
class UsageRecord:
    """One usage row before it is stored.

    ``identity`` names the spender as the source knows them; ``person_id`` is filled by the
    caller when the identity maps to a person (None keeps the spend as unattributed).
    """

    date: dt.date
    identity: str
    provider: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    requests: int = 0
    cost_usd: float | None = None
    person_id: int | None = None
    batch: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportResult:
    """What an import stored."""

    rows: int = 0
    unpriced: int = 0
    unpriced_models: set[str] = field(default_factory=set)
    cost_usd: float = 0.0


def priced(record: UsageRecord) -> tuple[float | None, bool]:
    """Cost of a record: its own, else from genai-prices; ``(None, False)`` when unknown."""
    if record.cost_usd is not None:
        return record.cost_usd, True
    cost = price_tokens(
        record.provider,
        record.model,
        record.date,
        input_tokens=record.input_tokens,
        output_tokens=record.output_tokens,
        cached_tokens=record.cached_tokens,
        batch=record.batch,
    )
    return cost, cost is not None


def _insert(session: Session) -> Any:
    name = session.get_bind().dialect.name
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(UsageRow)


def upsert_records(
    session: Session,
    records: Iterable[UsageRecord],
    *,
    source: str,
    prior: set[tuple[int | None, str]] | None = None,
) -> ImportResult:
    """Insert or replace usage rows keyed by (source, date, identity, provider, model).

    Re-storing the same records changes nothing, so imports and syncs are idempotent.
    Streams in batches; never holds all records in memory.
    """
    result = ImportResult()
    now = utcnow()
    base = _insert(session)
    stmt = base.on_conflict_do_update(
        index_elements=["source", "date", "identity", "provider", "model"],
        set_={
            c: getattr(base.excluded, c)
            for c in (
                "period",
                "person_id",
                "input_tokens",
                "output_tokens",
                "cached_tokens",
                "requests",
                "cost_usd",
                "priced",
                "imported_at",
            )
        },
    )
    batch: list[dict[str, Any]] = []
    touched: set[tuple[int | None, str]] = set()
    for rec in records:
        cost, ok = priced(rec)
        if not ok:
            result.unpriced += 1
            result.unpriced_models.add(f"{rec.provider}/{rec.model}")
        result.cost_usd += cost or 0.0
        result.rows += 1
        touched.add((rec.person_id, period_of(rec.date)))
        batch.append(
            {
                "source": source,
                "date": rec.date,
                "period": period_of(rec.date),
                "identity": rec.identity,
                "person_id": rec.person_id,
                "provider": rec.provider,
                "model": rec.model,
                "input_tokens": rec.input_tokens,
                "output_tokens": rec.output_tokens,
                "cached_tokens": rec.cached_tokens,
                "requests": rec.requests,
                "cost_usd": cost,
                "priced": ok,
                "imported_at": now,
            }
        )
        if len(batch) >= BATCH:
            session.execute(stmt, batch)
            batch = []
    if batch:
        session.execute(stmt, batch)
    # Rows that moved to another person (a corrected identity) leave their old person's roll-up too.
    refresh_spend(session, touched | (prior or set()))
    return result


def replace_days(
    session: Session, records: Iterable[UsageRecord], *, source: str, first: dt.date, last: dt.date
) -> ImportResult:
    """Replace every row of ``source`` dated ``first``..``last`` with ``records``.

    A re-sync of the same days replaces them instead of adding to them, and rows that the
    provider no longer reports (late corrections) disappear.
    """
    in_range = (UsageRow.source == source, UsageRow.date >= first, UsageRow.date <= last)
    prior = {(pid, period) for pid, period in session.execute(
        select(UsageRow.person_id, UsageRow.period).where(*in_range).distinct())}
    session.execute(delete(UsageRow).where(*in_range))
    return upsert_records(session, records, source=source, prior=prior)


def _int(value: str, name: str) -> int:
    value = value.strip()
    if value == "":
        return 0
    try:
        number = int(value)
    except ValueError:
        try:
            as_float = float(value)
        except ValueError:
            raise ValueError(f"{name} {value!r} is not a whole number") from None
        if not as_float.is_integer():
            raise ValueError(f"{name} {value!r} is not a whole number") from None
        number = int(as_float)
    if number < 0:
        raise ValueError(f"{name} must not be negative (got {number})")
    if number > MAX_TOKENS:
        raise ValueError(f"{name} {number} is implausibly large")
    return number


def parse_usage_csv(
    text: str, people: PersonIndex, *, source_name: str = "usage.csv", max_problems: int = 20
) -> Iterator[UsageRecord]:
    """Validate a whole usage CSV, then yield its records.

    Rows with the same (date, person, provider, model) are summed: a file may list the same
    day several times (several API keys).

    Raises:
        ImportFileError: naming the line and the problem of every bad row (up to ``max_problems``).
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    problems: list[str] = []
    missing = [c for c in CSV_COLUMNS if c not in header]
    if "email" not in header and "slack_user_id" not in header:
        missing.append("email or slack_user_id")
    if missing:
        raise ImportFileError([f"{source_name}:1: missing column(s): {', '.join(missing)}"])
    merged: dict[tuple[dt.date, int, str, str], UsageRecord] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            problems.append(f"{source_name}:{line}: more fields than columns")
            continue
        try:
            raw_date = (row.get("date") or "").strip()
            try:
                day = dt.date.fromisoformat(raw_date)
            except ValueError:
                raise ValueError(f"date {raw_date!r} is not a date like 2026-10-31") from None
            if len(raw_date) != 10:
                raise ValueError(f"date {raw_date!r} is not a date like 2026-10-31")
            who = (row.get("email") or "").strip() or (row.get("slack_user_id") or "").strip()
            if not who:
                raise ValueError("no email or slack_user_id")
            person_id = people.resolve(who)
            if person_id is None:
                raise ValueError(f"unknown person {who!r} (import teams or run people sync first)")
            provider = (row.get("provider") or "").strip().lower()
            model = (row.get("model") or "").strip()
            if not provider or not model:
                raise ValueError("provider and model must not be blank")
            if len(provider) > 40 or len(model) > 120:
                raise ValueError("provider or model name is too long")
            inp = _int(row.get("input_tokens") or "", "input_tokens")
            out = _int(row.get("output_tokens") or "", "output_tokens")
            raw_cost = (row.get("cost_usd") or "").strip()
            cost: float | None = None
            if raw_cost:
                try:
                    cost = float(raw_cost)
                except ValueError:
                    raise ValueError(f"cost_usd {raw_cost!r} is not a number") from None
                if not (0 <= cost <= MAX_COST) or cost != cost:
                    raise ValueError(f"cost_usd {raw_cost!r} must be a non-negative amount")
        except ValueError as exc:
            problems.append(f"{source_name}:{line}: {exc}")
            if len(problems) >= max_problems:
                problems.append(f"{source_name}: stopped after {max_problems} problems")
                break
            continue
        key = (day, person_id, provider, model)
        prev = merged.get(key)
        if prev is None:
            merged[key] = UsageRecord(
                date=day,
                identity=f"person:{person_id}",
                person_id=person_id,
                provider=provider,
                model=model,
                input_tokens=inp,
                output_tokens=out,
                cost_usd=cost,
                requests=0,
            )
        else:
            prev.input_tokens += inp
            prev.output_tokens += out
            if prev.cost_usd is not None and cost is not None:
                prev.cost_usd += cost
            else:
                # One blank cost in a merged group: price the whole group from tokens.
                prev.cost_usd = None
    if problems:
        raise ImportFileError(problems)
    if not merged:
        raise ImportFileError([f"{source_name}: no usage rows"])
    yield from merged.values()


def import_usage_csv(engine: Engine, path: str | Path) -> ImportResult:
    """Import a usage CSV in one transaction: all rows or none.

    Raises:
        ImportFileError: when any line is bad; nothing is written.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError([f"{p}: cannot read: {exc}"]) from None
    with session_scope(engine) as session:
        people = PersonIndex.load(session)
        records = list(parse_usage_csv(text, people, source_name=p.name))
        return upsert_records(session, records, source="csv")


def unpriced_rows(session: Session, period: str) -> list[tuple[str, str, int]]:
    """(provider, model, rows) of the period's usage that the price table could not price."""
    from sqlalchemy import func

    q = (
        select(UsageRow.provider, UsageRow.model, func.count())
        .where(UsageRow.period == period, UsageRow.priced.is_(False))  # type: ignore[attr-defined]
        .group_by(UsageRow.provider, UsageRow.model)
    )
    return [(p, m, int(n)) for p, m, n in session.execute(q)]
