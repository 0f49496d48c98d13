"""What the emulator records and answers: calls, uploads, response_url posts, errors, rules, token buckets."""

from __future__ import annotations

import json
import time as _time_module
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TOKEN = "xoxb-test-token"
UPLOAD_METHOD = "upload_url"  # name under which POSTs to files.getUploadURLExternal's URL are recorded
RESPONSE_URL_METHOD = "response_url"  # name under which POSTs to emu.response_url() URLs are recorded
RESPONSE_URL_MAX_USES = 5  # Slack accepts up to 5 responses per response_url (within 30 minutes)

# Parameters that Slack accepts as JSON strings in form bodies; recorded decoded.
JSON_PARAMS = frozenset({"blocks", "attachments", "view", "files", "metadata", "unfurls", "outputs"})


class _RealClock:
    """The real clock, kept out of module attributes so freezegun does not replace it."""

    time = staticmethod(_time_module.time)
    monotonic = staticmethod(_time_module.monotonic)
    sleep = staticmethod(_time_module.sleep)


@dataclass(frozen=True)
class Call:
    """One HTTP request the emulator received (Web API method, upload or response_url)."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    time: float  # wall-clock arrival time (real clock), seconds since the epoch
    status: int = 200  # HTTP status answered
    response: dict[str, Any] | None = None  # JSON answered, when JSON
    path: str = ""

    @property
    def ok(self) -> bool:
        """True when Slack would have accepted the call (HTTP 200 and ``"ok": true``)."""
        return self.status == 200 and bool(self.response and self.response.get("ok"))

    @property
    def error(self) -> str | None:
        """The Slack ``error`` string answered, if any."""
        return None if self.response is None else self.response.get("error")


@dataclass
class Upload:
    """One file started with files.getUploadURLExternal (and maybe uploaded and completed)."""

    file_id: str
    filename: str
    length: int
    upload_url: str
    alt_txt: str | None = None
    snippet_type: str | None = None
    data: bytes | None = None  # bytes POSTed to upload_url; None until then
    title: str | None = None
    channel_id: str | None = None
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None
    thread_ts: str | None = None
    completed: bool = False
    ready_at: float = 0.0  # real-clock time Slack has processed it by (a slack_file may show it from then)


@dataclass(frozen=True)
class ResponseUrlPost:
    """One POST to a URL from ``emu.response_url()`` (what Bolt's ``respond`` sends)."""

    url: str
    index: int  # which response_url (the n in /response/<n>)
    body: Any  # JSON-decoded when JSON, else the raw text
    headers: dict[str, str]
    time: float
    status: int


class SlackError(Exception):
    """Raised by method implementations (and custom handlers) to answer ``{"ok": false, ...}``."""

    def __init__(self, error: str, *, messages: list[str] | None = None, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = dict(extra)
        if messages:
            self.extra["response_metadata"] = {"messages": messages}

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}


@dataclass
class _Rule:
    method: str  # a Web API method, UPLOAD_METHOD, RESPONSE_URL_METHOD or "*"
    kind: str  # "error" | "ratelimit" | "http"
    error: str = ""
    status: int = 200
    retry_after: int = 1
    when: Callable[[dict[str, Any]], bool] | None = None
    remaining: int | None = None  # None: forever
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Bucket:
    per_second: float
    burst: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take one token; return 0.0 on success, else the seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.per_second


@dataclass
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    json_body: dict[str, Any] | None = None


def json_answer(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> _Answer:
    return _Answer(status, json.dumps(body).encode(), headers=headers or {}, json_body=body)


Handler = Callable[[dict[str, Any]], dict[str, Any]]
