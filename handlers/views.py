"""Modal submissions: Add artifact and Edit artifact."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot import ids
from handlers import interactions
from handlers.errors import reported

CONFIRMATION = "artifact_confirmation"  # context key: what the ack saved, for the message sent after it


def _save(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, *, editing: bool) -> None:
    """Validate and save before the ack: field errors go back in the ack itself, as Slack requires."""
    user_id = body["user"]["id"]
    errors, answer = interactions.submit_artifact_view(context["deps"], user_id, view, editing=editing)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    if answer is not None:
        context[CONFIRMATION] = {"text": answer.text, "blocks": answer.blocks}
    ack()


def save_new(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    """Save a new artifact, or show field errors."""
    _save(ack, body, view, context, editing=False)


def save_edit(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    """Save an edited artifact, or show field errors."""
    _save(ack, body, view, context, editing=True)


def confirm(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """DM the person what was saved (after the modal closed)."""
    saved = context.get(CONFIRMATION)
    if saved:
        client.chat_postMessage(
            channel=body["user"]["id"], text=saved["text"], blocks=saved["blocks"], unfurl_links=False
        )


def register(app: App) -> None:
    app.view(ids.VIEW_ADD_ARTIFACT)(ack=save_new, lazy=[reported(confirm)])
    app.view(ids.VIEW_EDIT_ARTIFACT)(ack=save_edit, lazy=[reported(confirm)])
