"""Build and sign the requests Slack sends to ``POST /slack/events``.

Three kinds of body, as Slack sends them:

* Events API: JSON ``event_callback`` envelopes (``event_body``), content type JSON;
* slash commands: form-encoded fields (``command_body``);
* interactivity (buttons, modals): form-encoded ``payload=<json>`` (``interaction_body``).

``signed_headers`` adds ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature``
(``v0=`` + HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the signing secret), which
is what Bolt's request verification and slack_sdk's ``SignatureVerifier`` check.
``post_signed`` sends such a request over real HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

JSON_CONTENT_TYPE = "application/json"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

_event_counter = itertools.count(1)


def _now() -> int:
    return int(time.time())


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def signature(body: bytes | str, secret: str, timestamp: int) -> str:
    """Slack's v0 request signature: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = b"v0:" + str(timestamp).encode() + b":" + _as_bytes(body)
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def signed_headers(body: bytes | str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` headers for ``body``.

    ``timestamp`` defaults to now (Bolt rejects timestamps more than 5 minutes away).
    """
    ts = _now() if timestamp is None else int(timestamp)
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": signature(body, secret, ts)}


def content_type_of(body: bytes | str) -> str:
    """The content type Slack uses for a body built here: JSON for events, form otherwise."""
    return JSON_CONTENT_TYPE if _as_bytes(body).lstrip().startswith(b"{") else FORM_CONTENT_TYPE


def new_event_id() -> str:
    return f"Ev{next(_event_counter):08d}{secrets.token_hex(2).upper()}"


def new_trigger_id() -> str:
    return f"{secrets.randbelow(10**13)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"


# --------------------------------------------------------------------------- Events API


def event_body(
    event: dict[str, Any],
    *,
    team_id: str = "T0TEST",
    event_id: str | None = None,
    api_app_id: str = "A0APP",
    bot_user_id: str = "U0BOT",
    event_time: int | None = None,
    enterprise_id: str | None = None,
    is_enterprise_install: bool = False,
) -> bytes:
    """A JSON ``event_callback`` envelope around ``event``, as the Events API sends it.

    With ``enterprise_id`` the event comes from a workspace of an Enterprise Grid org (and, with
    ``is_enterprise_install``, to an org-wide install: ``authorizations[0].is_enterprise_install``).
    Reuse the same ``event_id`` to simulate Slack's retries (and add the
    ``X-Slack-Retry-Num`` / ``X-Slack-Retry-Reason`` headers, see ``retry_headers``).
    """
    envelope = {
        "token": "unused-verification-token",
        "team_id": team_id,
        "context_team_id": team_id,
        "enterprise_id": enterprise_id,
        "context_enterprise_id": enterprise_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": _now() if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": enterprise_id,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": is_enterprise_install,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{secrets.token_urlsafe(16)}",
    }
    return json.dumps(envelope).encode("utf-8")


def retry_headers(retry_num: int = 1, reason: str = "http_timeout") -> dict[str, str]:
    """Headers Slack adds when it re-delivers an event it thinks was not acknowledged."""
    return {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": reason}


def url_verification_body(challenge: str = "challenge-token") -> bytes:
    """The ``url_verification`` request Slack sends when the Request URL is configured."""
    body = {"token": "unused-verification-token", "challenge": challenge, "type": "url_verification"}
    return json.dumps(body).encode("utf-8")


def message_event(
    user: str,
    text: str,
    *,
    channel: str | None = None,
    ts: str | None = None,
    team_id: str = "T0TEST",
    **extra: Any,
) -> dict[str, Any]:
    """A ``message`` event in the app's DM with ``user`` (what ``message.im`` delivers)."""
    ts = ts or f"{time.time():.6f}"
    event: dict[str, Any] = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "team": team_id,
        "channel": channel or "D" + user[1:],
        "channel_type": "im",
        "event_ts": ts,
        "client_msg_id": secrets.token_hex(16),
    }
    event.update(extra)
    return event


def app_home_opened_event(user: str, *, tab: str = "home", channel: str | None = None) -> dict[str, Any]:
    """An ``app_home_opened`` event for ``user`` opening the ``home`` (or ``messages``) tab."""
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": channel or "D" + user[1:],
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }


# --------------------------------------------------------------------------- slash commands


def command_body(
    command: str,
    text: str,
    user_id: str,
    *,
    team_id: str = "T0TEST",
    channel_id: str = "C0TEST",
    response_url: str | None = None,
    trigger_id: str | None = None,
    user_name: str | None = None,
    channel_name: str = "general",
    team_domain: str = "test",
    api_app_id: str = "A0APP",
    enterprise_id: str | None = None,
    is_enterprise_install: bool = False,
) -> bytes:
    """A slash-command request body, form-encoded like Slack's (``enterprise_id``: from a Grid workspace).

    Pass ``response_url=emu.response_url()`` so ``respond(...)`` reaches the emulator;
    the default points at a closed local port.
    """
    fields = {
        "token": "unused-verification-token",
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": "directmessage" if channel_id.startswith("D") else channel_name,
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command if command.startswith("/") else "/" + command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "true" if is_enterprise_install else "false",
        "response_url": response_url or "http://127.0.0.1:1/response/unset",
        "trigger_id": trigger_id or new_trigger_id(),
    }
    if enterprise_id is not None:
        fields["enterprise_id"] = enterprise_id
        fields["enterprise_name"] = enterprise_id
    return urlencode(fields).encode("utf-8")


# --------------------------------------------------------------------------- interactivity


def interaction_body(payload: dict[str, Any]) -> bytes:
    """An interactivity request body: form-encoded ``payload=<json>``."""
    return urlencode({"payload": json.dumps(payload)}).encode("utf-8")


def block_actions_payload(
    user_id: str,
    action_id: str,
    value: str | None = None,
    *,
    block_id: str = "actions",
    action_type: str = "button",
    team_id: str = "T0TEST",
    channel_id: str | None = None,
    message_ts: str | None = None,
    view: dict[str, Any] | None = None,
    response_url: str | None = None,
    trigger_id: str | None = None,
    api_app_id: str = "A0APP",
) -> dict[str, Any]:
    """A ``block_actions`` payload: ``user_id`` clicked ``action_id`` in a message (or a ``view``)."""
    action: dict[str, Any] = {
        "type": action_type,
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": f"{time.time():.6f}",
    }
    if value is not None:
        action["value"] = value
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": action_id, "emoji": True}
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
        "api_app_id": api_app_id,
        "token": "unused-verification-token",
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": "test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [action],
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id", "V0VIEW")}
        payload["view"] = view
    else:
        channel = channel_id or "D" + user_id[1:]
        ts = message_ts or f"{time.time():.6f}"
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": False,
        }
        payload["channel"] = {
            "id": channel,
            "name": "directmessage" if channel.startswith("D") else "general",
        }
        payload["message"] = {"type": "message", "ts": ts, "text": "", "user": "U0BOT", "bot_id": "B0BOT"}
        payload["response_url"] = response_url or "http://127.0.0.1:1/response/unset"
    return payload


def view_submission_payload(
    user_id: str,
    callback_id: str,
    values: dict[str, dict[str, dict[str, Any]]],
    *,
    private_metadata: str = "",
    view_id: str = "V0VIEW",
    team_id: str = "T0TEST",
    api_app_id: str = "A0APP",
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """A ``view_submission`` payload for a modal with ``callback_id``.

    ``values`` is Slack's ``state.values`` shape: ``{block_id: {action_id: {"type": ..., "value": ...}}}``.
    """
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "test"},
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
        "api_app_id": api_app_id,
        "token": "unused-verification-token",
        "trigger_id": trigger_id or new_trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": values},
            "hash": f"{_now()}.{secrets.token_hex(4)}",
            "title": {"type": "plain_text", "text": "Add artifact"},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": {"type": "plain_text", "text": "Save"},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": api_app_id,
            "external_id": "",
            "app_installed_team_id": team_id,
            "bot_id": "B0BOT",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


# --------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class HttpResult:
    """What the app answered to a signed request."""

    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float  # seconds

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def post_signed(
    url: str,
    body: bytes | str,
    secret: str,
    *,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> HttpResult:
    """POST ``body`` to ``url`` signed with ``secret``, as Slack would.

    HTTP error statuses are returned in the result, not raised.
    """
    data = _as_bytes(body)
    all_headers = {"Content-Type": content_type_of(data), **signed_headers(data, secret, timestamp)}
    all_headers.update(headers or {})
    request = urllib.request.Request(url, data=data, headers=all_headers, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
            return HttpResult(response.status, dict(response.headers.items()), payload, time.perf_counter() - started)
    except urllib.error.HTTPError as exc:
        payload = exc.read()
        return HttpResult(exc.code, dict(exc.headers.items()), payload, time.perf_counter() - started)
