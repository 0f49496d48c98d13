"""``artifact-bot demo``: the whole month offline on a sample organisation, through the real services."""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from bot.artifacts.store import NewArtifact, add_artifact, capture_reply, review_once
from bot.boards.leaderboard import BoardRow, board
from bot.boards.reports import TeamReport, team_report
from bot.boards.summary import build_summary, weekly_title
from bot.checkins import checkin as checkins
from bot.checkins.closing import preview_close
from bot.config import OrgConfig, TeamConfig, weights_of
from bot.db import make_engine, session_scope, upgrade
from bot.people.store import SlackUser, find_person, upsert_slack_user
from bot.people.teams import import_teams
from bot.periods import bounds, last_weekday, month_name, period_at, previous
from bot.slack import outbox
from bot.slack.blocks import leaderboard_message, report_message
from bot.spend.usage import UsageRecord, upsert_records

FIRST = [
    "Alice",
    "Bob",
    "Carol",
    "Dan",
    "Erin",
    "Frank",
    "Grace",
    "Heidi",
    "Ivan",
    "Judy",
    "Mallory",
    "Niaj",
    "Olivia",
    "Peggy",
    "Rupert",
    "Sybil",
    "Trent",
    "Uma",
    "Victor",
    "Wendy",
    "Xavier",
    "Yvonne",
    "Zoe",
    "Arjun",
    "Bea",
    "Chen",
    "Dara",
    "Eli",
    "Fatima",
    "Goran",
    "Hana",
    "Ines",
]
TEAMS = {"Growth": "C0GROWTH", "Platform": "C0PLATFORM", "Data": "C0DATA", "Support": "C0SUPPORT"}
BUDGETS = {"Growth": 1500.0, "Platform": 2500.0, "Data": 1200.0, "Support": 600.0}
MODELS = [
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4.1"),
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-haiku-4-5"),
    ("google", "gemini-2.5-flash"),
]
TZS = ["America/New_York", "America/Los_Angeles", "Europe/London", "Europe/Berlin", "Asia/Kolkata"]
REPLIES = [
    "Shipped the churn dashboard <https://looker.acme.example/dashboards/42|Churn dashboard> and an agent that "
    "drafts campaign briefs, see https://github.com/acme/brief-agent",
    "Built a triage workflow: https://github.com/acme/support-triage/pull/17",
    "<https://docs.acme.example/rfc/cost-model|RFC: cost model for inference>",
    "Feature flag cleanup bot https://github.com/acme/flagbot and the launch campaign "
    "https://hubspot.acme.example/campaigns/q4-launch",
    "Experiment on onboarding emails https://amplitude.acme.example/experiments/991",
]


@dataclass
class DemoResult:
    """What the demo produced."""

    period: str
    teams: list[BoardRow]
    people: list[BoardRow]
    report: TeamReport
    messages: int
    out_dir: Path


def sample_org() -> OrgConfig:
    """Four teams, 32 people, budgets and channels."""
    teams = []
    for i, name in enumerate(TEAMS):
        members = [f"{FIRST[j].lower()}@acme.example" for j in range(i * 8, i * 8 + 8)]
        teams.append(
            TeamConfig(
                name=name,
                members=members,
                managers=[f"U0{FIRST[i * 8].upper()[:6]}"],
                channel=TEAMS[name],
                monthly_budget_usd=BUDGETS[name],
            )
        )
    return OrgConfig(timezone="America/New_York", summary_channel="C0SUMMARY", admins=["U0ADMIN"], teams=teams)


def _usage(period: str, rng: random.Random, person_ids: dict[str, int], heavy: set[str]) -> list[UsageRecord]:
    first, last = bounds(period)
    out = []
    for email, pid in person_ids.items():
        models = rng.sample(MODELS, 2)
        day = first
        while day <= last:
            if day.weekday() < 5 and rng.random() < 0.8:
                for provider, model in models:
                    scale = 6 if email in heavy else 1
                    inp = rng.randint(20_000, 400_000) * scale
                    out_tok = inp // rng.randint(4, 10)
                    cost = None if rng.random() < 0.5 else round(inp * 2e-6 + out_tok * 8e-6, 4)
                    out.append(
                        UsageRecord(
                            date=day,
                            identity=f"person:{pid}",
                            person_id=pid,
                            provider=provider,
                            model=model,
                            input_tokens=inp,
                            output_tokens=out_tok,
                            cost_usd=cost,
                        )
                    )
            day += dt.timedelta(days=1)
    # One row of a model the price table does not know: kept with its tokens, flagged, reported.
    any_pid = next(iter(person_ids.values()))
    out.append(
        UsageRecord(
            date=first,
            identity=f"person:{any_pid}",
            person_id=any_pid,
            provider="acme",
            model="acme-internal-llm",
            input_tokens=50_000,
            output_tokens=5_000,
        )
    )
    return out


def run_demo(out_dir: Path, *, now: dt.datetime, engine: Engine | None = None) -> DemoResult:
    """Load the sample organisation into a fresh database and run a month through the services."""
    out_dir.mkdir(parents=True, exist_ok=True)
    msg_dir = out_dir / "messages"
    msg_dir.mkdir(exist_ok=True)
    for old in msg_dir.glob("*.json"):
        old.unlink()
    if engine is None:
        db = out_dir / "demo.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    org = sample_org()
    rng = random.Random(20261123)
    period = previous(period_at(now, org.tz))
    before = previous(period)

    with session_scope(engine) as s:
        import_teams(s, org.teams, actor="demo")
        for i, first_name in enumerate(FIRST):
            upsert_slack_user(
                s,
                SlackUser(
                    slack_user_id=f"U0{first_name.upper()[:6]}",
                    name=f"{first_name} Example",
                    email=f"{first_name.lower()}@acme.example",
                    tz=TZS[i % len(TZS)],
                ),
            )
        upsert_slack_user(
            s,
            SlackUser(slack_user_id="U0ADMIN", name="Ada Admin", email="ada@acme.example", tz="America/New_York"),
        )
        ids = {
            f"{n.lower()}@acme.example": p.id
            for n in FIRST
            if (p := find_person(s, f"{n.lower()}@acme.example")) and p.id is not None
        }
        heavy = {"frank@acme.example", "olivia@acme.example", "xavier@acme.example"}
        upsert_records(s, _usage(before, rng, ids, heavy), source="csv")
        upsert_records(s, _usage(period, rng, ids, heavy), source="csv")
        # Last month's artifacts, reviewed: they set this month's bar.
        prev_at = dt.datetime.combine(last_weekday(before), dt.time(20), tzinfo=dt.UTC)
        for n, email in enumerate(list(ids)[::3]):
            person = find_person(s, email)
            assert person is not None
            art, _ = add_artifact(
                s,
                person=person,
                period=before,
                source="demo",
                source_key=f"demo-prev-{n}",
                new=NewArtifact(title=f"Prototype {n}", urls=[f"https://wiki.acme.example/p/{n}"], kind="feature"),
                now=prev_at,
            )
            art.status = "kept"

    sent: list[dict[str, Any]] = []

    def record(channel: str, text: str, blocks: list[dict[str, Any]]) -> tuple[str | None, str | None]:
        n = len(sent) + 1
        sent.append({"channel": channel, "text": text, "blocks": blocks})
        (msg_dir / f"{n:03d}-dm-{channel}.json").write_text(json.dumps(sent[-1], indent=2))
        return f"D{channel[1:]}", f"{1700000000 + n}.000100"

    checkin_at = dt.datetime.combine(last_weekday(period), dt.time(15), tzinfo=org.tz)
    checkins.enqueue_checkins(engine, org, period, checkin_at)
    outbox.dispatch(engine, record, rate_per_second=0, clock=lambda: checkin_at)

    reply_at = checkin_at + dt.timedelta(hours=20)
    with session_scope(engine) as s:
        for n, first_name in enumerate(FIRST[:24]):
            person = find_person(s, f"{first_name.lower()}@acme.example")
            assert person is not None
            if n in (5, 14):  # heavy spenders who show nothing
                continue
            if n == 9:
                capture_reply(
                    s,
                    person=person,
                    text="Mostly explored prompts this month, nothing shipped yet.",
                    event_key=f"demo-evt-{n}",
                    now=reply_at,
                    org=org,
                )
                continue
            text = REPLIES[n % len(REPLIES)].replace("/42", f"/{40 + n}").replace("/17", f"/{n}")
            if n in (1, 2):  # a link shared by two people of one team counts once for the team
                text = "Co-built the pricing agent https://github.com/acme/pricing-agent"
            capture_reply(s, person=person, text=text, event_key=f"demo-evt-{n}", now=reply_at, org=org)
        grace = find_person(s, "grace@acme.example")
        assert grace is not None
        add_artifact(
            s,
            person=grace,
            period=period,
            source="modal",
            source_key="demo-modal-1",
            now=reply_at,
            new=NewArtifact(
                title="Support macro generator",
                kind="workflow",
                urls=["https://github.com/acme/macro-gen"],
                description="Replaced 40 hand-written macros",
            ),
        )
        # Managers review: keep most of their team's artifacts, kill one that only burned compute.
        for team in org.teams:
            manager = find_person(s, team.managers[0])
            assert manager is not None
            rep = team_report(s, team_name=team.name, period=period, org=org)
            for k, a in enumerate(item for m in rep.members for item in m.items):
                status = "killed" if (team.name == "Platform" and k == 0) else ("kept" if k % 3 != 2 else None)
                if status and manager.slack_user_id not in [m.slack_user_id for m in rep.members if a in m.items]:
                    review_once(s, artifact_id=a.id, status=status, reviewer=manager, now=reply_at, may_review=True)

    checkins.mark_skipped(engine, ids["sybil@acme.example"], period, reply_at)
    w = weights_of(org)
    with session_scope(engine) as s:
        teams = board(s, period, w, by="team")
        people = board(s, period, w, by="person")
        report = team_report(s, team_name="Growth", period=period, org=org)
        summary = build_summary(s, org, checkin_at)
    final = preview_close(engine, org, period)  # the real final post: the frozen board and its narrative
    if final:
        text, blocks = final[0].text, final[0].blocks
    else:
        text, blocks = leaderboard_message(period=period, rows=teams, final=True)
    (out_dir / "leaderboard.json").write_text(json.dumps({"text": text, "blocks": blocks}, indent=2))
    text, blocks = report_message(report)
    (out_dir / "report-Growth.json").write_text(json.dumps({"text": text, "blocks": blocks}, indent=2))
    text, blocks = summary.headline(weekly_title(checkin_at, org.tz, summary.period))
    (out_dir / "weekly-summary.json").write_text(
        json.dumps({"channel": org.summary_channel, "text": text, "blocks": blocks}, indent=2)
    )
    text, blocks = summary.details()
    (out_dir / "weekly-summary-thread.json").write_text(
        json.dumps({"channel": org.summary_channel, "thread_of": "weekly-summary", "text": text, "blocks": blocks},
                   indent=2)
    )
    (out_dir / "weekly-summary.png").write_bytes(summary.chart_png)
    write_surfaces(out_dir, engine=engine, org=org, period=period, now=reply_at, sent=sent, summary=summary)
    return DemoResult(period=period, teams=teams, people=people, report=report, messages=len(sent), out_dir=out_dir)


HOME_CHART = "home-chart.png"  # the App Home trend chart, written beside index.html (its file id in the demo)


def _surfaces(
    out_dir: Path,
    *,
    engine: Engine, org: OrgConfig, period: str, now: dt.datetime, sent: list[dict[str, Any]], summary: Any
) -> list[tuple[str, str, dict[str, Any]]]:
    """Every message type the bot sends, as (name, who sees it, {text, blocks}) from the real builders."""
    from bot.boards.charts import trend_chart
    from bot.boards.home import chart_key, home_data
    from bot.checkins.review_queue import manager_queue_message
    from bot.periods import last_reply_day, reply_deadline
    from bot.slack import blocks as bk
    from bot.slack.words import review_notice

    out: list[tuple[str, str, dict[str, Any]]] = []
    if sent:
        out.append(("Month-end DM", f"each person ({sent[0]['channel']})", sent[0]))
    text, blocks = bk.checkin_message(
        name="Alice", period=period, spend_usd=42.5, tokens=1_250_000, artifacts=[], reminder=1,
        deadline=last_reply_day(period, org.checkin.reply_until_day),
    )
    out.append(("Reminder", "people who have not answered", {"text": text, "blocks": blocks}))
    text, blocks = bk.reply_ack(
        period=period, created=[(1, "Churn dashboard", ["https://looker.acme.example/d/87"])], duplicates=[],
        rejected=[], note_kept=False, carried=["Pricing agent: first claimed by Bob Example in an earlier month"],
    )
    out.append(("Answer to a reply with links", "the person who replied", {"text": text, "blocks": blocks}))
    text, blocks = bk.reply_ack(period=period, created=[], duplicates=[], rejected=[], note_kept=True)
    out.append(("Answer to a reply without a link", "the person who replied", {"text": text, "blocks": blocks}))
    with session_scope(engine) as s:
        manager = find_person(s, org.teams[0].managers[0])
        alice = find_person(s, "alice@acme.example")
        home = home_data(s, alice, org, now) if alice is not None else None
    if manager is not None and manager.slack_user_id:
        drawn = manager_queue_message(
            engine=engine, org=org, manager_id=manager.slack_user_id, period=period,
            now=reply_deadline(period, org.tz, org.checkin.reply_until_day) - dt.timedelta(days=3),
        )
        if drawn is not None:
            out.append(("Review queue", f"each manager ({manager.name})", {"text": drawn[0], "blocks": drawn[1]}))
    for status, reason in (("kept", None), ("killed", "It re-ran last month's report; nothing new.")):
        text = review_notice(reviewer="Carol Example", title="Churn dashboard", period=period, status=status,
                             reason=reason)
        out.append((f"Author notice ({status})", "the artifact's author", {"text": text, "blocks": []}))
    if home is not None:
        chart_id = None
        if chart_key(home.history) is not None:  # in Slack: uploaded once, shown by its file id
            (out_dir / HOME_CHART).write_bytes(trend_chart(home.history))
            chart_id = HOME_CHART
        view = bk.home_view(**vars(home), chart_file_id=chart_id)  # every field of the data, as in Slack
        out.append(("App Home", "each person, in the bot's Home tab", {"text": "", "blocks": view["blocks"]}))
    for name, who, path in (
        ("Leaderboard (final post)", "the summary and team channels", "leaderboard.json"),
        ("Artifact report", "a team's managers (/artifact-report)", "report-Growth.json"),
        ("Weekly summary", "the summary channel", "weekly-summary.json"),
        ("Weekly summary thread", "the summary channel, in the summary's thread", "weekly-summary-thread.json"),
    ):
        out.append((name, who, json.loads((out_dir / path).read_text())))
    return out


def write_surfaces(
    out_dir: Path, *, engine: Engine, org: OrgConfig, period: str, now: dt.datetime, sent: list[dict[str, Any]],
    summary: Any,
) -> Path:
    """Write every message type to ``out_dir/surfaces/`` and an ``index.html`` that shows them all."""
    shown = _surfaces(out_dir, engine=engine, org=org, period=period, now=now, sent=sent, summary=summary)
    folder = out_dir / "surfaces"
    folder.mkdir(exist_ok=True)
    parts = []
    for i, (name, who, msg) in enumerate(shown, 1):
        (folder / f"{i:02d}-{_slugify(name)}.json").write_text(json.dumps(msg, indent=2, ensure_ascii=False))
        chart = ""
        if name == "Weekly summary thread" and (out_dir / "weekly-summary.png").exists():
            chart = '<img src="weekly-summary.png" alt="the chart, in the thread" style="max-width:100%">'
        parts.append(
            f'<section><h2>{_esc(name)}</h2><p class="who">Seen by: {_esc(who)}</p>'
            f'<div class="msg">{_render(msg)}{chart}</div></section>'
        )
    page = (
        "<!doctype html><meta charset=utf-8><title>artifact-bot demo</title>"
        "<style>body{font:15px/1.45 system-ui,sans-serif;max-width:820px;margin:2em auto;color:#1d1c1d}"
        "section{border:1px solid #ddd;border-radius:8px;padding:1em;margin:1.5em 0}"
        ".who{color:#616061;margin-top:-.6em}.ctx{color:#616061;font-size:13px}"
        ".btn{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:2px 10px;margin:2px}"
        ".primary{background:#007a5a;color:#fff}.danger{color:#e01e5a;border-color:#e01e5a}"
        "h3{margin:.3em 0}p{white-space:pre-wrap;margin:.4em 0}</style>"
        f"<h1>artifact-bot: every message, {_esc(month_name(period))}</h1>"
        "<p>What people see in Slack, built by the bot's own code from a sample organisation.</p>"
        + "".join(parts)
    )
    index = out_dir / "index.html"
    index.write_text(page)
    return index


def _slugify(name: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _esc(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def _mrkdwn(text: str) -> str:
    """Slack mrkdwn to HTML: links, bold and italics (escaped first)."""
    import re

    out = _esc(text)
    out = re.sub(r"&lt;(https?://[^|&]+?)\|(.+?)&gt;", r'<a href="\1">\2</a>', out)
    out = re.sub(r"&lt;(https?://[^&]+?)&gt;", r'<a href="\1">\1</a>', out)
    out = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<b>\1</b>", out)
    return re.sub(r"(?<![\w_])_([^_\n]+)_(?![\w_])", r"<i>\1</i>", out)


def _render(msg: dict[str, Any]) -> str:
    """A message's Block Kit as plain HTML (its ``text`` when it has no blocks)."""
    blocks = msg.get("blocks") or []
    if not blocks:
        return f"<p>{_mrkdwn(msg.get('text', ''))}</p>"
    out = []
    for b in blocks:
        kind = b.get("type")
        if kind == "header":
            out.append(f"<h3>{_esc(b['text']['text'])}</h3>")
        elif kind == "section":
            out.append(f"<p>{_mrkdwn(b.get('text', {}).get('text', ''))}</p>")
        elif kind == "context":
            out.append(f'<p class="ctx">{" ".join(_mrkdwn(e.get("text", "")) for e in b.get("elements", []))}</p>')
        elif kind == "divider":
            out.append("<hr>")
        elif kind == "actions":
            els = []
            for e in b.get("elements", []):
                label = (e.get("text") or e.get("placeholder") or {}).get("text", e.get("type", ""))
                els.append(f'<span class="btn {_esc(e.get("style", ""))}">{_esc(label)}</span>')
            out.append("<div>" + "".join(els) + "</div>")
        elif kind == "image" and (b.get("slack_file") or {}).get("id") == HOME_CHART:
            out.append(f'<img src="{HOME_CHART}" alt="{_esc(b.get("alt_text", ""))}" style="max-width:100%">')
        elif kind == "image":
            out.append(f'<p class="ctx">[image: {_esc(b.get("alt_text", ""))}]</p>')
    return "".join(out)
