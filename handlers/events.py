"""Events other than messages: App Home."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.boards import answers
from bot.checkins import review_queue
from bot.people.directory import person_for_user
from bot.slack import blocks as bk
from handlers.errors import ack_now, reported


def handle_home_opened(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """Publish the person's App Home (after the ack)."""
    if event.get("tab") not in (None, "home"):
        return
    deps = context["deps"]
    person = person_for_user(deps.engine, deps.slack, event["user"])
    got = answers.home(engine=deps.engine, org=deps.org, person=person, now=deps.clock())
    view = bk.home_view(
        suggestion=got.suggestion,
        name=got.data.name,
        period=got.data.period,
        spend_usd=got.data.spend_usd,
        tokens=got.data.tokens,
        artifacts=got.data.artifacts,
        team_lines=got.data.team_lines,
        unpriced_rows=got.data.unpriced_rows,
        unpriced_tokens=got.data.unpriced_tokens,
        history=got.data.history,
        by_status=got.data.by_status,
        queue=review_queue.queue_for(engine=deps.engine, slack_user_id=event["user"], period=got.data.period),
    )
    client.views_publish(user_id=event["user"], view=view)


def register(app: App) -> None:
    # Acknowledged at once; the view is built and published afterwards.
    app.event("app_home_opened")(ack=ack_now, lazy=[reported(handle_home_opened)])
