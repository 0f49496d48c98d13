"""Cursor: per-member spend and daily usage, from the Cursor Admin API.

Source ``cursor``, key ``CURSOR_ADMIN_KEY`` (HTTP Basic authentication, the key as the user
name and an empty password), base URL ``CURSOR_API_URL`` (default ``https://api.cursor.com``).

Documentation (Cursor docs, "Admin API", ``cursor.com/docs/account/teams/admin-api``):

* ``POST /teams/spend`` — body ``{page, pageSize}`` (``page`` 1-based); answer
  ``{teamMemberSpend: [{spendCents, fastPremiumRequests, name, email, role,
  hardLimitOverrideDollars}], subscriptionCycleStart, totalMembers, totalPages}``:
  ``spendCents`` is the member's spend in cents in the current billing cycle,
  ``subscriptionCycleStart`` the cycle's start in epoch milliseconds.
* ``POST /teams/daily-usage-data`` — body ``{startDate, endDate}`` in epoch milliseconds, at
  most 90 days apart; answer ``{data: [{date (epoch ms), email, isActive, totalLinesAdded,
  totalLinesDeleted, acceptedLinesAdded, acceptedLinesDeleted, totalApplies, totalAccepts,
  totalRejects, totalTabsShown, totalTabsAccepted, composerRequests, chatRequests,
  agentRequests, cmdkUsages, subscriptionIncludedReqs, apiKeyReqs, usageBasedReqs,
  bugbotUsages, mostUsedModel, …}], period: {startDate, endDate}}``.
* Errors: 401 for a bad key; rate limits answered with 429 (the API overview: at most 20
  requests a minute per team on most Admin endpoints).

How cycle spend is placed on days (README, "Where spend comes from"): the API gives only each
member's spend so far in the current cycle. Every sync spreads it over the cycle's days up to
today in proportion to that member's usage-based requests per day (``usageBasedReqs``; all
their requests when they have none; the last day when there are no requests at all), to the
cent, and replaces the cycle's days. So a cycle that straddles two months puts each part in
the month it was used, and the board of a month reconciles with the sum of the cycles' spend.

Assumed (not stated there): ``spendCents`` is usage-based spend, without the seat's price
(licences are counted through config ``seats:``); ``date`` is the UTC midnight of the day;
``spendCents`` can only be read for the current cycle, so a cycle's rows stay as its last sync
before the next cycle began left them; there are no model names in the spend (rows use model
``cursor``); a member's daily usage without an ``email`` is unattributed.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import zoneinfo
from decimal import ROUND_DOWN, Decimal
from typing import Any

from bot.spend.connectors import setting
from bot.spend.connectors.base import (
    MAX_PAGES,
    UNATTRIBUTED,
    AdminClient,
    ProviderError,
    ProviderFetch,
    SignalRow,
    SpendRow,
    bucket_date,
    log_fetch,
    required_settings,
    utc_midnight,
)

log = logging.getLogger(__name__)

SOURCE = "cursor"
PROVIDER = "cursor"
MODEL = "cursor"
KEY_VARIABLE = "CURSOR_ADMIN_KEY"
DEFAULT_BASE_URL = "https://api.cursor.com"
SPEND_PAGE = 100
USAGE_CHUNK_DAYS = 30  # the API allows 90; smaller answers, fewer retries of big ones
CENT = Decimal("0.01")

SIGNAL_FIELDS = {
    "requests": ("composerRequests", "chatRequests", "agentRequests", "cmdkUsages"),
    "usage_based_requests": ("usageBasedReqs",),
    "lines_suggested": ("totalLinesAdded",),
    "lines_accepted": ("acceptedLinesAdded",),
    "tabs_shown": ("totalTabsShown",),
    "tabs_accepted": ("totalTabsAccepted",),
}


def _num(value: Any) -> int:
    """A count from the API: null, missing or malformed counts as 0."""
    if isinstance(value, bool) or value is None:
        return 0
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def _from_ms(value: Any) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(int(value) / 1000, tz=dt.UTC)
    except (TypeError, ValueError, OverflowError):
        raise ProviderError(f"Cursor: {value!r} is not a time in epoch milliseconds") from None


class CursorAdmin(AdminClient):
    """A small client of the Cursor Admin API endpoints the bot reads."""

    provider = "Cursor"
    key_variable = KEY_VARIABLE
    default_base_url = DEFAULT_BASE_URL

    def _headers(self, api_key: str) -> dict[str, str]:
        # Basic auth: the key is the user name, the password is empty.
        basic = base64.b64encode(f"{api_key}:".encode()).decode("ascii")
        return {"authorization": f"Basic {basic}", "accept": "application/json"}

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self._request(path, body=body)
        if not isinstance(answer, dict):
            raise ProviderError(f"Cursor {path}: expected a JSON object")
        return answer

    def spend(self) -> tuple[dt.datetime | None, list[dict[str, Any]]]:
        """``(cycle start, every member's spend line)`` of the current billing cycle."""
        members: list[dict[str, Any]] = []
        cycle: dt.datetime | None = None
        page = 1
        for _ in range(MAX_PAGES):
            body = self._post("/teams/spend", {"page": page, "pageSize": SPEND_PAGE})
            if body.get("subscriptionCycleStart") is not None:
                cycle = _from_ms(body["subscriptionCycleStart"])
            lines = body.get("teamMemberSpend") or []
            if not isinstance(lines, list):
                raise ProviderError("Cursor /teams/spend: 'teamMemberSpend' is not a list")
            members.extend(m for m in lines if isinstance(m, dict))
            if page >= _num(body.get("totalPages")) or not lines:
                return cycle, members
            page += 1
        raise ProviderError(f"Cursor /teams/spend: more than {MAX_PAGES} pages")

    def daily_usage(self, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """Daily usage records of ``[start, end)``, asked in chunks of at most 30 days."""
        out: list[dict[str, Any]] = []
        chunk = start
        while chunk < end:
            stop = min(chunk + dt.timedelta(days=USAGE_CHUNK_DAYS), end)
            body = self._post("/teams/daily-usage-data", {"startDate": _ms(chunk), "endDate": _ms(stop)})
            data = body.get("data") or []
            if not isinstance(data, list):
                raise ProviderError("Cursor /teams/daily-usage-data: 'data' is not a list")
            out.extend(d for d in data if isinstance(d, dict))
            chunk = stop
        return out


def spread(total: Decimal, weights: dict[dt.date, int], fallback: dt.date) -> dict[dt.date, Decimal]:
    """``total`` split over days in proportion to ``weights``, to the cent, summing to ``total`` exactly.

    Largest remainder: every day gets its share rounded down to the cent, then the cents left
    go to the days with the largest remainders (earliest first on ties). No weight at all puts
    everything on ``fallback``.
    """
    total = total.quantize(CENT)
    weighted = {d: w for d, w in weights.items() if w > 0}
    if not weighted:
        return {fallback: total} if total else {}
    whole = sum(weighted.values())
    shares = {d: total * w / whole for d, w in weighted.items()}
    out = {d: s.quantize(CENT, rounding=ROUND_DOWN) for d, s in shares.items()}
    left = int((total - sum(out.values(), Decimal(0))) / CENT)
    for d in sorted(weighted, key=lambda d: (-(shares[d] - out[d]), d))[:left]:
        out[d] += CENT
    return {d: v for d, v in out.items() if v}


def fetch_cursor(
    client: CursorAdmin, *, first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo, now: dt.datetime
) -> ProviderFetch:
    """Read Cursor spend and daily usage; writes nothing.

    The days returned run from the earlier of ``first`` and the current cycle's first day to
    ``last``: the whole cycle so far is placed again (see the module docstring).

    Raises:
        ConfigError: the key was refused (401/403), naming ``CURSOR_ADMIN_KEY``.
        ProviderError: any other failure once the retries are spent.
    """
    cycle, members = client.spend()
    cycle_day = bucket_date(cycle, None, tz) if cycle is not None else first
    start_day = min(first, cycle_day)
    one_day = dt.timedelta(days=1)
    usage = client.daily_usage(utc_midnight(start_day - one_day), utc_midnight(last + one_day))
    result = ProviderFetch(source=SOURCE, first=start_day, last=last, signal_source=SOURCE)

    per_person: dict[str, dict[dt.date, dict[str, int]]] = {}
    for rec in usage:
        day = bucket_date(_from_ms(rec.get("date")), None, tz)
        if not start_day <= day <= last:
            continue
        email = str(rec.get("email") or "").strip().lower() or None
        counts = per_person.setdefault(email or UNATTRIBUTED, {}).setdefault(day, {})
        for metric, fields in SIGNAL_FIELDS.items():
            counts[metric] = counts.get(metric, 0) + sum(_num(rec.get(f)) for f in fields)
    for who, days in per_person.items():
        email = who if who != UNATTRIBUTED else None
        aliases = (who,) if email else ()
        for day, counts in days.items():
            result.signals.extend(
                SignalRow(date=day, identity=who, metric=m, value=float(v), aliases=aliases, email=email)
                for m, v in counts.items()
            )

    for member in members:
        cents = Decimal(str(member.get("spendCents") or 0))
        if cents <= 0:
            continue
        email = str(member.get("email") or "").strip().lower() or None
        days = per_person.get(email or UNATTRIBUTED, {})
        in_cycle = {d: c for d, c in days.items() if d >= cycle_day}
        weights = {d: c["usage_based_requests"] for d, c in in_cycle.items()}
        if not any(weights.values()):
            weights = {d: c["requests"] for d, c in in_cycle.items()}
        for day, usd in spread(cents / 100, weights, fallback=last).items():
            result.rows.append(
                SpendRow(
                    date=day,
                    provider=PROVIDER,
                    model=MODEL,
                    identity=email or UNATTRIBUTED,
                    aliases=(email,) if email else (),
                    email=email,
                    requests=in_cycle.get(day, {}).get("usage_based_requests", 0),
                    cost_usd=float(usd),
                )
            )
            result.totals[day] = result.totals.get(day, Decimal(0)) + usd
    result.requests_made = client.requests_made
    return log_fetch(log, result, note=f"cycle from {cycle_day}, ")


def fetch(settings: Any, *, first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo, now: dt.datetime) -> ProviderFetch:
    """The connector entry point: :func:`fetch_cursor` with ``CURSOR_ADMIN_KEY`` at ``CURSOR_API_URL``."""
    (key,) = required_settings(settings, KEY_VARIABLE, source=SOURCE)
    with CursorAdmin(key, base_url=setting(settings, "CURSOR_API_URL")) as client:
        return fetch_cursor(client, first=first, last=last, tz=tz, now=now)
