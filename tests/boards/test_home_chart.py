"""App Home's trend chart: the six months' data (gaps, not zeros), the drawing, its hash, and the file
uploaded once per data through the Slack emulator over HTTP (files_upload_v2), on a real database."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from bot.boards import charts
from bot.boards.charts import TrendMonth
from bot.boards.home import RETRY_REFUSED_CHART, chart_key, history_of, home_chart_file, refused_home_chart
from bot.config import OrgConfig
from bot.db import session_scope
from bot.models import HomeChartFile
from bot.slack import blocks as bk
from testing.slack import block_problems
from testing.slack_emulator import SlackEmulator
from tests import factories as f

NOW = f.NOW  # 2026-10-30 20:00 UTC
ORG = OrgConfig(timezone="UTC")
HISTORY = [
    TrendMonth("2026-05", 2.5, 1.0, 40.0),
    TrendMonth("2026-06", None, None, None),
    TrendMonth("2026-07", 0.0, 0.0, 12.0),
    TrendMonth("2026-08", 5.0, 1.5, 30.0),
    TrendMonth("2026-09", 5.0, 0.5, 5.0),
    TrendMonth("2026-10", 3.33, 2.0, 60.0),
]


def test_months_are_named_with_the_year_where_it_changes():
    assert charts.month_labels(["2026-08", "2026-09", "2026-10", "2026-11", "2026-12", "2027-01"]) == [
        "Aug 2026",
        "Sep",
        "Oct",
        "Nov",
        "Dec",
        "Jan 2027",
    ]
    assert charts.month_labels(["2026-05", "2026-06"]) == ["May 2026", "Jun"]


def test_the_chart_draws_a_gap_for_a_month_without_data_and_writes_artifacts_and_spend():
    fig = charts._trend_figure(HISTORY)
    (ax,) = fig.axes
    (line,) = ax.lines
    y = list(line.get_ydata())
    assert math.isnan(y[1])  # June: no data, a gap in the line, not a fall to zero
    assert y[0] == 2.5 and y[2] == 0.0 and y[5] == 3.33  # July really was zero: drawn as zero
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == "May 2026\n1 artifact\n$40.00"
    assert labels[1] == "Jun\nno data"
    assert labels[3] == "Aug\n1.5 artifacts\n$30.00"
    assert [t.get_text() for t in ax.texts] == ["2.50", "0.00", "5.00", "5.00", "3.33"]  # each point's value
    png = charts.trend_chart(HISTORY)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_the_key_is_the_data_as_drawn(monkeypatch: pytest.MonkeyPatch):
    key = chart_key(HISTORY)
    assert key is not None and len(key) == 64  # fits home_chart_file.data_hash
    assert chart_key(HISTORY) == chart_key(
        [*HISTORY[:5], TrendMonth("2026-10", 3.3300001, 2.0, 60.0)]
    )  # same when drawn
    assert chart_key(HISTORY) != chart_key([*HISTORY[:5], TrendMonth("2026-10", 3.5, 2.5, 60.0)])
    assert chart_key(HISTORY) != chart_key(
        [*HISTORY[:1], TrendMonth("2026-06", 0.0, 0.0, 0.0), *HISTORY[2:]]
    )  # gap != zero
    assert chart_key([TrendMonth(p, None, None, None) for p, *_ in HISTORY]) is None  # no history: no chart at all
    monkeypatch.setattr("bot.boards.home.TREND_CHART_VERSION", charts.TREND_CHART_VERSION + 1)
    assert chart_key(HISTORY) != key  # a new drawing: every chart is drawn and uploaded afresh


def test_history_has_a_gap_where_a_month_has_no_data(engine: Engine):
    pid = f.person(engine, "U1", name="Ann")
    f.spend(engine, "U1", 40.0, day=dt.date(2026, 8, 3))
    f.artifact(engine, "U1", "https://x.example/a", status="kept", period="2026-08")
    f.spend(engine, "U1", 20.0, day=dt.date(2026, 10, 3))
    with session_scope(engine) as s:
        months = history_of(s, pid, "2026-10", ORG)
    assert months == [
        TrendMonth("2026-05", None, None, None),
        TrendMonth("2026-06", None, None, None),
        TrendMonth("2026-07", None, None, None),
        TrendMonth("2026-08", 2.5, 1.0, 40.0),
        TrendMonth("2026-09", None, None, None),
        TrendMonth("2026-10", 0.0, 0.0, 20.0),  # spend without an artifact: a real zero, not a gap
    ]
    with session_scope(engine) as s:
        nobody = f.person(engine, "U2", name="Bo")
        assert chart_key(history_of(s, nobody, "2026-10", ORG)) is None


def _uploader(client: WebClient):
    def upload(png: bytes) -> str:
        resp = client.files_upload_v2(file=png, filename="trend.png", alt_txt="trend")
        return str(resp["file"]["id"])

    return upload


def test_the_chart_is_uploaded_once_per_data(engine: Engine, slack_emulator: SlackEmulator, slack_client: WebClient):
    pid = f.person(engine, "U1", name="Ann")
    upload = _uploader(slack_client)
    first = home_chart_file(engine=engine, person_id=pid, history=HISTORY, upload=upload, now=NOW)
    assert first is not None
    (done,) = slack_emulator.completed_uploads()
    assert done.file_id == first and done.data is not None and done.data[:4] == b"\x89PNG"
    assert done.channel_id is None and done.channels == []  # a private file of the bot, shared nowhere

    again = home_chart_file(engine=engine, person_id=pid, history=HISTORY, upload=upload, now=NOW)
    assert again == first
    assert slack_emulator.call_count("files.getUploadURLExternal") == 1  # same data: no upload

    changed = [*HISTORY[:5], TrendMonth("2026-10", 3.5, 2.5, 60.0)]
    second = home_chart_file(engine=engine, person_id=pid, history=changed, upload=upload, now=NOW)
    assert second not in (None, first)
    assert slack_emulator.call_count("files.completeUploadExternal") == 2
    with session_scope(engine) as s:
        row = s.get(HomeChartFile, pid)
        assert row is not None and (row.file_id, row.data_hash) == (second, chart_key(changed))

    none = [TrendMonth(p, None, None, None) for p, *_ in HISTORY]
    assert home_chart_file(engine=engine, person_id=pid, history=none, upload=upload, now=NOW) is None
    assert slack_emulator.call_count("files.getUploadURLExternal") == 2  # no history: nothing drawn or sent


def test_a_failed_upload_stores_nothing(engine: Engine, slack_emulator: SlackEmulator, slack_client: WebClient):
    pid = f.person(engine, "U1", name="Ann")
    slack_emulator.fail("files.completeUploadExternal", error="internal_error", times=1)
    with pytest.raises(SlackApiError):
        home_chart_file(engine=engine, person_id=pid, history=HISTORY, upload=_uploader(slack_client), now=NOW)
    with session_scope(engine) as s:
        assert s.get(HomeChartFile, pid) is None
    file_id = home_chart_file(engine=engine, person_id=pid, history=HISTORY, upload=_uploader(slack_client), now=NOW)
    assert file_id == slack_emulator.completed_uploads()[-1].file_id  # the next opening uploads it


def test_a_refused_chart_is_left_out_until_the_data_changes_or_hours_pass(
    engine: Engine, slack_emulator: SlackEmulator, slack_client: WebClient
):
    pid = f.person(engine, "U1", name="Ann")
    upload = _uploader(slack_client)
    first = home_chart_file(engine=engine, person_id=pid, history=HISTORY, upload=upload, now=NOW)
    assert first is not None
    refused_home_chart(engine=engine, person_id=pid, file_id="F0OTHER", now=NOW)  # not the stored file: kept
    assert home_chart_file(engine=engine, person_id=pid, history=HISTORY, upload=upload, now=NOW) == first

    refused_home_chart(engine=engine, person_id=pid, file_id=first, now=NOW)
    soon = NOW + RETRY_REFUSED_CHART - dt.timedelta(minutes=1)
    assert home_chart_file(engine=engine, person_id=pid, history=HISTORY, upload=upload, now=soon) is None
    assert slack_emulator.call_count("files.getUploadURLExternal") == 1  # a lasting refusal costs no uploads

    later = NOW + RETRY_REFUSED_CHART
    second = home_chart_file(engine=engine, person_id=pid, history=HISTORY, upload=upload, now=later)
    assert second not in (None, first)
    refused_home_chart(engine=engine, person_id=pid, file_id=second, now=later)
    changed = [*HISTORY[:5], TrendMonth("2026-10", 3.5, 2.5, 60.0)]
    third = home_chart_file(engine=engine, person_id=pid, history=changed, upload=upload, now=later)
    assert third not in (None, first, second)  # new data: drawn and uploaded at once
    assert slack_emulator.call_count("files.completeUploadExternal") == 3


def test_home_shows_the_chart_in_an_image_block_described_in_words():
    def home(chart_file_id: str | None) -> dict[str, Any]:
        return bk.home_view(
            name="Ann",
            period="2026-10",
            spend_usd=60.0,
            tokens=1000,
            artifacts=[],
            team_lines=[],
            history=HISTORY,
            chart_file_id=chart_file_id,
        )

    view = home("F0CHART")
    images = [b for b in view["blocks"] if b["type"] == "image"]
    assert len(images) == 1 and images[0]["slack_file"] == {"id": "F0CHART"}
    alt = images[0]["alt_text"]
    assert "May 2026: 2.50 artifacts per $100 (1 artifact, $40.00 spent)" in alt
    assert "June 2026: no data" in alt
    assert "October 2026: 3.33 artifacts per $100 (2 artifacts, $60.00 spent)" in alt
    assert block_problems(view["blocks"], "home") == []
    text = "\n".join(b["text"]["text"] for b in view["blocks"] if b["type"] == "section")
    assert "June 2026: no data" in text and "July 2026: *0.00* artifacts/$100 — 0 artifacts, $0.00" not in text
    assert "July 2026: *0.00* artifacts/$100 — 0 artifacts, $12.00" in text

    without = home(None)
    assert not [b for b in without["blocks"] if b["type"] == "image"]


def test_the_emulator_shows_only_image_files_it_holds(slack_emulator: SlackEmulator, slack_client: WebClient):
    png = charts.trend_chart(HISTORY)
    file = slack_client.files_upload_v2(file=png, filename="trend.png", alt_txt="trend")["file"]
    csv = slack_client.files_upload_v2(content="a,b\n", filename="x.csv")["file"]

    def publish(slack_file: dict[str, str]) -> None:
        image = {"type": "image", "slack_file": slack_file, "alt_text": "trend"}
        slack_client.views_publish(user_id="U1", view={"type": "home", "blocks": [image]})

    publish({"id": file["id"]})
    publish({"url": file["url_private"]})
    publish({"url": file["permalink"]})
    for bad in ({"id": "F0NOSUCH"}, {"id": csv["id"]}, {"url": "https://files.slack.com/files-pri/T1-F2/x.png"}):
        with pytest.raises(SlackApiError) as caught:
            publish(bad)
        assert caught.value.response["error"] == "invalid_blocks"
        assert caught.value.response["errors"] == ["invalid slack file [json-pointer:/blocks/0/slack_file]"]
    with pytest.raises(SlackApiError) as both:
        publish({"id": file["id"], "url": file["url_private"]})
    assert both.value.response["error"] == "invalid_arguments"  # id or url, never both
    slack_client.files_delete(file=file["id"])
    with pytest.raises(SlackApiError) as deleted:
        publish({"id": file["id"]})
    assert deleted.value.response["error"] == "invalid_blocks"


def test_an_unfinished_upload_is_no_file_to_show(slack_emulator: SlackEmulator, slack_client: WebClient):
    started = slack_client.files_getUploadURLExternal(filename="trend.png", length=10)
    image = {"type": "image", "slack_file": {"id": started["file_id"]}, "alt_text": "trend"}
    with pytest.raises(SlackApiError) as caught:
        slack_client.views_publish(user_id="U1", view={"type": "home", "blocks": [image]})
    assert caught.value.response["error"] == "invalid_blocks"
    assert not slack_emulator.uploads[0].completed
