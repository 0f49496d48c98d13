"""Month-end check-ins and reminders through the jobs, the outbox and the Slack emulator."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.checkins import checkin as checkins
from bot.checkins.reminders import enqueue_due_checkins
from bot.db import session_scope
from bot.models import Checkin, OutboxMessage
from jobs import checkin as checkin_job
from jobs import reminders as reminders_job
from jobs import sweep
from jobs.runner import run_job
from testing.slack_emulator import SlackEmulator, dm_channel_id
from tests.jobs.conftest import console_text, make_deps, people, posts_per_channel, quiet_console

UTC = dt.UTC


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_jobs_run_checkin_twice_sends_nothing_new(engine: Engine, emu: SlackEmulator) -> None:
    people(engine, ["U0ALICE", "U0BOB", "U0CAROL"])
    deps = make_deps(engine, emu, clock=lambda: at(2026, 10, 30, 20))
    console = quiet_console()
    assert run_job(deps, "checkin", console=console) == 0  # default period: the one whose window is open
    out = console_text(console)
    assert "checkin 2026-10: 3 queued; 3 sent, 0 failed" in out
    assert "remaining" in out and "/s" in out  # the progress line
    assert posts_per_channel(emu) == {"U0ALICE": 1, "U0BOB": 1, "U0CAROL": 1}
    message = emu.dm_messages("U0ALICE")[0]
    assert "show me the artifact" in message["text"]
    assert "artifact test for October 2026" in message["text"] and "reply by Saturday 7 November" in message["text"]
    assert "reply by Saturday 7 November" in str(message["blocks"])
    assert checkins.status_counts(engine, "2026-10") == {"sent": 3}

    again = quiet_console()
    assert run_job(deps, "checkin", console=again) == 0
    assert "checkin 2026-10: 0 queued; 0 sent" in console_text(again)
    assert emu.call_count("chat.postMessage") == 3


def test_checkins_go_out_at_15h_in_each_persons_time_zone(engine: Engine, emu: SlackEmulator) -> None:
    people(engine, ["U0TOKYO"], tz="Asia/Tokyo")
    people(engine, ["U0LONDON"], tz="Europe/London")
    people(engine, ["U0NEWYORK"], tz="America/New_York")
    people(engine, ["U0NOZONE"], tz=None)  # the org's zone: New York
    people(engine, ["U0BADZONE"], tz="Mars/Olympus_Mons")  # unknown: the org's zone too
    org = make_deps(engine, emu).org

    def tick(now: dt.datetime) -> set[str]:
        before = {r for (r,) in _queued(engine)}
        enqueue_due_checkins(engine, org, now)
        return {r for (r,) in _queued(engine)} - before

    assert tick(at(2026, 10, 30, 5, 45)) == set()
    assert tick(at(2026, 10, 30, 6)) == {"U0TOKYO"}  # 15:00 JST
    assert tick(at(2026, 10, 30, 6, 15)) == set()
    assert tick(at(2026, 10, 30, 14, 45)) == set()
    assert tick(at(2026, 10, 30, 15)) == {"U0LONDON"}  # 15:00 GMT (BST ended on 25 October)
    assert tick(at(2026, 10, 30, 18, 45)) == set()
    assert tick(at(2026, 10, 30, 19)) == {"U0NEWYORK", "U0NOZONE", "U0BADZONE"}  # 15:00 EDT
    assert tick(at(2026, 10, 31, 19)) == set()

    deps = make_deps(engine, emu)
    stats = sweep.run(deps, now=at(2026, 10, 30, 19)).stats
    assert stats is not None and stats.sent == 5
    assert set(posts_per_channel(emu)) == {"U0TOKYO", "U0LONDON", "U0NEWYORK", "U0NOZONE", "U0BADZONE"}


def test_a_missed_tick_is_caught_up_and_a_new_person_still_gets_the_dm(engine: Engine, emu: SlackEmulator) -> None:
    people(engine, ["U0ALICE"], tz="America/New_York")
    deps = make_deps(engine, emu)
    assert checkin_job.enqueue_due(deps, now=at(2026, 10, 30, 23)).queued == 1  # four hours late
    people(engine, ["U0NEWBIE"], tz="America/New_York")
    assert checkin_job.enqueue_due(deps, now=at(2026, 11, 2, 15)).queued == 1  # within the reply window
    assert checkin_job.enqueue_due(deps, now=at(2026, 11, 9)).queued == 0  # replies closed


def _queued(engine: Engine) -> list[tuple[str]]:
    with session_scope(engine) as s:
        return [(r.channel,) for r in s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "checkin"))]


def test_reminders_after_n_days_at_most_twice_not_to_those_who_answered(engine: Engine, emu: SlackEmulator) -> None:
    ids = people(engine, ["U0ALICE", "U0BOB", "U0CAROL"], tz="America/New_York")
    deps = make_deps(engine, emu)
    sent_at = at(2026, 10, 30, 19)  # Friday 15:00 EDT
    checkins.enqueue_checkins(engine, deps.org, "2026-10", sent_at)
    sweep.run(deps, now=sent_at)
    with session_scope(engine) as s:
        for c in s.scalars(select(Checkin)):
            c.sent_at = sent_at.replace(tzinfo=None)
    checkins.mark_skipped(engine, ids["U0CAROL"], "2026-10", at(2026, 10, 31, 12))  # Carol answered

    def remind(now: dt.datetime) -> int:
        return reminders_job.run(deps, now=now).sent

    assert remind(at(2026, 11, 1, 19, 30)) == 0  # Sunday: reminders wait for Monday
    assert remind(at(2026, 11, 2, 19, 30)) == 0  # Monday 14:30 EST: not yet two days and a weekend
    assert remind(at(2026, 11, 2, 20, 30)) == 2  # Monday 15:30 EST
    assert remind(at(2026, 11, 2, 21, 30)) == 0  # each reminder once
    assert remind(at(2026, 11, 4, 20, 30)) == 2  # the second
    assert remind(at(2026, 11, 6, 20, 30)) == 0  # at most two
    for who, n in (("U0ALICE", 3), ("U0BOB", 3), ("U0CAROL", 1)):
        assert len(emu.messages(dm_channel_id(who))) == n
    reminder = emu.dm_messages("U0ALICE")[1]
    assert reminder["text"].startswith("Reminder:") and "show me the artifact" in reminder["text"]
    assert "reply by Saturday 7 November" in reminder["text"]


def test_scheduled_reminders_respect_local_daytime(engine: Engine, emu: SlackEmulator) -> None:
    people(engine, ["U0TOKYO"], tz="Asia/Tokyo")
    deps = make_deps(engine, emu)
    sent_at = at(2026, 10, 30, 6)  # 15:00 JST
    checkins.enqueue_checkins(engine, deps.org, "2026-10", sent_at)
    sweep.run(deps, now=sent_at)
    with session_scope(engine) as s:
        for c in s.scalars(select(Checkin)):
            c.sent_at = sent_at.replace(tzinfo=None)
    assert reminders_job.enqueue_due(deps, now=at(2026, 11, 2, 15)).queued == 0  # Tuesday 00:00 in Tokyo
    assert reminders_job.enqueue_due(deps, now=at(2026, 11, 3, 0)).queued == 1  # Tuesday 09:00 in Tokyo


def test_review_queue_goes_to_each_manager_once_three_days_before_replies_close(
    engine: Engine, emu: SlackEmulator
) -> None:
    from tests.jobs.conftest import artifact_at, team

    people(engine, ["U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U0ERIN"])
    team(engine, "Growth", ["U0ALICE", "U0BOB"], managers=["U0CAROL"])
    team(engine, "Infra", ["U0ERIN"], managers=["U0DAVE"])
    made = at(2026, 11, 20, 12)
    churn = artifact_at(engine, "U0ALICE", "https://a.example.com/1", period="2026-11", title="Churn", created=made)
    artifact_at(engine, "U0BOB", "https://b.example.com/2", period="2026-11", title="Kept", created=made, status="kept")
    # Replies for November close at the end of 7 December (org time, New York): the queue goes out from the 5th.
    deps = make_deps(engine, emu, clock=lambda: at(2026, 12, 4, 12))
    assert run_job(deps, "review-queue", console=quiet_console()) == 0
    assert emu.dm_messages("U0CAROL") == []
    deps = make_deps(engine, emu, clock=lambda: at(2026, 12, 5, 14))
    assert run_job(deps, "review-queue", console=quiet_console()) == 0
    [queue] = emu.dm_messages("U0CAROL")
    assert "Review queue for November 2026: 1 artifact waiting" in queue["text"]
    assert "Monday 7 December" in queue["text"]
    buttons = [e for b in queue["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(e["text"]["text"], e["value"]) for e in buttons] == [
        ("Keep", f"keep_artifact:{churn}:submitted"),
        ("Kill", f"kill_artifact:{churn}:submitted"),
    ]
    assert emu.dm_messages("U0DAVE") == []  # nothing to review in Infra: no DM
    assert run_job(deps, "review-queue", console=quiet_console()) == 0  # once per manager and period
    assert len(emu.dm_messages("U0CAROL")) == 1


def _outbox_rows(engine: Engine) -> int:
    with session_scope(engine) as s:
        return len(s.scalars(select(OutboxMessage)).all())


def test_dry_runs_send_nothing_and_mark_nothing(engine: Engine, emu: SlackEmulator, tmp_path) -> None:
    import json

    ids = people(engine, ["U0ALICE", "U0BOB", "U0CAROL"], tz="America/New_York")
    deps = make_deps(engine, emu, clock=lambda: at(2026, 10, 30, 20))
    console = quiet_console()
    assert run_job(deps, "checkin", console=console, dry_run=tmp_path / "checkin") == 0
    out = console_text(console)
    assert "checkin 2026-10 (dry run): would send 3 messages to 3 recipients; nothing sent, nothing marked" in out
    files = sorted((tmp_path / "checkin").glob("*.json"))
    assert [f.name for f in files] == ["01-checkin-U0ALICE.json", "02-checkin-U0BOB.json", "03-checkin-U0CAROL.json"]
    first = json.loads(files[0].read_text())
    assert "show me the artifact" in first["text"] and first["blocks"][0]["type"] == "section"
    assert emu.call_count("chat.postMessage") == 0 and _outbox_rows(engine) == 0
    assert checkins.status_counts(engine, "2026-10") == {}  # no check-in created

    # The real run, then a reminders dry run when two are due: still nothing sent or counted.
    assert run_job(deps, "checkin", console=quiet_console()) == 0
    with session_scope(engine) as s:
        for c in s.scalars(select(Checkin)):
            c.sent_at = at(2026, 10, 30, 19).replace(tzinfo=None)
    checkins.mark_skipped(engine, ids["U0CAROL"], "2026-10", at(2026, 10, 31, 12))
    later = make_deps(engine, emu, clock=lambda: at(2026, 11, 2, 20, 30))
    sent, rows = emu.call_count("chat.postMessage"), _outbox_rows(engine)
    console = quiet_console()
    assert run_job(later, "reminders", console=console, dry_run=tmp_path / "reminders") == 0
    assert "would send 2 messages to 2 recipients" in console_text(console)
    assert emu.call_count("chat.postMessage") == sent and _outbox_rows(engine) == rows
    with session_scope(engine) as s:
        assert {c.reminders_sent for c in s.scalars(select(Checkin))} == {0}
    assert reminders_job.run(later, now=at(2026, 11, 2, 20, 30)).sent == 2  # the real one still sends them

    # The summary and the period close: previewed, not queued, not frozen.
    for job, when in (("weekly-summary", at(2026, 11, 16, 14)), ("close-period", at(2026, 11, 9, 15))):
        console = quiet_console()
        d = make_deps(engine, emu, clock=lambda when=when: when)
        assert run_job(d, job, console=console, dry_run=tmp_path / job) == 0, console_text(console)
        assert "(dry run)" in console_text(console)
    assert _outbox_rows(engine) == rows + 2
    with session_scope(engine) as s:
        from bot.models import Period

        assert s.get(Period, "2026-10") is None or s.get(Period, "2026-10").status != "closed"


def test_away_people_get_no_checkin_until_back_and_snooze_holds_reminders(engine: Engine, emu: SlackEmulator) -> None:
    from bot.checkins.answers import snooze
    from bot.models import Person

    ids = people(engine, ["U0ALICE", "U0BOB", "U0CAROL", "U0DAVE"], tz="America/New_York")
    with session_scope(engine) as s:
        s.get(Person, ids["U0BOB"]).status_text = ":palm_tree: Vacation"  # type: ignore[union-attr]
        s.get(Person, ids["U0CAROL"]).away_until = dt.date(2026, 11, 3)  # type: ignore[union-attr]
    deps = make_deps(engine, emu, clock=lambda: at(2026, 10, 30, 19))
    assert checkin_job.enqueue_due(deps, now=at(2026, 10, 30, 19)).queued == 2  # 15:00 in New York
    sweep.run(deps, now=at(2026, 10, 30, 19))
    assert set(posts_per_channel(emu)) == {"U0ALICE", "U0DAVE"}

    # Carol is back on the 4th, the window (until 7 November) still open: she is asked then; Bob is still away.
    assert checkin_job.enqueue_due(deps, now=at(2026, 11, 4, 20)).queued == 1
    sweep.run(deps, now=at(2026, 11, 4, 20))
    assert set(posts_per_channel(emu)) == {"U0ALICE", "U0DAVE", "U0CAROL"}

    # Alice presses "Remind me tomorrow" on Monday 2 November 15:00: Dave is reminded, she is not until the 3rd.
    with session_scope(engine) as s:
        for c in s.scalars(select(Checkin)):
            c.sent_at = at(2026, 10, 30, 19).replace(tzinfo=None)
    snooze(engine=engine, org=deps.org, person_id=ids["U0ALICE"], period="2026-10", now=at(2026, 11, 2, 20))
    assert reminders_job.run(deps, now=at(2026, 11, 2, 20, 30)).sent == 1  # Dave: Alice snoozed, Carol away
    assert len(emu.dm_messages("U0ALICE")) == 1 and len(emu.dm_messages("U0DAVE")) == 2
    assert reminders_job.run(deps, now=at(2026, 11, 4, 20, 30)).sent == 3  # Alice, Carol (back), Dave's second
    assert len(emu.dm_messages("U0ALICE")) == 2
    assert "reply by Saturday 7 November" in emu.dm_messages("U0ALICE")[1]["text"]
    assert emu.dm_messages("U0BOB") == []  # away: no check-in, no reminder
