"""Claude Code: seat spend and output signals, from Anthropic's Claude Code Analytics Admin API.

Source ``claude_code`` (its own cursor and re-sync window), key ``ANTHROPIC_ADMIN_KEY``, base URL
``ANTHROPIC_BASE_URL``; the HTTP client, paging and 429/``Retry-After`` handling are those of
:class:`bot.spend.connectors.anthropic_admin.AnthropicAdmin`.

Documentation (Anthropic API reference, Admin › Usage Report › "Get Claude Code Usage Report",
``platform.claude.com/docs/en/api/admin/usage_report``, and the "Claude Code Analytics API"
guide, ``platform.claude.com/docs/en/build-with-claude/claude-code-analytics-api``):

* ``GET /v1/organizations/usage_report/claude_code?starting_at=YYYY-MM-DD&limit=…&page=…``:
  the records of one UTC day; ``data``, ``has_more``, ``next_page``.
* A record: ``date`` (RFC 3339, the UTC day), ``actor`` — ``UserActor {type: "user_actor",
  email_address}`` or ``APIActor {type: "api_actor", api_key_name}`` —, ``customer_type``
  (``api`` or ``subscription``), ``core_metrics {num_sessions, lines_of_code {added, removed},
  commits_by_claude_code, pull_requests_by_claude_code}``, ``model_breakdown[] {model, tokens
  {input, output, cache_read, cache_creation}, estimated_cost {amount, currency}}`` where
  ``amount`` is in minor currency units (cents for USD).

The rule (README, "Where spend comes from"):

* ``user_actor`` records are spend: one usage row per person, day and model, provider
  ``anthropic``, source ``claude_code``, cost = the estimated cost, attributed by email. Their
  usage runs on a seat or through Claude Code's own login, which the API messages report does
  not show, so without them a heavy Claude Code user counts $0.
* ``api_actor`` records are *not* spend: their tokens went through an API key, so they are
  already in the messages report (source ``anthropic``); counting them here would double them.
  They still give signals, mapped through the key's name (config ``identities`` may map it).
* Every record gives signals (sessions, lines added/removed, commits, pull requests, estimated
  cost): shown as context and suggested evidence, never counted as artifacts.

Assumed (not stated there): ``tokens.input`` excludes cache reads and cache creation (as the
messages report's ``uncached_input_tokens`` does), so a row's input tokens are their sum and its
cached tokens the reads; a model with no ``estimated_cost`` (null) is priced from its tokens
by the price table (cache creation at the 5-minute write price), else kept unpriced; an amount
in another currency than USD is logged and counted as USD; a record without an ``actor`` or an
email is unattributed.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from decimal import Decimal
from typing import Any

from bot.spend.connectors.anthropic_admin import (
    AnthropicAdmin,
    ClaudeCodeRecord,
    ClaudeCodeTokens,
    CoreMetrics,
    LinesOfCode,
    cents_to_usd,
    open_admin,
)
from bot.spend.connectors.base import (
    UNATTRIBUTED,
    ProviderFetch,
    SignalRow,
    SpendRow,
    bucket_date,
    log_fetch,
    parse_rfc3339,
    query_window,
    token_row,
    utc_midnight,
)

log = logging.getLogger(__name__)

SOURCE = "claude_code"
PROVIDER = "anthropic"
USER_ACTOR = "user_actor"


def _actor(rec: ClaudeCodeRecord) -> tuple[str, str, tuple[str, ...], str | None]:
    """``(type, identity, aliases, email)`` of a record's actor."""
    actor: dict[str, Any] = rec.actor or {}
    kind = str(actor.get("type") or "")
    email = actor.get("email_address")
    key_name = actor.get("api_key_name")
    if kind == USER_ACTOR and isinstance(email, str) and email.strip():
        email = email.strip().lower()
        return kind, email, (email,), email
    if isinstance(key_name, str) and key_name.strip():
        return kind, f"anthropic-key-name:{key_name.strip()}", (key_name.strip(),), None
    return kind, UNATTRIBUTED, (), None


def _usd(amount: Any, currency: str | None) -> Decimal:
    if (currency or "USD").upper() != "USD":
        log.warning("Claude Code estimated cost in %s, counted as USD", currency)
    return cents_to_usd(amount)


def spend_rows(day: dt.date, rec: ClaudeCodeRecord) -> list[SpendRow]:
    """A ``user_actor`` record's spend, one row per model; nothing for an ``api_actor``."""
    kind, identity, aliases, email = _actor(rec)
    if kind != USER_ACTOR:
        return []
    rows = []
    for mb in rec.model_breakdown:
        model = ((mb.model or "unknown").strip() or "unknown")[:120]
        t = mb.tokens or ClaudeCodeTokens()
        cost: float | None = None  # none estimated: priced from the tokens
        if mb.estimated_cost is not None and mb.estimated_cost.amount is not None:
            cost = float(_usd(mb.estimated_cost.amount, mb.estimated_cost.currency))
        row = token_row(
            PROVIDER,
            model,
            day,
            identity=identity,
            aliases=aliases,
            email=email,
            uncached_input=t.input,
            cache_read=t.cache_read,
            cache_write_5m=t.cache_creation,
            output=t.output,
            cost_usd=cost,
        )
        if row.cost_usd or row.input_tokens or row.output_tokens:
            rows.append(row)
    return rows


def signals(day: dt.date, rec: ClaudeCodeRecord) -> list[SignalRow]:
    """A record's output metrics (any actor): sessions, lines, commits, pull requests, estimated cost."""
    _kind, identity, aliases, email = _actor(rec)
    core = rec.core_metrics or CoreMetrics()
    lines = core.lines_of_code or LinesOfCode()
    cost = sum(
        (_usd(mb.estimated_cost.amount, mb.estimated_cost.currency) for mb in rec.model_breakdown if mb.estimated_cost),
        Decimal(0),
    )
    values = {
        "sessions": core.num_sessions,
        "lines_added": lines.added,
        "lines_removed": lines.removed,
        "commits": core.commits_by_claude_code,
        "pull_requests": core.pull_requests_by_claude_code,
        "estimated_cost_usd": float(cost),
    }
    return [
        SignalRow(date=day, identity=identity, metric=m, value=float(v), aliases=aliases, email=email)
        for m, v in values.items()
    ]


def fetch_claude_code(
    client: AnthropicAdmin, *, first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo, now: dt.datetime
) -> ProviderFetch:
    """Read Claude Code analytics for org days ``first``..``last``; writes nothing.

    Each UTC day of the query window is asked separately (the API serves one day per request)
    and placed on the org day holding most of it. There is no provider bill for this source:
    the estimated costs are the spend.

    Raises:
        ConfigError: the admin key was refused (401/403), naming ``ANTHROPIC_ADMIN_KEY``.
        ProviderError: any other failure once the retries are spent.
    """
    start, end = query_window(first, last, now)
    result = ProviderFetch(source=SOURCE, first=first, last=last, signal_source=SOURCE)
    utc_day = start.date()
    while utc_day < end.date():
        for rec in client.claude_code(utc_day):
            day = bucket_date(parse_rfc3339(rec.date) if rec.date else utc_midnight(utc_day), None, tz)
            if first <= day <= last:
                result.rows.extend(spend_rows(day, rec))
                result.signals.extend(signals(day, rec))
        utc_day += dt.timedelta(days=1)
    result.requests_made = client.requests_made
    return log_fetch(log, result)


def fetch(settings: Any, *, first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo, now: dt.datetime) -> ProviderFetch:
    """The connector entry point: :func:`fetch_claude_code` on :func:`~.anthropic_admin.open_admin`."""
    with open_admin(settings, source=SOURCE) as admin:
        return fetch_claude_code(admin, first=first, last=last, tz=tz, now=now)
