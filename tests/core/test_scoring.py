"""The formula of DESIGN.md: SQL aggregates against hand-computed values and the reference."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.boards.leaderboard import board
from bot.config import weights_of
from bot.db import make_engine, session_scope, upgrade
from bot.scoring import ArtifactFact, Weights, reference_board, score
from tests import factories as f

W = Weights()


def team_board(engine, period="2026-10", w=W):
    with session_scope(engine) as s:
        return {r.name: r for r in board(s, period, w, by="team")}


def test_score_formula_and_floor():
    assert score(2, 50, 10) == pytest.approx(4.0)
    assert score(2, 0, 10) == pytest.approx(20.0)  # the floor: spending nothing does not top the board
    assert score(0, 100, 10) == 0


def test_hand_computed_team_board(engine):
    for uid in ("U1", "U2", "U3", "U4", "U5"):
        f.person(engine, uid)
    f.teams(engine, {"Alpha": ["U1", "U2"], "Beta": ["U3", "U4"]})
    f.spend(engine, "U1", 40.0)
    f.spend(engine, "U2", 10.0)
    f.spend(engine, "U3", 5.0)
    f.spend(engine, "U5", 99.0)  # in no team: on the person board only
    f.artifact(engine, "U1", "https://github.com/a/one", status="kept")  # 1.0
    f.artifact(engine, "U1", "https://github.com/a/two")  # 0.5 (submitted)
    f.artifact(engine, "U2", "https://github.com/a/dead", status="killed")  # 0
    f.artifact(engine, "U3", "https://github.com/b/x", status="kept")  # 1.0
    rows = team_board(engine)
    alpha, beta = rows["Alpha"], rows["Beta"]
    assert alpha.artifacts == pytest.approx(1.5)
    assert alpha.spend_usd == pytest.approx(50.0)
    assert alpha.artifacts_per_100_usd == pytest.approx(3.0)
    assert alpha.unmatched_spend_usd == pytest.approx(10.0)  # U2's only artifact was killed
    assert beta.artifacts == pytest.approx(1.0)
    assert beta.spend_usd == pytest.approx(5.0)
    assert beta.artifacts_per_100_usd == pytest.approx(10.0)  # 100 × 1 ÷ max(5, 10)
    assert beta.unmatched_spend_usd == 0
    assert (beta.rank, alpha.rank) == (1, 2)
    with session_scope(engine) as s:
        people = {r.slack_user_id: r for r in board(s, "2026-10", W, by="person")}
    assert people["U5"].artifacts_per_100_usd == 0 and people["U5"].unmatched_spend_usd == pytest.approx(99.0)
    assert people["U1"].artifacts == pytest.approx(1.5)


def test_cap_counts_highest_first(engine):
    f.person(engine, "U1")
    f.teams(engine, {"T": ["U1"]})
    w = Weights(max_artifacts_per_person=3)
    for i in range(5):
        f.artifact(engine, "U1", f"https://x.example/{i}")  # 0.5 each
    f.artifact(engine, "U1", "https://x.example/kept", status="kept")  # 1.0
    rows = team_board(engine, w=w)
    assert rows["T"].artifacts == pytest.approx(1.0 + 0.5 + 0.5)


def test_same_url_counts_once_per_person_and_team(engine):
    for uid in ("U1", "U2"):
        f.person(engine, uid)
    f.teams(engine, {"T": ["U1", "U2"]})
    f.artifact(engine, "U1", "https://github.com/acme/agent", status="kept")
    # Same link, differently written: one per person anyway (the service returns the existing one).
    f.artifact(engine, "U1", "http://www.github.com/acme/agent/?utm_source=slack#readme")
    f.artifact(engine, "U2", "https://github.com/acme/agent")  # shared artifact, submitted
    rows = team_board(engine)
    assert rows["T"].artifacts == pytest.approx(1.0)  # counted once, at its highest value
    with session_scope(engine) as s:
        people = {r.slack_user_id: r for r in board(s, "2026-10", W, by="person")}
    assert people["U1"].artifacts == pytest.approx(1.0)
    assert people["U2"].artifacts == pytest.approx(0.5)


def test_kind_weights_and_unreviewed_weight(engine, tmp_path):
    f.person(engine, "U1")
    f.teams(engine, {"T": ["U1"]})
    f.artifact(engine, "U1", "https://d.example/1", kind="dashboard", status="kept")
    f.artifact(engine, "U1", "https://d.example/2", kind="agent")
    w = Weights(unreviewed_weight=0.25, kind_weights={"dashboard": 2.0, "agent": 3.0})
    assert team_board(engine, w=w)["T"].artifacts == pytest.approx(2.0 + 0.75)


def test_ties_break_by_artifacts_then_spend_then_name(engine):
    for uid in ("U1", "U2", "U3", "U4"):
        f.person(engine, uid)
    f.teams(engine, {"Zed": ["U1"], "Abe": ["U2"], "Mid": ["U3"], "Low": ["U4"]})
    # Zed and Abe: same score, same artifacts, same spend -> by name. Mid: same score, more artifacts.
    for uid, urls, usd in (("U1", 1, 10.0), ("U2", 1, 10.0), ("U3", 2, 20.0), ("U4", 0, 0.0)):
        f.spend(engine, uid, usd) if usd else None
        for i in range(urls):
            f.artifact(engine, uid, f"https://{uid.lower()}.example/{i}", status="kept")
    with session_scope(engine) as s:
        names = [r.name for r in board(s, "2026-10", W, by="team")]
    assert names == ["Mid", "Abe", "Zed", "Low"]


def test_zero_spend_uses_floor_and_bar_from_previous_period(engine):
    f.person(engine, "U1")
    f.teams(engine, {"T": ["U1"]})
    f.artifact(engine, "U1", "https://a.example/sept", status="kept", period="2026-09")
    f.spend(engine, "U1", 50.0, day=dt.date(2026, 9, 3))
    f.artifact(engine, "U1", "https://a.example/oct", status="kept")
    sept = team_board(engine, period="2026-09")["T"]
    assert sept.bar is None and sept.cleared_bar is None  # first month: no bar
    oct_ = team_board(engine)["T"]
    assert oct_.spend_usd == 0
    assert oct_.artifacts_per_100_usd == pytest.approx(10.0)  # 100 × 1 ÷ floor 10
    assert oct_.bar == pytest.approx(2.0)
    assert oct_.cleared_bar is True


def test_removed_artifacts_do_not_count(engine):
    from bot.artifacts.store import remove_artifact
    from bot.people.store import find_person

    f.person(engine, "U1")
    f.teams(engine, {"T": ["U1"]})
    aid = f.artifact(engine, "U1", "https://a.example/x", status="kept")
    with session_scope(engine) as s:
        me = find_person(s, "U1")
        remove_artifact(s, artifact_id=aid, actor=me, now=f.NOW)
    assert team_board(engine)["T"].artifacts == 0


# --- properties -------------------------------------------------------------------------------

people_ids = st.sampled_from(["U1", "U2", "U3", "U4"])


def fact_lists(*, links: int, max_size: int, periods: list[str] | None = None) -> st.SearchStrategy[list[tuple]]:
    """Lists of ``(person, link number, kind, status)`` facts, each ending with a period when ``periods``."""
    fields = [
        people_ids,
        st.integers(0, links),
        st.sampled_from(["agent", "dashboard", "other"]),
        st.sampled_from(["submitted", "kept", "killed"]),
    ]
    if periods:
        fields.append(st.sampled_from(periods))
    return st.lists(st.tuples(*fields), max_size=max_size)


facts = fact_lists(links=6, max_size=14)
spends = st.fixed_dictionaries(
    {u: st.floats(0, 200, allow_nan=False).map(lambda x: round(x, 2)) for u in ("U1", "U2", "U3", "U4")}
)
TEAMS = {"A": ["U1", "U2"], "B": ["U3"], "C": ["U3", "U4"]}
PW = Weights(max_artifacts_per_person=3, kind_weights={"agent": 2.0})


def _people_and_spend(engine, spend_):
    """U1..U4 in TEAMS, each with the spend ``spend_`` gives them (none when 0)."""
    for uid in ("U1", "U2", "U3", "U4"):
        f.person(engine, uid)
    f.teams(engine, TEAMS)
    for uid, usd in spend_.items():
        if usd:
            f.spend(engine, uid, usd)


def _load(engine, facts_, spend_):
    _people_and_spend(engine, spend_)
    seen = set()
    for uid, n, kind, status in facts_:
        if (uid, n) in seen:
            continue
        seen.add((uid, n))
        f.artifact(engine, uid, f"https://shared.example/{n}", kind=kind, status=status)


def _fresh(tmp_path_factory):
    path = tmp_path_factory.mktemp("prop") / "p.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts_=facts, spend_=spends)
def test_sql_board_equals_the_formula(tmp_path_factory, facts_, spend_):
    engine = _fresh(tmp_path_factory)
    _load(engine, facts_, spend_)
    seen, ref_facts = set(), []
    for uid, n, kind, status in facts_:
        if (uid, n) not in seen:
            seen.add((uid, n))
            ref_facts.append(ArtifactFact(uid, f"https://shared.example/{n}", kind, status))
    expected = reference_board(spend=spend_, artifacts=ref_facts, teams=TEAMS, w=PW)
    with session_scope(engine) as s:
        got = board(s, "2026-10", PW, by="team")
    assert [r.name for r in got] == [e["name"] for e in expected]
    for g, e in zip(got, expected, strict=True):
        assert g.artifacts == pytest.approx(e["artifacts"])
        assert g.spend_usd == pytest.approx(e["spend_usd"])
        assert g.artifacts_per_100_usd == pytest.approx(e["artifacts_per_100_usd"])
        assert g.unmatched_spend_usd == pytest.approx(e["unmatched_spend_usd"])
    engine.dispose()


@settings(max_examples=40, deadline=None)
@given(facts_=facts, spend_=spends, victim=st.integers(0, 13), extra=st.floats(0.01, 500))
def test_properties_of_the_formula(facts_, spend_, victim, extra):
    arts = [ArtifactFact(u, f"https://s.example/{n}", k, s) for u, n, k, s in facts_]
    base = {
        r["name"]: r["artifacts_per_100_usd"] for r in reference_board(spend=spend_, artifacts=arts, teams=TEAMS, w=PW)
    }
    # Killing an artifact never raises a score.
    if arts:
        a = arts[victim % len(arts)]
        killed = [
            *arts[: victim % len(arts)],
            ArtifactFact(a.person, a.url, a.kind, "killed"),
            *arts[victim % len(arts) + 1 :],
        ]
        after = {
            r["name"]: r["artifacts_per_100_usd"]
            for r in reference_board(spend=spend_, artifacts=killed, teams=TEAMS, w=PW)
        }
        assert all(after[t] <= base[t] + 1e-9 for t in base)
    # More spend never raises a score.
    more = {**spend_, "U1": spend_["U1"] + extra}
    after = {
        r["name"]: r["artifacts_per_100_usd"] for r in reference_board(spend=more, artifacts=arts, teams=TEAMS, w=PW)
    }
    assert all(after[t] <= base[t] + 1e-9 for t in base)
    # Order of input rows never changes the board.
    rev = reference_board(spend=spend_, artifacts=list(reversed(arts)), teams=TEAMS, w=PW)
    assert [(r["name"], round(float(r["artifacts_per_100_usd"]), 9)) for r in rev] == [
        (r["name"], round(float(r["artifacts_per_100_usd"]), 9))
        for r in reference_board(spend=spend_, artifacts=arts, teams=TEAMS, w=PW)
    ]


def test_weights_of_config():
    from bot.config import parse_org_config

    org = parse_org_config("spend_floor_usd: 5\nunreviewed_weight: 0.2\nkind_weights: {agent: 2}\n")
    w = weights_of(org)
    assert (w.spend_floor_usd, w.unreviewed_weight, w.kind("agent"), w.kind("other")) == (5, 0.2, 2, 1.0)
    assert weights_of(org).max_unreviewed_per_person == 3  # the default
    assert weights_of(parse_org_config("max_unreviewed_per_person: 1\n")).max_unreviewed_per_person == 1


def test_a_closed_period_answers_with_its_frozen_board(engine):
    from bot.checkins.closing import freeze
    from bot.config import OrgConfig

    f.person(engine, "U1")
    f.person(engine, "U2")
    f.teams(engine, {"T": ["U1"]})
    aid = f.artifact(engine, "U1", "https://a.example/frozen", status="kept")
    assert freeze(engine, OrgConfig(), "2026-10", f.NOW)[0]
    with session_scope(engine) as s:
        from bot.models import Artifact

        s.get(Artifact, aid).status = "killed"  # a late review after the close
    with session_scope(engine) as s:
        team = board(s, "2026-10", W, by="team")
        people = {r.slack_user_id: r for r in board(s, "2026-10", W, by="person")}
    assert team[0].artifacts == pytest.approx(1.0) and team[0].rank == 1
    assert people["U1"].artifacts == pytest.approx(1.0)


# --- nothing counted twice across months; a cap on unreviewed claims ---------------------------------


def test_unreviewed_claims_count_at_most_three_highest_first(engine):
    f.person(engine, "U1")
    f.teams(engine, {"T": ["U1"]})
    for i in range(12):  # a flood of links nobody reviewed
        f.artifact(engine, "U1", f"https://junk.example/{i}")
    f.artifact(engine, "U1", "https://junk.example/agent", kind="agent")
    w = Weights(kind_weights={"agent": 2.0})
    # The agent (2 × 0.5) first, then two of the others (0.5 each): three unreviewed in all.
    assert team_board(engine, w=w)["T"].artifacts == pytest.approx(1.0 + 0.5 + 0.5)
    for i in range(4):
        f.artifact(engine, "U1", f"https://real.example/{i}", status="kept")
    # Kept ones are not limited by the unreviewed cap, only by the overall cap of 10.
    assert team_board(engine, w=w)["T"].artifacts == pytest.approx(4.0 + 2.0)
    assert team_board(engine, w=Weights(max_unreviewed_per_person=0))["T"].artifacts == pytest.approx(4.0)


def test_a_link_counted_last_month_is_carried_over_for_everyone(engine):
    for uid in ("U1", "U2", "U3"):
        f.person(engine, uid)
    f.teams(engine, {"A": ["U1"], "B": ["U2"], "C": ["U3"]})
    f.artifact(engine, "U1", "https://looker.example/dash/7", status="kept", period="2026-09")
    f.artifact(engine, "U1", "https://looker.example/dash/7/", status="kept")  # re-claimed by its maker
    f.artifact(engine, "U2", "http://www.looker.example/dash/7?utm_source=x")  # and by a colleague
    f.artifact(engine, "U3", "https://looker.example/dash/8", status="kept")
    rows = team_board(engine)
    assert (rows["A"].artifacts, rows["B"].artifacts, rows["C"].artifacts) == (0, 0, pytest.approx(1.0))
    assert team_board(engine, period="2026-09")["A"].artifacts == pytest.approx(1.0)


def test_a_review_of_an_earlier_month_moves_later_months(engine):
    from bot.artifacts.store import review_once
    from bot.people.store import find_person

    for uid in ("U1", "U2", "M"):
        f.person(engine, uid)
    f.teams(engine, {"A": ["U1"], "B": ["U2"]})
    sept = f.artifact(engine, "U1", "https://github.com/acme/app/pull/3", period="2026-09")
    f.artifact(engine, "U2", "https://github.com/acme/app/pull/3/files", status="kept")
    assert team_board(engine)["B"].artifacts == 0  # carried over from September
    with session_scope(engine) as s:
        review_once(s, artifact_id=sept, status="killed", reviewer=find_person(s, "M"), now=f.NOW, may_review=True)
    assert team_board(engine)["B"].artifacts == pytest.approx(1.0)  # the roll-up followed the kill
    with session_scope(engine) as s:
        review_once(s, artifact_id=sept, status="kept", reviewer=find_person(s, "M"), now=f.NOW, may_review=True)
    assert team_board(engine)["B"].artifacts == 0
    # A claim imported for an even earlier month takes it back from September too.
    f.artifact(engine, "U2", "https://github.com/acme/app/pull/3", status="kept", period="2026-08")
    assert team_board(engine, period="2026-09")["A"].artifacts == 0
    with session_scope(engine) as s:
        from bot.boards.rollups import check

        assert check(s, W) == []


multi_facts = fact_lists(links=5, max_size=18, periods=["2026-09", "2026-10", "2026-11"])
MW = Weights(max_artifacts_per_person=3, max_unreviewed_per_person=2, kind_weights={"agent": 2.0})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts_=multi_facts, spend_=spends)
def test_sql_board_equals_the_formula_across_months(tmp_path_factory, facts_, spend_):
    engine = _fresh(tmp_path_factory)
    _people_and_spend(engine, spend_)
    seen, ref_facts = set(), []
    for uid, n, kind, status, period in facts_:
        if (uid, n, period) in seen:
            continue
        seen.add((uid, n, period))
        f.artifact(engine, uid, f"https://shared.example/{n}", kind=kind, status=status, period=period)
        ref_facts.append(ArtifactFact(uid, f"https://shared.example/{n}", kind, status, period))
    with session_scope(engine) as s:
        for period in ("2026-09", "2026-10", "2026-11"):
            spent = spend_ if period == "2026-10" else {}
            expected = reference_board(spend=spent, artifacts=ref_facts, teams=TEAMS, w=MW, period=period)
            got = board(s, period, MW, by="team")
            assert [r.name for r in got] == [e["name"] for e in expected]
            for g, e in zip(got, expected, strict=True):
                assert g.artifacts == pytest.approx(e["artifacts"])
                assert g.unmatched_spend_usd == pytest.approx(e["unmatched_spend_usd"])
    engine.dispose()
