"""``artifact-bot serve``: Bolt behind waitress (one process) or gunicorn (several), or Socket Mode.

One process answers Slack's HTTP requests with waitress threads. Python runs one thread at a time,
so ``serve --workers N`` (or ``WEB_CONCURRENCY``) runs N processes behind gunicorn's pre-fork
master instead: each builds its own database engine and Bolt app after the fork.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from slack_bolt import App
from slack_bolt.request import BoltRequest

from bot.db import ping
from bot.deps import Deps

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000  # Slack payloads are far smaller; refuse anything bigger


# Anyone on the internet can open sockets to the app. waitress reads each request whole in its event
# loop before a thread sees it, so idle and slow (slowloris) connections cost a file descriptor, not a
# thread; its defaults then stop accepting at 100 connections and keep an idle one for 120 s. Above
# the worst case and with poll() (select() fails past descriptor 1024), Slack's requests keep being
# answered while a thousand slow sockets are held open (``benchmarks/slow_clients.py``).
SOCKET_LIMITS: dict[str, Any] = {
    "asyncore_use_poll": True,
    "channel_timeout": 15,  # seconds without a byte before an idle connection is closed
    "cleanup_interval": 5,
    "max_request_header_size": 64 * 1024,
    "max_request_body_size": 4 * 1024 * 1024,  # Slack's payloads are a few kB
    "backlog": 2048,
}
MAX_CONNECTIONS = 4000


def connection_limit() -> int:
    """As many connections as the process's file-descriptor limit allows, up to ``MAX_CONNECTIONS``."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = MAX_CONNECTIONS + 256  # the database, the journal, Slack and the work processes' pipes
    if soft < want and (hard == resource.RLIM_INFINITY or hard > soft):
        soft = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return max(100, min(MAX_CONNECTIONS, soft - 256))


def make_wsgi(app: App, deps: Deps) -> Callable[..., Iterable[bytes]]:
    """WSGI app: ``POST /slack/events`` → Bolt, ``GET /healthz`` → database health."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            ok = ping(deps.engine)
            identity = getattr(app, "slack_identity", None)
            slack = identity.status() if identity is not None else "unknown"
            body = json.dumps(
                {"status": "ok" if ok else "error", "database": "ok" if ok else "unreachable", "slack": slack}
            ).encode()
            start_response(
                "200 OK" if ok else "503 Service Unavailable",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        if path == "/slack/events":
            if method != "POST":
                start_response("405 Method Not Allowed", [("Allow", "POST"), ("Content-Length", "0")])
                return [b""]
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > MAX_BODY:
                start_response("413 Payload Too Large", [("Content-Length", "0")])
                return [b""]
            raw = environ["wsgi.input"].read(length).decode("utf-8", errors="replace") if length else ""
            headers: dict[str, str | Sequence[str]] = {}
            for key, value in environ.items():
                if key.startswith("HTTP_"):
                    headers[key[5:].replace("_", "-").lower()] = value
            if environ.get("CONTENT_TYPE"):
                headers["content-type"] = environ["CONTENT_TYPE"]
            query = environ.get("QUERY_STRING", "")
            if not _signed(raw, headers, deps):
                # Unsigned, stale or with headers that do not parse (a timestamp that is not a number):
                # refused before Bolt sees it, with one line in the log and no traceback.
                log.info("refused an unsigned or badly signed request (%d bytes)", len(raw))
                return _refuse(start_response, 401, "invalid request")
            kind, parsed = _read_body(raw, str(headers.get("content-type", "")))
            app_id = deps.settings.slack_app_id
            if app_id and (parsed or {}).get("api_app_id") != app_id:
                log.info("refused a signed request for another app id")
                return _refuse(start_response, 403, "not this app")
            if not _well_formed(kind, parsed):
                # Signed but unreadable, or fields of the wrong types.
                log.info("refused a signed request of an unexpected shape (%d bytes)", len(raw))
                return _refuse(start_response, 400, "malformed request")
            resp = app.dispatch(BoltRequest(body=raw, query=query, headers=headers))
            out = (resp.body or "").encode("utf-8")
            hdrs = [(k, v) for k, values in resp.headers.items() for v in values if k.lower() != "content-length"]
            hdrs.append(("Content-Length", str(len(out))))
            start_response(f"{resp.status} {_reason(resp.status)}", hdrs)
            return [out]
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
        return [b"not found"]

    return wsgi


def _refuse(start_response: Callable[..., Any], status: int, error: str) -> list[bytes]:
    body = json.dumps({"error": error}).encode()
    start_response(
        f"{status} {_reason(status)}", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def _read_body(raw: str, content_type: str) -> tuple[str, dict[str, Any] | None]:
    """The request parsed once: ``("event", envelope)``, ``("interaction", payload)`` or ``("form", fields)``
    (a slash command's fields, first values); the dict is None when the body cannot be read."""
    from urllib.parse import parse_qs

    text = raw.lstrip()
    if not text:
        return "empty", None  # nothing Slack sends is empty
    if text.startswith("{") or "json" in content_type:
        try:
            body = json.loads(raw)
        except ValueError:
            return "event", None
        return "event", body if isinstance(body, dict) else None
    form = parse_qs(raw)
    if "payload=" in raw:
        values = form.get("payload")
        try:
            payload = json.loads(values[0]) if values else None
        except ValueError:
            return "interaction", None
        return "interaction", payload if isinstance(payload, dict) else None
    return "form", {k: v[0] for k, v in form.items()}


def _well_formed(kind: str, body: dict[str, Any] | None) -> bool:
    """A JSON body must be an event envelope; a form ``payload`` an interaction of Slack's shape."""
    if body is None:
        return False
    if kind == "event":
        return _event_shape_ok(body)
    if kind == "interaction":
        return _interaction_shape_ok(body)
    return True


def _str_or_none(*values: Any) -> bool:
    return all(v is None or isinstance(v, str) for v in values)


USER_OBJECT_EVENTS = frozenset({"user_change", "team_join"})


def _event_shape_ok(body: dict[str, Any]) -> bool:
    """The fields the listeners read have the types Slack sends (a signed body can still be forged)."""
    if body.get("type") != "event_callback":
        return True
    event = body.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return False
    user = event.get("user")
    if event["type"] in USER_OBJECT_EVENTS:  # these carry a whole user object, not an id
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            return False
        user = None
    if not _str_or_none(event.get("text"), user, event.get("channel"), event.get("ts"),
                        event.get("subtype"), body.get("event_id"), body.get("team_id")):
        return False
    return event.get("blocks") is None or isinstance(event.get("blocks"), list)


def _interaction_shape_ok(payload: dict[str, Any]) -> bool:
    kind = payload.get("type")
    user = payload.get("user")
    if not isinstance(kind, str) or not isinstance(user, dict) or not isinstance(user.get("id"), str):
        return False
    if kind == "block_actions":
        actions = payload.get("actions")
        return (
            isinstance(actions, list)
            and len(actions) > 0
            and all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)
        )
    if kind in ("view_submission", "view_closed"):
        view = payload.get("view")
        return (
            isinstance(view, dict)
            and isinstance(view.get("callback_id"), str)
            and _str_or_none(view.get("private_metadata"), view.get("id"))
            and (view.get("state") is None or isinstance(view.get("state"), dict))
        )
    return True


def _signed(raw: str, headers: dict[str, Any], deps: Deps) -> bool:
    """Slack's signature, checked the way Bolt does, but never raising on malformed headers."""
    from slack_sdk.signature import SignatureVerifier

    secret = deps.settings.slack_signing_secret
    if secret is None:
        return False
    flat = {k: (v if isinstance(v, str) else next(iter(v), "")) for k, v in headers.items()}
    timestamp = flat.get("x-slack-request-timestamp", "")
    # int() would accept " 12", "1_2" and non-ASCII digits, and raises on the rest: ASCII digits only.
    if not (0 < len(timestamp) <= 12 and timestamp.isascii() and timestamp.isdigit()):
        return False
    try:
        return SignatureVerifier(secret.get_secret_value()).is_valid_request(raw, flat)
    except (ValueError, TypeError):
        return False


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def start_recovery(deps: Deps, *, every_seconds: float = 60.0) -> threading.Thread:
    """A daemon thread that finishes DM replies stored but left unprocessed (a crash, a restart)."""
    from handlers.messages import RECOVERY_BATCH, process_pending

    def loop() -> None:
        while True:
            backlog = False
            try:
                done, found = process_pending(deps)
                # A full batch: more are waiting (a long outage's backlog): go on at once, unless none
                # of the batch could be finished (then Slack or the database is still down).
                backlog = found >= RECOVERY_BATCH and done > 0
                if found:
                    log.info("inbox recovery: finished %d of %d stored replies", done, found)
            except Exception:
                log.exception("inbox recovery pass failed; retrying later")
            if not backlog:
                time.sleep(every_seconds)

    thread = threading.Thread(target=loop, name="inbox-recovery", daemon=True)
    thread.start()
    return thread


def _start_process_services(deps: Deps, *, scheduler: bool, record: bool) -> Any:
    """What every serving process runs beside Bolt: inbox recovery, config watching, the scheduler."""
    start_recovery(deps)
    if deps.settings.artifact_bot_config:
        from bot.runtime.reload import ConfigWatcher, record_roles

        if record:
            record_roles(deps, deps.org, actor="startup")
        ConfigWatcher(deps, deps.settings.artifact_bot_config).start()
    elif threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # nothing to reload; never die of it
    if not scheduler:
        return None
    from jobs.scheduler import start_background_scheduler

    return start_background_scheduler(deps)


def _waitress_worker_class() -> Any:
    from gunicorn.workers.base import Worker

    class WaitressWorker(Worker):  # type: ignore[misc]
        """A gunicorn worker that serves its listening sockets with waitress.

        gunicorn's threaded worker hands each accepted connection to a thread that then waits for the
        request's headers, so a few dozen slow clients hold every thread. waitress reads requests in
        its event loop and gives a thread only a complete one. gunicorn stays the process manager
        (forking, SIGHUP to the workers, graceful stop, replacing a dead worker).
        """

        def run(self) -> None:
            from waitress import create_server

            server = create_server(
                self.wsgi,
                sockets=[s.sock for s in self.sockets],
                threads=16,
                ident="artifact-bot",
                **SOCKET_LIMITS,
                connection_limit=connection_limit(),
            )

            def heartbeat() -> None:
                # The master replaces a worker that stops notifying; a stop (SIGTERM sets alive False) or
                # an orphaned worker closes the server, which ends run().
                while self.alive and self.ppid == os.getppid():
                    self.notify()
                    time.sleep(1.0)
                server.close()

            threading.Thread(target=heartbeat, name="heartbeat", daemon=True).start()
            with contextlib.suppress(OSError, ValueError):  # closed by the heartbeat thread
                server.run()

    return WaitressWorker


def __getattr__(name: str) -> Any:
    # gunicorn imports the worker class by name; gunicorn itself is imported only by ``serve --workers``.
    if name == "WaitressWorker":
        return _waitress_worker_class()
    raise AttributeError(name)


def serve_workers(
    deps: Deps, make_deps: Callable[[], Deps], *, workers: int, port: int | None = None, scheduler: bool = True
) -> int:
    """Serve HTTP with ``workers`` processes (gunicorn, threaded workers) on one port.

    ``deps`` is the master's (migrations are done): it records the configured roles once, then its
    engine is closed before the fork. Each worker calls ``make_deps`` and builds its own app. SIGHUP
    to the master is passed to the workers, which reload the config as one process does (keeping the
    old one when the new one is invalid); SIGTERM stops them gracefully. With the scheduler on, every
    worker runs it: the database lease per job run lets only one of them run each job.
    """
    from gunicorn.app.base import BaseApplication
    from gunicorn.arbiter import Arbiter

    from bot.runtime.app import close_work, create_app

    deps.settings.require("slack_bot_token", "slack_signing_secret")  # before any worker is forked
    if deps.settings.artifact_bot_config:
        from bot.runtime.reload import record_roles

        record_roles(deps, deps.org, actor="startup")
    deps.engine.dispose()
    if deps.inbox_engine is not None:
        deps.inbox_engine.dispose()
    bind = f"0.0.0.0:{port or deps.settings.port}"

    class _Arbiter(Arbiter):  # type: ignore[misc]
        def handle_hup(self) -> None:
            self.log.info("SIGHUP: the workers reload the config")
            self.kill_workers(signal.SIGHUP)

    class _Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in {
                "bind": bind,
                "workers": workers,
                "worker_class": "bot.runtime.server.WaitressWorker",
                "timeout": 60,
                "graceful_timeout": 10,
                "keepalive": 5,
                "proc_name": "artifact-bot",
                "accesslog": None,
                "limit_request_line": 8190,
            }.items():
                self.cfg.set(key, value)

        def load(self) -> Callable[..., Iterable[bytes]]:  # in each worker, after the fork
            import atexit

            worker_deps = make_deps()
            app = create_app(worker_deps, work_processes=worker_deps.settings.artifact_bot_work_processes)
            atexit.register(close_work, app)
            _start_process_services(worker_deps, scheduler=scheduler, record=False)
            return make_wsgi(app, worker_deps)

        def run(self) -> None:
            _Arbiter(self).run()

    log.info("artifact-bot listening on %s with %d worker processes", bind, workers)
    _Gunicorn().run()
    return 0


def serve(deps: Deps, *, port: int | None = None, socket_mode: bool = False, scheduler: bool = True) -> int:
    """Run the Slack app until stopped (the work after each ack in ``ARTIFACT_BOT_WORK_PROCESSES``)."""
    from bot.runtime.app import close_work, create_app

    if socket_mode:
        deps.settings.require("slack_app_token")
    app = create_app(deps, work_processes=deps.settings.artifact_bot_work_processes)
    sched = _start_process_services(deps, scheduler=scheduler, record=True)
    try:
        if socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            assert deps.settings.slack_app_token is not None
            SocketModeHandler(app, deps.settings.slack_app_token.get_secret_value()).start()
            return 0
        from waitress import create_server

        server = create_server(
            make_wsgi(app, deps),
            host="0.0.0.0",
            port=port or deps.settings.port,
            threads=16,
            ident="artifact-bot",
            **SOCKET_LIMITS,
            connection_limit=connection_limit(),
        )
        signal.signal(signal.SIGTERM, lambda *_: server.close())
        log.info("artifact-bot listening on port %s", port or deps.settings.port)
        with contextlib.suppress(OSError, ValueError):  # closed by SIGTERM
            server.run()
        return 0
    finally:
        if sched is not None:
            sched.shutdown(wait=False)
        close_work(app)
