"""Roll-ups equal the recomputation from raw rows after every kind of change, in any order."""

from __future__ import annotations

import contextlib
import datetime as dt
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.artifacts.store import LinkTaken, NewArtifact, add_artifact, edit_artifact, remove_artifact, review_once
from bot.boards.leaderboard import board
from bot.boards.rollups import check, rebuild_all
from bot.config import TeamConfig
from bot.db import session_scope
from bot.people.store import find_person
from bot.people.teams import import_teams
from bot.scoring import Weights
from bot.spend.usage import UsageRecord, replace_days, upsert_records
from tests import factories as f

W = Weights(max_artifacts_per_person=3, kind_weights={"agent": 2.0})
PEOPLE = ["U1", "U2", "U3", "U4", "U5"]
OPS = ["import", "resync", "artifact", "keep", "kill", "edit", "remove", "move", "read"]


def _person(s, uid):
    p = find_person(s, uid)
    assert p is not None
    return p


def apply(engine, op: str, rng: random.Random) -> None:
    uid = rng.choice(PEOPLE)
    period = rng.choice(["2026-09", "2026-10"])
    day = dt.date(int(period[:4]), int(period[5:]), rng.randint(1, 28))
    with session_scope(engine) as s:
        me = _person(s, uid)
        if op == "import":
            upsert_records(s, [UsageRecord(date=day, identity=f"person:{me.id}", person_id=me.id, provider="openai",
                                           model=rng.choice(["gpt-4o-mini", "acme-unknown"]),
                                           input_tokens=rng.randint(1, 10_000), output_tokens=rng.randint(0, 999),
                                           cost_usd=rng.choice([None, round(rng.uniform(0, 50), 2)]))],
                           source="csv")
        elif op == "resync":
            # A provider re-sync replaces the days: rows may move to another person or vanish.
            other = _person(s, rng.choice(PEOPLE))
            recs = [UsageRecord(date=day, identity="user-x", person_id=other.id, provider="anthropic",
                                model="claude-haiku-4-5", input_tokens=rng.randint(1, 5000), output_tokens=10)
                    ] if rng.random() < 0.7 else []
            replace_days(s, recs, source="anthropic", first=day, last=day)
        elif op == "artifact":
            add_artifact(s, person=me, period=period, source="test", source_key=None, now=f.NOW,
                         new=NewArtifact(title="x", urls=[f"https://s.example/{rng.randint(0, 6)}"],
                                         kind=rng.choice(["agent", "other"])))
        elif op in ("keep", "kill", "edit", "remove"):
            from sqlalchemy import select

            from bot.models import Artifact

            arts = s.scalars(select(Artifact).where(Artifact.removed.is_(False))).all()
            if not arts:
                return
            a = rng.choice(arts)
            owner = s.get(type(me), a.person_id)
            reviewer = _person(s, next(u for u in PEOPLE if _person(s, u).id != a.person_id))
            if op in ("keep", "kill"):
                review_once(s, artifact_id=a.id, status="kept" if op == "keep" else "killed", reviewer=reviewer,
                       now=f.NOW, may_review=True)
            elif op == "edit":
                # A link of another of the owner's artifacts of the period is refused and changes nothing.
                with contextlib.suppress(LinkTaken):
                    edit_artifact(s, artifact_id=a.id, editor=owner, now=f.NOW,
                                  new=NewArtifact(title="y", urls=[f"https://s.example/{rng.randint(0, 6)}"],
                                                  kind=rng.choice(["agent", "other"])))
            else:
                remove_artifact(s, artifact_id=a.id, actor=owner, now=f.NOW)
        elif op == "move":
            # A person changes team.
            members = {"A": [], "B": []}
            for u in PEOPLE:
                members[rng.choice("AB")].append(u)
            import_teams(s, [TeamConfig(name=n, members=m) for n, m in members.items()])
        elif op == "read":
            board(s, period, W, by="team")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), steps=st.lists(st.sampled_from(OPS), min_size=5, max_size=25))
def test_rollups_equal_recomputation_after_any_sequence(tmp_path_factory, seed, steps):
    from bot.db import make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('r') / 'r.db'}")
    upgrade(engine)
    _run(engine, seed, steps)
    engine.dispose()


def _run(engine, seed, steps):
    rng = random.Random(seed)
    for uid in PEOPLE:
        f.person(engine, uid)
    f.teams(engine, {"A": ["U1", "U2", "U3"], "B": ["U3", "U4"]})
    for op in steps:
        apply(engine, op, rng)
        if rng.random() < 0.3:
            with session_scope(engine) as s:
                assert check(s, W) == []
    with session_scope(engine) as s:
        assert check(s, W) == []


def test_rollups_on_each_database(engine):
    # The same random sequences on this fixture's database (SQLite, and PostgreSQL when available).
    _run(engine, 42, ["import", "artifact", "keep", "resync", "move", "artifact", "kill", "edit", "read", "import",
                      "remove", "resync", "artifact", "move", "keep"] * 2)


def test_weights_change_recomputes_and_check_finds_tampering(engine):
    from sqlalchemy import text

    f.person(engine, "U1")
    f.teams(engine, {"T": ["U1"]})
    f.artifact(engine, "U1", "https://a.example/1", kind="agent", status="kept")
    with session_scope(engine) as s:
        assert board(s, "2026-10", Weights(), by="team")[0].artifacts == pytest.approx(1.0)
        assert board(s, "2026-10", W, by="team")[0].artifacts == pytest.approx(2.0)  # agent weight 2
    with session_scope(engine) as s:
        s.execute(text("UPDATE person_period_total SET artifacts = 9"))
    with session_scope(engine) as s:
        diffs = check(s, W)
    assert diffs and diffs[0].what == "person"
    rebuild_all(engine, W)
    with session_scope(engine) as s:
        assert check(s, W) == []


def test_concurrent_writers_and_readers_keep_rollups_exact(engine):
    # Serve answers in several threads and processes: readers refresh the same period at once while
    # writers log artifacts. No refresh may fail (two refreshes inserting the same team row) and
    # the roll-ups must still equal the recomputation afterwards.
    import threading

    for uid in PEOPLE:
        f.person(engine, uid)
    f.teams(engine, {"A": ["U1", "U2", "U3"], "B": ["U3", "U4", "U5"]})
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        rng = random.Random(n)
        try:
            start.wait()
            for i in range(25):
                with session_scope(engine) as s:
                    me = _person(s, rng.choice(PEOPLE))
                    add_artifact(s, person=me, period="2026-10", source="test", source_key=None, now=f.NOW,
                                 new=NewArtifact(title="x", urls=[f"https://c.example/{n}/{i}"], kind="agent"))
                with session_scope(engine) as s:
                    board(s, "2026-10", W, by="team")
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with session_scope(engine) as s:
        assert check(s, W) == []
        rows = {r.name: r.artifacts for r in board(s, "2026-10", W, by="team")}
    # 200 artifacts among 5 people, 3 counted each (the cap), agent weight 2, not yet reviewed (half):
    # every person counts 3, and U3 is in both teams.
    assert rows == {"A": pytest.approx(9.0), "B": pytest.approx(9.0)}


def test_a_mark_made_while_a_refresh_runs_survives_it(engine):
    # A refresh reads the marks, computes, then clears what it read. A writer that commits in
    # between (a new artifact for a person already marked) must leave that person marked, or the
    # new artifact would never reach the roll-ups.
    from sqlalchemy import text

    from bot.boards.rollups import _clear_marks, _marks

    f.person(engine, "U1")
    f.teams(engine, {"A": ["U1"]})
    f.artifact(engine, "U1", "https://m.example/1", kind="agent", status="kept")
    with session_scope(engine) as refresher:
        seen = _marks(refresher, "2026-10")
        assert [pid for pid, _ in seen] == [1]
        f.artifact(engine, "U1", "https://m.example/2", kind="agent", status="kept")  # commits meanwhile
        _clear_marks(refresher, "2026-10", seen)
    with session_scope(engine) as s:
        left = s.execute(text("SELECT person_id, version FROM rollup_dirty WHERE period = '2026-10'")).all()
        assert len(left) == 1 and left[0][0] == 1 and left[0][1] > seen[0][1]  # marked again, newer
        assert board(s, "2026-10", W, by="team")[0].artifacts == pytest.approx(4.0)  # both, agent weight 2
        assert check(s, W) == []
