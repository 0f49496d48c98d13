"""Events other than messages: App Home."""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.boards import answers
from bot.boards.home import home_chart_file, refused_home_chart
from bot.checkins import review_queue
from bot.people.directory import person_for_user
from bot.slack import blocks as bk
from handlers.errors import ack_now, reported

log = logging.getLogger(__name__)

FRESH_CHART_WAITS = (0.5, 1.0, 2.0)  # seconds between publishing tries while a new chart file is processed


def upload_chart(client: WebClient, png: bytes, *, period: str, alt_text: str) -> str:
    """Upload an App Home chart as a private file of the bot (shared in no channel); its file id."""
    resp = client.files_upload_v2(
        file=png,
        filename=f"artifact-trend-{period}.png",
        title="Artifacts per $100, last six months",
        alt_txt=alt_text,
    )
    file_id = (resp.get("file") or {}).get("id")
    if not file_id:
        raise SlackApiError("files.completeUploadExternal answered no file", resp)
    return str(file_id)


def _chart_is_refused(exc: SlackApiError) -> bool:
    """True when Slack refused the view for its ``slack_file`` (a chart file deleted since it was uploaded)."""
    body = exc.response.data if isinstance(exc.response.data, dict) else {}
    messages = [*body.get("errors", []), *(body.get("response_metadata") or {}).get("messages", [])]
    return body.get("error") == "invalid_blocks" and any("slack_file" in str(m) for m in messages)


def handle_home_opened(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """Publish the person's App Home (after the ack)."""
    if event.get("tab") not in (None, "home"):
        return
    deps = context["deps"]
    person = person_for_user(deps.engine, deps.slack, event["user"])
    got = answers.home(engine=deps.engine, org=deps.org, person=person, now=deps.clock())
    history = got.data.history
    chart: str | None = None
    uploaded: list[str] = []  # the chart uploaded in this call, if one was

    def upload(png: bytes) -> str:
        uploaded.append(upload_chart(client, png, period=got.data.period, alt_text=bk.home_chart_alt_text(history)))
        return uploaded[-1]

    replaced: list[str] = []  # the chart file a new upload replaces: deleted once Home shows the new one
    try:
        chart = home_chart_file(
            engine=deps.engine,
            person_id=person.id or 0,
            history=history,
            upload=upload,
            now=deps.clock(),
            replaced=replaced,
        )
    except Exception:
        # The chart is the only optional part of Home: without it Home still shows every number.
        log.exception("App Home chart not uploaded; publishing Home without it")
    queue = review_queue.queue_for(engine=deps.engine, slack_user_id=event["user"], period=got.data.period)

    def view(chart_file_id: str | None) -> dict[str, Any]:
        return bk.home_view(**vars(got.data), suggestion=got.suggestion, queue=queue, chart_file_id=chart_file_id)

    # A file just uploaded is refused until Slack has processed it (a second or two): wait and try again.
    waits = list(FRESH_CHART_WAITS) if chart is not None and chart in uploaded else []
    published = False
    while not published:
        try:
            client.views_publish(user_id=event["user"], view=view(chart))
            published = True
        except SlackApiError as exc:
            if chart is None or not _chart_is_refused(exc):
                raise
            if not waits:
                break
            time.sleep(waits.pop(0))
    if not published:
        if chart in uploaded:  # still processing: the next opening shows it, with no new upload
            log.info("App Home chart file %s not ready yet; publishing Home without it this time", chart)
        else:
            log.warning("Slack refused the App Home chart file %s; publishing Home without it", chart)
            refused_home_chart(engine=deps.engine, person_id=person.id or 0, file_id=chart or "", now=deps.clock())
        client.views_publish(user_id=event["user"], view=view(None))
    for old in replaced:  # Home no longer shows it: the bot's private file goes
        try:
            client.files_delete(file=old)
        except SlackApiError as exc:
            log.info("old App Home chart file %s not deleted: %s", old, exc.response.get("error"))


def register(app: App) -> None:
    # Acknowledged at once; the view is built and published afterwards.
    app.event("app_home_opened")(ack=ack_now, lazy=[reported(handle_home_opened)])
