"""The command line and composition root: builds settings, engine, clients and the Bolt app."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from bot.errors import ArtifactBotError, ImportFileError
from bot.periods import collecting_period, parse_period

# Each command imports what it uses when it runs (rich, the ORM, Slack, the scheduler, the
# language model): `--help` starts with argparse alone and `leaderboard` about as fast as the ORM.
if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from bot.config import Settings
    from bot.deps import Deps

log = logging.getLogger("artifact_bot")

# One exit-code table for every command (README, "Exit codes"): argparse's usage errors are 2 too.
EXIT_OK = 0  # done
EXIT_FAILED = 1  # tried and failed (a provider or Slack refused, differences found)
EXIT_USAGE = 2  # bad input or configuration; nothing was changed
DEFAULT_CONFIG = Path("artifact-bot.yaml")  # ARTIFACT_BOT_CONFIG's default, in the working directory

EXIT_CODES = """exit codes: 0 done, 1 failed, 2 bad input or configuration (nothing changed)"""
ENVIRONMENT = """environment:
  DATABASE_URL          SQLite or PostgreSQL URL (default sqlite:///artifact-bot.db)
  ARTIFACT_BOT_CONFIG   the organisation's YAML (default ./artifact-bot.yaml when present)
  SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN   Slack (serve, people sync, jobs)
  OPENAI_ADMIN_KEY, ANTHROPIC_ADMIN_KEY   usage sync; OPENAI_API_KEY   optional assists
  NO_COLOR              no colour on a terminal either"""

# One example per command, shown at the end of its --help (a test checks every command has one).
EXAMPLES: dict[str, str] = {
    "": "artifact-bot leaderboard --by person --format csv > board.csv",
    "serve": "artifact-bot serve --port 3000 --workers 2",
    "worker": "artifact-bot worker",
    "demo": "artifact-bot demo --out /tmp/demo",
    "db": "artifact-bot db check --period 2026-10",
    "db upgrade": "artifact-bot db upgrade",
    "db check": "artifact-bot db check --period 2026-10 --repair",
    "people": "artifact-bot people export alice@example.com > alice.json",
    "people sync": "artifact-bot people sync",
    "people export": "artifact-bot people export alice@example.com > alice.json",
    "people forget": "artifact-bot people forget U0123ABCD",
    "audit": "artifact-bot audit --since 2026-10-01 --format json",
    "teams": "artifact-bot teams list",
    "teams import": "artifact-bot teams import artifact-bot.yaml",
    "teams list": "artifact-bot teams list --format json",
    "teams remove": "artifact-bot teams remove Growth",
    "config": "artifact-bot config check artifact-bot.yaml",
    "config check": "ARTIFACT_BOT_CONFIG=org.yaml artifact-bot config check",
    "usage": "artifact-bot usage import usage-2026-10.csv",
    "usage import": "artifact-bot usage import usage-2026-10.csv",
    "usage sync": "artifact-bot usage sync openai --since 2026-10-01",
    "jobs": "artifact-bot jobs run weekly-summary",
    "jobs run": "artifact-bot jobs run close-period --period 2026-10",
    "artifacts": "artifact-bot artifacts export --format csv > artifacts.csv",
    "artifacts import": "artifact-bot artifacts import artifacts.csv",
    "artifacts export": "artifact-bot artifacts export --format csv > artifacts.csv",
    "leaderboard": "artifact-bot leaderboard --period 2026-10 --by person --team Growth",
    "report": "artifact-bot report --team Growth --period 2026-10 --format csv > growth.csv",
}


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help that shows every option's default (the epilog's examples keep their line breaks)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        shown = default not in (None, False, True, argparse.SUPPRESS) and default != []
        optional = action.option_strings or action.nargs in ("?", "*")
        if shown and optional and "default" not in text:
            text += " (default: %(default)s)"
        return text


# Help for arguments declared without any, by destination, so every line of --help says something.
GENERIC_HELP = {
    "period": "month as YYYY-MM (default: the current month in the org's timezone)",
    "format": "table for people, json or csv for programs",
    "by": "rank teams or people",
    "port": "HTTP port (default: $PORT, else 3000)",
    "file": "path of the file to read",
    "since": "first day, as YYYY-MM-DD",
    "name": "which one",
    "provider": "which provider",
}


class _Version(argparse.Action):
    """``--version``: reads the installed distribution's version only when asked."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest=dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("artifact-bot")
        except PackageNotFoundError:
            number = "unknown (not installed)"
        sys.stdout.write(f"artifact-bot {number}\n")
        parser.exit()


def _add_global_flags(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # On every subcommand as well, so they go anywhere on the line; there the default is SUPPRESS,
    # which leaves the value given before the subcommand (argparse copies only what was parsed).
    default: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    if "-v" not in parser._option_string_actions:
        parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level", **default)
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="the organisation's YAML (default: $ARTIFACT_BOT_CONFIG, else ./artifact-bot.yaml when present)",
        **({"default": None} if top else default),
    )


def subcommand_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every parser under ``parser`` by its command path (``""``, ``"teams"``, ``"teams import"``...)."""
    found = {"": parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                for path, nested in subcommand_parsers(sub).items():
                    found[f"{name} {path}".strip()] = nested
    return found


def _finish(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The manners every command shares: defaults and one example in --help, global flags anywhere."""
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    for path, sub in subcommand_parsers(parser).items():
        sub.formatter_class = HelpFormatter
        for action in sub._actions:
            if action.help is None:
                action.help = GENERIC_HELP.get(action.dest, action.dest.replace("_", " "))
        _add_global_flags(sub, top=not path)
        example = EXAMPLES.get(path)
        parts = [f"example:\n  {example}"] if example else []
        if not path:
            parts += [ENVIRONMENT, EXIT_CODES]
        sub.epilog = "\n\n".join(parts) or None
        for action in sub._actions:  # the command list says what each command is for
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    choice.help = COMMAND_HELP.get(f"{path} {choice.dest}".strip(), choice.help)
    return parser


COMMAND_HELP = {
    "people": "people: sync from Slack; export or forget one person (audited)",
    "teams": "teams: import from the YAML, list, remove",
    "usage": "usage rows: import a CSV, sync from providers' admin APIs",
}


def command_list() -> str:
    """One line per command, from the parser: README's "Command line" block (a test compares them)."""
    lines = []
    for path, sub in subcommand_parsers(_finish(build_parser())).items():
        if not path or any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
            continue
        fmt = argparse.HelpFormatter(f"artifact-bot {path}", width=1000)
        actions = [a for a in sub._actions if a.dest not in ("help", "verbose", "config")]
        fmt.add_usage(None, actions, [], prefix="")
        lines.append(" ".join(fmt.format_help().split()))
    return "\n".join(lines)


def _apply_config_default(args: argparse.Namespace) -> None:
    """``--config`` over ``ARTIFACT_BOT_CONFIG`` over ``./artifact-bot.yaml``: one file for every process.

    Set in the environment so that processes this one starts (serve's workers and work processes)
    read the same file.
    """
    if args.config is not None:
        if not args.config.is_file():
            raise CliError(f"--config {args.config}: no such file")
        os.environ["ARTIFACT_BOT_CONFIG"] = str(args.config.resolve())
    elif not os.environ.get("ARTIFACT_BOT_CONFIG") and DEFAULT_CONFIG.is_file():
        os.environ["ARTIFACT_BOT_CONFIG"] = str(DEFAULT_CONFIG.resolve())
        log.info("config: %s (ARTIFACT_BOT_CONFIG is not set)", DEFAULT_CONFIG.resolve())


class CliError(Exception):
    """A problem the user can fix: printed, exit code 2."""


def _period(value: str) -> str:
    try:
        return parse_period(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-10-01") from None


def build_parser() -> argparse.ArgumentParser:
    from bot.spend import connectors
    from jobs import registry as job_registry

    p = argparse.ArgumentParser(prog="artifact-bot", description="Artifacts per dollar of AI spend, in Slack.")
    p.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("serve", help="run the Slack app (HTTP or Socket Mode)")
    s.add_argument("--port", type=int, default=None)
    s.add_argument("--socket", action="store_true", help="Socket Mode with SLACK_APP_TOKEN")
    s.add_argument("--no-scheduler", action="store_true", help="do not run scheduled jobs in this process")
    s.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        metavar="N",
        help="HTTP worker processes (default: $WEB_CONCURRENCY, else 1); more than 1 runs gunicorn",
    )

    sub.add_parser("worker", help="run the scheduler alone")

    d = sub.add_parser("demo", help="run the whole flow offline on sample data")
    d.add_argument("--out", type=Path, default=Path("artifact-bot-demo"), help="output directory")

    db = sub.add_parser("db", help="database maintenance")
    dbs = db.add_subparsers(dest="db_command", required=True)
    dbs.add_parser("upgrade", help="apply migrations")
    dc = dbs.add_parser("check", help="recompute roll-ups from the raw rows and report any difference")
    dc.add_argument("--period", type=_period, default=None)
    dc.add_argument("--repair", action="store_true", help="rebuild the roll-ups from the raw rows afterwards")

    pe = sub.add_parser("people", help="people")
    pes = pe.add_subparsers(dest="people_command", required=True)
    pes.add_parser("sync", help="Slack users -> people")
    pex = pes.add_parser("export", help="everything stored about a person, as JSON (audited)")
    pex.add_argument("user", help="email or Slack user id")
    pfo = pes.add_parser("forget", help="remove a person's personal data, keep anonymised numbers (audited)")
    pfo.add_argument("user", help="email or Slack user id")
    pfo.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    au = sub.add_parser("audit", help="the audit log (admins)")
    au.add_argument("--since", type=_date, default=None)
    au.add_argument("--format", choices=["table", "json"], default="table")

    te = sub.add_parser("teams", help="teams")
    tes = te.add_subparsers(dest="teams_command", required=True)
    ti = tes.add_parser("import", help="import teams, managers and budgets from YAML")
    ti.add_argument("file", type=Path)
    tl = tes.add_parser("list", help="every team with its member count, managers, channel and budget")
    tl.add_argument("--format", choices=["table", "json"], default="table")
    tr = tes.add_parser("remove", help="take a team off the board; its history stays (audited)")
    tr.add_argument("name", help="the team's name (case-insensitive)")

    co = sub.add_parser("config", help="the organisation's YAML (ARTIFACT_BOT_CONFIG)")
    cos = co.add_subparsers(dest="config_command", required=True)
    cc = cos.add_parser("check", help="validate the config and print what the bot will do with it")
    cc.add_argument("file", type=Path, nargs="?", default=None, help="default: $ARTIFACT_BOT_CONFIG")

    us = sub.add_parser("usage", help="usage rows")
    uss = us.add_subparsers(dest="usage_command", required=True)
    ui = uss.add_parser(
        "import",
        help="import a usage CSV",
        description=(
            "Import a usage CSV: columns date (YYYY-MM-DD), email or slack_user_id, provider, model,\n"
            "input_tokens, output_tokens (digits 0-9), cost_usd (like 12.34; blank: priced from tokens).\n"
            "Lines of the same day, person, provider and model are summed into one row. A row that an\n"
            "earlier import stored for the same day, person, provider and model is replaced (--replace,\n"
            "the default) or added to (--add). The config's identities: map emails and Slack ids first.\n"
            "Any bad line: each problem named with its line, exit 2, nothing written."
        ),
    )
    ui.add_argument("file", type=Path, help="the usage CSV")
    ui.add_argument(
        "--on-unknown",
        choices=["error", "skip", "unattributed"],
        default="error",
        help="lines of people the bot does not know: refuse the file naming each once, leave them out, "
        "or keep them as unattributed spend",
    )
    same = ui.add_mutually_exclusive_group()
    same.add_argument(
        "--replace",
        dest="usage_mode",
        action="store_const",
        const="replace",
        default="replace",
        help="rows already imported for the same day, person, provider and model are replaced (the default)",
    )
    same.add_argument(
        "--add",
        dest="usage_mode",
        action="store_const",
        const="add",
        help="rows already imported for the same day, person, provider and model are added to instead",
    )
    uy = uss.add_parser("sync", help="pull usage from provider admin APIs")
    uy.add_argument("provider", nargs="?", default="all", choices=[*connectors.names(), "all"])
    uy.add_argument("--since", type=_date, default=None)

    jo = sub.add_parser("jobs", help="scheduled jobs")
    jos = jo.add_subparsers(dest="jobs_command", required=True)
    jr = jos.add_parser("run", help="run a job now, in the foreground")
    jr.add_argument("name", choices=job_registry.manual_names())
    jr.add_argument("--period", type=_period, default=None)
    jr.add_argument("--dry-run", action="store_true", help="send nothing, mark nothing: who would receive what")
    jr.add_argument("--out", default="dry-run", help="with --dry-run: folder for the first messages' Block Kit")

    lb = sub.add_parser("leaderboard", help="print the leaderboard")
    lb.add_argument("--period", type=_period, default=None)
    lb.add_argument("--by", choices=["team", "person"], default="team")
    lb.add_argument("--team", default=None, help="with --by person: one team's people")
    lb.add_argument("--format", choices=["table", "json", "csv"], default="table")

    rp = sub.add_parser("report", help="a team's report")
    rp.add_argument("--team", required=True)
    rp.add_argument("--period", type=_period, default=None)
    rp.add_argument("--format", choices=["table", "json", "csv"], default="table")

    ar = sub.add_parser("artifacts", help="artifacts: import history, export")
    ars = ar.add_subparsers(dest="artifacts_command", required=True)
    ai = ars.add_parser("import", help="import artifacts from a CSV (history from before the bot)")
    ai.add_argument("file", type=Path)
    ae = ars.add_parser("export", help="artifacts with counted values, flags, carry-over and review history")
    ae.add_argument("--period", type=_period, default=None)
    ae.add_argument("--format", choices=["csv", "json"], default="csv")
    return p


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and 64")
    return value


def _serve_workers(args: argparse.Namespace, p: argparse.ArgumentParser) -> int:
    """``serve --workers``, else ``WEB_CONCURRENCY``, else 1; bad values are usage errors."""
    if args.workers is not None:
        workers = int(args.workers)
    else:
        env = os.environ.get("WEB_CONCURRENCY", "").strip()
        try:
            workers = _positive_int(env) if env else 1
        except argparse.ArgumentTypeError as exc:
            p.error(f"WEB_CONCURRENCY: {exc}")
    if workers > 1 and args.socket:
        p.error("--workers applies to HTTP; Socket Mode runs in one process")
    return workers


def _settings() -> Settings:
    from pydantic import ValidationError

    from bot.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise CliError(f"bad environment: {problems}") from None


def _board_table(rows: Sequence[Any], *, by: str, period: str) -> Table:
    from rich.markup import escape
    from rich.table import Table

    from bot.boards.leaderboard import table_columns
    from bot.periods import month_name

    t = Table(title=f"{'Team' if by == 'team' else 'Person'} leaderboard, {month_name(period)}: artifacts per $100")
    for col in table_columns(by):
        t.add_column(col, justify="right" if col not in ("name",) else "left")
    for r in rows:
        t.add_row(*(escape(cell) for cell in r.cells(by=by)))
    return t


def _report_table(report: Any) -> Table:
    from rich.markup import escape
    from rich.table import Table

    from bot.periods import month_name
    from bot.slack.blocks import spend_text
    from bot.slack.words import checkin_status

    r = report.row
    bar = "no bar yet" if r.bar is None else f"bar {r.bar:.2f} {'cleared' if r.cleared_bar else 'missed'}"
    t = Table(
        title=f"{report.team}, {month_name(report.period)}: {r.artifacts_per_100_usd:.2f} artifacts/$100, rank "
        f"{report.rank}/{report.teams_ranked}, {bar}"
    )
    for col in ("member", "spend", "artifacts", "per $100", "check-in", "artifacts logged"):
        t.add_column(col)
    for m in report.members:
        items = "\n".join(escape(f"[{a.status}] {a.title} {' '.join(a.links)}") for a in m.items) or "-"
        t.add_row(
            escape(m.name),
            spend_text(m.spend_usd, m.unpriced_rows, m.unpriced_tokens),
            f"{m.artifacts:g}",
            f"{m.artifacts_per_100_usd:.2f}",
            checkin_status(m.checkin_status),
            items,
        )
    return t


def cmd_leaderboard(deps: Deps, args: argparse.Namespace, out: Console) -> int:
    from bot.boards.leaderboard import board, field_names
    from bot.config import weights_of
    from bot.db import session_scope
    from bot.deps import utc_now

    period = args.period or collecting_period(utc_now(), deps.org.tz, deps.org.checkin.reply_until_day)
    with session_scope(deps.engine) as s:
        team_id = None
        if args.team:
            from bot.people.teams import find_team  # the table models: only when a team is named

            if args.by != "person":
                raise CliError("--team only goes with --by person")
            team = find_team(s, args.team)
            if team is None:
                raise CliError(f"no team named {args.team!r}")
            team_id = team.id
        rows = board(s, period, weights_of(deps.org), by=args.by, team_id=team_id)
    if args.format == "json":
        sys.stdout.write(json.dumps([r.as_json(by=args.by) for r in rows]) + "\n")
    elif args.format == "csv":
        import csv
        import io

        from bot.artifacts.transfer import csv_safe

        items = [{k: csv_safe(v) if isinstance(v, str) else v for k, v in r.as_json(by=args.by).items()} for r in rows]
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=field_names(args.by))
        w.writeheader()
        w.writerows(items)
        sys.stdout.write(buf.getvalue())
    else:
        out.print(_board_table(rows, by=args.by, period=period))
        _print_reconciliation(deps, period, out)
    return 0


def _print_reconciliation(deps: Deps, period: str, out: Console) -> None:
    """Provider bills against attributed spend, so the board reconciles with the bill."""
    from bot.db import session_scope
    from bot.spend.sync import reconcile, unattributed_total

    with session_scope(deps.engine) as s:
        rows = reconcile(s, period)
        org_wide = unattributed_total(s, period)
    for r in rows:
        if r.get("provider_total_usd") is None:
            continue
        level = f" (team-level ${r['team_level_usd']:,.2f})" if r.get("team_level_usd") else ""
        out.print(
            f"{r['source']}: bill ${r['provider_total_usd']:,.2f} = attributed ${r['attributed_usd']:,.2f}{level}"
            f" + unattributed ${r['unattributed_usd']:,.2f}",
            markup=False,
        )
    if org_wide["team_level_rows"] or org_wide["unattributed_rows"]:
        # Team-level spend is in its team's spend above; unattributed spend maps to nobody and is on no board.
        out.print(
            f"team-level spend ${org_wide['team_level_usd']:,.2f} ({org_wide['team_level_rows']} rows, in the teams' "
            f"spend); unattributed ${org_wide['unattributed_usd']:,.2f} ({org_wide['unattributed_rows']} rows, "
            "no person or team, org-wide)",
            markup=False,
        )


def cmd_report(deps: Deps, args: argparse.Namespace, out: Console) -> int:
    from bot.boards.reports import record_export, report_csv, team_report
    from bot.db import session_scope
    from bot.deps import utc_now

    period = args.period or collecting_period(utc_now(), deps.org.tz, deps.org.checkin.reply_until_day)
    with session_scope(deps.engine) as s:
        report = team_report(s, team_name=args.team, period=period, org=deps.org)
    if args.format == "json":
        sys.stdout.write(json.dumps(report.as_json()) + "\n")
    elif args.format == "csv":
        sys.stdout.write(report_csv(report))
        record_export(engine=deps.engine, actor="cli", report=report, fmt="csv", now=utc_now())
    else:
        out.print(_report_table(report))
        if report.team_level_line:  # spend assigned to the team, in its spend, no member's
            out.print(report.team_level_line, markup=False, highlight=False)
        from bot.slack.blocks import model_cost_text

        for m in report.models:  # a model the price table does not know: "unpriced (N rows, T tokens)"
            out.print(f"  {m.provider}/{model_cost_text(m, per_artifact=True)}", markup=False, highlight=False)
    return 0


def cmd_artifacts(deps: Deps, args: argparse.Namespace, out: Console) -> int:
    from bot.db import session_scope

    if args.artifacts_command == "import":
        from bot.artifacts.transfer import import_artifacts_csv

        res = import_artifacts_csv(deps.engine, args.file, now=deps.clock(), tz=deps.org.tz)
        out.print(
            f"artifacts: {res.created} imported, {res.unchanged} already there; {res.people_created} new people",
            markup=False,
        )
        return 0
    from bot.boards.transfer import export_artifacts, export_csv, export_json

    with session_scope(deps.engine) as s:
        rows = export_artifacts(s, org=deps.org, period=args.period)
    sys.stdout.write(export_csv(rows) if args.format == "csv" else export_json(rows) + "\n")
    return 0


def cmd_db_check(deps: Deps, args: argparse.Namespace, out: Console) -> int:
    from bot.boards.rollups import check, rebuild_all
    from bot.config import weights_of
    from bot.db import session_scope

    w = weights_of(deps.org)
    with session_scope(deps.engine) as s:
        diffs = check(s, w, period=args.period)
    for d in diffs[:50]:
        out.print(f"{d.period} {d.what} {d.key}: roll-up {d.rollup} != raw {d.raw}", markup=False)
    if diffs and args.repair:
        rebuild_all(deps.engine, w)
        out.print(f"{len(diffs)} difference(s) repaired")
        return 0
    out.print("roll-ups match the raw rows" if not diffs else f"{len(diffs)} difference(s)")
    return 1 if diffs else 0


def cmd_people_rights(deps: Deps, args: argparse.Namespace, out: Console) -> int:
    import getpass

    from bot.db import session_scope
    from bot.people.privacy import export_person, forget_person

    actor = f"cli:{getpass.getuser()}"
    with session_scope(deps.engine) as s:
        if args.people_command == "export":
            data = export_person(s, args.user, actor=actor)
            sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
            return 0
        if not getattr(args, "yes", False):
            question = f"Forget {args.user}? Their personal data and message text are removed for good. [y/N] "
            if not sys.stdin.isatty():
                out.print(f"people forget {args.user}: not confirmed (add --yes to run without asking)", markup=False)
                return 2
            if input(question).strip().lower() not in ("y", "yes"):
                out.print("Nothing was changed.", markup=False)
                return 2
        pid = forget_person(s, args.user, actor=actor, journal=deps.inbox_engine)
    out.print(f"person {pid} forgotten: personal data and message text removed, anonymised numbers kept")
    return 0


def cmd_audit(deps: Deps, args: argparse.Namespace, out: Console) -> int:
    from bot.db import session_scope
    from bot.people.privacy import audit_entries

    since = dt.datetime.combine(args.since, dt.time(0), tzinfo=dt.UTC) if args.since else None
    with session_scope(deps.engine) as s:
        entries = audit_entries(s, since=since)
    if args.format == "json":
        sys.stdout.write(json.dumps(entries, default=str) + "\n")
        return 0
    from rich.markup import escape
    from rich.table import Table

    t = Table(title="Audit log")
    for col in ("at", "actor", "action", "target", "detail"):
        t.add_column(col)
    for e in entries:
        t.add_row(
            str(e["at"]),
            escape(str(e["actor"])),
            e["action"],
            f"{e['target_type']} {e['target_id']}",
            escape(json.dumps(e["detail"], default=str)[:120]),
        )
    out.print(t)
    return 0


def _ignored_keys(path: Path) -> str | None:
    """What ``teams import FILE`` did not apply: every key but ``teams``, unless FILE is the config in force."""
    import yaml

    active = os.environ.get("ARTIFACT_BOT_CONFIG")
    if active and Path(active).resolve() == path.resolve():
        return None
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    keys = [k for k in raw if k != "teams"] if isinstance(raw, dict) else []
    if not keys:
        return None
    where = f"ARTIFACT_BOT_CONFIG ({active})" if active else "ARTIFACT_BOT_CONFIG, which is not set"
    return (
        f"ignored from {path}: {', '.join(map(str, keys))}: only teams are imported; the rest applies "
        f"from {where} (see `artifact-bot config check`)"
    )


def cmd_teams_list(deps: Deps, args: argparse.Namespace, out: Console) -> int:
    from bot.db import session_scope
    from bot.people.teams import list_teams

    with session_scope(deps.engine) as s:
        teams = list_teams(s)
    if args.format == "json":
        sys.stdout.write(json.dumps([t.as_json() for t in teams]) + "\n")
        return EXIT_OK
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=f"{len(teams)} team(s)")
    for col in ("team", "members", "managers", "channel", "monthly budget"):
        t.add_column(col)
    for team in teams:
        budget = "-" if team.monthly_budget_usd is None else f"${team.monthly_budget_usd:,.2f}"
        t.add_row(escape(team.name), str(team.members), escape(", ".join(team.managers)) or "-",
                  team.channel or "-", budget)
    out.print(t)
    return EXIT_OK


def cmd_teams_remove(deps: Deps, args: argparse.Namespace, out: Console) -> int:
    import getpass

    from bot.db import session_scope
    from bot.people.teams import remove_team

    # The config applies its teams at every start: a team still listed there would come back.
    listed = [t.name for t in deps.org.teams if t.name.strip().lower() == args.name.strip().lower()]
    if listed:
        raise CliError(
            f"team {listed[0]!r} is in ARTIFACT_BOT_CONFIG ({os.environ.get('ARTIFACT_BOT_CONFIG')}): remove it "
            "there first, or it comes back at the next start; nothing was changed"
        )
    with session_scope(deps.engine) as s:
        detail = remove_team(s, args.name, actor=f"cli:{getpass.getuser()}")
    out.print(
        f"team {detail['team']} removed from the board ({len(detail['members'])} member(s), "
        f"{len(detail['managers'])} manager(s)); closed periods keep it, the audit log keeps its definition",
        markup=False,
        highlight=False,
    )
    return EXIT_OK


def cmd_config_check(args: argparse.Namespace, out: Console) -> int:
    """Validate the org YAML and say what the bot will do with it: exit 2 when it is invalid."""
    from bot.config import load_org_config

    path = args.file or (Path(os.environ["ARTIFACT_BOT_CONFIG"]) if os.environ.get("ARTIFACT_BOT_CONFIG") else None)
    if path is None:
        raise CliError(f"no config to check: give FILE, set ARTIFACT_BOT_CONFIG or create ./{DEFAULT_CONFIG}")
    org = load_org_config(path)
    say = lambda text: out.print(text, markup=False, highlight=False)  # noqa: E731
    say(f"{path}: valid")
    say(f"timezone: {org.timezone}")
    say(f"admins: {', '.join(org.admins) or 'none (nobody can run admin commands in Slack)'}")
    channels = [f"summary -> {org.summary_channel}" if org.summary_channel else "summary -> team channels only"]
    channels += [f"{t.name} -> {t.channel}" for t in org.teams if t.channel]
    say(f"channels: {'; '.join(channels)}")
    say(f"check-ins: at {org.checkin.hour:02d}:00 {org.timezone}, replies accepted until day "
        f"{org.checkin.reply_until_day}, up to {org.checkin.max_reminders} reminder(s) "
        f"{org.checkin.reminder_after_days} day(s) apart")
    say(f"identities: {len(org.identities)} mapped")
    say(f"teams: {len(org.teams)}")
    for t in org.teams:
        budget = "" if t.monthly_budget_usd is None else f", budget ${t.monthly_budget_usd:,.2f}"
        say(f"  {t.name}: {len(t.members)} member(s), {len(t.managers)} manager(s){budget}")
    unknown = _unknown_people(org)
    if unknown is None:
        say("people: not checked (the database is not set up: artifact-bot db upgrade)")
    elif unknown:
        say(f"unknown people ({len(unknown)}), not matched to a Slack user yet (artifact-bot people sync): "
            + ", ".join(unknown))
    else:
        say("people: every member, manager and admin is a known Slack user")
    return EXIT_OK


def _unknown_people(org: Any) -> list[str] | None:
    """Members, managers and admins with no synced person; None when the database is not migrated."""
    from bot.db import make_engine, session_scope
    from bot.people.store import find_person
    from bot.runtime.build import schema_is_current

    engine = make_engine(_settings().database_url)
    try:
        if not schema_is_current(engine):
            return None
        idents = dict.fromkeys([*org.admins, *(i for t in org.teams for i in (*t.members, *t.managers))])
        with session_scope(engine) as s:
            return [i for i in idents if (p := find_person(s, i)) is None or not p.slack_user_id]
    finally:
        engine.dispose()


def cmd_demo(args: argparse.Namespace, out: Console) -> int:
    from bot.deps import utc_now
    from bot.runtime.demo import run_demo

    result = run_demo(args.out, now=utc_now())
    out.print(_board_table(result.teams, by="team", period=result.period))
    out.print(_board_table(result.people[:15], by="person", period=result.period))
    out.print(_report_table(result.report))
    out.print(
        f"[green]Demo done.[/green] {result.messages} check-in DMs, the report, the final leaderboard and "
        f"the weekly summary (Block Kit JSON + chart PNG) are in {result.out_dir}/\n"
        f"Open {result.out_dir / 'index.html'} to see every message as people see it in Slack."
    )
    return 0


# Commands that may call the language model; the others never import its SDK.
NEEDS_LANGUAGE_MODEL = frozenset({"serve", "worker", "jobs"})
# Commands that read or write stored DM replies (the journal); the others do not open it.
NEEDS_JOURNAL = frozenset({"serve", "worker", "jobs", "people"})
# Wide enough that a table piped to a file or another program is never cut (rich's default is 80).
PIPED_WIDTH = 10_000


def make_console(*, stderr: bool = False) -> Console:
    """The console people read: colour and live displays only on a terminal, ``NO_COLOR`` honoured.

    Piped, it is as wide as its widest line (tables are not cut at 80 columns); ``--format json``
    or ``csv`` is the interface for programs.
    """
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty()
    return Console(
        stderr=stderr,
        width=None if terminal else PIPED_WIDTH,
        no_color=True if os.environ.get("NO_COLOR") else None,
        highlight=terminal,
    )


class LazyConsole:
    """A :class:`rich.console.Console` made on first use: JSON and CSV output never import rich."""

    def __init__(self, *, stderr: bool = False) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def get(self) -> Console:
        """The console itself, made now if it was not yet."""
        if self._console is None:
            self._console = make_console(stderr=self._stderr)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)

    # Dunder methods bypass __getattr__: rich's Live (the jobs progress line) uses the console as a context.
    def __enter__(self) -> Console:
        return self.get().__enter__()

    def __exit__(self, *exc: Any) -> None:
        self.get().__exit__(*exc)


def run(argv: Sequence[str] | None = None) -> int:
    parser = _finish(build_parser())
    args = parser.parse_args(argv)
    if args.command == "serve":
        args.workers = _serve_workers(args, parser)
    # Long-running commands say what they do at INFO ("listening on ..."); one-shot commands print
    # their result and log only warnings.
    quiet = logging.INFO if args.command in ("serve", "worker") else logging.WARNING
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else quiet,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    _apply_config_default(args)
    out = cast("Console", LazyConsole())
    if args.command == "demo":
        return cmd_demo(args, out)
    if args.command == "config":
        return cmd_config_check(args, out)
    from bot.runtime.build import build_deps

    settings = _settings()
    deps = build_deps(
        settings, llm=args.command in NEEDS_LANGUAGE_MODEL, journal=args.command in NEEDS_JOURNAL
    )
    if args.command == "serve" and args.workers > 1:
        from bot.runtime.server import serve_workers

        return serve_workers(
            deps,
            lambda: build_deps(settings, migrate=False),
            workers=args.workers,
            port=args.port,
            scheduler=not args.no_scheduler,
        )
    if args.command == "db":
        if args.db_command == "check":
            return cmd_db_check(deps, args, out)
        out.print("database is up to date")
        return 0
    if args.command == "teams" and args.teams_command == "list":
        return cmd_teams_list(deps, args, out)
    if args.command == "teams" and args.teams_command == "remove":
        return cmd_teams_remove(deps, args, out)
    if args.command == "teams":
        from bot.config import load_org_config as load
        from bot.db import session_scope
        from bot.people.teams import import_teams

        cfg = load(args.file)
        with session_scope(deps.engine) as s:
            teams = import_teams(s, cfg.teams, actor="cli")
        out.print(
            f"teams: {teams.teams_created} created, {teams.teams_updated} updated; {teams.members} memberships; "
            f"{teams.people_created} new people"
        )
        ignored = _ignored_keys(args.file)
        if ignored:
            out.print(ignored, markup=False, highlight=False)
        return 0
    if args.command == "usage" and args.usage_command == "import":
        from bot.spend.focus import import_focus_csv, is_focus_file

        if is_focus_file(args.file):  # a FOCUS 1.x billing export (cloud bills), recognised by its header
            out.print(import_focus_csv(deps.engine, args.file, deps.org).line(), markup=False)
            return 0
    if args.command == "usage" and args.usage_command == "import":
        from bot.boards.rollups import ensure_fresh
        from bot.config import weights_of
        from bot.spend.usage import import_usage_csv

        w = weights_of(deps.org)
        res = import_usage_csv(
            deps.engine,
            args.file,
            on_unknown=args.on_unknown,
            mode=args.usage_mode,
            identities=deps.org.identities,
            refresh=lambda s, period: ensure_fresh(s, period, w),  # the first board after it reads roll-ups
        )
        for line in res.summary():
            out.print(line, markup=False, highlight=False)
        if res.unpriced:
            out.print(
                f"[yellow]{res.unpriced} row(s) have no cost and a model the price table does not know: "
                f"{', '.join(sorted(res.unpriced_models))}. Kept with their tokens, not priced.[/yellow]"
            )
        return 0
    if args.command == "people" and args.people_command in ("export", "forget"):
        return cmd_people_rights(deps, args, out)
    if args.command == "audit":
        return cmd_audit(deps, args, out)
    if args.command == "artifacts":
        return cmd_artifacts(deps, args, out)
    if args.command == "leaderboard":
        return cmd_leaderboard(deps, args, out)
    if args.command == "report":
        return cmd_report(deps, args, out)
    from bot.runtime import commands as runtime

    return runtime.run_command(deps, args, out)


def _tried_and_failed(exc: Exception) -> bool:
    """A provider that kept failing is exit 1 (failed), not 2: the input and the config were fine."""
    from bot.spend.connectors.base import ProviderError  # only on the error path

    return isinstance(exc, ProviderError)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``artifact-bot`` console script."""
    err = cast("Console", LazyConsole(stderr=True))
    try:
        return run(argv)
    except ImportFileError as exc:
        for problem in exc.problems:
            err.print(f"error: {problem}", markup=False, highlight=False)
        err.print("nothing from that file was written", markup=False)
        return EXIT_USAGE
    except (ArtifactBotError, CliError) as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        return EXIT_FAILED if _tried_and_failed(exc) else EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
