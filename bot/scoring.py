"""The scoring formula of DESIGN.md, as pure functions.

The leaderboard service computes the same thing in SQL aggregates; ``reference_board`` is the
plain-Python statement of the formula that the tests hold the SQL to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

KEPT, SUBMITTED, KILLED = "kept", "submitted", "killed"
STATUSES = (SUBMITTED, KEPT, KILLED)


@dataclass(frozen=True)
class Weights:
    """Scoring parameters from the organisation config."""

    unreviewed_weight: float = 0.5
    spend_floor_usd: float = 10.0
    max_artifacts_per_person: int = 10
    kind_weights: Mapping[str, float] | None = None

    def kind(self, kind: str) -> float:
        return (self.kind_weights or {}).get(kind, 1.0)

    def trust(self, status: str) -> float:
        return trust(status, self.unreviewed_weight)


def trust(status: str, unreviewed_weight: float) -> float:
    """1.0 for kept, ``unreviewed_weight`` for submitted, 0 for killed."""
    if status == KEPT:
        return 1.0
    if status == SUBMITTED:
        return unreviewed_weight
    return 0.0


def score(artifacts: float, spend: float, spend_floor_usd: float) -> float:
    """Artifacts per $100: ``100 × artifacts ÷ max(spend, floor)``."""
    return 100.0 * artifacts / max(spend, spend_floor_usd)


def rank_key(score_: float, artifacts: float, spend: float, name: str) -> tuple[float, float, float, str]:
    """Sort key: score desc, then artifacts desc, then spend asc, then name asc."""
    return (-round(score_, 9), -round(artifacts, 9), round(spend, 9), name)


def cleared(score_: float, bar: float | None) -> bool | None:
    """Whether a score clears the bar; None when there is no bar (a first month)."""
    if bar is None:
        return None
    return round(score_, 9) >= round(bar, 9)


@dataclass(frozen=True)
class ArtifactFact:
    """One artifact as the formula sees it."""

    person: str
    url: str  # normalised primary URL
    kind: str
    status: str


def person_counted(artifacts: Iterable[ArtifactFact], w: Weights) -> dict[str, dict[str, float]]:
    """Per person, the counted artifacts: URL → value, after dedup (highest) and the cap."""
    best: dict[str, dict[str, float]] = defaultdict(dict)
    for a in artifacts:
        value = w.kind(a.kind) * w.trust(a.status)
        cur = best[a.person].get(a.url)
        if cur is None or value > cur:
            best[a.person][a.url] = value
    out: dict[str, dict[str, float]] = {}
    for person, urls in best.items():
        top = sorted(urls.items(), key=lambda kv: (-kv[1], kv[0]))[: w.max_artifacts_per_person]
        out[person] = {u: v for u, v in top if v > 0}
    return out


def reference_board(
    *,
    spend: Mapping[str, float],
    artifacts: Iterable[ArtifactFact],
    teams: Mapping[str, Iterable[str]],
    w: Weights,
) -> list[dict[str, float | str | int]]:
    """The team board straight from the formula (for tests and small data)."""
    counted = person_counted(artifacts, w)
    rows = []
    for team, members in teams.items():
        members = list(members)
        urls: dict[str, float] = {}
        team_spend = 0.0
        unmatched = 0.0
        for m in members:
            s = spend.get(m, 0.0)
            team_spend += s
            mine = counted.get(m, {})
            if sum(mine.values()) == 0:
                unmatched += s
            for u, v in mine.items():
                urls[u] = max(urls.get(u, 0.0), v)
        arts = sum(urls.values())
        rows.append(
            {
                "name": team,
                "artifacts": arts,
                "spend_usd": team_spend,
                "artifacts_per_100_usd": score(arts, team_spend, w.spend_floor_usd),
                "unmatched_spend_usd": unmatched,
            }
        )
    rows.sort(
        key=lambda r: rank_key(
            float(r["artifacts_per_100_usd"]), float(r["artifacts"]), float(r["spend_usd"]), str(r["name"])
        )
    )
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows
