"""Issue 16, case 5: a Slack status set after the last ``people sync`` stops check-ins the same day.

Slack pushes ``user_change`` when a profile or status changes and ``team_join`` when someone joins:
the bot records both, through signed Events API requests, so "away" is as fresh as Slack's own.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.db import make_engine, session_scope
from bot.models import Person
from testing.signing import event_body
from testing.slack_emulator import make_user
from tests.handlers.conftest import USERS, synced_bot


def _user(uid: str) -> dict:
    return json.loads(json.dumps(next(u for u in USERS if u["id"] == uid)))


def _person(engine, uid: str) -> Person | None:
    with session_scope(engine) as s:
        return s.scalars(select(Person).where(Person.slack_user_id == uid)).first()


def test_status_change_event_stops_the_checkin_without_a_sync(sqlite_template, tmp_path) -> None:
    # Before: Bob set ":palm_tree: Vacation" after the last sync and still got the month-end DM.
    with synced_bot(sqlite_template, tmp_path) as bot:
        engine = make_engine(bot.env["DATABASE_URL"])
        bob = _user("U0BOB")
        bob["profile"].update(status_text="Vacation", status_emoji=":palm_tree:")
        body = event_body({"type": "user_change", "user": bob, "event_ts": "1764600000.000100"})
        assert bot.post(body).status == 200
        bot.wait_for(lambda: (_person(engine, "U0BOB").status_text or "") == ":palm_tree: Vacation")
        assert bot.post(body, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}).status == 200

        res = bot.cli("jobs", "run", "checkin", "--period", "2026-11")
        assert res.returncode == 0, res.stderr
        assert bot.emu.dm_messages("U0BOB") == []  # away: not asked
        assert len(bot.emu.dm_messages("U0ALICE")) == 1

        # Back from holiday: the status is cleared, and the next check-in run asks Bob.
        bob["profile"].update(status_text="", status_emoji="")
        assert bot.post(event_body({"type": "user_change", "user": bob, "event_ts": "1764700000.000100"})).status == 200
        bot.wait_for(lambda: _person(engine, "U0BOB").status_text is None)
        assert bot.cli("jobs", "run", "checkin", "--period", "2026-11").returncode == 0
        [dm] = bot.emu.dm_messages("U0BOB")
        # Sent in December for November: the DM names the month it is about (before: "This month you spent").
        assert "In November 2026 you spent" in json.dumps(dm["blocks"]) and "this month you" not in dm["text"].lower()
        engine.dispose()


def test_team_join_and_removal_update_the_directory(sqlite_template, tmp_path) -> None:
    with synced_bot(sqlite_template, tmp_path) as bot:
        engine = make_engine(bot.env["DATABASE_URL"])
        newcomer = make_user("U0NEW", "nina", email="nina@example.com", real_name="Nina New", tz="Europe/Berlin")
        assert bot.post(event_body({"type": "team_join", "user": newcomer})).status == 200
        nina = bot.wait_for(lambda: _person(engine, "U0NEW"))
        assert nina.name == "Nina New" and nina.email == "nina@example.com" and nina.is_active

        robot = make_user("U0ROBOT", "robot", is_bot=True)
        assert bot.post(event_body({"type": "team_join", "user": robot})).status == 200
        assert bot.post(event_body({"type": "user_change", "user": "U0BROKEN"})).status == 400  # not a user object

        gone = dict(newcomer, deleted=True)
        assert bot.post(event_body({"type": "user_change", "user": gone})).status == 200
        bot.wait_for(lambda: not _person(engine, "U0NEW").is_active)
        assert _person(engine, "U0ROBOT") is None  # bots are not people
        engine.dispose()


def test_the_daily_people_sync_job_catches_what_events_missed(sqlite_template, tmp_path) -> None:
    with synced_bot(sqlite_template, tmp_path) as bot:
        engine = make_engine(bot.env["DATABASE_URL"])
        users = json.loads(json.dumps(USERS))
        next(u for u in users if u["id"] == "U0ERIN")["profile"].update(status_text="Out of office")
        bot.emu.set_users(users)  # no event reached the bot (an outage)
        res = bot.cli("jobs", "run", "people-sync")
        assert res.returncode == 0, res.stderr
        assert "people: 0 new, 6 updated" in res.stdout + res.stderr
        assert _person(engine, "U0ERIN").status_text == "Out of office"
        engine.dispose()


def test_an_older_profile_arriving_late_does_not_undo_a_newer_one(sqlite_template, tmp_path) -> None:
    # Slack may deliver two user_change events out of order: Erin cleared her status (newer), then the
    # event of setting it (older) arrives. The older profile is ignored; Erin is not left "away".
    with synced_bot(sqlite_template, tmp_path) as bot:
        engine = make_engine(bot.env["DATABASE_URL"])
        erin = _user("U0ERIN")
        newer = json.loads(json.dumps(erin))
        newer["updated"] = 1764700000
        newer["profile"].update(status_text="", status_emoji="")
        older = json.loads(json.dumps(erin))
        older["updated"] = 1764600000
        older["profile"].update(status_text="Out sick", status_emoji=":face_with_thermometer:")
        assert bot.post(event_body({"type": "user_change", "user": newer})).status == 200
        bot.wait_for(lambda: _person(engine, "U0ERIN").slack_updated == 1764700000)
        assert bot.post(event_body({"type": "user_change", "user": older})).status == 200
        bot.wait_for(lambda: "user_change for U0ERIN: stale" in bot.log_path.read_text(), timeout=15)
        assert _person(engine, "U0ERIN").status_text is None
        assert _person(engine, "U0ERIN").slack_updated == 1764700000

        later = json.loads(json.dumps(older))
        later["updated"] = 1764800000  # she really is out sick now
        assert bot.post(event_body({"type": "user_change", "user": later})).status == 200
        bot.wait_for(lambda: _person(engine, "U0ERIN").status_text == ":face_with_thermometer: Out sick")
        engine.dispose()
