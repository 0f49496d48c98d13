"""The sender: one queued message becomes one Slack Web API call (chat.postMessage or a file upload).

The outbox dispatcher calls ``send(channel, text, blocks)`` (with ``team_id=`` when the row
belongs to a workspace of an org-wide install, ``thread_ts=`` when it replies in a thread) and
``upload(channel, file)`` (likewise); both answer
``(slack_channel, ts_or_file_id)`` and raise ``SlackApiError`` when Slack refuses, or
:class:`PermanentSendError` when the row itself can never be sent.

An org-level token acts in many workspaces, so Slack needs ``team_id`` to know which one a
call is for; a workspace token ignores it. A DM goes to the user id as ``channel`` (Slack
opens the app's DM with them), in the person's home workspace.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

Send = Callable[..., tuple[str | None, str | None]]  # (channel, text, blocks, *, team_id=None, thread_ts=None)
Upload = Callable[..., tuple[str | None, str | None]]  # (channel, file, *, team_id=None, thread_ts=None)


class PermanentSendError(Exception):
    """The row can never be sent as it is (no uploader, an unreadable file): recorded as failed."""


def without_rate_limit_retries(client: Any) -> Any:
    """A copy of a ``WebClient`` without its 429 retry handler (other clients are returned as they are).

    A 429 must reach the dispatcher so that it pauses every sender of the workspace, instead of one
    thread sleeping while the others keep hitting the limit.
    """
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    if not isinstance(client, WebClient):
        return client
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        retry_handlers=[h for h in client.retry_handlers if not isinstance(h, RateLimitErrorRetryHandler)],
    )


def slack_sender(client: Any) -> tuple[Send, Upload]:
    """``send`` and ``upload`` functions over a ``WebClient`` for the outbox dispatcher."""
    c = without_rate_limit_retries(client)

    def send(
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        *,
        team_id: str | None = None,
        thread_ts: str | None = None,
    ) -> tuple[str | None, str | None]:
        extra = {"team_id": team_id} if team_id else {}
        if thread_ts:
            extra["thread_ts"] = thread_ts
        resp = c.chat_postMessage(
            channel=channel, text=text, blocks=blocks or None, unfurl_links=False, unfurl_media=False, **extra
        )
        return resp.get("channel"), resp.get("ts")

    def upload(
        channel: str, file: dict[str, Any], *, team_id: str | None = None, thread_ts: str | None = None
    ) -> tuple[str | None, str | None]:
        try:
            content = base64.b64decode(file["content"])
        except (KeyError, ValueError) as exc:
            raise PermanentSendError("invalid_file") from exc
        resp = c.files_upload_v2(
            channel=channel,
            file=content,
            filename=file.get("filename") or "file.bin",
            title=file.get("title") or None,
            alt_txt=file.get("alt_txt") or None,
            initial_comment=file.get("comment") or None,
            request_file_info=False,
            **({"thread_ts": thread_ts} if thread_ts else {}),
            **({"team_id": team_id} if team_id else {}),  # files.completeUploadExternal's workspace
        )
        found = resp.get("file") or (resp.get("files") or [{}])[0]
        return channel, (found or {}).get("id")

    return send, upload
