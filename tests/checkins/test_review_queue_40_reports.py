"""A manager with 40 reports and 60 unreviewed artifacts: the queue DM fits Slack's 50 blocks, says how many
more wait, and shows the next ones as the first are reviewed (the DM is redrawn from the same builder)."""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine

from bot.boards import answers
from bot.checkins.review_queue import manager_queue_message
from bot.config import OrgConfig
from tests import factories as f

ORG = OrgConfig(timezone="UTC")
AT = f.NOW


def test_forty_reports_page_through_the_queue_dm(engine: Engine) -> None:
    reports = [f"U{i:03d}" for i in range(40)]
    for uid in [*reports, "UBOSS"]:
        f.person(engine, uid, name=f"Person {uid}")
    f.teams(engine, {"Big": reports}, managers={"Big": ["UBOSS"]})
    made = [
        f.artifact(engine, uid, f"https://x.example/{uid}/{n}", title=f"Work {uid}-{n}")
        for uid in reports
        for n in range(2 if uid < "U020" else 1)
    ]
    assert len(made) == 60

    text, blocks = manager_queue_message(engine=engine, org=ORG, manager_id="UBOSS", period="2026-10", now=AT)
    assert len(blocks) <= 50 and "60 artifacts waiting" in text
    shown = [i for i in made if f"keep_artifact:{i}:" in json.dumps(blocks)]
    more = blocks[-1]["elements"][0]["text"]
    assert more == f"+{60 - len(shown)} more: they appear here as you keep or kill these (or see /artifact-report)."

    # Reviewing the shown ones brings the next ones into the DM, until none is left.
    seen = set(shown)
    while shown:
        for aid in shown:
            answers.review_artifact(engine=engine, org=ORG, user_id="UBOSS", artifact_id=aid, keep=True, now=AT)
        _, blocks = manager_queue_message(engine=engine, org=ORG, manager_id="UBOSS", period="2026-10", now=AT)
        shown = [i for i in made if f"keep_artifact:{i}:" in json.dumps(blocks)]
        assert not seen & set(shown)  # only ones not shown before
        seen |= set(shown)
    assert seen == set(made)
    assert "nothing left to review" in json.dumps(blocks)
