"""The dependencies every listener and job receives, built once in the composition root."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from bot.config import OrgConfig, Settings


def utc_now() -> dt.datetime:
    """The real clock (only the root and the job runner read it)."""
    return dt.datetime.now(dt.UTC)


@dataclass
class Deps:
    """Settings, org config, engine, Slack client, optional language model and the clock.

    ``org`` may be replaced on a config reload; everything else is fixed for the process.
    """

    settings: Settings
    org: OrgConfig
    engine: Engine
    slack: Any = None
    llm: Any = None
    clock: Callable[[], dt.datetime] = field(default=utc_now)
    # Where DM replies are stored before Slack's ack (``bot.artifacts.inbox``). None: ``engine``.
    # On SQLite the root gives the journal a file of its own (``bot.db.journal_engine``).
    inbox_engine: Engine | None = None

    @property
    def journal(self) -> Engine:
        """The engine that holds the stored DM replies."""
        return self.inbox_engine or self.engine

    def __deepcopy__(self, memo: dict[int, Any]) -> Deps:
        # Shared by every request (Bolt deep-copies the context for lazy listeners): never copied.
        return self
