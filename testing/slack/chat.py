"""chat.postMessage, chat.postEphemeral, chat.update, chat.delete and the messages they leave."""

from __future__ import annotations

from typing import Any

from testing.slack.blockkit import block_problems
from testing.slack.records import SlackError
from testing.slack.users import UsersAPI, dm_channel_id


class ChatAPI(UsersAPI):
    """chat.postMessage, chat.postEphemeral, chat.update, chat.delete and the messages they leave."""

    API_METHODS = {
        "chat.postMessage": "_chat_post_message",
        "chat.postEphemeral": "_chat_post_ephemeral",
        "chat.update": "_chat_update",
        "chat.delete": "_chat_delete",
    }

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages posted and not deleted (chat.update applied), oldest first; each has ``channel``."""
        with self._lock:
            return [dict(m) for (ch, _), m in self._messages.items() if channel is None or ch == channel]

    def top_level(self, channel: str) -> list[dict[str, Any]]:
        """Messages of ``channel`` that are not replies in a thread."""
        return [m for m in self.messages(channel) if not m.get("thread_ts")]

    def replies(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Replies in the thread of the message ``ts`` of ``channel``, oldest first."""
        return [m for m in self.messages(channel) if m.get("thread_ts") == ts and m["ts"] != ts]

    def dm_messages(self, user_id: str) -> list[dict[str, Any]]:
        """Messages in the app's DM with ``user_id``."""
        return self.messages(channel=dm_channel_id(user_id))

    def _check_blocks(self, params: dict[str, Any], surface: str = "message") -> None:
        if "blocks" not in params or not self.validate_blocks:
            return
        problems = block_problems(params["blocks"], surface)
        if problems:
            raise SlackError("invalid_blocks", messages=problems)

    def _message(self, channel: str, ts: str, params: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_of(params),
            "text": params.get("text", ""),
            "ts": ts,
            "channel": channel,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if params.get(key) not in (None, ""):
                message[key] = params[key]
        return message

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel") or "")
        if not channel:
            raise SlackError("channel_not_found")
        if not any(params.get(k) for k in ("text", "blocks", "attachments")):
            raise SlackError("no_text")
        self._check_blocks(params)
        channel = self._resolve_channel(channel)
        ts = self._next_ts()
        message = self._message(channel, ts, params)
        with self._lock:
            self._messages[(channel, ts)] = message
        shown = {k: v for k, v in message.items() if k != "channel"}
        return {"channel": channel, "ts": ts, "message": shown}

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("channel"):
            raise SlackError("channel_not_found")
        if not params.get("user"):
            raise SlackError("user_not_found")
        if not any(params.get(k) for k in ("text", "blocks", "attachments")):
            raise SlackError("no_text")
        self._check_blocks(params)
        with self._lock:
            unknown = self._user(str(params["user"])) is None
        if self.strict and self._users and unknown:
            raise SlackError("user_not_found")
        return {"message_ts": self._next_ts()}

    def _existing_message(self, params: dict[str, Any]) -> tuple[str, str, dict[str, Any] | None]:
        channel = str(params.get("channel") or "")
        ts = str(params.get("ts") or "")
        if not channel:
            raise SlackError("channel_not_found")
        if not ts:
            raise SlackError("message_not_found")
        channel = dm_channel_id(channel) if channel[:1] in ("U", "W") else channel
        with self._lock:
            message = self._messages.get((channel, ts))
        if message is None and self.strict:
            raise SlackError("message_not_found")
        return channel, ts, message

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        self._check_blocks(params)
        channel, ts, message = self._existing_message(params)
        with self._lock:
            if message is None:
                message = self._message(channel, ts, params)
            else:
                for key in ("text", "blocks", "attachments", "metadata"):
                    if key in params:
                        message[key] = params[key]
                message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
            self._messages[(channel, ts)] = message
        shown = {k: v for k, v in message.items() if k != "channel"}
        return {"channel": channel, "ts": ts, "text": message.get("text", ""), "message": shown}

    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts, _ = self._existing_message(params)
        with self._lock:
            self._messages.pop((channel, ts), None)
        return {"channel": channel, "ts": ts}
