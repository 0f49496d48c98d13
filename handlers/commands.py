"""Slash commands: /artifact, /artifact-report, /leaderboard."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext, Respond
from slack_sdk import WebClient

from bot import ids
from handlers import interactions
from handlers.errors import ack_now, reported

log = logging.getLogger(__name__)


def handle_artifact(command: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    """/artifact: open the modal, or log /artifact URL [title] (runs after the ack)."""
    text = command.get("text") or ""
    if not text.strip():
        answer = interactions.artifact_command(context["deps"], command["user_id"], "")
        if answer.modal is not None:
            client.views_open(trigger_id=command["trigger_id"], view=answer.modal)
        return
    answer = interactions.artifact_command(context["deps"], command["user_id"], text)
    respond(text=answer.text, blocks=answer.blocks, response_type="ephemeral")


def handle_report(command: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    """/artifact-report [team] [YYYY-MM] [csv]: answered through response_url after the ack."""
    answer = interactions.report_command(context["deps"], command["user_id"], command.get("text") or "")
    if answer.csv is not None:
        dm = client.conversations_open(users=command["user_id"])["channel"]["id"]
        client.files_upload_v2(
            channel=dm,
            content=answer.csv,
            filename=answer.filename,
            title=answer.text,
            initial_comment=answer.text,
        )
        respond(text=f"{answer.text}: sent to you in a DM.", response_type="ephemeral")
        return
    respond(text=answer.text, blocks=answer.blocks, response_type="ephemeral")


def handle_leaderboard(command: dict[str, Any], context: BoltContext, respond: Respond) -> None:
    """/leaderboard [YYYY-MM]: the team board for anyone (after the ack)."""
    answer = interactions.leaderboard_command(context["deps"], command.get("text") or "")
    respond(text=answer.text, blocks=answer.blocks, response_type="ephemeral")


def register(app: App) -> None:
    # Lazy listeners: the ack runs in the request thread, the work in its own thread afterwards.
    app.command(ids.CMD_ARTIFACT)(ack=ack_now, lazy=[reported(handle_artifact)])
    app.command(ids.CMD_REPORT)(ack=ack_now, lazy=[reported(handle_report)])
    app.command(ids.CMD_LEADERBOARD)(ack=ack_now, lazy=[reported(handle_leaderboard)])
