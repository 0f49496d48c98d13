"""Small builders for test data, going through the real services."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.artifacts.store import NewArtifact, add_artifact
from bot.config import TeamConfig
from bot.db import session_scope
from bot.models import Artifact, Checkin
from bot.people.store import SlackUser, find_person, upsert_slack_user
from bot.people.teams import import_teams
from bot.spend.usage import UsageRecord, upsert_records

NOW = dt.datetime(2026, 10, 30, 20, 0, tzinfo=dt.UTC)
USAGE_HEADER = "date,email,slack_user_id,provider,model,input_tokens,output_tokens,cost_usd"


def usage_csv(path: Path, *lines: str) -> Path:
    """A usage CSV in the contract's columns (``USAGE_HEADER``) with ``lines`` under the header."""
    path.write_text("".join(f"{line}\n" for line in (USAGE_HEADER, *lines)))
    return path


def person(engine: Engine, slack_id: str, name: str | None = None, email: str | None = None, tz: str = "UTC") -> int:
    with session_scope(engine) as s:
        p = upsert_slack_user(
            s,
            SlackUser(
                slack_user_id=slack_id,
                name=name or slack_id,
                email=email or f"{slack_id.lower()}@example.com",
                tz=tz,
            ),
        )
        assert p.id is not None
        return p.id


def checkin(engine: Engine, person_id: int, period: str, status: str) -> None:
    """A check-in of ``person_id`` for ``period``, already ``status`` (sent, answered...)."""
    with session_scope(engine) as s:
        s.add(Checkin(person_id=person_id, period=period, status=status))


def teams(engine: Engine, spec: dict[str, list[str]], managers: dict[str, list[str]] | None = None) -> None:
    with session_scope(engine) as s:
        import_teams(s, [TeamConfig(name=n, members=m, managers=(managers or {}).get(n, [])) for n, m in spec.items()])


def spend(
    engine: Engine,
    slack_id: str,
    usd: float,
    day: dt.date = dt.date(2026, 10, 5),
    model: str = "gpt-4o-mini",
    provider: str = "openai",
) -> None:
    with session_scope(engine) as s:
        p = find_person(s, slack_id)
        assert p is not None and p.id is not None
        upsert_records(
            s,
            [
                UsageRecord(
                    date=day,
                    identity=f"person:{p.id}",
                    person_id=p.id,
                    provider=provider,
                    model=model,
                    input_tokens=1000,
                    output_tokens=100,
                    cost_usd=usd,
                )
            ],
            source="csv",
        )


def artifact(
    engine: Engine,
    slack_id: str,
    url: str,
    *,
    status: str = "submitted",
    kind: str = "other",
    period: str = "2026-10",
    title: str = "thing",
    key: str | None = None,
) -> int:
    with session_scope(engine) as s:
        p = find_person(s, slack_id)
        assert p is not None
        art, created = add_artifact(
            s,
            person=p,
            period=period,
            new=NewArtifact(title=title, urls=[url], kind=kind),
            source="test",
            source_key=key,
            now=NOW,
        )
        a = s.get(Artifact, art.id)
        assert a is not None
        if created:
            a.status = status
        assert art.id is not None
        return art.id
