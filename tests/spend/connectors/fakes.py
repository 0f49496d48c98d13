"""Loopback fakes of the OpenAI and Anthropic admin APIs (real HTTP on 127.0.0.1).

They answer the documented response shapes: the OpenAI ones those of
``shared/providers/openai-admin-usage.openapi.json``, the Anthropic ones those of Anthropic's
Admin API reference. Buckets are returned for every UTC day of the requested range (empty
``results`` on days without usage), paged a few at a time with opaque ``next_page`` tokens.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, dict[str, str], Any]


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any = None

    def one(self, name: str) -> str | None:
        values = self.query.get(name) or self.query.get(f"{name}[]")
        return values[0] if values else None

    def many(self, name: str) -> list[str]:
        return self.query.get(name, []) + self.query.get(f"{name}[]", [])


class FakeServer:
    """A threaded HTTP server on 127.0.0.1 that routes GETs and POSTs to ``answer``."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.failures: dict[str, list[Answer]] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                rec = Recorded(
                    self.command,
                    parts.path,
                    parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw) if raw else None,
                )
                with fake._lock:
                    fake.requests.append(rec)
                    queue = fake.failures.get(parts.path)
                    canned = queue.pop(0) if queue else None
                status, headers, body = canned or fake.answer(rec)
                ndjson = isinstance(body, NDJSON)
                payload = b"" if status == 204 else (body.encode() if ndjson else json.dumps(body).encode())
                self.send_response(status)
                self.send_header("content-type", "application/x-ndjson" if ndjson else "application/json")
                self.send_header("content-length", str(len(payload)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, path: str, *answers: Answer) -> None:
        """Serve these answers to the next requests of ``path`` before the normal ones."""
        self.failures.setdefault(path, []).extend(answers)

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    def answer(self, rec: Recorded) -> Answer:  # pragma: no cover - overridden
        return 404, {}, {"error": "not found"}


def openai_error(
    status: int,
    message: str,
    kind: str,
    *,
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """An OpenAI error answer: ``{"error": {message, type, param, code}}``."""
    return status, headers or {}, {"error": {"message": message, "type": kind, "param": param, "code": code}}


def anthropic_error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Answer:
    """An Anthropic error answer: ``{"type": "error", "error": {type, message}}``."""
    return status, headers or {}, {"type": "error", "error": {"type": kind, "message": message}}


def _token(index: int) -> str:
    return "page_" + base64.urlsafe_b64encode(str(index).encode()).decode()


def _untoken(token: str | None) -> int:
    if not token:
        return 0
    return int(base64.urlsafe_b64decode(token.removeprefix("page_")).decode())


def _day_page(rec: Recorded, start: dt.date, end: dt.date, most: int) -> tuple[list[dt.date], str | None]:
    """The days of ``[start, end)`` on the page ``rec`` asks for (``limit``, ``page``; at most ``most``).

    With the next page's token, None on the last page.
    """
    days, day = [], start
    while day < end:
        days.append(day)
        day += dt.timedelta(days=1)
    limit = min(int(rec.one("limit") or 7), most)
    at = _untoken(rec.one("page"))
    return days[at : at + limit], _token(at + limit) if at + limit < len(days) else None


@dataclass
class OpenAIData:
    """What the fake OpenAI organisation used, by UTC day."""

    completions: dict[dt.date, list[dict[str, Any]]] = field(default_factory=dict)
    embeddings: dict[dt.date, list[dict[str, Any]]] = field(default_factory=dict)
    moderations: dict[dt.date, list[dict[str, Any]]] = field(default_factory=dict)
    costs: dict[dt.date, list[float]] = field(default_factory=dict)
    users: list[dict[str, Any]] = field(default_factory=list)


def completion(
    user_id: str | None,
    model: str | None,
    *,
    inp: int,
    out: int,
    cached: int = 0,
    write: int = 0,
    requests: int = 1,
    batch: bool | None = False,
    api_key_id: str | None = None,
) -> dict[str, Any]:
    """A completions usage result as the spec describes it."""
    return {
        "object": "organization.usage.completions.result",
        "input_tokens": inp,
        "input_cached_tokens": cached,
        "input_cache_write_tokens": write,
        "input_uncached_tokens": inp - cached - write,
        "output_tokens": out,
        "input_audio_tokens": 0,
        "output_audio_tokens": 0,
        "num_model_requests": requests,
        "project_id": None,
        "user_id": user_id,
        "api_key_id": api_key_id,
        "model": model,
        "batch": batch,
        "service_tier": None,
    }


def embedding(user_id: str | None, model: str, *, inp: int, requests: int = 1, kind: str = "embeddings") -> dict:
    return {
        "object": f"organization.usage.{kind}.result",
        "input_tokens": inp,
        "num_model_requests": requests,
        "project_id": None,
        "user_id": user_id,
        "api_key_id": None,
        "model": model,
    }


def openai_user(user_id: str, email: str | None) -> dict[str, Any]:
    return {
        "object": "organization.user",
        "id": user_id,
        "name": user_id,
        "email": email,
        "role": "reader",
        "added_at": 1711471533,
    }


class FakeOpenAI(FakeServer):
    """``/v1/organization/usage/*``, ``/v1/organization/costs`` and ``/v1/organization/users``."""

    def __init__(self, data: OpenAIData, *, key: str = "sk-admin-test", page_buckets: int = 4) -> None:
        super().__init__()
        self.data = data
        self.key = key
        self.page_buckets = page_buckets

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def answer(self, rec: Recorded) -> Answer:
        if rec.headers.get("authorization") != f"Bearer {self.key}":
            return openai_error(
                401, "Incorrect API key provided: sk-admin-****", "invalid_request_error", code="invalid_api_key"
            )
        path = rec.path.removeprefix("/v1")
        if path == "/organization/users":
            return self._users(rec)
        usage_kinds: dict[str, Callable[[], dict[dt.date, list[dict[str, Any]]]]] = {
            "/organization/usage/completions": lambda: self.data.completions,
            "/organization/usage/embeddings": lambda: self.data.embeddings,
            "/organization/usage/moderations": lambda: self.data.moderations,
        }
        if path in usage_kinds:
            days = usage_kinds[path]()
            return self._buckets(rec, lambda d: days.get(d, []))
        if path == "/organization/costs":
            return self._buckets(
                rec,
                lambda d: [
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": v, "currency": "usd"},
                        "line_item": None,
                        "project_id": None,
                        "api_key_id": None,
                        "quantity": None,
                        "quantity_unit": None,
                    }
                    for v in self.data.costs.get(d, [])
                ],
            )
        return openai_error(404, f"no route {path}", "invalid_request_error")

    def _buckets(self, rec: Recorded, results: Callable[[dt.date], list[dict[str, Any]]]) -> Answer:
        start = dt.datetime.fromtimestamp(int(rec.one("start_time") or 0), tz=dt.UTC).date()
        end_raw = rec.one("end_time")
        end = dt.datetime.fromtimestamp(int(end_raw), tz=dt.UTC).date() if end_raw else start
        if rec.one("bucket_width") not in (None, "1d"):
            return openai_error(400, "bucket_width", "invalid_request_error", param="bucket_width")
        page, nxt = _day_page(rec, start, end, self.page_buckets)
        data = []
        for day in page:
            begin = int(dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC).timestamp())
            data.append({"object": "bucket", "start_time": begin, "end_time": begin + 86400, "results": results(day)})
        return (
            200,
            {},
            {
                "object": "page",
                "data": data,
                "has_more": nxt is not None,
                "next_page": nxt,
            },
        )

    def _users(self, rec: Recorded) -> Answer:
        users = self.data.users
        limit = int(rec.one("limit") or 20)
        after = rec.one("after")
        at = 0
        if after:
            at = next(i for i, u in enumerate(users) if u["id"] == after) + 1
        page = users[at : at + min(limit, 2)]  # small pages: exercise the SDK's cursor paging
        return (
            200,
            {},
            {
                "object": "list",
                "data": page,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
                "has_more": at + len(page) < len(users),
            },
        )


@dataclass
class AnthropicData:
    """What the fake Anthropic organisation used, by UTC day."""

    messages: dict[dt.date, list[dict[str, Any]]] = field(default_factory=dict)
    costs: dict[dt.date, list[str]] = field(default_factory=dict)  # cents as decimal strings
    claude_code: dict[dt.date, list[dict[str, Any]]] = field(default_factory=dict)
    users: list[dict[str, Any]] = field(default_factory=list)
    api_keys: list[dict[str, Any]] = field(default_factory=list)


def anthropic_user(user_id: str, email: str, name: str, *, role: str = "developer") -> dict[str, Any]:
    """A user of ``GET /v1/organizations/users``."""
    return {
        "id": user_id,
        "type": "user",
        "email": email,
        "name": name,
        "role": role,
        "added_at": "2024-10-30T23:58:27.427722Z",
    }


def anthropic_api_key(key_id: str, name: str, *, created_by: str, hint: str) -> dict[str, Any]:
    """An active key of ``GET /v1/organizations/api_keys``, made by user ``created_by``."""
    return {
        "id": key_id,
        "type": "api_key",
        "name": name,
        "status": "active",
        "created_at": "2024-10-30T23:58:27.427722Z",
        "created_by": {"id": created_by, "type": "user"},
        "partial_key_hint": hint,
        "workspace_id": None,
    }


def message_usage(
    model: str | None,
    *,
    account_id: str | None = None,
    api_key_id: str | None = None,
    uncached: int | None = 0,
    cache_read: int | None = 0,
    write_5m: int = 0,
    write_1h: int = 0,
    out: int | None = 0,
    searches: int = 0,
    tier: str | None = "standard",
    nulls: bool = False,
) -> dict[str, Any]:
    """A messages usage report result as Anthropic documents it."""
    return {
        "account_id": account_id,
        "api_key_id": api_key_id,
        "workspace_id": None,
        "model": model,
        "service_tier": tier,
        "context_window": None,
        "inference_geo": None,
        "uncached_input_tokens": uncached,
        "cache_read_input_tokens": cache_read,
        "cache_creation": None
        if nulls
        else {"ephemeral_5m_input_tokens": write_5m, "ephemeral_1h_input_tokens": write_1h},
        "output_tokens": out,
        "server_tool_use": None if nulls else {"web_search_requests": searches},
    }


def claude_code_record(
    day: dt.date,
    *,
    email: str | None = None,
    key_name: str | None = None,
    sessions: int = 1,
    added: int = 0,
    removed: int = 0,
    commits: int = 0,
    prs: int = 0,
    cents: float = 0,
    model: str = "claude-sonnet-4-20250514",
) -> dict[str, Any]:
    actor = {"type": "user_actor", "email_address": email} if email else {"type": "api_actor", "api_key_name": key_name}
    return {
        "date": f"{day.isoformat()}T00:00:00Z",
        "actor": actor,
        "organization_id": "12345678-1234-5678-1234-567812345678",
        "customer_type": "api",
        "terminal_type": "vscode",
        "core_metrics": {
            "num_sessions": sessions,
            "lines_of_code": {"added": added, "removed": removed},
            "commits_by_claude_code": commits,
            "pull_requests_by_claude_code": prs,
        },
        "tool_actions": {"edit_tool": {"accepted": 1, "rejected": 0}},
        "model_breakdown": [
            {
                "model": model,
                "tokens": {"input": 100, "output": 10, "cache_read": 0, "cache_creation": 0},
                "estimated_cost": {"amount": cents, "currency": "USD"},
            }
        ],
    }


class FakeAnthropic(FakeServer):
    """The Admin API's usage_report/messages, cost_report, usage_report/claude_code, users and api_keys."""

    def __init__(self, data: AnthropicData, *, key: str = "sk-ant-admin-test", page_buckets: int = 3) -> None:
        super().__init__()
        self.data = data
        self.key = key
        self.page_buckets = page_buckets

    def answer(self, rec: Recorded) -> Answer:
        if rec.headers.get("anthropic-version") != "2023-06-01":
            return anthropic_error(400, "invalid_request_error", "anthropic-version header is required")
        if rec.headers.get("x-api-key") != self.key:
            return anthropic_error(401, "authentication_error", "invalid x-api-key")
        path = rec.path
        if path == "/v1/organizations/usage_report/messages":
            return self._buckets(rec, lambda d: self.data.messages.get(d, []))
        if path == "/v1/organizations/cost_report":
            return self._buckets(
                rec,
                lambda d: [
                    {
                        "amount": a,
                        "currency": "USD",
                        "cost_type": None,
                        "description": None,
                        "model": None,
                        "service_tier": None,
                        "token_type": None,
                        "workspace_id": None,
                        "context_window": None,
                    }
                    for a in self.data.costs.get(d, [])
                ],
            )
        if path == "/v1/organizations/usage_report/claude_code":
            day = dt.date.fromisoformat(rec.one("starting_at") or "")
            records = self.data.claude_code.get(day, [])
            at = _untoken(rec.one("page"))
            size = min(int(rec.one("limit") or 20), 1)  # one record per page: exercise paging
            more = at + size < len(records)
            return (
                200,
                {},
                {
                    "data": records[at : at + size],
                    "has_more": more,
                    "next_page": _token(at + size) if more else None,
                },
            )
        if path == "/v1/organizations/users":
            return self._listed(rec, self.data.users)
        if path == "/v1/organizations/api_keys":
            return self._listed(rec, self.data.api_keys)
        return anthropic_error(404, "not_found_error", path)

    def _buckets(self, rec: Recorded, results: Callable[[dt.date], list[dict[str, Any]]]) -> Answer:
        start = dt.datetime.fromisoformat((rec.one("starting_at") or "").replace("Z", "+00:00")).date()
        end_raw = rec.one("ending_at")
        end = dt.datetime.fromisoformat(end_raw.replace("Z", "+00:00")).date() if end_raw else start
        page, nxt = _day_page(rec, start, end, self.page_buckets)
        data = [
            {
                "starting_at": f"{d.isoformat()}T00:00:00Z",
                "ending_at": f"{(d + dt.timedelta(days=1)).isoformat()}T00:00:00Z",
                "results": results(d),
            }
            for d in page
        ]
        return 200, {}, {"data": data, "has_more": nxt is not None, "next_page": nxt}

    def _listed(self, rec: Recorded, items: list[dict[str, Any]]) -> Answer:
        after = rec.one("after_id")
        at = next(i for i, x in enumerate(items) if x["id"] == after) + 1 if after else 0
        page = items[at : at + 1]
        return (
            200,
            {},
            {
                "data": page,
                "has_more": at + len(page) < len(items),
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
            },
        )


@dataclass
class CursorData:
    """What the fake Cursor team did: cycle spend per member, daily usage per UTC day."""

    cycle_start: dt.date
    spend: list[dict[str, Any]] = field(default_factory=list)
    daily: dict[dt.date, list[dict[str, Any]]] = field(default_factory=dict)


def cursor_spend(email: str | None, cents: float | None, *, premium: int = 0) -> dict[str, Any]:
    """A ``teamMemberSpend`` line as Cursor's Admin API documents it."""
    return {
        "spendCents": cents,
        "fastPremiumRequests": premium,
        "name": (email or "someone").split("@")[0],
        "email": email,
        "role": "member",
        "hardLimitOverrideDollars": 0,
    }


def cursor_day(
    email: str | None,
    *,
    usage_based: int | None = 0,
    chat: int | None = 0,
    agent: int = 0,
    accepted: int | None = 0,
    added: int = 0,
    tabs_shown: int = 0,
    tabs_accepted: int = 0,
) -> dict[str, Any]:
    """One member's ``daily-usage-data`` record (without its ``date``, which the fake sets)."""
    return {
        "isActive": True,
        "totalLinesAdded": added,
        "totalLinesDeleted": 0,
        "acceptedLinesAdded": accepted,
        "acceptedLinesDeleted": 0,
        "totalApplies": 0,
        "totalAccepts": 0,
        "totalRejects": 0,
        "totalTabsShown": tabs_shown,
        "totalTabsAccepted": tabs_accepted,
        "composerRequests": 0,
        "chatRequests": chat,
        "agentRequests": agent,
        "cmdkUsages": 0,
        "subscriptionIncludedReqs": 0,
        "apiKeyReqs": 0,
        "usageBasedReqs": usage_based,
        "bugbotUsages": 0,
        "mostUsedModel": "claude-4-sonnet",
        "email": email,
    }


class FakeCursor(FakeServer):
    """``POST /teams/spend`` (paged) and ``POST /teams/daily-usage-data`` with Basic auth."""

    def __init__(self, data: CursorData, *, key: str = "key_cursor_test", page_size: int = 2) -> None:
        super().__init__()
        self.data = data
        self.key = key
        self.page_size = page_size

    def answer(self, rec: Recorded) -> Answer:
        expected = "Basic " + base64.b64encode(f"{self.key}:".encode()).decode()
        if rec.headers.get("authorization") != expected:
            return 401, {}, {"error": "Unauthorized"}
        if rec.method != "POST":
            return 405, {}, {"error": "Method Not Allowed"}
        body = rec.body or {}
        if rec.path == "/teams/spend":
            page = int(body.get("page") or 1)
            size = min(int(body.get("pageSize") or self.page_size), self.page_size)
            lines = self.data.spend[(page - 1) * size : page * size]
            pages = max(1, -(-len(self.data.spend) // size))
            start = int(dt.datetime.combine(self.data.cycle_start, dt.time(0), tzinfo=dt.UTC).timestamp() * 1000)
            return (
                200,
                {},
                {
                    "teamMemberSpend": lines,
                    "subscriptionCycleStart": start,
                    "totalMembers": len(self.data.spend),
                    "totalPages": pages,
                },
            )
        if rec.path == "/teams/daily-usage-data":
            start_ms, end_ms = int(body["startDate"]), int(body["endDate"])
            if end_ms - start_ms > 90 * 86_400_000:
                return 400, {}, {"error": "Date range cannot exceed 90 days"}
            data = []
            for day, records in sorted(self.data.daily.items()):
                ms = int(dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC).timestamp() * 1000)
                if start_ms <= ms < end_ms:
                    data.extend({"date": ms, **r} for r in records)
            return 200, {}, {"data": data, "period": {"startDate": start_ms, "endDate": end_ms}}
        return 404, {}, {"error": "Not Found"}


@dataclass
class GitHubData:
    """What the fake GitHub organisation's Copilot users did, by UTC day."""

    metrics: dict[dt.date, list[dict[str, Any]]] = field(default_factory=dict)
    premium: dict[tuple[dt.date, str], list[dict[str, Any]]] = field(default_factory=dict)  # (day, login)
    no_report: set[dt.date] = field(default_factory=set)  # days answered 204


def copilot_user(login: str, day: dt.date, *, generations: int = 0, acceptances: int = 0, loc: int = 0) -> dict:
    """One line of the users-1-day report as GitHub documents it."""
    return {
        "user_id": abs(hash(login)) % 100000,
        "user_login": login,
        "day": day.isoformat(),
        "organization_id": "22",
        "user_initiated_interaction_count": generations,
        "code_generation_activity_count": generations,
        "code_acceptance_activity_count": acceptances,
        "loc_suggested_to_add_sum": loc * 2,
        "loc_added_sum": loc,
        "totals_by_ide": [],
    }


def premium_item(model: str, gross: float, net: float | None) -> dict[str, Any]:
    """A premium-request ``usageItems`` entry ($0.04 a request; ``net`` after the included allowance)."""
    return {
        "product": "Copilot",
        "sku": "Copilot Premium Request",
        "model": model,
        "unitType": "requests",
        "pricePerUnit": 0.04,
        "grossQuantity": gross,
        "grossAmount": round(gross * 0.04, 6),
        "discountQuantity": gross,
        "discountAmount": round(gross * 0.04 - (net or 0), 6),
        "netQuantity": 0,
        "netAmount": net,
    }


class FakeGitHub(FakeServer):
    """Copilot users-1-day reports (links to NDJSON on the same loopback server) and premium usage."""

    def __init__(self, data: GitHubData, *, token: str = "ghp_test", org: str = "acme") -> None:
        super().__init__()
        self.data = data
        self.token = token
        self.org = org

    def answer(self, rec: Recorded) -> Answer:
        if rec.path.startswith("/download/"):
            if "authorization" in rec.headers:
                return 400, {}, {"message": "signed URL: no Authorization header expected"}
            _, _, raw_day, part = rec.path.split("/")
            day, index = dt.date.fromisoformat(raw_day), int(part.removesuffix(".ndjson"))
            records = self.data.metrics.get(day, [])[index : index + 1]  # one user a file: several links
            return 200, {}, NDJSON("\n".join(json.dumps(r) for r in records) + "\n")
        if rec.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
        if rec.headers.get("x-github-api-version") != "2022-11-28":
            return 400, {}, {"message": "missing X-GitHub-Api-Version"}
        if rec.path == f"/orgs/{self.org}/copilot/metrics/reports/users-1-day":
            day = dt.date.fromisoformat(rec.one("day") or "")
            if day in self.data.no_report:
                return 204, {}, None
            count = max(1, len(self.data.metrics.get(day, [])))
            links = [f"{self.url}/download/{day}/{i}.ndjson" for i in range(count)]
            return 200, {}, {"download_links": links, "report_day": day.isoformat()}
        if rec.path == f"/organizations/{self.org}/settings/billing/premium_request/usage":
            day = dt.date(int(rec.one("year") or 0), int(rec.one("month") or 0), int(rec.one("day") or 0))
            user = rec.one("user")
            if user:
                items = self.data.premium.get((day, user), [])
            else:
                items = [i for (d, _u), its in self.data.premium.items() if d == day for i in its]
            period = {"year": day.year, "month": day.month, "day": day.day}
            return 200, {}, {"timePeriod": period, "organization": self.org, "user": user, "usageItems": items}
        return 404, {}, {"message": "Not Found"}


class NDJSON(str):
    """A body the fake writes as it is (newline-delimited JSON), not as one JSON document."""
