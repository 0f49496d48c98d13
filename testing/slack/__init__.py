"""A Slack Web API emulator: a real HTTP server on 127.0.0.1 that answers the way Slack does.

Point the real ``slack_sdk.WebClient`` (or the app, through ``SLACK_API_URL``) at
``emu.base_url`` and every call goes over HTTP, is recorded, and is answered with
Slack's response shapes, errors, rate limits and Block Kit limits::

    with SlackEmulator(users=[make_user("U0ALICE", email="alice@example.com")]) as emu:
        client = emu.client()
        client.chat_postMessage(channel="U0ALICE", text="show me the artifact")
        assert emu.calls("chat.postMessage")[0].params["channel"] == "U0ALICE"
        assert emu.messages(channel=dm_channel_id("U0ALICE"))[0]["text"] == "show me the artifact"

Scripting failures::

    emu.fail("chat.postMessage", error="channel_not_found", when=lambda p: p["channel"] == "U0GONE")
    emu.rate_limit("chat.postMessage", retry_after=0, times=1)   # HTTP 429 + Retry-After
    emu.server_error("users.list", status=500, times=1)
    emu.set_rate("chat.postMessage", per_second=50, burst=50)    # token bucket -> 429s
    emu.down(); ...; emu.up()                                    # everything answers 503

An Enterprise Grid organisation with an org-wide install (org-level token, two workspaces)::

    with SlackEmulator(users=[...], enterprise_id="E0ACME", workspaces={"T0ONE": "One", "T0TWO": "Two"}) as emu:
        emu.set_rate("chat.postMessage", per_second=5, team_id="T0ONE")  # each workspace its own limit
        emu.throttled_count("chat.postMessage", team_id="T0ONE")

The emulator reads the real clock even while freezegun freezes time in the test
(token buckets would otherwise never refill): see ``_RealClock``.

Modules, one per API family: ``server`` (HTTP, call log, scripting, token buckets), ``records``,
``blockkit``, ``auth``, ``users``, ``chat``, ``conversations``, ``views``, ``files``; ``emulator`` joins them.

The tests' pytest fixtures ``slack_emulator``, ``slack_client`` and ``slack_env`` live in ``tests/conftest.py``.
"""

from __future__ import annotations

from testing.slack.blockkit import MAX_BLOCKS, block_problems, view_problems
from testing.slack.emulator import SlackEmulator
from testing.slack.records import (
    DEFAULT_TOKEN,
    JSON_PARAMS,
    RESPONSE_URL_MAX_USES,
    RESPONSE_URL_METHOD,
    UPLOAD_METHOD,
    Call,
    Handler,
    ResponseUrlPost,
    SlackError,
    Upload,
)
from testing.slack.server import parse_params
from testing.slack.users import dm_channel_id, make_user, make_users

__all__ = [
    "DEFAULT_TOKEN",
    "JSON_PARAMS",
    "MAX_BLOCKS",
    "RESPONSE_URL_MAX_USES",
    "RESPONSE_URL_METHOD",
    "UPLOAD_METHOD",
    "Call",
    "Handler",
    "ResponseUrlPost",
    "SlackEmulator",
    "SlackError",
    "Upload",
    "block_problems",
    "dm_channel_id",
    "make_user",
    "make_users",
    "parse_params",
    "view_problems",
]
