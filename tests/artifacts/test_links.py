"""Link parsing and normalisation (pure)."""

from __future__ import annotations

import pytest

from bot.artifacts.links import LinkError, canonical_url, escape_mrkdwn, extract_links, normalize_url, validate_url


def test_slack_formatted_and_bare_links():
    text = "Shipped <https://github.com/a/b/pull/1|the PR> and https://looker.example.com/d/9, see <@U123>."
    links, rejected = extract_links(text)
    assert [link.url for link in links] == ["https://github.com/a/b/pull/1", "https://looker.example.com/d/9"]
    assert links[0].label == "the PR"
    assert rejected == []


@pytest.mark.parametrize(
    "bad",
    [
        "javascript:alert(1)",
        "data:text/html,hi",
        "ftp://x.example/f",
        "https://user:pw@x.example/",
        "https://" + "a" * 2100 + ".com",
    ],
)
def test_only_http_links_without_credentials(bad):
    with pytest.raises(LinkError):
        validate_url(bad)


def test_rejected_schemes_are_reported():
    _, rejected = extract_links("look javascript:alert(1) and <javascript:alert(2)|click>")
    assert len(rejected) == 2


def test_normalisation_equates_trivial_variants():
    a = normalize_url("https://www.GitHub.com/acme/agent/?utm_source=x&b=2&a=1#frag")
    b = normalize_url("http://github.com/acme/agent?a=1&b=2")
    assert a == b


def test_escape_mrkdwn_prevents_pings_and_forged_links():
    assert escape_mrkdwn("<!channel> <https://evil|ok>") == "&lt;!channel&gt; &lt;https://evil|ok&gt;"


# --- the canonical form: one table of pairs that are the same thing, one of pairs that are not ---------

PR = "https://github.com/acme/app/pull/17"
SAME = [
    # scheme, host case, www, port, fragment, trailing slash
    ("http://example.com/a", "https://example.com/a"),
    ("HTTPS://EXAMPLE.COM/a", "https://example.com/a"),
    ("https://www.example.com/a", "https://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("http://example.com:80/a", "https://example.com/a"),
    ("https://example.com/a#section-2", "https://example.com/a"),
    ("https://example.com/a/", "https://example.com/a"),
    ("https://example.com/a//", "https://example.com/a"),
    ("https://example.com/", "https://example.com"),
    ("https://example.com.", "https://example.com"),
    ("https://bücher.example/x", "https://xn--bcher-kva.example/x"),
    ("https://example.com/%7Euser", "https://example.com/~user"),
    ("https://example.com/a%2fb", "https://example.com/a%2Fb"),
    ("\u200bhttps://example.com/a\u200b", "https://example.com/a"),
    # tracking parameters and query order
    ("https://example.com/a?utm_source=slack", "https://example.com/a"),
    ("https://example.com/a?UTM_Medium=email&utm_campaign=x", "https://example.com/a"),
    ("https://example.com/a?gclid=abc", "https://example.com/a"),
    ("https://example.com/a?fbclid=abc", "https://example.com/a"),
    ("https://example.com/a?mc_cid=1&mc_eid=2", "https://example.com/a"),
    ("https://example.com/a?ref=newsletter", "https://example.com/a"),
    ("https://example.com/a?ref_src=twsrc", "https://example.com/a"),
    ("https://open.spotify.com/track/1?si=abc", "https://open.spotify.com/track/1"),
    ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
    ("https://example.com/a?id=7&utm_source=x", "https://example.com/a?id=7"),
    # the pull request, five ways
    (PR, PR + "/"),
    (PR, "https://GitHub.com/acme/app/pull/17#issuecomment-1"),
    (PR, PR + "?utm_source=slack"),
    (PR, PR + "/files"),
    (PR, "http://www.github.com/acme/app/pull/17/"),
    # GitHub sub-pages
    (PR, PR + "/commits"),
    (PR, PR + "/checks"),
    (PR, PR + "/files#diff-abc"),
    (PR, PR + "/commits/0123abcd"),
    (PR, PR + "/files?diff=split&w=1"),
    (PR, "https://github.com/Acme/App/pull/17"),
    ("https://github.com/acme/app/issues/5", "https://github.com/acme/app/issues/5#issuecomment-9"),
    ("https://github.com/acme/app/issues/5", "https://github.com/acme/app/issues/5/linked_closing_reference"),
    ("https://github.com/acme/app/commit/ABCDEF1", "https://github.com/acme/app/commit/abcdef1#diff-1"),
    # GitLab merge requests (gitlab.com and self-hosted)
    ("https://gitlab.com/g/p/-/merge_requests/8", "https://gitlab.com/g/p/-/merge_requests/8/diffs"),
    ("https://gitlab.com/g/p/-/merge_requests/8", "https://gitlab.com/g/p/-/merge_requests/8/commits"),
    ("https://gitlab.com/g/sub/p/-/merge_requests/8", "https://gitlab.com/g/sub/p/-/merge_requests/8/pipelines"),
    ("https://git.corp.example/g/p/-/merge_requests/3", "https://git.corp.example/g/p/-/merge_requests/3/diffs#x"),
    # Google Docs, Sheets, Slides, Drive
    ("https://docs.google.com/document/d/1AbC_d-9/edit", "https://docs.google.com/document/d/1AbC_d-9"),
    (
        "https://docs.google.com/document/d/1AbC_d-9/edit?usp=sharing",
        "https://docs.google.com/document/d/1AbC_d-9/view",
    ),
    ("https://docs.google.com/spreadsheets/d/1Sh/edit#gid=0", "https://docs.google.com/spreadsheets/d/1Sh/edit?gid=5"),
    (
        "https://docs.google.com/presentation/d/1Pr/edit#slide=id.p",
        "https://docs.google.com/presentation/d/1Pr/present",
    ),
    ("https://docs.google.com/document/u/1/d/1AbC/edit", "https://docs.google.com/document/d/1AbC/copy"),
    ("https://drive.google.com/file/d/1Fi/view?usp=drive_link", "https://drive.google.com/open?id=1Fi"),
    # Notion: the page id at the end of the slug
    (
        "https://www.notion.so/acme/Q3-plan-0123456789abcdef0123456789abcdef",
        "https://notion.so/0123456789abcdef0123456789abcdef",
    ),
    (
        "https://acme.notion.site/Q3-plan-0123456789abcdef0123456789abcdef?pvs=4",
        "https://www.notion.so/acme/Renamed-0123456789abcdef0123456789abcdef",
    ),
    (
        "https://www.notion.so/acme/01234567-89ab-cdef-0123-456789abcdef",
        "https://notion.so/0123456789abcdef0123456789abcdef",
    ),
    # Figma: the file key
    ("https://www.figma.com/file/AbCdEf123/Checkout", "https://figma.com/design/AbCdEf123/Checkout-v2?node-id=1-2"),
    ("https://www.figma.com/proto/AbCdEf123/Checkout?node-id=3", "https://figma.com/file/AbCdEf123"),
    # Loom: share and embed are the same video
    (
        "https://www.loom.com/share/0123456789abcdef0123456789abcdef",
        "https://loom.com/embed/0123456789abcdef0123456789abcdef",
    ),
    (
        "https://www.loom.com/share/Demo-of-agent-0123456789abcdef0123456789abcdef?sid=1",
        "https://www.loom.com/share/0123456789abcdef0123456789abcdef",
    ),
]

DIFFERENT = [
    ("https://example.com/a", "https://example.com/b"),
    ("https://example.com/A", "https://example.com/a"),  # paths are case-sensitive in general
    ("https://example.com/a?id=1", "https://example.com/a?id=2"),
    ("https://example.com/a?id=1", "https://example.com/a"),
    ("https://example.com:8443/a", "https://example.com/a"),
    ("https://sub.example.com/a", "https://example.com/a"),
    ("https://example.com/a?q=ref", "https://example.com/a"),  # only tracking parameter names are dropped
    (PR, "https://github.com/acme/app/pull/18"),
    (PR, "https://github.com/acme/other/pull/17"),
    (PR, "https://github.com/acme/app/issues/17"),
    ("https://github.com/acme/app/commit/abc1", "https://github.com/acme/app/commit/abc2"),
    ("https://github.com/acme/app", "https://github.com/acme/app/pull/1"),
    ("https://github.com/acme/app/blob/main/a.py", "https://github.com/acme/app/blob/main/b.py"),
    ("https://gitlab.com/g/p/-/merge_requests/8", "https://gitlab.com/g/p/-/merge_requests/9"),
    ("https://gitlab.com/g/p/-/merge_requests/8", "https://gitlab.com/g/q/-/merge_requests/8"),
    ("https://docs.google.com/document/d/1AbC/edit", "https://docs.google.com/document/d/1XyZ/edit"),
    ("https://docs.google.com/document/d/1AbC/edit", "https://docs.google.com/spreadsheets/d/1AbC/edit"),
    (
        "https://notion.so/acme/Plan-0123456789abcdef0123456789abcdef",
        "https://notion.so/acme/Plan-fedcba9876543210fedcba9876543210",
    ),
    ("https://figma.com/file/AbC/X", "https://figma.com/file/DeF/X"),
    (
        "https://loom.com/share/0123456789abcdef0123456789abcdef",
        "https://loom.com/share/fedcba9876543210fedcba9876543210",
    ),
    ("https://looker.example.com/dashboards/12", "https://looker.example.com/dashboards/13"),
    ("https://example.com/a%2Fb", "https://example.com/a/b"),  # an escaped slash is not a path separator
]


def test_the_tables_are_big_enough():
    assert len(SAME) + len(DIFFERENT) >= 60


@pytest.mark.parametrize(("a", "b"), SAME)
def test_same_thing_same_canonical_url(a, b):
    assert canonical_url(a) == canonical_url(b)
    assert canonical_url(canonical_url(a)) == canonical_url(a)  # idempotent


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_things_stay_different(a, b):
    assert canonical_url(a) != canonical_url(b)


def test_the_shown_link_stays_as_written():
    links, _ = extract_links(f"Shipped {PR}/files?utm_source=slack and done")
    assert links[0].url == f"{PR}/files?utm_source=slack"
    assert links[0].normalized == PR
    assert normalize_url is canonical_url  # one function, whatever its callers call it


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/dash",
        "https://localhost:8443/x",
        "https://grafana.localhost/d/1",
        "http://10.0.0.12/admin",  # the last label has two digits: it passed the host check before
        "http://192.168.1.200:3000/d/7",
        "https://127.0.0.1/x",
        "http://[::1]/x",
        "http://[fe80::1]/y",
    ],
)
def test_addresses_and_localhost_are_no_evidence(url: str) -> None:
    with pytest.raises(LinkError):
        validate_url(url)


def test_ordinary_hosts_with_digits_still_pass() -> None:
    for url in ("https://1password.com/x", "https://web3.example.io/a", "https://x.example.com/10.0.0.1"):
        assert validate_url(url) == url
