"""Fixtures of the usage connector tests: a real database (SQLite, and PostgreSQL when set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import bot.models  # noqa: F401  (registers the tables)
from bot.db import make_engine

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh database with every table: a SQLite file, or a throw-away PostgreSQL schema."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'usage.db'}")
        SQLModel.metadata.create_all(eng)
        yield eng
        eng.dispose()
        return
    if not PG_URL.startswith(("postgres://", "postgresql")):
        pytest.skip("PostgreSQL run skipped: set TEST_DATABASE_URL=postgresql://... to run it")
    schema = f"t_usage_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL, pool_size=1)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        SQLModel.metadata.create_all(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
