"""Usage sync: spend from the providers' admin APIs (when a key is configured)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from bot.deps import Deps
from jobs.common import JobResult, Progress


def configured(deps: Deps) -> bool:
    """True when at least one provider admin key is set."""
    return bool(deps.settings.openai_admin_key or deps.settings.anthropic_admin_key)


def run(deps: Deps, *, now: dt.datetime, period: str | None = None, progress: Progress | None = None) -> JobResult:
    """Pull usage from every configured provider (incremental, from each source's cursor)."""
    if not configured(deps):
        return JobResult(job="usage-sync", notes=["no OPENAI_ADMIN_KEY or ANTHROPIC_ADMIN_KEY: nothing to sync"])
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
