"""Link parsing and normalisation (pure)."""

from __future__ import annotations

import pytest

from bot.artifacts.links import LinkError, escape_mrkdwn, extract_links, normalize_url, validate_url


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
