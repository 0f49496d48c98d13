"""Issue 16, App Home: the last six months, artifacts by status with what each means, a manager's queue."""

from __future__ import annotations

import datetime as dt
import json

from bot import ids
from bot.periods import collecting_period, month_name, previous
from tests.handlers.conftest import Bot, synced_bot
from tests.handlers.helpers import open_home, seed_two_months


def _home(bot: Bot, user: str) -> str:
    return json.dumps(open_home(bot, user), ensure_ascii=False)


def test_app_home_history_statuses_and_review_queue(sqlite_template, tmp_path) -> None:
    period = collecting_period(dt.datetime.now(dt.UTC), "UTC", 7)
    last = previous(period)
    with synced_bot(sqlite_template, tmp_path) as bot:
        seed_two_months(
            bot,
            period,
            last,
            f"{period},alice@example.com,https://github.com/acme/a/pull/2,New agent,submitted",
            f"{period},alice@example.com,https://github.com/acme/a/pull/3,Killed thing,killed",
        )

        home = _home(bot, "U0ALICE")
        assert "Last six months" in home
        # Before: "This month: $20.00" under a header naming last month, on the 1st to the 7th.
        assert f"Alice Smith. {month_name(period)}: *$20.00* of AI spend" in home and "This month" not in home
        assert f"{month_name(last)}: *2.50* artifacts/$100 — 1 artifact, $40.00" in home
        assert f"{month_name(period)}: *2.50* artifacts/$100 — 0.5 artifacts, $20.00" in home
        assert "*submitted* 1: waiting for a manager's review; counts half until then" in home
        assert "*killed* 1: rejected by a manager; counts 0" in home
        assert "Your review queue" not in home  # not a manager

        manager = _home(bot, "U0CAROL")
        assert "Your review queue* (1 artifact waiting for your keep or kill)" in manager
        view = json.loads(manager)
        values = [
            e["value"]
            for b in view["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] in (ids.ACTION_KEEP, ids.ACTION_KILL)
        ]
        assert len(values) == 2 and all(v.endswith(":submitted") for v in values)
