"""DM replies to the check-in (``message.im``)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from handlers import interactions
from handlers.errors import ack_now, reported

log = logging.getLogger(__name__)

# Subtypes that carry a person's own new text; edits, deletions, joins and bot posts are ignored.
ACCEPTED_SUBTYPES = {None, "file_share", "thread_broadcast"}


def handle_dm(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """A person's DM to the bot: record links as artifacts, or keep a note and ask for a link."""
    if event.get("channel_type") != "im":
        return
    if event.get("subtype") not in ACCEPTED_SUBTYPES or event.get("bot_id") or not event.get("user"):
        return
    if event.get("user") == context.bot_user_id:
        return
    answer = interactions.dm_reply(
        context["deps"], event["user"], event["channel"], event["ts"], event.get("text") or ""
    )
    if answer is None:  # a retry or replay of a message already handled
        return
    client.chat_postMessage(
        channel=event["channel"],
        text=answer.text,
        blocks=answer.blocks,
        thread_ts=event.get("thread_ts"),
        unfurl_links=False,
    )


def register(app: App) -> None:
    # The reply is already stored (``store_dm_first``) when this acks; the work runs afterwards, and the
    # inbox recovery pass finishes it if this process dies first.
    app.event({"type": "message"})(ack=ack_now, lazy=[reported(handle_dm)])
