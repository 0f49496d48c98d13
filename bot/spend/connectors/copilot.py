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
import zoneinfo
from decimal import Decimal
from typing import Any

import httpx

from bot.spend.connectors import setting
from bot.spend.connectors.base import (
    UNATTRIBUTED,
    AdminClient,
    ProviderError,
    ProviderFetch,
    SignalRow,
    SpendRow,
    bucket_date,
    decimal_amount,
    log_fetch,
    query_window,
    required_settings,
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
    return decimal_amount(value, what="GitHub premium request amount")


class GitHub(AdminClient):
    """A small client of the GitHub REST endpoints the bot reads."""

    provider = "GitHub"
    key_variable = KEY_VARIABLE
    default_base_url = DEFAULT_BASE_URL

    def __init__(self, token: str, org: str, **options: Any) -> None:
        """A client of organisation ``org`` with ``token``; ``options`` as :class:`AdminClient`."""
        super().__init__(token, **options)
        self.org = org
        # Report downloads are pre-signed URLs on another host: no token goes there.
        self._download = httpx.Client(timeout=self.timeout, follow_redirects=True)

    def _headers(self, api_key: str) -> dict[str, str]:
        return {
            "authorization": f"Bearer {api_key}",
            "accept": "application/vnd.github+json",
            "x-github-api-version": API_VERSION,
        }

    def close(self) -> None:
        """Close both connection pools."""
        super().close()
        self._download.close()

    def _get(self, path: str, params: list[tuple[str, str | int]], *, client: httpx.Client | None = None) -> Any:
        return self._request(path, params, client=client, text=client is not None)

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
    return log_fetch(log, result)


def fetch(settings: Any, *, first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo, now: dt.datetime) -> ProviderFetch:
    """The connector entry point: :func:`fetch_copilot` with ``GITHUB_TOKEN`` for ``GITHUB_ORG``."""
    token, org = required_settings(settings, KEY_VARIABLE, "GITHUB_ORG", source=SOURCE)
    with GitHub(token, org, base_url=setting(settings, "GITHUB_API_URL")) as client:
        return fetch_copilot(client, first=first, last=last, tz=tz, now=now)
