"""Pure artifact extraction from a free-text reply, and verification of a model's extraction.

``deterministic_extract`` is the parser that always works (no key, model down, time-out): it
reads links with :mod:`bot.artifacts.links` and names each one from the words around it.

Grouping rule: one artifact per link, except that a link whose own words (the text between it
and the previous link of the same sentence or bullet, or its Slack label) name only supporting
evidence - "code", "repo", "PR", "demo", "script"... - joins the previous artifact of that
sentence: ``upgrade flow <url1> (PR: <url2>)`` is one artifact with two links. Two things named
in one sentence stay two artifacts.

``verify`` is applied to every model answer: a link counts only when the same normalised URL
is in the message, so a model (or a prompt injection steering it) cannot add evidence.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from bot.artifacts.links import (
    MAX_LINKS_PER_MESSAGE,
    Link,
    LinkError,
    clean_title,
    display_host,
    extract_links,
    normalize_url,
    strip_invisible,
    validate_url,
)
from bot.config import ARTIFACT_KINDS

TITLE_LIMIT = 150
IMPACT_LIMIT = 200


@dataclass
class ExtractedArtifact:
    """An artifact read from a reply: what it is and the links that prove it.

    Carries no status, score or owner: those are never taken from a person's text.
    """

    title: str
    kind: str
    links: list[str] = field(default_factory=list)
    impact: str | None = None


# --- text clean-up ------------------------------------------------------------------------

_SLACK_TOKEN = re.compile(r"<[^<>\n]*>")  # mentions <@U..>, <!here>, <#C..|x>, <mailto:..|..>
_NON_HTTP = re.compile(r"(?i)\b(?:javascript|data|file|ftp|vbscript|mailto|tel|slack):[^\s<>]+")
_EMOJI = re.compile(r":[a-z0-9_+\-]+:")
_MARKUP = re.compile(r"(?<![\w])[*_~`]+|[*_~`]+(?![\w])")
_BOUNDARY = re.compile(r"\n|(?<!&gt)(?<!&lt)(?<!&amp);|[.!?](?=\s|$)")
_SPACES = re.compile(r"\s+")


def _plain(fragment: str) -> str:
    """Words of a message fragment without Slack markup, emoji codes or foreign links."""
    text = html.unescape(fragment)
    text = _SLACK_TOKEN.sub(" ", text)
    text = _NON_HTTP.sub(" ", text)
    text = _EMOJI.sub(" ", text)
    text = _MARKUP.sub("", text)
    return _SPACES.sub(" ", strip_invisible(text)).strip()


_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_VERBS = (
    "shipped|built|made|created|launched|wrote up|wrote|published|set up|put together|released|"
    "deployed|finished|delivered|automated|prototyped|added|rolled out|kicked off|spun up|stood up|"
    "rebuilt|redesigned|designed|ran|merged|tried|started|implemented|developed|completed|migrated|"
    "drafted|updated|improved|refactored|wired up|hooked up|created|did|got|have|made"
)
_LEADING = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^(?:and|also|plus|then|&|\+|-|–|—|\*|•|·|>|→|->|←|<-|=>|=|\d+[.)]|[a-z]\))(?=\s|$)\s*",
        r"^(?:hi|hey|hello|thanks|thank you|sure|ok|okay|yes|yep|yeah|so|well|honestly|"
        r"here you go|here goes|as requested)\b[\s,!.:-]*",
        r"^(?:this|last|past) (?:month|week|quarter|sprint)\b[\s,]*",
        r"^in (?:" + _MONTHS + r")\b[\s,]*",
        r"^(?:finally|just|recently|mostly)\b\s*",
        r"^(?:(?:i|we)(?:'ve| have| also| finally| just| mostly)*\s+)?(?:" + _VERBS + r")\b\s*",
        r"^(?:here's|here is|here are|there's|this is|these are|it's|it is|check out|see|look at|"
        r"link to|links?|my (?:real )?(?:work|artifacts?|answer)|artifacts?|real answer|"
        r"(?:a )?(?:demo|video|recording|write-?up|screenshot|walkthrough) of)\b[\s:,-]*",
        r"^(?:the|a|an|my|our|this|that|these|its|their)\s+",
    )
]
_TRAILING = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"(?:^|,?\s+)(?:results?|code|details|more|demo|link|docs?)\s+(?:are\s+|is\s+)?(?:here|below|at|in)\s*:?$",
        r"\s*(?:\(|\[|:|-|–|—|->|→|=>|=|,|←)\s*$",
        r"\s+(?:at|here|see|in|on|via|is|are|it's|link|links|url)\s*:?$",
        r"\s+(?:is|are|was|went|goes|now|it's)\s+(?:now\s+)?"
        r"(?:live|out|up|done|shipped|launched|ready|here|merged)\b.*$",
        r"\s+(?:that|which)?\s*(?:i|we)\s+(?:also\s+)?(?:" + _VERBS + r")\b.*$",
        r"\s+(?:on|in)\s+(?:the\s+)?(?:website|site|notion|looker|github|drive|google drive|confluence|"
        r"wiki|slack|hubspot|retool)$",
    )
]
_EDGE_SOFT = " \t,:;-–—*•·[]\"'“”‘’→←=>|/"
_EDGE = _EDGE_SOFT + "()"


def _strip_filler(text: str) -> tuple[str, bool]:
    """Remove leading filler ("I shipped the") and trailing filler ("is live at").

    Returns:
        The core words and whether something was removed at the start (a new item starts there).
    """
    # A trailing aside in parentheses is commentary, not part of the name.
    text = re.sub(r"^(.{3,}?)\s*\([^()]*\)[\s:,.;-]*$", r"\1", text.strip())
    text = text.strip(_EDGE)
    started = False
    changed = True
    while changed and text:
        changed = False
        for pattern in _LEADING:
            new = pattern.sub("", text, count=1).strip(_EDGE)
            if new != text:
                text, changed, started = new, True, True
        for pattern in _TRAILING:
            new = pattern.sub("", text, count=1).strip(_EDGE)
            if new != text:
                text, changed = new, True
    return text, started


def _finish(title: str) -> str | None:
    """A cleaned, capped title with a capital first letter; None when too short to name anything."""
    title = title.strip(_EDGE_SOFT)
    while title and (title[0] in "()" or title[-1] in "()") and title.count("(") != title.count(")"):
        title = title.strip("()").strip(_EDGE_SOFT)
    title = clean_title(title, TITLE_LIMIT)
    if len(title) < 3 or not re.search(r"\w", title):
        return None
    first = title.split(" ", 1)[0]
    if first.islower() and first.replace("-", "").isalpha():
        title = title[0].upper() + title[1:]
    return title


def _title_before(fragment: str) -> str | None:
    """A title from the words before a link, inside its sentence."""
    text = _plain(fragment)
    if ":" in text:
        head, _, tail = text.rpartition(":")
        text = tail if _strip_filler(tail)[0] else head
    # Walk comma-separated pieces backwards until one starts a new item ("and the ...",
    # "I built ...") or the sentence start: keeps "agent that reads, tags and routes tickets".
    pieces = text.split(",")
    kept: list[str] = []
    for index in range(len(pieces) - 1, -1, -1):
        piece = pieces[index]
        core, started = _strip_filler(piece)
        if not kept and not core:
            continue  # filler-only tail like ", see" or ", it's"
        kept.insert(0, piece)
        if started or index == 0 or not pieces[index - 1].strip():
            break
    if not kept:
        return None
    core, _ = _strip_filler(",".join(kept))
    return _finish(core)


def _title_after(fragment: str) -> str | None:
    """A title from the words after a link (``<url> - churn dashboard``)."""
    text = _plain(fragment)
    text = re.split(r",|\s[—–]\s|\s-\s|\(", text.strip(_EDGE), maxsplit=1)[0]
    core, _ = _strip_filler(text)
    return _finish(core)


_ID_LIKE = re.compile(r"^(?=.*\d)[A-Za-z0-9_-]{6,}$|^\d+$")
_GENERIC_SEGMENTS = {
    "edit",
    "view",
    "app",
    "apps",
    "d",
    "document",
    "spreadsheets",
    "presentation",
    "share",
    "reporting",
    "dashboards",
    "dashboard",
    "pull",
    "pulls",
    "issues",
    "blob",
    "tree",
    "main",
    "master",
    "wiki",
    "drive",
    "folders",
    "file",
    "question",
    "workbook",
    "index",
    "home",
    "en",
    "u",
    "s",
    "v2",
}


def _slug(url: str) -> str | None:
    """Words of the last meaningful path segment: ``Onboarding-playbook-3f2a`` → ``Onboarding playbook``."""
    for segment in reversed([s for s in urlsplit(url).path.split("/") if s]):
        segment = unquote(segment)
        words = re.sub(r"[-_](?=[0-9a-f]{4,}$)[0-9a-f]+$", "", segment)  # Notion-style id suffix
        if words.lower() in _GENERIC_SEGMENTS or _ID_LIKE.match(words):
            continue
        # Short single words ("roi", "bi") are usually acronyms: better shown as host/path.
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*", words) and (
            len(words) >= 5 or re.search(r"[-_.]", words)
        ):
            return re.sub(r"[-_]+", " ", words)
    return None


def _title_from_url(url: str) -> str:
    slug = _slug(url)
    if slug:
        return _finish(slug) or slug
    parts = urlsplit(url)
    tail = parts.path.rstrip("/").rsplit("/", 1)[-1]
    return clean_title(f"{display_host(url)}/{tail}" if tail else display_host(url), TITLE_LIMIT)


_GENERIC_LABELS = {
    "here",
    "link",
    "this",
    "this one",
    "click here",
    "it",
    "that",
    "url",
    "see here",
    "there",
    "demo",
    "here it is",
    "this link",
    "the link",
    "link here",
}


def _label_title(link: Link) -> tuple[str | None, bool]:
    """The Slack label as a title, and whether it is weak (generic, or the URL's own slug/host)."""
    label = _plain(link.label or "")
    if not label:
        return None, True
    low = label.lower().rstrip("/")
    bare_url = re.sub(r"^https?://", "", link.url.lower()).rstrip("/")
    host = (urlsplit(link.url).hostname or "").lower()
    if low.startswith(("http://", "https://")) or low in (bare_url, host, host.removeprefix("www.")):
        return None, True
    if " " not in low and "." in low and "/" in low:
        return None, True
    if low in _GENERIC_LABELS:
        return None, True
    # A slug label ("voice-agent") is the repository's name, not the person's words.
    weak = " " not in low and bool(re.search(r"[-_]", low))
    return _finish(label), weak


# --- kinds ---------------------------------------------------------------------------------

_KIND_WORDS: dict[str, tuple[str, ...]] = {
    "agent": ("agent", "agents", "bot", "bots", "chatbot", "assistant", "copilot", "gpt", "llm"),
    "workflow": (
        "workflow",
        "workflows",
        "automation",
        "automations",
        "automated",
        "automate",
        "zap",
        "script",
        "pipeline",
        "integration",
        "cron",
        "alert",
        "alerts",
        "sync",
        "router",
        "reminders",
        "handoff",
    ),
    "dashboard": (
        "dashboard",
        "dashboards",
        "report",
        "reports",
        "reporting",
        "chart",
        "charts",
        "funnel",
        "tracker",
        "kpi",
        "kpis",
        "scorecard",
        "looker",
        "tableau",
        "metabase",
    ),
    "campaign": ("campaign", "campaigns", "sequence", "newsletter", "promo", "webinar", "outreach", "ads"),
    "feature": (
        "feature",
        "features",
        "pr",
        "pull request",
        "release",
        "endpoint",
        "api",
        "flow",
        "portal",
        "export",
        "page",
        "filters",
    ),
    "document": (
        "doc",
        "docs",
        "document",
        "spec",
        "writeup",
        "write-up",
        "guide",
        "guidelines",
        "playbook",
        "runbook",
        "memo",
        "rfc",
        "wiki",
        "deck",
        "methodology",
        "handbook",
        "dictionary",
    ),
    "experiment": (
        "experiment",
        "experiments",
        "a/b",
        "ab test",
        "test",
        "pilot",
        "prototype",
        "prototyped",
        "poc",
        "eval",
        "trial",
    ),
}
_KIND_PATTERN = re.compile(
    r"(?<![\w/-])("
    + "|".join(sorted((re.escape(w) for ws in _KIND_WORDS.values() for w in ws), key=len, reverse=True))
    + r")(?![\w/-])",
    re.IGNORECASE,
)
_WORD_KIND = {w: kind for kind, words in _KIND_WORDS.items() for w in words}
_CLAUSE = re.compile(r"\s(?:that|which|who|for|to|with|from|of|in|on|vs|by)\s", re.IGNORECASE)
_URL_KINDS: tuple[tuple[str, str], ...] = (
    (r"github\.com/.+/pull/|gitlab\.[^/]+/.+/merge_requests/", "feature"),
    (r"docs\.google\.com/(?:document|presentation)|notion\.so|confluence|/wiki/", "document"),
    (r"looker|tableau|metabase|grafana|lookerstudio|datastudio|/dashboards?/", "dashboard"),
    (r"zapier\.com|make\.com|n8n\.|airflow\.|/workflows?/", "workflow"),
    (r"mailchimp\.com|hubspot\.com/(?:campaigns|email)|outreach\.io", "campaign"),
    (r"optimizely\.com|/experiments?/", "experiment"),
)


def _kinds_in(text: str) -> list[tuple[int, str]]:
    return [(m.start(), _WORD_KIND[m.group(1).lower()]) for m in _KIND_PATTERN.finditer(text)]


def guess_kind(title: str, context: str = "", urls: Iterable[str] = ()) -> str:
    """Guess an artifact kind from its title, then the words around it, then its links.

    In the title, the last keyword before a clause ("agent that drafts briefs", "campaign
    dashboard") is the head noun and wins.

    Returns:
        One of ``ARTIFACT_KINDS``; ``"other"`` when nothing points anywhere.
    """
    head = _CLAUSE.split(f" {title} ", maxsplit=1)[0]
    found = _kinds_in(head)
    if found:
        return found[-1][1]
    for text in (title, context):
        found = _kinds_in(text)
        if found:
            return found[0][1]
    for url in urls:
        for pattern, kind in _URL_KINDS:
            if re.search(pattern, url, re.IGNORECASE):
                return kind
    return "other"


# --- deterministic extraction ---------------------------------------------------------------

_EVIDENCE = {
    "code",
    "repo",
    "repository",
    "source",
    "pr",
    "prs",
    "pull",
    "request",
    "commit",
    "commits",
    "demo",
    "video",
    "loom",
    "recording",
    "screenshot",
    "screenshots",
    "script",
    "readme",
    "walkthrough",
    "mr",
}
_CONNECTORS = {
    "and",
    "the",
    "its",
    "it's",
    "it",
    "is",
    "are",
    "here",
    "at",
    "with",
    "plus",
    "also",
    "see",
    "in",
    "on",
    "of",
    "for",
    "this",
    "my",
    "a",
    "an",
    "same",
    "as",
    "lives",
    "behind",
}


def _is_evidence(words_text: str) -> bool:
    """True when text names only supporting evidence (``and the code is here``, ``PR #2302``)."""
    words = re.findall(r"[a-z][a-z'-]*|\d+", _plain(words_text).lower())
    words = [w for w in words if not w.isdigit()]
    return bool(words) and all(w in _EVIDENCE | _CONNECTORS for w in words) and any(w in _EVIDENCE for w in words)


def _impact_after(fragment: str) -> str | None:
    text = _plain(fragment).strip(_EDGE)
    text = re.sub(r"^(?:this|last) (?:month|week)\b[\s,—–-]*", "", text, flags=re.IGNORECASE).strip(_EDGE)
    if len(text.split()) < 3:
        return None
    return clean_title(text, IMPACT_LIMIT)


_OPENS_NEXT = re.compile(r"^\s*(?:[,;&+]|and\b|plus\b|also\b|as well as\b|then\b)", re.IGNORECASE)


def deterministic_extract(text: str) -> list[ExtractedArtifact]:
    """Artifacts of a reply without a language model: one per link, named from its context.

    Links come from :func:`bot.artifacts.links.extract_links` (http(s) only, de-duplicated, at most
    ``MAX_LINKS_PER_MESSAGE``); a title is the Slack label, else the words before the link in
    its sentence or bullet without filler ("I shipped the"), else the words after it, else the
    URL's slug. Links naming only supporting evidence join the previous artifact (see the
    module docstring). Never invents a link.
    """
    links, _rejected = extract_links(text)
    links = links[:MAX_LINKS_PER_MESSAGE]
    if not links:
        return []
    bounds = _boundary_positions(text, links)
    segs = [sum(1 for b in bounds if b <= link.start) for link in links]
    out: list[ExtractedArtifact] = []
    last_in_seg: dict[int, ExtractedArtifact] = {}
    suffix_style: dict[int, bool] = {}
    for i, link in enumerate(links):
        seg = segs[i]
        seg_start = max([b for b in bounds if b <= link.start], default=0)
        seg_end = min([b - 1 for b in bounds if b > link.end] + [len(text)])
        prev_end = links[i - 1].end if i > 0 and segs[i - 1] == seg else seg_start
        next_start = links[i + 1].start if i + 1 < len(links) and segs[i + 1] == seg else seg_end
        before = text[max(prev_end, seg_start) : link.start]
        after = text[link.end : next_start]
        label, weak_label = _label_title(link)
        previous = last_in_seg.get(seg)
        label_only = bool(link.label) and not _plain(before).strip(_EDGE)
        if previous is not None and (_is_evidence(before) or (label_only and _is_evidence(link.label or ""))):
            previous.links.append(link.url)
            continue
        title_before = _title_before(before)
        strong_label = label if label and not weak_label else None
        if seg not in suffix_style:
            # "<url> - churn dashboard": the sentence names its links after them. Not when the words after
            # it open the next item ("<url> and a dashboard <url>"): those name the next link.
            opens_next = next_start != seg_end and _OPENS_NEXT.match(_plain(after)) is not None
            suffix_style[seg] = (
                not title_before and not strong_label and not opens_next and _title_after(after) is not None
            )
        context_title = _title_after(after) if suffix_style[seg] else title_before
        if strong_label:
            title = strong_label
            if context_title and strong_label.lower() in context_title.lower():
                title = context_title  # the sentence names it more fully than the label
        else:
            title = context_title or label or _title_from_url(link.url)
        context = _plain(text[seg_start:seg_end])
        impact = None if suffix_style[seg] or next_start != seg_end else _impact_after(after)
        artifact = ExtractedArtifact(
            title=title,
            kind=guess_kind(title, context, [link.url]),
            links=[link.url],
            impact=impact,
        )
        out.append(artifact)
        last_in_seg[seg] = artifact
    return out


def _boundary_positions(text: str, links: list[Link]) -> list[int]:
    """Positions just after each sentence/line boundary, ignoring characters inside links."""
    masked = list(text)
    for link in links:
        masked[link.start : link.end] = ["x"] * (link.end - link.start)
    flat = _SLACK_TOKEN.sub(lambda m: "x" * len(m.group(0)), "".join(masked))
    return [m.end() for m in _BOUNDARY.finditer(flat)]


# --- verification of model output -----------------------------------------------------------


def _message_links(text: str) -> dict[str, str]:
    """Normalised URL → URL as written, for every accepted link of a message."""
    links, _ = extract_links(text)
    return {link.normalized: link.url for link in links[:MAX_LINKS_PER_MESSAGE]}


def verify(extracted: Iterable[ExtractedArtifact], text: str) -> list[ExtractedArtifact]:
    """Keep only what the message supports: links present in it, kinds from the allowed set.

    A link counts when its normalised form equals a link of the message (so a model may drop a
    tracking parameter but never add or change a target); the message's own spelling is kept.
    A link claimed twice stays with the first artifact. Artifacts left without a link are
    dropped. Titles and impacts are cleaned and capped.
    """
    present = _message_links(text)
    seen: set[str] = set()
    out: list[ExtractedArtifact] = []
    for artifact in extracted:
        urls: list[str] = []
        for raw in artifact.links:
            try:
                url = validate_url(html.unescape(str(raw)))
            except LinkError:
                continue
            norm = normalize_url(url)
            if norm in present and norm not in seen:
                seen.add(norm)
                urls.append(present[norm])
        if not urls:
            continue
        title = clean_title(_plain(str(artifact.title)).strip(_EDGE_SOFT), TITLE_LIMIT)
        if not re.search(r"\w", title):
            title = _title_from_url(urls[0])
        kind = artifact.kind if artifact.kind in ARTIFACT_KINDS else "other"
        impact = clean_title(_plain(artifact.impact), IMPACT_LIMIT) if artifact.impact else None
        out.append(ExtractedArtifact(title=title, kind=kind, links=urls, impact=impact or None))
    return out


def missing_links(extracted: Iterable[ExtractedArtifact], text: str) -> list[str]:
    """Links of the message that no artifact holds (normalised comparison), in message order."""
    held = {normalize_url(url) for artifact in extracted for url in artifact.links}
    return [url for norm, url in _message_links(text).items() if norm not in held]


def add_missing(extracted: list[ExtractedArtifact], text: str) -> list[ExtractedArtifact]:
    """``extracted`` plus the deterministic artifacts of message links it left out.

    A model that skips a link must not cost the person an artifact.
    """
    missing = {normalize_url(url) for url in missing_links(extracted, text)}
    if not missing:
        return list(extracted)
    extra: list[ExtractedArtifact] = []
    for artifact in deterministic_extract(text):
        urls = [url for url in artifact.links if normalize_url(url) in missing]
        if urls:
            extra.append(
                ExtractedArtifact(title=artifact.title, kind=artifact.kind, links=urls, impact=artifact.impact)
            )
    return [*extracted, *extra]
