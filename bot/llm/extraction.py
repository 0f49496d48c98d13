"""Artifacts of a free-text reply read by a language model, verified in code, else parsed deterministically.

The reply goes to the model as data; the answer's links are verified against the message (a
link that is not in it is dropped) and links the model left out are added by the parser. The
model never sets a status, score or rank: the result has no such fields.
"""

from __future__ import annotations

import html
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.artifacts.extraction import (
    IMPACT_LIMIT,
    TITLE_LIMIT,
    ExtractedArtifact,
    add_missing,
    deterministic_extract,
    verify,
)
from bot.artifacts.links import extract_links, normalize_url
from bot.config import ARTIFACT_KINDS
from bot.llm.base import ChatModel, ModelFailure, fallback_reason
from bot.llm.prompts import json_data, load_prompt, reply_for_model

log = logging.getLogger(__name__)

MAX_REPLY_CHARS = 8000
EXTRACT_MAX_TOKENS = 1200

ExtractionPath = Literal["model", "deterministic"]

EXTRACTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "artifacts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "title": {"type": "string"},
                    "kind": {"type": "string", "enum": list(ARTIFACT_KINDS)},
                    "links": {"type": "array", "items": {"type": "string"}},
                    "impact": {"type": ["string", "null"]},
                },
                "required": ["title", "kind", "links", "impact"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["artifacts"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class ExtractionResult:
    """Artifacts read from a reply, and how.

    Attributes:
        artifacts: verified artifacts; every link is in the message.
        path: ``"model"`` (structured output, verified) or ``"deterministic"`` (the parser).
        reason: why the deterministic path was used (``no_key``, ``no_links``, ``too_long``,
            ``timeout``, ``rate_limited``, ``refusal``, ``malformed``, ``api_error``, ``error``),
            None on the model path.
        dropped_links: links the model gave that are not in the message (removed).
        added_links: message links the model left out, added by the parser.
        rejected: reasons for links of the message that were refused (``javascript:``...).
    """

    artifacts: list[ExtractedArtifact]
    path: ExtractionPath
    reason: str | None = None
    dropped_links: list[str] = field(default_factory=list)
    added_links: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def extract_artifacts(llm: ChatModel | None, text: str) -> ExtractionResult:
    """Artifacts of a reply with ``llm`` when there is one, else deterministically. Never raises."""
    if llm is None:
        found, rejected = extract_links(text)
        return _deterministic(text, "no_key" if found else "no_links", rejected)
    return extract_with_model(llm, text)


def extract_with_model(llm: ChatModel, text: str) -> ExtractionResult:
    """Artifacts of a free-text reply, by structured output, else by the deterministic parser. Never raises."""
    found, rejected = extract_links(text)
    if not found:
        return ExtractionResult([], "deterministic", "no_links", rejected=rejected)
    if len(text) > MAX_REPLY_CHARS:
        return _deterministic(text, "too_long", rejected)
    try:
        payload = {"reply": reply_for_model(text), "links": [link.url for link in found]}
        content = llm.complete(
            [
                {
                    "role": "system",
                    "content": load_prompt("extract_system").substitute(kinds=", ".join(ARTIFACT_KINDS)),
                },
                {"role": "user", "content": load_prompt("extract_user").substitute(reply_json=json_data(payload))},
            ],
            max_tokens=EXTRACT_MAX_TOKENS,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "artifacts", "strict": True, "schema": EXTRACTION_SCHEMA},
            },
        )
        proposed = parse_artifacts(content)
    except Exception as exc:
        reason = fallback_reason(exc, task="artifact extraction", fallback="the deterministic parser")
        return _deterministic(text, reason, rejected)
    verified = verify(proposed, text)
    kept = {normalize_url(u) for a in verified for u in a.links}
    dropped = [u for a in proposed for u in a.links if _norm_or_raw(u) not in kept]
    complete = add_missing(verified, text)
    added = [u for a in complete[len(verified) :] for u in a.links]
    if dropped:
        log.warning("model proposed %d link(s) not in the message; dropped", len(dropped))
    return ExtractionResult(complete, "model", None, dropped_links=dropped, added_links=added, rejected=rejected)


def parse_artifacts(content: str) -> list[ExtractedArtifact]:
    """The model's JSON answer as artifacts, checked field by field (not yet verified against the message).

    Raises:
        ModelFailure: with ``malformed`` when the JSON or its shape is wrong.
    """
    content = re.sub(r"^\s*```(?:json)?\s*|\s*```\s*$", "", content)  # servers without strict mode
    try:
        data = json.loads(content)
    except json.JSONDecodeError:
        raise ModelFailure("malformed") from None
    items = data.get("artifacts") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ModelFailure("malformed")
    out: list[ExtractedArtifact] = []
    for item in items:
        if not isinstance(item, dict):
            raise ModelFailure("malformed")
        title, kind, links, impact = (item.get(k) for k in ("title", "kind", "links", "impact"))
        if not isinstance(title, str) or not isinstance(links, list):
            raise ModelFailure("malformed")
        if not all(isinstance(u, str) for u in links):
            raise ModelFailure("malformed")
        out.append(
            ExtractedArtifact(
                title=title[: TITLE_LIMIT * 2],
                kind=kind if isinstance(kind, str) else "other",
                links=list(links)[:50],
                impact=impact[: IMPACT_LIMIT * 2] if isinstance(impact, str) else None,
            )
        )
    return out


def _deterministic(text: str, reason: str, rejected: list[str]) -> ExtractionResult:
    return ExtractionResult(deterministic_extract(text), "deterministic", reason, rejected=rejected)


def _norm_or_raw(url: str) -> str:
    try:
        return normalize_url(html.unescape(url))
    except ValueError:
        return url
