"""Usage sync: spend from every provider of the connector registry whose keys are set."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from bot.deps import Deps
from jobs.common import JobResult, Progress


def configured(deps: Deps) -> bool:
    """True when a provider of the registry has its keys, or the config has seat licences."""
    from bot.spend.connectors import configured as providers

    return bool(providers(deps.settings)) or bool(deps.org.seats)


def run(deps: Deps, *, now: dt.datetime, period: str | None = None, progress: Progress | None = None) -> JobResult:
    """Pull usage from every configured provider (incremental, from each source's cursor)."""
    if not configured(deps):
        from bot.spend.connectors import REGISTRY

        keys = ", ".join(sorted({k for c in REGISTRY.values() for k in c.env_keys}))
        return JobResult(job="usage-sync", notes=[f"no provider keys ({keys}) and no seats: nothing to sync"])
    from bot.spend.sync import sync_usage

    lookup: Callable[[str], Any] | None = None
    if deps.slack is not None:
        from bot.people.directory import lookup_by_email

        client = deps.slack

        def lookup(email: str) -> Any:
            return lookup_by_email(client, email)

    report = sync_usage(deps.engine, deps.settings, deps.org, provider="all", since=None, now=now, lookup_email=lookup)
    return JobResult(job="usage-sync", notes=report.lines())


def enqueue_due(deps: Deps, *, now: dt.datetime) -> JobResult:
    """The scheduled run (hourly)."""
    return run(deps, now=now)
