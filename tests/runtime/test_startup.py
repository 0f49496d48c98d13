"""A command imports only what it uses; Alembic runs only when the schema is behind (issue 13)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.db import alembic_config, make_engine, upgrade
from bot.runtime.build import schema_is_current, script_heads

HEAVY = ("openai", "alembic", "rich", "matplotlib", "genai_prices", "slack_bolt", "slack_sdk", "apscheduler", "httpx")

PROBE = f"""
import json, sys
from bot.runtime.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
print(json.dumps({{"code": code, "heavy": sorted(m for m in {HEAVY!r} if m in sys.modules)}}), file=sys.stderr)
"""


def modules_after(args: list[str], *, cwd: Path, db_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTIFACT_BOT_")}
    env.update(DATABASE_URL=db_url, OPENAI_API_KEY="sk-test-not-used")  # a key must not pull the SDK in
    res = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    return json.loads(res.stderr.strip().splitlines()[-1])


def test_help_imports_nothing_heavy(tmp_path):
    res = subprocess.run(
        [sys.executable, "-c", "import sys\nfrom bot.runtime.cli import _finish, build_parser\n"
         "_finish(build_parser()).format_help()\n"
         f"print(sorted(m for m in {HEAVY!r} if m in sys.modules) + sorted(m for m in sys.modules "
         "if m.split('.')[0] in ('sqlalchemy', 'sqlmodel', 'pydantic')))"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_leaderboard_json_on_a_migrated_database_imports_no_sdk_no_alembic_no_rich(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    engine.dispose()
    seen = modules_after(["leaderboard", "--format", "json"], cwd=tmp_path, db_url=db_url)
    assert seen == {"code": 0, "heavy": []}


def test_a_table_imports_rich_and_an_empty_database_is_migrated(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    seen = modules_after(["leaderboard"], cwd=tmp_path, db_url=db_url)
    assert seen["code"] == 0
    assert "rich" in seen["heavy"] and "alembic" in seen["heavy"]  # fresh database: migrated first
    assert "openai" not in seen["heavy"]
    engine = make_engine(db_url)
    try:
        assert schema_is_current(engine)
    finally:
        engine.dispose()


def test_script_heads_are_alembics_heads(tmp_path):
    from alembic.script import ScriptDirectory

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        assert script_heads() == frozenset(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
    finally:
        engine.dispose()


def test_schema_is_current_only_at_head(db_url):
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            from sqlalchemy import text

            assert schema_is_current(engine)  # the fixture's database is migrated
            heads = list(script_heads())
            conn.execute(text("UPDATE alembic_version SET version_num = 'behind'"))
        assert not schema_is_current(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :h"), {"h": heads[0]})
        assert schema_is_current(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", ["sqlite:///{tmp}/empty.db"])
def test_an_empty_database_is_not_current(tmp_path, url):
    engine = make_engine(url.format(tmp=tmp_path))
    try:
        assert not schema_is_current(engine)
    finally:
        engine.dispose()
