"""Long-running and Slack-facing commands of the CLI: serve, worker, people sync, usage sync, jobs."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from bot.deps import Deps


def run_command(deps: Deps, args: argparse.Namespace, out: Console) -> int:
    """Dispatch the commands that need Slack, providers or the scheduler."""
    if args.command == "serve":
        from bot.runtime.server import serve

        return serve(deps, port=args.port, socket_mode=args.socket, scheduler=not args.no_scheduler)
    if args.command == "worker":
        from jobs.scheduler import run_worker

        return run_worker(deps)
    if args.command == "people":
        from bot.people.directory import sync_people

        deps.settings.require("slack_bot_token")
        deps.slack = _slack(deps)
        res = sync_people(deps.engine, deps.slack, deps.org)
        out.print(res.line())
        return 0
    if args.command == "usage" and args.usage_command == "sync":
        from bot.spend.sync import sync_usage

        report = sync_usage(
            deps.engine,
            deps.settings,
            deps.org,
            provider=args.provider,
            since=args.since,
            now=deps.clock(),
            lookup_email=_lookup(deps),
        )
        for line in report.lines():
            out.print(line, markup=False)
        return 0
    if args.command == "jobs":
        from jobs.registry import get as job_spec
        from jobs.runner import run_job

        spec = job_spec(args.name)
        if not spec.enabled(deps.settings, deps.org):
            from bot.errors import ConfigError

            # As the command it wraps answers (`usage sync` without keys): bad configuration, exit 2.
            raise ConfigError(f"{args.name} is not enabled in this deployment: its settings are missing ({spec.help})")
        if getattr(args, "dry_run", False):  # sends nothing: no Slack token needed
            from pathlib import Path

            return run_job(deps, args.name, period=args.period, console=out, dry_run=Path(args.out))
        if spec.needs_slack:
            deps.settings.require("slack_bot_token")
        deps.slack = _slack(deps)
        return run_job(deps, args.name, period=args.period, console=out)
    raise SystemExit(f"unknown command {args.command}")


def _slack(deps: Deps) -> Any:
    from bot.slack.client import make_client

    return make_client(deps.settings) if deps.settings.slack_bot_token else None


def _lookup(deps: Deps) -> Any:
    if not deps.settings.slack_bot_token:
        return None
    from bot.people.directory import lookup_by_email

    client = _slack(deps)
    return lambda email: lookup_by_email(client, email)
