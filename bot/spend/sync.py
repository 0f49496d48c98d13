"""Usage sync: provider admin APIs → usage rows, provider bills and Claude Code output signals.

``sync_usage`` is what ``artifact-bot usage sync`` and the ``usage-sync`` job call. For each
source it reads everything first (network), maps spenders to people, then replaces the synced
days in one transaction: a failure anywhere — a refused key, a provider still failing after
retries — leaves the database exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from bot.config import TEAM_PREFIX, OrgConfig, Settings
from bot.db import session_scope
from bot.errors import ConfigError, InputError
from bot.freshness import lock_team_level, refresh_team_spend
from bot.models import OutputSignal, ProviderTotal, SyncCursor, Team, UsageRow, utcnow
from bot.people.store import PersonIndex, SlackUser, ensure_person, is_slack_id, upsert_slack_user
from bot.periods import period_of
from bot.spend import seats
from bot.spend.connectors import REGISTRY, Connector
from bot.spend.connectors.base import UNATTRIBUTED, ProviderFetch, SignalRow, Spender, SpendRow
from bot.spend.usage import UsageRecord, replace_days

log = logging.getLogger(__name__)

LOOKBACK_DAYS = 3  # re-read the last days of the previous sync: providers correct them late
CENT = Decimal("0.01")
CLAUDE_CODE = "claude_code"  # the source of Claude Code's output signals


@dataclass
class SourceReport:
    """What one source's sync stored."""

    source: str
    first: dt.date
    last: dt.date
    rows: int = 0
    attributed_rows: int = 0
    unattributed_rows: int = 0
    cost_usd: float = 0.0
    attributed_usd: float = 0.0
    provider_total_usd: float = 0.0
    billed_days: int = 0
    unpriced_rows: int = 0
    unpriced_models: list[str] = field(default_factory=list)
    signals: int = 0
    people_created: int = 0
    unmatched_identities: list[str] = field(default_factory=list)
    requests: int = 0
    team_level_rows: int = 0  # rows of no person that the config assigns to a team (in its spend)
    team_level_usd: float = 0.0


@dataclass
class SyncReport:
    """What a sync did, per source; ``skipped`` names sources without a key (with ``all``)."""

    sources: list[SourceReport] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    lookup_failures: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (dates as ISO strings)."""
        out = asdict(self)
        for src in out["sources"]:
            src["first"] = src["first"].isoformat()
            src["last"] = src["last"].isoformat()
        return out

    def lines(self) -> list[str]:
        """One human line per source, for the CLI and job logs."""
        out = []
        for s in self.sources:
            line = (
                f"{s.source}: {s.first}..{s.last}: {s.rows} rows, ${s.cost_usd:,.2f} priced "
                f"(${s.attributed_usd:,.2f} attributed)"
            )
            # Claude Code's estimates and seat licences have no provider bill to show
            line += f", provider bill ${s.provider_total_usd:,.2f}" if s.billed_days else ", no provider bill"
            if s.team_level_rows:
                line += f", {s.team_level_rows} team-level rows (${s.team_level_usd:,.2f})"
            if s.unattributed_rows:
                line += f", {s.unattributed_rows} unattributed rows"
            if s.unpriced_rows:
                line += f", {s.unpriced_rows} unpriced ({', '.join(s.unpriced_models)})"
            if s.signals:
                line += f", {s.signals} signals"
            out.append(line)
        out += [f"{skipped} (skipped)" for skipped in self.skipped]
        if self.lookup_failures:
            out.append(f"{self.lookup_failures} Slack lookups by email failed (spend kept unattributed)")
        return out


class _Resolver:
    """Spender → person rules: config ``identities`` first, then email, then Slack lookup."""

    def __init__(self, org: OrgConfig, lookup_email: Callable[[str], SlackUser | None] | None) -> None:
        self.overrides = {k.strip().casefold(): v.strip() for k, v in org.identities.items() if k.strip() and v.strip()}
        self.lookup_email = lookup_email
        self.looked_up: dict[str, SlackUser | None] = {}
        self.failures = 0

    def override(self, aliases: tuple[str, ...], email: str | None) -> tuple[str, str] | None:
        """``(alias, target)`` of the first alias the config maps, most specific first."""
        for alias in (*aliases, *((email,) if email else ())):
            target = self.overrides.get(alias.strip().casefold())
            if target:
                return alias.strip(), target
        return None

    def lookup(self, email: str) -> None:
        """Ask Slack once for a person by email (outside any transaction)."""
        email = email.strip().lower()
        if email in self.looked_up:
            return
        user: SlackUser | None = None
        if self.lookup_email is not None:
            try:
                user = self.lookup_email(email)
            except Exception:
                # A Slack hiccup must not block the bill: the spend stays unattributed until the
                # next sync of these days.
                log.exception("Slack lookup by email failed")
                self.failures += 1
        self.looked_up[email] = user

    def prefetch(self, index: PersonIndex, spenders: Iterable[tuple[tuple[str, ...], str | None]]) -> None:
        """Look up in Slack every email the database does not know yet."""
        for aliases, email in spenders:
            match = self.override(aliases, email)
            target = match[1] if match else email
            if target and "@" in target and index.resolve(target) is None:
                self.lookup(target)


class _Attribution:
    """Maps spenders to person ids inside one write transaction, creating people as needed."""

    def __init__(self, session: Session, resolver: _Resolver) -> None:
        self.session = session
        self.resolver = resolver
        self.index = PersonIndex.load(session)
        self.created = 0
        self._cache: dict[tuple[str, tuple[str, ...], str | None], tuple[str, int | None]] = {}
        self.teams: dict[str, str] = {}  # stored identity → team name (``identities: {key: team:NAME}``)

    def _remember(self, pid: int, email: str | None, slack_id: str | None) -> None:
        if email:
            self.index.by_email[email.lower()] = pid
        if slack_id:
            self.index.by_slack[slack_id] = pid

    def _target(self, target: str, *, create: bool) -> int | None:
        pid = self.index.resolve(target)
        if pid is not None:
            return pid
        if "@" in target:
            user = self.resolver.looked_up.get(target.strip().lower())
            if user is not None:
                known = user.slack_user_id in self.index.by_slack
                person = upsert_slack_user(self.session, user)
                assert person.id is not None
                self.created += 0 if known else 1
                self._remember(person.id, person.email, person.slack_user_id)
                self._remember(person.id, target, None)
                return person.id
        if not create:
            return None
        if "@" in target or is_slack_id(target):
            # An explicit config mapping to someone not synced yet: a placeholder that
            # ``people sync`` completes later (as teams import does).
            person = ensure_person(self.session, target)
            assert person.id is not None
            self.created += 1
            self._remember(person.id, person.email, person.slack_user_id)
            return person.id
        log.warning("identities: %r is neither an email nor a Slack user id; ignored", target)
        return None

    def resolve(self, who: Spender) -> tuple[str, int | None]:
        """``(identity to store, person id or None)`` for a spender; an identity the config assigns to a
        team (``team:NAME``) has no person and is noted in ``teams``."""
        identity, aliases, email = who.identity, who.aliases, who.email
        key = (identity, aliases, email)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        match = self.resolver.override(aliases, email)
        result: tuple[str, int | None]
        if match is not None and match[1].casefold().startswith(TEAM_PREFIX):
            alias, target = match
            stored = alias.lower() if "@" in alias else alias
            self.teams[stored[:320]] = target[len(TEAM_PREFIX) :].strip()
            result = (stored, None)
        elif match is not None:
            alias, target = match
            stored = alias.lower() if "@" in alias else alias
            result = (stored, self._target(target, create=True))
        elif email:
            result = (identity, self._target(email, create=False))
        else:
            result = (identity, None)
        self._cache[key] = result
        return result


def _records(rows: Iterable[SpendRow], att: _Attribution) -> list[UsageRecord]:
    merged: dict[tuple[dt.date, str, str, str], UsageRecord] = {}
    for row in rows:
        identity, pid = att.resolve(row)
        identity = identity[:320]
        key = (row.date, identity, row.provider, row.model)
        rec = merged.get(key)
        if rec is None:
            merged[key] = UsageRecord(
                date=row.date,
                identity=identity,
                provider=row.provider,
                model=row.model,
                input_tokens=row.input_tokens,
                output_tokens=row.output_tokens,
                cached_tokens=row.cached_tokens,
                requests=row.requests,
                cost_usd=row.cost_usd,
                person_id=pid,
            )
            continue
        rec.input_tokens += row.input_tokens
        rec.output_tokens += row.output_tokens
        rec.cached_tokens += row.cached_tokens
        rec.requests += row.requests
        rec.cost_usd = None if rec.cost_usd is None or row.cost_usd is None else rec.cost_usd + row.cost_usd
    return list(merged.values())


def _signal_rows(signals: Iterable[SignalRow], att: _Attribution, source: str) -> list[OutputSignal]:
    merged: dict[tuple[dt.date, str, str], OutputSignal] = {}
    for sig in signals:
        identity, pid = att.resolve(sig)
        identity = identity[:320]
        key = (sig.date, identity, sig.metric)
        row = merged.get(key)
        if row is None:
            merged[key] = OutputSignal(
                source=source,
                date=sig.date,
                period=period_of(sig.date),
                identity=identity,
                person_id=pid,
                metric=sig.metric,
                value=sig.value,
            )
        else:
            row.value += sig.value
    return list(merged.values())


def _included(session: Session, org: OrgConfig, source: str, records: list[UsageRecord]) -> list[OutputSignal]:
    """Zero the cost of usage a seat includes (``usage: included``); its value becomes a signal."""
    included = seats.included_holders(session, org, [source]).get(source)
    if not included:
        return []
    kept: dict[tuple[dt.date, str], OutputSignal] = {}
    for rec in records:
        if rec.person_id in included and rec.cost_usd:
            sig = kept.get((rec.date, rec.identity))
            if sig is None:
                sig = kept[(rec.date, rec.identity)] = OutputSignal(
                    source=source,
                    date=rec.date,
                    period=period_of(rec.date),
                    identity=rec.identity,
                    person_id=rec.person_id,
                    metric=seats.INCLUDED_METRIC,
                    value=0.0,
                )
            sig.value += rec.cost_usd
            rec.cost_usd = 0.0
    return list(kept.values())


@dataclass
class TeamLevel:
    """The rows of a replaced range that went to teams (team-level spend)."""

    rows: int = 0
    cost_usd: float = 0.0


def teams_in_days(session: Session, *, source: str, first: dt.date, last: dt.date) -> set[tuple[int, str]]:
    """(team, period) of the team-level rows ``source`` has from ``first`` to ``last`` (read before replacing
    them, so a team that loses its rows has its roll-up refreshed too). Takes the team-level roll-up's lock
    first: call it before writing the rows."""
    lock_team_level(session)
    q = (
        select(col(UsageRow.team_id), col(UsageRow.period))
        .where(
            col(UsageRow.source) == source,
            col(UsageRow.date) >= first,
            col(UsageRow.date) <= last,
            col(UsageRow.team_id).is_not(None),
        )
        .distinct()
    )
    return {(int(t), p) for t, p in session.execute(q)}


def assign_teams(
    session: Session,
    *,
    source: str,
    first: dt.date,
    last: dt.date,
    teams: Mapping[str, str],
    before: set[tuple[int, str]],
) -> TeamLevel:
    """Give the unattributed rows of ``source`` from ``first`` to ``last`` whose identity is in ``teams``
    (stored identity → team name, case-insensitive) their team, then refresh the team-level roll-up of
    those teams and of ``before`` (what the range had before it was replaced), in this transaction.

    A team name the database does not know (not imported yet) leaves its rows unattributed, with a log line.
    """
    by_name = {name.casefold(): int(tid) for tid, name in session.execute(select(col(Team.id), col(Team.name)))}
    wanted: dict[int, list[str]] = {}
    for identity, name in teams.items():
        tid = by_name.get(name.strip().casefold())
        if tid is None:
            log.warning("team %r of identity %r is not in the database: kept unattributed", name, identity)
            continue
        wanted.setdefault(tid, []).append(identity)
    out = TeamLevel()
    in_range = (
        col(UsageRow.source) == source,
        col(UsageRow.date) >= first,
        col(UsageRow.date) <= last,
        col(UsageRow.person_id).is_(None),
    )
    for tid, identities in sorted(wanted.items()):
        for i in range(0, len(identities), 500):
            chunk = identities[i : i + 500]
            session.execute(
                update(UsageRow).where(*in_range, col(UsageRow.identity).in_(chunk)).values(team_id=tid)
            )
    after = {
        (int(t), p): (int(n), float(c or 0))
        for t, p, n, c in session.execute(
            select(col(UsageRow.team_id), col(UsageRow.period), func.count(), func.sum(col(UsageRow.cost_usd)))
            .where(*in_range, col(UsageRow.team_id).is_not(None))
            .group_by(col(UsageRow.team_id), col(UsageRow.period))
        )
    }
    out.rows = sum(n for n, _ in after.values())
    out.cost_usd = round(sum(c for _, c in after.values()), 6)
    refresh_team_spend(session, set(after) | before)
    return out


def _write(
    engine: Engine, fetch: ProviderFetch, resolver: _Resolver, now: dt.datetime, org: OrgConfig
) -> SourceReport:
    report = SourceReport(source=fetch.source, first=fetch.first, last=fetch.last, requests=fetch.requests_made)
    signal_source = fetch.signal_source or fetch.source
    with session_scope(engine) as session:
        att = _Attribution(session, resolver)
        records = _records(fetch.rows, att)
        included = _included(session, org, fetch.source, records)
        before = teams_in_days(session, source=fetch.source, first=fetch.first, last=fetch.last)
        result = replace_days(session, records, source=fetch.source, first=fetch.first, last=fetch.last)
        team_level = assign_teams(
            session, source=fetch.source, first=fetch.first, last=fetch.last, teams=att.teams, before=before
        )
        session.execute(
            delete(ProviderTotal).where(
                col(ProviderTotal.source) == fetch.source,
                col(ProviderTotal.date) >= fetch.first,
                col(ProviderTotal.date) <= fetch.last,
            )
        )
        session.add_all(
            ProviderTotal(source=fetch.source, date=day, period=period_of(day), cost_usd=float(total))
            for day, total in sorted(fetch.totals.items())
        )
        session.execute(
            delete(OutputSignal).where(
                col(OutputSignal.source) == signal_source,
                col(OutputSignal.date) >= fetch.first,
                col(OutputSignal.date) <= fetch.last,
            )
        )
        signals = _signal_rows(fetch.signals, att, signal_source) + included
        session.add_all(signals)
        report.signals = len(signals)
        cursor = session.get(SyncCursor, fetch.source) or SyncCursor(source=fetch.source)
        cursor.last_date = fetch.last
        cursor.updated_at = utcnow()
        cursor.detail = {
            "first": fetch.first.isoformat(),
            "last": fetch.last.isoformat(),
            "rows": result.rows,
            "synced_at": now.astimezone(dt.UTC).isoformat(),
        }
        session.add(cursor)
        session.flush()
        report.people_created = att.created
    report.rows = result.rows
    report.cost_usd = round(result.cost_usd, 6)
    report.unpriced_rows = result.unpriced
    report.unpriced_models = sorted(result.unpriced_models)
    report.attributed_rows = sum(1 for r in records if r.person_id is not None)
    report.team_level_rows = team_level.rows
    report.team_level_usd = team_level.cost_usd
    report.unattributed_rows = report.rows - report.attributed_rows - team_level.rows
    report.attributed_usd = round(sum(r.cost_usd or 0.0 for r in records if r.person_id is not None), 6)
    report.provider_total_usd = float(sum(fetch.totals.values(), Decimal(0)))
    report.billed_days = len(fetch.totals)
    report.unmatched_identities = sorted(
        {r.identity for r in records if r.person_id is None and r.identity not in att.teams}
    )[:20]
    return report


def _window(engine: Engine, source: str, since: dt.date | None, today: dt.date) -> tuple[dt.date, dt.date]:
    if since is not None:
        first = since
    else:
        with session_scope(engine) as session:
            cursor = session.get(SyncCursor, source)
            last_date = cursor.last_date if cursor is not None else None
        first = last_date - dt.timedelta(days=LOOKBACK_DAYS) if last_date else today.replace(day=1)
    return min(first, today), today


def _write_seats(engine: Engine, org: OrgConfig, *, first: dt.date, last: dt.date) -> SourceReport:
    """The seat rows of every month from ``first`` to ``last``, replacing those months' (one transaction)."""
    periods = seats.periods_between(first, last)
    span = (seats.month_span(periods[0])[0], seats.month_span(periods[-1])[1])
    report = SourceReport(source=seats.SOURCE, first=span[0], last=span[1])
    with session_scope(engine) as session:
        for period in periods:
            start, end = seats.month_span(period)
            records = seats.seat_records(session, org, period)
            result = replace_days(session, records, source=seats.SOURCE, first=start, last=end)
            report.rows += result.rows
            report.cost_usd = round(report.cost_usd + result.cost_usd, 6)
            report.attributed_rows += result.rows
            report.attributed_usd = report.cost_usd
    return report


def _select(settings: Settings, provider: str, report: SyncReport, org: OrgConfig) -> list[Connector]:
    """The connectors to sync: ``provider``, or every configured one for ``all``.

    The others are noted in ``report.skipped``, which the sync logs (one line each).
    """
    if provider != "all" and provider not in REGISTRY:
        raise InputError(f"unknown provider {provider!r}: use {', '.join(REGISTRY)} or all")
    wanted = list(REGISTRY.values()) if provider == "all" else [REGISTRY[provider]]
    selected = []
    for connector in wanted:
        if connector.configured(settings):
            selected.append(connector)
            continue
        missing = ", ".join(connector.env_keys)
        if provider != "all":
            raise ConfigError(f"missing environment variable: {missing} (needed for usage sync {connector.name})")
        report.skipped.append(f"{connector.name}: {missing} is not set")
    if not selected and not (provider == "all" and org.seats):
        keys = sorted({k for c in REGISTRY.values() for k in c.env_keys})
        raise ConfigError(f"missing environment variable(s): {', '.join(keys)} (set at least one provider's)")
    return selected


def sync_usage(
    engine: Engine,
    settings: Settings,
    org: OrgConfig,
    *,
    provider: str = "all",
    since: dt.date | None,
    now: dt.datetime,
    lookup_email: Callable[[str], SlackUser | None] | None = None,
) -> SyncReport:
    """Pull spend from the providers of the connector registry and store it, replacing the synced days.

    Days run from ``since`` (or the stored cursor minus three days, to pick up late
    corrections, or the first of the current month) to today, in the org's timezone. Every
    selected source is fetched before anything is written; each source is then written in one
    transaction (usage rows, the provider's daily bill, output signals, the cursor).

    Args:
        provider: a name of :data:`bot.spend.connectors.REGISTRY` or ``all`` (providers
            without their keys are skipped, one log line each).
        since: first org day to (re)sync; overrides the cursor.
        now: the current instant (UTC-aware); never read from the clock here.
        lookup_email: Slack ``users.lookupByEmail``, for provider emails not yet in the people
            table; None to match against known people only.

    Raises:
        ConfigError: a needed key is missing, or a provider refused it (401/403); the message
            names the variable. Nothing is written.
        InputError: unknown provider or ``since`` in the future.
        ProviderError: a provider kept failing after retries. Nothing is written.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    tz = org.tz
    today = now.astimezone(tz).date()
    report = SyncReport()
    selected = _select(settings, provider, report, org)
    if since is not None and since > today:
        raise InputError(f"--since {since} is after today ({today} in {org.timezone})")

    fetches: list[ProviderFetch] = []
    for connector in selected:
        first, last = _window(engine, connector.name, since, today)
        fetches.append(connector.fetch(settings, first=first, last=last, tz=tz, now=now))

    resolver = _Resolver(org, lookup_email)
    spenders = {(r.aliases, r.email) for f in fetches for r in f.rows}
    spenders |= {(s.aliases, s.email) for f in fetches for s in f.signals}
    with session_scope(engine) as session:
        index = PersonIndex.load(session)
    resolver.prefetch(index, spenders)

    for fetch in fetches:
        report.sources.append(_write(engine, fetch, resolver, now, org))
    if org.seats:
        first = min([f.first for f in fetches] + [since or today.replace(day=1)])
        report.sources.append(_write_seats(engine, org, first=first, last=today))
    report.lookup_failures = resolver.failures
    for line in report.lines():
        log.info("usage sync %s", line)
    return report


def _empty_usage() -> dict[str, Any]:
    return {"attributed": Decimal(0), "team_level": Decimal(0), "unattributed": Decimal(0), "rows": 0, "unpriced": 0}


def reconcile(session: Session, period: str) -> list[dict[str, Any]]:
    """Per source, the provider's bill for ``period`` against the spend the board attributes.

    ``attributed_usd`` is what the board counts: spend of people and team-level spend (rows of no person
    that the config assigns to a team; ``team_level_usd`` of it).
    ``unattributed_usd`` = ``provider_total_usd`` − ``attributed_usd`` (so the two add up to the
    bill to the cent). It is split into ``unattributed_rows_usd`` (usage rows that map to nobody)
    and ``gap_usd``: spend the bill has that no priced usage row explains (non-token items,
    price-table differences, unpriced models), negative when the estimate exceeds the bill.
    Sources without a provider bill (CSV imports) have ``provider_total_usd`` None.
    """
    # 0: a person's; 1: a team's (team-level spend: on the board, so attributed too); 2: nobody's.
    owner = case((col(UsageRow.person_id).is_not(None), 0), (col(Team.id).is_not(None), 1), else_=2)
    unpriced = case((col(UsageRow.priced).is_(False), 1), else_=0)
    usage_q = (
        select(
            col(UsageRow.source),
            owner.label("owner"),
            func.coalesce(func.sum(col(UsageRow.cost_usd)), 0.0),
            func.count(),
            func.coalesce(func.sum(unpriced), 0),
        )
        .select_from(UsageRow)
        .outerjoin(Team, col(Team.id) == col(UsageRow.team_id))
        .where(col(UsageRow.period) == period)
        .group_by(col(UsageRow.source), owner)
    )
    usage: dict[str, dict[str, Any]] = {}
    for source, whose, cost, rows, unpriced_rows in session.execute(usage_q):
        acc = usage.setdefault(source, _empty_usage())
        acc["unattributed" if whose == 2 else "attributed"] += Decimal(str(cost or 0))
        if whose == 1:
            acc["team_level"] += Decimal(str(cost or 0))
        acc["rows"] += int(rows)
        acc["unpriced"] += int(unpriced_rows or 0)
    totals_q = (
        select(col(ProviderTotal.source), func.sum(col(ProviderTotal.cost_usd)), func.count())
        .where(col(ProviderTotal.period) == period)
        .group_by(col(ProviderTotal.source))
    )
    totals = {s: (Decimal(str(t or 0)), int(n)) for s, t, n in session.execute(totals_q)}
    out = []
    for source in sorted(set(usage) | set(totals)):
        u = usage.get(source) or _empty_usage()
        attributed = u["attributed"].quantize(CENT)
        rows_unattributed = u["unattributed"].quantize(CENT)
        entry: dict[str, Any] = {
            "source": source,
            "period": period,
            "attributed_usd": float(attributed),
            "team_level_usd": float(u["team_level"].quantize(CENT)),
            "unattributed_rows_usd": float(rows_unattributed),
            "usage_rows": u["rows"],
            "unpriced_rows": u["unpriced"],
        }
        if source in totals:
            total = totals[source][0].quantize(CENT)
            unattributed_total = total - attributed
            entry.update(
                provider_total_usd=float(total),
                unattributed_usd=float(unattributed_total),
                gap_usd=float(unattributed_total - rows_unattributed),
                billed_days=totals[source][1],
            )
        else:
            entry.update(
                provider_total_usd=None,
                unattributed_usd=float(rows_unattributed),
                gap_usd=None,
                billed_days=0,
            )
        out.append(entry)
    return out


def unattributed_total(session: Session, period: str) -> dict[str, Any]:
    """Org-wide spend of ``period`` by owner: people, teams (team-level spend) and nobody (unattributed).

    Every source, with a provider bill or not; each amount with its number of usage rows.
    """
    owner = case((col(UsageRow.person_id).is_not(None), 0), (col(Team.id).is_not(None), 1), else_=2)
    q = (
        select(owner, func.coalesce(func.sum(col(UsageRow.cost_usd)), 0.0), func.count())
        .select_from(UsageRow)
        .outerjoin(Team, col(Team.id) == col(UsageRow.team_id))
        .where(col(UsageRow.period) == period)
        .group_by(owner)
    )
    found = {int(w): (Decimal(str(c or 0)).quantize(CENT), int(n)) for w, c, n in session.execute(q)}
    out: dict[str, Any] = {"period": period}
    for key, whose in (("people", 0), ("team_level", 1), ("unattributed", 2)):
        usd, rows = found.get(whose, (Decimal(0), 0))
        out[f"{key}_usd"], out[f"{key}_rows"] = float(usd), rows
    return out


def suggested_evidence(session: Session, person_id: int, period: str) -> dict[str, Any]:
    """A person's coding-agent output in ``period`` (Claude Code, Cursor, Copilot), to suggest as artifacts.

    Suggestions and context only: nothing here counts until the person adds artifacts with links.
    ``text`` is the line for the month-end DM and App Home, or None when there is nothing.
    """
    q = (
        select(col(OutputSignal.source), col(OutputSignal.metric), func.sum(col(OutputSignal.value)))
        .where(col(OutputSignal.person_id) == person_id, col(OutputSignal.period) == period)
        .group_by(col(OutputSignal.source), col(OutputSignal.metric))
    )
    sums = {(source, metric): float(value or 0) for source, metric, value in session.execute(q)}

    def code(metric: str) -> float:
        return sums.get((CLAUDE_CODE, metric), 0.0)

    out: dict[str, Any] = {
        "period": period,
        "pull_requests": int(code("pull_requests")),
        "commits": int(code("commits")),
        "sessions": int(code("sessions")),
        "lines_added": int(code("lines_added")),
        "lines_removed": int(code("lines_removed")),
        "estimated_cost_usd": round(code("estimated_cost_usd"), 2),
        "cursor_lines_accepted": int(sums.get(("cursor", "lines_accepted"), 0)),
        "copilot_code_acceptances": int(sums.get(("copilot", "code_acceptances"), 0)),
        "copilot_lines_accepted": int(sums.get(("copilot", "lines_accepted"), 0)),
    }
    out["text"] = evidence_text(
        out["pull_requests"],
        out["commits"],
        cursor_lines=out["cursor_lines_accepted"],
        copilot_acceptances=out["copilot_code_acceptances"],
    )
    return out


def evidence_text(prs: int, commits: int, *, cursor_lines: int = 0, copilot_acceptances: int = 0) -> str | None:
    """The suggestion line for the month-end DM and App Home, or None when there is nothing to suggest."""
    tools = []
    if cursor_lines:
        tools.append(f"Cursor: {cursor_lines:,} line{'s' if cursor_lines != 1 else ''} accepted")
    if copilot_acceptances:
        tools.append(f"Copilot: {copilot_acceptances:,} suggestion{'s' if copilot_acceptances != 1 else ''} accepted")
    context = f" ({'; '.join(tools)})" if tools else ""
    if prs:
        plural = "s" if prs != 1 else ""
        return f"Claude Code says you opened {prs} PR{plural} this month{context}: add them as artifacts?"
    if commits:
        return (
            f"Claude Code says you made {commits} commit{'s' if commits != 1 else ''} this month{context}: "
            "add what they built as artifacts?"
        )
    if tools:
        return f"Your coding tools this month: {'; '.join(tools)}. Add what they built as artifacts?"
    return None


__all__ = [
    "UNATTRIBUTED",
    "SourceReport",
    "SyncReport",
    "reconcile",
    "suggested_evidence",
    "sync_usage",
    "unattributed_total",
]
