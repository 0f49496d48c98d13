"""A manager with 40 reports: /artifact-report names every member on one line each and lists what waits for
review with Keep and Kill buttons, within Slack's 50 blocks and 3,000 characters per section.

Before: the report gave each member a block and each artifact two, so after about seven members it ended
with "More members in the CSV export"; the other 33 people were not in Slack at all.
"""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine

from bot.boards.reports import team_report
from bot.config import OrgConfig
from bot.db import session_scope
from bot.slack import blocks as bk
from testing.slack.blockkit import block_problems
from tests import factories as f

ORG = OrgConfig(timezone="UTC")


def test_forty_members_all_show_and_the_review_list_fits(engine: Engine) -> None:
    reports = [f"U{i:03d}" for i in range(40)]
    for uid in [*reports, "UBOSS"]:
        f.person(engine, uid, name=f"Person {uid}")
    f.teams(engine, {"Big": reports}, managers={"Big": ["UBOSS"]})
    for uid in reports:
        f.spend(engine, uid, 10.0)
        for n in range(2):
            f.artifact(engine, uid, f"https://x.example/{uid}/{n}", title=f"Work {uid}-{n}")
    with session_scope(engine) as s:
        report = team_report(s, team_name="Big", period="2026-10", org=ORG)
    _text, blocks = bk.report_message(report)

    assert len(blocks) <= 50 and block_problems(blocks, "message") == []
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    words = json.dumps(blocks)
    assert "*Members* (40)" in words
    assert all(f"*Person {uid}* \\u2014" in words for uid in reports)  # every member, one line each
    assert "*Waiting for your keep or kill* (80)" in words
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    shown = len(buttons) // 2
    assert shown >= 10 and f"+{80 - shown} more waiting: they are in your review queue DM" in words
    assert "More members in the CSV export" not in words


def test_a_small_team_keeps_the_detailed_layout(engine: Engine) -> None:
    for uid in ("U1", "U2", "UBOSS"):
        f.person(engine, uid, name=f"Person {uid}")
    f.teams(engine, {"Small": ["U1", "U2"]}, managers={"Small": ["UBOSS"]})
    f.artifact(engine, "U1", "https://x.example/a", title="Agent A")
    with session_scope(engine) as s:
        report = team_report(s, team_name="Small", period="2026-10", org=ORG)
    _, blocks = bk.report_message(report)
    words = json.dumps(blocks)
    assert "*Members*" not in words and "*Agent A* (other, submitted)" in words
    assert sum(b["type"] == "divider" for b in blocks) == 2  # a divider per member, as before
