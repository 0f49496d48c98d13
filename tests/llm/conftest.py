from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.llm.client import LLM
from bot.spend.usage import UsageRecord

from .fake_openai import FakeOpenAI

CORPUS = Path(__file__).resolve().parents[1] / "data" / "replies.yaml"
NOW = dt.datetime(2026, 5, 29, 15, 30, tzinfo=dt.UTC)


def load_corpus() -> list[dict[str, Any]]:
    return list(yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["cases"])


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def usage() -> list[UsageRecord]:
    return []


@pytest.fixture
def make_llm(fake: FakeOpenAI, usage: list[UsageRecord]) -> Any:
    def build(**kwargs: Any) -> LLM:
        options: dict[str, Any] = {
            "api_key": "sk-test", "model": "gpt-4o-mini", "base_url": fake.base_url,
            "timeout": 5.0, "max_retries": 0, "on_usage": usage.append, "clock": lambda: NOW,
        }
        options.update(kwargs)
        return LLM(**options)

    return build


@pytest.fixture
def llm(make_llm: Any) -> LLM:
    return make_llm()
