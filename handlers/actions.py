"""Buttons and menus: Add artifact, Nothing this month, Edit, Remove, Keep/Kill (work after the ack)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext, Respond
from slack_sdk import WebClient

from bot import ids
from handlers import interactions
from handlers.errors import ack_now, reported


def handle_add(body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """*Add artifact*: open the modal."""
    answer = interactions.artifact_command(context["deps"], body["user"]["id"], "")
    if answer.modal is not None:
        client.views_open(trigger_id=body["trigger_id"], view=answer.modal)


def handle_nothing(body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond) -> None:
    """*Nothing this month*."""
    answer = interactions.skip_month(context["deps"], body["user"]["id"], action.get("value") or "")
    respond(text=answer.text, replace_original=False, response_type="ephemeral")


def handle_edit(
    body: dict[str, Any],
    action: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    respond: Respond,
) -> None:
    """*Edit*: open the pre-filled modal."""
    answer = interactions.edit_modal(context["deps"], body["user"]["id"], action.get("value") or "")
    if answer.modal is not None:
        client.views_open(trigger_id=body["trigger_id"], view=answer.modal)
    else:
        respond(text=answer.text, replace_original=False, response_type="ephemeral")


def handle_remove(body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond) -> None:
    """*Remove*."""
    answer = interactions.remove_action(context["deps"], body["user"]["id"], action.get("value") or "")
    respond(text=answer.text, replace_original=False, response_type="ephemeral")


def handle_review(body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond) -> None:
    """*Keep* / *Kill* from the report."""
    value = (action.get("selected_option") or {}).get("value") or action.get("value") or ""
    answer = interactions.review_action(context["deps"], body["user"]["id"], value)
    respond(text=answer.text, replace_original=False, response_type="ephemeral")


def register(app: App) -> None:
    # Each button is acknowledged in the request thread; its work runs afterwards (a lazy listener).
    # A trigger_id stays valid for 3 seconds, so opening a modal after the ack is in time.
    for action_id, work in (
        (ids.ACTION_ADD_ARTIFACT, handle_add),
        (ids.ACTION_NOTHING, handle_nothing),
        (ids.ACTION_EDIT, handle_edit),
        (ids.ACTION_REMOVE, handle_remove),
        (ids.ACTION_REVIEW, handle_review),
    ):
        app.action(action_id)(ack=ack_now, lazy=[reported(work)])
