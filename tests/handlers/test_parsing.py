"""What the listeners read out of Slack payloads before they call a domain function (pure, no Slack)."""

from __future__ import annotations

import pytest

from bot import ids
from bot.errors import InputError
from handlers.actions import artifact_id_of, review_of
from handlers.commands import ReportArgs, parse_leaderboard_args, parse_report_args


@pytest.mark.parametrize(
    ("text", "args"),
    [
        ("", ReportArgs(team=None, period=None, csv=False)),
        ("Growth", ReportArgs(team="Growth", period=None, csv=False)),
        ("csv 2026-10 Data Platform", ReportArgs(team="Data Platform", period="2026-10", csv=True)),
        ("Growth CSV", ReportArgs(team="Growth", period=None, csv=True)),
        ("2026-09", ReportArgs(team=None, period="2026-09", csv=False)),
    ],
)
def test_report_arguments_in_any_order(text: str, args: ReportArgs):
    assert parse_report_args(text) == args


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Growth 2026-13", "'2026-13' is not a month like 2026-10 (YYYY-MM). Usage: /artifact-report"),
        ("x" * 1001, "That is too long. Usage: /artifact-report"),
    ],
)
def test_bad_report_arguments_say_how_to_ask(text: str, message: str):
    with pytest.raises(InputError) as caught:
        parse_report_args(text)
    assert str(caught.value).startswith(message)


def test_leaderboard_argument_is_a_month_or_nothing():
    assert parse_leaderboard_args("  ") is None
    assert parse_leaderboard_args(" 2026-10 ") == "2026-10"
    with pytest.raises(InputError) as caught:
        parse_leaderboard_args("<!channel> " + "x" * 100)
    said = str(caught.value)  # shown to the person: Slack markup escaped, the echo cut short
    assert said.startswith("'&lt;!channel&gt; xxx") and "<!channel>" not in said
    assert said.endswith("is not a month like 2026-10. Usage: /leaderboard [YYYY-MM]") and len(said) < 120


def test_button_values():
    assert artifact_id_of("42") == 42
    for bad in ("", "-1", "4 2", "x"):
        with pytest.raises(InputError, match="out of date"):
            artifact_id_of(bad)
    assert review_of(f"{ids.ACTION_KEEP}:7") == (7, True)
    assert review_of(f"{ids.ACTION_KILL}:7") == (7, False)
    for bad in ("", f"{ids.ACTION_KEEP}:", "delete:7", f"{ids.ACTION_KILL}:x"):
        with pytest.raises(InputError, match="run /artifact-report again"):
            review_of(bad)
