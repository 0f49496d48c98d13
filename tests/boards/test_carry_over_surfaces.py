"""Carried-over links and unreviewed queues as the DM answer, the report and App Home show them."""

from __future__ import annotations

import datetime as dt

from bot.artifacts.store import capture_reply
from bot.boards.home import home_data
from bot.boards.reports import report_csv, team_report
from bot.config import OrgConfig
from bot.db import session_scope
from bot.people.store import find_person
from bot.slack import blocks as bk
from tests import factories as f

OCT = dt.datetime(2026, 10, 12, 9, 0, tzinfo=dt.UTC)
ORG = OrgConfig()


def test_a_reclaimed_link_is_recorded_counted_zero_and_named_everywhere(engine):
    f.person(engine, "U0ADA", name="Ada")
    f.person(engine, "U0BEN", name="Ben")
    f.teams(engine, {"Growth": ["U0ADA", "U0BEN"]})
    f.artifact(engine, "U0ADA", "https://looker.example.com/dashboards/7", status="kept", period="2026-09")
    with session_scope(engine) as s:
        ben = find_person(s, "U0BEN")
        outcome = capture_reply(
            s,
            person=ben,
            text="Churn dashboard http://www.looker.example.com/dashboards/7/?utm_source=slack and "
            + " ".join(f"https://junk.example.com/{i}" for i in range(5)),
            event_key="msg:D0BEN:1",
            now=OCT,
            org=ORG,
        )
    assert len(outcome.created) == 6
    assert outcome.carried == [
        "Churn dashboard: first claimed by Ada in September 2026, so it counts 0 in October 2026"
    ]
    text, ack_blocks = bk.reply_ack(
        period=outcome.period,
        created=[(a.id or 0, a.title, []) for a in outcome.created],
        duplicates=[],
        rejected=[],
        note_kept=False,
        carried=outcome.carried,
    )
    assert "Carried over: Churn dashboard: first claimed by Ada in September 2026" in text
    assert "Carried over" in ack_blocks[0]["text"]["text"]

    with session_scope(engine) as s:
        report = team_report(s, team_name="Growth", period="2026-10", org=ORG)
        home = home_data(s, find_person(s, "U0BEN"), ORG, OCT)
    ben_line = next(m for m in report.members if m.name == "Ben")
    dash = next(a for a in ben_line.items if a.title == "Churn dashboard")
    assert dash.counted_value == 0 and dash.carried_over == "first claimed by Ada in September 2026"
    assert "carried over: first claimed by Ada in September 2026" in dash.flags
    assert ben_line.artifacts == 1.5  # three of the five unreviewed junk links, half each
    assert report.unreviewed_queue == [("Ben", 6)]
    assert report.as_json()["unreviewed_queue"] == [{"name": "Ben", "unreviewed": 6}]
    assert "carried over: first claimed by Ada in September 2026" in report_csv(report)
    assert (
        "Churn dashboard",
        ["http://www.looker.example.com/dashboards/7/?utm_source=slack"],
        "submitted; carried over, first claimed by Ada in September 2026",
    ) in home.artifacts
    _, report_blocks = bk.report_message(report)
    assert any("Waiting for your keep or kill (largest first): Ben 6" in str(b) for b in report_blocks)


def test_the_unreviewed_queue_is_largest_first(engine):
    for uid in ("U0A", "U0B", "U0C"):
        f.person(engine, uid, name=uid)
    f.teams(engine, {"T": ["U0A", "U0B", "U0C"]})
    for uid, n in (("U0A", 1), ("U0B", 4), ("U0C", 2)):
        for i in range(n):
            f.artifact(engine, uid, f"https://{uid.lower()}.example/{i}")
    f.artifact(engine, "U0A", "https://u0a.example/kept", status="kept")
    with session_scope(engine) as s:
        report = team_report(s, team_name="T", period="2026-10", org=ORG)
    assert report.unreviewed_queue == [("U0B", 4), ("U0C", 2), ("U0A", 1)]
