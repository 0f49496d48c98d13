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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.db import savepoint, session_scope
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
    """What an import stored."""

    rows: int = 0
    unpriced: int = 0
    unpriced_models: set[str] = field(default_factory=set)
    cost_usd: float = 0.0
    parsed_alongside: bool = False  # a CSV parsed in a second process while this one wrote (``PIPELINE_ABOVE``)


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

    def __init__(self, session: Session) -> None:
        session.flush()  # what session.execute's autoflush did: pending people exist before their rows
        self.conn = session.connection()
        dialect = self.conn.dialect
        self.pg = dialect.name == "postgresql"
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
        return value

    def write(self, rows: list[list[Any]]) -> None:
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
    items = (
        (
            r.date,
            r.identity,
            r.person_id,
            r.provider,
            r.model,
            r.input_tokens,
            r.output_tokens,
            r.cached_tokens,
            r.requests,
            r.cost_usd,
            r.batch,
        )
        for r in records
    )
    return _upsert(session, items, source=source, prior=prior)


# (date, identity, person_id, provider, model, input, output, cached, requests, cost_usd or None, batch)
_Item = tuple[dt.date, str, int | None, str, str, int, int, int, int, float | None, bool]


def _upsert(
    session: Session, items: Iterable[_Item], *, source: str, prior: set[tuple[int | None, str]] | None
) -> ImportResult:
    """``upsert_records`` on plain tuples (what a bulk import produces without building records)."""
    with _gc_paused():
        return _upsert_rows(session, items, source=source, prior=prior)


def _upsert_rows(
    session: Session, items: Iterable[_Item], *, source: str, prior: set[tuple[int | None, str]] | None
) -> ImportResult:
    result = ImportResult()
    writer = _RowWriter(session)
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
    # Rows that moved to another person (a corrected identity) leave their old person's roll-up too.
    refresh_spend(session, touched | (prior or set()))
    return result


def _upsert_columns(session: Session, chunks: Iterable[_Columns], *, source: str) -> ImportResult:
    """``upsert_records`` for parsed CSV columns whose keys are all distinct (identities ``person:ID``,
    no cached tokens, no batch pricing): rows are assembled with C-level zips instead of a Python loop."""
    with _gc_paused():
        result = ImportResult()
        writer = _RowWriter(session)
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
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        key = {
            "source": source,
            "date": record.date,
            "identity": record.identity,
            "provider": record.provider,
            "model": record.model,
        }
        session.execute(
            insert(UsageRow)
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
    parsed = _parse_lines(
        io.StringIO(text.lstrip("\ufeff")), people, source_name=source_name, max_problems=max_problems
    )
    yield from parsed.records()


PARSE_CHUNK = 10_000  # lines checked together by the column-wise fast path

_Key = tuple[dt.date, int, tuple[str, str]]  # (day, person, (provider, model))
_Merged = dict[_Key, list[Any]]  # key → [input tokens, output tokens, cost or None]
# A chunk of valid lines, column by column: days, people, (provider, model) pairs, inputs, outputs, costs.
_Columns = tuple[list[dt.date], list[int], list[tuple[str, str]], list[int], list[int], list[float | None]]


def _parse_lines(lines: Iterable[str], people: PersonIndex, *, source_name: str, max_problems: int) -> _CsvParser:
    # Same checks, messages and merging as a line-by-line DictReader loop, several times faster on big
    # files: chunks of lines are checked column by column (C-level map/zip, with caches for the values an
    # export repeats: days, people, provider/model pairs); a chunk with any bad or unusual line is
    # re-read line by line, which names each problem exactly.
    reader = csv.reader(lines)
    header = [h.strip() for h in next(reader, [])]
    missing = _missing_columns(header)
    if missing:
        raise ImportFileError([f"{source_name}:1: missing column(s): {', '.join(missing)}"])
    parser = _CsvParser(header, people)
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
            continue
        for row, line in zip(chunk, numbers, strict=True):
            if len(row) > parser.width:  # not counted towards the stop, as before
                problems.append(f"{source_name}:{line}: more fields than columns")
                continue
            problem = parser.merge_line(row)
            if problem is not None:
                problems.append(f"{source_name}:{line}: {problem}")
                if len(problems) >= max_problems:
                    problems.append(f"{source_name}: stopped after {max_problems} problems")
                    stopped = True
                    break
    if problems:
        raise ImportFileError(problems)
    if not parser.rows():
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

    def __init__(self, header: list[str], people: PersonIndex) -> None:
        col = {name: i for i, name in enumerate(header)}  # a repeated column name: the last one, as DictReader
        self.width = len(header)
        self.i_date, self.i_prov, self.i_model = col["date"], col["provider"], col["model"]
        self.i_in, self.i_out, self.i_cost = col["input_tokens"], col["output_tokens"], col["cost_usd"]
        self.i_email, self.i_slack = col.get("email"), col.get("slack_user_id")
        self.people = people
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
        for (day, person_id, (provider, model)), (inp, out, cost) in self.merged_items():
            yield UsageRecord(day, f"person:{person_id}", provider, model, inp, out, 0, 0, cost, person_id)

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
        try:
            inputs = list(map(int, cols[self.i_in]))
            outputs = list(map(int, cols[self.i_out]))
        except ValueError:
            return False
        if min(inputs) < 0 or min(outputs) < 0 or max(inputs) > MAX_TOKENS or max(outputs) > MAX_TOKENS:
            return False
        raw_costs = cols[self.i_cost]
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

    def merge_line(self, row: list[str]) -> str | None:
        """Check and merge one line; the problem with it, if any (then nothing is merged)."""
        if not row:
            return None  # blank line (DictReader skips them too)
        if len(row) < self.width:
            row = row + [""] * (self.width - len(row))
        try:
            raw_date = row[self.i_date].strip()
            day = _day(raw_date)
            if day is None:
                raise ValueError(f"date {raw_date!r} is not a date like 2026-10-31")
            who = (row[self.i_email].strip() if self.i_email is not None else "") or (
                row[self.i_slack].strip() if self.i_slack is not None else ""
            )
            if not who:
                raise ValueError("no email or slack_user_id")
            person_id = self.people.resolve(who)
            if person_id is None:
                raise ValueError(f"unknown person {who!r} (import teams or run people sync first)")
            pair = _provider_model(row[self.i_prov], row[self.i_model])
            if isinstance(pair, str):
                raise ValueError(pair)
            inp = _int(row[self.i_in], "input_tokens")
            out = _int(row[self.i_out], "output_tokens")
            raw_cost = row[self.i_cost].strip()
            cost: float | None = None
            if raw_cost:
                try:
                    cost = float(raw_cost)
                except ValueError:
                    raise ValueError(f"cost_usd {raw_cost!r} is not a number") from None
                if not (0 <= cost <= MAX_COST) or cost != cost:
                    raise ValueError(f"cost_usd {raw_cost!r} must be a non-negative amount")
        except ValueError as exc:
            return str(exc)
        self._to_dict()
        key = (day, person_id, pair)
        prev = self.merged.get(key)
        if prev is None:
            self.merged[key] = [inp, out, cost]
        else:
            _merge_into(prev, inp, out, cost)
        return None


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
    """A ``YYYY-MM-DD`` date (surrounding spaces allowed), or None."""
    raw = raw.strip()
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        return None
    return day if len(raw) == 10 else None


def _provider_model(raw_provider: str, raw_model: str) -> tuple[str, str] | str:
    """The cleaned (provider, model), or the problem with them."""
    provider = raw_provider.strip().lower()
    model = raw_model.strip()
    if not provider or not model:
        return "provider and model must not be blank"
    if len(provider) > 40 or len(model) > 120:
        return "provider or model name is too long"
    return provider, model


def import_usage_csv(engine: Engine, path: str | Path) -> ImportResult:
    """Import a usage CSV in one transaction: all rows or none.

    A big file whose lines are all plain (valid, no repeated key) is parsed in a second process
    while this one writes what it has parsed (``_import_alongside``); any other file, or one that
    turns out not to be plain, takes the path that parses it all first and names every problem.

    Raises:
        ImportFileError: when any line is bad; nothing is written.
    """
    p = Path(path)
    try:
        # Read line by line (a big export never sits in memory as one string); BOM dropped.
        handle = p.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ImportFileError([f"{p}: cannot read: {exc}"]) from None
    with handle, session_scope(engine) as session:
        people = PersonIndex.load(session)
        if _alongside_possible(p):
            result = _import_alongside(session, p, people)
            if result is not None:
                return result
        try:
            with _gc_paused():
                parsed = _parse_lines(handle, people, source_name=p.name, max_problems=20)
        except (OSError, UnicodeDecodeError) as exc:
            raise ImportFileError([f"{p}: cannot read: {exc}"]) from None
        if parsed.columns is not None:
            return _upsert_columns(session, parsed.columns, source="csv")
        items = (
            (day, f"person:{person_id}", person_id, provider, model, inp, out, 0, 0, cost, False)
            for (day, person_id, (provider, model)), (inp, out, cost) in parsed.merged_items()
        )
        return _upsert(session, items, source="csv", prior=None)


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


def _import_alongside(session: Session, path: Path, people: PersonIndex) -> ImportResult | None:
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
        result = _upsert_columns(session, _chunks_from(receiver), source="csv")
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


def _parse_into(path: Path, people: PersonIndex, sender: Any) -> None:
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
