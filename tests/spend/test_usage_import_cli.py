"""``artifact-bot usage import`` as an admin runs it: what it says it did, unknown people, identities,
replace or add, strict CSV (a subprocess per command, on SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db import make_engine, session_scope
from bot.models import PersonPeriodTotal, UsageRow
from bot.people.store import find_person
from tests import factories as f

HEADER = "date,email,provider,model,input_tokens,output_tokens,cost_usd\n"


def cli(*args: str, db_url: str, cwd: Path, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url}
    env.pop("ARTIFACT_BOT_CONFIG", None)
    if config is not None:
        env["ARTIFACT_BOT_CONFIG"] = str(config)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


@pytest.fixture
def org(db_url: str) -> str:
    engine = make_engine(db_url)
    f.person(engine, "U0ALICE", email="alice@example.com")
    f.person(engine, "U0BOB", email="bob@example.com")
    engine.dispose()
    return db_url


def rows(db_url: str) -> list[tuple[str, str, int | None, str, int, float | None]]:
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        out = sorted(
            (str(r.date), r.identity, r.person_id, r.model, r.input_tokens, r.cost_usd)
            for r in s.scalars(select(UsageRow))
        )
    engine.dispose()
    return out


def spend_of(db_url: str, email: str, period: str = "2026-10") -> float:
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        person = find_person(s, email)
        assert person is not None
        total = s.get(PersonPeriodTotal, (person.id, period))
        value = 0.0 if total is None else float(total.cost_usd)
    engine.dispose()
    return value


def test_a_second_import_says_what_it_replaced_and_add_sums(org, tmp_path):
    (tmp_path / "one.csv").write_text(HEADER + "2026-10-01,alice@example.com,openai,gpt-4o-mini,10,1,1.00\n")
    (tmp_path / "two.csv").write_text(HEADER + "2026-10-01,alice@example.com,openai,gpt-4o-mini,20,2,2.00\n")
    first = cli("usage", "import", "one.csv", db_url=org, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "1 lines → 1 usage rows (0 merged), 0 replaced from earlier imports ($0.00 → $0.00)" in first.stdout
    second = cli("usage", "import", "two.csv", db_url=org, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "1 replaced from earlier imports ($1.00 → $2.00)" in second.stdout
    assert spend_of(org, "alice@example.com") == pytest.approx(2.0)
    third = cli("usage", "import", "--add", "one.csv", db_url=org, cwd=tmp_path)
    assert third.returncode == 0, third.stderr
    assert "1 added to earlier imports ($2.00 → $3.00)" in third.stdout
    [(_, _, _, _, tokens, cost)] = rows(org)
    assert (tokens, cost) == (30, pytest.approx(3.0))
    assert spend_of(org, "alice@example.com") == pytest.approx(3.0)  # the roll-up follows the sum
    again = cli("usage", "import", "--replace", "one.csv", db_url=org, cwd=tmp_path)
    assert "1 replaced from earlier imports ($3.00 → $1.00)" in again.stdout
    assert rows(org)[0][4:] == (10, pytest.approx(1.0))


def test_merged_lines_are_counted_not_lost(org, tmp_path):
    alice = "alice@example.com"
    lines = [f"2026-10-{d:02d},{who},openai,gpt-4o-mini,10,1,0.5\n" for d in (1, 2) for who in [alice] * 3]
    lines.append("2026-10-01,bob@example.com,openai,gpt-4o-mini,10,1,0.5\n")
    (tmp_path / "u.csv").write_text(HEADER + "".join(lines))
    res = cli("usage", "import", "u.csv", db_url=org, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "7 lines → 3 usage rows (4 merged), 0 replaced" in res.stdout
    assert [r[4] for r in rows(org)] == [30, 10, 30]


def test_unknown_people_are_listed_once_each_and_nothing_is_written(org, tmp_path):
    body = "".join(
        f"2026-10-{d:02d},{who},openai,gpt-4o-mini,10,1,0.5\n"
        for d in range(1, 29)
        for who in ("alice@example.com", "ghost@example.com", "U0NOBODY")
    )
    (tmp_path / "u.csv").write_text(HEADER + body)
    res = cli("usage", "import", "u.csv", db_url=org, cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.count("unknown person") == 2, res.stderr  # once each, not 56 lines
    assert "u.csv:3: unknown person 'ghost@example.com' (28 line(s))" in res.stderr
    assert "u.csv:4: unknown person 'U0NOBODY' (28 line(s))" in res.stderr
    assert "--on-unknown skip|unattributed" in res.stderr
    assert "nothing from that file was written" in res.stderr
    assert rows(org) == []


def test_on_unknown_skip_and_unattributed(org, tmp_path):
    (tmp_path / "u.csv").write_text(
        HEADER
        + "2026-10-01,alice@example.com,openai,gpt-4o-mini,10,1,1\n"
        + "2026-10-01,Ghost@example.com,openai,gpt-4o-mini,10,1,2\n"
        + "2026-10-02,ghost@example.com,openai,gpt-4o-mini,10,1,4\n"
    )
    skip = cli("usage", "import", "--on-unknown", "skip", "u.csv", db_url=org, cwd=tmp_path)
    assert skip.returncode == 0, skip.stderr
    assert "3 lines → 1 usage rows (0 merged)" in skip.stdout
    assert "skipped 2 lines of 1 unknown people: ghost@example.com" in skip.stdout
    [(day, _, person_id, _, _, cost)] = rows(org)
    assert (day, person_id is not None, cost) == ("2026-10-01", True, pytest.approx(1.0))
    kept = cli("usage", "import", "--on-unknown", "unattributed", "u.csv", db_url=org, cwd=tmp_path)
    assert kept.returncode == 0, kept.stderr
    assert "3 lines → 3 usage rows (0 merged), 1 replaced" in kept.stdout
    assert "2 rows of unknown people kept as unattributed spend" in kept.stdout
    ghost = [r for r in rows(org) if r[2] is None]
    assert [(r[0], r[1], r[5]) for r in ghost] == [
        ("2026-10-01", "ghost@example.com", pytest.approx(2.0)),
        ("2026-10-02", "ghost@example.com", pytest.approx(4.0)),
    ]


def test_config_identities_apply_to_csv_rows(org, tmp_path):
    config = tmp_path / "org.yaml"
    config.write_text("identities:\n  alice@personal.example: alice@example.com\n  svc-build: U0BOB\n")
    f.usage_csv(
        tmp_path / "u.csv",
        "2026-10-01,Alice@Personal.example,,openai,gpt-4o-mini,10,1,1",
        "2026-10-01,,svc-build,openai,gpt-4o-mini,10,1,2",
        "2026-10-01,alice@example.com,,openai,gpt-4o-mini,5,1,4",
    )
    without = cli("usage", "import", "u.csv", db_url=org, cwd=tmp_path)
    assert without.returncode == 2 and "unknown person 'alice@personal.example'" in without.stderr
    res = cli("usage", "import", "u.csv", db_url=org, cwd=tmp_path, config=config)
    assert res.returncode == 0, res.stderr
    assert "3 lines → 2 usage rows (1 merged)" in res.stdout  # both of Alice's lines are one row
    assert spend_of(org, "alice@example.com") == pytest.approx(5.0)
    assert spend_of(org, "bob@example.com") == pytest.approx(2.0)


LINE = "2026-10-01,alice@example.com,openai,gpt-4o-mini,{}"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("2026-W49-2,alice@example.com,openai,gpt-4o-mini,1,1,1", "date '2026-W49-2' is not a date"),
        ("20261201,alice@example.com,openai,gpt-4o-mini,1,1,1", "date '20261201' is not a date"),
        ("2026-10-01,alice@example.com,openai,gpt-4o-mini,1_000,1,1", "input_tokens '1_000' is not a whole number"),
        (LINE.format("1,\u0661\u0662,1"), "output_tokens '١٢' is not a whole number"),
        ("2026-10-01,alice@example.com,openai,gpt-4o-mini,1,1,nan", "cost_usd 'nan' is not a number"),
        ("2026-10-01,alice@example.com,openai,gpt-4o-mini,1,1,inf", "cost_usd 'inf' is not a number"),
        ("2026-10-01,alice@example.com,openai,gpt-4o-mini,1,1,1e3", "cost_usd '1e3' is not a number"),
        ("2026-10-01,alice@example.com,openai,gpt-4o-mini,1,1,1_0", "cost_usd '1_0' is not a number"),
        ("2026-10-01,alice@example.com,openai,gpt-4o-mini,-7,1,1", "input_tokens must not be negative"),
        ("2026-10-01,alice@example.com,openai,gpt-4o-mini,+7,1,1", "input_tokens '+7' is not a whole number"),
        ("\u0662\u0660\u0662\u0666" + LINE.format("1,1,1")[4:], "date '٢٠٢٦-10-01' is not a date"),
    ],
)
def test_strict_csv_names_file_and_line_exit_2_nothing_written(org, tmp_path, line, problem):
    good = "2026-10-02,bob@example.com,openai,gpt-4o-mini,1,1,1\n"
    (tmp_path / "u.csv").write_text(HEADER + good + line + "\n" + good.replace("-02,", "-03,"), encoding="utf-8")
    res = cli("usage", "import", "u.csv", db_url=org, cwd=tmp_path)
    assert res.returncode == 2, res.stdout + res.stderr
    assert f"error: u.csv:3: {problem}" in res.stderr
    assert rows(org) == []


def rollup_state(db_url: str, period: str = "2026-10") -> tuple[object, int, object]:
    """(rollup_period weights key, dirty marks, model_rollup_period current) of ``period``."""
    from sqlalchemy import text

    engine = make_engine(db_url)
    with session_scope(engine) as s:
        key = s.execute(text("SELECT weights_key FROM rollup_period WHERE period = :p"), {"p": period}).scalar()
        marks = s.execute(text("SELECT COUNT(*) FROM rollup_dirty WHERE period = :p"), {"p": period}).scalar()
        models = s.execute(text("SELECT current FROM model_rollup_period WHERE period = :p"), {"p": period}).scalar()
    engine.dispose()
    return key, int(marks or 0), models


def test_the_import_leaves_the_roll_ups_it_touched_current(org, tmp_path):
    """The first board after an import reads roll-ups as they are: nothing marked, nothing stale."""
    from bot.boards.rollups import weights_key
    from bot.config import OrgConfig, weights_of

    (tmp_path / "u.csv").write_text(
        HEADER
        + "2026-10-01,alice@example.com,openai,gpt-4o-mini,10,1,1\n"
        + "2026-10-02,bob@example.com,openai,gpt-4.1,10,1,2\n"
    )
    res = cli("usage", "import", "u.csv", db_url=org, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    key, marks, models = rollup_state(org)
    assert (key, marks, bool(models)) == (weights_key(weights_of(OrgConfig())), 0, True)


def test_a_big_import_refreshes_what_it_marked_stale(org, tmp_path, monkeypatch):
    """Past FULL_REFRESH_ABOVE people an import only marks its periods stale; the refresh it is given
    (the CLI's: the boards' ensure_fresh) recomputes them before it returns, per-model roll-ups included."""
    from bot import freshness
    from bot.boards.rollups import ensure_fresh, weights_key
    from bot.config import OrgConfig, weights_of
    from bot.spend.usage import import_usage_csv

    monkeypatch.setattr(freshness, "FULL_REFRESH_ABOVE", 1)  # two people count as a big import
    w = weights_of(OrgConfig())
    (tmp_path / "u.csv").write_text(
        HEADER
        + "2026-10-01,alice@example.com,openai,gpt-4o-mini,10,1,1\n"
        + "2026-11-02,bob@example.com,openai,gpt-4.1,10,1,2\n"
        + "2026-10-03,bob@example.com,openai,gpt-4.1,10,1,2\n"
    )
    engine = make_engine(org)
    res = import_usage_csv(engine, tmp_path / "u.csv", refresh=lambda s, p: ensure_fresh(s, p, w))
    engine.dispose()
    assert res.periods == {"2026-10", "2026-11"}
    for period in ("2026-10", "2026-11"):
        key, marks, models = rollup_state(org, period)
        assert (key, marks, bool(models)) == (weights_key(w), 0, True)
    assert spend_of(org, "bob@example.com") == pytest.approx(2.0)
    assert spend_of(org, "bob@example.com", "2026-11") == pytest.approx(2.0)
