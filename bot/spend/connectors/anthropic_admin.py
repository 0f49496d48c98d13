"""Anthropic organisation spend and Claude Code output, from the Admin API over ``httpx``.

There is no Admin API client in an installed Anthropic SDK, so this is plain ``httpx`` with
explicit timeouts and :func:`bot.spend.connectors.base.get_json`'s bounded retry of 429/5xx honouring
``Retry-After``. Every request sends ``x-api-key: $ANTHROPIC_ADMIN_KEY`` and
``anthropic-version: 2023-06-01``.

Where each field comes from (Anthropic's published API reference, "Admin" section:
``/docs/en/api/admin/usage_report/retrieve_messages``, ``.../cost_report/retrieve``,
``.../usage_report/retrieve_claude_code``, ``.../users/list``, ``.../api_keys/list``; the
Usage and Cost API guide; the Claude Code Analytics API guide; the HTTP errors page):

* ``GET /v1/organizations/usage_report/messages`` — query ``starting_at`` / ``ending_at``
  (RFC 3339; buckets snapped to UTC days), ``bucket_width=1d``, ``group_by[]`` (``account_id``,
  ``api_key_id``, ``model``, ``service_tier`` among the documented options), ``limit`` (1d:
  max 31), ``page`` = previous ``next_page``. Answer ``{data: [{starting_at, ending_at,
  results: [...]}], has_more, next_page}``; a result has ``account_id`` ("ID of the user account
  that made the request. null if not grouping by account or for non-OAuth requests"),
  ``api_key_id`` (null for Console usage), ``model``, ``service_tier`` (``standard``,
  ``batch``, ``priority``, ``priority_on_demand``, ``flex``, ``flex_discount``),
  ``uncached_input_tokens``, ``cache_read_input_tokens``,
  ``cache_creation.{ephemeral_5m_input_tokens, ephemeral_1h_input_tokens}``,
  ``output_tokens``, ``server_tool_use.web_search_requests``.
* ``GET /v1/organizations/cost_report`` — same paging; ``bucket_width`` ``1d`` only; a result's
  ``amount`` is a string: "Cost amount in lowest currency units (e.g. cents) as a decimal
  string. For example, "123.45" in "USD" represents $1.23"; ``currency`` "currently always
  USD". Priority Tier costs are not included (documented), so they show as a gap.
* ``GET /v1/organizations/usage_report/claude_code`` (read by :mod:`.claude_code`) — query
  ``starting_at`` = one UTC date ``YYYY-MM-DD`` ("metrics for this single day only"),
  ``limit`` (max 1000), ``page``. A record:
  ``date``, ``actor`` (``{type: "user_actor", email_address}`` or ``{type: "api_actor",
  api_key_name}``), ``core_metrics.{num_sessions, lines_of_code.{added, removed},
  commits_by_claude_code, pull_requests_by_claude_code}``, ``model_breakdown[].{model,
  tokens.{input, output, cache_read, cache_creation}, estimated_cost.{amount, currency}}`` with
  ``amount`` a number "in minor currency units (e.g., cents for USD)"; ``has_more``,
  ``next_page``.
* ``GET /v1/organizations/users`` (``id``, ``email``) and ``GET /v1/organizations/api_keys``
  (``id``, ``name``): ``limit`` up to 1000, paged with ``after_id`` = ``last_id`` while
  ``has_more``.
* Errors: 401 ``authentication_error``, 403 ``permission_error``, 429 ``rate_limit_error`` with
  a ``retry-after`` header, 500 ``api_error``, 529 ``overloaded_error``.

Assumed (not stated there): cache-creation tokens are priced at genai-prices' 5-minute and
1-hour cache-write prices, ``service_tier: batch`` at half price, other tiers at the standard
price; the messages report has no request counts (``requests`` stays 0). Claude Code's spend
and signals are a source of their own (:mod:`.claude_code`), from the same key.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from bot.spend.connectors import setting
from bot.spend.connectors.base import (
    MAX_PAGES,
    AdminClient,
    ProviderError,
    ProviderFetch,
    SpendRow,
    bucket_date,
    decimal_amount,
    log_fetch,
    name_by_email,
    parse_rfc3339,
    query_window,
    required_settings,
    rfc3339,
    spender,
    token_row,
)

log = logging.getLogger(__name__)

SOURCE = "anthropic"
PROVIDER = "anthropic"
KEY_VARIABLE = "ANTHROPIC_ADMIN_KEY"
DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
USAGE_PAGE_BUCKETS = 31
CLAUDE_CODE_PAGE = 1000
LIST_PAGE = 1000
MESSAGES_GROUP_BY = ("account_id", "api_key_id", "model", "service_tier")

_M = TypeVar("_M", bound=BaseModel)
_R = TypeVar("_R", bound=BaseModel)


def _zero_if_null(value: Any) -> Any:
    return 0 if value is None else value


Count = Annotated[int, BeforeValidator(_zero_if_null)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CacheCreation(_Model):
    ephemeral_1h_input_tokens: Count = 0
    ephemeral_5m_input_tokens: Count = 0


class ServerToolUse(_Model):
    web_search_requests: Count = 0


class MessagesUsageResult(_Model):
    """One result of a messages usage report bucket (documented shape)."""

    account_id: str | None = None
    api_key_id: str | None = None
    workspace_id: str | None = None
    model: str | None = None
    service_tier: str | None = None
    uncached_input_tokens: Count = 0
    cache_read_input_tokens: Count = 0
    cache_creation: CacheCreation | None = None
    output_tokens: Count = 0
    server_tool_use: ServerToolUse | None = None


class CostResult(_Model):
    """One result of a cost report bucket: ``amount`` in cents as a decimal string."""

    amount: str | float | int | None = None
    currency: str | None = "USD"
    cost_type: str | None = None
    model: str | None = None


class Bucket(_Model, Generic[_R]):
    """One UTC day of a usage or cost report and its results."""

    starting_at: str
    ending_at: str | None = None
    results: list[_R] = []

    def day(self, tz: zoneinfo.ZoneInfo) -> dt.date:
        """The organisation's day the bucket belongs to (:func:`~bot.spend.connectors.base.bucket_date`)."""
        return bucket_date(parse_rfc3339(self.starting_at), _maybe_time(self.ending_at), tz)


MessagesBucket = Bucket[MessagesUsageResult]
CostBucket = Bucket[CostResult]


class LinesOfCode(_Model):
    added: Count = 0
    removed: Count = 0


class CoreMetrics(_Model):
    num_sessions: Count = 0
    lines_of_code: LinesOfCode | None = None
    commits_by_claude_code: Count = 0
    pull_requests_by_claude_code: Count = 0


class EstimatedCost(_Model):
    amount: float | int | str | None = None
    currency: str | None = "USD"


class ClaudeCodeTokens(_Model):
    input: Count = 0
    output: Count = 0
    cache_read: Count = 0
    cache_creation: Count = 0


class ModelBreakdown(_Model):
    model: str | None = None
    tokens: ClaudeCodeTokens | None = None
    estimated_cost: EstimatedCost | None = None


class ClaudeCodeRecord(_Model):
    """One Claude Code analytics record: one actor on one UTC day."""

    date: str
    actor: dict[str, Any] | None = None
    core_metrics: CoreMetrics | None = None
    model_breakdown: list[ModelBreakdown] = []


class AnthropicAdmin(AdminClient):
    """A small client of the Anthropic Admin API endpoints the bot reads."""

    provider = "Anthropic"
    key_variable = KEY_VARIABLE
    default_base_url = DEFAULT_BASE_URL

    def _headers(self, api_key: str) -> dict[str, str]:
        return {"x-api-key": api_key, "anthropic-version": API_VERSION, "accept": "application/json"}

    def _get(self, path: str, params: list[tuple[str, str | int]]) -> dict[str, Any]:
        body: dict[str, Any] = self._request(path, params)
        return body

    def _paged(self, path: str, params: list[tuple[str, str | int]]) -> Iterator[dict[str, Any]]:
        """Every item of ``data`` over ``has_more`` / ``next_page`` pages."""
        page: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            body = self._get(path, params + ([("page", page)] if page else []))
            data = body.get("data") or []
            if not isinstance(data, list):
                raise ProviderError(f"Anthropic {path}: 'data' is not a list")
            yield from data
            nxt = body.get("next_page")
            if not body.get("has_more") or not nxt:
                return
            if nxt in seen:
                raise ProviderError(f"Anthropic {path}: page token came back twice")
            seen.add(str(nxt))
            page = str(nxt)
        raise ProviderError(f"Anthropic {path}: more than {MAX_PAGES} pages")

    def _listed(self, path: str) -> Iterator[dict[str, Any]]:
        """Every object of a list endpoint paged with ``after_id`` / ``last_id``."""
        after: str | None = None
        for _ in range(MAX_PAGES):
            params: list[tuple[str, str | int]] = [("limit", LIST_PAGE)]
            if after:
                params.append(("after_id", after))
            body = self._get(path, params)
            data = body.get("data") or []
            yield from (d for d in data if isinstance(d, dict))
            last = body.get("last_id")
            if not body.get("has_more") or not last or last == after:
                return
            after = str(last)
        raise ProviderError(f"Anthropic {path}: more than {MAX_PAGES} pages")

    def messages_usage(self, start: dt.datetime, end: dt.datetime) -> Iterator[MessagesBucket]:
        """Daily messages usage buckets in ``[start, end)`` grouped by account, key, model and tier."""
        params = _daily(start, end) + [("group_by[]", g) for g in MESSAGES_GROUP_BY]
        for item in self._paged("/v1/organizations/usage_report/messages", params):
            yield _parse(MessagesBucket, item, "usage_report/messages")

    def cost_report(self, start: dt.datetime, end: dt.datetime) -> Iterator[CostBucket]:
        """Daily cost buckets in ``[start, end)`` (organisation totals)."""
        for item in self._paged("/v1/organizations/cost_report", _daily(start, end)):
            yield _parse(CostBucket, item, "cost_report")

    def claude_code(self, day: dt.date) -> Iterator[ClaudeCodeRecord]:
        """Claude Code analytics records of one UTC day."""
        params: list[tuple[str, str | int]] = [("starting_at", day.isoformat()), ("limit", CLAUDE_CODE_PAGE)]
        for item in self._paged("/v1/organizations/usage_report/claude_code", params):
            yield _parse(ClaudeCodeRecord, item, "usage_report/claude_code")

    def user_emails(self) -> dict[str, str]:
        """Organisation user id → email (lower case)."""
        return {
            str(u["id"]): str(u["email"]).strip().lower()
            for u in self._listed("/v1/organizations/users")
            if u.get("id") and u.get("email")
        }

    def api_key_names(self) -> dict[str, str]:
        """API key id → name."""
        return {
            str(k["id"]): str(k["name"]).strip()
            for k in self._listed("/v1/organizations/api_keys")
            if k.get("id") and k.get("name")
        }


def _daily(start: dt.datetime, end: dt.datetime) -> list[tuple[str, str | int]]:
    """The query of a daily report (messages usage, cost) over ``[start, end)``, a page's worth of days."""
    return [
        ("starting_at", rfc3339(start)),
        ("ending_at", rfc3339(end)),
        ("bucket_width", "1d"),
        ("limit", USAGE_PAGE_BUCKETS),
    ]


def _parse(model: type[_M], item: Any, what: str) -> _M:
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        raise ProviderError(f"Anthropic {what}: unexpected shape: {exc.errors()[0]['msg']}") from None


def cents_to_usd(amount: str | float | int | None) -> Decimal:
    """USD from an amount in cents (a decimal string like ``"123.45"`` or a number)."""
    return decimal_amount(amount, what="Anthropic amount in cents") / 100


def _spend_row(day: dt.date, r: MessagesUsageResult) -> SpendRow | None:
    cc = r.cache_creation or CacheCreation()
    w5, w1 = cc.ephemeral_5m_input_tokens, cc.ephemeral_1h_input_tokens
    searches = r.server_tool_use.web_search_requests if r.server_tool_use else 0
    inp = r.uncached_input_tokens + r.cache_read_input_tokens + w5 + w1
    if inp == 0 and r.output_tokens == 0 and searches == 0:
        return None
    # The spender is the user account when Anthropic names one (OAuth requests); otherwise the
    # API key, which the config may map by id or name.
    identity, aliases = spender(("anthropic-account", r.account_id), ("anthropic-key", r.api_key_id))
    return token_row(
        PROVIDER,
        (r.model or "unknown").strip() or "unknown",
        day,
        identity=identity,
        aliases=aliases,
        uncached_input=r.uncached_input_tokens,
        cache_read=r.cache_read_input_tokens,
        cache_write_5m=w5,
        cache_write_1h=w1,
        output=r.output_tokens,
        web_searches=searches,
        batch=r.service_tier == "batch",
    )


def fetch_anthropic(
    client: AnthropicAdmin, *, first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo, now: dt.datetime
) -> ProviderFetch:
    """Read Anthropic API usage and costs for org days ``first``..``last`` (Claude Code: :mod:`.claude_code`).

    Writes nothing.

    Raises:
        ConfigError: the admin key was refused (401/403), naming ``ANTHROPIC_ADMIN_KEY``.
        ProviderError: any other failure once the retries are spent.
    """
    start, end = query_window(first, last, now)
    result = ProviderFetch(source=SOURCE, first=first, last=last)
    for bucket in client.messages_usage(start, end):
        day = bucket.day(tz)
        if not first <= day <= last:
            continue
        for r in bucket.results:
            row = _spend_row(day, r)
            if row is not None:
                result.rows.append(row)
    accounts = {r.identity for r in result.rows if r.identity.startswith("anthropic-account:")}
    keys = {r.identity for r in result.rows if r.identity.startswith("anthropic-key:")}
    emails = client.user_emails() if accounts else {}
    names = client.api_key_names() if keys else {}
    name_by_email(result.rows, "anthropic-account:", emails)
    for row in result.rows:
        if row.identity.startswith("anthropic-key:"):
            name = names.get(row.identity.removeprefix("anthropic-key:"))
            if name:
                row.aliases = (*row.aliases, name)
                row.identity = f"anthropic-key-name:{name}"
    for cost_bucket in client.cost_report(start, end):
        day = cost_bucket.day(tz)
        if not first <= day <= last:
            continue
        total = result.totals.get(day, Decimal(0))
        for c in cost_bucket.results:
            if (c.currency or "USD").upper() != "USD":
                log.warning("Anthropic cost in %s, counted as USD", c.currency)
            total += cents_to_usd(c.amount)
        result.totals[day] = total
    result.requests_made = client.requests_made
    return log_fetch(log, result)


def _maybe_time(value: str | None) -> dt.datetime | None:
    return parse_rfc3339(value) if value else None


def open_admin(settings: Any, *, source: str) -> AnthropicAdmin:
    """An :class:`AnthropicAdmin` with ``ANTHROPIC_ADMIN_KEY`` at ``ANTHROPIC_BASE_URL`` (for ``source``'s sync).

    Raises:
        ConfigError: the key is not set.
    """
    (key,) = required_settings(settings, KEY_VARIABLE, source=source)
    return AnthropicAdmin(key, base_url=setting(settings, "ANTHROPIC_BASE_URL"))


def fetch(settings: Any, *, first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo, now: dt.datetime) -> ProviderFetch:
    """The connector entry point: :func:`fetch_anthropic` on :func:`open_admin`."""
    with open_admin(settings, source=SOURCE) as admin:
        return fetch_anthropic(admin, first=first, last=last, tz=tz, now=now)
