"""A link claimed by two teams: both managers are told through the outbox, once, never by the listener itself."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from bot.db import make_engine, session_scope
from bot.models import OutboxMessage
from bot.slack import outbox
from testing.signing import command_body, event_body, message_event
from tests.handlers.conftest import Bot
from tests.handlers.test_scenarios import dm_texts, setup_org

LINK = "https://github.com/acme/app/pull/77"


def _notices(bot: Bot) -> list[tuple[str, str, str]]:
    engine = make_engine(bot.env["DATABASE_URL"])
    try:
        with session_scope(engine) as s:
            rows = s.scalars(select(OutboxMessage).where(col(OutboxMessage.kind) == "claim_notice")).all()
            return sorted((r.channel, r.state, r.payload["text"]) for r in rows)
    finally:
        engine.dispose()


def test_cross_team_claim_notices_are_queued_once_and_sent_by_the_outbox(bot: Bot):
    setup_org(bot)
    # Alice (Growth, managed by Carol) and Dave (Infra, managed by Dave) log the same link.
    assert bot.post(event_body(message_event("U0ALICE", f"Shipped {LINK}"))).status == 200
    bot.wait_for(lambda: any("Recorded" in t for t in dm_texts(bot, "U0ALICE")), timeout=20)
    url = bot.emu.response_url()
    assert bot.post(command_body("/artifact", f"{LINK} Infra's version", "U0DAVE", response_url=url)).status == 200
    answer = bot.wait_for(lambda: bot.emu.responses_to(url), timeout=20)[-1].body
    assert answer["text"].startswith("Recorded 1 artifact")

    queued = bot.wait_for(lambda: _notices(bot), timeout=10)
    assert [(channel, state) for channel, state, _ in queued] == [("U0CAROL", "pending"), ("U0DAVE", "pending")]
    assert all("different teams (Growth, Infra)" in text for _, _, text in queued)
    # The listener itself told nobody: the managers hear it from the outbox.
    assert not any("different teams" in t for t in dm_texts(bot, "U0CAROL") + dm_texts(bot, "U0DAVE"))

    # A third claim of the same link (Bob, Growth) queues nothing new.
    assert bot.post(event_body(message_event("U0BOB", f"Me too {LINK}"))).status == 200
    bot.wait_for(lambda: any("Recorded" in t for t in dm_texts(bot, "U0BOB")), timeout=20)
    assert len(_notices(bot)) == 2

    engine = make_engine(bot.env["DATABASE_URL"])
    try:
        send, upload = outbox.slack_sender(bot.emu.client())
        stats = outbox.dispatch(engine, send, upload=upload, rate_per_second=0)
    finally:
        engine.dispose()
    assert stats.sent == 2 and stats.failed == 0
    for manager in ("U0CAROL", "U0DAVE"):
        said = [t for t in dm_texts(bot, manager) if "different teams" in t]
        assert len(said) == 1 and LINK in said[0]
    assert [state for _, state, _ in _notices(bot)] == ["sent", "sent"]
