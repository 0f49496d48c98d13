"""Message text lives in one module: the listeners and the Block Kit builders (``bot.slack.blocks``) take what
people read from ``bot.slack.words``, and it reads as it did when it was written beside them."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest

from bot.slack import words

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ROOT / "handlers"
BLOCKS = ROOT / "bot" / "slack" / "blocks.py"
# handlers/events.py is App Home and directory events; its wording is its own module's to move.
MODULES = ("actions", "views", "commands", "messages", "context", "errors", "notify")
SENTENCE = re.compile(r"[A-Za-z][ ,;!?]|[ ,;!?][A-Za-z]")  # a word beside a space or a comma: not an identifier


def _sentences(path: Path) -> list[str]:
    """String literals in ``path`` that read as words for people: not docstrings, not log lines."""
    return _sentences_in(path.read_text())


def _sentences_in(source: str) -> list[str]:
    """String literals in ``source`` that read as words for people: not docstrings, not log lines."""
    tree = ast.parse(source)
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            skip.add(id(first.value))  # a docstring
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id in ("log", "logging", "logger"):
                skip.update(id(n) for arg in node.args for n in ast.walk(arg))
    return [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip and SENTENCE.search(n.value)
    ]


@pytest.mark.parametrize("module", MODULES)
def test_the_listeners_keep_no_words_of_their_own(module: str) -> None:
    assert _sentences(HANDLERS / f"{module}.py") == []


def test_the_builders_keep_no_words_of_their_own() -> None:
    # Block Kit keys, ids, URLs and mrkdwn markup ("* (", " — ") stay in blocks.py; sentences do not.
    assert _sentences(BLOCKS) == []


def test_the_probe_finds_words_written_in_a_builder() -> None:
    # As bot/slack/blocks.py read before its words moved (commit 5e1cd72 held 115 such literals).
    builder = (
        "def checkin_message(*, name, period, deadline, lead=''):\n"
        '    """The month-end DM."""\n'
        "    by = f' Please {reply_by(deadline)}.' if deadline else ''\n"
        "    blocks = [_section(f'{lead}Hi {escape_mrkdwn(name)} :wave: It is the artifact test for *{period}*: '\n"
        "                       '*show me the artifact.*\\n')]\n"
        "    blocks.append({'type': 'actions', 'elements': [_button('Nothing this month', 'nothing', period)]})\n"
        "    return f'{lead}Hi {name}.{by}', blocks\n"
    )
    assert sorted(_sentences_in(builder)) == [
        " :wave: It is the artifact test for *",
        " Please ",
        "*: *show me the artifact.*\n",  # one literal: the f-string and the string beside it join
        "Hi ",
        "Hi ",
        "Nothing this month",
    ]


def test_the_probe_finds_words_written_in_a_listener(tmp_path: Path) -> None:
    listener = tmp_path / "listener.py"
    listener.write_text(
        '"""A docstring is not a message."""\n'
        "import logging\nlog = logging.getLogger(__name__)\n"
        "def handle(respond):\n"
        '    """Nor is this."""\n'
        '    log.info("nor a log line: %s", "nor its argument here")\n'
        '    respond(text=f"Removed *{1}*, for good.")\n'
    )
    assert sorted(_sentences(listener)) == ["*, for good.", "Removed *"]


def test_the_words_read_as_they_did_beside_the_listeners() -> None:
    # Months in words (issue 16, case 4): these four read "2026-11" beside the listeners.
    assert words.nothing_noted("2026-11") == (
        "Noted: nothing for November 2026. If something ships, reply here with the link any time until "
        "the month closes."
    )
    assert words.away_noted(dt.date(2026, 12, 7)) == (
        "Enjoy your time off. No check-in or reminder until after Monday 7 December; "
        "if the month is still open when you are back, I will ask then."
    )
    assert words.removed("A <b> & c") == "Removed *A &lt;b&gt; &amp; c*."
    assert words.updated("Churn agent", "2026-11") == "Updated *Churn agent* (November 2026)."
    assert words.already_logged("Churn agent", "2026-11") == (
        "You already logged that link for November 2026: *Churn agent*."
    )
    assert words.REPORT_TOO_LONG == "That is too long. Usage: /artifact-report [team] [YYYY-MM] [csv]"
    assert words.not_a_report_month("2026-13") == (
        "'2026-13' is not a month like 2026-10 (YYYY-MM). Usage: /artifact-report [team] [YYYY-MM] [csv]"
    )
    assert (
        words.not_a_board_month("<!here>")
        == "'&lt;!here&gt;' is not a month like 2026-10. Usage: /leaderboard [YYYY-MM]"
    )
    assert words.report_csv_title("Growth", "2026-11") == "Artifact report Growth, November 2026 (CSV)"
    assert words.report_csv_filename("Data Platform", "2026-11") == "artifact-report-data-platform-2026-11.csv"
    assert words.report_csv_sent("Artifact report Growth 2026-11 (CSV)") == (
        "Artifact report Growth 2026-11 (CSV): sent to you in a DM."
    )
    assert (
        words.reviewed(keep=True, title="X", period="2026-11", changed=False)
        == "Kept *X* (November 2026). It already was."
    )
    assert words.reviewed(keep=False, title="X", period="2026-11", changed=True) == (
        "Killed *X* (November 2026). The leaderboard reflects it now; its author has been told."
    )


def test_the_builders_words_read_as_they_did_in_blocks() -> None:
    assert words.unpriced(1, 12_000) == "unpriced (1 row, 12,000 tokens)"
    assert words.recorded(period="2026-11", created=2, duplicates=["A"], carried=["B (October 2026)"]) == (
        "Recorded 2 artifacts for November 2026. Already logged: A. Carried over: B (October 2026)."
    )
    assert words.recorded(period="2026-11", created=0, duplicates=[], carried=[]) == (
        "Nothing new to record for November 2026."
    )
    assert words.not_accepted(["not a link: <x>", "too long"]) == "Not accepted: not a link: &lt;x&gt;; too long"
    assert words.board_bar(None, False) == " (no bar yet)"
    assert words.board_bar(1.25, False) == " (bar 1.2)"
    assert words.board_bar(1.25, True) == " :white_check_mark: cleared the bar"
    assert words.board_line(rank=1, name="R&D", score=2.5, artifacts=1, spend="$40.00", bar=" (bar 1.2)") == (
        "1. *R&amp;D*: 2.50 artifacts/$100 (1 artifact, $40.00) (bar 1.2)"
    )
    assert words.queue_more(3) == "+3 more: they appear here as you keep or kill these (or see /artifact-report)."
    assert words.home_queue_more(2) == "+2 more: see /artifact-report."
    assert words.report_bar(None, False) == "no bar yet (no artifacts last month)"
    assert words.report_bar(0.5, False) == "bar 0.50: not cleared"
    assert words.rate_text(None) == "n/a"
    assert words.response_rate_line(0.75) == "Check-in response rate: 75%"
    assert words.summary_text("Weekly", "", 1) == "Weekly: no teams yet; 1 new artifact"
    assert words.new_artifacts(17, ["• a", "• b"], 2) == "*New artifacts this week* (17)\n• a\n• b\n+2 more"
    assert words.checkin_text(
        name="Ada", period="2026-11", spend="$12.00", tokens="1.2k", reminder=1, deadline=dt.date(2026, 12, 7)
    ) == (
        "Reminder: Hi Ada, it's the artifact test for November 2026: show me the artifact. You spent $12.00 on AI "
        "(1.2k tokens) in November 2026. Reply with links to what you built, or use the buttons. "
        "Please reply by Monday 7 December."
    )
