"""Issue 16, case 4: the template narrative names the month in words, whatever form the report gives it."""

from __future__ import annotations

from bot.llm.narrative import template_narrative

ITEMS = [{"title": "Churn dashboard", "kind": "dashboard", "status": "kept", "person": "Alice"}]


def test_a_reports_period_reads_as_a_month() -> None:
    said = template_narrative({"scope": "Growth", "period": "2026-05", "spend_usd": 120.0, "items": ITEMS})
    assert said is not None and "logged 1 artifact in May 2026" in said and "2026-05" not in said  # was "2026-05"
    named = template_narrative({"scope": "Growth", "period": "May 2026", "spend_usd": 120.0, "items": ITEMS})
    assert named is not None and "logged 1 artifact in May 2026" in named
