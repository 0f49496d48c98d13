"""The job and provider registries are the only lists of names: the CLI offers exactly what they hold."""

from __future__ import annotations

import argparse
import subprocess
import sys

from bot.runtime.cli import build_parser
from bot.spend import connectors
from jobs import registry


def _choices(parser: argparse.ArgumentParser, *path: str) -> list[str]:
    """The choices of the positional argument of sub-command ``path``."""
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    positional = [a for a in parser._actions if not a.option_strings and a.choices is not None]
    assert len(positional) == 1, path
    return list(positional[0].choices or [])


def test_jobs_run_choices_are_the_registry_jobs_run_by_hand() -> None:
    assert _choices(build_parser(), "jobs", "run") == registry.manual_names()
    assert registry.manual_names() == ["checkin", "reminders", "weekly-summary", "usage-sync", "close-period",
                                      "review-queue", "people-sync"]
    assert "outbox" in registry.REGISTRY and "outbox" not in registry.manual_names()


def test_usage_sync_choices_are_the_connector_registry_and_all() -> None:
    assert _choices(build_parser(), "usage", "sync") == [*connectors.REGISTRY, "all"]
    assert {"openai", "anthropic"} <= set(connectors.REGISTRY)


def test_every_job_module_has_its_entry_points_and_a_trigger_with_a_time_zone() -> None:
    from bot.config import OrgConfig

    org = OrgConfig(timezone="Europe/Paris")
    for spec in registry.REGISTRY.values():
        assert callable(spec.run_function()) and callable(spec.tick_function()), spec.name
        assert spec.make_trigger(org).timezone == spec.tz(org), spec.name
        assert spec.help


def test_the_registries_import_neither_apscheduler_nor_the_providers() -> None:
    code = (
        "import sys; import jobs.registry, bot.spend.connectors; from bot.runtime.cli import build_parser; "
        "build_parser(); "
        "heavy = [m for m in ('apscheduler', 'openai', 'httpx', 'genai_prices', 'jobs.checkin') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
