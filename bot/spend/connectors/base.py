"""Shared pieces of the provider connectors: parsed rows, day mapping, the HTTP client with retries, errors.

The connectors (:mod:`bot.spend.connectors.openai_admin`, :mod:`bot.spend.connectors.anthropic_admin`) only read
from the providers and return :class:`ProviderFetch` objects; :mod:`bot.spend.sync` maps
identities to people and writes everything in one transaction per source.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import random
import time
import zoneinfo
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Self, Unpack

import httpx

from bot.errors import ArtifactBotError, ConfigError
from bot.spend.connectors import setting
from bot.spend.prices import Tokens, input_tokens, token_cost

log = logging.getLogger(__name__)

UNATTRIBUTED = "(unattributed)"
MAX_PAGES = 10_000  # a provider that keeps answering ``has_more`` forever is a bug, not data


class ProviderError(ArtifactBotError):
    """A provider's admin API failed (after retries) for a reason other than the key."""


@dataclass(kw_only=True)
class Spender:
    """Whose a provider's line is: ``identity`` is the provider's name for the spender, ``aliases`` the
    other names it gives them (user id, API key id), ``email`` theirs where it tells; ``sync`` resolves
    these to a person the same way for spend and for output signals."""

    date: dt.date
    identity: str
    aliases: tuple[str, ...] = ()
    email: str | None = None


@dataclass(kw_only=True)
class SpendRow(Spender):
    """One provider usage line, priced, before it is mapped to a person.

    ``input_tokens`` counts every input token (uncached, cache reads and cache writes);
    ``cached_tokens`` the cache reads among them. ``cost_usd`` is None when the price table
    does not know the model: the row is kept unpriced.
    """

    provider: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    requests: int = 0
    cost_usd: float | None = None


@dataclass(kw_only=True)
class SignalRow(Spender):
    """One output metric a provider reports for a spender on a day (Claude Code commits...)."""

    metric: str
    value: float


@dataclass
class ProviderFetch:
    """Everything one source returned for the org days ``first``..``last``.

    ``totals`` is the provider's own bill per org day (only days the provider reported).
    """

    source: str
    first: dt.date
    last: dt.date
    rows: list[SpendRow] = field(default_factory=list)
    totals: dict[dt.date, Decimal] = field(default_factory=dict)
    signals: list[SignalRow] = field(default_factory=list)
    signal_source: str | None = None
    requests_made: int = 0


def utc_midnight(day: dt.date) -> dt.datetime:
    """00:00 UTC of a calendar day, aware."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)


def bucket_date(start: dt.datetime, end: dt.datetime | None, tz: zoneinfo.ZoneInfo) -> dt.date:
    """The organisation's calendar day a provider's daily bucket belongs to.

    Providers bucket by UTC day. A UTC day straddles two local days everywhere but in UTC, so
    the bucket goes to the local day holding most of its hours: the one containing its
    midpoint. Converting the bucket *start* instead would move every bucket of an org west of
    UTC to the day before (and the 1st of each month into the previous month).
    """
    if start.tzinfo is None:
        start = start.replace(tzinfo=dt.UTC)
    if end is None:
        end = start + dt.timedelta(days=1)
    elif end.tzinfo is None:
        end = end.replace(tzinfo=dt.UTC)
    midpoint = start + (end - start) / 2
    return midpoint.astimezone(tz).date()


def query_window(first: dt.date, last: dt.date, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """UTC range ``[start, end)`` of daily buckets that can map to org days ``first``..``last``.

    One UTC day of margin on each side (see :func:`bucket_date`), never past the end of the
    current UTC day.
    """
    start = utc_midnight(first - dt.timedelta(days=1))
    end = utc_midnight(last + dt.timedelta(days=2))
    cap = utc_midnight(now.astimezone(dt.UTC).date() + dt.timedelta(days=1))
    return start, max(min(end, cap), start + dt.timedelta(days=1))


def parse_rfc3339(value: str) -> dt.datetime:
    """An aware datetime from an RFC 3339 string (``Z`` accepted) or a bare ``YYYY-MM-DD`` (UTC)."""
    value = value.strip()
    if len(value) == 10:
        return utc_midnight(dt.date.fromisoformat(value))
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def rfc3339(moment: dt.datetime) -> str:
    """``2026-08-01T00:00:00Z`` for an aware datetime."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def retry_after_seconds(headers: Mapping[str, str], *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds a ``Retry-After`` header (delta-seconds or HTTP-date) asks to wait; None if absent."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(when.timestamp() - now(), 0.0)


def backoff_seconds(attempt: int, *, initial: float = 0.5, cap: float = 8.0) -> float:
    """Exponential backoff with jitter for retry number ``attempt`` (0-based)."""
    return min(initial * 2**attempt, cap) * (1 - 0.25 * random.random())


def _error_message(resp: httpx.Response) -> str:
    """The provider's error message from a JSON error body, without echoing anything secret."""
    try:
        body = resp.json()
    except ValueError:
        return resp.reason_phrase or f"HTTP {resp.status_code}"
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])[:300]
        if isinstance(err, str):
            return err[:300]
    return resp.reason_phrase or f"HTTP {resp.status_code}"


def get_json(
    client: httpx.Client,
    path: str,
    params: Sequence[tuple[str, str | int]],
    *,
    provider: str,
    key_variable: str,
    max_retries: int = 4,
    max_wait: float = 120.0,
    sleep: Callable[[float], None] = time.sleep,
    body: dict[str, Any] | None = None,
    text: bool = False,
) -> Any:
    """GET (or, with ``body``, POST) JSON, retrying 429, 5xx and transport errors with backoff and ``Retry-After``.

    No installed library retries on HTTP status with ``Retry-After`` (httpx transports retry
    connect errors only, tenacity is not a dependency), hence this small bounded loop.

    ``text``: return the body as text (newline-delimited JSON downloads); a 204 answers ``{}``.

    Raises:
        ConfigError: on 401/403, naming ``key_variable``.
        ProviderError: on any other failure once the retries are spent.
    """
    for attempt in range(max_retries + 1):
        last_try = attempt == max_retries
        try:
            if body is None:
                resp = client.get(path, params=list(params))
            else:
                resp = client.post(path, params=list(params), json=body)
        except httpx.TransportError as exc:
            if last_try:
                raise ProviderError(f"{provider} admin API unreachable at {path}: {exc}") from exc
            wait = backoff_seconds(attempt)
            log.warning("%s %s: %s; retrying in %.1fs", provider, path, type(exc).__name__, wait)
            sleep(wait)
            continue
        status = resp.status_code
        if status in (401, 403):
            raise ConfigError(
                f"{key_variable} was rejected by {provider} (HTTP {status}: {_error_message(resp)}); "
                f"set {key_variable} to an Admin API key of the organisation"
            )
        if status == 429 or status >= 500:
            if last_try:
                raise ProviderError(
                    f"{provider} admin API {path} still failing after {max_retries} retries: "
                    f"HTTP {status}: {_error_message(resp)}"
                )
            asked = retry_after_seconds(resp.headers)
            wait = backoff_seconds(attempt) if asked is None else asked
            if wait > max_wait:
                raise ProviderError(f"{provider} admin API {path} asks to retry after {wait:.0f}s; try later")
            log.warning("%s %s: HTTP %s; retrying in %.1fs", provider, path, status, wait)
            sleep(wait)
            continue
        if status >= 400:
            raise ProviderError(f"{provider} admin API {path}: HTTP {status}: {_error_message(resp)}")
        if text:
            return resp.text
        if status == 204:
            return {}
        try:
            answer = resp.json()
        except ValueError as exc:
            raise ProviderError(f"{provider} admin API {path} answered something other than JSON") from exc
        if not isinstance(answer, dict | list):
            raise ProviderError(f"{provider} admin API {path} answered a JSON {type(answer).__name__}")
        return answer
    raise AssertionError("unreachable")  # pragma: no cover


class AdminClient(ABC):
    """An HTTP client of one provider's admin API: retries (:func:`get_json`), a request count, ``with``.

    Subclasses set ``provider`` (named in errors), ``key_variable`` (named when the key is
    refused), ``default_base_url``, and :meth:`_headers` (how the key travels).
    """

    provider: str
    key_variable: str
    default_base_url: str

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._sleep = sleep
        self._max_retries = max_retries
        self.timeout = httpx.Timeout(timeout, connect=10.0)
        self.requests_made = 0
        self._http = httpx.Client(
            base_url=(base_url or self.default_base_url).rstrip("/"),
            headers={"user-agent": "artifact-bot (usage sync)", **self._headers(api_key)},
            timeout=self.timeout,
            transport=transport or httpx.HTTPTransport(retries=2),
        )

    @abstractmethod
    def _headers(self, api_key: str) -> dict[str, str]:
        """The headers of every request: the key, the API version, what it accepts."""

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(
        self,
        path: str,
        params: Sequence[tuple[str, str | int]] = (),
        *,
        body: dict[str, Any] | None = None,
        client: httpx.Client | None = None,
        text: bool = False,
    ) -> Any:
        """:func:`get_json` on this client (or ``client``), counted in ``requests_made``."""
        self.requests_made += 1
        return get_json(
            client or self._http,
            path,
            params,
            provider=self.provider,
            key_variable=self.key_variable,
            max_retries=self._max_retries,
            sleep=self._sleep,
            body=body,
            text=text,
        )


def decimal_amount(value: Any, *, what: str) -> Decimal:
    """A money amount from a provider (a number or a decimal string); null counts as 0.

    Raises:
        ProviderError: ``value`` is not a number (the message starts with ``what``).
    """
    if value is None or isinstance(value, bool):
        return Decimal(0)
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise ProviderError(f"{what} {value!r} is not a number") from None


def spender(*candidates: tuple[str, str | None]) -> tuple[str, tuple[str, ...]]:
    """``(identity, aliases)`` of a usage line: the first named ``(prefix, id)`` as ``prefix:id``.

    The bare id is the alias (a config mapping may name it); no id at all is unattributed.
    """
    for prefix, ident in candidates:
        if ident:
            return f"{prefix}:{ident}", (ident,)
    return UNATTRIBUTED, ()


def token_row(
    provider: str,
    model: str,
    day: dt.date,
    *,
    identity: str,
    aliases: tuple[str, ...] = (),
    email: str | None = None,
    requests: int = 0,
    cost_usd: float | None = None,
    **tokens: Unpack[Tokens],
) -> SpendRow:
    """A usage line of ``tokens``, priced by :func:`~bot.spend.prices.token_cost` unless ``cost_usd`` is given.

    The row's input tokens are all of them (uncached, cache reads and cache writes), its cached
    tokens the reads; the model name is kept to 120 characters (it is priced whole).
    """
    return SpendRow(
        date=day,
        provider=provider,
        model=model[:120],
        identity=identity,
        aliases=aliases,
        email=email,
        input_tokens=input_tokens(tokens),
        output_tokens=tokens.get("output", 0),
        cached_tokens=tokens.get("cache_read", 0),
        requests=requests,
        cost_usd=token_cost(provider, model, day, **tokens) if cost_usd is None else cost_usd,
    )


def name_by_email(rows: Iterable[SpendRow], prefix: str, emails: Mapping[str, str]) -> None:
    """Rows of identity ``prefix`` + a provider id that ``emails`` knows take that email as identity and email."""
    for row in rows:
        if row.identity.startswith(prefix):
            email = emails.get(row.identity.removeprefix(prefix))
            if email:
                row.email = email
                row.identity = email


def required_settings(settings: Any, *variables: str, source: str) -> list[str]:
    """The values of ``variables`` in ``settings``, in order.

    Raises:
        ConfigError: one of them is blank; the message names them all and the source.
    """
    values = [value for variable in variables if (value := setting(settings, variable)) is not None]
    if len(values) < len(variables):
        raise ConfigError(f"missing environment variable: {', '.join(variables)} (needed for usage sync {source})")
    return values


def log_fetch(logger: logging.Logger, result: ProviderFetch, *, note: str = "") -> ProviderFetch:
    """Log what a fetch returned (rows, signals, billed days, requests) and return it."""
    logger.info(
        "%s: %d spend rows, %d signals, %d billed days for %s..%s (%s%d requests)",
        result.source,
        len(result.rows),
        len(result.signals),
        len(result.totals),
        result.first,
        result.last,
        note,
        result.requests_made,
    )
    return result
