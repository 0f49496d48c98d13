"""Directory events: ``user_change`` and ``team_join`` keep a person's name, time zone and status fresh."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext

from bot.people.events import apply_user_event
from handlers.errors import ack_now, reported

log = logging.getLogger(__name__)


def handle_user_event(event: dict[str, Any], context: BoltContext) -> None:
    """Record the user object the event carries (after the ack)."""
    user = event.get("user")
    if not isinstance(user, dict):
        return  # a malformed event: nothing to record
    deps = context["deps"]
    done = apply_user_event(engine=deps.engine, org=deps.org, user=user)
    log.info("%s for %s: %s", event.get("type"), user.get("id"), done)


def register(app: App) -> None:
    for name in ("user_change", "team_join"):
        app.event(name)(ack=ack_now, lazy=[reported(handle_user_event)])
