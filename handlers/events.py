"""Events other than messages: App Home."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from handlers import interactions
from handlers.errors import ack_now, reported


def handle_home_opened(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """Publish the person's App Home (after the ack)."""
    if event.get("tab") not in (None, "home"):
        return
    view = interactions.home_view(context["deps"], event["user"])
    client.views_publish(user_id=event["user"], view=view)


def register(app: App) -> None:
    # Acknowledged at once; the view is built and published afterwards.
    app.event("app_home_opened")(ack=ack_now, lazy=[reported(handle_home_opened)])
