"""Weekly summary (content, chart upload, private spend alerts) and the period close, through the emulator."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.checkins.closing import frozen_board
from bot.db import session_scope
from bot.models import BoardSnapshot, Period
from jobs import close_period as close_job
from jobs.runner import run_job
from testing.slack_emulator import SlackEmulator, dm_channel_id
from tests.jobs.conftest import (
    artifact_at,
    console_text,
    daily_spend,
    days,
    make_deps,
    people,
    quiet_console,
    team,
)

UTC = dt.UTC
MONDAY = dt.datetime(2026, 11, 16, 14, 0, tzinfo=UTC)  # Monday 16 November, 09:00 in New York


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def channel_text(emu: SlackEmulator, channel: str) -> str:
    return "\n".join(m["text"] + json.dumps(m.get("blocks", [])) for m in emu.messages(channel))


@pytest.fixture
def org_with_history(engine: Engine) -> Engine:
    people(engine, ["U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U0ERIN", "U0SOLO", "U0ADMIN"], tz="America/New_York")
    team(engine, "Growth", ["U0ALICE", "U0BOB"], managers=["U0CAROL"], channel="C0GROWTH", budget=300)
    team(engine, "Infra", ["U0DAVE", "U0ERIN"], managers=["u0dave@example.com"])
    history = days(dt.date(2026, 10, 12), dt.date(2026, 11, 15))
    daily_spend(engine, "U0ALICE", history, lambda d: 80.0 if d == dt.date(2026, 11, 12) else 2.0)
    daily_spend(engine, "U0BOB", history, 3.0)
    daily_spend(engine, "U0DAVE", history, 4.0)
    daily_spend(engine, "U0ERIN", history, 4.0)
    daily_spend(engine, "U0SOLO", history, lambda d: 60.0 if d == dt.date(2026, 11, 10) else 1.0)
    artifact_at(
        engine,
        "U0ALICE",
        "https://dash.example.com/churn",
        period="2026-11",
        title="Churn dashboard",
        created=at(2026, 11, 12, 15),
    )
    artifact_at(
        engine,
        "U0DAVE",
        "https://github.com/acme/deploy/pull/1",
        period="2026-11",
        title="Deploy bot",
        created=at(2026, 11, 13, 15),
        status="kept",
    )
    artifact_at(
        engine,
        "U0DAVE",
        "https://github.com/acme/old/pull/9",
        period="2026-11",
        title="Old thing",
        created=at(2026, 11, 2, 15),
    )  # more than a week ago: not "new this week"
    return engine


def test_weekly_summary_content_and_chart_through_slack(org_with_history: Engine, emu: SlackEmulator) -> None:
    deps = make_deps(org_with_history, emu, clock=lambda: MONDAY)
    console = quiet_console()
    assert run_job(deps, "weekly-summary", console=console) == 0
    assert "week 2026-W47: 2 channels, 3 spend anomalies" in console_text(console)

    org_post = channel_text(emu, "C0SUMMARY")
    assert "Weekly AI artifacts summary, week of 16 November 2026 (November 2026)" in org_post
    assert "Output-weighted leaderboard" in org_post and "Growth" in org_post and "Infra" in org_post
    assert "Churn dashboard" in org_post and "Deploy bot" in org_post and "Old thing" not in org_post
    assert "dash.example.com" in org_post
    assert "Growth: $153.00 of $300.00" in org_post and "budget runs out 2026-11-30" in org_post
    assert "Check-in response rate" in org_post
    team_post = channel_text(emu, "C0GROWTH")
    assert "Weekly AI artifacts summary: Growth, week of 16 November 2026 (November 2026)" in team_post
    assert "Churn dashboard" in team_post and "Deploy bot" not in team_post  # the team's own new artifacts

    uploads = emu.completed_uploads()
    assert sorted(u.channel_id or "" for u in uploads) == ["C0GROWTH", "C0SUMMARY"]
    for u in uploads:
        assert u.data is not None and u.data.startswith(b"\x89PNG\r\n\x1a\n") and u.filename.endswith(".png")
        assert "Artifacts per $100" in (u.title or "")
    # The chart follows its message in each channel.
    posts = {c.params["channel"]: c.time for c in emu.calls("chat.postMessage")}
    files = [c for c in emu.calls("files.completeUploadExternal")]
    assert all(c.time > posts[c.params["channel_id"]] for c in files)

    calls = len(emu.calls())
    assert run_job(deps, "weekly-summary", console=quiet_console()) == 0  # the same week again: nothing new
    assert len(emu.calls()) == calls


def test_spend_anomaly_alert_goes_privately_to_the_manager_only(org_with_history: Engine, emu: SlackEmulator) -> None:
    deps = make_deps(org_with_history, emu, clock=lambda: MONDAY)
    assert run_job(deps, "weekly-summary", console=quiet_console()) == 0

    [alert] = emu.dm_messages("U0CAROL")
    text = alert["text"] + json.dumps(alert["blocks"])
    assert "Spend alert (private)" in alert["text"]
    assert "Alice Person" in text and "$80.00" in text and "Thu 12 Nov" in text
    assert "Team Growth" in text  # the team's own jump (83 against 5 a day) too
    assert "Bob" not in text and "Solo" not in text
    [admin_alert] = emu.dm_messages("U0ADMIN")  # no team: the admins hear about it
    assert "Solo Person" in json.dumps(admin_alert["blocks"]) and "$60.00" in json.dumps(admin_alert["blocks"])
    for nobody in ("U0ALICE", "U0BOB", "U0DAVE", "U0ERIN", "U0SOLO"):
        assert emu.messages(dm_channel_id(nobody)) == [], f"{nobody} got a message"
    for channel in ("C0SUMMARY", "C0GROWTH"):
        posted = channel_text(emu, channel)
        assert "Spend alert" not in posted and "$80.00" not in posted
        # Alice is named only as the maker of her artifact, never next to her spend.
        assert all("Alice" not in line or "Churn dashboard" in line for line in posted.split("\\n"))


def test_period_close_freezes_scores_and_posts_the_final_board_once(engine: Engine, emu: SlackEmulator) -> None:
    people(engine, ["U0ALICE", "U0BOB"], tz="America/New_York")
    team(engine, "Growth", ["U0ALICE", "U0BOB"], managers=["U0CAROL"], channel="C0GROWTH")
    daily_spend(engine, "U0ALICE", days(dt.date(2026, 10, 1), dt.date(2026, 10, 10)), 5.0)
    artifact_at(
        engine,
        "U0ALICE",
        "https://github.com/acme/app/pull/7",
        period="2026-10",
        title="Agent",
        created=at(2026, 10, 20),
        status="kept",
    )
    deps = make_deps(engine, emu)

    assert close_job.enqueue_due(deps, now=at(2026, 11, 8, 4, 59)).period is None  # 7 November 23:59 EST
    result = close_job.enqueue_due(deps, now=at(2026, 11, 8, 14))  # the scheduled run, 09:00 on the 8th
    assert (result.period, result.queued) == ("2026-10", 2)
    with session_scope(engine) as s:
        period = s.get(Period, "2026-10")
        assert period is not None and period.status == "closed"
        assert s.scalar(select(func.count()).select_from(BoardSnapshot).where(BoardSnapshot.by == "person")) == 2
    frozen = frozen_board(engine, "2026-10")
    assert [(r["name"], r["artifacts"], r["spend_usd"]) for r in frozen] == [("Growth", 1.0, 50.0)]

    deps.clock = lambda: at(2026, 11, 9, 14)
    assert run_job(deps, "close-period", console=quiet_console()) == 0  # sends what the scheduled run queued
    for channel in ("C0SUMMARY", "C0GROWTH"):
        [post] = emu.messages(channel)
        assert post["text"].startswith("Final leaderboard for October 2026") and "Growth" in post["text"]

    artifact_at(
        engine,
        "U0BOB",
        "https://github.com/acme/app/pull/8",
        period="2026-10",
        title="Late one",
        created=at(2026, 11, 9),
        status="kept",
    )
    console = quiet_console()
    assert run_job(deps, "close-period", period="2026-10", console=console) == 0
    assert "already closed" in console_text(console)
    assert frozen_board(engine, "2026-10") == frozen  # frozen: the late artifact does not move it
    assert len(emu.messages("C0SUMMARY")) == 1 and len(emu.messages("C0GROWTH")) == 1


def test_weekly_summary_early_in_the_month_shows_the_month_being_collected(
    org_with_history: Engine, emu: SlackEmulator
) -> None:
    # Tuesday 1 December: November's replies are still being collected, so the summary shows November.
    deps = make_deps(org_with_history, emu, clock=lambda: at(2026, 12, 1, 14))
    assert run_job(deps, "weekly-summary", console=quiet_console()) == 0
    org_post = channel_text(emu, "C0SUMMARY")
    assert "November 2026" in org_post and "December 2026" not in org_post
    assert "Growth: $153.00 of $300.00" in org_post
    [post] = emu.top_level("C0SUMMARY")
    assert "this month" not in json.dumps(post["blocks"])  # the month shown is named, never "this month"


def test_weekly_summary_lists_a_shared_link_once_with_its_people_and_counts_the_rest(
    engine: Engine, emu: SlackEmulator
) -> None:
    people(engine, ["U0ALICE", "U0BOB"], tz="America/New_York")
    team(engine, "Growth", ["U0ALICE", "U0BOB"], managers=["U0CAROL"])
    made = at(2026, 11, 13, 15)
    for who in ("U0ALICE", "U0BOB"):
        artifact_at(
            engine,
            who,
            "https://dash.example.com/shared",
            period="2026-11",
            title="Shared board",
            created=at(2026, 11, 13, 15),
        )
    for i in range(20):
        artifact_at(engine, "U0ALICE", f"https://x.example.com/p/{i}", period="2026-11", title=f"T{i}", created=made)
    deps = make_deps(engine, emu, clock=lambda: MONDAY)
    assert run_job(deps, "weekly-summary", console=quiet_console()) == 0
    post = channel_text(emu, "C0SUMMARY")
    assert post.count("Shared board") == 1
    line = "Shared board* (Growth) <https://dash.example.com/shared|dash.example.com> \\u2014 Alice Person, Bob Person"
    assert line in post
    assert "New artifacts this week* (21)" in post and "+6 more" in post


def test_weekly_summary_is_a_short_post_with_the_details_and_chart_in_its_thread(
    org_with_history: Engine, emu: SlackEmulator
) -> None:
    # Before: the whole board, every new artifact and the budgets went into one long channel post,
    # with the chart as a second top-level message.
    deps = make_deps(org_with_history, emu, clock=lambda: MONDAY)
    assert run_job(deps, "weekly-summary", console=quiet_console()) == 0
    for channel in ("C0SUMMARY", "C0GROWTH"):
        [post] = emu.top_level(channel)
        short = post["text"] + json.dumps(post["blocks"])
        assert "week of 16 November 2026" in short and "Top teams: 1. *" in short
        assert "new artifact" in short and "in the thread" in short and "of AI spend in November 2026" in short
        assert "New artifacts this week*" not in short and "Spend against budget" not in short
        assert len(post["blocks"]) <= 3
        [details] = emu.replies(channel, post["ts"])
        long = details["text"] + json.dumps(details["blocks"])
        assert "Output-weighted leaderboard, November 2026" in long and "Churn dashboard" in long
        assert "Spend against budget" in long and "Check-in response rate" in long
    charts = {u.channel_id: u for u in emu.completed_uploads()}
    assert charts["C0SUMMARY"].thread_ts == emu.top_level("C0SUMMARY")[0]["ts"]
    assert charts["C0GROWTH"].thread_ts == emu.top_level("C0GROWTH")[0]["ts"]


def test_thread_details_wait_for_their_post_and_survive_its_failure(
    org_with_history: Engine, emu: SlackEmulator
) -> None:
    from bot.slack.outbox.store import counts

    # The top-level post fails for good in the summary channel (say the blocks are refused): the details
    # are not lost, they go as a message of their own; the team channel is threaded as usual.
    emu.fail(
        "chat.postMessage",
        "invalid_blocks",
        when=lambda p: (
            p.get("channel") == "C0SUMMARY" and not p.get("thread_ts") and "Top teams" in str(p.get("blocks"))
        ),
        times=1,
    )
    deps = make_deps(org_with_history, emu, clock=lambda: MONDAY)
    run_job(deps, "weekly-summary", console=quiet_console())
    summary = emu.messages("C0SUMMARY")
    assert len(summary) == 1 and "thread_ts" not in summary[0]
    assert "Output-weighted leaderboard, November 2026" in json.dumps(summary[0]["blocks"])
    [post] = emu.top_level("C0GROWTH")
    assert len(emu.replies("C0GROWTH", post["ts"])) == 1
    assert counts(org_with_history, kind_prefix="summary").get("pending", 0) == 0
