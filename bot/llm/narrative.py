"""Narratives of reports: written by a language model and checked in code, else by a template.

The model's text is used only when every number in it is a number of the data (rounding
allowed), it links nowhere outside the data and mentions no one; otherwise the template
(:func:`template_narrative`, written in code) is used. The counts the model might need are
computed here and handed to it, so it never has to count.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from bot.artifacts.links import normalize_url
from bot.llm.base import ChatModel, ModelFailure, fallback_reason
from bot.llm.prompts import json_data, load_prompt
from bot.periods import month_name

MAX_NARRATIVE_CHARS = 2000
NARRATIVE_MAX_TOKENS = 500


@dataclass(frozen=True)
class NarrativeResult:
    """A narrative and how it was written: ``path`` is ``"model"`` or ``"template"``."""

    text: str | None
    path: Literal["model", "template"]
    reason: str | None = None


def narrate(llm: ChatModel, report_data: dict[str, Any]) -> NarrativeResult:
    """A narrative of a report, written by the model and checked, else by ``template_narrative``. Never raises."""
    fallback = template_narrative(report_data)
    if fallback is None:
        return NarrativeResult(None, "template", "no_data")
    payload = {"report": report_data, "counts": derived_counts(report_data)}
    try:
        content = llm.complete(
            [
                {"role": "system", "content": load_prompt("narrative_system").substitute()},
                {"role": "user", "content": load_prompt("narrative_user").substitute(report_json=json_data(payload))},
            ],
            max_tokens=NARRATIVE_MAX_TOKENS,
        )
        text = " ".join(content.split())
        problem = check_narrative(text, payload)
        if problem:
            raise ModelFailure(problem)
    except Exception as exc:
        reason = fallback_reason(exc, task="narrative", fallback="the template")
        return NarrativeResult(fallback, "template", reason)
    return NarrativeResult(text, "model", None)


def write_narrative(llm: ChatModel | None, report_data: dict[str, Any]) -> str | None:
    """The report's narrative with ``llm`` when there is one, else the template; None without data. Never raises."""
    if llm is None:
        return template_narrative(report_data)
    return narrate(llm, report_data).text


# --- checks and template --------------------------------------------------------------------

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
    if re.fullmatch(r"\d{4}-\d{2}", period):  # a report's "2026-11" reads "November 2026"
        period = month_name(period)
    parts: list[str] = []
    counted = _num(report_data.get("artifacts"))
    if items:
        by_status = counts["items_by_status"]
        status_bits = [
            f"{by_status[s]} {label}"
            for s, label in (("kept", "kept"), ("submitted", "awaiting review"), ("killed", "killed"))
            if by_status.get(s)
        ]
        head = f"{scope} logged {len(items)} artifact{'s' if len(items) != 1 else ''} in {period}"
        parts.append(head + (f" ({', '.join(status_bits)})" if status_bits else "") + ".")
    elif not counted:  # an org-wide summary has counts, not items: "no artifact" only when there were none
        parts.append(f"{scope} logged no artifact in {period}.")
    score = _num(report_data.get("artifacts_per_100_usd"))
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

