"""Shared fixtures: a migrated database per test on SQLite, and on PostgreSQL when available."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from bot.db import make_engine, upgrade
from testing.slack_emulator import SlackEmulator

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
PG_SKIP = (
    "PostgreSQL tests need TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test); "
    "unset, so only SQLite runs"
)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated once."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    name = f"artifact_bot_test_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL at {url.host}:{url.port} not usable: {exc}")
    test_url = url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(test_url)
    upgrade(engine)
    engine.dispose()
    yield test_url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_pg(engine: Engine) -> None:
    with engine.begin() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            )
        ]
        if tables:
            conn.execute(
                text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
            )


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database URL: SQLite always, PostgreSQL when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    engine = make_engine(url)
    _truncate_pg(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """SQLite only (for tests that need no PostgreSQL variant)."""
    path = tmp_path / "only.db"
    shutil.copy(sqlite_template, path)
    eng = make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


@pytest.fixture
def slack_emulator() -> Iterator[SlackEmulator]:
    """A running SlackEmulator, stopped (and checked for internal errors) after the test."""
    with SlackEmulator() as emu:
        yield emu


@pytest.fixture
def slack_client(slack_emulator: SlackEmulator) -> WebClient:
    """A real slack_sdk WebClient pointed at ``slack_emulator``."""
    return slack_emulator.client()


@pytest.fixture
def slack_env(slack_emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch) -> SlackEmulator:
    """Set SLACK_API_URL, SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to talk to ``slack_emulator``."""
    for key, value in slack_emulator.env().items():
        monkeypatch.setenv(key, value)
    return slack_emulator
