"""What people ask of the boards (``bot.boards.answers``) on a real database: report, leaderboard, home, keep/kill."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.boards import answers
from bot.config import OrgConfig
from bot.db import session_scope
from bot.errors import InputError, NotFound, PermissionDenied
from bot.models import Artifact, OutputSignal
from bot.people.store import find_person
from tests import factories as f

NOW = f.NOW  # 2026-10-30 20:00 UTC
ORG = OrgConfig(timezone="UTC", admins=["UADMIN"], min_team_size=2)


@pytest.fixture
def org(engine: Engine) -> Engine:
    for uid in ("U1", "U2", "U3", "UM", "UN", "UADMIN"):
        f.person(engine, uid, name=f"Name {uid}")
    # UM manages A and B; UN manages B only. C has one member (hidden on the public board).
    f.teams(
        engine,
        {"A": ["U1", "U2"], "B": ["U3", "UN"], "C": ["UADMIN"]},
        managers={"A": ["UM"], "B": ["UM", "UN"]},
    )
    f.spend(engine, "U1", 50.0)
    f.spend(engine, "U3", 50.0)
    f.artifact(engine, "U1", "https://x.example/a", title="Agent A")
    return engine


def _report(engine: Engine, user: str, team: str | None, period: str | None = "2026-10") -> Any:
    return answers.team_report(engine=engine, org=ORG, user_id=user, team_name=team, period=period, now=NOW)


def test_a_manager_gets_their_teams_report(org: Engine):
    rep = _report(org, "UN", None, period=None)  # one managed team: no need to name it; period defaults to now
    assert (rep.team, rep.period) == ("B", "2026-10")
    assert _report(org, "UM", "a").team == "A"  # team names match case-insensitively


def test_people_who_manage_nothing_are_refused_the_same_way_for_any_team(org: Engine):
    for team in ("A", "No Such Team", None):
        with pytest.raises(PermissionDenied) as caught:
            _report(org, "U1", team)
        assert str(caught.value) == answers.REFUSAL
    with pytest.raises(PermissionDenied, match="only for their own teams"):
        _report(org, "UN", "A")  # a manager of another team
    with pytest.raises(PermissionDenied, match="only for their own teams"):
        _report(org, "UN", "No Such Team")  # existence is not revealed


def test_admins_see_any_team_and_hear_when_it_does_not_exist(org: Engine):
    assert _report(org, "UADMIN", "B").team == "B"
    with pytest.raises(NotFound, match="No team named 'Nope'"):
        _report(org, "UADMIN", "Nope")


def test_a_manager_of_several_teams_must_say_which(org: Engine):
    with pytest.raises(InputError, match="Which team"):
        _report(org, "UM", None)


class _Writer:
    def __init__(self, answer: str | Exception) -> None:
        self.answer = answer
        self.data: list[dict[str, Any]] = []

    def write_narrative(self, data: dict[str, Any]) -> str:
        self.data.append(data)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_the_narrative_is_optional_and_never_fails_the_report(org: Engine):
    rep = _report(org, "UM", "A")
    assert answers.narrative(llm=None, report=rep) is None
    writer = _Writer("A shipped one agent.")
    assert answers.narrative(llm=writer, report=rep) == "A shipped one agent."
    assert writer.data == [rep.as_json()]
    assert answers.narrative(llm=_Writer(RuntimeError("down")), report=rep) is None


def test_the_public_board_hides_small_teams_and_ranks_the_rest(org: Engine):
    got = answers.team_board(engine=org, org=ORG, period=None, now=NOW)
    assert got.period == "2026-10" and got.hidden == 1
    assert [(r.name, r.rank) for r in got.rows] == [("A", 1), ("B", 2)]
    empty = answers.team_board(engine=org, org=ORG, period="2026-01", now=NOW)
    assert empty.period == "2026-01" and [r.artifacts for r in empty.rows] == [0, 0]


def test_keep_and_kill_by_a_manager_of_the_makers_team(org: Engine):
    aid = f.artifact(org, "U1", "https://x.example/b", title="Agent B")
    kept = answers.review_artifact(engine=org, org=ORG, user_id="UM", artifact_id=aid, keep=True, now=NOW)
    assert (kept.title, kept.period, kept.status) == ("Agent B", "2026-10", "kept")
    killed = answers.review_artifact(engine=org, org=ORG, user_id="UADMIN", artifact_id=aid, keep=False, now=NOW)
    assert killed.status == "killed"
    with session_scope(org) as s:
        art = s.get(Artifact, aid)
        assert art is not None and art.status == "killed" and art.reviewed_by == "UADMIN"


@pytest.mark.parametrize(
    ("user", "error", "message"),
    [
        ("UN", PermissionDenied, "Only a manager of this person's team"),  # manages B, not A
        ("U2", PermissionDenied, "Only a manager of this person's team"),  # a teammate
        ("U1", PermissionDenied, "own artifact"),  # the maker
        ("USTRANGER", PermissionDenied, "Only a manager of this person's team"),  # never seen
    ],
)
def test_others_may_not_review(org: Engine, user: str, error: type[Exception], message: str):
    aid = f.artifact(org, "U1", "https://x.example/c")
    with pytest.raises(error, match=message):
        answers.review_artifact(engine=org, org=ORG, user_id=user, artifact_id=aid, keep=True, now=NOW)
    with session_scope(org) as s:
        art = s.get(Artifact, aid)
        assert art is not None and art.status == "submitted"


def test_reviewing_a_missing_artifact(org: Engine):
    with pytest.raises(NotFound, match="no longer exists"):
        answers.review_artifact(engine=org, org=ORG, user_id="UM", artifact_id=999_999, keep=True, now=NOW)


def test_home_shows_my_spend_artifacts_team_and_a_suggestion(org: Engine):
    with session_scope(org) as s:
        me = find_person(s, "U1")
        assert me is not None and me.id is not None
        s.add(
            OutputSignal(
                source="claude_code",
                date=dt.date(2026, 10, 3),
                period="2026-10",
                identity="u1@example.com",
                person_id=me.id,
                metric="pull_requests",
                value=3,
            )
        )
    got = answers.home(engine=org, org=ORG, person=me, now=NOW)
    assert got.data.period == "2026-10" and got.data.spend_usd == pytest.approx(50.0)
    assert [title for title, _, _ in got.data.artifacts] == ["Agent A"]
    assert got.data.team_lines and got.data.team_lines[0].startswith("*A*: rank")
    assert got.suggestion is not None and "3 PRs" in got.suggestion
    with session_scope(org) as s:
        other = find_person(s, "U2")
    assert other is not None
    assert answers.home(engine=org, org=ORG, person=other, now=NOW).suggestion is None
