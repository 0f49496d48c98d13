"""A generated organisation games the board; the rules must hold it.

220 people in 20 teams on a real database, driven through the domain functions (DM replies through
``capture_reply``, reviews through ``review``, spend through ``upsert_records``, boards through
``board``). Teams differ in how much real output each dollar buys. Honest people log what they built
(sometimes a teammate's shared pull request, sometimes last month's work again); one person in most
teams games the board in one of seven ways. Managers keep real artifacts and leave junk unreviewed.

The board is bought if a gamer reaches the person board's top decile, or if the team board stops
following the teams' true output per dollar (Spearman's rank correlation below 0.9).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from bot.artifacts.store import capture_reply, review_once
from bot.boards.leaderboard import board
from bot.boards.rollups import check
from bot.config import OrgConfig, TeamConfig, weights_of
from bot.db import session_scope
from bot.errors import PermissionDenied
from bot.models import Artifact, Person
from bot.people.directory import SlackUser
from bot.people.store import upsert_slack_user
from bot.people.teams import import_teams
from bot.spend.usage import UsageRecord, upsert_records

TEAMS = 20
PER_TEAM = 11
LAST, THIS = "2026-09", "2026-10"
GAMES = ("flood", "variants", "reclaim", "colleague", "zero_spend", "burst", "self_review")
ORG = OrgConfig()


@dataclass
class Member:
    uid: str
    team: int
    game: str | None
    spend: float = 0.0
    real: list[str] = field(default_factory=list)  # this month's real artifacts (URLs)
    last: list[str] = field(default_factory=list)  # last month's


def spearman(xs: list[float], ys: list[float]) -> float:
    """Spearman's rank correlation (average ranks for ties)."""

    def ranks(v: list[float]) -> list[float]:
        order = sorted(range(len(v)), key=lambda i: v[i])
        out = [0.0] * len(v)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2 + 1
            i = j + 1
        return out

    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    return cov / math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))


def test_spearman_by_hand():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)


def generate(rng: random.Random) -> list[Member]:
    """Who is in which team, who games how, what everyone spends and really builds."""
    members: list[Member] = []
    n = 0
    for t in range(TEAMS):
        # Teams differ in output per dollar: the ordering the team board must recover.
        productivity = 0.4 + 2.6 * t / (TEAMS - 1)
        gamer_slot = rng.randrange(PER_TEAM) if t % 10 != 9 else None  # 18 gamers, two teams without one
        for i in range(PER_TEAM):
            n += 1
            game = GAMES[sum(1 for m in members if m.game) % len(GAMES)] if i == gamer_slot else None
            m = Member(uid=f"U{n:04d}", team=t, game=game)
            seat = rng.choice([19.0, 40.0, 40.0, 100.0])
            m.spend = 0.0 if game == "zero_spend" else round(seat + rng.lognormvariate(math.log(30), 0.9), 2)
            # Diminishing returns: output grows with the square root of spend.
            expected = productivity * 2.0 * math.sqrt(m.spend / 60.0) if game is None else 0.0
            m.real = [f"https://github.com/acme/t{t}/pull/{n}{k}" for k in range(_poisson(rng, expected))]
            m.last = [f"https://looker.example.com/dashboards/{n}{k}" for k in range(_poisson(rng, 1.5))]
            if game == "variants":
                m.real = [f"https://github.com/acme/t{t}/pull/{n}0"]  # one real PR, claimed five ways
            members.append(m)
    return members


def _poisson(rng: random.Random, lam: float) -> int:
    k, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rng.random()
        if p <= limit:
            return min(k, 8)
        k += 1


def load(engine, members: list[Member], rng: random.Random) -> dict[str, str]:
    """Store people, teams, spend, both months' DM replies and the managers' reviews. Returns each
    gamer's uid → game."""
    with session_scope(engine) as s:
        for m in [*members, *(Member(f"UM{t:03d}", t, None) for t in range(TEAMS))]:
            upsert_slack_user(
                s, SlackUser(slack_user_id=m.uid, name=m.uid, email=f"{m.uid.lower()}@example.com", tz="UTC")
            )
    teams = [
        TeamConfig(name=f"Team {t:02d}", members=[m.uid for m in members if m.team == t], managers=[f"UM{t:03d}"])
        for t in range(TEAMS)
    ]
    with session_scope(engine) as s:
        import_teams(s, teams)
        ids = {p.slack_user_id: p.id for p in s.scalars(select(Person))}
        records = []
        for m in members:
            for period, usd in ((LAST, m.spend), (THIS, m.spend)):
                if usd:
                    records.append(
                        UsageRecord(
                            date=dt.date(int(period[:4]), int(period[5:]), 3),
                            identity=m.uid,
                            person_id=ids[m.uid],
                            provider="openai",
                            model="gpt-4o-mini",
                            input_tokens=1000,
                            output_tokens=100,
                            cost_usd=usd,
                        )
                    )
        upsert_records(s, records, source="csv")

    last_at = dt.datetime(2026, 9, 20, 12, tzinfo=dt.UTC)
    this_at = dt.datetime(2026, 10, 15, 12, tzinfo=dt.UTC)
    end_at = dt.datetime(2026, 10, 31, 22, tzinfo=dt.UTC)  # the last hours of the period
    team_real = defaultdict(list)
    for m in members:
        team_real[m.team].extend(m.real)
    messages: list[tuple[dt.datetime, Member, str]] = []
    for m in members:
        if m.last:
            messages.append((last_at, m, "Last month: " + " and ".join(m.last)))
        if m.game is None:
            if m.real:
                messages.append((this_at, m, "Shipped " + " and ".join(m.real)))
            mates = [u for u in team_real[m.team] if u not in m.real]
            if mates and rng.random() < 0.3:  # paired on a teammate's pull request: both log it
                messages.append((this_at, m, f"Paired on {rng.choice(mates)}"))
            if m.last and rng.random() < 0.2:  # an honest re-mention of last month's work
                messages.append((this_at, m, f"Still improving {m.last[0]}"))
        elif m.game == "flood":
            messages.append((this_at, m, " ".join(f"https://junk.example.com/{m.uid}/{i}" for i in range(12))))
        elif m.game == "variants":
            pr = m.real[0]
            for v in (
                pr,
                pr + "/",
                pr.replace("github.com", "GitHub.com") + "#issuecomment-1",
                pr + "?utm_source=slack",
                pr + "/files",
            ):
                messages.append((this_at, m, f"My PR {v}"))
        elif m.game == "reclaim":
            messages.append((this_at, m, "This month: " + " ".join(m.last)))
        elif m.game == "colleague":
            others = [u for mm in members if mm.real and mm.uid != m.uid for u in mm.real]
            messages.append((this_at, m, "Built " + " ".join(rng.sample(others, 4))))
        elif m.game in ("zero_spend", "self_review"):
            messages.append((this_at, m, " ".join(f"https://notes.example.com/{m.uid}/{i}" for i in range(5))))
        elif m.game == "burst":
            for i in range(8):
                messages.append((end_at + dt.timedelta(minutes=i), m, f"also https://burst.example.com/{m.uid}/{i}"))

    with session_scope(engine) as s:
        people = {p.slack_user_id: p for p in s.scalars(select(Person))}
        for n, (at, m, text) in enumerate(sorted(messages, key=lambda x: (x[0], x[1].uid))):
            capture_reply(s, person=people[m.uid], text=text, event_key=f"sim:{n}", now=at, org=ORG)

    real_this = {u for m in members for u in m.real}
    real_last = {u for m in members for u in m.last}
    with session_scope(engine) as s:
        people = {p.id: p for p in s.scalars(select(Person))}
        by_uid = {p.slack_user_id: p for p in people.values()}
        team_of = {by_uid[m.uid].id: m.team for m in members}
        arts = s.scalars(select(Artifact).order_by(Artifact.id)).all()
        for a in arts:
            owner = people[a.person_id]
            mine = next(m for m in members if m.uid == owner.slack_user_id)
            if mine.game == "self_review":
                with pytest.raises(PermissionDenied):
                    review_once(s, artifact_id=a.id, status="kept", reviewer=owner, now=end_at, may_review=True)
                continue
            real = (a.period == LAST and a.primary_url in real_last) or (
                a.period == THIS and a.primary_url in real_this and mine.game != "colleague"
            )
            # Managers keep real work (most of it: some waits), and leave junk unreviewed.
            if real and rng.random() < 0.9:
                manager = by_uid[f"UM{team_of[a.person_id]:03d}"]
                review_once(s, artifact_id=a.id, status="kept", reviewer=manager, now=end_at, may_review=True)
    return {m.uid: m.game for m in members if m.game}


@dataclass
class Outcome:
    members: list[Member]
    gamers: dict[str, str]
    people: list  # the person board (members only), ranked
    top: list  # its top decile
    rho: float


def simulate(engine) -> Outcome:
    rng = random.Random(20261015)
    members = generate(rng)
    gamers = load(engine, members, rng)
    w = weights_of(ORG)
    with session_scope(engine) as s:
        people = board(s, THIS, w, by="person")
        teams = board(s, THIS, w, by="team")
        assert check(s, w) == []
    uids = {m.uid for m in members}
    ranked = [r for r in people if r.slack_user_id in uids]
    top = ranked[: math.ceil(len(ranked) / 10)]
    # True output per dollar: the real artifacts a team built this month (once each), per $100 of spend.
    truth = {}
    for t in range(TEAMS):
        team = [m for m in members if m.team == t]
        built = len({u for m in team for u in m.real})
        truth[f"Team {t:02d}"] = 100 * built / max(sum(m.spend for m in team), ORG.spend_floor_usd)
    rho = spearman([truth[r.name] for r in teams], [r.artifacts_per_100_usd for r in teams])
    return Outcome(members, gamers, ranked, top, rho)


def test_the_board_cannot_be_bought(engine, capsys):
    out = simulate(engine)
    assert len(out.members) >= 200 and len({m.team for m in out.members}) == TEAMS
    assert set(out.gamers.values()) == set(GAMES)
    in_top = [(r.slack_user_id, out.gamers[r.slack_user_id]) for r in out.top if r.slack_user_id in out.gamers]
    by_game: dict[str, list[int]] = defaultdict(list)
    for r in out.people:
        if r.slack_user_id in out.gamers:
            by_game[out.gamers[r.slack_user_id]].append(r.rank)
    with capsys.disabled():
        print(
            f"\ngaming simulation: {len(out.members)} people in {TEAMS} teams, {len(out.gamers)} gamers; "
            f"person board top decile ({len(out.top)} people, cut-off {out.top[-1].artifacts_per_100_usd:.2f}/$100) "
            f"holds {len(in_top)} gamer(s): {sorted(g for _, g in in_top)}; best rank per game: "
            f"{ {g: min(r) for g, r in sorted(by_game.items())} }; "
            f"team board Spearman vs true output per dollar: {out.rho:.3f}"
        )
    assert out.rho >= 0.9
    # Link floods, URL variants, re-claims, a colleague's links, end-of-period bursts and self-reviews stay
    # out of the top decile.
    assert [g for _, g in in_top if g != "zero_spend"] == [], in_top
    # Spending nothing and claiming: at most three unreviewed claims at half, over the $10 floor.
    bound = 100 * ORG.max_unreviewed_per_person * ORG.unreviewed_weight / ORG.spend_floor_usd
    assert all(
        r.artifacts_per_100_usd <= bound + 1e-9 for r in out.people if out.gamers.get(r.slack_user_id) == "zero_spend"
    )


@pytest.mark.xfail(
    strict=True,
    reason="with the default rules a self-claimer who spends nothing scores 3 × 0.5 ÷ $10 floor = 15/$100, "
    "above this organisation's top-decile cut-off (about 10/$100): closing it needs a rule beyond issue 15 "
    "(e.g. a higher spend floor, or unreviewed credit bounded by spend)",
)
def test_zero_spend_self_claimers_stay_out_of_the_top_decile(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("the same simulation as test_the_board_cannot_be_bought, which runs on PostgreSQL too")
    out = simulate(engine)
    assert [r.slack_user_id for r in out.top if r.slack_user_id in out.gamers] == []
