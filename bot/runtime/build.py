"""Building the dependencies from settings: the one place engines and the language model are made."""

from __future__ import annotations

import ast
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.config import OrgConfig, Settings
    from bot.deps import Deps


def build_deps(settings: Settings, *, migrate: bool = True, llm: bool = True, journal: bool = True) -> Deps:
    """The composition root's dependencies from settings: config, engines (migrated), language model.

    Used by the command line and by each process ``serve`` starts (workers, work processes).

    Args:
        settings: the environment's settings.
        migrate: bring the schema to the packaged migrations' head first (Alembic is imported
            only when the database is behind).
        llm: build the language-model client (when ``OPENAI_API_KEY`` is set); commands that
            never call the model pass False and do not import its SDK.
        journal: open the DM journal's own SQLite file (``bot.db.journal_engine``); commands that
            never read or write stored DM replies pass False (``Deps.journal`` is then the engine).
    """
    from bot.config import load_org_config
    from bot.db import journal_engine, make_engine
    from bot.deps import Deps

    org = load_org_config(settings.artifact_bot_config)
    engine = make_engine(settings.database_url)
    if migrate and not schema_is_current(engine):
        from bot.db import upgrade

        upgrade(engine)
    model = _language_model(settings, engine, org) if llm else None
    inbox = journal_engine(engine) if journal else None
    return Deps(settings=settings, org=org, engine=engine, llm=model, inbox_engine=inbox)


def _language_model(settings: Settings, engine: Engine, org: OrgConfig) -> Any:
    # Without a key there is no client (LLM.from_settings says the same): the SDK is not imported.
    key = settings.openai_api_key.get_secret_value().strip() if settings.openai_api_key else ""
    if not key:
        return None
    from bot.llm.client import LLM, usage_recorder

    # Interactive paths must not wait long on a language model: short timeout, no retries.
    return LLM.from_settings(
        settings, on_usage=usage_recorder(engine, org), identity=org.bot_identity, timeout=8.0, max_retries=0
    )


def schema_is_current(engine: Engine) -> bool:
    """True when the database is at every head of the packaged migrations.

    One query and the migration files' own ``revision``/``down_revision`` assignments: a command
    on an up-to-date database does not import Alembic (about 0.2 s of a CLI command's start).
    Any doubt (no version table, an unreadable migration file) answers False, and the caller
    runs Alembic's idempotent upgrade.
    """
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    heads = script_heads()
    if not heads:
        return False
    try:
        with engine.connect() as conn:
            current = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except DBAPIError:
        return False
    return current == heads


@cache
def script_heads() -> frozenset[str]:
    """The head revisions of ``bot/migrations/versions``: revisions no other migration revises."""
    from bot.db import MIGRATIONS_DIR

    revisions: set[str] = set()
    revised: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        values = _assignments(path.read_text(encoding="utf-8"), ("revision", "down_revision"))
        if not isinstance(values.get("revision"), str):
            return frozenset()  # not a migration we can read: let Alembic decide
        revisions.add(values["revision"])
        down = values.get("down_revision")
        if isinstance(down, str):
            revised.add(down)
        elif isinstance(down, tuple | list):
            revised.update(str(d) for d in down)
    return frozenset(revisions - revised)


def _assignments(source: str, names: tuple[str, ...]) -> dict[str, Any]:
    """Module-level literal assignments ``name = ...`` / ``name: T = ...`` of ``names``."""
    found: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            targets, value = [node.target], node.value
        elif isinstance(node, ast.Assign):
            targets, value = [t for t in node.targets if isinstance(t, ast.Name)], node.value
        else:
            continue
        for target in targets:
            if target.id in names:
                try:
                    found[target.id] = ast.literal_eval(value)
                except ValueError:
                    found[target.id] = None
    return found
