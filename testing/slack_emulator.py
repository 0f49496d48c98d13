"""A Slack Web API emulator: a real HTTP server on 127.0.0.1 that answers the way Slack does.

Point the real ``slack_sdk.WebClient`` (or the app, through ``SLACK_API_URL``) at
``emu.base_url`` and every call goes over HTTP, is recorded, and is answered with
Slack's response shapes, errors, rate limits and Block Kit limits::

    with SlackEmulator(users=[make_user("U0ALICE", email="alice@example.com")]) as emu:
        client = emu.client()
        client.chat_postMessage(channel="U0ALICE", text="show me the artifact")
        assert emu.calls("chat.postMessage")[0].params["channel"] == "U0ALICE"
        assert emu.messages(channel=dm_channel_id("U0ALICE"))[0]["text"] == "show me the artifact"

Scripting failures::

    emu.fail("chat.postMessage", error="channel_not_found", when=lambda p: p["channel"] == "U0GONE")
    emu.rate_limit("chat.postMessage", retry_after=0, times=1)   # HTTP 429 + Retry-After
    emu.server_error("users.list", status=500, times=1)
    emu.set_rate("chat.postMessage", per_second=50, burst=50)    # token bucket -> 429s
    emu.down(); ...; emu.up()                                    # everything answers 503

The emulator reads the real clock even while freezegun freezes time in the test
(token buckets would otherwise never refill): see ``_RealClock``.

The tests' pytest fixtures ``slack_emulator``, ``slack_client`` and ``slack_env`` live in ``tests/conftest.py``.
"""

from __future__ import annotations

import base64
import contextlib
import email.parser
import email.policy
import itertools
import json
import logging
import math
import secrets
import threading
import time as _time_module
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from slack_sdk import WebClient

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "xoxb-test-token"
UPLOAD_METHOD = "upload_url"  # name under which POSTs to files.getUploadURLExternal's URL are recorded
RESPONSE_URL_METHOD = "response_url"  # name under which POSTs to emu.response_url() URLs are recorded
RESPONSE_URL_MAX_USES = 5  # Slack accepts up to 5 responses per response_url (within 30 minutes)

# Parameters that Slack accepts as JSON strings in form bodies; recorded decoded.
JSON_PARAMS = frozenset({"blocks", "attachments", "view", "files", "metadata", "unfurls", "outputs"})

# Block Kit limits (https://docs.slack.dev/reference/block-kit): surface -> max blocks.
MAX_BLOCKS = {"message": 50, "modal": 100, "home": 100}


class _RealClock:
    """The real clock, kept out of module attributes so freezegun does not replace it."""

    time = staticmethod(_time_module.time)
    monotonic = staticmethod(_time_module.monotonic)
    sleep = staticmethod(_time_module.sleep)


# --------------------------------------------------------------------------- records


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


def _json_answer(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> _Answer:
    return _Answer(status, json.dumps(body).encode(), headers=headers or {}, json_body=body)


# --------------------------------------------------------------------------- users


def dm_channel_id(user_id: str) -> str:
    """The DM (IM) channel id the emulator uses for a user: ``U0ALICE`` -> ``D0ALICE``."""
    return "D" + user_id[1:]


def _tz_fields(tz: str) -> dict[str, Any]:
    now = datetime.now(ZoneInfo(tz))
    offset = now.utcoffset()
    return {
        "tz": tz,
        "tz_label": now.tzname() or tz,
        "tz_offset": int(offset.total_seconds()) if offset else 0,
    }


def make_user(
    user_id: str,
    name: str | None = None,
    *,
    email: str | None = None,
    real_name: str | None = None,
    display_name: str | None = None,
    tz: str = "America/New_York",
    team_id: str = "T0TEST",
    deleted: bool = False,
    is_bot: bool = False,
    is_app_user: bool = False,
    is_admin: bool = False,
    is_owner: bool = False,
    is_restricted: bool = False,
    is_ultra_restricted: bool = False,
) -> dict[str, Any]:
    """A user object in Slack's shape (as users.list / users.info return it).

    Like Slack: bots carry ``profile.bot_id`` and no email; deactivated users
    (``deleted=True``) have no ``tz``/``tz_label``/``tz_offset`` nor admin/guest flags.
    """
    name = name or user_id.lower()
    real_name = real_name if real_name is not None else name.replace(".", " ").title()
    profile: dict[str, Any] = {
        "real_name": real_name,
        "display_name": display_name if display_name is not None else name,
        "real_name_normalized": real_name,
        "display_name_normalized": display_name if display_name is not None else name,
        "first_name": real_name.split(" ")[0] if real_name else "",
        "last_name": " ".join(real_name.split(" ")[1:]) if real_name else "",
        "title": "",
        "phone": "",
        "status_text": "",
        "status_emoji": "",
        "avatar_hash": "g" + user_id.lower()[-11:],
        "image_48": f"https://secure.gravatar.com/avatar/{user_id}.jpg?s=48",
        "team": team_id,
    }
    if is_bot:
        profile["bot_id"] = "B" + user_id[1:]
        profile["always_active"] = False
    elif email is not None:
        profile["email"] = email
    user: dict[str, Any] = {
        "id": user_id,
        "team_id": team_id,
        "name": name,
        "deleted": deleted,
        "color": "9f69e7",
        "real_name": real_name,
        "profile": profile,
        "is_bot": is_bot,
        "is_app_user": is_app_user,
        "updated": 1_700_000_000,
        "is_email_confirmed": email is not None and not is_bot,
        "who_can_share_contact_card": "EVERYONE",
    }
    if not deleted:
        user.update(_tz_fields(tz))
        user.update(
            {
                "is_admin": is_admin,
                "is_owner": is_owner,
                "is_primary_owner": False,
                "is_restricted": is_restricted or is_ultra_restricted,
                "is_ultra_restricted": is_ultra_restricted,
            }
        )
    return user


def make_users(
    count: int, *, domain: str = "example.com", tz: str = "America/New_York", team_id: str = "T0TEST"
) -> list[dict[str, Any]]:
    """``count`` active human users ``U00000001``.., emails ``user1@<domain>``.. (for bulk tests)."""
    return [
        make_user(f"U{i:08d}", f"user{i}", email=f"user{i}@{domain}", tz=tz, team_id=team_id)
        for i in range(1, count + 1)
    ]


# --------------------------------------------------------------------------- Block Kit checks


def _text_problems(obj: Any, pointer: str, *, max_len: int, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return [f"[ERROR] must provide an object [json-pointer:{pointer}]"]
    problems = []
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if obj.get("type") not in allowed:
        problems.append(f"[ERROR] must be one of {list(allowed)} [json-pointer:{pointer}/type]")
    if len(obj["text"]) == 0:
        problems.append(f"[ERROR] must be more than 0 characters [json-pointer:{pointer}/text]")
    if len(obj["text"]) > max_len:
        problems.append(f"[ERROR] must be less than {max_len + 1} characters [json-pointer:{pointer}/text]")
    return problems


def _element_problems(element: Any, pointer: str, action_ids: set[str]) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"[ERROR] must provide an object with a type [json-pointer:{pointer}]"]
    problems: list[str] = []
    action_id = element.get("action_id")
    if action_id is not None:
        if not isinstance(action_id, str) or not 0 < len(action_id) <= 255:
            problems.append(f"[ERROR] must be 1..255 characters [json-pointer:{pointer}/action_id]")
        elif action_id in action_ids:
            problems.append(
                f"[ERROR] action_id already exists in this block [json-pointer:{pointer}/action_id]"
            )
        else:
            action_ids.add(action_id)
    if element["type"] == "button":
        problems += _text_problems(element.get("text"), f"{pointer}/text", max_len=75, plain_only=True)
        if len(str(element.get("url", ""))) > 3000:
            problems.append(f"[ERROR] must be less than 3001 characters [json-pointer:{pointer}/url]")
        if len(str(element.get("value", ""))) > 2000:
            problems.append(f"[ERROR] must be less than 2001 characters [json-pointer:{pointer}/value]")
        if "style" in element and element["style"] not in ("primary", "danger"):
            problems.append(f"[ERROR] must be one of primary, danger [json-pointer:{pointer}/style]")
    return problems


def block_problems(blocks: Any, surface: str = "message") -> list[str]:
    """Problems Slack would report for ``blocks`` on ``surface`` (message, modal or home).

    Checks the common Block Kit limits: block count, block_id length and uniqueness,
    section text (3000) and fields (10 x 2000), header text (150), actions (25) and
    context (10) element counts, button text (75), action_id uniqueness per block.
    """
    if not isinstance(blocks, list):
        return ["[ERROR] must provide an array [json-pointer:/blocks]"]
    problems: list[str] = []
    limit = MAX_BLOCKS[surface]
    if len(blocks) > limit:
        problems.append(f"[ERROR] no more than {limit} items allowed [json-pointer:/blocks]")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        ptr = f"/blocks/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(f"[ERROR] must provide an object with a type [json-pointer:{ptr}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not 0 < len(block_id) <= 255:
                problems.append(f"[ERROR] must be 1..255 characters [json-pointer:{ptr}/block_id]")
            elif block_id in block_ids:
                problems.append(f"[ERROR] duplicate block_id [json-pointer:{ptr}/block_id]")
            block_ids.add(str(block_id))
        action_ids: set[str] = set()
        kind = block["type"]
        if kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"[ERROR] must provide text or fields [json-pointer:{ptr}]")
            if "text" in block:
                problems += _text_problems(block["text"], f"{ptr}/text", max_len=3000)
            fields = block.get("fields", [])
            if not isinstance(fields, list) or len(fields) > 10:
                problems.append(f"[ERROR] no more than 10 items allowed [json-pointer:{ptr}/fields]")
            else:
                for j, item in enumerate(fields):
                    problems += _text_problems(item, f"{ptr}/fields/{j}", max_len=2000)
            if "accessory" in block:
                problems += _element_problems(block["accessory"], f"{ptr}/accessory", action_ids)
        elif kind == "header":
            problems += _text_problems(block.get("text"), f"{ptr}/text", max_len=150, plain_only=True)
        elif kind in ("actions", "context"):
            elements = block.get("elements")
            most = 25 if kind == "actions" else 10
            if not isinstance(elements, list) or not 0 < len(elements) <= most:
                problems.append(f"[ERROR] must provide 1..{most} items [json-pointer:{ptr}/elements]")
            elif kind == "actions":
                for j, element in enumerate(elements):
                    problems += _element_problems(element, f"{ptr}/elements/{j}", action_ids)
        elif kind == "input":
            if surface == "message":
                problems.append(f"[ERROR] input blocks are not allowed in messages [json-pointer:{ptr}]")
            problems += _text_problems(block.get("label"), f"{ptr}/label", max_len=2000, plain_only=True)
            if "element" not in block:
                problems.append(f"[ERROR] must provide an element [json-pointer:{ptr}/element]")
            else:
                problems += _element_problems(block["element"], f"{ptr}/element", action_ids)
        elif kind == "image":
            if not block.get("image_url") and not block.get("slack_file"):
                problems.append(f"[ERROR] must provide image_url [json-pointer:{ptr}/image_url]")
            if not isinstance(block.get("alt_text"), str) or not 0 < len(block["alt_text"]) <= 2000:
                problems.append(f"[ERROR] must be 1..2000 characters [json-pointer:{ptr}/alt_text]")
    return problems


def view_problems(view: Any, *, surface: str) -> list[str]:
    """Problems Slack would report for a modal or home ``view`` (views.open/update/push/publish)."""
    if not isinstance(view, dict):
        return ["[ERROR] must provide an object [json-pointer:/view]"]
    if view.get("type") != surface:
        return [f"[ERROR] must be '{surface}' here [json-pointer:/view/type]"]
    problems = block_problems(view.get("blocks"), surface)
    if surface == "modal":
        problems += _text_problems(view.get("title"), "/view/title", max_len=24, plain_only=True)
        for key in ("submit", "close"):
            if key in view:
                problems += _text_problems(view[key], f"/view/{key}", max_len=24, plain_only=True)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_input and "submit" not in view:
            problems.append("[ERROR] submit is required when an input block is present [json-pointer:/view]")
    if len(str(view.get("private_metadata", ""))) > 3000:
        problems.append("[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]")
    if len(str(view.get("callback_id", ""))) > 255:
        problems.append("[ERROR] must be less than 256 characters [json-pointer:/view/callback_id]")
    return problems


# --------------------------------------------------------------------------- request parsing


def _decode_json_params(params: dict[str, Any]) -> dict[str, Any]:
    for key in JSON_PARAMS & params.keys():
        value = params[key]
        if isinstance(value, str | bytes):
            # Undecodable values are kept as given; the method reports them (invalid_blocks, ...).
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
    return params


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body
    )
    params: dict[str, Any] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_filename() is not None:
            params[name] = data
        else:
            params[name] = data.decode(part.get_content_charset() or "utf-8")
    return params


def parse_params(content_type: str, body: bytes, query: str = "") -> dict[str, Any]:
    """Parameters of a Web API request, as Slack reads them: query string, then the body.

    The body may be JSON, form-encoded or multipart; JSON-string parameters such as
    ``blocks`` and ``view`` are decoded. Raises ``SlackError("invalid_form_data")``
    on a body that cannot be read.
    """
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    media_type = content_type.split(";")[0].strip().lower()
    if body:
        if media_type == "application/json":
            try:
                decoded = json.loads(body)
            except ValueError as exc:
                raise SlackError("invalid_json") from exc
            if not isinstance(decoded, dict):
                raise SlackError("invalid_json")
            params.update(decoded)
        elif media_type == "multipart/form-data":
            params.update(_parse_multipart(content_type, body))
        else:
            try:
                params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
            except UnicodeDecodeError as exc:
                raise SlackError("invalid_form_data") from exc
    return _decode_json_params(params)


def _bearer(headers: dict[str, str]) -> str | None:
    for key, value in headers.items():
        if key.lower() == "authorization" and value.lower().startswith("bearer "):
            return value[7:].strip() or None
    return None


def _int_param(params: dict[str, Any], key: str, default: int = 0) -> int:
    value = params.get(key)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise SlackError(
            "invalid_arguments", messages=[f"[ERROR] must be a number [json-pointer:/{key}]"]
        ) from exc


# --------------------------------------------------------------------------- the emulator


Handler = Callable[[dict[str, Any]], dict[str, Any]]


class SlackEmulator:
    """A Slack Web API on 127.0.0.1 (``with SlackEmulator() as emu:``), recording every call.

    Args:
        users: user objects in Slack's shape (see ``make_user``) for users.* methods.
        team_id: the workspace id auth.test and payloads report.
        bot_user_id / bot_id / app_id: the app's identity.
        token: the only accepted token; by default any ``xoxb-``/``xoxp-`` token is accepted.
        strict: when True, chat.update/chat.delete of an unknown ts answer ``message_not_found``
            and views.update of an unknown view ``not_found`` (default: accepted and recorded).
        validate_blocks: check Block Kit limits (``invalid_blocks`` / ``invalid_arguments``).
        port: 0 picks a free port.
    """

    def __init__(
        self,
        *,
        users: Iterable[dict[str, Any]] = (),
        team_id: str = "T0TEST",
        team_name: str = "Test Team",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        app_id: str = "A0APP",
        token: str | None = None,
        strict: bool = False,
        validate_blocks: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.team_id = team_id
        self.team_name = team_name
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.token = token
        self.strict = strict
        self.validate_blocks = validate_blocks
        self._host = host
        self._port = port
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._calls: list[Call] = []
        self._rules: list[_Rule] = []
        self._buckets: dict[str, tuple[float, float, bool]] = {}  # method -> (per_second, burst, per_channel)
        self._bucket_state: dict[tuple[str, str], _Bucket] = {}
        self._throttled: Counter[str] = Counter()
        self._latency: dict[str, float] = {}
        self._down = False
        self._handlers: dict[str, Handler] = {}
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._home_views: dict[str, dict[str, Any]] = {}
        self._uploads: dict[str, Upload] = {}  # upload token -> Upload
        self._responses: list[ResponseUrlPost] = []
        self._response_url_uses: Counter[int] = Counter()
        self._response_urls_issued = 0
        self._id_counter = itertools.count(1)
        self._last_ts_us = 0
        self.internal_errors: list[BaseException] = []
        self._users: list[dict[str, Any]] = []
        self._user_index: dict[str, int] = {}
        self._email_index: dict[str, dict[str, Any]] = {}
        self.set_users(users)
        self._register_builtin_methods()

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> SlackEmulator:
        """Start serving in a daemon thread (``__enter__`` calls this)."""
        if self._server is not None:
            return self
        handler = type("_BoundHandler", (_RequestHandler,), {"emulator": self})
        server = _Server((self._host, self._port), handler)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="slack-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.stop()
        if exc_type is None:
            self.check()

    def check(self) -> None:
        """Raise if the emulator itself failed while answering (a bug here, not in the app)."""
        if self.internal_errors:
            raise AssertionError(f"Slack emulator failed internally: {self.internal_errors!r}")

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("SlackEmulator is not running; use `with SlackEmulator() as emu:`")
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The Web API base URL (``http://127.0.0.1:PORT/api/``) for ``WebClient(base_url=...)``."""
        return f"{self.origin}/api/"

    def client(self, **kwargs: Any) -> WebClient:
        """A real ``slack_sdk.WebClient`` pointed at this emulator."""
        from slack_sdk import WebClient

        kwargs.setdefault("token", self.token or DEFAULT_TOKEN)
        return WebClient(base_url=self.base_url, **kwargs)

    def env(self, *, signing_secret: str = "test-signing-secret") -> dict[str, str]:
        """Environment variables that point the app at this emulator."""
        return {
            "SLACK_API_URL": self.base_url,
            "SLACK_BOT_TOKEN": self.token or DEFAULT_TOKEN,
            "SLACK_SIGNING_SECRET": signing_secret,
        }

    def reset(self) -> None:
        """Forget recorded calls, scripted failures, rates, messages, views, uploads and responses."""
        with self._lock:
            self._calls.clear()
            self._rules.clear()
            self._buckets.clear()
            self._bucket_state.clear()
            self._throttled.clear()
            self._latency.clear()
            self._down = False
            self._messages.clear()
            self._views.clear()
            self._home_views.clear()
            self._uploads.clear()
            self._responses.clear()
            self._response_url_uses.clear()

    # ----------------------------------------------------------------- recorded state

    def calls(self, method: str | None = None, *, ok: bool | None = None) -> list[Call]:
        """Recorded calls, oldest first; of one method, and only (un)successful ones if ``ok`` is given."""
        with self._lock:
            found = [c for c in self._calls if method is None or c.method == method]
        if ok is not None:
            found = [c for c in found if c.ok == ok]
        return found

    def call_count(self, method: str | None = None, *, ok: bool | None = None) -> int:
        return len(self.calls(method, ok=ok))

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages posted and not deleted (chat.update applied), oldest first; each has ``channel``."""
        with self._lock:
            return [dict(m) for (ch, _), m in self._messages.items() if channel is None or ch == channel]

    def dm_messages(self, user_id: str) -> list[dict[str, Any]]:
        """Messages in the app's DM with ``user_id``."""
        return self.messages(channel=dm_channel_id(user_id))

    @property
    def home_views(self) -> dict[str, dict[str, Any]]:
        """The App Home view last published for each user id."""
        with self._lock:
            return dict(self._home_views)

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """Every view opened, published or updated, by view id."""
        with self._lock:
            return dict(self._views)

    @property
    def uploads(self) -> list[Upload]:
        """Files started with files.getUploadURLExternal, in order."""
        with self._lock:
            return list(self._uploads.values())

    def completed_uploads(self) -> list[Upload]:
        return [u for u in self.uploads if u.completed]

    @property
    def responses(self) -> list[ResponseUrlPost]:
        """POSTs received on response_url URLs, oldest first."""
        with self._lock:
            return list(self._responses)

    def responses_to(self, url: str) -> list[ResponseUrlPost]:
        return [r for r in self.responses if r.url == url]

    def throttled_count(self, method: str | None = None) -> int:
        """How many requests were answered 429 (scripted or by a token bucket)."""
        with self._lock:
            return sum(self._throttled.values()) if method is None else self._throttled[method]

    # ----------------------------------------------------------------- users

    def set_users(self, users: Iterable[dict[str, Any]]) -> None:
        """Replace the workspace's users (Slack-shaped dicts, see ``make_user``)."""
        with self._lock:
            self._users = [dict(u) for u in users]
            self._reindex_users()

    def add_user(self, user: dict[str, Any]) -> None:
        with self._lock:
            self._users.append(dict(user))
            self._reindex_users()

    @property
    def users(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._users)

    def _reindex_users(self) -> None:
        self._user_index = {u["id"]: i for i, u in enumerate(self._users)}
        self._email_index = {}
        for u in self._users:
            address = (u.get("profile") or {}).get("email")
            if address:
                self._email_index[address.lower()] = u

    def _user(self, user_id: str) -> dict[str, Any] | None:
        index = self._user_index.get(user_id)
        return None if index is None else self._users[index]

    # ----------------------------------------------------------------- scripting

    def fail(
        self,
        method: str,
        error: str = "fatal_error",
        *,
        when: Callable[[dict[str, Any]], bool] | None = None,
        times: int | None = None,
        status: int = 200,
        **extra: Any,
    ) -> None:
        """Answer ``method`` (or ``"*"``) with ``{"ok": false, "error": error, **extra}``.

        Only calls whose params satisfy ``when`` (if given); ``times`` calls, or forever.
        """
        self._add_rule(
            _Rule(method, "error", error=error, status=status, when=when, remaining=times, extra=extra)
        )

    def rate_limit(
        self,
        method: str,
        retry_after: int = 1,
        *,
        times: int | None = 1,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """Answer HTTP 429 with ``Retry-After: retry_after`` and ``{"ok": false, "error": "ratelimited"}``."""
        self._add_rule(_Rule(method, "ratelimit", retry_after=int(retry_after), when=when, remaining=times))

    def server_error(
        self,
        method: str,
        status: int = 500,
        *,
        times: int | None = 1,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """Answer an HTTP error status (500, 502, 503, ...) with a non-JSON body, as Slack's edge does."""
        self._add_rule(_Rule(method, "http", status=status, when=when, remaining=times))

    def set_rate(
        self, method: str, per_second: float = 50, *, burst: float | None = None, per_channel: bool = False
    ) -> None:
        """Enforce a token bucket on ``method``; over it, answer 429 + Retry-After (whole seconds, >= 1).

        ``per_channel=True`` keeps one bucket per ``channel`` parameter (Slack's
        chat.postMessage allows about one message per second per channel).
        """
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        with self._lock:
            self._buckets[method] = (float(per_second), float(burst or per_second), per_channel)
            for key in [k for k in self._bucket_state if k[0] == method]:
                del self._bucket_state[key]

    def clear_rate(self, method: str) -> None:
        with self._lock:
            self._buckets.pop(method, None)

    def set_latency(self, seconds: float, method: str = "*") -> None:
        """Delay answers to ``method`` (or all) by ``seconds`` (slow-Slack tests)."""
        with self._lock:
            self._latency[method] = seconds

    def down(self) -> None:
        """Make the whole API (methods, uploads, response URLs) answer HTTP 503."""
        with self._lock:
            self._down = True

    def up(self) -> None:
        with self._lock:
            self._down = False

    def clear_failures(self) -> None:
        """Drop every scripted failure and rate limit."""
        with self._lock:
            self._rules.clear()
            self._buckets.clear()
            self._bucket_state.clear()

    def register(self, method: str, handler: Handler) -> None:
        """Implement (or override) a Web API method: ``handler(params) -> response dict``.

        The handler may raise ``SlackError`` to answer an error; ``ok: true`` is added if missing.
        """
        with self._lock:
            self._handlers[method] = handler

    def response_url(self) -> str:
        """A fresh response_url (``http://127.0.0.1:PORT/response/<n>``) to put in command payloads."""
        with self._lock:
            self._response_urls_issued += 1
            index = self._response_urls_issued
        return f"{self.origin}/response/{index}"

    def _add_rule(self, rule: _Rule) -> None:
        if rule.remaining is not None and rule.remaining <= 0:
            return
        with self._lock:
            self._rules.append(rule)

    def _matching_rule(self, method: str, params: dict[str, Any]) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.method not in (method, "*"):
                    continue
                if rule.when is not None and not rule.when(params):
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                return rule
        return None

    def _scripted_answer(self, method: str, params: dict[str, Any]) -> _Answer | None:
        rule = self._matching_rule(method, params)
        if rule is None:
            return None
        if rule.kind == "ratelimit":
            return self._throttle(method, rule.retry_after)
        if rule.kind == "http":
            text = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
            body = text.get(rule.status, "Server Error").encode()
            return _Answer(rule.status, body, content_type="text/plain; charset=utf-8")
        return _json_answer({"ok": False, "error": rule.error, **rule.extra}, status=rule.status)

    def _throttle(self, method: str, retry_after: int) -> _Answer:
        with self._lock:
            self._throttled[method] += 1
        return _json_answer(
            {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry_after)}
        )

    def _bucket_answer(self, method: str, params: dict[str, Any]) -> _Answer | None:
        with self._lock:
            config = self._buckets.get(method)
            if config is None:
                return None
            per_second, burst, per_channel = config
            key = (method, str(params.get("channel", "")) if per_channel else "")
            now = _RealClock.monotonic()
            bucket = self._bucket_state.get(key)
            if bucket is None:
                bucket = self._bucket_state[key] = _Bucket(per_second, burst, burst, now)
            wait = bucket.take(now)
        if wait <= 0:
            return None
        return self._throttle(method, max(1, math.ceil(wait)))

    def _sleep_latency(self, method: str) -> None:
        with self._lock:
            delay = self._latency.get(method, self._latency.get("*", 0.0))
        if delay > 0:
            _RealClock.sleep(delay)

    # ----------------------------------------------------------------- request handling

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def _auth_error(self, params: dict[str, Any], headers: dict[str, str]) -> str | None:
        token = _bearer(headers) or params.get("token") or None
        if token is None:
            return "not_authed"
        if self.token is not None:
            return None if token == self.token else "invalid_auth"
        if token.startswith("xapp-"):
            return "not_allowed_token_type"
        return None if token.startswith(("xoxb-", "xoxp-")) and len(token) > 5 else "invalid_auth"

    def handle_api(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> _Answer:
        """Answer one Web API call (already parsed). Public for in-process use; HTTP calls it too."""
        if self._down:
            return _Answer(503, b"Service Unavailable", content_type="text/plain; charset=utf-8")
        self._sleep_latency(method)
        with self._lock:
            handler = self._handlers.get(method)
        if handler is None:
            return _json_answer({"ok": False, "error": "unknown_method", "req_method": method})
        auth_error = self._auth_error(params, headers)
        if auth_error is not None:
            return _json_answer({"ok": False, "error": auth_error})
        scripted = self._scripted_answer(method, params) or self._bucket_answer(method, params)
        if scripted is not None:
            return scripted
        try:
            body = handler(params)
        except SlackError as exc:
            return _json_answer(exc.body())
        body = {"ok": True, **body} if "ok" not in body else body
        return _json_answer(body)

    def handle_upload(self, token: str, params: dict[str, Any], body: bytes) -> _Answer:
        if self._down:
            return _Answer(503, b"Service Unavailable", content_type="text/plain; charset=utf-8")
        scripted = self._scripted_answer(UPLOAD_METHOD, params)
        if scripted is not None:
            return scripted
        with self._lock:
            upload = self._uploads.get(token)
            if upload is None:
                return _Answer(404, b"Not Found", content_type="text/plain; charset=utf-8")
            upload.data = body
        return _Answer(200, f"OK - {len(body)}".encode(), content_type="text/plain; charset=utf-8")

    def handle_response_url(self, index: int, url: str, body: Any, headers: dict[str, str]) -> _Answer:
        if self._down:
            return _Answer(503, b"Service Unavailable", content_type="text/plain; charset=utf-8")
        scripted = self._scripted_answer(RESPONSE_URL_METHOD, body if isinstance(body, dict) else {})
        answer: _Answer
        if scripted is not None:
            answer = scripted
        else:
            with self._lock:
                issued = 0 < index <= self._response_urls_issued
                self._response_url_uses[index] += 1
                uses = self._response_url_uses[index]
            if not issued:
                answer = _Answer(404, b"no_service", content_type="text/plain; charset=utf-8")
            elif uses > RESPONSE_URL_MAX_USES:
                answer = _json_answer({"ok": False, "error": "used_url"}, status=404)
            else:
                answer = _json_answer({"ok": True})
        with self._lock:
            self._responses.append(
                ResponseUrlPost(url, index, body, headers, _RealClock.time(), answer.status)
            )
        return answer

    # ----------------------------------------------------------------- ids and messages

    def _next_ts(self) -> str:
        with self._lock:
            now_us = int(_RealClock.time() * 1_000_000)
            self._last_ts_us = max(now_us, self._last_ts_us + 1)
            us = self._last_ts_us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._id_counter):010d}"

    def _resolve_channel(self, channel: str) -> str:
        """Slack accepts a user id as chat.postMessage's channel and posts to the app's DM with them."""
        if channel[:1] in ("U", "W"):
            self._check_dm_target(channel, not_found="channel_not_found")
            return dm_channel_id(channel)
        return channel

    def _check_dm_target(self, user_id: str, *, not_found: str) -> None:
        with self._lock:
            user = self._user(user_id)
        if user is None:
            if self.strict and self._users:
                raise SlackError(not_found)
            return
        if user.get("is_bot"):
            raise SlackError("cannot_dm_bot")
        if user.get("deleted"):
            raise SlackError("user_disabled")

    def _check_blocks(self, params: dict[str, Any], surface: str = "message") -> None:
        if "blocks" not in params or not self.validate_blocks:
            return
        problems = block_problems(params["blocks"], surface)
        if problems:
            raise SlackError("invalid_blocks", messages=problems)

    def _message(self, channel: str, ts: str, params: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": params.get("text", ""),
            "ts": ts,
            "channel": channel,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if params.get(key) not in (None, ""):
                message[key] = params[key]
        return message

    # ----------------------------------------------------------------- methods

    def _register_builtin_methods(self) -> None:
        self._handlers.update(
            {
                "api.test": lambda params: {"args": {k: v for k, v in params.items() if k != "token"}},
                "auth.test": self._auth_test,
                "chat.postMessage": self._chat_post_message,
                "chat.postEphemeral": self._chat_post_ephemeral,
                "chat.update": self._chat_update,
                "chat.delete": self._chat_delete,
                "conversations.open": self._conversations_open,
                "users.list": self._users_list,
                "users.info": self._users_info,
                "users.lookupByEmail": self._users_lookup_by_email,
                "views.open": self._views_open,
                "views.push": self._views_open,
                "views.publish": self._views_publish,
                "views.update": self._views_update,
                "files.getUploadURLExternal": self._files_get_upload_url_external,
                "files.completeUploadExternal": self._files_complete_upload_external,
            }
        )

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://test.slack.com/",
            "team": self.team_name,
            "user": "artifact-bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel") or "")
        if not channel:
            raise SlackError("channel_not_found")
        if not any(params.get(k) for k in ("text", "blocks", "attachments")):
            raise SlackError("no_text")
        self._check_blocks(params)
        channel = self._resolve_channel(channel)
        ts = self._next_ts()
        message = self._message(channel, ts, params)
        with self._lock:
            self._messages[(channel, ts)] = message
        shown = {k: v for k, v in message.items() if k != "channel"}
        return {"channel": channel, "ts": ts, "message": shown}

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("channel"):
            raise SlackError("channel_not_found")
        if not params.get("user"):
            raise SlackError("user_not_found")
        if not any(params.get(k) for k in ("text", "blocks", "attachments")):
            raise SlackError("no_text")
        self._check_blocks(params)
        with self._lock:
            unknown = self._user(str(params["user"])) is None
        if self.strict and self._users and unknown:
            raise SlackError("user_not_found")
        return {"message_ts": self._next_ts()}

    def _existing_message(self, params: dict[str, Any]) -> tuple[str, str, dict[str, Any] | None]:
        channel = str(params.get("channel") or "")
        ts = str(params.get("ts") or "")
        if not channel:
            raise SlackError("channel_not_found")
        if not ts:
            raise SlackError("message_not_found")
        channel = dm_channel_id(channel) if channel[:1] in ("U", "W") else channel
        with self._lock:
            message = self._messages.get((channel, ts))
        if message is None and self.strict:
            raise SlackError("message_not_found")
        return channel, ts, message

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        self._check_blocks(params)
        channel, ts, message = self._existing_message(params)
        with self._lock:
            if message is None:
                message = self._message(channel, ts, params)
            else:
                for key in ("text", "blocks", "attachments", "metadata"):
                    if key in params:
                        message[key] = params[key]
                message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
            self._messages[(channel, ts)] = message
        shown = {k: v for k, v in message.items() if k != "channel"}
        return {"channel": channel, "ts": ts, "text": message.get("text", ""), "message": shown}

    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts, _ = self._existing_message(params)
        with self._lock:
            self._messages.pop((channel, ts), None)
        return {"channel": channel, "ts": ts}

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("channel"):
            return {"channel": {"id": str(params["channel"])}}
        users = [u.strip() for u in str(params.get("users") or "").split(",") if u.strip()]
        if not users:
            raise SlackError("users_list_not_supplied")
        if len(users) > 8:
            raise SlackError("too_many_users")
        for user_id in users:
            self._check_dm_target(user_id, not_found="user_not_found")
        if len(users) == 1:
            channel_id = dm_channel_id(users[0])
        else:
            channel_id = "G" + base64.b32encode(",".join(sorted(users)).encode()).decode()[:10]
        body: dict[str, Any] = {"channel": {"id": channel_id}}
        if str(params.get("return_im", "")).lower() in ("1", "true"):
            body["channel"].update({"created": int(_RealClock.time()), "is_im": len(users) == 1})
            body["channel"]["user"] = users[0]
        return body

    def _users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        limit = _int_param(params, "limit", 0)
        cursor = str(params.get("cursor") or "")
        with self._lock:
            start = 0
            if cursor:
                try:
                    kind, _, user_id = base64.b64decode(cursor, validate=True).decode().partition(":")
                except ValueError as exc:
                    raise SlackError("invalid_cursor") from exc
                if kind != "user" or user_id not in self._user_index:
                    raise SlackError("invalid_cursor")
                start = self._user_index[user_id]
            end = len(self._users) if limit <= 0 else min(len(self._users), start + limit)
            members = [dict(u) for u in self._users[start:end]]
            next_cursor = ""
            if end < len(self._users):
                next_cursor = base64.b64encode(f"user:{self._users[end]['id']}".encode()).decode()
        return {
            "members": members,
            "cache_ts": int(_RealClock.time()),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            user = self._user(str(params.get("user") or ""))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": dict(user)}

    def _users_lookup_by_email(self, params: dict[str, Any]) -> dict[str, Any]:
        address = str(params.get("email") or "").strip().lower()
        with self._lock:
            user = self._email_index.get(address) if address else None
        if user is None:
            raise SlackError("users_not_found")
        return {"user": dict(user)}

    def _view_object(
        self, view: dict[str, Any], view_id: str, *, root_view_id: str | None = None
    ) -> dict[str, Any]:
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(_RealClock.time())}.{secrets.token_hex(4)}",
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": None,
            "root_view_id": root_view_id or view_id,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }

    def _check_view(self, view: Any, surface: str) -> None:
        if not isinstance(view, dict):
            raise SlackError(
                "invalid_arguments", messages=["[ERROR] must provide an object [json-pointer:/view]"]
            )
        if self.validate_blocks:
            problems = view_problems(view, surface=surface)
            if problems:
                raise SlackError("invalid_arguments", messages=problems)

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id") and not params.get("interactivity_pointer"):
            raise SlackError("invalid_arguments", messages=["[ERROR] missing required field: trigger_id"])
        view = params.get("view")
        self._check_view(view, "modal")
        assert isinstance(view, dict)
        view_id = self._next_id("V")
        stored = self._view_object(view, view_id)
        with self._lock:
            self._views[view_id] = stored
        return {"view": stored}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = str(params.get("user_id") or "")
        if not user_id:
            raise SlackError("invalid_arguments", messages=["[ERROR] missing required field: user_id"])
        view = params.get("view")
        self._check_view(view, "home")
        assert isinstance(view, dict)
        with self._lock:
            if self._users and self._user(user_id) is None and self.strict:
                raise SlackError("user_not_found")
            previous = self._home_views.get(user_id)
            view_id = previous["id"] if previous else self._next_id("V")
            stored = self._view_object(view, view_id)
            self._views[view_id] = stored
            self._home_views[user_id] = stored
        return {"view": stored}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        surface = view.get("type", "modal") if isinstance(view, dict) else "modal"
        self._check_view(view, surface if surface in ("modal", "home") else "modal")
        assert isinstance(view, dict)
        view_id = str(params.get("view_id") or "")
        external_id = str(params.get("external_id") or "")
        if not view_id and not external_id:
            raise SlackError("invalid_arguments", messages=["[ERROR] view_id or external_id is required"])
        with self._lock:
            if not view_id:
                found = [v for v in self._views.values() if v.get("external_id") == external_id]
                view_id = found[0]["id"] if found else ""
            if (not view_id or view_id not in self._views) and self.strict:
                raise SlackError("not_found")
            view_id = view_id or self._next_id("V")
            stored = self._view_object(view, view_id)
            self._views[view_id] = stored
        return {"view": stored}

    def _files_get_upload_url_external(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = str(params.get("filename") or "")
        if not filename:
            raise SlackError("invalid_arguments", messages=["[ERROR] missing required field: filename"])
        if params.get("length") in (None, ""):
            raise SlackError("invalid_arguments", messages=["[ERROR] missing required field: length"])
        length = _int_param(params, "length")
        if length <= 0:
            raise SlackError(
                "invalid_arguments", messages=["[ERROR] must be more than 0 [json-pointer:/length]"]
            )
        token = secrets.token_urlsafe(12)
        upload = Upload(
            file_id=self._next_id("F"),
            filename=filename,
            length=length,
            upload_url=f"{self.origin}/upload/v1/{token}",
            alt_txt=params.get("alt_txt"),
            snippet_type=params.get("snippet_type"),
        )
        with self._lock:
            self._uploads[token] = upload
        return {"upload_url": upload.upload_url, "file_id": upload.file_id}

    def _file_object(self, upload: Upload) -> dict[str, Any]:
        now = int(_RealClock.time())
        extension = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else "binary"
        mimetype = {
            "png": "image/png",
            "csv": "text/csv",
            "txt": "text/plain",
            "json": "application/json",
            "pdf": "application/pdf",
        }.get(extension, "application/octet-stream")
        channels = [c for c in [upload.channel_id, *upload.channels] if c]
        private = f"{self.origin}/files-pri/{self.team_id}-{upload.file_id}"
        return {
            "id": upload.file_id,
            "created": now,
            "timestamp": now,
            "name": upload.filename,
            "title": upload.title or upload.filename,
            "mimetype": mimetype,
            "filetype": extension,
            "pretty_type": extension.upper(),
            "user": self.bot_user_id,
            "user_team": self.team_id,
            "editable": False,
            "size": len(upload.data or b""),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": any(c.startswith("C") for c in channels),
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"{private}/{upload.filename}",
            "url_private_download": f"{private}/download/{upload.filename}",
            "permalink": f"https://test.slack.com/files/{self.bot_user_id}/{upload.file_id}/{upload.filename}",
            "comments_count": 0,
            "is_starred": False,
            "shares": {},
            "channels": [c for c in channels if c.startswith("C")],
            "groups": [c for c in channels if c.startswith("G")],
            "ims": [c for c in channels if c.startswith("D")],
            "has_more_shares": False,
            "has_rich_preview": False,
            "file_access": "visible",
        }

    def _files_complete_upload_external(self, params: dict[str, Any]) -> dict[str, Any]:
        files = params.get("files")
        if not isinstance(files, list) or not files:
            raise SlackError(
                "invalid_arguments", messages=["[ERROR] must provide an array [json-pointer:/files]"]
            )
        channels = [c.strip() for c in str(params.get("channels") or "").split(",") if c.strip()]
        channel_id = params.get("channel_id") or None
        targets = [self._resolve_channel(c) for c in ([channel_id] if channel_id else []) + channels]
        with self._lock:
            by_id = {u.file_id: u for u in self._uploads.values()}
            chosen: list[tuple[Upload, dict[str, Any]]] = []
            for item in files:
                upload = by_id.get(str(item.get("id"))) if isinstance(item, dict) else None
                if upload is None or upload.data is None:
                    raise SlackError("file_not_found")
                chosen.append((upload, item))
            for upload, item in chosen:
                upload.title = item.get("title") or upload.filename
                upload.channel_id = targets[0] if channel_id else None
                upload.channels = targets[1:] if channel_id else targets
                upload.initial_comment = params.get("initial_comment")
                upload.thread_ts = params.get("thread_ts")
                upload.completed = True
        return {"files": [self._file_object(upload) for upload, _ in chosen]}


# --------------------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # listen() backlog: fan-out tests open many connections at once


class _RequestHandler(BaseHTTPRequestHandler):
    emulator: SlackEmulator  # set on the per-server subclass
    server_version = "SlackEmulator/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("slack emulator: " + format, *args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        emu = self.emulator
        arrived = _RealClock.time()
        split = urlsplit(self.path)
        headers = dict(self.headers.items())
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        content_type = self.headers.get("Content-Type", "")
        method = ""
        params: dict[str, Any] = {}
        answer: _Answer
        try:
            if split.path.startswith("/api/"):
                method = split.path[len("/api/") :]
                try:
                    params = parse_params(content_type, body, split.query)
                except SlackError as exc:
                    answer = _json_answer(exc.body())
                else:
                    answer = emu.handle_api(method, params, headers)
            elif split.path.startswith("/upload/v1/"):
                method = UPLOAD_METHOD
                params = {"token": split.path.rsplit("/", 1)[-1], "size": len(body)}
                data = body
                if content_type.lower().startswith("multipart/form-data"):
                    parts = _parse_multipart(content_type, body)
                    data = next((v for v in parts.values() if isinstance(v, bytes)), body)
                params["size"] = len(data)
                answer = emu.handle_upload(params["token"], params, data)
            elif split.path.startswith("/response/"):
                method = RESPONSE_URL_METHOD
                try:
                    decoded: Any = json.loads(body) if body else {}
                except ValueError:
                    decoded = body.decode("utf-8", "replace")
                params = decoded if isinstance(decoded, dict) else {"body": decoded}
                index_text = split.path[len("/response/") :]
                index = int(index_text) if index_text.isdigit() else 0
                answer = emu.handle_response_url(index, f"{emu.origin}{split.path}", decoded, headers)
            else:
                method = split.path
                answer = _Answer(404, b"Not Found", content_type="text/plain; charset=utf-8")
        except Exception as exc:  # a bug in the emulator: answer 500 and make the test fail at exit
            log.exception("slack emulator failed on %s", self.path)
            emu.internal_errors.append(exc)
            answer = _json_answer({"ok": False, "error": "emulator_internal_error", "detail": repr(exc)}, 500)
        emu._record(
            Call(
                method,
                params,
                headers,
                arrived,
                status=answer.status,
                response=answer.json_body,
                path=split.path,
            )
        )
        self._send(answer)

    def _send(self, answer: _Answer) -> None:
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for key, value in answer.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout); nothing to answer
