"""Which workspace a queued message goes out from in an org-wide install, and none in a plain one."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.config import TeamConfig
from bot.db import session_scope
from bot.models import OutboxMessage, PersonWorkspace, Workspace
from bot.people import directory
from bot.people.teams import import_teams
from bot.slack import outbox
from tests import factories

NOW = dt.datetime(2026, 10, 30, 20, 0, tzinfo=dt.UTC)


def grid(engine: Engine) -> dict[str, int]:
    ids = {sid: factories.person(engine, sid) for sid in ("W0ANN", "W0BEN", "W0CAT", "W0DAN")}
    homes = {"W0ANN": "T0ONE", "W0BEN": "T0TWO", "W0CAT": "T0TWO", "W0DAN": "T0TWO"}
    with session_scope(engine) as s:
        s.add_all([Workspace(team_id="T0ONE", enterprise_id="E0X"), Workspace(team_id="T0TWO", enterprise_id="E0X")])
        for sid, pid in ids.items():
            s.add(PersonWorkspace(person_id=pid, team_id=homes[sid], home=True))
        s.add(PersonWorkspace(person_id=ids["W0BEN"], team_id="T0ONE", home=False))
        import_teams(s, [TeamConfig(name="Growth", members=["W0ANN"], channel="C0GROWTH")])
    return ids


def test_dms_go_from_the_home_workspace_and_channel_posts_from_the_teams(engine: Engine) -> None:
    ids = grid(engine)
    assert directory.has_workspaces(engine)
    assert directory.home_workspaces(engine, ids.values()) == {
        ids["W0ANN"]: "T0ONE",
        ids["W0BEN"]: "T0TWO",  # a member of both, at home in TWO
        ids["W0CAT"]: "T0TWO",
        ids["W0DAN"]: "T0TWO",
    }
    assert directory.channel_workspace(engine, "C0GROWTH") == "T0ONE"  # where the team's members are at home
    assert directory.channel_workspace(engine, "C0SUMMARY") == "T0TWO"  # elsewhere: where most people are

    items = [outbox.OutboxItem(f"dm:{sid}", "checkin", sid, "hi", [], person_id=pid) for sid, pid in ids.items()] + [
        outbox.OutboxItem("growth", "summary", "C0GROWTH", "board", []),
        outbox.OutboxItem("summary", "summary", "C0SUMMARY", "board", []),
        outbox.OutboxItem("pinned", "summary", "C0PINNED", "board", [], team_id="T0ONE"),
    ]
    assert outbox.enqueue(engine, items, now=NOW) == 7
    with session_scope(engine) as s:
        teams = dict(s.execute(select(OutboxMessage.channel, OutboxMessage.team_id)).all())
    assert teams == {
        "W0ANN": "T0ONE",
        "W0BEN": "T0TWO",
        "W0CAT": "T0TWO",
        "W0DAN": "T0TWO",
        "C0GROWTH": "T0ONE",
        "C0SUMMARY": "T0TWO",
        "C0PINNED": "T0ONE",
    }


def test_a_single_workspace_install_stores_no_workspace(engine: Engine) -> None:
    pid = factories.person(engine, "U0ANN")
    assert not directory.has_workspaces(engine)
    outbox.enqueue(engine, [outbox.OutboxItem("dm", "checkin", "U0ANN", "hi", [], person_id=pid)], now=NOW)
    with session_scope(engine) as s:
        assert s.scalars(select(OutboxMessage.team_id)).all() == [None]
