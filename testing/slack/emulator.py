"""``SlackEmulator``: every API family over one server (see the package docstring for a tour)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from testing.slack.auth import AuthAPI
from testing.slack.chat import ChatAPI
from testing.slack.conversations import ConversationsAPI
from testing.slack.files import FilesAPI
from testing.slack.views import ViewsAPI


class SlackEmulator(AuthAPI, ChatAPI, ConversationsAPI, ViewsAPI, FilesAPI):
    """A Slack Web API on 127.0.0.1 (``with SlackEmulator() as emu:``), recording every call.

    Args:
        users: user objects in Slack's shape (see ``make_user``) for users.* methods.
        team_id: the workspace id auth.test and payloads report.
        bot_user_id / bot_id / app_id: the app's identity.
        token: the only accepted token; by default any ``xoxb-``/``xoxp-`` token is accepted.
        strict: when True, chat.update/chat.delete of an unknown ts answer ``message_not_found``
            and views.update of an unknown view ``not_found`` (default: accepted and recorded).
        validate_blocks: check Block Kit limits (``invalid_blocks`` / ``invalid_arguments``).
        enterprise_id / workspaces: an Enterprise Grid organisation with an org-level token:
            ``workspaces`` maps team ids to names (auth.teams.list), users.list needs a ``team_id``
            and lists that workspace's members (``make_user(..., enterprise_id=, teams=)``), and
            every workspace has its own token buckets (``set_rate(..., team_id=)``).
        port: 0 picks a free port.
    """

    def __init__(self, *, users: Iterable[dict[str, Any]] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.set_users(users)
