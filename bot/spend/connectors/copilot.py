"""GitHub Copilot: premium-request billing per user and model as spend, usage metrics as signals.

Source ``copilot``, keys ``GITHUB_TOKEN`` (sent as ``Authorization: Bearer``) and
``GITHUB_ORG``, base URL ``GITHUB_API_URL`` (default ``https://api.github.com``); every request
sends ``Accept: application/vnd.github+json`` and ``X-GitHub-Api-Version: 2022-11-28``.

Documentation (GitHub REST API docs):

* "Get billing premium request usage report for an organization" (Billing › Usage,
  ``docs.github.com/rest/billing/usage``): ``GET /organizations/{org}/settings/billing/
  premium_request/usage`` with ``year``, ``month``, ``day``, ``user``, ``model``, ``product``;
  answer ``{timePeriod: {year, month, day}, organization, user, usageItems: [{product, sku,
  model, unitType, pricePerUnit, grossQuantity, grossAmount, discountQuantity, discountAmount,
  netQuantity, netAmount}]}``. Needs the "Administration" organization permission (read).
* "Get Copilot organization users usage metrics for a specific day" (Copilot › Usage metrics):
  ``GET /orgs/{org}/copilot/metrics/reports/users-1-day?day=YYYY-MM-DD`` answers
  ``{download_links: [...], report_day}``; each link serves newline-delimited JSON, one record
  per user and day: ``user_id``, ``user_login``, ``day``, ``user_initiated_interaction_count``,
  ``code_generation_activity_count``, ``code_acceptance_activity_count``,
  ``loc_suggested_to_add_sum``, ``loc_added_sum``, … (HTTP 204 when the day has no report).
* Errors: 401 bad credentials, 403 missing permission, 429 / secondary rate limits with
  ``Retry-After``.

What is read: for each UTC day of the window, the day's metrics report (signals: interactions,
code generations, code acceptances, lines suggested, lines accepted), the organisation's
premium-request usage of the day (its ``netAmount`` total is the bill), and for every user in
that day's metrics report their own premium-request usage of the day: one spend row per user,
day and model, cost ``netAmount`` (after the plan's included allowance is discounted),
requests ``grossQuantity``.

Assumed (not stated there): a user's premium requests are only asked for users in that day's
metrics report, so usage by someone the report omits stays in the bill as unattributed spend;
the download links are pre-signed (fetched without the token); amounts are USD; GitHub logins
map to people through config ``identities`` (``octocat: alice@example.com``), else stay
unattributed under ``github:LOGIN``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import zoneinfo
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from bot.errors import ConfigError
from bot.spend.connectors.base import (
    UNATTRIBUTED,
    ProviderError,
    ProviderFetch,
    SignalRow,
    SpendRow,
    bucket_date,
    get_json,
    query_window,
    utc_midnight,
)

log = logging.getLogger(__name__)

SOURCE = "copilot"
PROVIDER = "github"
KEY_VARIABLE = "GITHUB_TOKEN"
DEFAULT_BASE_URL = "https://api.github.com"
API_VERSION = "2022-11-28"

SIGNAL_FIELDS = {
    "interactions": "user_initiated_interaction_count",
    "code_generations": "code_generation_activity_count",
    "code_acceptances": "code_acceptance_activity_count",
    "lines_suggested": "loc_suggested_to_add_sum",
    "lines_accepted": "loc_added_sum",
}


def _num(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        return 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _usd(value: Any) -> Decimal:
    if value is None or isinstance(value, bool):
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ProviderError(f"GitHub premium request amount {value!r} is not a number") from None


class GitHub:
    """A small client of the GitHub REST endpoints the bot reads."""

    def __init__(
        self,
        token: str,
        org: str,
        *,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.org = org
        self._sleep = sleep
        self._max_retries = max_retries
        self.requests_made = 0
        self._http = httpx.Client(
            base_url=(base_url or DEFAULT_BASE_URL).rstrip("/"),
            headers={
                "authorization": f"Bearer {token}",
                "accept": "application/vnd.github+json",
                "x-github-api-version": API_VERSION,
                "user-agent": "artifact-bot (usage sync)",
            },
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=httpx.HTTPTransport(retries=2),
        )
        # Report downloads are pre-signed URLs on another host: no token goes there.
        self._download = httpx.Client(timeout=httpx.Timeout(timeout, connect=10.0), follow_redirects=True)

    def close(self) -> None:
        """Close both connection pools."""
        self._http.close()
        self._download.close()

    def __enter__(self) -> GitHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, params: list[tuple[str, str | int]], *, client: httpx.Client | None = None) -> Any:
        self.requests_made += 1
        return get_json(
            client or self._http,
            path,
            params,
            provider="GitHub",
            key_variable=KEY_VARIABLE,
            max_retries=self._max_retries,
            sleep=self._sleep,
            text=client is not None,
        )

    def user_metrics(self, day: dt.date) -> list[dict[str, Any]]:
        """The users-1-day metrics records of ``day`` (empty when GitHub has no report)."""
        meta = self._get(f"/orgs/{self.org}/copilot/metrics/reports/users-1-day", [("day", day.isoformat())])
        links = meta.get("download_links") if isinstance(meta, dict) else None
        records: list[dict[str, Any]] = []
        for link in links or []:
            body = self._get(str(link), [], client=self._download)
            for n, line in enumerate(str(body).splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    raise ProviderError(f"GitHub Copilot metrics report of {day}: line {n} is not JSON") from None
                if isinstance(rec, dict):
                    records.append(rec)
        return records

    def premium_usage(self, day: dt.date, user: str | None = None) -> list[dict[str, Any]]:
        """Premium-request usage items of ``day`` (of one ``user`` when given)."""
        params: list[tuple[str, str | int]] = [("year", day.year), ("month", day.month), ("day", day.day)]
        if user:
            params.append(("user", user))
        body = self._get(f"/organizations/{self.org}/settings/billing/premium_request/usage", params)
        items = body.get("usageItems") if isinstance(body, dict) else None
        return [i for i in items or [] if isinstance(i, dict)]


def fetch_copilot(
    client: GitHub, *, first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo, now: dt.datetime
) -> ProviderFetch:
    """Read Copilot premium-request spend and usage metrics for org days ``first``..``last``.

    Raises:
        ConfigError: the token was refused (401/403), naming ``GITHUB_TOKEN``.
        ProviderError: any other failure once the retries are spent.
    """
    start, end = query_window(first, last, now)
    result = ProviderFetch(source=SOURCE, first=first, last=last, signal_source=SOURCE)
    utc_day = start.date()
    while utc_day < end.date():
        day = bucket_date(utc_midnight(utc_day), None, tz)
        if first <= day <= last:
            logins: set[str] = set()
            for rec in client.user_metrics(utc_day):
                login = str(rec.get("user_login") or "").strip()
                identity, aliases = (f"github:{login}", (login,)) if login else (UNATTRIBUTED, ())
                if login:
                    logins.add(login)
                result.signals.extend(
                    SignalRow(date=day, identity=identity, metric=m, value=_num(rec.get(f)), aliases=aliases)
                    for m, f in SIGNAL_FIELDS.items()
                )
            bill = sum((_usd(i.get("netAmount")) for i in client.premium_usage(utc_day)), Decimal(0))
            result.totals[day] = result.totals.get(day, Decimal(0)) + bill
            for login in sorted(logins):
                for item in client.premium_usage(utc_day, login):
                    cost = _usd(item.get("netAmount"))
                    requests = int(_num(item.get("grossQuantity")))
                    if not cost and not requests:
                        continue
                    result.rows.append(
                        SpendRow(
                            date=day,
                            provider=PROVIDER,
                            model=(str(item.get("model") or "copilot").strip() or "copilot")[:120],
                            identity=f"github:{login}",
                            aliases=(login,),
                            requests=requests,
                            cost_usd=float(cost),
                        )
                    )
        utc_day += dt.timedelta(days=1)
    result.requests_made = client.requests_made
    log.info(
        "copilot: %d spend rows, %d signals for %s..%s (%d requests)",
        len(result.rows),
        len(result.signals),
        first,
        last,
        result.requests_made,
    )
    return result


def fetch(settings: Any, *, first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo, now: dt.datetime) -> ProviderFetch:
    """The connector's entry point: :func:`fetch_copilot` with ``GITHUB_TOKEN`` for ``GITHUB_ORG``.

    Raises:
        ConfigError: a variable is missing or the token refused.
        ProviderError: the API kept failing.
    """
    from bot.spend.connectors import setting

    token, org = setting(settings, KEY_VARIABLE), setting(settings, "GITHUB_ORG")
    if token is None or org is None:
        raise ConfigError(f"missing environment variable: GITHUB_TOKEN, GITHUB_ORG (needed for usage sync {SOURCE})")
    with GitHub(token, org, base_url=setting(settings, "GITHUB_API_URL")) as client:
        return fetch_copilot(client, first=first, last=last, tz=tz, now=now)
