"""Cloud bills: ``usage import`` of a FOCUS 1.x CSV, recognised by its header, people and teams from tags."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import parse_org_config
from bot.db import session_scope
from bot.errors import ImportFileError
from bot.models import Person, UsageRow
from bot.spend.focus import import_focus_csv, is_focus_file

HEADER = ",".join(
    [
        "BilledCost",
        "BillingCurrency",
        "ChargePeriodStart",
        "ChargePeriodEnd",
        "ChargeCategory",
        "ProviderName",
        "ServiceName",
        "ResourceId",
        "Tags",
    ]
)
ORG = parse_org_config("timezone: America/New_York\nfocus: {person_tag: owner, team_tag: team}\n")


def line(cost: str, start: str, end: str, service: str, resource: str, tags: dict[str, str] | None, **kw: str) -> str:
    provider = kw.get("provider", "AWS")
    currency = kw.get("currency", "USD")
    tag_cell = '"' + json.dumps(tags).replace('"', '""') + '"' if tags is not None else ""
    return f"{cost},{currency},{start},{end},Usage,{provider},{service},{resource},{tag_cell}"


def focus_file(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "focus.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


LINES = (
    # Bedrock, tagged with a person: hers, on 3 August (the charge day's midpoint in New York)
    line(
        "12.50",
        "2026-08-03T00:00:00Z",
        "2026-08-04T00:00:00Z",
        "Amazon Bedrock",
        "arn:aws:bedrock:1",
        {"owner": "alice@example.com"},
    ),
    line(
        "0.25",
        "2026-08-03T10:00:00Z",
        "2026-08-03T11:00:00Z",
        "Amazon Bedrock",
        "arn:aws:bedrock:1",
        {"owner": "Alice@Example.com"},
    ),
    # Vertex AI tagged with a team only: unattributed, under the team's name
    line(
        "30",
        "2026-08-04",
        "2026-08-05",
        "Vertex AI",
        "projects/p/locations/l",
        {"team": "Growth"},
        provider="Google Cloud",
    ),
    # Azure OpenAI without tags, and a credit
    line(
        "7.10",
        "2026-08-05T00:00:00Z",
        "2026-08-06T00:00:00Z",
        "Azure OpenAI",
        "/subscriptions/s/aoai",
        None,
        provider="Microsoft",
    ),
    line(
        "-1.10",
        "2026-08-05T00:00:00Z",
        "2026-08-06T00:00:00Z",
        "Azure OpenAI",
        "/subscriptions/s/aoai",
        {},
        provider="Microsoft",
    ),
)


def test_focus_import_maps_tags_and_reimport_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    with session_scope(engine) as s:
        s.add(Person(slack_user_id="U0ALICE", email="alice@example.com", name="Alice"))
    path = focus_file(tmp_path, *LINES)
    plain = tmp_path / "plain.csv"
    plain.write_text("date,email,provider,model,input_tokens,output_tokens,cost_usd\n", encoding="utf-8")
    assert is_focus_file(path) and not is_focus_file(plain)
    res = import_focus_csv(engine, focus_file(tmp_path, *LINES), ORG)
    assert (res.lines, res.rows, str(res.cost_usd), str(res.attributed_usd)) == (5, 3, "48.75", "12.75")
    with Session(engine) as s:
        rows = {
            (r.date.isoformat(), r.identity, r.provider, r.model): (r.cost_usd, r.person_id)
            for r in s.scalars(select(UsageRow))
        }
        alice = s.scalars(select(Person.id).where(Person.slack_user_id == "U0ALICE")).one()
    assert rows == {
        ("2026-08-03", "alice@example.com", "aws", "Amazon Bedrock"): (12.75, alice),
        ("2026-08-04", "team:Growth", "google cloud", "Vertex AI"): (30.0, None),
        ("2026-08-05", "/subscriptions/s/aoai", "microsoft", "Azure OpenAI"): (pytest.approx(6.0), None),
    }
    import_focus_csv(engine, focus_file(tmp_path, *LINES), ORG)  # the same file again: replaced, not added
    with Session(engine) as s:
        assert s.scalars(select(func.count()).select_from(UsageRow)).one() == 3
        assert s.scalars(select(func.sum(UsageRow.cost_usd))).one() == pytest.approx(48.75)


def test_a_bad_line_names_file_and_line_and_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    bad = focus_file(
        tmp_path,
        LINES[0],
        line("abc", "2026-08-03", "2026-08-04", "Amazon Bedrock", "r", None),
        line("1", "2026-08-03", "2026-08-04", "Amazon Bedrock", "r", None, currency="EUR"),
        line("1", "yesterday", "", "Amazon Bedrock", "r", None),
    )
    with pytest.raises(ImportFileError) as info:
        import_focus_csv(engine, bad, ORG)
    assert [p.split(": ")[0].rsplit(":", 1)[1] for p in info.value.problems] == ["3", "4", "5"]
    assert "EUR" in info.value.problems[1]
    with Session(engine) as s:
        assert s.scalars(select(func.count()).select_from(UsageRow)).one() == 0


def test_usage_import_command_recognises_a_focus_file(tmp_path: Path) -> None:
    config = tmp_path / "org.yaml"
    config.write_text("timezone: America/New_York\nfocus: {person_tag: owner, team_tag: team}\n", encoding="utf-8")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "ARTIFACT_BOT_CONFIG": str(config)}
    run = subprocess.run(
        [sys.executable, "-m", "bot", "usage", "import", str(focus_file(tmp_path, *LINES))],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "imported 5 FOCUS charges" in run.stdout and "$48.75" in run.stdout
