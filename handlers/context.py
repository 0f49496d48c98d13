"""Bolt middleware: dependencies in the context, the workspace guard, and store-first DM replies."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext, BoltRequest, BoltResponse

from bot.artifacts import inbox
from bot.errors import InputError
from bot.slack.install import Install, refuses
from bot.slack.words import OTHER_WORKSPACE

log = logging.getLogger(__name__)


def make_deps_middleware(deps: Any) -> Callable[..., Any]:
    """Middleware that sets ``context["deps"]`` (it only adds values; no sessions here)."""

    def inject_deps(context: BoltContext, next: Callable[[], Any]) -> Any:
        context["deps"] = deps
        return next()

    return inject_deps


def guard_workspace(context: BoltContext, body: dict[str, Any], next: Callable[[], Any]) -> Any:
    """Refuse requests signed for this app but sent from another workspace or enterprise (``bot.slack.install``)."""
    auth = context.authorize_result
    mine = Install.from_auth_test(auth.team_id, auth.enterprise_id) if auth else Install(team_id=None)
    if refuses(mine, team_id=context.team_id, enterprise_id=context.enterprise_id):
        log.warning("refused a request from another workspace")
        if body.get("type") == "event_callback":
            return BoltResponse(status=200, body="")  # acknowledged and ignored: nothing to retry
        return BoltResponse(status=200, body=OTHER_WORKSPACE)
    return next()


def is_dm_reply(body: dict[str, Any]) -> bool:
    """A person's message in the bot's DM (what the reply capture handles)."""
    event = body.get("event") or {}
    return (
        body.get("type") == "event_callback"
        and event.get("type") == "message"
        and event.get("channel_type") == "im"
        and not event.get("bot_id")
        and event.get("subtype") in (None, "file_share", "thread_broadcast")
        and bool(event.get("user"))
        and bool(event.get("ts"))
        and bool(event.get("channel"))
    )


def store_dm_first(context: BoltContext, body: dict[str, Any], request: BoltRequest, next: Callable[[], Any]) -> Any:
    """Write a DM reply to the database before Slack is acknowledged; on failure answer 500 so Slack retries.

    A work process's copy of the request (``lazy_only``, ``bot.runtime.work``) was stored by the serving process.
    """
    if is_dm_reply(body) and not request.lazy_only:
        event = body["event"]
        try:
            context["inbox_key"] = inbox.store(
                context["deps"].journal,
                user_id=event["user"],
                channel=event["channel"],
                ts=event["ts"],
                text=event.get("text") or "",
            )
        except InputError as e:
            log.info("refused a DM event: %s", e)
            return BoltResponse(status=400, body="")
        except Exception:
            log.exception("could not store a DM reply; asking Slack to retry")
            return BoltResponse(status=500, body="")
    return next()
