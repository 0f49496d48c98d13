"""OpenAI organisation spend: the Usage, Costs and Users admin APIs, through the official SDK.

The installed ``openai`` SDK (2.x; checked on 2.54) ships typed admin resources, so they are
used rather than raw ``client.get``: ``client.admin.organization.usage.completions`` /
``.embeddings`` / ``.moderations`` / ``.costs`` and ``client.admin.organization.users.list``.
The client is built with ``admin_api_key`` (sent as ``Authorization: Bearer``), an explicit
base URL (``OPENAI_BASE_URL`` from the settings, as the SDK itself would use, else
``https://api.openai.com/v1``; tests point it at a loopback fake), an explicit timeout and
``max_retries``: the SDK retries 408/409/429/5xx and connection errors with exponential
backoff and honours ``Retry-After`` (up to 2 minutes).

Field names, types and units are those of ``shared/providers/openai-admin-usage.openapi.json``
(cut from openai/openai-openapi):

* ``GET /organization/usage/{completions,embeddings,moderations}`` — the usage endpoints that
  carry tokens (images, audio, vector stores, code interpreter and search calls count images,
  characters, seconds, bytes or calls; their spend reaches the board through the Costs total,
  as unattributed spend). Query: ``start_time`` (Unix seconds, inclusive), ``end_time``
  (exclusive), ``bucket_width=1d``, ``group_by`` (``user_id``, ``api_key_id``, ``model``, and
  ``batch`` for completions only), ``limit`` (max 31 daily buckets), ``page`` = the previous
  ``next_page``. Answer ``UsageResponse``: ``data`` (buckets: ``start_time``, ``end_time`` in
  Unix seconds UTC, ``results``), ``has_more``, ``next_page``.
* Completions result: ``input_tokens`` ("including cached and cache-write tokens"),
  ``input_cached_tokens``, ``input_cache_write_tokens``, ``output_tokens``,
  ``num_model_requests``, and the nullable groupings ``user_id``, ``api_key_id``, ``model``,
  ``batch``. Embeddings and moderations results: ``input_tokens``, ``num_model_requests``.
* ``GET /organization/costs`` — ``amount.value`` (a number) in ``amount.currency`` ("usd"),
  ``bucket_width=1d`` only, ``limit`` up to 180, same paging.
* ``GET /organization/users`` — ``id``, ``email`` (nullable; also ``user.email``), paged by the
  SDK with ``after`` = ``last_id``.

Assumed (not stated by the spec): ``batch: true`` tokens cost half (the Batch API discount;
genai-prices has no batch prices); cache-write tokens are priced at genai-prices' cache-write
price for the model, or its input price when it has none; audio and image tokens, which are
part of ``input_tokens``/``output_tokens``, are priced at the text rate; ``service_tier``
(flex, priority) is not grouped, so those tokens are priced at the standard rate; a daily
bucket belongs to the org day holding its midpoint (:func:`bot.spend.connectors.base.bucket_date`).
The reconciliation against the Costs total shows any pricing difference as unattributed spend.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, Literal

import httpx
import openai
from openai import OpenAI, omit

from bot.errors import ConfigError
from bot.spend.connectors import setting
from bot.spend.connectors.base import (
    MAX_PAGES,
    ProviderError,
    ProviderFetch,
    SpendRow,
    bucket_date,
    decimal_amount,
    log_fetch,
    name_by_email,
    query_window,
    required_settings,
    spender,
    token_row,
)

log = logging.getLogger(__name__)

SOURCE = "openai"
PROVIDER = "openai"
KEY_VARIABLE = "OPENAI_ADMIN_KEY"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
USAGE_PAGE_BUCKETS = 31  # the spec's maximum for bucket_width=1d
COST_PAGE_BUCKETS = 31
USERS_PAGE = 100

TokenEndpoint = Literal["completions", "embeddings", "moderations"]
TOKEN_ENDPOINTS: tuple[TokenEndpoint, ...] = ("completions", "embeddings", "moderations")


def make_client(
    admin_key: str,
    *,
    base_url: str | None = None,
    timeout: float = 60.0,
    max_retries: int = 5,
    http_client: httpx.Client | None = None,
) -> OpenAI:
    """An SDK client for the organisation admin endpoints.

    Args:
        admin_key: the organisation Admin API key (``OPENAI_ADMIN_KEY``).
        base_url: API base including ``/v1``; tests point it at a loopback fake.
        timeout: seconds per request (connect: 10).
        max_retries: SDK retries of 408/409/429/5xx and connection errors.
    """
    return OpenAI(
        api_key=admin_key,
        admin_api_key=admin_key,
        base_url=base_url or DEFAULT_BASE_URL,
        timeout=httpx.Timeout(timeout, connect=10.0),
        max_retries=max_retries,
        http_client=http_client,
    )


def _count(data: dict[str, object], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, float):
        return max(int(value), 0)
    return 0


def _text(data: dict[str, object], key: str) -> str | None:
    value = data.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _pages(fetch: Callable[[str | None], Any], what: str) -> Iterator[Any]:
    """Every page of a ``next_page``-paged endpoint."""
    page: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        resp = fetch(page)
        yield resp
        nxt = getattr(resp, "next_page", None)
        if not getattr(resp, "has_more", False) or not nxt:
            return
        if nxt in seen:
            raise ProviderError(f"OpenAI {what}: page token {nxt!r} came back twice")
        seen.add(nxt)
        page = nxt
    raise ProviderError(f"OpenAI {what}: more than {MAX_PAGES} pages")


def _bucket_day(bucket: Any, tz: zoneinfo.ZoneInfo) -> dt.date:
    start = dt.datetime.fromtimestamp(int(bucket.start_time), tz=dt.UTC)
    end = dt.datetime.fromtimestamp(int(bucket.end_time), tz=dt.UTC) if bucket.end_time else None
    return bucket_date(start, end, tz)


GROUP_BY: dict[TokenEndpoint, list[str]] = {
    "completions": ["user_id", "api_key_id", "model", "batch"],
    "embeddings": ["user_id", "api_key_id", "model"],
    "moderations": ["user_id", "api_key_id", "model"],
}


def _daily_pages(endpoint: Callable[..., Any], what: str, start: int, end: int, **query: Any) -> Iterator[Any]:
    """Every page of daily buckets of an organisation usage/costs ``endpoint`` over ``[start, end)``."""

    def fetch(page: str | None) -> Any:
        return endpoint(start_time=start, end_time=end, bucket_width="1d", page=page or omit, **query)

    return _pages(fetch, what)


def _usage_pages(client: OpenAI, endpoint: TokenEndpoint, start: int, end: int) -> Iterator[Any]:
    usage = client.admin.organization.usage
    method = {"completions": usage.completions, "embeddings": usage.embeddings, "moderations": usage.moderations}
    return _daily_pages(
        method[endpoint], f"usage/{endpoint}", start, end, limit=USAGE_PAGE_BUCKETS, group_by=GROUP_BY[endpoint]
    )


def _row(endpoint: TokenEndpoint, day: dt.date, data: dict[str, object]) -> SpendRow | None:
    """A priced row from one usage result, or None when it carries nothing."""
    model = _text(data, "model") or "unknown"
    inp = _count(data, "input_tokens")
    out = _count(data, "output_tokens")
    requests = _count(data, "num_model_requests")
    if endpoint == "completions":
        cached = min(_count(data, "input_cached_tokens"), inp)
        write = min(_count(data, "input_cache_write_tokens"), inp - cached)
        batch = data.get("batch") is True
    else:
        cached = write = 0
        batch = False
    if inp == 0 and out == 0 and requests == 0:
        return None
    # The spender is the user when OpenAI names one; the API key only for keys without a user
    # (service accounts), so a config mapping of a shared key never captures a user's own calls.
    user_id = _text(data, "user_id")
    key_id = _text(data, "api_key_id")
    identity, aliases = spender(("openai-user", user_id), ("openai-key", key_id))
    return token_row(
        PROVIDER,
        model,
        day,
        identity=identity,
        aliases=aliases,
        uncached_input=inp - cached - write,
        cache_read=cached,
        cache_write=write,
        output=out,
        batch=batch,
        requests=requests,
    )


def _user_emails(client: OpenAI) -> dict[str, str]:
    emails: dict[str, str] = {}
    for user in client.admin.organization.users.list(limit=USERS_PAGE):
        email = user.email or (user.user.email if user.user is not None else None)
        if email:
            emails[user.id] = email.strip().lower()
    return emails


def _amount(data: dict[str, object]) -> Decimal:
    amount = data.get("amount")
    if not isinstance(amount, dict):
        return Decimal(0)
    currency = amount.get("currency")
    if isinstance(currency, str) and currency.lower() != "usd":
        log.warning("OpenAI cost in %s, counted as USD", currency)
    return decimal_amount(amount.get("value"), what="OpenAI costs: amount")


def fetch_openai(
    client: OpenAI, *, first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo, now: dt.datetime
) -> ProviderFetch:
    """Read OpenAI usage and costs for org days ``first``..``last``; writes nothing.

    Raises:
        ConfigError: the admin key was refused (401/403), naming ``OPENAI_ADMIN_KEY``.
        ProviderError: any other API failure once the SDK's retries are spent.
    """
    try:
        return _fetch(client, first=first, last=last, tz=tz, now=now)
    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
        raise ConfigError(
            f"{KEY_VARIABLE} was rejected by OpenAI (HTTP {exc.status_code}: {exc.message}); "
            f"set {KEY_VARIABLE} to an organisation Admin API key"
        ) from None
    except openai.APIError as exc:
        raise ProviderError(f"OpenAI admin API failed: {exc}") from exc


def _fetch(client: OpenAI, *, first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo, now: dt.datetime) -> ProviderFetch:
    start, end = query_window(first, last, now)
    start_s, end_s = int(start.timestamp()), int(end.timestamp())
    result = ProviderFetch(source=SOURCE, first=first, last=last)
    for endpoint in TOKEN_ENDPOINTS:
        for resp in _usage_pages(client, endpoint, start_s, end_s):
            result.requests_made += 1
            for bucket in resp.data:
                day = _bucket_day(bucket, tz)
                if not first <= day <= last:
                    continue
                for item in bucket.results:
                    row = _row(endpoint, day, item.to_dict())
                    if row is not None:
                        result.rows.append(row)
    if any(r.identity.startswith("openai-user:") for r in result.rows):
        name_by_email(result.rows, "openai-user:", _user_emails(client))
    costs = client.admin.organization.usage.costs
    for resp in _daily_pages(costs, "costs", start_s, end_s, limit=COST_PAGE_BUCKETS):
        result.requests_made += 1
        for bucket in resp.data:
            day = _bucket_day(bucket, tz)
            if not first <= day <= last:
                continue
            total = result.totals.setdefault(day, Decimal(0))
            for item in bucket.results:
                total += _amount(item.to_dict())
            result.totals[day] = total
    return log_fetch(log, result)


def fetch(settings: Any, *, first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo, now: dt.datetime) -> ProviderFetch:
    """The connector entry point: :func:`fetch_openai` with ``OPENAI_ADMIN_KEY`` at ``OPENAI_BASE_URL``."""
    (key,) = required_settings(settings, KEY_VARIABLE, source=SOURCE)
    with make_client(key, base_url=setting(settings, "OPENAI_BASE_URL")) as client:
        return fetch_openai(client, first=first, last=last, tz=tz, now=now)
