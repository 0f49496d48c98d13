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
    max_unreviewed_per_person: int = 3
    kind_weights: Mapping[str, float] | None = None

    def kind(self, kind: str) -> float:
        return (self.kind_weights or {}).get(kind, 1.0)

    def trust(self, status: str) -> float:
        return trust(status, self.unreviewed_weight)

    def value(self, kind: str, status: str) -> float:
        """An artifact's value before de-duplication, the caps and carry-over."""
        return self.kind(kind) * self.trust(status)


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
    url: str  # canonical primary URL
    kind: str
    status: str
    period: str = ""


def first_periods(artifacts: Iterable[ArtifactFact], w: Weights) -> dict[str, str]:
    """Per canonical URL, the first period in which somebody claimed it with a value (kept, or submitted
    while unreviewed claims count): from then on it is that period's, and later claims are carried over."""
    first: dict[str, str] = {}
    for a in artifacts:
        if w.value(a.kind, a.status) > 0 and (a.url not in first or a.period < first[a.url]):
            first[a.url] = a.period
    return first


def person_counted(
    artifacts: Iterable[ArtifactFact], w: Weights, *, period: str | None = None
) -> dict[str, dict[str, float]]:
    """Per person, the counted artifacts of a period: URL → value.

    A URL first claimed in an earlier period (by anyone) is carried over and counts 0. Each person's
    URL counts once, at its best claim; of the unreviewed ones (best claim ``submitted``) at most
    ``max_unreviewed_per_person`` count, the highest first; of all of them at most
    ``max_artifacts_per_person``, the highest first (ties: the URL in alphabetical order). With
    ``period`` None every fact is taken as one period's.
    """
    facts = list(artifacts)
    first = first_periods(facts, w) if period is not None else {}
    best: dict[str, dict[str, tuple[float, bool]]] = defaultdict(dict)  # person → url → (value, reviewed)
    for a in facts:
        if period is not None and (a.period != period or first.get(a.url, period) < period):
            continue
        value = w.value(a.kind, a.status)
        cur = best[a.person].get(a.url)
        reviewed = a.status == KEPT
        if cur is None or (value, reviewed) > cur:
            best[a.person][a.url] = (value, reviewed)
    out: dict[str, dict[str, float]] = {}
    for person, urls in best.items():
        ranked = sorted(((u, v, r) for u, (v, r) in urls.items() if v > 0), key=lambda t: (-t[1], t[0]))
        unreviewed = [t for t in ranked if not t[2]][: w.max_unreviewed_per_person]
        allowed = [t for t in ranked if t[2] or t in unreviewed]
        out[person] = {u: v for u, v, _ in allowed[: w.max_artifacts_per_person]}
    return out


def reference_board(
    *,
    spend: Mapping[str, float],
    artifacts: Iterable[ArtifactFact],
    teams: Mapping[str, Iterable[str]],
    w: Weights,
    period: str | None = None,
) -> list[dict[str, float | str | int]]:
    """The team board straight from the formula (for tests and small data); with ``period``, the facts
    may span several periods and the board is that period's."""
    counted = person_counted(artifacts, w, period=period)
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
