"""The prompts of the language-model assists (``bot/llm/prompts/*.txt``) and how data goes into them.

A person's text reaches the model only as data: a JSON document between markers it cannot forge
(``<`` and ``>`` are escaped inside it).
"""

from __future__ import annotations

import html
import json
import re
import string
from functools import cache
from importlib import resources
from typing import Any


@cache
def load_prompt(name: str) -> string.Template:
    """A prompt template of ``bot/llm/prompts`` without its ``#`` header (which documents its data)."""
    text = resources.files("bot.llm").joinpath("prompts", f"{name}.txt").read_text(encoding="utf-8")
    lines = text.splitlines()
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return string.Template("\n".join(lines).strip() + "\n")


def json_data(payload: Any) -> str:
    """JSON for a prompt, with ``<`` and ``>`` escaped so data cannot close its own markers."""
    return json.dumps(payload, ensure_ascii=False, indent=1).replace("<", "\\u003c").replace(">", "\\u003e")


_SLACK_LINK = re.compile(r"<(https?://[^<>|\s]+)(?:\|([^<>]*))?>")


def reply_for_model(text: str) -> str:
    """A Slack reply as a person reads it: ``<url|label>`` → ``label (url)``, entities decoded."""

    def link(m: re.Match[str]) -> str:
        return f"{m.group(2)} ({m.group(1)})" if m.group(2) else m.group(1)

    return html.unescape(_SLACK_LINK.sub(link, text))
