"""DM replies with a language model configured: it names what the parser stored, never loses a reply."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.signing import event_body, message_event
from tests.handlers.conftest import Bot, running_bot
from tests.llm.fake_openai import FakeOpenAI, error, structured

PERIOD = dt.datetime.now(dt.UTC).strftime("%Y-%m")


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def llm_bot(sqlite_template: Path, tmp_path: Path, fake: FakeOpenAI) -> Iterator[Bot]:
    import shutil

    shutil.copy(sqlite_template, tmp_path / "db.sqlite")
    env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake.base_url, "OPENAI_MODEL": "gpt-4o-mini"}
    with running_bot(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path, env) as b:
        yield b


def test_model_names_the_artifacts_and_its_spend_is_on_the_board(llm_bot: Bot, fake: FakeOpenAI):
    fake.push(
        structured(
            [
                {
                    "title": "Churn prediction agent",
                    "kind": "agent",
                    "links": ["https://github.com/acme/churn"],
                    "impact": "replaced a weekly report",
                }
            ]
        )
    )
    text = "ok so this month https://github.com/acme/churn is the thing"
    assert llm_bot.post(event_body(message_event("U0ALICE", text))).status == 200
    msg = llm_bot.wait_for(lambda: [m for m in llm_bot.emu.dm_messages("U0ALICE") if "Recorded" in m["text"]])
    assert "Churn prediction agent" in str(msg[0]["blocks"])
    people = llm_bot.leaderboard(PERIOD, by="person")
    assert people["artifact-bot"]["spend_usd"] > 0  # the bot's own tokens are spend too
    assert people["artifact-bot"]["tokens"] == 1200


def test_model_failure_still_records_the_reply(llm_bot: Bot, fake: FakeOpenAI):
    fake.push(error(500, "boom"), error(500, "boom"))
    text = "Shipped the billing dashboard https://looker.example.com/d/7"
    assert llm_bot.post(event_body(message_event("U0BOB", text))).status == 200
    msg = llm_bot.wait_for(lambda: [m for m in llm_bot.emu.dm_messages("U0BOB") if "Recorded" in m["text"]])
    assert "billing dashboard" in str(msg[0]["blocks"]).lower()
    assert llm_bot.leaderboard(PERIOD, by="person")["Bob Jones"]["artifact_count"] == 1
