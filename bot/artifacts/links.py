"""Pure link handling: Slack ``<url|label>`` and bare URLs, the canonical form of a link, http(s) only."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MAX_URL_LENGTH = 2000
MAX_LINKS_PER_MESSAGE = 20

# Slack wraps links as <https://x|label> or <https://x>; also <@U..>, <#C..>, <!here>.
_SLACK_LINK = re.compile(r"<((?:https?|[a-zA-Z][a-zA-Z0-9+.-]*):[^<>|\s]*)(?:\|([^<>]*))?>")
_BARE_URL = re.compile(r"(?<![<|\w])(https?://[^\s<>\"'`]+)", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$|^localhost$")
_INVISIBLE = {
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200e",
    "\u200f",
}


@dataclass(frozen=True)
class Link:
    """A link found in a message."""

    url: str
    normalized: str
    label: str | None
    start: int
    end: int


class LinkError(ValueError):
    """A link that cannot be accepted, with the reason."""


def strip_invisible(text: str) -> str:
    """Remove zero-width and bidirectional control characters."""
    return "".join(ch for ch in text if ch not in _INVISIBLE)


def validate_url(url: str) -> str:
    """Check a URL a person gave and return it cleaned.

    Raises:
        LinkError: for non-http(s) schemes, credentials, missing host or an oversized URL.
    """
    url = strip_invisible(url).strip()
    if len(url) > MAX_URL_LENGTH:
        raise LinkError(f"link is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise LinkError(f"not a valid link: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise LinkError("only http:// and https:// links are accepted")
    if parts.username or parts.password:
        raise LinkError("links must not contain a user name or password")
    host = (parts.hostname or "").rstrip(".")
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise LinkError("link has no valid host name") from None
    if not _HOST.match(ascii_host) or _is_local_or_ip(ascii_host):
        raise LinkError("link has no valid host name (an address or localhost is no evidence anyone can open)")
    if any(ch.isspace() for ch in url):
        raise LinkError("link contains spaces")
    return url


def _is_local_or_ip(host: str) -> bool:
    """``localhost`` and IP addresses: not a place a colleague can open the artifact."""
    import ipaddress

    if host == "localhost" or host.endswith(".localhost"):
        return True
    if host.rsplit(".", 1)[-1].isdigit():  # a numeric last label is an IPv4 address, whole or not
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def display_host(url: str) -> str:
    """The host as a person should see it: punycode (``xn--``) kept visible, so look-alikes show."""
    host = urlsplit(url).hostname or ""
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


_TRACKING_NAMES = frozenset({"gclid", "fbclid", "mc_cid", "mc_eid", "ref", "ref_src", "si"})
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PCT = re.compile(r"%([0-9A-Fa-f]{2})")
_HEX32 = re.compile(r"([0-9a-f]{32})$")
_UUID = re.compile(r"([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$")
_GITHUB_THING = re.compile(r"^/([^/]+)/([^/]+)/(pull|issues|commit|discussions)/([0-9A-Za-z]+)(?:/.*)?$")
_GITLAB_THING = re.compile(r"^(/.+?)/-/(merge_requests|issues|commit)/([0-9A-Za-z]+)(?:/.*)?$")
_GOOGLE_DOC = re.compile(
    r"^/(document|spreadsheets|presentation|forms|drawings)(?:/u/\d+)?/d/(?:e/)?([A-Za-z0-9_-]+)(?:/.*)?$"
)
_DRIVE_FILE = re.compile(r"^(?:/u/\d+)?/file/d/([A-Za-z0-9_-]+)(?:/.*)?$")
_FIGMA = re.compile(r"^/(?:file|design|proto|board|slides|deck)/([A-Za-z0-9]+)(?:/.*)?$")
_LOOM = re.compile(r"^/(?:share|embed)/(?:[^/]*?-)?([0-9a-f]{32})(?:/.*)?$")


def _is_tracking(name: str) -> bool:
    name = name.lower()
    return name.startswith("utm_") or name in _TRACKING_NAMES


def _pct(match: re.Match[str]) -> str:
    """RFC 3986 6.2.2: decode escaped unreserved characters, upper-case the other escapes."""
    ch = chr(int(match.group(1), 16))
    return ch if ch in _UNRESERVED else "%" + match.group(1).upper()


def _notion_id(path: str, query: list[tuple[str, str]]) -> str | None:
    """A Notion page id: a peeked page (``?p=``) or the 32 hex digits that end the slug."""
    for key, value in query:
        if key == "p" and _HEX32.match(value.lower().replace("-", "")):
            return value.lower().replace("-", "")
    last = path.rstrip("/").rsplit("/", 1)[-1].lower()
    uuid = _UUID.search(last)
    if uuid:
        return "".join(uuid.groups())
    found = _HEX32.search(last)
    return found.group(1) if found else None


def _known_thing(host: str, path: str, query: list[tuple[str, str]]) -> tuple[str, str] | None:
    """(host, path) of the thing itself for hosts whose sub-pages show the same thing, else None."""
    if host == "github.com":
        m = _GITHUB_THING.match(path)
        if m:
            owner, repo, what, ref = m.groups()
            ref = ref.lower() if what == "commit" else ref
            return host, f"/{owner.lower()}/{repo.lower()}/{what}/{ref}"
        return None
    m = _GITLAB_THING.match(path)
    if m:  # the ``/-/`` segment is GitLab's own, on gitlab.com and self-hosted instances alike
        project, what, ref = m.groups()
        return host, f"{project}/-/{what}/{ref.lower() if what == 'commit' else ref}"
    if host == "docs.google.com":
        m = _GOOGLE_DOC.match(path)
        if m:
            return host, f"/{m.group(1)}/d/{m.group(2)}"
        return None
    if host == "drive.google.com":
        m = _DRIVE_FILE.match(path)
        if m:
            return host, f"/file/d/{m.group(1)}"
        if path in ("/open", "/uc"):
            ids = [v for k, v in query if k == "id" and v]
            if ids:
                return host, f"/file/d/{ids[0]}"
        return None
    if host in ("notion.so", "notion.site") or host.endswith((".notion.so", ".notion.site")):
        page = _notion_id(path, query)
        return ("notion.so", f"/{page}") if page else None
    if host == "figma.com":
        m = _FIGMA.match(path)
        return (host, f"/file/{m.group(1)}") if m else None
    if host == "loom.com":
        m = _LOOM.match(path.lower())
        return (host, f"/share/{m.group(1)}") if m else None
    return None


def canonical_url(url: str) -> str:
    """The one canonical form of a link, used wherever links are compared (dedup, carry-over, team
    sharing, cross-team flags). The link shown to people stays as they wrote it.

    Lower-case scheme and host (IDNA), http and https equal, no ``www.``, no default port, no
    fragment, no tracking parameters (``utm_*``, ``gclid``, ``fbclid``, ``mc_cid``, ``mc_eid``,
    ``ref``, ``ref_src``, ``si``), sorted query, no trailing slash, escapes of unreserved characters
    decoded. Known hosts collapse sub-pages to the thing itself: a GitHub pull request, issue or
    commit (``/pull/17/files`` is ``/pull/17``), a GitLab merge request, a Google Doc, Sheet or
    Slides deck (``/d/ID/edit`` is ``/d/ID``), a Notion page (its id), a Figma file (its key) and a
    Loom video (share or embed: its id).
    """
    parts = urlsplit(strip_invisible(url).strip())
    host = (parts.hostname or "").lower().rstrip(".")
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii")
    if host.startswith("www."):
        host = host[4:]
    try:
        port = parts.port
    except ValueError:
        port = None
    path = _PCT.sub(_pct, unicodedata.normalize("NFC", parts.path or "")).rstrip("/")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    thing = _known_thing(host, path, query) if port in (None, 80, 443) else None
    if thing is not None:
        host, path = thing
        query = []
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    return urlunsplit(("https", netloc, path, urlencode(sorted(query)), ""))


# The name the rest of the code has always used for the same function.
normalize_url = canonical_url


def _trim(url: str) -> str:
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def extract_links(text: str) -> tuple[list[Link], list[str]]:
    """Find links in Slack message text.

    Returns:
        The accepted links (first occurrence of each normalised URL, in order) and a list of
        reasons for links that were rejected (e.g. ``javascript:``).
    """
    found: list[Link] = []
    rejected: list[str] = []
    seen: set[str] = set()
    spans: list[tuple[int, int]] = []

    def add(url: str, label: str | None, start: int, end: int) -> None:
        try:
            url = validate_url(url)
        except LinkError as exc:
            rejected.append(f"{url[:80]}: {exc}")
            return
        norm = normalize_url(url)
        if norm in seen:
            return
        seen.add(norm)
        found.append(Link(url=url, normalized=norm, label=(label or "").strip() or None, start=start, end=end))

    for m in _SLACK_LINK.finditer(text):
        spans.append((m.start(), m.end()))
        target = m.group(1).replace("&amp;", "&")
        if target.lower().startswith(("mailto:", "tel:", "slack:")):
            continue
        add(target, m.group(2), m.start(), m.end())
    for m in _BARE_URL.finditer(text):
        if any(s <= m.start() < e for s, e in spans):
            continue
        add(_trim(m.group(1)).replace("&amp;", "&"), None, m.start(), m.start() + len(_trim(m.group(1))))
    for m in re.finditer(r"(?i)\b(javascript|data|file|ftp|vbscript):[^\s<>]+", text):
        if not any(s <= m.start() < e for s, e in spans):
            rejected.append(f"{m.group(0)[:80]}: only http:// and https:// links are accepted")
    found.sort(key=lambda link: link.start)
    return found, rejected


def title_for(text: str, link: Link, links: list[Link]) -> str:
    """A title for a link: its Slack label, else the words just before it, else its host and path."""
    if link.label and not link.label.lower().startswith(("http://", "https://")):
        return clean_title(link.label)
    prev_end = 0
    for other in links:
        if other.end <= link.start:
            prev_end = max(prev_end, other.end)
    before = _SLACK_LINK.sub(" ", text[prev_end : link.start])
    before = re.split(r"[\n.;!?]", before)[-1]
    before = re.sub(r"^\s*(?:and|also|plus|&|,|-|\*|•)\s+", "", before.strip(" ,:-–—*•\t"), flags=re.I)
    before = re.sub(r"\s+(?:at|here|see|in|on|:|-)$", "", before.strip(" ,:-–—"), flags=re.I)
    before = before.strip(" ,:-–—()")
    if len(before) >= 3:
        return clean_title(before)
    parts = urlsplit(link.url)
    tail = parts.path.rstrip("/").rsplit("/", 1)[-1]
    return clean_title(f"{display_host(link.url)}/{tail}" if tail else display_host(link.url))


def clean_title(text: str, limit: int = 150) -> str:
    """Collapse whitespace, drop invisible characters and cap the length."""
    text = " ".join(strip_invisible(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape_mrkdwn(text: str) -> str:
    """Escape text for Slack mrkdwn so it cannot ping (@channel) or forge links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
