"""Regenerate the initial migration from the models (only while nothing has been released)."""

from pathlib import Path

from alembic import command

from bot.db import alembic_config, make_engine

path = Path("/tmp/autogen-artifact-bot.db")
for suffix in ("", "-wal", "-shm"):
    Path(f"{path}{suffix}").unlink(missing_ok=True)
for f in Path("bot/migrations/versions").glob("0001_*.py"):
    f.unlink()
engine = make_engine(f"sqlite:///{path}")
command.revision(alembic_config(engine), message="initial schema", autogenerate=True, rev_id="0001")
