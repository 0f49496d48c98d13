"""Errors map to messages in one place."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_bolt.response import BoltResponse

from bot.errors import ArtifactBotError

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
            respond(
                text="Sorry, something went wrong on our side; nothing was changed. Try again in a minute.",
                response_type="ephemeral",
                replace_original=False,
            )
        except Exception:
            log.exception("could not tell the person about the error")
    return BoltResponse(status=500, body="")


def register(app: App) -> None:
    app.error(handle_error)
