"""What the scenario tests over ``artifact-bot serve`` share beyond the ``Bot`` itself.

:func:`answer` (the JSON Slack got on a ``response_url``), :func:`import_artifacts` (an artifacts
CSV through the CLI) and :func:`rows` / :func:`count` (a look at the database the bot writes).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from bot.db import make_engine
from testing.signing import app_home_opened_event, event_body
from tests.handlers.conftest import Bot

ARTIFACTS_HEADER = "period,email,url,title,status"
USAGE_HEADER = "date,email,provider,model,input_tokens,output_tokens,cost_usd"


def answer(bot: Bot, body_for: Callable[[str], bytes], timeout: float = 15.0) -> dict[str, Any]:
    """Post ``body_for(response_url)``; the last answer posted to that ``response_url``, as a JSON object."""
    body: dict[str, Any] = json.loads(bot.answer_text(body_for, timeout=timeout))
    return body


def import_usage(bot: Bot, *lines: str) -> None:
    """Import ``lines`` (``date,email,provider,model,input_tokens,output_tokens,cost_usd``) with ``usage import``,
    which must succeed."""
    (bot.cwd / "u.csv").write_text("".join(f"{line}\n" for line in (USAGE_HEADER, *lines)))
    res = bot.cli("usage", "import", "u.csv")
    assert res.returncode == 0, res.stderr


def import_artifacts(bot: Bot, *lines: str) -> None:
    """Import ``lines`` (``period,email,url,title,status``) with ``artifacts import``, which must succeed."""
    (bot.cwd / "a.csv").write_text("".join(f"{line}\n" for line in (ARTIFACTS_HEADER, *lines)))
    res = bot.cli("artifacts", "import", "a.csv")
    assert res.returncode == 0, res.stderr


def seed_two_months(bot: Bot, period: str, last: str, *artifacts: str) -> None:
    """Alice spends $40 in ``last`` and $20 in ``period``; her *Old agent* of ``last`` is kept; then ``artifacts``
    (artifacts CSV lines)."""
    import_usage(
        bot,
        f"{last}-03,alice@example.com,openai,gpt-4o-mini,10,1,40",
        f"{period}-03,alice@example.com,openai,gpt-4o-mini,10,1,20",
    )
    import_artifacts(bot, f"{last},alice@example.com,https://github.com/acme/a/pull/1,Old agent,kept", *artifacts)


def open_home(bot: Bot, user: str) -> dict[str, Any]:
    """Open ``user``'s App Home tab: the view the app publishes for this opening (the next one Slack accepts)."""
    published = bot.emu.call_count("views.publish", ok=True)  # wait for this opening's view, not the last one
    assert bot.post(event_body(app_home_opened_event(user))).status == 200
    bot.wait_for(lambda: bot.emu.call_count("views.publish", ok=True) > published, timeout=20)
    return bot.emu.home_views[user]


def review_queue(bot: Bot, period: str, manager: str = "U0CAROL") -> tuple[dict[str, Any], str, str]:
    """Run the review-queue job of ``period``: ``manager``'s one queue DM, its channel and its ts."""
    res = bot.cli("jobs", "run", "review-queue", "--period", period)
    assert res.returncode == 0, res.stderr
    [queue] = bot.emu.dm_messages(manager)
    [post] = bot.emu.calls("chat.postMessage")
    return queue, post.params["channel"], queue["ts"]


def button(message: dict[str, Any], pick: Callable[[dict[str, Any]], bool]) -> tuple[str, str]:
    """``(block_id, value)`` of the first button of ``message``'s action blocks that ``pick`` chooses."""
    return next(
        (b["block_id"], e["value"])
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if pick(e)
    )


def rows(db_url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Every row ``sql`` selects in the database at ``db_url`` (a connection of its own, closed after)."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def count(db_url: str, sql: str, **params: Any) -> int:
    """The one number a ``SELECT count(*) ...`` answers."""
    [(n,)] = rows(db_url, sql, **params)
    return int(n)
