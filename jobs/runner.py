"""``artifact-bot jobs run NAME``: one job now, in the foreground, until its messages are sent.

Shows a live progress line (sent / failed / remaining, rate, ETA) and prints a line per batch
(so logs of non-interactive runs show progress too). Exits 0 when the job ran, even if some
people could not be messaged (they are listed); 1 only on a fatal error such as a refused token.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from bot import lease
from bot.deps import Deps
from bot.slack.outbox import DispatchStats, FatalSlackError
from bot.slack.words import count
from jobs import registry
from jobs.common import JobResult

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FATAL = 0, 1


def job_function(name: str) -> Callable[..., JobResult]:
    """The ``run`` function of job ``name`` (its module is imported now, not at start-up)."""
    return registry.get(name).run_function()


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class _Display:
    """The progress line and the per-batch lines."""

    def __init__(self, console: Console, name: str) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn(f"[bold]{escape(name)}[/bold]"),
            BarColumn(),
            TextColumn(
                "{task.fields[sent]:,} sent · {task.fields[failed]:,} failed · "
                "{task.fields[remaining]:,} remaining · {task.fields[rate]:.1f}/s · ETA {task.fields[eta]}"
            ),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            disable=not console.is_terminal,  # piped or in a log: the per-batch lines and the summary only
        )
        self.task = self.progress.add_task(name, total=None, sent=0, failed=0, remaining=0, rate=0.0, eta="--:--")
        self.batches = 0

    def __call__(self, stats: DispatchStats, remaining: int) -> None:
        done = stats.sent + stats.failed
        self.progress.update(
            self.task,
            completed=done,
            total=done + remaining,
            sent=stats.sent,
            failed=stats.failed,
            remaining=remaining,
            rate=stats.rate,
            eta=_eta(stats.eta(remaining)),
        )
        if stats.batches != self.batches:
            self.batches = stats.batches
            self.progress.log(
                f"batch {stats.batches}: {stats.sent:,} sent, {stats.failed:,} failed, "
                f"{stats.retried:,} to retry, {stats.rate_limited:,} rate-limited (429), "
                f"{remaining:,} remaining, {stats.rate:.1f}/s"
            )


def run_job(
    deps: Deps,
    name: str,
    *,
    period: str | None = None,
    console: Console | None = None,
    dry_run: Path | None = None,
) -> int:
    """Run job ``name`` now and send everything it queued. Returns the process exit code.

    With ``dry_run`` (a folder), nothing is sent and nothing marked: the count of messages it would
    send is printed and the Block Kit of the first few is written to that folder.
    """
    out = console or Console(stderr=True)
    if name not in registry.manual_names():
        out.print(f"unknown job {name!r}; jobs: {', '.join(registry.manual_names())}", markup=False)
        return 2
    now = deps.clock()
    if dry_run is not None:
        return _dry_run(deps, name, now=now, period=period, folder=dry_run, out=out)
    display = _Display(out, name)
    result: JobResult | None = None
    with lease.hold(deps.engine, f"job:{name}", run_key=f"manual:{secrets.token_hex(4)}") as held:
        if held is None:
            holder = lease.current(deps.engine, f"job:{name}")
            who = holder.holder if holder else "another worker"
            out.print(f"{name} is already running on {who}: this run joins it (nothing is sent twice).", markup=False)
        try:
            with display.progress:
                result = job_function(name)(deps, now=now, period=period, progress=display)
        except FatalSlackError as exc:
            out.print(f"[red]fatal:[/red] {escape(str(exc))}; messages not sent stay queued for the next run")
            return EXIT_FATAL
    _report(out, result)
    return EXIT_OK


def _dry_run(deps: Deps, name: str, *, now: Any, period: str | None, folder: Path, out: Console) -> int:
    from jobs import dry_run

    if not registry.get(name).dry_run:
        out.print(f"{name} has no dry run (it sends no messages)", markup=False)
        return 2
    result = dry_run.preview(deps, name, now=now, period=period)
    written = dry_run.write(result, folder)
    head = f"{name}" + (f" {result.period}" if result.period else "")
    out.print(
        f"{head} (dry run): would send {count(result.total, 'message')} to {count(result.recipients, 'recipient')}; "
        "nothing sent, nothing marked",
        markup=False,
    )
    if written:
        out.print(f"  the first {len(written)}: {folder}/ ({', '.join(p.name for p in written)})", markup=False)
    return EXIT_OK


def _report(out: Console, result: JobResult | None) -> None:
    if result is None:
        return
    head = f"{result.job}" + (f" {result.period}" if result.period else "")
    if result.stats is not None:
        s = result.stats
        out.print(
            f"{head}: {result.queued:,} queued; {s.sent:,} sent, {s.failed:,} failed for good, "
            f"{s.rate_limited:,} rate-limited answers waited out, in {s.elapsed:.1f} s",
            markup=False,
        )
    else:
        out.print(f"{head}: done", markup=False)
    for note in result.notes:
        out.print(f"  {note}", markup=False)
    if result.failures:
        out.print(f"  could not message {len(result.failures):,} people:", markup=False)
        for who, error in result.failures[:20]:
            out.print(f"    {who}: {error}", markup=False)
        if len(result.failures) > 20:
            out.print(f"    ... and {len(result.failures) - 20:,} more", markup=False)
