"""Building the dependencies from settings: the one place engines and the language model are made."""

from __future__ import annotations

from bot.config import Settings
from bot.deps import Deps


def build_deps(settings: Settings, *, migrate: bool = True) -> Deps:
    """The composition root's dependencies from settings: config, engines (migrated), language model.

    Used by the command line and by each process ``serve`` starts (workers, work processes).
    """
    from bot.config import load_org_config
    from bot.db import journal_engine, make_engine, upgrade
    from bot.llm.client import LLM, usage_recorder

    org = load_org_config(settings.artifact_bot_config)
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    # Interactive paths must not wait long on a language model: short timeout, no retries.
    llm = LLM.from_settings(
        settings, on_usage=usage_recorder(engine, org), identity=org.bot_identity, timeout=8.0, max_retries=0
    )
    return Deps(settings=settings, org=org, engine=engine, llm=llm, inbox_engine=journal_engine(engine))
