"""Modal submissions: Add artifact and Edit artifact."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot import ids
from bot.services import interactions


def _submit(
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    *,
    editing: bool,
) -> None:
    user_id = body["user"]["id"]
    errors, answer = interactions.submit_artifact_view(context["deps"], user_id, view, editing=editing)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    if answer is not None:
        client.chat_postMessage(channel=user_id, text=answer.text, blocks=answer.blocks, unfurl_links=False)


def handle_add_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    """Save a new artifact, or show field errors."""
    _submit(ack, body, view, context, client, editing=False)


def handle_edit_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    """Save an edited artifact, or show field errors."""
    _submit(ack, body, view, context, client, editing=True)


def register(app: App) -> None:
    app.view(ids.VIEW_ADD_ARTIFACT)(handle_add_submission)
    app.view(ids.VIEW_EDIT_ARTIFACT)(handle_edit_submission)
