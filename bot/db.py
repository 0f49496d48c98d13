"""Engine factory, sessions and migrations. No global engine: the root builds one."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given without a driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Build an engine for SQLite (WAL mode) or PostgreSQL (psycopg 3).

    Args:
        url: SQLAlchemy database URL.
        **kwargs: passed to ``create_engine``.
    """
    # Registers the ORM event that marks roll-ups stale on every artifact write (any engine's session).
    import bot.freshness  # noqa: F401

    url = normalise_url(url)
    is_sqlite = make_url(url).get_backend_name() == "sqlite"
    if is_sqlite:
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
    else:
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("pool_size", 10)
    engine = create_engine(url, **kwargs)
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def is_sqlite(engine: Engine) -> bool:
    """True when the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def upsert_insert(dialect: str, table: Any) -> Any:
    """An ``INSERT`` into ``table`` that takes ``ON CONFLICT`` clauses, in the dialect's own form
    (PostgreSQL's or SQLite's ``insert``): every upsert of the bot goes through it."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def journal_engine(engine: Engine) -> Engine | None:
    """A SQLite file of its own for DM replies stored before Slack's ack; None on PostgreSQL.

    SQLite has one write lock per database file. Under load the app's other writes (artifacts,
    roll-up refreshes) hold it most of the time, and SQLite's busy wait polls in steps of up to
    100 ms, so a reply waiting for it could hold Slack's HTTP 200 for a second. Beside the database
    (``bot.db`` → ``bot.inbox.db``), the journal's only writers are that store and marking a reply
    done. PostgreSQL locks rows, not the database: the table in the main schema serves.
    """
    if not is_sqlite(engine):
        return None
    path = engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    main = Path(path)
    journal = make_engine(f"sqlite:///{main.with_name(main.stem + '.inbox' + (main.suffix or '.db'))}")
    from bot.models import InboundMessage

    InboundMessage.__table__.create(journal, checkfirst=True)  # type: ignore[attr-defined]
    return journal


def serialize(session: Any, name: str) -> None:
    """Hold the lock called ``name`` until this session's transaction ends.

    For read-then-write work that two requests, threads or ``serve`` worker processes may do at
    once (refreshing a roll-up, applying the config's teams). PostgreSQL: a transaction-scoped
    advisory lock. SQLite: its one write lock, taken now by a write that changes nothing (only one
    writer at a time exists there anyway; this makes the reads after it see the latest data).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"artifact-bot:{name}"})
    else:
        session.execute(text("UPDATE rollup_period SET period = period WHERE 1 = 0"))


def savepoint(session: Any) -> Any:
    """``session.begin_nested()`` that never commits on its own: the outer transaction is begun first.

    pysqlite (Python's ``sqlite3`` in its legacy transaction mode) emits ``BEGIN`` only before an
    INSERT, UPDATE or DELETE. A SAVEPOINT issued after nothing but SELECTs therefore opens SQLite's
    transaction itself, and its RELEASE commits: a processed-event mark or an artifact would be
    durable before the rest of its unit of work, and a crash in between loses the reply for good.
    A write that changes nothing makes pysqlite begin the transaction (and takes SQLite's write lock,
    which this unit of work is about to need anyway) before the savepoint. SQLAlchemy's own recipe
    (``isolation_level=None`` plus ``BEGIN`` on every begin) was not used: it would start every read
    in a transaction, and a WAL read transaction that later writes after another writer committed
    fails at once with SQLITE_BUSY_SNAPSHOT, which the busy timeout does not cover.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("UPDATE rollup_period SET period = period WHERE 1 = 0"))
    return session.begin_nested()


def alembic_config(engine: Engine) -> Any:
    """Alembic config pointing at the packaged migrations and this engine."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def ping(engine: Engine) -> bool:
    """True when the database answers a trivial query."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        log.exception("database ping failed")
        return False
