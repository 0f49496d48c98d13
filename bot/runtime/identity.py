"""Who the bot token is (``auth.test``), learned off the request path so Slack being down stops nothing.

Bolt's default authorization calls ``auth.test`` when the app is built and again on a process's first
request: ``serve`` then could not start while Slack was unreachable, and a work process whose first
task met a failing ``auth.test`` dropped that task. Here the serving process asks ``auth.test`` in a
background thread until it answers; until then, and in work processes (whose requests the serving
process already authorised and acknowledged), a request is authorised with the bot token alone. The
answer, once known, gives Bolt the bot's user and bot ids and the workspace guard its workspace.
``/healthz`` reports whether Slack answered.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from slack_bolt.authorization import AuthorizeResult

log = logging.getLogger(__name__)


class SlackIdentity:
    """The cached ``auth.test`` answer for one bot token."""

    def __init__(self, client: Any, *, fetch: bool = True) -> None:
        self._client = client
        self._fetch_enabled = fetch
        self._result: dict[str, Any] | None = None
        self._error: str | None = None if fetch else "not asked in this process"
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def known(self) -> dict[str, Any] | None:
        """The ``auth.test`` answer, when Slack has given it."""
        return self._result

    def status(self) -> str:
        """``ok``, ``unreachable: <why>`` or ``unknown`` (not asked yet)."""
        if self._result is not None:
            return "ok"
        return f"unreachable: {self._error}" if self._error else "unknown"

    def fetch(self) -> bool:
        """Ask ``auth.test`` once; True when the answer is known (now or before)."""
        if self._result is not None:
            return True
        if not self._fetch_enabled:
            return False
        with self._lock:
            if self._result is not None:
                return True
            try:
                resp = self._client.auth_test()
                self._result = dict(resp.data) if hasattr(resp, "data") else dict(resp)
                self._error = None
                log.info("Slack answered auth.test: bot user %s", self._result.get("user_id"))
                return True
            except Exception as exc:  # any failure to reach or use Slack: keep serving, ask again
                self._error = f"{type(exc).__name__}: {exc}"[:200]
                return False

    def start(self, *, every_seconds: float = 10.0, max_wait: float = 300.0) -> threading.Thread:
        """Ask in a background thread until Slack answers (waiting up to ``max_wait`` between tries)."""

        def loop() -> None:
            wait = every_seconds
            while not self.fetch():
                log.warning("Slack did not answer auth.test (%s); serving on, asking again in %.0f s",
                            self._error, wait)
                time.sleep(wait)
                wait = min(wait * 2, max_wait)

        self._thread = threading.Thread(target=loop, name="slack-identity", daemon=True)
        self._thread.start()
        return self._thread

    def authorizer(self) -> Any:
        """Bolt's ``authorize`` function (Bolt passes arguments by name: a plain function, not a method)."""

        def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
            return self._authorize(enterprise_id=enterprise_id, user_id=user_id)

        return authorize

    def _authorize(self, *, enterprise_id: str | None, user_id: str | None) -> AuthorizeResult:
        """Never calls Slack on the request path."""
        token = self._client.token
        known = self._result
        if known is not None:
            return AuthorizeResult(
                enterprise_id=known.get("enterprise_id") or enterprise_id,
                team_id=known.get("team_id"),
                bot_token=token,
                bot_id=known.get("bot_id"),
                bot_user_id=known.get("user_id"),
                user_id=user_id,
            )
        # Not known yet (Slack unreachable, or a work process): the request was signed with this app's
        # secret; the token alone lets the listener answer. The workspace guard has nothing to compare.
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=None, bot_token=token, user_id=user_id)
