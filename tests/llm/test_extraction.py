"""The deterministic parser and the verification of model output (pure, no network)."""

from __future__ import annotations

import dataclasses

import pytest

from bot.artifacts.extraction import (
    ExtractedArtifact,
    add_missing,
    deterministic_extract,
    guess_kind,
    missing_links,
    verify,
)
from bot.artifacts.links import MAX_LINKS_PER_MESSAGE
from bot.config import ARTIFACT_KINDS


def titles(text: str) -> list[str]:
    return [a.title for a in deterministic_extract(text)]


def test_artifact_fields_are_only_what_a_reply_may_say() -> None:
    assert [f.name for f in dataclasses.fields(ExtractedArtifact)] == ["title", "kind", "links", "impact"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I shipped the churn dashboard https://a.example.com/d/1", ["Churn dashboard"]),
        ("We've also built a lead router: https://a.example.com/r", ["Lead router"]),
        ("see <https://a.example.com/x|Pricing experiment>", ["Pricing experiment"]),
        ("Here's the onboarding agent, it's <https://a.example.com/x|here>", ["Onboarding agent"]),
        ("<https://a.example.com/1> - churn dashboard, <https://a.example.com/2> - brief agent",
         ["Churn dashboard", "Brief agent"]),
        ("the agent I built for legal is live at https://a.example.com/x", ["Agent"]),
        (":rocket: *Renewal alerts* https://a.example.com/x", ["Renewal alerts"]),
    ],
)
def test_titles_drop_filler(text: str, expected: list[str]) -> None:
    assert titles(text) == expected


def test_slack_label_url_is_not_a_title() -> None:
    [artifact] = deterministic_extract("<http://acme.example.com/roi|acme.example.com/roi>")
    assert artifact.title == "acme.example.com/roi"
    assert artifact.links == ["http://acme.example.com/roi"]


def test_url_slug_names_a_bare_link() -> None:
    [a] = deterministic_extract("<https://www.notion.so/acme/Onboarding-playbook-3f2a9c>")
    assert (a.title, a.kind) == ("Onboarding playbook", "document")


def test_evidence_links_join_the_previous_artifact() -> None:
    text = "Upgrade flow <https://app.example.com/b> (PR: <https://github.com/a/w/pull/2>) and a bot <https://x.example.com/bot>"
    got = deterministic_extract(text)
    assert [a.links for a in got] == [
        ["https://app.example.com/b", "https://github.com/a/w/pull/2"],
        ["https://x.example.com/bot"],
    ]


def test_two_things_in_one_sentence_stay_two() -> None:
    got = deterministic_extract("Built a dashboard https://a.example.com/1 and an agent https://a.example.com/2")
    assert [(a.title, a.kind) for a in got] == [("Dashboard", "dashboard"), ("Agent", "agent")]


def test_separate_bullets_never_group() -> None:
    got = deterministic_extract("- Churn dashboard https://a.example.com/1\n- PR https://github.com/a/b/pull/3")
    assert len(got) == 2


def test_non_http_links_never_become_artifacts() -> None:
    text = "<javascript:alert(1)|x> ftp://files.example.com/a.zip <mailto:a@b.example.com|mail> data:text/html,hi"
    assert deterministic_extract(text) == []


def test_no_link_no_artifact() -> None:
    assert deterministic_extract("Nothing this month, sorry — next month the agent!") == []


def test_never_more_links_than_the_cap() -> None:
    text = " ".join(f"thing {i} https://a.example.com/{i}" for i in range(MAX_LINKS_PER_MESSAGE + 5))
    got = deterministic_extract(text)
    assert sum(len(a.links) for a in got) == MAX_LINKS_PER_MESSAGE


def test_impact_is_the_rest_of_the_line() -> None:
    [a] = deterministic_extract("• <https://a.example.com/p|Onboarding playbook> — replaced the old wiki page")
    assert a.impact == "replaced the old wiki page"


@pytest.mark.parametrize(
    ("title", "context", "url", "kind"),
    [
        ("Agent that drafts campaign briefs", "", "", "agent"),
        ("Campaign dashboard", "", "", "dashboard"),
        ("Invoice reminders", "I automated the invoice reminders", "", "workflow"),
        ("Thing", "", "https://github.com/a/b/pull/1", "feature"),
        ("GPT-drafted emails vs human", "Tried an experiment", "", "experiment"),
        ("Something", "", "https://example.com", "other"),
    ],
)
def test_guess_kind(title: str, context: str, url: str, kind: str) -> None:
    got = guess_kind(title, context, [url] if url else [])
    assert got == kind
    assert got in ARTIFACT_KINDS


def test_verify_drops_links_not_in_the_message() -> None:
    text = "Churn dashboard <https://acme.example.com/d/1?utm_source=slack>"
    proposed = [
        ExtractedArtifact("Churn dashboard", "dashboard", ["https://acme.example.com/d/1", "https://evil.example.com/"]),
        ExtractedArtifact("Invented", "agent", ["https://evil.example.com/agent"]),
    ]
    assert verify(proposed, text) == [
        ExtractedArtifact("Churn dashboard", "dashboard", ["https://acme.example.com/d/1?utm_source=slack"]),
    ]


def test_verify_cleans_kind_title_and_duplicates() -> None:
    text = "a <https://a.example.com/1> b <https://a.example.com/2>"
    proposed = [
        ExtractedArtifact("  A\u200b  thing ", "spaceship", ["https://a.example.com/1"], impact=" saved 2h "),
        ExtractedArtifact("again", "agent", ["http://a.example.com/1/", "javascript:alert(1)"]),
        ExtractedArtifact("", "agent", ["https://a.example.com/2"]),
    ]
    got = verify(proposed, text)
    assert got[0] == ExtractedArtifact("A thing", "other", ["https://a.example.com/1"], "saved 2h")
    assert len(got) == 2  # the second claimed an already-held link only
    assert got[1].title == "a.example.com/2"  # an empty title is named from the link


def test_missing_links_are_added_deterministically() -> None:
    text = "Churn dashboard https://a.example.com/1 and a brief agent https://a.example.com/2"
    held = [ExtractedArtifact("Churn dashboard", "dashboard", ["https://a.example.com/1"])]
    assert missing_links(held, text) == ["https://a.example.com/2"]
    full = add_missing(held, text)
    assert [(a.title, a.links) for a in full] == [
        ("Churn dashboard", ["https://a.example.com/1"]),
        ("Brief agent", ["https://a.example.com/2"]),
    ]
