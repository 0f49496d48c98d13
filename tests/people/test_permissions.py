"""Every command and action × every role: who may see and change what."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import NamedTuple

import pytest
from sqlalchemy import select

from bot.db import make_engine, session_scope
from bot.models import Artifact
from testing.signing import block_actions_payload, command_body, interaction_body
from tests.handlers.conftest import Bot, synced_bot
from tests.handlers.helpers import import_usage, open_home

# Alice and Bob are members of Growth (managed by Carol); Dave manages Infra; U0ADMIN is an admin;
# Erin is a member of Infra. Growth has 2 members: min_team_size is 2 in this org, so it is shown.
# The whole matrix in one place: who each role is, whether the Growth report opens for them,
# what pressing Keep on Alice's artifact answers them, and whether they may edit or remove it.


class Role(NamedTuple):
    user: str
    reads_report: bool
    keep_answer: str
    edits: bool


ROLES = {
    "member": Role("U0ALICE", reads_report=False, keep_answer="own artifact", edits=True),
    "teammate": Role("U0BOB", reads_report=False, keep_answer="Only a manager", edits=False),
    "manager": Role("U0CAROL", reads_report=True, keep_answer="Kept", edits=False),
    "other_manager": Role("U0DAVE", reads_report=False, keep_answer="Only a manager", edits=False),
    "admin": Role("U0ADMIN", reads_report=True, keep_answer="Kept", edits=False),
    "other_member": Role("U0ERIN", reads_report=False, keep_answer="Only a manager", edits=False),
}


@pytest.fixture(scope="module")
def org(sqlite_template, tmp_path_factory) -> Iterator[tuple[Bot, int]]:
    tmp = tmp_path_factory.mktemp("perm")
    with synced_bot(sqlite_template, tmp) as bot:
        import_usage(bot, "2026-11-02,alice@example.com,openai,gpt-4o-mini,10,1,12.34")
        bot.post(
            command_body(
                "/artifact", "https://github.com/acme/perm Perm agent", "U0ALICE", response_url=bot.emu.response_url()
            )
        )
        engine = make_engine(f"sqlite:///{tmp / 'p.db'}")
        art_id = bot.wait_for(lambda: _first_artifact(engine))
        yield bot, art_id
        engine.dispose()


def _first_artifact(engine) -> int | None:
    with session_scope(engine) as s:
        return s.scalars(select(Artifact.id)).first()


@pytest.mark.parametrize("role", ROLES)
def test_artifact_report_per_role(org, role):
    bot, _ = org
    said = bot.answer_text(lambda url: command_body("/artifact-report", "Growth", ROLES[role].user, response_url=url))
    if ROLES[role].reads_report:
        assert "Artifact report: Growth" in said and "12.34" in said  # members' spend is visible
    else:
        assert "Only managers and admins" in said and "12.34" not in said


@pytest.mark.parametrize("role", ROLES)
def test_leaderboard_per_role_shows_teams_only(org, role):
    bot, _ = org
    said = bot.answer_text(lambda url: command_body("/leaderboard", "", ROLES[role].user, response_url=url))
    assert "Growth" in said and "Alice" not in said  # teams, never a person's spend


@pytest.mark.parametrize("role", ROLES)
def test_artifact_command_per_role(org, role):
    bot, _ = org
    said = bot.answer_text(
        lambda url: command_body(
            "/artifact", f"https://roles.example.com/{role} Thing", ROLES[role].user, response_url=url
        )
    )
    assert "Recorded 1 artifact" in said  # anyone may log their own work


@pytest.mark.parametrize("role", ROLES)
def test_keep_per_role(org, role):
    bot, art_id = org

    def body(url: str) -> bytes:
        p = block_actions_payload(ROLES[role].user, "review_artifact", action_type="overflow", response_url=url)
        p["actions"][0]["selected_option"] = {
            "text": {"type": "plain_text", "text": "Keep"},
            "value": f"keep_artifact:{art_id}",
        }
        return interaction_body(p)

    assert ROLES[role].keep_answer in bot.answer_text(body)


@pytest.mark.parametrize("role", ROLES)
def test_edit_and_remove_only_by_the_owner(org, role):
    bot, art_id = org
    before = len(bot.emu.calls("views.open"))
    url = bot.emu.response_url()
    assert (
        bot.post(
            interaction_body(block_actions_payload(ROLES[role].user, "edit_artifact", str(art_id), response_url=url))
        ).status
        == 200
    )
    if ROLES[role].edits:
        bot.wait_for(lambda: len(bot.emu.calls("views.open")) > before)
    else:
        posts = bot.wait_for(lambda: bot.emu.responses_to(url), timeout=10)
        assert "Only the person who logged" in json.dumps(posts[-1].body)
        said = bot.answer_text(
            lambda u: interaction_body(
                block_actions_payload(ROLES[role].user, "remove_artifact", str(art_id), response_url=u)
            )
        )
        assert "Only the person who logged" in said


@pytest.mark.parametrize("role", ROLES)
def test_app_home_shows_only_ones_own_spend(org, role):
    bot, _ = org
    user = ROLES[role].user
    view = json.dumps(open_home(bot, user))
    if role == "member":
        assert "$12.34" in view
    else:
        assert "$12.34" not in view
