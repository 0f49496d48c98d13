"""The emulator as an Enterprise Grid organisation with two workspaces and an org-level token,
driven through the real ``slack_sdk.WebClient``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from testing.slack_emulator import SlackEmulator, make_user

E, ONE, TWO = "E0GRID", "T0ONE", "T0TWO"


@pytest.fixture
def grid() -> Iterator[SlackEmulator]:
    users = [
        make_user("W0ALICE", "alice", email="alice@acme.com", team_id=ONE, enterprise_id=E),
        make_user("W0BOB", "bob", email="bob@acme.com", team_id=TWO, enterprise_id=E, teams=[ONE, TWO]),
        make_user("W0CAROL", "carol", email="carol@acme.com", team_id=TWO, enterprise_id=E),
    ]
    with SlackEmulator(users=users, enterprise_id=E, workspaces={ONE: "One", TWO: "Two"}) as emu:
        yield emu


def test_auth_test_answers_for_an_org_wide_install(grid: SlackEmulator) -> None:
    auth = grid.client().auth_test()
    assert auth["is_enterprise_install"] is True
    assert auth["enterprise_id"] == E and auth["team_id"] == E  # an org-level token reports the enterprise


def test_auth_teams_list_pages_through_the_workspaces(grid: SlackEmulator) -> None:
    client = grid.client()
    first = client.auth_teams_list(limit=1)
    assert [t["id"] for t in first["teams"]] == [ONE] and first["teams"][0]["name"] == "One"
    assert "image_default" in first["teams"][0]["icon"]
    cursor = first["response_metadata"]["next_cursor"]
    second = client.auth_teams_list(limit=1, cursor=cursor)
    assert [t["id"] for t in second["teams"]] == [TWO]
    assert second["response_metadata"]["next_cursor"] == ""


def test_users_list_needs_a_team_id_and_lists_that_workspace(grid: SlackEmulator) -> None:
    client = grid.client()
    with pytest.raises(SlackApiError) as err:
        client.users_list()
    assert err.value.response["error"] == "missing_argument"
    with pytest.raises(SlackApiError) as err:
        client.users_list(team_id="T0ELSE")
    assert err.value.response["error"] == "team_access_not_granted"
    one = [u["id"] for u in client.users_list(team_id=ONE)["members"]]
    two = [u["id"] for u in client.users_list(team_id=TWO, limit=1)["members"]]
    assert one == ["W0ALICE", "W0BOB"]  # bob's home is TWO; he is a member of ONE too
    assert two == ["W0BOB"]
    bob = client.users_info(user="W0BOB")["user"]
    assert bob["team_id"] == TWO and bob["enterprise_user"]["teams"] == [ONE, TWO]


def test_each_workspace_has_its_own_rate_limit(grid: SlackEmulator) -> None:
    grid.set_rate("chat.postMessage", per_second=1, burst=2, team_id=ONE)
    grid.set_rate("chat.postMessage", per_second=100, burst=100)  # every other workspace
    client = grid.client()
    client.retry_handlers = [h for h in client.retry_handlers if not isinstance(h, RateLimitErrorRetryHandler)]
    for _ in range(2):
        client.chat_postMessage(channel="W0ALICE", text="hi", team_id=ONE)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="W0ALICE", text="hi", team_id=ONE)
    assert err.value.response.status_code == 429 and int(err.value.response.headers["Retry-After"]) >= 1
    for _ in range(10):  # TWO's bucket is its own: ONE's storm does not touch it
        client.chat_postMessage(channel="W0CAROL", text="hi", team_id=TWO)
    client.chat_postMessage(channel="W0CAROL", text="hi")  # no team_id: the user's home workspace (TWO)
    assert grid.throttled_count("chat.postMessage", team_id=ONE) == 1
    assert grid.throttled_count("chat.postMessage", team_id=TWO) == 0
    assert {m["team"] for m in grid.dm_messages("W0CAROL")} == {TWO}
