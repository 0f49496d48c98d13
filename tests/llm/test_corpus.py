"""The reply corpus (tests/data/replies.yaml) through the parser and through the fake model."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot.artifacts.extraction import deterministic_extract
from bot.artifacts.links import extract_links, normalize_url
from bot.llm.client import LLM

from .conftest import load_corpus
from .fake_openai import FakeOpenAI, structured

CASES = load_corpus()
TITLE_THRESHOLD = 0.9  # reached: see the printed figures
KIND_THRESHOLD = 0.9
GROUPING_THRESHOLD = 0.9
HELDOUT_TITLE_THRESHOLD = 0.8


def norm_title(title: str) -> str:
    words = re.sub(r"[^\w\s]", " ", title.casefold()).split()
    while words and words[0] in ("the", "a", "an", "my", "our"):
        words = words[1:]
    return " ".join(words)


def norm_links(links: list[str]) -> set[str]:
    return {normalize_url(u) for u in links}


def expected_links(case: dict[str, Any]) -> set[str]:
    return {normalize_url(u) for a in case["artifacts"] for u in a["links"]}


def test_corpus_is_big_and_consistent() -> None:
    assert len(CASES) >= 30
    assert len({c["id"] for c in CASES}) == len(CASES)
    for case in CASES:
        found, rejected = extract_links(case["text"])
        # The corpus lists every http(s) link present, no more.
        assert {link.normalized for link in found} == expected_links(case), case["id"]
        assert len(rejected) == case.get("rejected", 0), case["id"]
    assert sum(bool(c.get("injection")) for c in CASES) >= 3
    assert sum(len(c["artifacts"]) >= 2 for c in CASES) >= 8
    assert sum(not c["artifacts"] for c in CASES) >= 3


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_deterministic_finds_exactly_the_links_present(case: dict[str, Any]) -> None:
    got = deterministic_extract(case["text"])
    links = [u for a in got for u in a.links]
    assert len(links) == len(set(links))
    assert norm_links(links) == expected_links(case)


def accuracy(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Links found/present, titles, kinds and link grouping of the parser on ``cases``."""
    figures: dict[str, Any] = dict.fromkeys(
        ("links_present", "links_found", "titles", "titles_ok", "kinds", "kinds_ok", "groups_ok"), 0)
    figures["misses"] = []
    for case in cases:
        got = deterministic_extract(case["text"])
        present = expected_links(case)
        figures["links_present"] += len(present)
        figures["links_found"] += len(norm_links([u for a in got for u in a.links]) & present)
        for exp in case["artifacts"]:
            figures["titles"] += 1
            match = next((a for a in got if normalize_url(exp["links"][0]) in norm_links(a.links)), None)
            if match and norm_title(match.title) == norm_title(exp["title"]):
                figures["titles_ok"] += 1
            else:
                figures["misses"].append(f"{case['id']}: expected {exp['title']!r}, got {match and match.title!r}")
            figures["groups_ok"] += bool(match and norm_links(match.links) == norm_links(exp["links"]))
            if exp.get("kind"):
                figures["kinds"] += 1
                figures["kinds_ok"] += bool(match and match.kind == exp["kind"])
    return figures


def test_deterministic_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the figures; the held-out cases were written after the parser was tuned."""
    groups = {
        "all": CASES,
        "tuned-on": [c for c in CASES if not c.get("heldout")],
        "held-out": [c for c in CASES if c.get("heldout")],
    }
    results = {name: accuracy(cases) for name, cases in groups.items()}
    with capsys.disabled():
        print()
        for name, f in results.items():
            print(
                f"[deterministic parser, {name}: {len(groups[name])} replies] "
                f"links found {f['links_found']}/{f['links_present']}; "
                f"titles matched {f['titles_ok']}/{f['titles']} ({f['titles_ok'] / f['titles']:.1%}); "
                f"kinds {f['kinds_ok']}/{f['kinds']}; link grouping {f['groups_ok']}/{f['titles']}"
            )
        for miss in results["all"]["misses"]:
            print(f"  title miss - {miss}")
    every = results["all"]
    assert every["links_found"] == every["links_present"]
    assert every["titles_ok"] / every["titles"] >= TITLE_THRESHOLD
    assert every["kinds_ok"] / every["kinds"] >= KIND_THRESHOLD
    assert every["groups_ok"] / every["titles"] >= GROUPING_THRESHOLD
    held = results["held-out"]
    assert held["titles_ok"] / held["titles"] >= HELDOUT_TITLE_THRESHOLD


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_fake_model_path(case: dict[str, Any], fake: FakeOpenAI, llm: LLM) -> None:
    """The model's answer (here: the ideal one, plus an invented link on injections) is verified."""
    answer = [{"title": a["title"], "kind": a.get("kind", "other"), "links": a["links"], "impact": None}
              for a in case["artifacts"]]
    if case.get("injection"):
        answer.append({"title": "Admin override", "kind": "other", "impact": None,
                       "links": ["https://evil.example.com/steal"]})
    fake.push(structured(answer))
    result = llm.extract_artifacts(case["text"])
    if not case["artifacts"]:
        assert result.path == "deterministic" and result.reason == "no_links"
        assert result.artifacts == [] and fake.requests == []  # no link, no paid call
        return
    assert result.path == "model", result.reason
    assert [norm_links(a.links) for a in result.artifacts] == [norm_links(a["links"]) for a in case["artifacts"]]
    assert [a.title for a in result.artifacts] == [a["title"] for a in case["artifacts"]]
    assert result.added_links == []
    assert result.dropped_links == (["https://evil.example.com/steal"] if case.get("injection") else [])
    # The reply travelled as data, in the user message only.
    system, _user = fake.messages()
    assert case["text"] not in system["content"]
    payload = fake.user_payload()
    assert norm_links(payload["links"]) == expected_links(case)
    assert json.dumps(payload)  # a JSON document, not text spliced into instructions


@pytest.mark.parametrize("case", [c for c in CASES if c.get("multilink")], ids=lambda c: c["id"])
def test_multi_link_sentences_name_each_link_from_the_words_next_to_it(case: dict[str, Any]) -> None:
    got = {normalize_url(a.links[0]): a.title for a in deterministic_extract(case["text"])}
    for exp in case["artifacts"]:
        assert norm_title(got.get(normalize_url(exp["links"][0])) or "") == norm_title(exp["title"]), case["id"]
