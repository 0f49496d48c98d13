"""Usage rows: CSV import, upserts from connectors, pricing of rows that lack a cost."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gc
import io
import itertools
import logging
import math
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot import model_rollups
from bot.db import savepoint, session_scope, upsert_insert
from bot.errors import ImportFileError
from bot.freshness import refresh_spend
from bot.models import UsageRow, utcnow
from bot.people.store import PersonIndex, ensure_person
from bot.periods import period_of
from bot.spend.prices import price_tokens

log = logging.getLogger(__name__)

CSV_COLUMNS = ("date", "provider", "model", "input_tokens", "output_tokens", "cost_usd")
MAX_TOKENS = 10**13
MAX_COST = 10**9
BATCH = 5000


@dataclass(slots=True)
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
    """What an import stored.

    ``lines`` data lines were read; ``skipped_lines`` of them (of the ``skipped_people``) were left
    out (``--on-unknown skip``); the rest became ``rows`` usage rows, ``lines - skipped_lines - rows``
    of them merged into another line of the same day, person, provider and model. ``replaced`` rows
    already existed from earlier imports: their cost went from ``before_usd`` to ``after_usd``
    (replaced, or added to with ``mode="add"``).
    """

    rows: int = 0
    unpriced: int = 0
    unpriced_models: set[str] = field(default_factory=set)
    cost_usd: float = 0.0
    parsed_alongside: bool = False  # a CSV parsed in a second process while this one wrote (``PIPELINE_ABOVE``)
    lines: int = 0
    skipped_lines: int = 0
    skipped_people: list[str] = field(default_factory=list)
    unattributed_rows: int = 0
    replaced: int = 0
    before_usd: float = 0.0
    after_usd: float = 0.0
    mode: str = "replace"
    periods: set[str] = field(default_factory=set)

    @property
    def merged(self) -> int:
        """Lines folded into another line's row (same day, person, provider and model)."""
        return max(self.lines - self.skipped_lines - self.rows, 0)

    def summary(self) -> list[str]:
        """What ``usage import`` prints: lines → rows (merged), rows replaced or added to, skipped people."""
        verb = "added to" if self.mode == "add" else "replaced from"
        out = [
            f"{self.lines:,} lines → {self.rows:,} usage rows ({self.merged:,} merged), "
            f"{self.replaced:,} {verb} earlier imports (${self.before_usd:,.2f} → ${self.after_usd:,.2f}); "
            f"${self.cost_usd:,.2f} in this file"
        ]
        if self.skipped_lines:
            people = ", ".join(self.skipped_people[:20]) + (" …" if len(self.skipped_people) > 20 else "")
            out.append(f"skipped {self.skipped_lines:,} lines of {len(self.skipped_people)} unknown people: {people}")
        if self.unattributed_rows:
            out.append(f"{self.unattributed_rows:,} rows of unknown people kept as unattributed spend")
        return out


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


_COLUMNS = (
    "source",
    "date",
    "period",
    "identity",
    "person_id",
    "provider",
    "model",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "requests",
    "cost_usd",
    "priced",
    "imported_at",
)
_KEY = ("source", "date", "identity", "provider", "model")
_UPDATED = tuple(c for c in _COLUMNS if c not in _KEY)
COPY_ABOVE = 500  # PostgreSQL batches at least this big go through COPY into a staging table


class _RowWriter:
    """Writes usage rows as plain tuples through the session's own connection (same transaction).

    SQLAlchemy's per-row parameter handling costs more than the database's own work for bulk
    imports, so values are converted once with the dialect's bind processors and sent with
    ``executemany``; on PostgreSQL big batches are COPied into a temporary table and upserted from
    there in one statement. Later rows with the same key win, as with one statement per row.
    """

    def __init__(self, session: Session, *, prior: ImportResult | None = None, source: str = "") -> None:
        session.flush()  # what session.execute's autoflush did: pending people exist before their rows
        self.conn = session.connection()
        dialect = self.conn.dialect
        self.pg = dialect.name == "postgresql"
        # ``prior``: count (and with mode "add", sum into) the rows earlier imports stored under the same
        # keys. Only days that had rows of ``source`` before this import are looked up, once per day when
        # first seen (before any row of that day is written), so a fresh import pays one query per day.
        self.prior = prior
        self.source = source
        self.prior_days: set[Any] = set()
        self.keys_table = False
        table = UsageRow.__table__  # type: ignore[attr-defined]
        procs = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in _COLUMNS]
        special = {_COLUMNS.index(c) for c in ("date", "priced", "imported_at")}  # converted once, cached
        self.procs = [(i, proc) for i, proc in enumerate(procs) if proc is not None and i not in special]
        self.date_proc = procs[_COLUMNS.index("date")]
        self.dates: dict[dt.date, Any] = {}
        bool_proc = procs[_COLUMNS.index("priced")]
        self.bools = {b: bool_proc(b) if bool_proc else b for b in (True, False)}
        now_proc = procs[_COLUMNS.index("imported_at")]
        now = utcnow()
        self.now = now_proc(now) if now_proc else now
        mark = "%s" if dialect.paramstyle in ("format", "pyformat") else "?"
        self.mark = mark
        conflict = f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET " + ", ".join(
            f"{c} = excluded.{c}" for c in _UPDATED
        )
        self.sql = (
            f"INSERT INTO usage_row ({', '.join(_COLUMNS)}) VALUES ({', '.join(mark for _ in _COLUMNS)}) {conflict}"
        )
        self.insert_new = (
            f"INSERT INTO usage_row ({', '.join(_COLUMNS)}) VALUES ({', '.join(mark for _ in _COLUMNS)}) "
            f"ON CONFLICT ({', '.join(_KEY)}) DO NOTHING"
        )
        self.from_staging = (
            f"INSERT INTO usage_row ({', '.join(_COLUMNS)}) SELECT {', '.join(_COLUMNS)} FROM _usage_upsert {conflict}"
        )
        self.staging = False

    def date(self, day: dt.date) -> Any:
        """A date as the dialect stores it (cached: an import has few distinct days)."""
        value = self.dates.get(day)
        if value is None:
            value = self.date_proc(day) if self.date_proc is not None else day
            self.dates[day] = value
            if self.prior is not None:
                m = self.mark
                found = self.conn.exec_driver_sql(
                    f"SELECT 1 FROM usage_row WHERE source = {m} AND date = {m} LIMIT 1", (self.source, value)
                ).first()
                if found is not None:
                    self.prior_days.add(value)
        return value

    def _earlier(self, rows: list[list[Any]]) -> None:
        """Count the rows earlier imports stored under these keys; with mode "add", sum them in."""
        prior = self.prior
        assert prior is not None
        mine = [r for r in rows if r[1] in self.prior_days]
        if mine:
            m = self.mark
            if not self.keys_table:
                kind = "date date, identity varchar, provider varchar, model varchar" if self.pg else (
                    "date, identity, provider, model"
                )
                drop = " ON COMMIT DROP" if self.pg else ""
                self.conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS _usage_keys ({kind}){drop}")
                self.conn.exec_driver_sql("DELETE FROM _usage_keys")
                self.keys_table = True
            self.conn.exec_driver_sql(
                f"INSERT INTO _usage_keys VALUES ({m}, {m}, {m}, {m})", [(r[1], r[3], r[5], r[6]) for r in mine]
            )
            found = self.conn.exec_driver_sql(
                "SELECT u.date, u.identity, u.provider, u.model, u.input_tokens, u.output_tokens, "
                "u.cached_tokens, u.requests, u.cost_usd FROM usage_row u JOIN _usage_keys k ON u.date = k.date "
                "AND u.identity = k.identity AND u.provider = k.provider AND u.model = k.model "
                f"WHERE u.source = {m}",
                (self.source,),
            ).all()
            self.conn.exec_driver_sql("DELETE FROM _usage_keys")
            old = {(str(f[0]), f[1], f[2], f[3]): f for f in found}
        else:
            old = {}
        for r in rows:
            before = old.get((str(r[1]), r[3], r[5], r[6])) if old else None
            if before is None:
                continue
            prior.replaced += 1
            prior.before_usd += float(before[8] or 0.0)
            if prior.mode == "add":
                r[7] += before[4]
                r[8] += before[5]
                r[9] += before[6]
                r[10] += before[7]
                if r[11] is None or before[8] is None:
                    r[11], r[12] = None, self.bools[False]  # unpriced stays unpriced
                else:
                    r[11] += float(before[8])
            prior.after_usd += r[11] or 0.0

    def write(self, rows: list[list[Any]]) -> None:
        if self.prior is not None and self.prior_days:
            self._earlier(rows)
        for i, proc in self.procs:
            for row in rows:
                if row[i] is not None:
                    row[i] = proc(row[i])
        if self.pg and len(rows) >= COPY_ABOVE:
            self._copy(rows)
            return
        if self.pg:
            self._statement(rows)
            return
        values = [tuple(r) for r in rows]
        # SQLite: an upsert that may change person_id (a foreign key) costs twice a plain insert per row
        # even when nothing conflicts. Insert the new keys first; only when some key already existed
        # (or repeats in the batch) run the upsert over the batch, which gives the same final rows.
        inserted = self.conn.exec_driver_sql(self.insert_new, values).rowcount
        if inserted != len(values):
            self.conn.exec_driver_sql(self.sql, values)

    def _statement(self, rows: list[list[Any]]) -> None:
        """PostgreSQL, small or unusual batches: SQLAlchemy's own upsert, row after row."""
        insert = postgresql.insert(UsageRow)
        stmt = insert.on_conflict_do_update(
            index_elements=list(_KEY), set_={c: getattr(insert.excluded, c) for c in _UPDATED}
        )
        self.conn.execute(stmt, [dict(zip(_COLUMNS, r, strict=True)) for r in rows])

    def _copy(self, rows: list[list[Any]]) -> None:
        cur = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        columns = ", ".join(_COLUMNS)
        try:
            # New keys only (the common case of an import): COPY straight into the table, like a bulk load.
            # Any conflict (a key already stored or repeated in the batch) undoes that attempt and the
            # batch goes through a staging table and one upsert instead.
            cur.execute("SAVEPOINT usage_copy")
            try:
                with cur.copy(f"COPY usage_row ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            except Exception:  # a unique or foreign-key violation: the upsert below reports any real error
                cur.execute("ROLLBACK TO SAVEPOINT usage_copy")
            else:
                cur.execute("RELEASE SAVEPOINT usage_copy")
                return
            if len({(r[1], r[3], r[5], r[6]) for r in rows}) != len(rows):
                # A key repeats in the batch: one INSERT cannot update a row twice, so upsert row by row.
                self._statement(rows)
                return
            if not self.staging:
                cur.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS _usage_upsert ON COMMIT DROP AS "
                    f"SELECT {columns} FROM usage_row WITH NO DATA"
                )
                self.staging = True
            with cur.copy(f"COPY _usage_upsert ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cur.close()
        self.conn.exec_driver_sql(self.from_staging)
        self.conn.exec_driver_sql("TRUNCATE _usage_upsert")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a bulk import builds its rows.

    Millions of new small containers trigger collections that walk every live object of the
    process; they find nothing here (the rows form no cycles; reference counting frees them), yet
    cost more than parsing. Collection resumes afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
    return _upsert(session, map(_item, records), source=source, prior=prior)


# (date, identity, person_id, provider, model, input, output, cached, requests, cost_usd or None, batch)
_Item = tuple[dt.date, str, int | None, str, str, int, int, int, int, float | None, bool]
# A record's own columns, in _COLUMNS order (the store adds source, period, priced, imported_at), then batch.
_RECORD_FIELDS = (*(c for c in _COLUMNS if c not in ("source", "period", "priced", "imported_at")), "batch")
_item: Callable[[UsageRecord], _Item] = operator.attrgetter(*_RECORD_FIELDS)


@_gc_paused()
def _upsert(
    session: Session,
    items: Iterable[_Item],
    *,
    source: str,
    prior: set[tuple[int | None, str]] | None,
    result: ImportResult | None = None,
) -> ImportResult:
    """``upsert_records`` on plain tuples (what a bulk import produces without building records).

    ``result``: an import's result, whose ``replaced`` counts (and with mode "add", sums into) the rows
    earlier imports stored under the same keys.
    """
    writer = _RowWriter(session, prior=result, source=source)
    result = result if result is not None else ImportResult()
    now, bools = writer.now, writer.bools
    periods: dict[dt.date, str] = {}
    batch: list[list[Any]] = []
    touched: set[tuple[int | None, str]] = set()
    rows = 0
    total = 0.0
    for day, identity, person_id, provider, model, inp, out, cached, requests, cost, in_batch in items:
        ok = True
        if cost is None:  # priced(): from genai-prices; (None, False) when unknown
            cost = price_tokens(
                provider, model, day, input_tokens=inp, output_tokens=out, cached_tokens=cached, batch=in_batch
            )
            if cost is None:
                ok = False
                result.unpriced += 1
                result.unpriced_models.add(f"{provider}/{model}")
        total += cost or 0.0
        rows += 1
        period = periods.get(day)
        if period is None:
            period = periods[day] = period_of(day)
        touched.add((person_id, period))
        batch.append(
            [
                source,
                writer.date(day),
                period,
                identity,
                person_id,
                provider,
                model,
                inp,
                out,
                cached,
                requests,
                cost,
                bools[ok],
                now,
            ]
        )
        if len(batch) >= BATCH:
            writer.write(batch)
            batch = []
    if batch:
        writer.write(batch)
    result.rows, result.cost_usd = rows, total
    result.periods = set(periods.values())
    # Rows that moved to another person (a corrected identity) leave their old person's roll-up too.
    refresh_spend(session, touched | (prior or set()))
    return result


def _upsert_columns(
    session: Session, chunks: Iterable[_Columns], *, source: str, result: ImportResult | None = None
) -> ImportResult:
    """``upsert_records`` for parsed CSV columns whose keys are all distinct (identities ``person:ID``,
    no cached tokens, no batch pricing): rows are assembled with C-level zips instead of a Python loop."""
    with _gc_paused():
        writer = _RowWriter(session, prior=result, source=source)
        result = result if result is not None else ImportResult()
        periods: dict[dt.date, str] = {}
        touched: set[tuple[int | None, str]] = set()
        total = 0.0
        for days, people, pairs, inputs, outputs, costs in chunks:
            ok = [True] * len(days)
            if None in costs:  # as priced(): from genai-prices; (None, False) when unknown
                costs = list(costs)
                for i, cost in enumerate(costs):
                    if cost is None:
                        provider, model = pairs[i]
                        cost = costs[i] = price_tokens(
                            provider, model, days[i], input_tokens=inputs[i], output_tokens=outputs[i]
                        )
                        if cost is None:
                            ok[i] = False
                            result.unpriced += 1
                            result.unpriced_models.add(f"{provider}/{model}")
            for cost in costs:  # the same additions, in the same order, as upsert_records
                total += cost or 0.0
            for day in set(days) - periods.keys():
                periods[day] = period_of(day)
                writer.date(day)
            period_list = list(map(periods.__getitem__, days))
            touched.update(zip(people, period_list, strict=True))
            rows = list(
                map(
                    list,
                    zip(
                        itertools.repeat(source),
                        map(writer.dates.__getitem__, days),
                        period_list,
                        map("person:{}".format, people),
                        people,
                        map(operator.itemgetter(0), pairs),
                        map(operator.itemgetter(1), pairs),
                        inputs,
                        outputs,
                        itertools.repeat(0),
                        itertools.repeat(0),
                        costs,
                        map(writer.bools.__getitem__, ok),
                        itertools.repeat(writer.now),
                    ),
                )
            )
            writer.write(rows)
            result.rows += len(rows)
        result.cost_usd = total
        result.periods = set(periods.values())
        refresh_spend(session, touched)
        return result


def replace_days(
    session: Session, records: Iterable[UsageRecord], *, source: str, first: dt.date, last: dt.date
) -> ImportResult:
    """Replace every row of ``source`` dated ``first``..``last`` with ``records``.

    A re-sync of the same days replaces them instead of adding to them, and rows that the
    provider no longer reports (late corrections) disappear.
    """
    in_range = (UsageRow.source == source, UsageRow.date >= first, UsageRow.date <= last)
    prior = {
        (pid, period)
        for pid, period in session.execute(select(UsageRow.person_id, UsageRow.period).where(*in_range).distinct())
    }
    session.execute(delete(UsageRow).where(*in_range))
    return upsert_records(session, records, source=source, prior=prior)


def add_usage(engine: Engine, record: UsageRecord, *, source: str, owner_email: str | None = None) -> None:
    """Add one call's usage to its row of (source, date, identity, provider, model), creating the row.

    For usage reported call by call (the bot's own model calls) rather than as a provider's daily
    totals. Read-modify-write under a lock: a zero row is claimed first (``ON CONFLICT DO
    NOTHING``), then read ``FOR UPDATE`` (SQLite serialises writers), then stored through
    :func:`upsert_records` with the sums, so concurrent calls add up instead of overwriting. The
    row stays unpriced (cost None) once any call of it could not be priced.

    Args:
        record: the call's counts; its cost, else priced from its tokens.
        source: the usage source of the row.
        owner_email: the person the row is attributed to, created (named after the record's
            identity, without a Slack account) on first use; None leaves it unattributed.
    """
    person_id = _owner_id(engine, owner_email, record.identity) if owner_email else record.person_id
    with session_scope(engine) as session:
        key = {
            "source": source,
            "date": record.date,
            "identity": record.identity,
            "provider": record.provider,
            "model": record.model,
        }
        session.execute(
            upsert_insert(session.get_bind().dialect.name, UsageRow)
            .values(**key, period=period_of(record.date), person_id=person_id, cost_usd=0.0, priced=True,
                    imported_at=utcnow())
            .on_conflict_do_nothing(index_elements=list(key))
        )
        match = [getattr(UsageRow, k) == v for k, v in key.items()]
        row = session.scalars(select(UsageRow).where(*match).with_for_update()).one()
        own_cost, _ = priced(record)
        cost = None if own_cost is None or row.cost_usd is None else row.cost_usd + own_cost
        summed = UsageRecord(
            date=record.date,
            identity=record.identity,
            provider=record.provider,
            model=record.model,
            input_tokens=row.input_tokens + record.input_tokens,
            output_tokens=row.output_tokens + record.output_tokens,
            cached_tokens=row.cached_tokens + record.cached_tokens,
            requests=row.requests + max(record.requests, 1),
            cost_usd=cost,
            person_id=person_id,
        )
        upsert_records(session, [summed], source=source)


def _owner_id(engine: Engine, email: str, name: str) -> int:
    def once() -> int:
        with session_scope(engine) as session:
            person_id = ensure_person(session, email, name=name).id
        assert person_id is not None
        return person_id

    try:
        return once()
    except IntegrityError:  # another worker created the person between our read and our insert
        return once()


def usage_rows(session: Session, *, source: str, identity: str | None = None) -> list[UsageRow]:
    """The stored usage rows of ``source`` (of one identity when given)."""
    query = select(UsageRow).where(UsageRow.source == source)
    if identity is not None:
        query = query.where(UsageRow.identity == identity)
    return list(session.scalars(query).all())


_WHOLE = re.compile(r"[0-9]+")  # ASCII digits: no "1_000", "+5", "1e3" or other scripts' digits
_AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")  # a plain decimal amount: no sign, exponent, nan or inf
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # YYYY-MM-DD only: no "2026-W49-2", "20261201"


def _non_negative(raw: str, name: str, pattern: re.Pattern[str], shape: str) -> str:
    """``raw`` if it is a plain non-negative number of ``pattern``'s form, else a ``ValueError`` naming the field."""
    if raw.startswith("-") and pattern.fullmatch(raw[1:]):
        raise ValueError(f"{name} must not be negative (got {raw})")
    if not pattern.fullmatch(raw):
        raise ValueError(f"{name} {raw!r} is not {shape}")
    return raw


def _int(value: str, name: str) -> int:
    """A token count: ASCII digits only (blank is 0), at most ``MAX_TOKENS``."""
    value = value.strip()
    if value == "":
        return 0
    number = int(_non_negative(value, name, _WHOLE, "a whole number (digits 0-9 only)"))
    if number > MAX_TOKENS:
        raise ValueError(f"{name} {number} is implausibly large")
    return number


def _cost(value: str) -> float | None:
    """A cost in USD (blank: None, priced later): a plain decimal, read exactly, then stored as a float."""
    raw = value.strip()
    if not raw:
        return None
    amount = Decimal(_non_negative(raw, "cost_usd", _AMOUNT, "a number like 12.34 (digits 0-9 and one point)"))
    if amount > MAX_COST:
        raise ValueError(f"cost_usd {raw!r} must be a non-negative amount up to {MAX_COST:,}")
    return float(amount)


def parse_usage_csv(
    text: str, people: PersonIndex, *, source_name: str = "usage.csv", max_problems: int = 20
) -> Iterator[UsageRecord]:
    """Validate a whole usage CSV, then yield its records.

    Rows with the same (date, person, provider, model) are summed: a file may list the same
    day several times (several API keys).

    Raises:
        ImportFileError: naming the line and the problem of every bad row (up to ``max_problems``).
    """
    parsed = _parse_lines(
        io.StringIO(text.lstrip("\ufeff")), people, source_name=source_name, max_problems=max_problems
    )
    yield from parsed.records()


PARSE_CHUNK = 10_000  # lines checked together by the column-wise fast path

_Key = tuple[dt.date, int | str, tuple[str, str]]  # (day, person id or an unknown identity, (provider, model))
_Merged = dict[_Key, list[Any]]  # key → [input tokens, output tokens, cost or None]
# A chunk of valid lines, column by column: days, people, (provider, model) pairs, inputs, outputs, costs.
_Columns = tuple[list[dt.date], list[int], list[tuple[str, str]], list[int], list[int], list[float | None]]


def _parse_lines(
    lines: Iterable[str],
    people: PersonIndex | _Who,
    *,
    source_name: str,
    max_problems: int,
    on_unknown: str = "error",
) -> _CsvParser:
    # Same checks, messages and merging as a line-by-line DictReader loop, several times faster on big
    # files: chunks of lines are checked column by column (C-level map/zip, with caches for the values an
    # export repeats: days, people, provider/model pairs); a chunk with any bad or unusual line is
    # re-read line by line, which names each problem exactly.
    reader = csv.reader(lines)
    header = [h.strip() for h in next(reader, [])]
    missing = _missing_columns(header)
    if missing:
        raise ImportFileError([f"{source_name}:1: missing column(s): {', '.join(missing)}"])
    parser = _CsvParser(header, people, on_unknown)
    problems: list[str] = []
    stopped = False
    while not stopped:
        chunk: list[list[str]] = []
        numbers: list[int] = []
        for row in itertools.islice(reader, PARSE_CHUNK):
            chunk.append(row)
            numbers.append(reader.line_num)
        if not chunk:
            break
        if parser.merge_chunk(chunk):
            parser.lines += len(chunk)
            continue
        for row, line in zip(chunk, numbers, strict=True):
            if len(row) > parser.width:  # not counted towards the stop, as before
                problems.append(f"{source_name}:{line}: more fields than columns")
                continue
            problem = parser.merge_line(row, line)
            if problem is not None:
                problems.append(f"{source_name}:{line}: {problem}")
                if len(problems) >= max_problems:
                    problems.append(f"{source_name}: stopped after {max_problems} problems")
                    stopped = True
                    break
    if parser.unknown and on_unknown == "error":
        # Each unknown person once (with their first line and how many lines), not every line.
        for ident, (first, count) in parser.unknown.items():
            target = parser.people.mapped_to(ident)
            mapped = f", mapped by identities to {target!r}, who is not known either" if target else ""
            problems.append(f"{source_name}:{first}: unknown person {ident!r} ({count:,} line(s){mapped})")
        problems.append(
            f"{source_name}: {len(parser.unknown)} unknown people: import teams or run people sync first, "
            "map them under identities: in the config, or use --on-unknown skip|unattributed"
        )
    if problems:
        raise ImportFileError(problems)
    if not parser.rows() and not parser.skipped:
        raise ImportFileError([f"{source_name}: no usage rows"])
    return parser


def _missing_columns(header: list[str]) -> list[str]:
    """The required columns a usage CSV header lacks."""
    missing = [c for c in CSV_COLUMNS if c not in header]
    if "email" not in header and "slack_user_id" not in header:
        missing.append("email or slack_user_id")
    return missing


class _CsvParser:
    """Validates usage CSV lines and merges them per (day, person, provider, model).

    While no key repeats (the usual export), valid chunks are kept as columns and written as such;
    the first repeated key (or any line that needs the line-by-line path) switches to a dict that
    sums repeated keys in file order.
    """

    def __init__(self, header: list[str], people: PersonIndex | _Who, on_unknown: str = "error") -> None:
        col = {name: i for i, name in enumerate(header)}  # a repeated column name: the last one, as DictReader
        self.width = len(header)
        self.i_date, self.i_prov, self.i_model = col["date"], col["provider"], col["model"]
        self.i_in, self.i_out, self.i_cost = col["input_tokens"], col["output_tokens"], col["cost_usd"]
        self.i_email, self.i_slack = col.get("email"), col.get("slack_user_id")
        self.people = people if isinstance(people, _Who) else _Who(people)
        self.on_unknown = on_unknown
        self.lines = 0  # data lines read (blank ones aside)
        self.skipped = 0  # lines of unknown people left out (on_unknown "skip")
        self.unknown: dict[str, list[int]] = {}  # unknown identity → [first line, lines]
        self.days: dict[str, dt.date] = {}
        self.who: dict[str, int] = {}  # raw cell of the identity column → person id
        self.names: dict[tuple[str, str], tuple[str, str] | str] = {}  # raw pair → clean pair, or the problem
        self.columns: list[_Columns] | None = []  # None once merged into `merged`
        self.seen: set[int] = set()  # hashes of the keys kept as columns
        self.merged: _Merged = {}

    def rows(self) -> int:
        """Rows after merging."""
        return sum(len(c[0]) for c in self.columns) if self.columns is not None else len(self.merged)

    def records(self) -> Iterator[UsageRecord]:
        """The merged rows as records, in file order."""
        for (day, who, (provider, model)), (inp, out, cost) in self.merged_items():
            identity, person_id = _stored_identity(who)
            yield UsageRecord(day, identity, provider, model, inp, out, 0, 0, cost, person_id)

    def merged_items(self) -> Iterator[tuple[_Key, list[Any]]]:
        if self.columns is None:
            yield from self.merged.items()
            return
        for days, people, pairs, inputs, outputs, costs in self.columns:
            for day, person_id, pair, inp, out, cost in zip(days, people, pairs, inputs, outputs, costs, strict=True):
                yield (day, person_id, pair), [inp, out, cost]

    def _to_dict(self) -> None:
        """Leave the column mode: from here on repeated keys are summed in a dict."""
        if self.columns is not None:
            self.merged = dict(self.merged_items())
            self.columns = None
            self.seen = set()

    def merge_chunk(self, chunk: list[list[str]]) -> bool:
        """Merge a chunk whose every line is valid and plain; False (nothing merged) otherwise."""
        if set(map(len, chunk)) != {self.width}:
            return False  # blank, short or long lines
        cols = list(zip(*chunk, strict=True))
        days = self.days
        for raw in set(cols[self.i_date]) - days.keys():
            day = _day(raw)
            if day is None:
                return False
            days[raw] = day
        # One identity column: emails (the Slack id column only matters where an email is blank).
        idents = cols[self.i_email] if self.i_email is not None else cols[self.i_slack]  # type: ignore[index]
        who = self.who
        for raw in set(idents) - who.keys():
            ident = raw.strip()
            person_id = self.people.resolve(ident) if ident else None
            if person_id is None:
                return False
            who[raw] = person_id
        raw_pairs = list(zip(cols[self.i_prov], cols[self.i_model], strict=True))
        names = self.names
        for pair in set(raw_pairs):
            clean = names.get(pair)
            if clean is None:
                clean = names[pair] = _provider_model(*pair)
            if isinstance(clean, str):
                return False
        for column in (cols[self.i_in], cols[self.i_out]):
            digits = "".join(column)  # ASCII digits only: int() would also take "1_000", "+5" or "١٢"
            if not (digits.isascii() and digits.isdigit()):
                return False
        try:
            inputs = list(map(int, cols[self.i_in]))
            outputs = list(map(int, cols[self.i_out]))
        except ValueError:
            return False
        if min(inputs) < 0 or min(outputs) < 0 or max(inputs) > MAX_TOKENS or max(outputs) > MAX_TOKENS:
            return False
        raw_costs = cols[self.i_cost]
        amounts = "".join(raw_costs).replace(".", "")  # ASCII digits and points only: no "nan", "1e3", "1_0"
        if amounts and not (amounts.isascii() and amounts.isdigit()):
            return False
        try:
            given = list(map(float, raw_costs))
            costs: list[float | None] = given  # type: ignore[assignment]
        except ValueError:  # blank costs (priced later), or a bad one
            try:
                costs = [float(c) if c.strip() else None for c in raw_costs]
            except ValueError:
                return False
            given = [c for c in costs if c is not None]
        # min/max reject negative and too large amounts; the sum is NaN when any amount is.
        if given and (min(given) < 0 or max(given) > MAX_COST or math.isnan(sum(given))):
            return False
        day_list = list(map(days.__getitem__, cols[self.i_date]))
        person_list = list(map(who.__getitem__, idents))
        pairs: list[tuple[str, str]] = list(map(names.__getitem__, raw_pairs))  # type: ignore[arg-type]
        if self.columns is not None:
            # Key hashes are enough to be sure no key repeats (a collision only costs the slower path),
            # and far smaller to keep than the keys of a million rows.
            before = len(self.seen)
            self.seen.update(map(hash, zip(day_list, person_list, pairs, strict=True)))
            if len(self.seen) - before == len(day_list):
                self.columns.append((day_list, person_list, pairs, inputs, outputs, costs))
                return True
            self._to_dict()  # a key repeats: sum from here on
        merged = self.merged
        keys = zip(day_list, person_list, pairs, strict=True)
        for key, inp, out, cost in zip(keys, inputs, outputs, costs, strict=True):
            prev = merged.get(key)
            if prev is None:
                merged[key] = [inp, out, cost]
            else:
                _merge_into(prev, inp, out, cost)
        return True

    def merge_line(self, row: list[str], line: int = 0) -> str | None:
        """Check and merge one line; the problem with it, if any (then nothing is merged).

        A line of an unknown person is no problem of its own: it is counted under that person
        (``unknown``) and, as ``on_unknown`` says, reported once per person, skipped or kept as
        unattributed spend.
        """
        if not row:
            return None  # blank line (DictReader skips them too)
        self.lines += 1
        if len(row) < self.width:
            row = row + [""] * (self.width - len(row))
        try:
            raw_date = row[self.i_date].strip()
            day = _day(raw_date)
            if day is None:
                raise ValueError(f"date {raw_date!r} is not a date like 2026-10-31 (YYYY-MM-DD)")
            who = (row[self.i_email].strip() if self.i_email is not None else "") or (
                row[self.i_slack].strip() if self.i_slack is not None else ""
            )
            if not who:
                raise ValueError("no email or slack_user_id")
            pair = _provider_model(row[self.i_prov], row[self.i_model])
            if isinstance(pair, str):
                raise ValueError(pair)
            inp = _int(row[self.i_in], "input_tokens")
            out = _int(row[self.i_out], "output_tokens")
            cost = _cost(row[self.i_cost])
        except ValueError as exc:
            return str(exc)
        person: int | str | None = self.people.resolve(who)
        if person is None:
            ident = who.lower() if "@" in who else who
            seen = self.unknown.setdefault(ident, [line, 0])
            seen[1] += 1
            if self.on_unknown != "unattributed":
                self.skipped += 1
                return None
            person = ident  # kept, attributed to nobody
        self._to_dict()
        key = (day, person, pair)
        prev = self.merged.get(key)
        if prev is None:
            self.merged[key] = [inp, out, cost]
        else:
            _merge_into(prev, inp, out, cost)
        return None


class _Who:
    """Who a CSV line's email or Slack id is: the config's ``identities`` first, then the people stored.

    As the connectors' sync (``bot.spend.sync``): an alias the config maps (case-insensitive) is the
    person it maps to; an alias mapped to someone the database does not know is unknown.
    """

    def __init__(self, people: PersonIndex, identities: Mapping[str, str] | None = None) -> None:
        self.people = people
        self.overrides = {
            k.strip().casefold(): v.strip() for k, v in (identities or {}).items() if k.strip() and v.strip()
        }

    def resolve(self, ident: str) -> int | None:
        ident = ident.strip()
        if self.overrides:
            target = self.overrides.get(ident.casefold())
            if target:
                return self.people.resolve(target)
        return self.people.resolve(ident)

    def mapped_to(self, ident: str) -> str | None:
        return self.overrides.get(ident.strip().casefold())


def _stored_identity(who: int | str) -> tuple[str, int | None]:
    """(identity, person id) of a merged key's person: ``person:ID``, or an unknown person's own identity."""
    if isinstance(who, int):
        return f"person:{who}", who
    return who, None


def _merge_into(prev: list[Any], inp: int, out: int, cost: float | None) -> None:
    """Add a repeated (day, person, provider, model) line to the first one."""
    prev[0] += inp
    prev[1] += out
    if prev[2] is not None and cost is not None:
        prev[2] += cost
    else:
        # One blank cost in a merged group: price the whole group from tokens.
        prev[2] = None


def _day(raw: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` date in ASCII digits (surrounding spaces allowed), or None."""
    raw = raw.strip()
    if not _DATE.fullmatch(raw):
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return None


def _provider_model(raw_provider: str, raw_model: str) -> tuple[str, str] | str:
    """The cleaned (provider, model), or the problem with them."""
    provider = raw_provider.strip().lower()
    model = raw_model.strip()
    if not provider or not model:
        return "provider and model must not be blank"
    if len(provider) > 40 or len(model) > 120:
        return "provider or model name is too long"
    return provider, model


ON_UNKNOWN = ("error", "skip", "unattributed")
MODES = ("replace", "add")


def import_usage_csv(
    engine: Engine,
    path: str | Path,
    *,
    on_unknown: str = "error",
    mode: str = "replace",
    identities: Mapping[str, str] | None = None,
    refresh: Callable[[Session, str], None] | None = None,
) -> ImportResult:
    """Import a usage CSV in one transaction: all rows or none.

    Lines of the same day, person, provider and model are summed into one row. A row that an
    earlier import stored under the same key (source ``csv``, day, person, provider, model) is
    replaced (``mode="replace"``, the default) or added to (``mode="add"``); the result counts them
    and their cost before and after.

    Args:
        on_unknown: a line whose person is not known (after the config's ``identities``):
            ``error`` (the default: the file is refused, each unknown person named once), ``skip``
            (left out, counted) or ``unattributed`` (kept as spend of nobody, under its own identity).
        identities: the config's ``identities:`` (alias → email or Slack id), as the connectors apply it.
        refresh: called with a new session and each period the import touched, after it committed
            (the boards' roll-ups: ``artifact-bot usage import`` brings the team totals up to date
            there, so the first board after an import reads them as they are).

    A big file whose lines are all plain (valid, known people, no repeated key) is parsed in a second
    process while this one writes what it has parsed (``_import_alongside``); any other file, or one
    that turns out not to be plain, takes the path that parses it all first and names every problem.

    Raises:
        ImportFileError: when any line is bad; nothing is written.
    """
    if on_unknown not in ON_UNKNOWN:
        raise ValueError(f"on_unknown must be one of {', '.join(ON_UNKNOWN)}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    p = Path(path)
    try:
        # Read line by line (a big export never sits in memory as one string); BOM dropped.
        handle = p.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ImportFileError([f"{p}: cannot read: {exc}"]) from None
    with handle, session_scope(engine) as session:
        who = _Who(PersonIndex.load(session), identities)
        result: ImportResult | None = None
        if _alongside_possible(p):
            result = _import_alongside(session, p, who, ImportResult(mode=mode))
        if result is None:
            try:
                with _gc_paused():
                    parsed = _parse_lines(handle, who, source_name=p.name, max_problems=20, on_unknown=on_unknown)
            except (OSError, UnicodeDecodeError) as exc:
                raise ImportFileError([f"{p}: cannot read: {exc}"]) from None
            result = ImportResult(mode=mode, lines=parsed.lines, skipped_lines=parsed.skipped)
            if on_unknown == "skip":
                result.skipped_people = sorted(parsed.unknown)
            if parsed.columns is not None:
                result = _upsert_columns(session, parsed.columns, source="csv", result=result)
            else:
                items = (
                    (day, *_stored_identity(person), provider, model, inp, out, 0, 0, cost, False)
                    for (day, person, (provider, model)), (inp, out, cost) in parsed.merged_items()
                )
                result = _upsert(session, items, source="csv", prior=None, result=result)
                if on_unknown == "unattributed":
                    result.unattributed_rows = sum(1 for _, person, _ in parsed.merged if isinstance(person, str))
    # What the import touched, brought up to date before it returns (a big import only marked its periods
    # stale in ``refresh_spend``, which would leave the work to the first board or report): the boards'
    # roll-ups first (a never-computed period's refresh marks the per-model rows stale), then the
    # per-model roll-ups.
    for period in sorted(result.periods):
        with session_scope(engine) as session:
            if refresh is not None:
                refresh(session, period)
            model_rollups.ensure_fresh(session, period)
    return result


# Files at least this big (bytes; about 60,000 lines) are parsed in a second process while this one
# writes: parsing is about 40 % of an import, and the two overlap on a second core. Smaller files
# are not worth the second process.
PIPELINE_ABOVE = 4_000_000


def _alongside_possible(path: Path) -> bool:
    """Big enough, and a platform whose ``fork`` is safe for the pure-Python parser (Linux)."""
    import multiprocessing as mp
    import sys

    try:
        size = path.stat().st_size
    except OSError:
        return False
    return size >= PIPELINE_ABOVE and sys.platform == "linux" and "fork" in mp.get_all_start_methods()


class _NotPlain(Exception):
    """The file needs the parse-everything-first path (a repeated key, a line to report, no rows)."""


def _import_alongside(session: Session, path: Path, people: _Who, result: ImportResult) -> ImportResult | None:
    """Write chunks of a plain CSV while a forked process parses the next ones; None if not plain.

    The child inherits the person index (no copy, no database access: it only reads the file and
    sends each checked chunk of columns over a pipe). The writes sit in a savepoint: when the child
    finds a line that is not plain, they are rolled back and the caller parses the file the usual
    way, which reports problems exactly and sums repeated keys.
    """
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_parse_into, args=(path, people, sender), name="usage-csv-parser", daemon=True)
    session.flush()
    nested = savepoint(session)
    child.start()
    sender.close()
    try:
        result = _upsert_columns(session, _chunks_from(receiver), source="csv", result=result)
    except _NotPlain:
        nested.rollback()
        return None
    finally:
        receiver.close()
        child.join(5.0)
        if child.is_alive():
            child.terminate()
            child.join()
    nested.commit()
    result.parsed_alongside = True
    result.lines = result.rows  # plain: every line is a row of its own
    return result


def _chunks_from(receiver: Any) -> Iterator[_Columns]:
    rows = 0
    while True:
        try:
            message = receiver.recv()
        except EOFError:  # the parser died: parse here instead
            raise _NotPlain from None
        if message is None:
            break
        if isinstance(message, str):
            raise _NotPlain(message)
        rows += len(message[0])
        yield message
    if not rows:
        raise _NotPlain("no rows")


def _parse_into(path: Path, people: _Who, sender: Any) -> None:
    """The forked parser: checked chunks of columns to ``sender``, then None; a string when not plain."""
    gc.disable()  # as _gc_paused: nothing here forms cycles
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [h.strip() for h in next(reader, [])]
            if _missing_columns(header):
                sender.send("header")
                return
            parser = _CsvParser(header, people)
            while chunk := list(itertools.islice(reader, PARSE_CHUNK)):
                if not parser.merge_chunk(chunk) or parser.columns is None:
                    sender.send("not plain")
                    return
                sender.send(parser.columns.pop())  # written by the parent; only the key hashes stay here
        sender.send(None)
    except Exception as exc:  # unreadable, undecodable: the usual path reports it
        with contextlib.suppress(OSError):
            sender.send(f"{type(exc).__name__}")
    finally:
        sender.close()


def unpriced_rows(session: Session, period: str) -> list[tuple[str, str, int]]:
    """(provider, model, rows) of the period's usage that the price table could not price."""
    from sqlalchemy import func

    q = (
        select(UsageRow.provider, UsageRow.model, func.count())
        .where(UsageRow.period == period, UsageRow.priced.is_(False))  # type: ignore[attr-defined]
        .group_by(UsageRow.provider, UsageRow.model)
    )
    return [(p, m, int(n)) for p, m, n in session.execute(q)]
