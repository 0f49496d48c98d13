"""Pure Block Kit builders. Every message also gets a plain ``text`` fallback.

The words people read come from :mod:`bot.slack.words`; this module puts them, and the numbers, into Block Kit."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from bot import ids
from bot.artifacts.links import display_host, escape_mrkdwn
from bot.config import ARTIFACT_KINDS
from bot.slack import words
from bot.slack.words import unpriced

Blocks = list[dict[str, Any]]


def money(value: float) -> str:
    """``$1,234.56``."""
    return f"${value:,.2f}"


# One month of App Home's last six months (``bot.boards.charts.TrendMonth``): period, artifacts per $100,
# artifacts, spend (all None: no data), unpriced rows and their tokens.
HistoryMonth = tuple[str, float | None, float | None, float | None, int, int]


def spend_text(usd: float, unpriced_rows: int | None = 0, unpriced_tokens: int | None = 0) -> str:
    """Spend that never shows unpriced usage as money: ``$12.00``, ``$12.00 + unpriced (…)`` or ``unpriced (…)``."""
    if not unpriced_rows:
        return money(usd)
    flag = unpriced(unpriced_rows, unpriced_tokens or 0)
    return f"{money(usd)} + {flag}" if usd else flag


def model_cost_text(m: Any, *, per_artifact: bool = False) -> str:
    """One model's line of "spend by model": ``gpt-4o (premium) $12.00 (40%)``; a model the price table
    does not know says ``unpriced (N rows, T tokens)``, never ``$0.00 (0%)``."""
    name = words.model_label(m.model, m.premium)
    rows, tokens = getattr(m, "unpriced_rows", 0), getattr(m, "unpriced_tokens", 0)
    if rows and not m.cost_usd:
        return f"{name} {unpriced(rows, tokens)}"
    per = "" if not per_artifact or m.cost_per_artifact is None else words.per_artifact(money(m.cost_per_artifact))
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
    said = {"name": name, "period": period, "spend": money(spend_usd), "tokens": tokens_text(tokens)}
    text = words.checkin_text(**said, reminder=reminder, deadline=deadline)
    blocks: Blocks = [_section(words.checkin_body(**said, reminder=reminder, deadline=deadline))]
    if artifacts:
        lines = "\n".join(artifact_line(t, links, s) for t, links, s in artifacts[:10])
        blocks.append(_section(words.logged_so_far(lines)))
    if suggestion:
        blocks.append(_context(escape_mrkdwn(suggestion)))
    blocks.append(
        {
            "type": "actions",
            "block_id": "checkin_actions",
            "elements": [
                _button(words.BUTTON_ADD_ARTIFACT, ids.ACTION_ADD_ARTIFACT, period, "primary"),
                _button(words.BUTTON_NOTHING, ids.ACTION_NOTHING, period),
                _button(words.BUTTON_SNOOZE, ids.ACTION_SNOOZE, period),
                {
                    "type": "datepicker",
                    "action_id": ids.ACTION_AWAY,
                    "placeholder": {"type": "plain_text", "text": words.AWAY_PLACEHOLDER},
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
        text = words.NOTE_KEPT
        blocks: Blocks = [_section(text)]
        if rejected:
            blocks.append(_context(words.not_accepted(rejected[:5])))
        return text, blocks
    text = words.recorded(period=period, created=len(created), duplicates=duplicates[:5], carried=carried[:5])
    blocks = [_section(escape_mrkdwn(text))]
    for art_id, title, links in created[:10]:
        blocks.append(_section(artifact_line(title, links, "submitted")))
        blocks.append(
            {
                "type": "actions",
                "block_id": f"artifact_{art_id}",
                "elements": [
                    _button(words.BUTTON_EDIT, ids.ACTION_EDIT, str(art_id)),
                    _button(words.BUTTON_REMOVE, ids.ACTION_REMOVE, str(art_id), "danger"),
                ],
            }
        )
    if rejected:
        blocks.append(_context(words.not_accepted(rejected[:5])))
    blocks.append(_context(words.MANAGER_MAY_REVIEW))
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

    options = [{"text": {"type": "plain_text", "text": words.kind_label(k)}, "value": k} for k in ARTIFACT_KINDS]
    initial = next(o for o in options if o["value"] == (kind if kind in ARTIFACT_KINDS else "other"))
    editing = callback_id == ids.VIEW_EDIT_ARTIFACT
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": private_metadata or json.dumps({"period": period}),
        "title": {"type": "plain_text", "text": words.EDIT_ARTIFACT_TITLE if editing else words.ADD_ARTIFACT_TITLE},
        "submit": {"type": "plain_text", "text": words.MODAL_SAVE},
        "close": {"type": "plain_text", "text": words.MODAL_CANCEL},
        "blocks": [
            _context(words.artifact_for(period)),
            text_input(ids.BLOCK_TITLE, words.TITLE_LABEL, title, placeholder=words.TITLE_PLACEHOLDER, max_length=150),
            text_input(
                ids.BLOCK_LINKS,
                words.LINKS_LABEL,
                links,
                multiline=True,
                placeholder=words.LINKS_PLACEHOLDER,
                max_length=2000,
            ),
            {
                "type": "input",
                "block_id": ids.BLOCK_KIND,
                "label": {"type": "plain_text", "text": words.KIND_LABEL},
                "element": {
                    "type": "static_select",
                    "action_id": ids.INPUT,
                    "options": options,
                    "initial_option": initial,
                },
            },
            text_input(
                ids.BLOCK_DESCRIPTION,
                words.DESCRIPTION_LABEL,
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
        spend = spend_text(r.spend_usd, getattr(r, "unpriced_rows", 0), getattr(r, "unpriced_tokens", 0))
        bar = words.board_bar(r.bar, r.cleared_bar)  # no bar: no artifacts last month, nothing to clear
        out.append(
            words.board_line(
                rank=r.rank, name=r.name, score=r.artifacts_per_100_usd, artifacts=r.artifacts, spend=spend, bar=bar
            )
        )
    return "\n".join(out) or words.NO_TEAMS


def leaderboard_message(
    *, period: str, rows: Sequence[Any], hidden: int = 0, final: bool = False, floor_usd: float = 10.0
) -> tuple[str, Blocks]:
    """The team leaderboard (``/leaderboard``, final monthly post)."""
    head = words.leaderboard_head(period, final=final)
    blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": head[:150]}},
        _section(board_lines(rows)),
    ]
    if hidden:
        blocks.append(_context(words.teams_hidden(hidden)))
    blocks.append(_context(words.floor_explained(floor_usd)))
    top = "; ".join(f"{r.rank}. {r.name} {r.artifacts_per_100_usd:.2f}" for r in rows[:5])
    return f"{head}. {top}", blocks


def review_buttons(artifact_id: int, status: str, *, block_prefix: str = "review") -> dict[str, Any]:
    """Explicit *Keep* and *Kill* buttons; each carries the status it was shown with (compare-and-set).
    ``block_prefix`` says where they are: ``review`` (the report) or ``queue`` (a manager's queue DM)."""
    return {
        "type": "actions",
        "block_id": f"{block_prefix}_{artifact_id}",
        "elements": [
            _button(words.BUTTON_KEEP, ids.ACTION_KEEP, f"{ids.ACTION_KEEP}:{artifact_id}:{status}", "primary"),
            _button(words.BUTTON_KILL, ids.ACTION_KILL, f"{ids.ACTION_KILL}:{artifact_id}:{status}", "danger"),
        ],
    }


def review_queue_message(*, period: str, items: Sequence[Any], closes: dt.date) -> tuple[str, Blocks]:
    """A manager's review queue DM: their teams' unreviewed artifacts with Keep and Kill buttons."""
    if not items:
        return words.queue_done_text(period), [_section(words.queue_done(period))]
    text = words.queue_text(period, len(items), closes)
    blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": words.queue_head(period)[:150]}},
        _section(words.queue_intro(len(items), closes)),
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
        blocks.append(_context(words.queue_more(len(items) - shown)))
    return text, blocks


def report_message(report: Any, *, narrative: str | None = None, reviewer_can_act: bool = True) -> tuple[str, Blocks]:
    """The manager's ``/artifact-report``: scores, members, artifacts with keep/kill buttons."""
    r = report.row
    spend = spend_text(r.spend_usd, getattr(report, "unpriced_rows", 0), getattr(report, "unpriced_tokens", 0))
    head = words.report_head(
        team=report.team,
        period=report.period,
        score=r.artifacts_per_100_usd,
        rank=report.rank,
        ranked=report.teams_ranked,
        bar=words.report_bar(r.bar, r.cleared_bar),
        artifacts=r.artifacts,
        spend=spend,
        budget=money(r.monthly_budget_usd) if r.monthly_budget_usd else None,
        unmatched=money(r.unmatched_spend_usd),
        rate=words.rate_text(report.response_rate),
    )
    blocks: Blocks = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": words.report_title(report.team, report.period)[:150]},
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
        blocks.append(_context(words.spend_by_model(parts, premium)))
    budget_blocks = 47  # Slack allows 50 blocks per message
    per_item = 2 if reviewer_can_act else 1
    detailed = len(blocks) + sum(2 + per_item * min(len(m.items), 5) for m in report.members)
    if detailed <= budget_blocks:
        for m in report.members:
            blocks.append({"type": "divider"})
            blocks.append(_section(_member_line(m)))
            for a in m.items[:5]:
                blocks.append(_section(_report_item(a)))
                if reviewer_can_act:
                    blocks.append(review_buttons(a.id, a.status))
    else:
        # A big team: every member on one line each, then what waits for review, with its buttons.
        blocks.append({"type": "divider"})
        lines = [_member_line(m) for m in report.members]
        blocks += _sections(words.members_heading(len(lines)), lines)
        unreviewed = [(m.name, a) for m in report.members for a in m.items if a.status == "submitted"]
        if unreviewed and reviewer_can_act:
            blocks.append(_section(words.waiting_heading(len(unreviewed))))
            shown = 0
            for author, a in unreviewed:
                if len(blocks) + 2 > budget_blocks - 1:  # keep a line for "+N more"
                    break
                blocks.append(_section(words.by_author(_report_item(a), author)))
                blocks.append(review_buttons(a.id, a.status))
                shown += 1
            if shown < len(unreviewed):
                blocks.append(_context(words.more_waiting(len(unreviewed) - shown, report.team, report.period)))
    if report.spent_without_artifact:
        names = ", ".join(escape_mrkdwn(n) for n in report.spent_without_artifact[:20])
        blocks.append(_context(words.spent_without_artifact(names)))
    queue = getattr(report, "unreviewed_queue", None)
    if queue:
        waiting = ", ".join(f"{escape_mrkdwn(n)} {k}" for n, k in queue[:20])
        blocks.append(_context(words.waiting_for_review(waiting)))
    text = words.report_text(
        team=report.team, period=report.period, score=r.artifacts_per_100_usd, artifacts=r.artifacts, spend=spend
    )
    return text, blocks[:50]


def _member_line(m: Any) -> str:
    member_spend = spend_text(m.spend_usd, getattr(m, "unpriced_rows", 0), getattr(m, "unpriced_tokens", 0))
    return words.member_line(
        name=m.name, spend=member_spend, artifacts=m.artifacts, score=m.artifacts_per_100_usd, status=m.checkin_status
    )


def _report_item(a: Any) -> str:
    shown = a.status
    if a.status == "killed":  # "killed by Grace: duplicate of X"
        shown = words.killed_by(getattr(a, "reviewed_by", None), getattr(a, "kill_reason", None))
    line = artifact_line(a.title, a.links, shown, a.kind)
    if getattr(a, "flags", None):
        line += words.flags_line(a.flags)
    return line


def _sections(heading: str, lines: Sequence[str], limit: int = 2900) -> Blocks:
    """``heading`` and ``lines`` as as few sections as Slack's 3,000 characters per section allow."""
    out: Blocks = []
    chunk = [heading]
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > limit:
            out.append(_section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    out.append(_section("\n".join(chunk)))
    return out


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
    history: Sequence[HistoryMonth] = (),
    by_status: dict[str, int] | None = None,
    queue: Sequence[Any] = (),
    chart_file_id: str | None = None,
) -> dict[str, Any]:
    """App Home: my spend, my artifacts (by status, with what each status means), my last six months
    (with the trend chart uploaded as ``chart_file_id``, if any), my team's rank and bar, a manager's
    review queue, an *Add artifact* button."""
    mine = "\n".join(artifact_line(t, links, s) for t, links, s in artifacts[:15]) or words.NOTHING_LOGGED
    blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": words.home_head(period)}},
        _section(
            words.home_greeting(
                name=name,
                period=period,
                spend=spend_text(spend_usd, unpriced_rows, unpriced_tokens),
                tokens=tokens_text(tokens),
            )
        ),
        {
            "type": "actions",
            "elements": [_button(words.BUTTON_ADD_ARTIFACT, ids.ACTION_ADD_ARTIFACT, period, "primary")],
        },
        _section(words.my_artifacts(mine)),
    ]
    if suggestion:
        blocks.append(_context(escape_mrkdwn(suggestion)))
    if by_status:
        blocks.append(_context(words.status_counts(by_status)))
    if history:
        rows = [
            words.no_data(p)
            if s is None or a is None or usd is None
            else words.history_line(period=p, score=s, artifacts=a, spend=spend_text(usd, n, tok))
            for p, s, a, usd, n, tok in history
        ]
        blocks.append(_section(words.last_six_months(rows)))
        if chart_file_id:
            blocks.append(
                {
                    "type": "image",
                    "slack_file": {"id": chart_file_id},
                    "alt_text": home_chart_alt_text(history),
                    "title": {"type": "plain_text", "text": words.CHART_TITLE},
                }
            )
    if team_lines:
        blocks.append(_section(words.my_team(team_lines)))
    if queue:
        blocks.append({"type": "divider"})
        blocks.append(_section(words.home_queue_head(len(queue))))
        for it in queue[:10]:
            who = f"{escape_mrkdwn(it.author)} ({escape_mrkdwn(it.team)})"
            blocks.append(_section(f"{artifact_line(it.title, it.links, '')} — {who}"))
            blocks.append(review_buttons(it.artifact_id, it.status, block_prefix="home"))
        if len(queue) > 10:
            blocks.append(_context(words.home_queue_more(len(queue) - 10)))
    return {"type": "home", "blocks": blocks[:100]}


NEW_SHOWN = 15  # new artifacts listed in a summary; the rest are counted as "+N more"
SUMMARY_TOP = 3  # teams named in the top-level post


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
    facts = [words.new_this_week(new_count)]
    if spend_usd is not None:
        facts.append(words.month_spend(money(spend_usd), period))
    if response_rate is not None:
        facts.append(words.response_rate_fact(response_rate))
    blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        _section(words.summary_body(top, facts)),
        _context(words.SUMMARY_IN_THREAD),
    ]
    plain_top = "; ".join(f"{r.rank}. {r.name}" for r in board_rows[:SUMMARY_TOP])
    return words.summary_text(title, plain_top, new_count), blocks


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
        _section(words.summary_board(period, board_lines(board_rows))),
    ]
    if hidden:
        blocks.append(_context(words.teams_hidden_short(hidden)))
    if new_artifacts:
        shown = []
        for team, t, links, *people in new_artifacts[:NEW_SHOWN]:
            who = f" — {escape_mrkdwn(people[0])}" if people and people[0] else ""
            hosts = ", ".join(link_text(u) for u in links[:2])
            shown.append(f"• *{escape_mrkdwn(t)}* ({escape_mrkdwn(team)}) {hosts}{who}")
        more = len(new_artifacts) - NEW_SHOWN
        blocks.append(_section(words.new_artifacts(len(new_artifacts), shown, more)))
    else:
        blocks.append(_section(words.NO_NEW_ARTIFACTS))
    if budget_lines:
        blocks.append(_section(words.spend_against_budget(budget_lines)))
    blocks.append(_context(words.response_rate_line(response_rate)))
    text = words.details_text(
        period, [f"{r.rank}. {r.name} {r.artifacts_per_100_usd:.2f}/$100" for r in board_rows[:10]]
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
        "title": {"type": "plain_text", "text": words.kill_title(title)},
        "submit": {"type": "plain_text", "text": words.KILL_SUBMIT},
        "close": {"type": "plain_text", "text": words.KILL_CLOSE},
        "blocks": [
            _section(words.kill_question(title=title, period=period, author=author)),
            {
                "type": "input",
                "block_id": ids.BLOCK_REASON,
                "optional": True,
                "label": {"type": "plain_text", "text": words.KILL_REASON_LABEL},
                "hint": {"type": "plain_text", "text": words.KILL_REASON_HINT},
                "element": {"type": "plain_text_input", "action_id": ids.INPUT, "multiline": True},
            },
        ],
    }


def home_chart_alt_text(history: Sequence[HistoryMonth]) -> str:
    """The App Home trend chart in words (its image block's ``alt_text``, at most 2000 characters)."""
    months = [
        words.no_data(p)
        if s is None or a is None or usd is None
        else words.chart_month(period=p, score=s, artifacts=a, spend=spend_text(usd, n, tok))
        for p, s, a, usd, n, tok in history
    ]
    return words.chart_alt_text(months)[:2000]
