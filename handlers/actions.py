"""Buttons and menus: Add artifact, Nothing this month, Edit, Remove, Keep/Kill."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import ids
from bot.services import interactions


def handle_add(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """*Add artifact*: open the modal."""
    ack()
    answer = interactions.artifact_command(context["deps"], body["user"]["id"], "")
    if answer.modal is not None:
        client.views_open(trigger_id=body["trigger_id"], view=answer.modal)


def handle_nothing(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond
) -> None:
    """*Nothing this month*."""
    ack()
    answer = interactions.skip_month(context["deps"], body["user"]["id"], action.get("value") or "")
    respond(text=answer.text, replace_original=False, response_type="ephemeral")


def handle_edit(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    respond: Respond,
) -> None:
    """*Edit*: open the pre-filled modal."""
    ack()
    answer = interactions.edit_modal(context["deps"], body["user"]["id"], action.get("value") or "")
    if answer.modal is not None:
        client.views_open(trigger_id=body["trigger_id"], view=answer.modal)
    else:
        respond(text=answer.text, replace_original=False, response_type="ephemeral")


def handle_remove(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond
) -> None:
    """*Remove*."""
    ack()
    answer = interactions.remove_action(context["deps"], body["user"]["id"], action.get("value") or "")
    respond(text=answer.text, replace_original=False, response_type="ephemeral")


def handle_review(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond
) -> None:
    """*Keep* / *Kill* from the report."""
    ack()
    value = (action.get("selected_option") or {}).get("value") or action.get("value") or ""
    answer = interactions.review_action(context["deps"], body["user"]["id"], value)
    respond(text=answer.text, replace_original=False, response_type="ephemeral")


def register(app: App) -> None:
    app.action(ids.ACTION_ADD_ARTIFACT)(handle_add)
    app.action(ids.ACTION_NOTHING)(handle_nothing)
    app.action(ids.ACTION_EDIT)(handle_edit)
    app.action(ids.ACTION_REMOVE)(handle_remove)
    app.action(ids.ACTION_REVIEW)(handle_review)
