"""The Slack Web API emulator (kept importable here: ``from testing.slack_emulator import SlackEmulator``).

It lives in :mod:`testing.slack`, one module per API family.
"""

from __future__ import annotations

from testing.slack import (
    DEFAULT_TOKEN,
    JSON_PARAMS,
    MAX_BLOCKS,
    RESPONSE_URL_MAX_USES,
    RESPONSE_URL_METHOD,
    UPLOAD_METHOD,
    Call,
    Handler,
    ResponseUrlPost,
    SlackEmulator,
    SlackError,
    Upload,
    block_problems,
    dm_channel_id,
    make_user,
    make_users,
    parse_params,
    view_problems,
)

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
