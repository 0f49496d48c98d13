"""``artifacts import`` and ``artifacts export``: strict import, nothing twice, an exact round trip."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.artifacts.transfer import COLUMNS, import_artifacts_csv
from bot.boards.transfer import export_artifacts, export_csv
from bot.config import OrgConfig
from bot.db import make_engine, session_scope, upgrade
from bot.errors import ImportFileError
from bot.models import Artifact, AuditLog, Person
from tests import factories as f

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
ORG = OrgConfig()
HISTORY = """\
period,email,slack_user_id,url,title,kind,status
2026-09,ada@example.com,,https://looker.example.com/dashboards/7,Churn dashboard,dashboard,kept
2026-09,ada@example.com,,https://github.com/acme/app/pull/17/files,Retry agent,agent,
2026-09,,U0BEN,https://docs.google.com/document/d/1AbC/edit,=HYPERLINK("http://evil.example"),document,killed
2026-10,,U0BEN,http://www.looker.example.com/dashboards/7/?utm_source=slack,Churn dashboard (again),dashboard,kept
2026-10,ben@example.com,U0BEN,https://github.com/acme/app/pull/21,-1 day cycle time,feature,submitted
"""


def cli(*args: str, db_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url}
    env.pop("ARTIFACT_BOT_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def count(engine, model) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_bad_file_names_every_problem_and_writes_nothing(db_url, engine, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "period,email,url,title,kind,status\n"
        "2026-13,ada@example.com,https://x.example/1,One,other,kept\n"  # 2: no such month
        "2026-09,,https://x.example/2,Two,other,kept\n"  # 3: nobody
        "2026-09,ada@example.com,javascript:alert(1),Three,other,kept\n"  # 4: not a link
        "2026-09,ada@example.com,https://x.example/4,Four,gizmo,approved\n"  # 5: kind and status
        "2026-09,ada@example.com,https://x.example/5,Five,other,kept\n"  # fine
        "2026-09,ada@example.com,https://X.example/5/#top,Five again,other,kept\n"  # 7: same link as 6
        "2027-01,ada@example.com,https://x.example/7,Later,other,kept\n"  # 8: the future
        "2026-09,ada@example.com,https://x.example/8,,other,kept\n"  # 9: no title
    )
    res = cli("artifacts", "import", str(bad), db_url=db_url, cwd=tmp_path)
    assert res.returncode == 2, res.stdout + res.stderr
    for line in ("2", "3", "4", "5", "7", "8", "9"):
        assert f"{bad}:{line}:" in res.stderr
    assert f"{bad}:6:" not in res.stderr
    assert "same person, period and link as line 6" in res.stderr
    assert "nothing from that file was written" in res.stderr
    assert count(engine, Artifact) == 0 and count(engine, AuditLog) == 0

    res = cli("artifacts", "import", str(tmp_path / "missing.csv"), db_url=db_url, cwd=tmp_path)
    assert res.returncode == 2 and "cannot read" in res.stderr
    (tmp_path / "cols.csv").write_text("period,who,url,title\n2026-09,ada@example.com,https://x.example,T\n")
    res = cli("artifacts", "import", str(tmp_path / "cols.csv"), db_url=db_url, cwd=tmp_path)
    assert res.returncode == 2 and "missing column(s): email or slack_user_id" in res.stderr
    assert "unknown column(s): who" in res.stderr


def test_import_twice_changes_nothing_and_is_audited(engine, tmp_path):
    f.person(engine, "U0BEN", email="ben@example.com")
    path = tmp_path / "history.csv"
    path.write_text(HISTORY)
    first = import_artifacts_csv(engine, path, now=NOW, tz=ORG.tz)
    assert (first.rows, first.created, first.unchanged, first.people_created) == (5, 5, 0, 1)  # Ada is new
    again = import_artifacts_csv(engine, path, now=NOW, tz=ORG.tz)
    assert (again.created, again.unchanged) == (0, 5)
    assert count(engine, Artifact) == 5
    with session_scope(engine) as s:
        actions = [a for (a,) in s.execute(select(AuditLog.action).order_by(AuditLog.id))]
        ben = s.scalar(select(func.count()).select_from(Artifact).join(Person).where(Person.slack_user_id == "U0BEN"))
    assert actions.count("artifact_imported") == 5 and actions.count("artifacts_import") == 2
    assert ben == 3  # U0BEN by Slack id and by email + Slack id: the same person


def test_export_shows_counted_value_carry_over_flags_and_history(engine, tmp_path):
    f.person(engine, "U0BEN", name="Ben", email="ben@example.com")
    path = tmp_path / "history.csv"
    path.write_text(HISTORY)
    import_artifacts_csv(engine, path, now=NOW, tz=ORG.tz)
    with session_scope(engine) as s:
        rows = {(r.period, r.title): r for r in export_artifacts(s, org=ORG)}
    dash = rows[("2026-09", "Churn dashboard")]
    assert (dash.counted_value, dash.carried_over) == (1.0, None)
    assert rows[("2026-09", "Retry agent")].counted_value == 0.5
    again = rows[("2026-10", "Churn dashboard (again)")]
    assert again.counted_value == 0 and again.carried_over == "first claimed by ada in September 2026"
    assert again.url == "http://www.looker.example.com/dashboards/7/?utm_source=slack"  # as written
    assert again.review_history == [{"at": "2026-11-20T12:00", "actor": "cli", "action": "imported as kept"}]
    with session_scope(engine) as s:
        text = export_csv(export_artifacts(s, org=ORG, period="2026-09"))
    cells = list(csv.reader(io.StringIO(text)))
    assert cells[0] == [*COLUMNS, "counted_value", "flags", "carried_over", "review_history"]
    titles = [c[4] for c in cells[1:]]
    assert '\'=HYPERLINK("http://evil.example")' in titles  # neutralised in the spreadsheet
    assert all(c[0] == "2026-09" for c in cells[1:])


def test_import_export_import_round_trips_exactly(db_url, tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(HISTORY)
    assert cli("artifacts", "import", str(path), db_url=db_url, cwd=tmp_path).returncode == 0
    exported = cli("artifacts", "export", db_url=db_url, cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    first = tmp_path / "export1.csv"
    first.write_text(exported.stdout)
    # The export holds the imported file's lines (cells as written, defaults filled in).
    original = {tuple(r.values()) for r in csv.DictReader(io.StringIO(HISTORY))}
    back = {tuple(r[c] for c in COLUMNS) for r in csv.DictReader(io.StringIO(exported.stdout))}
    assert len(back) == len(original) == 5
    assert (
        "2026-09",
        "ada@example.com",
        "",
        "https://github.com/acme/app/pull/17/files",
        "Retry agent",
        "agent",
        "submitted",
    ) in back
    assert (
        "2026-09",
        "",
        "U0BEN",
        "https://docs.google.com/document/d/1AbC/edit",
        '\'=HYPERLINK("http://evil.example")',
        "document",
        "killed",
    ) in back
    # Importing the export into the same database changes nothing...
    res = cli("artifacts", "import", str(first), db_url=db_url, cwd=tmp_path)
    assert res.returncode == 0 and "0 imported, 5 already there" in res.stdout
    # ...and into an empty one gives the same export, byte for byte (same clock for the history).
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    import_artifacts_csv(other, path, now=NOW, tz=ORG.tz)
    with session_scope(other) as s:
        via_file = export_csv(export_artifacts(s, org=ORG))
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    upgrade(empty)
    export_path = tmp_path / "export2.csv"
    export_path.write_text(via_file)
    import_artifacts_csv(empty, export_path, now=NOW, tz=ORG.tz)
    with session_scope(empty) as s:
        assert export_csv(export_artifacts(s, org=ORG)) == via_file
    json_out = cli("artifacts", "export", "--period", "2026-10", "--format", "json", db_url=db_url, cwd=tmp_path)
    items = json.loads(json_out.stdout)
    assert [i["carried_over"] for i in items if i["title"].startswith("Churn")] == [
        "first claimed by ada in September 2026"
    ]
    other.dispose()
    empty.dispose()


def test_a_person_named_twice_differently_is_a_problem(engine, tmp_path):
    f.person(engine, "U0BEN", email="ben@example.com")
    f.person(engine, "U0ADA", email="ada@example.com")
    path = tmp_path / "clash.csv"
    path.write_text("period,email,slack_user_id,url,title\n2026-09,ada@example.com,U0BEN,https://x.example/1,T\n")
    with pytest.raises(ImportFileError, match=r"clash.csv:2: .* two different people"):
        import_artifacts_csv(engine, path, now=NOW, tz=ORG.tz)
    assert count(engine, Artifact) == 0
