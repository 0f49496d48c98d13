"""The emulator's core: the HTTP server on 127.0.0.1, request parsing, the call log, scripted
failures, token buckets (429 + ``Retry-After``), latency, and the routing of Web API methods.

Each API family (``auth``, ``chat``, ``conversations``, ``users``, ``views``, ``files``) is a class
over :class:`EmulatorCore` that names its methods in ``API_METHODS``; ``SlackEmulator`` joins them.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import itertools
import json
import logging
import math
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import parse_qsl, urlsplit

from testing.slack.records import (
    DEFAULT_TOKEN,
    JSON_PARAMS,
    RESPONSE_URL_MAX_USES,
    RESPONSE_URL_METHOD,
    UPLOAD_METHOD,
    Call,
    Handler,
    ResponseUrlPost,
    SlackError,
    Upload,
    _Answer,
    _Bucket,
    _RealClock,
    _Rule,
    json_answer,
)

if TYPE_CHECKING:
    from slack_sdk import WebClient

log = logging.getLogger(__name__)

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


def int_param(params: dict[str, Any], key: str, default: int = 0) -> int:
    value = params.get(key)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise SlackError("invalid_arguments", messages=[f"[ERROR] must be a number [json-pointer:/{key}]"]) from exc


class EmulatorCore:
    """The server and the machinery every API family shares (see ``SlackEmulator`` for the arguments)."""

    API_METHODS: dict[str, str] = {"api.test": "_api_test"}

    def __init__(
        self,
        *,
        team_id: str = "T0TEST",
        team_name: str = "Test Team",
        enterprise_id: str | None = None,
        workspaces: dict[str, str] | None = None,
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
        # Enterprise Grid: an org-level token (auth.test answers is_enterprise_install) in these workspaces.
        self.enterprise_id = enterprise_id
        self.workspaces: dict[str, str] = dict(workspaces or {})
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
        # (method, workspace or None for every workspace) -> (per_second, burst, per_channel)
        self._buckets: dict[tuple[str, str | None], tuple[float, float, bool]] = {}
        self._bucket_state: dict[tuple[str, str, str], _Bucket] = {}
        self._throttled: Counter[str] = Counter()
        self._throttled_in: Counter[tuple[str, str]] = Counter()  # (method, workspace) -> 429s
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
        self._register_builtin_methods()

    def _register_builtin_methods(self) -> None:
        """Route every ``API_METHODS`` entry of this class and its bases to its implementation."""
        for cls in reversed(type(self).__mro__):
            for method, attr in vars(cls).get("API_METHODS", {}).items():
                self._handlers[method] = getattr(self, attr)

    def _api_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"args": {k: v for k, v in params.items() if k != "token"}}

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> Self:
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

    def __enter__(self) -> Self:
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
            self._throttled_in.clear()
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

    @property
    def responses(self) -> list[ResponseUrlPost]:
        """POSTs received on response_url URLs, oldest first."""
        with self._lock:
            return list(self._responses)

    def responses_to(self, url: str) -> list[ResponseUrlPost]:
        return [r for r in self.responses if r.url == url]

    def throttled_count(self, method: str | None = None, *, team_id: str | None = None) -> int:
        """How many requests were answered 429 (scripted or by a token bucket), of one workspace if given."""
        with self._lock:
            if team_id is not None:
                return sum(n for (m, t), n in self._throttled_in.items() if t == team_id and method in (None, m))
            return sum(self._throttled.values()) if method is None else self._throttled[method]

    @property
    def org_wide(self) -> bool:
        """True for an Enterprise Grid org-level token (the emulator was given an ``enterprise_id``)."""
        return self.enterprise_id is not None

    def team_of(self, params: dict[str, Any]) -> str:
        """The workspace a call acts in: its ``team_id``, else the DM target's home workspace, else the default."""
        team = params.get("team_id")
        if team:
            return str(team)
        return self._home_team(str(params.get("channel") or params.get("user") or "")) or self.team_id

    def _home_team(self, user_id: str) -> str | None:
        return None  # the users family knows users

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
        self._add_rule(_Rule(method, "error", error=error, status=status, when=when, remaining=times, extra=extra))

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
        self,
        method: str,
        per_second: float = 50,
        *,
        burst: float | None = None,
        per_channel: bool = False,
        team_id: str | None = None,
    ) -> None:
        """Enforce a token bucket on ``method``; over it, answer 429 + Retry-After (whole seconds, >= 1).

        ``per_channel=True`` keeps one bucket per ``channel`` parameter (Slack's
        chat.postMessage allows about one message per second per channel). Slack's limits are per
        workspace: each workspace has its own bucket; ``team_id`` sets one workspace's limit
        (see :meth:`team_of` for the workspace of a call).
        """
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        with self._lock:
            self._buckets[(method, team_id)] = (float(per_second), float(burst or per_second), per_channel)
            for key in [k for k in self._bucket_state if k[0] == method and team_id in (None, k[1])]:
                del self._bucket_state[key]

    def clear_rate(self, method: str, *, team_id: str | None = None) -> None:
        with self._lock:
            self._buckets.pop((method, team_id), None)

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
            return self._throttle(method, rule.retry_after, self.team_of(params))
        if rule.kind == "http":
            text = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
            body = text.get(rule.status, "Server Error").encode()
            return _Answer(rule.status, body, content_type="text/plain; charset=utf-8")
        return json_answer({"ok": False, "error": rule.error, **rule.extra}, status=rule.status)

    def _throttle(self, method: str, retry_after: int, team: str) -> _Answer:
        with self._lock:
            self._throttled[method] += 1
            self._throttled_in[(method, team)] += 1
        return json_answer({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry_after)})

    def _bucket_answer(self, method: str, params: dict[str, Any]) -> _Answer | None:
        team = self.team_of(params)
        with self._lock:
            config = self._buckets.get((method, team)) or self._buckets.get((method, None))
            if config is None:
                return None
            per_second, burst, per_channel = config
            key = (method, team, str(params.get("channel", "")) if per_channel else "")
            now = _RealClock.monotonic()
            bucket = self._bucket_state.get(key)
            if bucket is None:
                bucket = self._bucket_state[key] = _Bucket(per_second, burst, burst, now)
            wait = bucket.take(now)
        if wait <= 0:
            return None
        return self._throttle(method, max(1, math.ceil(wait)), team)

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
            return json_answer({"ok": False, "error": "unknown_method", "req_method": method})
        auth_error = self._auth_error(params, headers)
        if auth_error is not None:
            return json_answer({"ok": False, "error": auth_error})
        scripted = self._scripted_answer(method, params) or self._bucket_answer(method, params)
        if scripted is not None:
            return scripted
        try:
            body = handler(params)
        except SlackError as exc:
            return json_answer(exc.body())
        body = {"ok": True, **body} if "ok" not in body else body
        return json_answer(body)

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
                answer = json_answer({"ok": False, "error": "used_url"}, status=404)
            else:
                answer = json_answer({"ok": True})
        with self._lock:
            self._responses.append(ResponseUrlPost(url, index, body, headers, _RealClock.time(), answer.status))
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


# --------------------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # listen() backlog: fan-out tests open many connections at once


class _RequestHandler(BaseHTTPRequestHandler):
    emulator: EmulatorCore  # set on the per-server subclass
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
                    answer = json_answer(exc.body())
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
            answer = json_answer({"ok": False, "error": "emulator_internal_error", "detail": repr(exc)}, 500)
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
