"""Migrations: they build the schema on an empty database and match the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import bot.models  # noqa: F401


def test_migrated_schema_matches_models(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == []
    assert {"person", "team", "usage_row", "artifact", "checkin", "outbox", "audit_log"} <= set(
        inspect(engine).get_table_names()
    )


def test_sqlite_runs_in_wal_mode(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
