"""The issue's gaming cases, through ``artifact-bot serve`` with DM replies signed like Slack's.

Before canonical links, carry-over and the unreviewed cap: twelve junk links outscored three kept
artifacts, one pull request written five ways counted twice, and last month's dashboard counted
again this month, for its maker and for a colleague.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from bot import ids
from bot.periods import previous
from testing.signing import (
    app_home_opened_event,
    block_actions_payload,
    command_body,
    event_body,
    interaction_body,
    message_event,
)
from tests.handlers.conftest import Bot, running_bot

PERIOD = dt.datetime.now(dt.UTC).strftime("%Y-%m")
LAST = previous(PERIOD)
LAST_LABEL = dt.date(int(LAST[:4]), int(LAST[5:]), 1).strftime("%B %Y")
PR = "https://github.com/acme/app/pull/17"


@pytest.fixture
def bot(db_url: str, tmp_path: Path) -> Iterator[Bot]:
    with running_bot(db_url, tmp_path) as b:
        yield b


def dm(bot: Bot, user: str, text: str) -> None:
    before = len(bot.emu.dm_messages(user))
    assert bot.post(event_body(message_event(user, text))).status == 200
    bot.wait_for(lambda: len(bot.emu.dm_messages(user)) > before, timeout=15)


def last_dm(bot: Bot, user: str) -> str:
    return bot.emu.dm_messages(user)[-1].get("text", "")


def command(bot: Bot, name: str, text: str, user: str) -> dict:
    url = bot.emu.response_url()
    assert bot.post(command_body(name, text, user, response_url=url)).status == 200
    return bot.wait_for(lambda: bot.emu.responses_to(url), timeout=15)[-1].body


def keep(bot: Bot, user: str, value: str) -> str:
    url = bot.emu.response_url()
    payload = block_actions_payload(user, ids.ACTION_REVIEW, action_type="overflow", response_url=url)
    payload["actions"][0]["selected_option"] = {"text": {"type": "plain_text", "text": "Keep"}, "value": value}
    assert bot.post(interaction_body(payload)).status == 200
    return bot.wait_for(lambda: bot.emu.responses_to(url), timeout=15)[-1].body["text"]


def setup(bot: Bot) -> None:
    assert bot.cli("people", "sync").returncode == 0
    (bot.cwd / "usage.csv").write_text(
        "date,email,provider,model,input_tokens,output_tokens,cost_usd\n"
        + "".join(
            f"{PERIOD}-01,{who}@example.com,openai,gpt-4o-mini,1000,100,20\n"
            for who in ("alice", "bob", "dave", "erin")
        )
    )
    assert bot.cli("usage", "import", "usage.csv").returncode == 0
    # Last month, from the spreadsheet Infra kept before the bot: Dave's dashboard, kept.
    (bot.cwd / "history.csv").write_text(
        "period,email,url,title,kind,status\n"
        f"{LAST},dave@example.com,https://looker.example.com/dashboards/7,Churn dashboard,dashboard,kept\n"
    )
    res = bot.cli("artifacts", "import", "history.csv")
    assert res.returncode == 0 and "1 imported" in res.stdout, res.stderr


def test_the_gaming_cases_score_as_the_rules_say(bot: Bot):
    setup(bot)

    # 1. Twelve junk links in one DM against three real artifacts kept by the manager, same spend.
    junk = " ".join(f"https://junk.example.com/page/{i}" for i in range(12))
    dm(bot, "U0BOB", f"Everything I did: {junk}")
    assert "Recorded 10 artifacts" in last_dm(bot, "U0BOB")  # ten per message; the cap does the rest
    dm(bot, "U0ALICE", " ".join(f"<https://github.com/acme/alice/pull/{i}|feature {i}>" for i in (1, 2, 3)))
    assert "Recorded 3 artifacts" in last_dm(bot, "U0ALICE")
    report = command(bot, "/artifact-report", f"Growth {PERIOD}", "U0CAROL")
    blocks = report["blocks"]
    alice_items = [  # each artifact's line is followed by its Keep and Kill buttons
        after["elements"][0]["value"]
        for b, after in pairwise(blocks)
        if after.get("block_id", "").startswith("review_") and "acme/alice/pull" in b["text"]["text"]
    ]
    assert len(alice_items) == 3
    for value in alice_items:
        assert "Kept" in keep(bot, "U0CAROL", value)
    people = bot.leaderboard(PERIOD, by="person")
    alice, bob = people["Alice Smith"], people["Bob Jones"]
    assert bob["artifacts"] == pytest.approx(1.5)  # 3 unreviewed × 0.5: the other seven wait for a keep
    assert alice["artifacts"] == pytest.approx(3.0)
    assert (alice["artifacts_per_100_usd"], bob["artifacts_per_100_usd"]) == (pytest.approx(15.0), pytest.approx(7.5))
    assert alice["rank"] < bob["rank"]
    report = command(bot, "/artifact-report", f"Growth {PERIOD}", "U0CAROL")
    assert "Waiting for your keep or kill (largest first): Bob Jones 10" in json.dumps(report["blocks"])

    # 2. One pull request written five ways is one artifact.
    variants = [
        PR,
        PR + "/",
        "https://GitHub.com/acme/app/pull/17#issuecomment-1",
        PR + "?utm_source=slack",
        PR + "/files",
    ]
    dm(bot, "U0ERIN", "My PR: " + " ".join(variants))
    assert "Recorded 1 artifact " in last_dm(bot, "U0ERIN") + " "
    for variant in variants[1:]:
        dm(bot, "U0ERIN", f"again {variant}")
        assert "Recorded" not in last_dm(bot, "U0ERIN")
    erin = bot.leaderboard(PERIOD, by="person")["Erin Infra"]
    assert (erin["artifact_count"], erin["artifacts"]) == (1, pytest.approx(0.5))

    # 3. Last month's dashboard, claimed again this month by its maker: recorded, counts 0, carried over.
    dm(bot, "U0DAVE", "Churn dashboard https://looker.example.com/dashboards/7/")
    dave = bot.leaderboard(PERIOD, by="person")["Dave Infra"]
    assert (dave["artifact_count"], dave["artifacts"]) == (0, 0)
    # 4. ...and by a colleague, written another way: counts 0 too.
    dm(bot, "U0ERIN", "Also the dashboard http://www.looker.example.com/dashboards/7?utm_source=slack")
    erin = bot.leaderboard(PERIOD, by="person")["Erin Infra"]
    assert (erin["artifact_count"], erin["artifacts"]) == (1, pytest.approx(0.5))
    assert bot.leaderboard(PERIOD)["Infra"]["artifacts"] == pytest.approx(0.5)
    assert bot.leaderboard(LAST)["Infra"]["artifacts"] == pytest.approx(1.0)  # it counted where it was made

    # Shown as carried over in the report, App Home and the export.
    carried = f"first claimed by Dave Infra in {LAST_LABEL}"
    report = command(bot, "/artifact-report", f"Infra {PERIOD}", "U0DAVE")
    assert json.dumps(report["blocks"]).count(f"carried over: {carried}") == 2
    assert bot.post(event_body(app_home_opened_event("U0DAVE"))).status == 200
    home = bot.wait_for(lambda: bot.emu.home_views.get("U0DAVE"))
    assert f"carried over, {carried}" in json.dumps(home)
    res = bot.cli("artifacts", "export", "--period", PERIOD, "--format", "json")
    exported = {(i["email"], i["url"]): i for i in json.loads(res.stdout)}
    assert exported[("dave@example.com", "https://looker.example.com/dashboards/7/")]["carried_over"] == carried
    assert exported[("bob@example.com", "https://junk.example.com/page/0")]["counted_value"] == pytest.approx(0.5)
    assert sum(i["counted_value"] for i in exported.values() if i["email"] == "bob@example.com") == pytest.approx(1.5)
    assert bot.cli("db", "check").returncode == 0
