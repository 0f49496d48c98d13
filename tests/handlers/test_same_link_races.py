"""One link sent in twenty DMs at once is stored once; the other nineteen are told "Already logged"."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from testing.signing import event_body, message_event
from tests.handlers.conftest import Bot
from tests.handlers.helpers import count
from tests.handlers.test_scenarios import dm_texts, setup_org

pytestmark = pytest.mark.slow


def _live_artifacts(db_url: str) -> int:
    return count(db_url, "SELECT count(*) FROM artifact WHERE removed = :no", no=False)


def test_twenty_simultaneous_replies_with_one_link_store_it_once(bot: Bot, db_url: str) -> None:
    # Before: each reply checked "already logged?" before any of them wrote, and there was no unique
    # constraint on (person, period, canonical URL): up to 8 rows for one link, 16 people told "Recorded".
    setup_org(bot)
    url = "https://github.com/acme/agent/pull/77"
    variants = [url, url + "/", url + "/files", url + "?utm_source=slack", "https://GitHub.com/acme/agent/pull/77#x"]
    bodies = [event_body(message_event("U0ALICE", f"Shipped {variants[n % 5]} ({n})")) for n in range(20)]
    start = threading.Barrier(20)

    def send(body: bytes) -> int:
        start.wait()
        return bot.post(body).status

    with ThreadPoolExecutor(20) as pool:
        assert set(pool.map(send, bodies)) == {200}
    answers = bot.wait_for(lambda: (t := dm_texts(bot, "U0ALICE")) and len(t) >= 20 and t, timeout=60)
    assert _live_artifacts(db_url) == 1
    recorded = [t for t in answers if "Recorded" in t]
    already = [t for t in answers if "Already logged" in t]
    assert len(recorded) == 1, answers
    assert len(already) == 19, answers
