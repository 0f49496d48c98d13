"""Message text lives in one module: the listeners take what people read from ``bot.slack.words``, and it reads
as it did when it was written beside them."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest

from bot.slack import words

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"
# handlers/events.py is App Home and directory events; its wording is its own module's to move.
MODULES = ("actions", "views", "commands", "messages", "context", "errors", "notify")
SENTENCE = re.compile(r"[A-Za-z][ ,;!?]|[ ,;!?][A-Za-z]")  # a word beside a space or a comma: not an identifier


def _sentences(path: Path) -> list[str]:
    """String literals in ``path`` that read as words for people: not docstrings, not log lines."""
    tree = ast.parse(path.read_text())
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
