"""Turns a row of the hostile-input corpus into a signed Slack request and observes the outcome."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from testing.signing import (
    block_actions_payload,
    command_body,
    event_body,
    interaction_body,
    message_event,
    post_signed,
    view_submission_payload,
)
from tests.handlers.conftest import SECRET, Bot

TABLES = (
    "artifact",
    "artifact_link",
    "note",
    "usage_row",
    "checkin",
    "team",
    "team_member",
    "person",
    "processed_event",
)


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: int(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() or 0) for t in TABLES}


def expand(value: Any, ctx: dict[str, Any]) -> Any:
    """``{repeat: S, times: N}`` builds big strings; ``{artifact: NAME}`` is an id known at run time."""
    if isinstance(value, dict):
        if set(value) == {"repeat", "times"}:
            return str(value["repeat"]) * int(value["times"])
        if set(value) == {"join", "parts"}:
            return str(value["join"]).join(str(expand(p, ctx)) for p in value["parts"])
        if set(value) == {"artifact"}:
            return str(ctx["artifacts"][value["artifact"]])
        return {k: expand(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, ctx) for v in value]
    if isinstance(value, str):
        for name, art_id in ctx.get("artifacts", {}).items():
            value = value.replace("{" + name + "}", str(art_id))
    return value


@dataclass
class Outcome:
    status: int
    body: str
    said: list[str] = field(default_factory=list)  # what the person was told (response_url, DM)
    http: str = ""  # the HTTP answer's body (an ack text, modal field errors)


def send(bot: Bot, row: dict[str, Any], ctx: dict[str, Any]) -> Outcome:
    """Send the row's request the way Slack would and collect what the person sees."""
    req = expand(row["request"], ctx)
    kind = req["kind"]
    url = bot.emu.response_url()
    team = req.get("team_id", "T0TEST")
    user = req.get("user", "U0ALICE")
    dm_before = len(bot.emu.dm_messages(user))
    headers: dict[str, str] = {}
    if kind == "command":
        body: bytes = command_body(req["command"], req.get("text", ""), user, team_id=team, response_url=url)
    elif kind == "dm":
        extra = req.get("extra", {})
        event = message_event(user, req.get("text", ""), team_id=team, **extra)
        for key in req.get("drop", []):
            event.pop(key, None)
        body = event_body(event, team_id=team)
    elif kind == "event":
        body = event_body(req["event"], team_id=team)
    elif kind == "action":
        payload = block_actions_payload(
            user,
            req["action_id"],
            req.get("value"),
            team_id=team,
            response_url=url,
            action_type=req.get("action_type", "button"),
        )
        if "selected" in req:
            payload["actions"][0]["selected_option"] = {
                "text": {"type": "plain_text", "text": "x"},
                "value": req["selected"],
            }
        body = interaction_body(payload)
    elif kind == "view":
        values = {}
        for block, value in req.get("fields", {}).items():
            if block == "kind":
                values[block] = {"value": {"type": "static_select", "selected_option": {"value": value}}}
            else:
                values[block] = {"value": {"type": "plain_text_input", "value": value}}
        payload = view_submission_payload(
            user,
            req.get("callback_id", "add_artifact_view"),
            values,
            private_metadata=req.get("private_metadata", ""),
            team_id=team,
            view_id=req.get("view_id", f"V{time.time_ns()}"),
        )
        body = interaction_body(payload)
    elif kind == "raw":
        raw = req.get("body", "")
        body = raw.encode() if isinstance(raw, str) else json.dumps(raw).encode()
        headers["Content-Type"] = req.get("content_type", "application/x-www-form-urlencoded")
    else:  # pragma: no cover
        raise ValueError(kind)
    sign = req.get("sign", "good")
    target = f"{bot.url}{req.get('path', '/slack/events')}"
    if req.get("method", "POST") != "POST":
        try:
            with urllib.request.urlopen(urllib.request.Request(target, method=req["method"]), timeout=10) as r:
                return Outcome(r.status, r.read().decode())
        except urllib.error.HTTPError as exc:
            return Outcome(exc.code, exc.read().decode())
    if sign == "good":
        res = post_signed(target, body, SECRET, headers=headers or None)
    elif sign == "bad":
        res = post_signed(target, body, "not-the-secret", headers=headers or None)
    elif sign == "stale":
        res = post_signed(target, body, SECRET, timestamp=int(time.time()) - 3600, headers=headers or None)
    else:
        try:
            with urllib.request.urlopen(
                urllib.request.Request(target, data=body, method="POST", headers=headers), timeout=10
            ) as r:
                return Outcome(r.status, r.read().decode())
        except urllib.error.HTTPError as exc:
            return Outcome(exc.code, exc.read().decode())
    out = Outcome(res.status, res.body.decode("utf-8", "replace"))
    where = row["expect"].get("said_in")
    wait_for = where in ("response", "dm")
    deadline = time.monotonic() + (6.0 if wait_for else 0.5 if where == "none" else 0.0)
    while True:
        said = [p.body.get("text", "") if isinstance(p.body, dict) else str(p.body) for p in bot.emu.responses_to(url)]
        said += [m.get("text", "") + json.dumps(m.get("blocks") or []) for m in bot.emu.dm_messages(user)[dm_before:]]
        if wait_for and said:
            out.said = said
            break
        out.said = said
        if time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    out.http = out.body
    return out
