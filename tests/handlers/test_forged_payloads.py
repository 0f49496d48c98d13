"""Signed but forged payloads change nothing: a far-off month, another user's view id, no workspace, another app."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from bot import ids
from testing.signing import (
    block_actions_payload,
    command_body,
    interaction_body,
    view_submission_payload,
)
from tests.handlers.conftest import Bot, running_bot
from tests.handlers.helpers import rows
from tests.handlers.test_scenarios import response, setup_org

pytestmark = pytest.mark.slow


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """These checks are about Slack payloads, not the database: SQLite only (one server start each)."""
    return f"sqlite:///{tmp_path / 'bot.db'}"


def test_nothing_this_month_for_a_forged_far_off_month_creates_nothing(bot: Bot, db_url: str) -> None:
    # Before: the button's value 2099-12 created a check-in for December 2099.
    setup_org(bot)
    url = bot.emu.response_url()
    payload = block_actions_payload("U0ALICE", ids.ACTION_NOTHING, "2099-12", response_url=url)
    assert bot.post(interaction_body(payload)).status == 200
    said = response(bot, url)["text"]
    assert "closed" in said and "Nothing was changed" in said
    assert rows(db_url, "SELECT period FROM checkin WHERE period = '2099-12'") == []


def _modal(user: str, link: str) -> bytes:
    values = {
        ids.BLOCK_TITLE: {ids.INPUT: {"type": "plain_text_input", "value": f"Agent of {user}"}},
        ids.BLOCK_LINKS: {ids.INPUT: {"type": "plain_text_input", "value": link}},
        ids.BLOCK_KIND: {ids.INPUT: {"type": "static_select", "selected_option": {"value": "agent"}}},
        ids.BLOCK_DESCRIPTION: {ids.INPUT: {"type": "plain_text_input", "value": ""}},
    }
    return interaction_body(view_submission_payload(user, ids.VIEW_ADD_ARTIFACT, values, view_id="V0SAME"))


def test_a_view_id_is_no_key_across_users(bot: Bot, db_url: str) -> None:
    # Before: the add modal's idempotency key was the view id alone, so Bob's submission with the same
    # view id as Alice's was answered with Alice's artifact and stored nothing.
    setup_org(bot)
    assert bot.post(_modal("U0ALICE", "https://github.com/acme/a/pull/1")).status == 200
    assert bot.post(_modal("U0BOB", "https://github.com/acme/b/pull/2")).status == 200
    bot.wait_for(lambda: len(rows(db_url, "SELECT id FROM artifact")) == 2, timeout=20)
    people = rows(
        db_url,
        "SELECT p.slack_user_id, a.primary_url FROM artifact a JOIN person p ON p.id = a.person_id "
        "ORDER BY p.slack_user_id",
    )
    assert people == [("U0ALICE", "https://github.com/acme/a/pull/1"), ("U0BOB", "https://github.com/acme/b/pull/2")]


def _slack_known(bot: Bot) -> bool:
    with urllib.request.urlopen(f"{bot.url}/healthz", timeout=5) as r:
        return bool(json.loads(r.read())["slack"] == "ok")


def test_a_request_that_names_no_workspace_is_refused(bot: Bot, db_url: str) -> None:
    # Before: the workspace guard let a request with no team id through.
    setup_org(bot)
    bot.wait_for(lambda: _slack_known(bot), timeout=20)  # the guard compares with what auth.test said
    url = bot.emu.response_url()
    body = command_body(ids.CMD_ARTIFACT, "https://github.com/acme/x/pull/3 X", "U0ALICE", team_id="", response_url=url)
    res = bot.post(body)
    assert res.status == 200 and b"another Slack workspace" in res.body
    assert rows(db_url, "SELECT id FROM artifact") == []


def test_another_apps_request_is_refused_when_the_app_id_is_configured(db_url: str, tmp_path: Path) -> None:
    # Before: api_app_id was never checked; a second app sharing the signing secret was served.
    with running_bot(db_url, tmp_path, extra_env={"SLACK_APP_ID": "A0APP"}) as bot:
        setup_org(bot)
        url = bot.emu.response_url()
        other = command_body(
            ids.CMD_ARTIFACT, "https://github.com/acme/y/pull/4 Y", "U0ALICE", api_app_id="A0OTHER", response_url=url
        )
        assert bot.post(other).status == 403
        mine = command_body(ids.CMD_ARTIFACT, "https://github.com/acme/y/pull/4 Y", "U0ALICE", response_url=url)
        assert bot.post(mine).status == 200
        bot.wait_for(lambda: len(rows(db_url, "SELECT id FROM artifact")) == 1, timeout=20)
