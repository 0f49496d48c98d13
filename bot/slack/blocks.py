"""Pure Block Kit builders. Every message also gets a plain ``text`` fallback."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from bot import ids
from bot.artifacts.links import display_host, escape_mrkdwn
from bot.config import ARTIFACT_KINDS
from bot.periods import month_name
from bot.slack.words import (
    KILL_CLOSE,
    KILL_REASON_HINT,
    KILL_REASON_LABEL,
    KILL_SUBMIT,
    STATUS_MEANING,
    checkin_status,
    count,
    day_name,
    floor_explained,
    kill_question,
    kill_title,
    killed_by,
    reply_by,
)

Blocks = list[dict[str, Any]]


def money(value: float) -> str:
    """``$1,234.56``."""
    return f"${value:,.2f}"


def unpriced(rows: int, tokens: int) -> str:
    """``unpriced (3 rows, 12,000 tokens)``: usage with no cost whose model the price table does not know."""
    return f"unpriced ({rows:,} row{'' if rows == 1 else 's'}, {tokens:,} tokens)"


def spend_text(usd: float, unpriced_rows: int | None = 0, unpriced_tokens: int | None = 0) -> str:
    """Spend that never shows unpriced usage as money: ``$12.00``, ``$12.00 + unpriced (…)`` or ``unpriced (…)``."""
    if not unpriced_rows:
        return money(usd)
    flag = unpriced(unpriced_rows, unpriced_tokens or 0)
    return f"{money(usd)} + {flag}" if usd else flag


def model_cost_text(m: Any, *, per_artifact: bool = False) -> str:
    """One model's line of "spend by model": ``gpt-4o (premium) $12.00 (40%)``; a model the price table
    does not know says ``unpriced (N rows, T tokens)``, never ``$0.00 (0%)``."""
    name = f"{m.model}{' (premium)' if m.premium else ''}"
    rows, tokens = getattr(m, "unpriced_rows", 0), getattr(m, "unpriced_tokens", 0)
    if rows and not m.cost_usd:
        return f"{name} {unpriced(rows, tokens)}"
    per = "" if not per_artifact or m.cost_per_artifact is None else f", {money(m.cost_per_artifact)}/artifact"
    extra = f" + {unpriced(rows, tokens)}" if rows else ""
    return f"{name} {money(m.cost_usd)} ({m.share:.0%}{per}){extra}"


def tokens_text(value: int) -> str:
    """Tokens in a short human form."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 1_000:
        return f"{value / 1_000:.1f}k"
    return str(value)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def _button(text: str, action_id: str, value: str = "", style: str | None = None) -> dict[str, Any]:
    b: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
    }
    if value:
        b["value"] = value
    if style:
        b["style"] = style
    return b


def link_text(url: str, label: str | None = None) -> str:
    """A safe mrkdwn link: the label escaped, the host shown in punycode so look-alikes show."""
    safe_url = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{safe_url}|{escape_mrkdwn(label or display_host(url))}>"


def artifact_line(title: str, links: Sequence[str], status: str, kind: str | None = None) -> str:
    """``• Title (kind, status) — host, host``."""
    hosts = ", ".join(link_text(u) for u in links[:3])
    bits = ", ".join(x for x in (kind, status) if x)
    return f"• *{escape_mrkdwn(title)}*{f' ({bits})' if bits else ''} {hosts}".rstrip()


def checkin_message(
    *,
    name: str,
    period: str,
    spend_usd: float,
    tokens: int,
    artifacts: Sequence[tuple[str, list[str], str]],
    suggestion: str | None = None,
    reminder: int = 0,
    deadline: dt.date | None = None,
) -> tuple[str, Blocks]:
    """The month-end DM (and its reminders): "show me the artifact", the month's spend and tokens, the
    last day a reply counts (``deadline``), buttons."""
    lead = "Reminder: " if reminder else ""
    by = f" Please {reply_by(deadline)}." if deadline else ""
    text = (
        f"{lead}Hi {name}, it's the artifact test for {month_name(period)}: show me the artifact. "
        f"You spent {money(spend_usd)} on AI ({tokens_text(tokens)} tokens) in {month_name(period)}. "
        f"Reply with links to what you built, or use the buttons.{by}"
    )
    blocks: Blocks = [
        _section(
            f"{lead}Hi {escape_mrkdwn(name)} :wave: It's the artifact test for *{month_name(period)}*: "
            "*show me the artifact.*\n"
            f"In {month_name(period)} you spent *{money(spend_usd)}* on AI ({tokens_text(tokens)} tokens). "
            "What did it build? "
            "An agent, a workflow, a dashboard, a campaign, a feature that did not exist a month ago?\n"
            "Reply here with links (one message can hold several), or add one with the form."
            + (f"\n*Please {reply_by(deadline)}.*" if deadline else "")
        )
    ]
    if artifacts:
        lines = "\n".join(artifact_line(t, links, s) for t, links, s in artifacts[:10])
        blocks.append(_section(f"*Logged so far:*\n{lines}"))
    if suggestion:
        blocks.append(_context(escape_mrkdwn(suggestion)))
    blocks.append(
        {
            "type": "actions",
            "block_id": "checkin_actions",
            "elements": [
                _button("Add artifact", ids.ACTION_ADD_ARTIFACT, period, "primary"),
                _button("Nothing this month", ids.ACTION_NOTHING, period),
                _button("Remind me tomorrow", ids.ACTION_SNOOZE, period),
                {
                    "type": "datepicker",
                    "action_id": ids.ACTION_AWAY,
                    "placeholder": {"type": "plain_text", "text": "I'm away until…"},
                },
            ],
        }
    )
    return text, blocks


def reply_ack(
    *,
    period: str,
    created: Sequence[tuple[int, str, list[str]]],
    duplicates: Sequence[str],
    rejected: Sequence[str],
    note_kept: bool,
    carried: Sequence[str] = (),
) -> tuple[str, Blocks]:
    """The bot's answer to a DM reply: what it recorded, with Edit / Remove buttons; ``carried`` names
    what was recorded but first claimed in an earlier period (it counts 0)."""
    if note_kept:
        text = (
            "Thanks! I kept that as a note, but an artifact needs a link: reply with the link "
            "(a PR, a dashboard, a doc, a demo) so it counts."
        )
        blocks: Blocks = [_section(text)]
        if rejected:
            blocks.append(_context("Not accepted: " + escape_mrkdwn("; ".join(rejected[:5]))))
        return text, blocks
    parts = []
    if created:
        parts.append(f"Recorded {count(len(created), 'artifact')} for {month_name(period)}.")
    if duplicates:
        parts.append(f"Already logged: {', '.join(duplicates[:5])}.")
    if carried:
        parts.append(f"Carried over: {'; '.join(carried[:5])}.")
    text = " ".join(parts) or f"Nothing new to record for {month_name(period)}."
    blocks = [_section(escape_mrkdwn(text))]
    for art_id, title, links in created[:10]:
        blocks.append(_section(artifact_line(title, links, "submitted")))
        blocks.append(
            {
                "type": "actions",
                "block_id": f"artifact_{art_id}",
                "elements": [
                    _button("Edit", ids.ACTION_EDIT, str(art_id)),
                    _button("Remove", ids.ACTION_REMOVE, str(art_id), "danger"),
                ],
            }
        )
    if rejected:
        blocks.append(_context("Not accepted: " + escape_mrkdwn("; ".join(rejected[:5]))))
    blocks.append(_context("A manager who did not make it can keep it (it then counts fully) or kill it."))
    return text, blocks


def artifact_modal(
    *,
    period: str,
    title: str = "",
    links: str = "",
    kind: str = "other",
    description: str = "",
    callback_id: str = ids.VIEW_ADD_ARTIFACT,
    private_metadata: str = "",
) -> dict[str, Any]:
    """The *Add artifact* / *Edit artifact* modal."""

    def text_input(
        block_id: str,
        label: str,
        value: str,
        *,
        multiline: bool = False,
        optional: bool = False,
        placeholder: str = "",
        max_length: int = 3000,
    ) -> dict[str, Any]:
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": ids.INPUT,
            "multiline": multiline,
            "max_length": max_length,
        }
        if value:
            element["initial_value"] = value
        if placeholder:
            element["placeholder"] = {"type": "plain_text", "text": placeholder}
        return {
            "type": "input",
            "block_id": block_id,
            "optional": optional,
            "label": {"type": "plain_text", "text": label},
            "element": element,
        }

    options = [{"text": {"type": "plain_text", "text": k.capitalize()}, "value": k} for k in ARTIFACT_KINDS]
    initial = next(o for o in options if o["value"] == (kind if kind in ARTIFACT_KINDS else "other"))
    editing = callback_id == ids.VIEW_EDIT_ARTIFACT
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": private_metadata or json.dumps({"period": period}),
        "title": {"type": "plain_text", "text": "Edit artifact" if editing else "Add artifact"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _context(
                f"Artifact for *{month_name(period)}*: something that did not exist a month ago, "
                "with a link as evidence."
            ),
            text_input(ids.BLOCK_TITLE, "Title", title, placeholder="Churn dashboard", max_length=150),
            text_input(
                ids.BLOCK_LINKS,
                "Link(s), one per line",
                links,
                multiline=True,
                placeholder="https://github.com/acme/app/pull/42",
                max_length=2000,
            ),
            {
                "type": "input",
                "block_id": ids.BLOCK_KIND,
                "label": {"type": "plain_text", "text": "Kind"},
                "element": {
                    "type": "static_select",
                    "action_id": ids.INPUT,
                    "options": options,
                    "initial_option": initial,
                },
            },
            text_input(
                ids.BLOCK_DESCRIPTION,
                "What did it replace or change?",
                description,
                multiline=True,
                optional=True,
                max_length=1000,
            ),
        ],
    }


def board_lines(rows: Sequence[Any], *, limit: int = 10) -> str:
    """Team leaderboard lines (teams only: no personal spend)."""
    out = []
    for r in rows[:limit]:
        bar = " (no bar yet)"  # no artifacts last month: nothing to clear
        if r.bar is not None:
            bar = " :white_check_mark: cleared the bar" if r.cleared_bar else f" (bar {r.bar:.1f})"
        out.append(
            f"{r.rank}. *{escape_mrkdwn(r.name)}*: {r.artifacts_per_100_usd:.2f} artifacts/$100 "
            f"({count(r.artifacts, 'artifact')}, "
            f"{spend_text(r.spend_usd, getattr(r, 'unpriced_rows', 0), getattr(r, 'unpriced_tokens', 0))}){bar}"
        )
    return "\n".join(out) or "No teams yet."


def leaderboard_message(
    *, period: str, rows: Sequence[Any], hidden: int = 0, final: bool = False, floor_usd: float = 10.0
) -> tuple[str, Blocks]:
    """The team leaderboard (``/leaderboard``, final monthly post)."""
    head = f"{'Final leaderboard' if final else 'Leaderboard'} for {month_name(period)}: artifacts per $100 of AI spend"
    blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": head[:150]}},
        _section(board_lines(rows)),
    ]
    if hidden:
        blocks.append(_context(f"{count(hidden, 'team')} too small to show without exposing one person's spend."))
    blocks.append(_context(floor_explained(floor_usd)))
    top = "; ".join(f"{r.rank}. {r.name} {r.artifacts_per_100_usd:.2f}" for r in rows[:5])
    return f"{head}. {top}", blocks


def review_buttons(artifact_id: int, status: str, *, block_prefix: str = "review") -> dict[str, Any]:
    """Explicit *Keep* and *Kill* buttons; each carries the status it was shown with (compare-and-set).
    ``block_prefix`` says where they are: ``review`` (the report) or ``queue`` (a manager's queue DM)."""
    return {
        "type": "actions",
        "block_id": f"{block_prefix}_{artifact_id}",
        "elements": [
            _button("Keep", ids.ACTION_KEEP, f"{ids.ACTION_KEEP}:{artifact_id}:{status}", "primary"),
            _button("Kill", ids.ACTION_KILL, f"{ids.ACTION_KILL}:{artifact_id}:{status}", "danger"),
        ],
    }


QUEUE_MORE = "they appear here as you keep or kill these (or see /artifact-report)."  # the DM is redrawn


def review_queue_message(*, period: str, items: Sequence[Any], closes: dt.date) -> tuple[str, Blocks]:
    """A manager's review queue DM: their teams' unreviewed artifacts with Keep and Kill buttons."""
    if not items:
        text = f"Review queue for {month_name(period)}: all reviewed. Thank you!"
        return text, [_section(f"*Review queue, {month_name(period)}*: nothing left to review. Thank you!")]
    text = (
        f"Review queue for {month_name(period)}: {count(len(items), 'artifact')} waiting for your keep or kill; "
        f"replies close after {day_name(closes)}."
    )
    blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Review queue, {month_name(period)}"[:150]}},
        _section(
            f"{count(len(items), 'artifact')} from your team waiting for your keep or kill. "
            f"Unreviewed, each counts half; *Keep* counts it fully, *Kill* counts it 0. "
            f"The month closes after *{day_name(closes)}*."
        ),
    ]
    shown = 0
    for it in items:
        if len(blocks) >= 47:
            break
        who = f"{escape_mrkdwn(it.author)} ({escape_mrkdwn(it.team)})"
        blocks.append(_section(f"{artifact_line(it.title, it.links, '')} — {who}"))
        blocks.append(review_buttons(it.artifact_id, it.status, block_prefix="queue"))
        shown += 1
    if shown < len(items):
        blocks.append(_context(f"+{len(items) - shown} more: {QUEUE_MORE}"))
    return text, blocks


def report_message(report: Any, *, narrative: str | None = None, reviewer_can_act: bool = True) -> tuple[str, Blocks]:
    """The manager's ``/artifact-report``: scores, members, artifacts with keep/kill buttons."""
    r = report.row
    bar = (
        "no bar yet (no artifacts last month)"
        if r.bar is None
        else (f"bar {r.bar:.2f}: {'cleared' if r.cleared_bar else 'not cleared'}")
    )
    rate = "n/a" if report.response_rate is None else f"{report.response_rate:.0%}"
    head = (
        f"*{escape_mrkdwn(report.team)}* — {month_name(report.period)}: *{r.artifacts_per_100_usd:.2f} artifacts/$100* "
        f"(rank {report.rank} of {report.teams_ranked}; {bar})\n"
        f"{count(r.artifacts, 'artifact')}, spend "
        f"{spend_text(r.spend_usd, getattr(report, 'unpriced_rows', 0), getattr(report, 'unpriced_tokens', 0))}"
        + (f" of {money(r.monthly_budget_usd)} budget" if r.monthly_budget_usd else "")
        + f", spend without an artifact {money(r.unmatched_spend_usd)}, check-in response rate {rate}"
    )
    blocks: Blocks = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": f"Artifact report: {report.team}, {month_name(report.period)}"[:150],
            },
        },
        _section(head),
    ]
    team_level = getattr(report, "team_level_line", None)  # spend assigned to the team, not to a member
    if team_level:
        blocks.append(_context(escape_mrkdwn(team_level)))
    if narrative:
        blocks.append(_section(escape_mrkdwn(narrative)))
    models = getattr(report, "models", None) or []
    if models:
        parts = []
        for m in models[:5]:
            parts.append(escape_mrkdwn(model_cost_text(m, per_artifact=True)))
        premium = sum(m.share for m in models if m.premium)
        blocks.append(
            _context(
                "Spend by model: "
                + "; ".join(parts)
                + f". Premium models: {premium:.0%} of spend — would a cheaper one have served?"
            )
        )
    budget_blocks = 47  # Slack allows 50 blocks per message
    for m in report.members:
        if len(blocks) >= budget_blocks:
            blocks.append(
                _context(
                    "More members in the CSV export: `/artifact-report "
                    f"{escape_mrkdwn(report.team)} {report.period} csv`"
                )
            )
            break
        blocks.append({"type": "divider"})
        blocks.append(
            _section(
                f"*{escape_mrkdwn(m.name)}* — "
                f"{spend_text(m.spend_usd, getattr(m, 'unpriced_rows', 0), getattr(m, 'unpriced_tokens', 0))}, "
                f"{count(m.artifacts, 'artifact')}, "
                f"{m.artifacts_per_100_usd:.2f}/$100, check-in: {checkin_status(m.checkin_status)}"
            )
        )
        for a in m.items[:5]:
            if len(blocks) >= budget_blocks:
                break
            shown = a.status
            if a.status == "killed":  # "killed by Grace: duplicate of X"
                shown = killed_by(getattr(a, "reviewed_by", None), getattr(a, "kill_reason", None))
            line = artifact_line(a.title, a.links, shown, a.kind)
            if getattr(a, "flags", None):
                line += "\n:warning: " + escape_mrkdwn("; ".join(a.flags))
            blocks.append(_section(line))
            if reviewer_can_act and len(blocks) < budget_blocks:
                blocks.append(review_buttons(a.id, a.status))
    if report.spent_without_artifact:
        names = ", ".join(escape_mrkdwn(n) for n in report.spent_without_artifact[:20])
        blocks.append(_context(f"Spent without an artifact: {names}"))
    queue = getattr(report, "unreviewed_queue", None)
    if queue:
        waiting = ", ".join(f"{escape_mrkdwn(n)} {k}" for n, k in queue[:20])
        blocks.append(_context(f"Waiting for your keep or kill (largest first): {waiting}"))
    text = (
        f"Artifact report {report.team}, {month_name(report.period)}: {r.artifacts_per_100_usd:.2f} artifacts/$100, "
        f"{count(r.artifacts, 'artifact')}, "
        f"{spend_text(r.spend_usd, getattr(report, 'unpriced_rows', 0), getattr(report, 'unpriced_tokens', 0))} spend."
    )
    return text, blocks[:50]


def home_view(
    *,
    name: str,
    period: str,
    spend_usd: float,
    tokens: int,
    artifacts: Sequence[tuple[str, list[str], str]],
    team_lines: Sequence[str],
    suggestion: str | None = None,
    unpriced_rows: int = 0,
    unpriced_tokens: int = 0,
    history: Sequence[tuple[str, float | None, float | None, float | None]] = (),
    by_status: dict[str, int] | None = None,
    queue: Sequence[Any] = (),
    chart_file_id: str | None = None,
) -> dict[str, Any]:
    """App Home: my spend, my artifacts (by status, with what each status means), my last six months
    (with the trend chart uploaded as ``chart_file_id``, if any), my team's rank and bar, a manager's
    review queue, an *Add artifact* button."""
    mine = "\n".join(artifact_line(t, links, s) for t, links, s in artifacts[:15]) or "_Nothing logged yet._"
    blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Your artifacts, {month_name(period)}"}},
        _section(
            f"Hi {escape_mrkdwn(name)}. {month_name(period)}: "
            f"*{spend_text(spend_usd, unpriced_rows, unpriced_tokens)}* of AI spend, {tokens_text(tokens)} tokens."
        ),
        {
            "type": "actions",
            "elements": [_button("Add artifact", ids.ACTION_ADD_ARTIFACT, period, "primary")],
        },
        _section(f"*My artifacts*\n{mine}"),
    ]
    if suggestion:
        blocks.append(_context(escape_mrkdwn(suggestion)))
    if by_status:
        lines = [f"*{status}* {by_status.get(status, 0)}: {meaning}" for status, meaning in STATUS_MEANING.items()]
        blocks.append(_context("\n".join(lines)))
    if history:
        rows = [
            f"{month_name(p)}: no data"
            if s is None or a is None or usd is None
            else f"{month_name(p)}: *{s:.2f}* artifacts/$100 — {count(a, 'artifact')}, {money(usd)}"
            for p, s, a, usd in history
        ]
        blocks.append(_section("*Last six months*\n" + "\n".join(rows)))
        if chart_file_id:
            blocks.append(
                {
                    "type": "image",
                    "slack_file": {"id": chart_file_id},
                    "alt_text": home_chart_alt_text(history),
                    "title": {"type": "plain_text", "text": "Artifacts per $100, last six months"},
                }
            )
    if team_lines:
        blocks.append(_section("*My team*\n" + "\n".join(team_lines)))
    if queue:
        blocks.append({"type": "divider"})
        blocks.append(_section(f"*Your review queue* ({count(len(queue), 'artifact')} waiting for your keep or kill)"))
        for it in queue[:10]:
            who = f"{escape_mrkdwn(it.author)} ({escape_mrkdwn(it.team)})"
            blocks.append(_section(f"{artifact_line(it.title, it.links, '')} — {who}"))
            blocks.append(review_buttons(it.artifact_id, it.status, block_prefix="home"))
        if len(queue) > 10:
            blocks.append(_context(f"+{len(queue) - 10} more: see /artifact-report."))
    return {"type": "home", "blocks": blocks[:100]}


NEW_SHOWN = 15  # new artifacts listed in a summary; the rest are counted as "+N more"
SUMMARY_TOP = 3  # teams named in the top-level post
SUMMARY_IN_THREAD = "The whole board, new artifacts and spend against budget are in the thread :thread:"


def summary_headline(
    *,
    title: str,
    period: str,
    board_rows: Sequence[Any],
    new_count: int,
    response_rate: float | None,
    spend_usd: float | None = None,
) -> tuple[str, Blocks]:
    """The weekly summary's short top-level post: the top three teams and the week in a line; details in its thread."""
    top = " · ".join(
        f"{r.rank}. *{escape_mrkdwn(r.name)}* {r.artifacts_per_100_usd:.2f}/$100" for r in board_rows[:SUMMARY_TOP]
    )
    facts = [f"{count(new_count, 'new artifact')} this week"]
    if spend_usd is not None:
        facts.append(f"{money(spend_usd)} of AI spend in {month_name(period)}")
    if response_rate is not None:
        facts.append(f"check-in response rate {response_rate:.0%}")
    blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        _section((f"Top teams: {top}\n" if top else "No teams on the board yet.\n") + "; ".join(facts) + "."),
        _context(SUMMARY_IN_THREAD),
    ]
    plain_top = "; ".join(f"{r.rank}. {r.name}" for r in board_rows[:SUMMARY_TOP])
    return f"{title}: " + (plain_top or "no teams yet") + f"; {count(new_count, 'new artifact')}", blocks


def summary_details(
    *,
    period: str,
    board_rows: Sequence[Any],
    new_artifacts: Sequence[tuple[str, ...] | tuple[Any, ...]],
    budget_lines: Sequence[str],
    response_rate: float | None,
    hidden: int = 0,
) -> tuple[str, Blocks]:
    """The weekly summary's thread reply: the whole board, new artifacts (one line per link, "+N more"), budgets."""
    blocks: Blocks = [
        _section(f"*Output-weighted leaderboard, {month_name(period)}*\n" + board_lines(board_rows)),
    ]
    if hidden:
        blocks.append(_context(f"{count(hidden, 'team')} too small to show."))
    if new_artifacts:
        shown = []
        for team, t, links, *people in new_artifacts[:NEW_SHOWN]:
            who = f" — {escape_mrkdwn(people[0])}" if people and people[0] else ""
            hosts = ", ".join(link_text(u) for u in links[:2])
            shown.append(f"• *{escape_mrkdwn(t)}* ({escape_mrkdwn(team)}) {hosts}{who}")
        more = len(new_artifacts) - NEW_SHOWN
        tail = f"\n+{more} more" if more > 0 else ""
        blocks.append(_section(f"*New artifacts this week* ({len(new_artifacts)})\n" + "\n".join(shown) + tail))
    else:
        blocks.append(_section("*New artifacts this week*\nNone yet."))
    if budget_lines:
        blocks.append(_section("*Spend against budget*\n" + "\n".join(budget_lines)))
    rate = "n/a" if response_rate is None else f"{response_rate:.0%}"
    blocks.append(_context(f"Check-in response rate: {rate}"))
    text = f"Details for {month_name(period)}: " + "; ".join(
        f"{r.rank}. {r.name} {r.artifacts_per_100_usd:.2f}/$100" for r in board_rows[:10]
    )
    return text, blocks


def ephemeral(text: str) -> dict[str, Any]:
    """An ephemeral answer body for ``respond``."""
    return {"response_type": "ephemeral", "text": text}


def kill_modal(*, title: str, period: str, author: str | None, private_metadata: str) -> dict[str, Any]:
    """The *Kill* modal: ``Kill <title>?`` with an optional multi-line reason for the author, and a Kill button."""
    return {
        "type": "modal",
        "callback_id": ids.VIEW_KILL_ARTIFACT,
        "private_metadata": private_metadata,
        "title": {"type": "plain_text", "text": kill_title(title)},
        "submit": {"type": "plain_text", "text": KILL_SUBMIT},
        "close": {"type": "plain_text", "text": KILL_CLOSE},
        "blocks": [
            _section(kill_question(title=title, period=period, author=author)),
            {
                "type": "input",
                "block_id": ids.BLOCK_REASON,
                "optional": True,
                "label": {"type": "plain_text", "text": KILL_REASON_LABEL},
                "hint": {"type": "plain_text", "text": KILL_REASON_HINT},
                "element": {"type": "plain_text_input", "action_id": ids.INPUT, "multiline": True},
            },
        ],
    }


def home_chart_alt_text(history: Sequence[tuple[str, float | None, float | None, float | None]]) -> str:
    """The App Home trend chart in words (its image block's ``alt_text``, at most 2000 characters)."""
    months = [
        f"{month_name(p)}: no data"
        if s is None or a is None or usd is None
        else f"{month_name(p)}: {s:.2f} artifacts per $100 ({count(a, 'artifact')}, {money(usd)} spent)"
        for p, s, a, usd in history
    ]
    return ("Line chart of your artifacts per $100 of AI spend by month. " + "; ".join(months) + ".")[:2000]
