"""Issue 16, App Home's trend chart through the real path: a signed app_home_opened to the running app,
files_upload_v2 and views.publish against the Slack emulator over HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.periods import collecting_period, month_name, previous
from tests.handlers.conftest import Bot, synced_bot
from tests.handlers.helpers import import_artifacts, open_home, seed_two_months


def _images(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in view["blocks"] if b["type"] == "image"]


def _periods() -> tuple[str, str]:
    period = collecting_period(dt.datetime.now(dt.UTC), "UTC", 7)
    return period, previous(period)


def test_the_chart_is_uploaded_once_per_data_and_shown_by_file_id(bot: Bot) -> None:
    period, last = _periods()
    assert bot.cli("people", "sync").returncode == 0
    seed_two_months(bot, period, last)

    home = open_home(bot, "U0ALICE")
    (image,) = _images(home)
    (upload,) = bot.emu.completed_uploads()
    assert image["slack_file"] == {"id": upload.file_id}
    assert upload.data is not None and upload.data[:8] == b"\x89PNG\r\n\x1a\n"
    (complete,) = bot.emu.calls("files.completeUploadExternal")
    assert not complete.params.get("channel_id") and not complete.params.get("channels")  # private to the bot
    assert f"{month_name(last)}: 2.50 artifacts per $100 (1 artifact, $40.00 spent)" in image["alt_text"]
    assert f"{month_name(period)}: 0.00 artifacts per $100 (0 artifacts, $20.00 spent)" in image["alt_text"]
    assert f"{month_name(previous(last))}: no data" in image["alt_text"]

    again = open_home(bot, "U0ALICE")
    assert _images(again) == [image]  # the same file, shown again
    assert bot.emu.call_count("files.getUploadURLExternal") == 1  # same data: nothing uploaded
    assert bot.emu.call_count("views.publish", ok=True) == 2

    import_artifacts(bot, f"{period},alice@example.com,https://github.com/acme/a/pull/2,New agent,kept")
    changed = open_home(bot, "U0ALICE")
    (new_image,) = _images(changed)
    assert bot.emu.call_count("files.getUploadURLExternal") == 2 and new_image["slack_file"] != image["slack_file"]
    assert f"{month_name(period)}: 5.00 artifacts per $100 (1 artifact, $20.00 spent)" in new_image["alt_text"]
    # The replaced chart is deleted once Home shows the new one: a person keeps one chart file in Slack.
    [deleted] = bot.wait_for(lambda: bot.emu.calls("files.delete"), timeout=15)
    assert deleted.params["file"] == upload.file_id
    assert [u.file_id for u in bot.emu.completed_uploads()] == [new_image["slack_file"]["id"]]

    nothing = open_home(bot, "U0BOB")  # no usage, no artifact in six months: no chart at all
    assert _images(nothing) == []
    assert "Last six months" in str(nothing)
    assert bot.emu.call_count("files.getUploadURLExternal") == 2


def test_a_failed_upload_still_publishes_home_and_the_next_opening_uploads(sqlite_template, tmp_path) -> None:
    period, last = _periods()
    with synced_bot(sqlite_template, tmp_path) as bot:
        seed_two_months(bot, period, last)
        bot.emu.fail("files.completeUploadExternal", error="internal_error")
        home = open_home(bot, "U0ALICE")
        assert _images(home) == []
        assert f"{month_name(last)}: *2.50* artifacts/$100" in str(home)  # every number, without the chart
        assert bot.emu.call_count("files.completeUploadExternal", ok=False) == 1
        assert bot.log_path is not None
        log = bot.wait_for(lambda: "App Home chart not uploaded" in bot.log_path.read_text() and bot.log_path)
        assert "internal_error" in log.read_text()

        bot.emu.clear_failures()
        home = open_home(bot, "U0ALICE")
        (image,) = _images(home)
        assert image["slack_file"] == {"id": bot.emu.completed_uploads()[0].file_id}


def test_a_chart_deleted_in_slack_is_left_out_until_the_data_changes(sqlite_template, tmp_path) -> None:
    period, last = _periods()
    with synced_bot(sqlite_template, tmp_path) as bot:
        seed_two_months(bot, period, last)
        (first,) = _images(open_home(bot, "U0ALICE"))
        bot.emu.client().files_delete(file=first["slack_file"]["id"])  # someone deletes the bot's file

        home = open_home(bot, "U0ALICE")
        assert _images(home) == [] and f"{month_name(last)}: *2.50* artifacts/$100" in str(home)
        refused, published = bot.emu.calls("views.publish")[-2:]
        assert (refused.error, published.ok) == ("invalid_blocks", True)
        assert _images(open_home(bot, "U0ALICE")) == []
        assert bot.emu.call_count("files.completeUploadExternal") == 1  # no upload on every opening

        import_artifacts(bot, f"{period},alice@example.com,https://github.com/acme/a/pull/2,New,kept")
        (second,) = _images(open_home(bot, "U0ALICE"))
        assert second["slack_file"]["id"] == bot.emu.completed_uploads()[-1].file_id != first["slack_file"]["id"]


def test_a_chart_slack_is_still_processing_is_shown_once_ready(sqlite_template, tmp_path) -> None:
    # Slack refuses a slack_file for a moment after the upload (its file object has no mimetype yet).
    # Before: that refusal was taken for a deleted file and Home went without the chart for six hours.
    period, last = _periods()
    with synced_bot(sqlite_template, tmp_path) as bot:
        seed_two_months(bot, period, last)
        bot.emu.file_processing_s = 1.2
        (image,) = _images(open_home(bot, "U0ALICE"))  # published once the file was ready
        assert bot.emu.call_count("views.publish", ok=False) >= 1  # refused while processing, then shown
        assert image["slack_file"] == {"id": bot.emu.completed_uploads()[0].file_id}

        bot.emu.file_processing_s = 30.0  # far slower than the app waits: Home goes out without the chart
        import_artifacts(bot, f"{period},alice@example.com,https://github.com/acme/a/pull/3,Agent,kept")
        assert _images(open_home(bot, "U0ALICE")) == []
        newest = bot.emu.completed_uploads()[-1]
        newest.ready_at = 0.0  # Slack has processed it since
        (shown,) = _images(open_home(bot, "U0ALICE"))  # the same file, not a new upload
        assert shown["slack_file"] == {"id": newest.file_id}
        assert bot.emu.call_count("files.getUploadURLExternal") == 2
