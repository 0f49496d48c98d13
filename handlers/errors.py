"""Errors map to messages in one place, for listeners and for the work they hand to lazy listeners."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.response import BoltResponse

from bot.errors import ArtifactBotError
from bot.slack.words import SORRY

log = logging.getLogger(__name__)


def handle_error(error: Exception, body: dict[str, Any], respond: Any = None) -> BoltResponse | None:
    """Explain domain errors to the person; log everything else with its traceback."""
    if isinstance(error, ArtifactBotError):
        if respond is not None and body.get("response_url"):
            respond(text=str(error), response_type="ephemeral", replace_original=False)
        return None
    log.exception("unhandled error in a Slack listener", exc_info=error)
    if respond is not None and body.get("response_url"):
        try:
            respond(text=SORRY, response_type="ephemeral", replace_original=False)
        except Exception:
            log.exception("could not tell the person about the error")
    return BoltResponse(status=500, body="")


def ack_now(ack: Ack) -> None:
    """Acknowledge in the request thread: Slack's HTTP 200 never waits for a listener's work."""
    ack()


def reported(func: Callable[..., None]) -> Callable[..., None]:
    """Wrap work that runs after the ack (a Bolt lazy listener) so its errors reach ``handle_error``.

    Bolt only logs one line for an exception in a lazy listener; this keeps the traceback and tells
    the person, as for errors raised before the ack. Bolt injects the arguments the wrapped
    function names (it reads the signature through ``functools.wraps``).
    """

    @functools.wraps(func)
    def run(**kwargs: Any) -> None:
        try:
            func(**kwargs)
        except Exception as exc:
            body = kwargs.get("body") or kwargs.get("command") or {}
            handle_error(exc, body, kwargs.get("respond"))

    return run


def register(app: App) -> None:
    app.error(handle_error)
