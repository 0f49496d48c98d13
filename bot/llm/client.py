"""Language-model assists; the only module that imports ``openai``.

Everything here is optional: ``LLM.from_settings`` returns None without ``OPENAI_API_KEY`` and
every caller has a deterministic path (``bot.artifacts.extraction.deterministic_extract``,
``template_narrative``). No method raises on a model failure: it falls back and says so.

A person's text reaches the model only as data (a JSON document in the user message, between
markers it cannot forge); the model's answer is verified in code (links must be in the message,
numbers must be in the report) before anything uses it. The model never sets a status, score
or rank: the result types have no such fields.

The bot's own spend is accounted like anyone's: every response's token usage is priced with
``bot.spend.prices.price_tokens`` and handed to ``on_usage``; ``usage_recorder`` stores it as usage of
the organisation's ``bot_identity`` person, so the bot appears on its own board.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import math
import re
import string
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal, cast

import httpx
import openai
from openai import OpenAI
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from bot.artifacts.extraction import (
    IMPACT_LIMIT,
    TITLE_LIMIT,
    ExtractedArtifact,
    add_missing,
    deterministic_extract,
    verify,
)
from bot.artifacts.links import extract_links, normalize_url
from bot.config import ARTIFACT_KINDS, OrgConfig, Settings
from bot.db import session_scope
from bot.models import Person, UsageRow, utcnow
from bot.periods import period_of
from bot.spend.prices import price_tokens
from bot.spend.usage import UsageRecord, upsert_records

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 15.0
DEFAULT_MAX_RETRIES = 1
USAGE_SOURCE = "artifact-bot"
PROVIDER = "openai"
MAX_REPLY_CHARS = 8000
MAX_NARRATIVE_CHARS = 2000
EXTRACT_MAX_TOKENS = 1200
NARRATIVE_MAX_TOKENS = 500

ExtractionPath = Literal["model", "deterministic"]

# --- prompts --------------------------------------------------------------------------------


@cache
def load_prompt(name: str) -> string.Template:
    """A prompt template of ``bot/llm/prompts`` without its ``#`` header (which documents its data)."""
    text = resources.files("bot.llm").joinpath("prompts", f"{name}.txt").read_text(encoding="utf-8")
    lines = text.splitlines()
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return string.Template("\n".join(lines).strip() + "\n")


def _json_data(payload: Any) -> str:
    """JSON for a prompt, with ``<`` and ``>`` escaped so data cannot close its own markers."""
    return json.dumps(payload, ensure_ascii=False, indent=1).replace("<", "\\u003c").replace(">", "\\u003e")


_SLACK_LINK = re.compile(r"<(https?://[^<>|\s]+)(?:\|([^<>]*))?>")


def _reply_for_model(text: str) -> str:
    """The reply as a person reads it: ``<url|label>`` → ``label (url)``, entities decoded."""

    def link(m: re.Match[str]) -> str:
        return f"{m.group(2)} ({m.group(1)})" if m.group(2) else m.group(1)

    return html.unescape(_SLACK_LINK.sub(link, text))


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

# --- results --------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class NarrativeResult:
    """A narrative and how it was written: ``path`` is ``"model"`` or ``"template"``."""

    text: str | None
    path: Literal["model", "template"]
    reason: str | None = None


class _Fallback(Exception):
    """A model answer that cannot be used; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- the client -----------------------------------------------------------------------------


class LLM:
    """An OpenAI-compatible chat model with explicit time-out and retries, and its own accounting.

    Args:
        api_key: the API key (``OPENAI_API_KEY``).
        model: the model name (``OPENAI_MODEL``).
        base_url: any OpenAI-compatible server (``OPENAI_BASE_URL``); None for OpenAI.
        timeout: seconds for a whole request (connect at most 5 s).
        max_retries: SDK retries on connection errors, 408/409/429 and 5xx (it honours
            ``Retry-After``); kept low because a person or a slash command may be waiting.
        on_usage: called with a priced ``UsageRecord`` after every response (errors in it are
            logged, never raised).
        clock: UTC-aware now, dating the usage (injected in tests).
        http_client: an ``httpx.Client`` for the SDK (tests pass a ``MockTransport``).
        identity: the usage identity put on records (the recorder may override it).
    """

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        on_usage: Callable[[UsageRecord], None] | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
        http_client: httpx.Client | None = None,
        identity: str = "artifact-bot",
    ) -> None:
        self.model = model
        self.on_usage = on_usage
        self.clock = clock
        self.identity = identity
        self.client = OpenAI(
            api_key=api_key,
            base_url=base_url or None,
            timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
            max_retries=max_retries,
            http_client=http_client,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        on_usage: Callable[[UsageRecord], None] | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        clock: Callable[[], dt.datetime] = _utcnow,
        http_client: httpx.Client | None = None,
        identity: str = "artifact-bot",
    ) -> LLM | None:
        """The client for ``settings``, or None without ``OPENAI_API_KEY`` (every feature works without)."""
        key = settings.openai_api_key.get_secret_value().strip() if settings.openai_api_key else ""
        if not key:
            return None
        return cls(
            api_key=key,
            model=settings.openai_model,
            base_url=settings.openai_base_url,
            timeout=timeout,
            max_retries=max_retries,
            on_usage=on_usage,
            clock=clock,
            http_client=http_client,
            identity=identity,
        )

    # -- plumbing --

    def _complete(self, messages: list[dict[str, str]], *, max_tokens: int, **kwargs: Any) -> str:
        """One chat completion; returns the message text, accounts its usage.

        Raises:
            _Fallback: refusal, truncation or an empty answer.
            openai.OpenAIError: transport and API errors (mapped by the callers).
        """
        response = self.client.chat.completions.create(
            model=self.model,
            messages=cast(Any, messages),
            max_completion_tokens=max_tokens,
            **kwargs,
        )
        self._account(response)
        if not getattr(response, "choices", None):
            raise _Fallback("malformed")
        choice = response.choices[0]
        if getattr(choice.message, "refusal", None):
            raise _Fallback("refusal")
        if choice.finish_reason == "content_filter":
            raise _Fallback("refusal")
        if choice.finish_reason == "length":
            raise _Fallback("malformed")
        content = choice.message.content
        if not isinstance(content, str) or not content.strip():
            raise _Fallback("malformed")
        return content

    def _account(self, response: Any) -> None:
        """Price this response's tokens and hand them to ``on_usage``; never raises."""
        if self.on_usage is None:
            return
        try:
            usage = getattr(response, "usage", None)
            if usage is None:
                return
            prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
            completion = int(getattr(usage, "completion_tokens", 0) or 0)
            details = getattr(usage, "prompt_tokens_details", None)
            cached = int(getattr(details, "cached_tokens", 0) or 0) if details is not None else 0
            day = self.clock().astimezone(dt.UTC).date()
            cost = price_tokens(
                PROVIDER, self.model, day, input_tokens=prompt, output_tokens=completion, cached_tokens=cached
            )
            self.on_usage(
                UsageRecord(
                    date=day,
                    identity=self.identity,
                    provider=PROVIDER,
                    model=self.model,
                    input_tokens=prompt,
                    output_tokens=completion,
                    cached_tokens=cached,
                    requests=1,
                    cost_usd=cost,
                )
            )
        except Exception:
            log.exception("could not account the bot's own usage")

    @staticmethod
    def _reason(exc: BaseException) -> str:
        if isinstance(exc, _Fallback):
            return exc.reason
        if isinstance(exc, openai.APITimeoutError):
            return "timeout"
        if isinstance(exc, openai.RateLimitError):
            return "rate_limited"
        if isinstance(exc, openai.APIConnectionError):
            return "unavailable"
        if isinstance(exc, openai.APIStatusError):
            return "api_error"
        if isinstance(exc, openai.APIResponseValidationError):
            return "malformed"
        return "error"  # a bug of ours: logged with its traceback by the caller

    # -- extraction --

    def extract_artifacts(self, text: str) -> ExtractionResult:
        """Artifacts of a free-text reply, by structured output, else by the deterministic parser.

        The reply goes to the model as data; the answer's links are verified against the
        message and links it left out are added by the parser. Never raises.
        """
        found, rejected = extract_links(text)
        if not found:
            return ExtractionResult([], "deterministic", "no_links", rejected=rejected)
        if len(text) > MAX_REPLY_CHARS:
            return _deterministic(text, "too_long", rejected)
        try:
            payload = {"reply": _reply_for_model(text), "links": [link.url for link in found]}
            content = self._complete(
                [
                    {
                        "role": "system",
                        "content": load_prompt("extract_system").substitute(kinds=", ".join(ARTIFACT_KINDS)),
                    },
                    {"role": "user", "content": load_prompt("extract_user").substitute(reply_json=_json_data(payload))},
                ],
                max_tokens=EXTRACT_MAX_TOKENS,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "artifacts", "strict": True, "schema": EXTRACTION_SCHEMA},
                },
            )
            proposed = _parse_artifacts(content)
        except Exception as exc:
            reason = self._reason(exc)
            if reason == "error":
                log.exception("artifact extraction failed; using the deterministic parser")
            else:
                log.warning("artifact extraction fell back to the deterministic parser: %s", reason)
            return _deterministic(text, reason, rejected)
        verified = verify(proposed, text)
        kept = {normalize_url(u) for a in verified for u in a.links}
        dropped = [u for a in proposed for u in a.links if _norm_or_raw(u) not in kept]
        complete = add_missing(verified, text)
        added = [u for a in complete[len(verified) :] for u in a.links]
        if dropped:
            log.warning("model proposed %d link(s) not in the message; dropped", len(dropped))
        return ExtractionResult(complete, "model", None, dropped_links=dropped, added_links=added, rejected=rejected)

    # -- narrative --

    def narrate(self, report_data: dict[str, Any]) -> NarrativeResult:
        """A narrative of a report, written by the model and checked, else by ``template_narrative``.

        The model's text is used only when every number in it is a number of the data
        (rounding allowed), it links nowhere outside the data and mentions no one; otherwise
        the template is used. Never raises.
        """
        fallback = template_narrative(report_data)
        if fallback is None:
            return NarrativeResult(None, "template", "no_data")
        payload = {"report": report_data, "counts": derived_counts(report_data)}
        try:
            content = self._complete(
                [
                    {"role": "system", "content": load_prompt("narrative_system").substitute()},
                    {
                        "role": "user",
                        "content": load_prompt("narrative_user").substitute(report_json=_json_data(payload)),
                    },
                ],
                max_tokens=NARRATIVE_MAX_TOKENS,
            )
            text = " ".join(content.split())
            problem = check_narrative(text, payload)
            if problem:
                raise _Fallback(problem)
        except Exception as exc:
            reason = self._reason(exc)
            if reason == "error":
                log.exception("narrative failed; using the template")
            else:
                log.warning("narrative fell back to the template: %s", reason)
            return NarrativeResult(fallback, "template", reason)
        return NarrativeResult(text, "model", None)

    def write_narrative(self, report_data: dict[str, Any]) -> str | None:
        """The narrative text of ``narrate``: the checked model text or the template; None without data."""
        return self.narrate(report_data).text


def extract_artifacts(llm: LLM | None, text: str) -> ExtractionResult:
    """Artifacts of a reply with ``llm`` when there is one, else deterministically. Never raises."""
    if llm is None:
        found, rejected = extract_links(text)
        return _deterministic(text, "no_key" if found else "no_links", rejected)
    return llm.extract_artifacts(text)


def write_narrative(llm: LLM | None, report_data: dict[str, Any]) -> str | None:
    """The report's narrative with ``llm`` when there is one, else the template. Never raises."""
    if llm is None:
        return template_narrative(report_data)
    return llm.write_narrative(report_data)


def _deterministic(text: str, reason: str, rejected: list[str]) -> ExtractionResult:
    return ExtractionResult(deterministic_extract(text), "deterministic", reason, rejected=rejected)


def _norm_or_raw(url: str) -> str:
    try:
        return normalize_url(html.unescape(url))
    except ValueError:
        return url


def _parse_artifacts(content: str) -> list[ExtractedArtifact]:
    """The model's JSON answer as artifacts, checked field by field.

    Raises:
        _Fallback: with ``malformed`` when the JSON or its shape is wrong.
    """
    content = re.sub(r"^\s*```(?:json)?\s*|\s*```\s*$", "", content)  # servers without strict mode
    try:
        data = json.loads(content)
    except json.JSONDecodeError:
        raise _Fallback("malformed") from None
    items = data.get("artifacts") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise _Fallback("malformed")
    out: list[ExtractedArtifact] = []
    for item in items:
        if not isinstance(item, dict):
            raise _Fallback("malformed")
        title, kind, links, impact = (item.get(k) for k in ("title", "kind", "links", "impact"))
        if not isinstance(title, str) or not isinstance(links, list):
            raise _Fallback("malformed")
        if not all(isinstance(u, str) for u in links):
            raise _Fallback("malformed")
        out.append(
            ExtractedArtifact(
                title=title[: TITLE_LIMIT * 2],
                kind=kind if isinstance(kind, str) else "other",
                links=list(links)[:50],
                impact=impact[: IMPACT_LIMIT * 2] if isinstance(impact, str) else None,
            )
        )
    return out


# --- narrative checks and template ----------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.])\$?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(%?)")
_DATE = re.compile(r"\d{4}-\d{2}(?:-\d{2})?")
_MENTION = re.compile(r"<[!@#]|@(?:channel|here|everyone)\b", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)
ALLOWED_CONSTANTS = (100.0,)  # "artifacts per $100", the metric's own name


def derived_counts(report_data: dict[str, Any]) -> dict[str, Any]:
    """Counts computed in code from the report, given to the model so it never has to count."""
    items = [i for i in report_data.get("items") or [] if isinstance(i, dict)]
    people = [p for p in report_data.get("people") or [] if isinstance(p, dict)]
    idle = [p for p in report_data.get("spend_without_artifact") or [] if isinstance(p, dict)]
    return {
        "items": len(items),
        "items_by_status": dict(Counter(str(i.get("status") or "submitted") for i in items)),
        "items_by_kind": dict(Counter(str(i.get("kind") or "other") for i in items)),
        "people": len(people),
        "people_without_artifact": len(idle),
    }


def _numbers_in(value: Any, out: list[float]) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (int, float)):
        if math.isfinite(value):
            out.append(float(value))
    elif isinstance(value, str):
        # Only periods and dates ground a number; digits inside titles typed by people do not
        # ("say Bob shipped 50 agents" must not make 50 a fact).
        if _DATE.fullmatch(value):
            out.extend(float(part) for part in value.split("-"))
    elif isinstance(value, dict):
        for key, item in value.items():
            _numbers_in(key, out)
            _numbers_in(item, out)
    elif isinstance(value, (list, tuple)):
        out.append(float(len(value)))
        for item in value:
            _numbers_in(item, out)


def _quoted_strings(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        if len(value) >= 3 and any(ch.isdigit() for ch in value):
            out.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            _quoted_strings(item, out)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _quoted_strings(item, out)


def ungrounded_numbers(text: str, data: Any) -> list[str]:
    """Numbers written in ``text`` that no number of ``data`` supports, as written.

    A written number is supported by a numeric value of the data that rounds to it at the
    written precision (``$1,235`` by 1234.5, ``1.01`` by 1.0123); a percentage also by a
    fraction (``25%`` by 0.25). Lengths of lists and the parts of periods/dates count as numbers
    of the data. Strings of the data quoted verbatim (a title like "Top 10 accounts") are
    skipped; digits inside them prove nothing elsewhere.
    """
    known: list[float] = list(ALLOWED_CONSTANTS)
    _numbers_in(data, known)
    quoted: list[str] = []
    _quoted_strings(data, quoted)
    for quote in sorted(set(quoted), key=len, reverse=True):
        text = text.replace(quote, " ")
    bad: list[str] = []
    for m in _NUMBER.finditer(text):
        whole, frac, pct = m.group(1).replace(",", ""), m.group(2) or "", m.group(3)
        value = float(whole + frac)
        tolerance = 0.5 * 10 ** -(len(frac) - 1 if frac else 0) + 1e-9
        candidates = known + ([k * 100 for k in known] if pct else [])
        if not any(abs(value - k) <= tolerance for k in candidates):
            bad.append(m.group(0))
    return bad


def check_narrative(text: str, data: Any) -> str | None:
    """Why a generated narrative cannot be posted, or None when it is grounded in ``data``."""
    if not text:
        return "malformed"
    if len(text) > MAX_NARRATIVE_CHARS:
        return "too_long"
    if _MENTION.search(text):
        return "mention"
    allowed_urls = {normalize_url(u) for u in _URL.findall(json.dumps(data, ensure_ascii=False))}
    if any(normalize_url(u.rstrip(".,;:!?")) not in allowed_urls for u in _URL.findall(text)):
        return "foreign_link"
    if ungrounded_numbers(text, data):
        return "ungrounded_numbers"
    return None


def _money(value: Any) -> str:
    return f"${float(value):,.2f}"


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def template_narrative(report_data: dict[str, Any]) -> str | None:
    """A plain summary of a report written in code (no model), or None when there is nothing to say.

    ``report_data`` keys (all optional): ``scope`` (team name), ``period`` (``YYYY-MM``),
    ``spend_usd``, ``artifacts`` (counted, weighted), ``artifacts_per_100_usd``, ``bar``,
    ``cleared_bar``, ``unmatched_spend_usd``, ``budget_usd``, ``people`` [{name, spend_usd,
    artifacts, artifacts_per_100_usd}], ``teams`` [{name, rank, artifacts_per_100_usd, ...}],
    ``items`` [{title, kind, status, person, url}], ``spend_without_artifact`` [{name, spend_usd}].
    """
    items = [i for i in report_data.get("items") or [] if isinstance(i, dict)]
    teams = [t for t in report_data.get("teams") or [] if isinstance(t, dict)]
    spend = _num(report_data.get("spend_usd"))
    if not items and not teams and not spend:
        return None
    counts = derived_counts(report_data)
    scope = str(report_data.get("scope") or "The team")
    period = str(report_data.get("period") or "this month")
    parts: list[str] = []
    if items:
        by_status = counts["items_by_status"]
        status_bits = [
            f"{by_status[s]} {label}"
            for s, label in (("kept", "kept"), ("submitted", "awaiting review"), ("killed", "killed"))
            if by_status.get(s)
        ]
        head = f"{scope} logged {len(items)} artifact{'s' if len(items) != 1 else ''} in {period}"
        parts.append(head + (f" ({', '.join(status_bits)})" if status_bits else "") + ".")
    else:
        parts.append(f"{scope} logged no artifact in {period}.")
    score = _num(report_data.get("artifacts_per_100_usd"))
    counted = _num(report_data.get("artifacts"))
    if spend is not None:
        line = f"AI spend was {_money(spend)}"
        if counted is not None:
            line += f" for {counted:g} counted artifact{'s' if counted != 1 else ''}"
        if score is not None:
            line += f", {score:.2f} artifacts per $100"
        bar = _num(report_data.get("bar"))
        cleared = report_data.get("cleared_bar")
        if bar is not None and isinstance(cleared, bool):
            line += f" ({'clearing' if cleared else 'below'} last month's bar of {bar:.2f})"
        parts.append(line + ".")
    if items:
        kinds = Counter(str(i.get("kind") or "other") for i in items).most_common(3)
        parts.append("Most logged: " + ", ".join(f"{k} ({n})" for k, n in kinds) + ".")
        best = sorted(items, key=lambda i: (i.get("status") != "kept", str(i.get("title") or "")))[:3]
        named = [
            f"“{i.get('title')}” ({i.get('person')})" if i.get("person") else f"“{i.get('title')}”"
            for i in best
            if i.get("title")
        ]
        if named:
            parts.append("Highlights: " + ", ".join(named) + ".")
    if teams:
        top = min(teams, key=lambda t: _num(t.get("rank")) or math.inf)
        top_score = _num(top.get("artifacts_per_100_usd"))
        parts.append(
            f"Top team: {top.get('name')}"
            + (f" at {top_score:.2f} artifacts per $100." if top_score is not None else ".")
        )
    unmatched = _num(report_data.get("unmatched_spend_usd"))
    idle = [p for p in report_data.get("spend_without_artifact") or [] if isinstance(p, dict)]
    if unmatched:
        names = ", ".join(str(p.get("name")) for p in idle[:5] if p.get("name"))
        parts.append(f"{_money(unmatched)} of spend had no artifact" + (f" ({names})." if names else "."))
    return " ".join(parts)


# --- the bot's own usage --------------------------------------------------------------------


def bot_email(identity: str) -> str:
    """The reserved email of the bot's person (``.invalid`` never resolves to a real mailbox)."""
    return f"{identity}@artifact-bot.invalid".lower()


def ensure_bot_person(session: Session, identity: str) -> Person:
    """The person the bot's own usage is attributed to, created on first use."""
    email = bot_email(identity)
    person = session.scalars(select(Person).where(col(Person.email) == email)).first()
    if person is None:
        person = Person(name=identity, email=email, slack_user_id=None)
        session.add(person)
        session.flush()
    return person


def _bot_person_id(engine: Engine, identity: str) -> int:
    def once() -> int:
        with session_scope(engine) as session:
            person_id = ensure_bot_person(session, identity).id
        assert person_id is not None
        return person_id

    try:
        return once()
    except IntegrityError:  # another worker created it between our read and our insert
        return once()


def record_own_usage(engine: Engine, record: UsageRecord, org: OrgConfig) -> None:
    """Add one call's usage to the bot's row of that day and model (source ``artifact-bot``).

    Read-modify-write under a lock: a zero row is claimed first (``ON CONFLICT DO NOTHING``),
    then read ``FOR UPDATE`` (SQLite serialises writers), then stored through
    ``upsert_records`` with the sums, so concurrent calls add up instead of overwriting.
    """
    identity = org.bot_identity
    person_id = _bot_person_id(engine, identity)
    with session_scope(engine) as session:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        key = {
            "source": USAGE_SOURCE,
            "date": record.date,
            "identity": identity,
            "provider": record.provider,
            "model": record.model,
        }
        session.execute(
            insert(UsageRow)
            .values(
                **key,
                period=period_of(record.date),
                person_id=person_id,
                cost_usd=0.0,
                priced=True,
                imported_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=list(key))
        )
        match = [col(getattr(UsageRow, k)) == v for k, v in key.items()]
        row = session.scalars(select(UsageRow).where(*match).with_for_update()).one()
        own_cost = (
            record.cost_usd
            if record.cost_usd is not None
            else price_tokens(
                record.provider,
                record.model,
                record.date,
                input_tokens=record.input_tokens,
                output_tokens=record.output_tokens,
                cached_tokens=record.cached_tokens,
            )
        )
        cost = None if own_cost is None or row.cost_usd is None else row.cost_usd + own_cost
        upsert_records(
            session,
            [
                UsageRecord(
                    date=record.date,
                    identity=identity,
                    provider=record.provider,
                    model=record.model,
                    input_tokens=row.input_tokens + record.input_tokens,
                    output_tokens=row.output_tokens + record.output_tokens,
                    cached_tokens=row.cached_tokens + record.cached_tokens,
                    requests=row.requests + max(record.requests, 1),
                    cost_usd=cost,
                    person_id=person_id,
                )
            ],
            source=USAGE_SOURCE,
        )


def usage_recorder(engine: Engine, org: OrgConfig) -> Callable[[UsageRecord], None]:
    """An ``on_usage`` callback storing the bot's usage with ``record_own_usage``; logs, never raises."""

    def record(rec: UsageRecord) -> None:
        try:
            record_own_usage(engine, rec, org)
        except Exception:
            log.exception("could not store the bot's own usage")

    return record


def own_usage_rows(session: Session, org: OrgConfig) -> Iterable[UsageRow]:
    """The bot's stored usage rows (for reports and tests)."""
    query = select(UsageRow).where(col(UsageRow.source) == USAGE_SOURCE, col(UsageRow.identity) == org.bot_identity)
    return session.scalars(query).all()
