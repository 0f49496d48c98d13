"""Every Slack surface through ``artifact-bot serve``, signed like Slack, against the emulator."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import zoneinfo

import pytest
import yaml

from bot import ids
from bot.periods import period_at
from testing.signing import (
    block_actions_payload,
    command_body,
    event_body,
    interaction_body,
    message_event,
    post_signed,
    retry_headers,
    view_submission_payload,
)
from tests.handlers.conftest import ORG, SECRET, Bot
from tests.handlers.helpers import import_usage, open_home


def current_period() -> str:
    """The period the bot files things under now: its clock (UTC) in the org's timezone.

    Read when a test starts, never at import: a session that crosses a month end must not compare
    this month's board with last month's name.
    """
    return period_at(dt.datetime.now(dt.UTC), zoneinfo.ZoneInfo(yaml.safe_load(ORG).get("timezone", "UTC")))


def command(bot: Bot, name: str, text: str, user: str) -> str:
    url = bot.emu.response_url()
    res = bot.post(command_body(name, text, user, response_url=url))
    assert res.status == 200, res.body
    return url


def response(bot: Bot, url: str) -> dict:
    posts = bot.wait_for(lambda: bot.emu.responses_to(url), timeout=15)
    return posts[-1].body


def dm_texts(bot: Bot, user: str) -> list[str]:
    return [m.get("text", "") for m in bot.emu.dm_messages(user)]


def setup_org(bot: Bot) -> None:
    res = bot.cli("people", "sync")
    assert res.returncode == 0, res.stderr
    # Team members from the config exist as placeholders already; sync links them to Slack users.
    new, updated = (int(x) for x in re.findall(r"(\d+) new, (\d+) updated", res.stdout)[0])
    assert new + updated == 6 and "2 skipped" in res.stdout


def test_month_end_flow_end_to_end(bot: Bot):
    PERIOD = current_period()
    setup_org(bot)
    import_usage(
        bot,
        f"{PERIOD}-01,alice@example.com,openai,gpt-4o-mini,1000,100,20",
        f"{PERIOD}-01,bob@example.com,openai,gpt-4o-mini,1000,100,20",
    )

    # Check-in: one DM per active person, with the words, spend and buttons; twice sends nothing new.
    res = bot.cli("jobs", "run", "checkin", "--period", PERIOD)
    assert res.returncode == 0, res.stderr + res.stdout
    alice_dm = bot.emu.dm_messages("U0ALICE")
    assert len(alice_dm) == 1 and "show me the artifact" in alice_dm[0]["text"]
    assert "$20.00" in alice_dm[0]["text"]
    actions = next(b for b in alice_dm[0]["blocks"] if b["type"] == "actions")
    assert {e["action_id"] for e in actions["elements"]} == {
        ids.ACTION_ADD_ARTIFACT,
        ids.ACTION_NOTHING,
        ids.ACTION_SNOOZE,
        ids.ACTION_AWAY,
    }
    posted = bot.emu.call_count("chat.postMessage")
    assert posted == 6  # six humans: no bots, no deleted users
    assert bot.cli("jobs", "run", "checkin", "--period", PERIOD).returncode == 0
    assert bot.emu.call_count("chat.postMessage") == posted

    # Alice replies with two links; Slack retries the event: still two artifacts.
    text = (
        "Shipped <https://github.com/acme/churn/pull/7|churn agent> and the dashboard https://looker.example.com/d/42"
    )
    body = event_body(message_event("U0ALICE", text, ts="1700000001.000100"))
    assert bot.post(body).status == 200
    bot.wait_for(lambda: any("Recorded 2 artifacts" in t for t in dm_texts(bot, "U0ALICE")))
    assert bot.post(body, **retry_headers(1)).status == 200
    replay = event_body(message_event("U0ALICE", text, ts="1700000001.000100"))  # new event_id, same message
    assert bot.post(replay).status == 200
    time.sleep(1.0)
    assert sum("Recorded" in t for t in dm_texts(bot, "U0ALICE")) == 1
    ack = next(m for m in bot.emu.dm_messages("U0ALICE") if "Recorded" in m.get("text", ""))
    buttons = [e for b in ack["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {b["action_id"] for b in buttons} == {ids.ACTION_EDIT, ids.ACTION_REMOVE}

    # Bob replies without a link: kept as a note, asked for a link. Bot messages are ignored.
    assert bot.post(event_body(message_event("U0BOB", "I mostly explored prompts"))).status == 200
    bot.wait_for(lambda: any("needs a link" in t for t in dm_texts(bot, "U0BOB")))
    assert (
        bot.post(event_body(message_event("U0BOB", "https://x.example/bot", bot_id="B1", subtype="bot_message"))).status
        == 200
    )

    board = bot.leaderboard(PERIOD)
    assert board["Growth"]["artifacts"] == pytest.approx(1.0)  # two submitted artifacts, half each

    # A non-manager's /artifact-report: a refusal that reveals nothing.
    url = command(bot, "/artifact-report", "Growth", "U0ALICE")
    refusal = response(bot, url)
    assert refusal["response_type"] == "ephemeral" and "Only managers and admins" in refusal["text"]
    url = command(bot, "/artifact-report", "Infra", "U0CAROL")  # a manager, of another team
    assert "Only managers and admins" in response(bot, url)["text"]

    # The manager's report: score, links, Keep and Kill buttons.
    url = command(bot, "/artifact-report", f"Growth {PERIOD}", "U0CAROL")
    report = response(bot, url)
    dump = json.dumps(report["blocks"])
    assert "github.com/acme/churn/pull/7" in dump and "looker.example.com" in dump
    assert "Bob Jones" in dump
    buttons = [
        [e["value"] for e in b["elements"]] for b in report["blocks"] if b.get("block_id", "").startswith("review_")
    ]
    assert len(buttons) == 2
    keep_value = buttons[0][0]
    kill_value = buttons[1][1]

    def click(user: str, value: str) -> dict:
        url = bot.emu.response_url()
        action_id = value.split(":")[0]  # keep_artifact or kill_artifact: the button's own id
        payload = block_actions_payload(user, action_id, value, response_url=url)
        assert bot.post(interaction_body(payload)).status == 200
        return response(bot, url)

    assert "Kept" in click("U0CAROL", keep_value)["text"]
    assert bot.leaderboard(PERIOD)["Growth"]["artifacts"] == pytest.approx(1.5)
    # Kill opens a modal for an optional reason; submitting it kills, and the manager is told in their DM.
    payload = block_actions_payload("U0CAROL", ids.ACTION_KILL, kill_value, response_url=bot.emu.response_url())
    assert bot.post(interaction_body(payload)).status == 200
    kill_view = bot.wait_for(lambda: bot.emu.calls("views.open"))[-1].params["view"]
    assert kill_view["callback_id"] == ids.VIEW_KILL_ARTIFACT
    no_reason = {ids.BLOCK_REASON: {ids.INPUT: {"type": "plain_text_input", "value": None}}}
    submitted = view_submission_payload(
        "U0CAROL", ids.VIEW_KILL_ARTIFACT, no_reason, private_metadata=kill_view["private_metadata"]
    )
    assert bot.post(interaction_body(submitted)).status == 200
    bot.wait_for(lambda: any(m["text"].startswith("Killed") for m in bot.emu.dm_messages("U0CAROL")))
    assert bot.leaderboard(PERIOD)["Growth"]["artifacts"] == pytest.approx(1.0)
    # Alice cannot review her own work, nor can a manager of another team.
    assert "own artifact" in click("U0ALICE", keep_value.replace("keep", "kill"))["text"]
    assert "Only a manager" in click("U0DAVE", kill_value.replace("kill", "keep"))["text"]
    assert bot.leaderboard(PERIOD)["Growth"]["artifacts"] == pytest.approx(1.0)

    # CSV export for the manager goes through files_upload_v2.
    url = command(bot, "/artifact-report", f"Growth {PERIOD} csv", "U0CAROL")
    assert "DM" in response(bot, url)["text"]
    upload = bot.wait_for(lambda: bot.emu.completed_uploads())[-1]
    assert upload.data is not None and b"churn" in upload.data and upload.filename.endswith(".csv")


def test_bad_signature_and_stale_timestamp_are_refused(bot: Bot):
    PERIOD = current_period()
    body = event_body(message_event("U0ALICE", "https://github.com/acme/x"))
    res = post_signed(f"{bot.url}/slack/events", body, "wrong-secret")
    assert res.status == 401
    res = post_signed(f"{bot.url}/slack/events", body, SECRET, timestamp=int(time.time()) - 3600)
    assert res.status == 401
    time.sleep(0.5)
    assert bot.emu.call_count("chat.postMessage") == 0
    assert all(r["artifact_count"] == 0 for r in bot.leaderboard(PERIOD, by="person").values())


def test_artifact_command_and_modal(bot: Bot):
    PERIOD = current_period()
    setup_org(bot)
    url = command(bot, "/artifact", "https://github.com/acme/app/pull/42 Checkout agent", "U0ALICE")
    ans = response(bot, url)
    assert "Recorded 1 artifact" in ans["text"]
    url = command(bot, "/artifact", "javascript:alert(1) evil", "U0ALICE")
    assert "Nothing was saved" in response(bot, url)["text"]
    people = bot.leaderboard(PERIOD, by="person")
    assert people["Alice Smith"]["artifact_count"] == 1

    # No argument: the modal opens.
    command(bot, "/artifact", "", "U0BOB")
    view = bot.wait_for(lambda: bot.emu.calls("views.open"))[-1].params["view"]
    assert view["callback_id"] == ids.VIEW_ADD_ARTIFACT

    def submit(values: dict) -> dict:
        payload = view_submission_payload(
            "U0BOB", ids.VIEW_ADD_ARTIFACT, values, private_metadata=view["private_metadata"], view_id="V123"
        )
        res = bot.post(interaction_body(payload))
        assert res.status == 200
        return json.loads(res.body or b"{}") if res.body else {}

    def v(title: str, links: str, kind: str = "agent") -> dict:
        return {
            ids.BLOCK_TITLE: {ids.INPUT: {"type": "plain_text_input", "value": title}},
            ids.BLOCK_LINKS: {ids.INPUT: {"type": "plain_text_input", "value": links}},
            ids.BLOCK_KIND: {ids.INPUT: {"type": "static_select", "selected_option": {"value": kind}}},
            ids.BLOCK_DESCRIPTION: {ids.INPUT: {"type": "plain_text_input", "value": None}},
        }

    bad = submit(v("", "ftp://nope"))
    assert bad["response_action"] == "errors"
    assert set(bad["errors"]) == {ids.BLOCK_TITLE, ids.BLOCK_LINKS}
    assert bot.leaderboard(PERIOD, by="person")["Bob Jones"]["artifact_count"] == 0
    ok = submit(v("Brief agent", "https://github.com/acme/brief\nhttps://docs.example.com/brief"))
    assert ok.get("response_action") is None
    assert bot.leaderboard(PERIOD, by="person")["Bob Jones"]["artifact_count"] == 1
    bot.wait_for(lambda: any("Recorded 1 artifact" in t for t in dm_texts(bot, "U0BOB")))


def test_leaderboard_and_app_home(bot: Bot):
    setup_org(bot)
    url = command(bot, "/leaderboard", "", "U0ERIN")
    ans = response(bot, url)
    assert ans["response_type"] == "ephemeral"
    text = json.dumps(ans["blocks"])
    assert "Growth" in text and "Infra" in text and "alice" not in text.lower()
    url = command(bot, "/leaderboard", "2026-99", "U0ERIN")
    assert "not a month" in response(bot, url)["text"]

    dump = json.dumps(open_home(bot, "U0ALICE"))
    assert "Your artifacts" in dump and ids.ACTION_ADD_ARTIFACT in dump and "Growth" in dump


def test_healthz_and_unknown_paths(bot: Bot):
    import urllib.error
    import urllib.request

    with urllib.request.urlopen(f"{bot.url}/healthz") as r:
        assert r.status == 200 and json.loads(r.read())["status"] == "ok"
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(f"{bot.url}/nope")
    assert exc.value.code == 404
