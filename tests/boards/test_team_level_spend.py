"""Team-level spend end to end: a FOCUS team tag and an Anthropic API key the config assigns to a team.

Spend that maps to a team and to no person counts in that team's board spend (members' + team-level,
to the cent), shows as "team-level spend $X (N rows)" in its report (Slack blocks, JSON, CSV), and
spend that maps to nobody stays unattributed org-wide. ``db check`` is clean and a second import or
sync of the same days changes nothing. SQLite and PostgreSQL (``engine`` fixture).
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.boards.leaderboard import BoardRow, board
from bot.boards.reports import report_csv, team_report
from bot.boards.rollups import Difference, check, rebuild_all
from bot.config import Settings, parse_org_config, weights_of
from bot.db import session_scope
from bot.models import Artifact, ArtifactLink, Person, Team, UsageRow
from bot.people.teams import import_teams
from bot.slack.blocks import report_message
from bot.spend.focus import import_focus_csv
from bot.spend.sync import reconcile, sync_usage, unattributed_total
from tests.spend.connectors.fakes import AnthropicData, FakeAnthropic, anthropic_api_key, anthropic_user, message_usage
from tests.spend.connectors.scenario import HAIKU, NOW, SONNET, D

PERIOD = "2026-08"
CONFIG = """\
timezone: America/New_York
teams:
  - name: Growth
    members: [alice@example.com, bob@example.com]
  - name: Core
    members: [carol@example.com]
identities:
  growth-batch: team:growth
focus: {person_tag: owner, team_tag: team}
"""
ORG = parse_org_config(CONFIG)

FOCUS_HEADER = (
    "BilledCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ProviderName,ServiceName,"
    "ResourceId,Tags"
)


def _tags(tags: dict[str, str]) -> str:
    return '"' + json.dumps(tags).replace('"', '""') + '"'


def focus_file(tmp_path: Path) -> Path:
    lines = [
        # Alice's own Bedrock spend (a person tag)
        "12.50,USD,2026-08-03T00:00:00Z,2026-08-04T00:00:00Z,Usage,AWS,Amazon Bedrock,arn:1,"
        + _tags({"owner": "alice@example.com"}),
        # Growth's Vertex AI project: a team tag only → team-level spend of Growth
        f"30.10,USD,2026-08-04,2026-08-05,Usage,Google Cloud,Vertex AI,projects/growth,{_tags({'team': 'Growth'})}",
        f"0.07,USD,2026-08-06,2026-08-07,Usage,Google Cloud,Vertex AI,projects/growth,{_tags({'team': 'growth'})}",
        # Nobody's: no tags → unattributed under its ResourceId
        "4.40,USD,2026-08-05,2026-08-06,Usage,Microsoft,Azure OpenAI,/subscriptions/x/openai,",
    ]
    path = tmp_path / "focus.csv"
    path.write_text("\n".join([FOCUS_HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def anthropic_data() -> AnthropicData:
    return AnthropicData(
        messages={
            D(2026, 8, 3): [
                message_usage(SONNET, account_id="user_01A", uncached=100_000, out=20_000),  # Alice
                message_usage(HAIKU, api_key_id="apikey_G", uncached=1_000_000, out=100_000),  # growth-batch → Growth
                message_usage(SONNET, api_key_id="apikey_Z", uncached=50_000, out=5_000),  # orphan-key: nobody
            ]
        },
        costs={D(2026, 8, 3): ["200"]},
        users=[anthropic_user("user_01A", "alice@example.com", "Alice")],
        api_keys=[
            anthropic_api_key("apikey_G", "growth-batch", created_by="user_01A", hint="sk-ant-api03-G...AA"),
            anthropic_api_key("apikey_Z", "orphan-key", created_by="user_01A", hint="sk-ant-api03-Z...AA"),
        ],
    )


def seed(engine: Engine) -> None:
    with session_scope(engine) as s:
        for sid, email, name in (
            ("U0ALICE", "alice@example.com", "Alice"),
            ("U0BOB", "bob@example.com", "Bob"),
            ("U0CAROL", "carol@example.com", "Carol"),
        ):
            s.add(Person(slack_user_id=sid, email=email, name=name))
        s.flush()
        import_teams(s, ORG.teams, actor="test")
        bob = s.scalars(select(Person).where(Person.slack_user_id == "U0BOB")).one()
        art = Artifact(
            person_id=bob.id,
            period=PERIOD,
            title="Pricing page",
            kind="feature",
            status="kept",
            primary_url="https://example.com/pricing",
        )
        s.add(art)
        s.flush()
        s.add(ArtifactLink(artifact_id=art.id, url=art.primary_url, normalized_url=art.primary_url, position=0))


def load_all(engine: Engine, tmp_path: Path, fake: FakeAnthropic) -> None:
    settings = Settings(anthropic_admin_key="sk-ant-admin-test", anthropic_base_url=fake.url)
    sync_usage(engine, settings, ORG, provider="anthropic", since=D(2026, 8, 1), now=NOW)
    import_focus_csv(engine, focus_file(tmp_path), ORG)


def drift(engine: Engine) -> list[Difference]:
    """What ``db check`` finds: the roll-ups that differ from their raw rows (none when all is well)."""
    with session_scope(engine) as s:
        return check(s, weights_of(ORG))


def team_row(s: Session, name: str) -> BoardRow:
    """Team ``name``'s row of the PERIOD board."""
    return next(r for r in board(s, PERIOD, weights_of(ORG)) if r.name == name)


def cents(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def state(engine: Engine) -> dict[str, Any]:
    w = weights_of(ORG)
    with session_scope(engine) as s:
        teams = {
            r.name: (r.spend_usd, r.unmatched_spend_usd, r.artifacts_per_100_usd, r.tokens) for r in board(s, PERIOD, w)
        }
        rows = sorted(
            (r.source, str(r.date), r.identity, r.person_id, r.team_id, r.model, round(r.cost_usd or 0, 9))
            for r in s.scalars(select(UsageRow))
        )
        level = sorted(tuple(r) for r in s.execute(text("SELECT * FROM team_level_total")).all())
    return {"teams": teams, "rows": rows, "level": level}


def test_team_level_spend_counts_in_the_team_and_nobody_stays_unattributed(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    with FakeAnthropic(anthropic_data()) as fake:
        load_all(engine, tmp_path, fake)
        first = state(engine)
        with session_scope(engine) as s:
            growth = s.scalars(select(Team.id).where(Team.name == "Growth")).one()
            rows = list(s.scalars(select(UsageRow)))
            by_ident = {(r.source, r.identity): r for r in rows}
            # The API key the config assigns to Growth, and the FOCUS team-tag lines: Growth's, nobody's person.
            key_row = by_ident[("anthropic", "growth-batch")]
            assert (key_row.person_id, key_row.team_id) == (None, growth)
            tagged = [r for r in rows if r.source == "focus" and r.identity.casefold() == "team:growth"]
            assert tagged and all(r.person_id is None and r.team_id == growth for r in tagged)
            # Mapped to nobody: unattributed, no team.
            orphans = [r for r in rows if r.person_id is None and r.team_id is None]
            assert {r.identity for r in orphans} == {"anthropic-key-name:orphan-key", "/subscriptions/x/openai"}

            members = set(s.scalars(text("SELECT person_id FROM team_member WHERE team_id = :t"), {"t": growth}))
            members_spend = sum(Decimal(str(r.cost_usd or 0)) for r in rows if r.person_id in members)
            team_level = sum(Decimal(str(r.cost_usd or 0)) for r in rows if r.team_id == growth and r.person_id is None)
            assert cents(team_level) == cents(Decimal("30.17") + Decimal(str(key_row.cost_usd)))
            assert key_row.cost_usd and key_row.cost_usd > 0

            growth_row = team_row(s, "Growth")
            assert cents(growth_row.spend_usd) == cents(members_spend + team_level)
            # The score divides by the sum; unmatched spend stays the members' without an artifact (Alice).
            assert growth_row.artifacts == 1.0  # Bob's kept artifact
            assert abs(growth_row.artifacts_per_100_usd - 100 / float(members_spend + team_level)) < 1e-6
            alice = s.scalars(select(Person.id).where(Person.slack_user_id == "U0ALICE")).one()
            alice_spend = sum(Decimal(str(r.cost_usd or 0)) for r in rows if r.person_id == alice)
            assert cents(growth_row.unmatched_spend_usd) == cents(alice_spend)
            # Core has no team-level spend and no member spend.
            assert team_row(s, "Core").spend_usd == 0

            # Org-wide: people + teams + nobody = every row; the bill reconciles with team-level as attributed.
            total = unattributed_total(s, PERIOD)
            orphan_usd = sum(Decimal(str(r.cost_usd or 0)) for r in orphans)
            assert cents(total["unattributed_usd"]) == cents(orphan_usd) and total["unattributed_rows"] == 2
            assert cents(total["team_level_usd"]) == cents(team_level) and total["team_level_rows"] == len(tagged) + 1
            rec = {r["source"]: r for r in reconcile(s, PERIOD)}
            assert cents(rec["anthropic"]["team_level_usd"]) == cents(key_row.cost_usd)
            anthropic = rec["anthropic"]  # the bill: 200 cents
            assert cents(anthropic["attributed_usd"]) + cents(anthropic["unattributed_usd"]) == cents(2)

            # The report: "team-level spend $X (N rows)" in Slack blocks, JSON and CSV.
            report = team_report(s, team_name="growth", period=PERIOD, org=ORG)
        assert drift(engine) == []
        level_text = f"team-level spend ${cents(team_level):,}"
        assert report.team_level_rows == len(tagged) + 1 and cents(report.team_level_usd) == cents(team_level)
        assert report.team_level_line is not None
        assert report.team_level_line.startswith(f"{level_text} ({len(tagged) + 1} rows)")
        _, blocks = report_message(report)
        assert any(level_text in json.dumps(b) for b in blocks)
        as_json = report.as_json()
        assert cents(as_json["team_level_spend_usd"]) == cents(team_level) and as_json["team_level_rows"] == 3
        assert cents(as_json["spend_usd"]) == cents(members_spend + team_level)
        lines = list(csv.DictReader(io.StringIO(report_csv(report))))
        level_lines = [row for row in lines if row["member"] == "(team-level spend)"]
        assert len(level_lines) == 1 and cents(Decimal(level_lines[0]["spend_usd"])) == cents(team_level)
        assert "(3 rows)" in level_lines[0]["title"]

        # A second sync and import of the same days changes nothing.
        load_all(engine, tmp_path, fake)
    assert state(engine) == first
    assert drift(engine) == []


def test_db_check_compares_the_team_level_roll_up_with_the_raw_rows(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    import_focus_csv(engine, focus_file(tmp_path), ORG)
    assert drift(engine) == []
    with session_scope(engine) as s:
        s.execute(text("UPDATE team_level_total SET cost_usd = cost_usd + 1"))
    diffs = drift(engine)
    assert [(d.what, d.period) for d in diffs] == [("team-level", PERIOD)]
    assert cents(diffs[0].rollup[0]) == cents(Decimal("31.17")) and cents(diffs[0].raw[0]) == cents(Decimal("30.17"))
    rebuild_all(engine, weights_of(ORG))
    assert drift(engine) == []


def test_a_team_that_loses_its_rows_loses_its_team_level_spend(engine: Engine, tmp_path: Path) -> None:
    """Re-importing the days without the team tag takes the spend off the team (its roll-up follows)."""
    seed(engine)
    import_focus_csv(engine, focus_file(tmp_path), ORG)
    with session_scope(engine) as s:
        assert cents(team_row(s, "Growth").spend_usd) == cents(Decimal("12.50") + Decimal("30.17"))
    untagged = tmp_path / "untagged.csv"
    untagged.write_text(
        focus_file(tmp_path)
        .read_text()
        .replace('""team"": ""Growth""', '""env"": ""prod""')
        .replace('""team"": ""growth""', '""env"": ""prod""'),
        encoding="utf-8",
    )
    import_focus_csv(engine, untagged, ORG)
    with session_scope(engine) as s:
        assert cents(team_row(s, "Growth").spend_usd) == cents(Decimal("12.50"))
        assert s.execute(text("SELECT COUNT(*) FROM team_level_total")).scalar_one() == 0
        assert cents(unattributed_total(s, PERIOD)["unattributed_usd"]) == cents(Decimal("34.57"))
    assert drift(engine) == []
