"""CLI manners, run as subprocesses the way people and scripts drive the command line (issue 19)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from bot.runtime.cli import EXAMPLES, _finish, build_parser, command_list, subcommand_parsers
from tests.factories import usage_csv
from tests.runtime.test_cli import CONFIG, cli

REPO = Path(__file__).resolve().parents[2]
LONG_TEAM = "Platform Reliability and Developer Experience Engineering Group North"


def leaf_commands() -> list[str]:
    return [
        path
        for path, sub in subcommand_parsers(_finish(build_parser())).items()
        if path and not any(a.__class__.__name__ == "_SubParsersAction" for a in sub._actions)
    ]


def test_version(tmp_path):
    res = cli("--version", db_url="sqlite:///unused.db", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert re.fullmatch(r"artifact-bot \d+\.\d+\.\d+\S*\n", res.stdout)


def test_every_command_has_an_example_and_shows_its_defaults(tmp_path):
    assert set(leaf_commands()) <= set(EXAMPLES), "add an example for each new command to EXAMPLES"
    res = cli("leaderboard", "--help", db_url="sqlite:///unused.db", cwd=tmp_path)
    assert res.returncode == 0
    text = " ".join(res.stdout.split())
    assert "(default: team)" in text and "(default: table)" in text
    assert "example: artifact-bot leaderboard" in text
    top = cli("--help", db_url="sqlite:///unused.db", cwd=tmp_path).stdout
    assert "ARTIFACT_BOT_CONFIG" in top and "exit codes: 0 done, 1 failed, 2 bad input" in top
    assert "people  people\n" not in top.replace("    ", " ")


def test_readme_command_list_matches_the_parser():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Command line\n\n```\n", 1)[1].split("```", 1)[0].strip()
    assert block == command_list(), "README's command list is stale: print command_list() and paste it"


def test_global_flags_go_anywhere_and_config_flag_is_used(db_url, tmp_path):
    (tmp_path / "artifact-bot.yaml").write_text(CONFIG)
    (tmp_path / "org.yaml").write_text(CONFIG.replace("timezone: UTC", "timezone: Europe/Paris"))
    # -v after the subcommand: the INFO line about the default config file shows, as with -v first.
    quiet = cli("config", "check", db_url=db_url, cwd=tmp_path)
    after = cli("config", "check", "-v", db_url=db_url, cwd=tmp_path)
    before = cli("-v", "config", "check", db_url=db_url, cwd=tmp_path)
    assert quiet.returncode == after.returncode == before.returncode == 0, after.stderr
    assert "ARTIFACT_BOT_CONFIG is not set" not in quiet.stderr
    assert "ARTIFACT_BOT_CONFIG is not set" in after.stderr and "ARTIFACT_BOT_CONFIG is not set" in before.stderr
    # --config after the subcommand wins over ./artifact-bot.yaml.
    res = cli("config", "check", "--config", "org.yaml", db_url=db_url, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "timezone: Europe/Paris" in res.stdout
    missing = cli("leaderboard", "--config", "nope.yaml", db_url=db_url, cwd=tmp_path)
    assert missing.returncode == 2 and "nope.yaml" in missing.stderr


def test_default_config_file_in_the_working_directory(db_url, tmp_path):
    res = cli("config", "check", db_url=db_url, cwd=tmp_path)
    assert res.returncode == 2 and "ARTIFACT_BOT_CONFIG" in res.stderr
    (tmp_path / "artifact-bot.yaml").write_text(CONFIG)
    res = cli("config", "check", db_url=db_url, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "artifact-bot.yaml: valid" in res.stdout


def test_config_check_says_what_the_bot_will_do(db_url, tmp_path):
    (tmp_path / "org.yaml").write_text(
        "timezone: America/New_York\nadmins: [U0ADMIN]\nsummary_channel: C0SUM\n"
        + CONFIG.split("\n", 1)[1].replace("timezone: UTC\n", "")
    )
    assert cli("db", "upgrade", db_url=db_url, cwd=tmp_path).returncode == 0
    res = cli("config", "check", "org.yaml", db_url=db_url, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "timezone: America/New_York" in out and "admins: U0ADMIN" in out
    assert "summary -> C0SUM" in out
    assert "Growth: 2 member(s), 1 manager(s), budget $500.00" in out and "Infra: 1 member(s)" in out
    assert "unknown people (5)" in out and "alice@example.com" in out  # nobody synced from Slack yet
    (tmp_path / "bad.yaml").write_text("timezone: Mars/Base\n")
    bad = cli("config", "check", "bad.yaml", db_url=db_url, cwd=tmp_path)
    assert bad.returncode == 2 and "bad.yaml:1: timezone" in bad.stderr


def test_teams_import_names_the_keys_it_ignored_and_teams_list(db_url, tmp_path):
    (tmp_path / "org.yaml").write_text("admins: [U0ADMIN]\nsummary_channel: C0SUM\n" + CONFIG)
    res = cli("teams", "import", "org.yaml", db_url=db_url, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "ignored from org.yaml: admins, summary_channel, timezone, spend_floor_usd" in res.stdout
    assert "ARTIFACT_BOT_CONFIG, which is not set" in res.stdout
    # The file in force as ARTIFACT_BOT_CONFIG: nothing to say.
    again = cli(
        "teams", "import", "org.yaml", db_url=db_url, cwd=tmp_path,
        env={"ARTIFACT_BOT_CONFIG": str(tmp_path / "org.yaml")},
    )
    assert again.returncode == 0 and "ignored" not in again.stdout
    listed = cli("teams", "list", "--format", "json", db_url=db_url, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == [
        {"name": "Growth", "members": 2, "managers": ["U0CAROL"], "channel": None, "monthly_budget_usd": 500.0},
        {"name": "Infra", "members": 1, "managers": [], "channel": None, "monthly_budget_usd": None},
    ]


@pytest.mark.parametrize("no_color", ["", "1"])
def test_piped_tables_are_full_width_without_colour(db_url, tmp_path, no_color):
    (tmp_path / "org.yaml").write_text(CONFIG.replace("name: Infra", f"name: {LONG_TEAM}"))
    assert cli("teams", "import", "org.yaml", db_url=db_url, cwd=tmp_path).returncode == 0
    usage_csv(tmp_path / "usage.csv", "2026-10-03,carol@example.com,,openai,gpt-4o-mini,100,10,12553.75")
    assert cli("usage", "import", "usage.csv", db_url=db_url, cwd=tmp_path).returncode == 0
    env = {"NO_COLOR": no_color, "COLUMNS": "80"} if no_color else {"COLUMNS": "80"}
    res = cli("leaderboard", "--period", "2026-10", db_url=db_url, cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    assert LONG_TEAM in res.stdout and "$12,553.75" in res.stdout  # not cut at 80 columns
    assert "\x1b[" not in res.stdout


@pytest.mark.serial
@pytest.mark.slow
@pytest.mark.parametrize("serve_args", [(), ("--workers", "2")], ids=["one-process", "workers"])
def test_serve_starts_without_third_party_warnings_and_says_listening_at_info(db_url, tmp_path, serve_args):
    from tests.handlers.conftest import running_bot

    with running_bot(db_url, tmp_path, serve_args=serve_args) as bot:
        time.sleep(3)  # the work processes start after the first health check answers
        assert bot.log_path is not None
        log = bot.log_path.read_text()
    assert re.search(r" INFO bot\.runtime\.server: artifact-bot listening on ", log), log
    warnings = [line for line in log.splitlines() if " WARNING " in line or " ERROR " in line]
    if serve_args:
        # gunicorn's workers: waitress may note its queue while the first requests meet a worker that
        # is still starting; that is load, said at its own level. Nothing from Bolt, no error.
        warnings = [line for line in warnings if "waitress.queue: Task queue depth" not in line]
    assert warnings == [], log


def test_usage_sync_and_the_usage_sync_job_agree_on_missing_keys(db_url, tmp_path):
    keys = ("OPENAI_ADMIN_KEY", "ANTHROPIC_ADMIN_KEY", "CURSOR_ADMIN_KEY", "GITHUB_TOKEN", "GITHUB_ORG")
    env = dict.fromkeys(keys, "")
    command = cli("usage", "sync", db_url=db_url, cwd=tmp_path, env=env)
    job = cli("jobs", "run", "usage-sync", db_url=db_url, cwd=tmp_path, env=env)
    assert command.returncode == job.returncode == 2, (command.stderr, job.stderr)
    assert job.stderr.startswith("error: usage-sync is not enabled")


def test_jobs_run_piped_prints_no_progress_bar(db_url, tmp_path):
    from testing.slack_emulator import SlackEmulator

    with SlackEmulator() as emu:
        env = {"SLACK_API_URL": emu.base_url, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s"}
        res = cli("jobs", "run", "reminders", "--period", "2026-10", db_url=db_url, cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    assert "reminders 2026-10:" in res.stdout
    assert not any(mark in res.stdout + res.stderr for mark in ("━", "⠋", "\x1b["))


def test_teams_remove_takes_a_team_off_the_board_and_keeps_its_history(db_url, tmp_path):
    import datetime as dt

    from bot.checkins.closing import freeze
    from bot.config import OrgConfig
    from bot.db import make_engine

    (tmp_path / "org.yaml").write_text(CONFIG)
    assert cli("teams", "import", "org.yaml", db_url=db_url, cwd=tmp_path).returncode == 0
    usage_csv(
        tmp_path / "usage.csv",
        "2026-10-03,carol@example.com,,openai,gpt-4o-mini,100,10,40",
        "2026-11-03,carol@example.com,,openai,gpt-4o-mini,100,10,40",
        "2026-11-03,alice@example.com,,openai,gpt-4o-mini,100,10,40",
    )
    assert cli("usage", "import", "usage.csv", db_url=db_url, cwd=tmp_path).returncode == 0
    engine = make_engine(db_url)
    freeze(engine, OrgConfig(), "2026-10", dt.datetime(2026, 11, 8, tzinfo=dt.UTC))
    engine.dispose()

    def board(period: str) -> set[str]:
        res = cli("leaderboard", "--period", period, "--format", "json", db_url=db_url, cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        return {r["name"] for r in json.loads(res.stdout)}

    assert "Infra" in board("2026-11")
    # Listed in the config in force: it would come back at the next start, so nothing happens.
    refused = cli("teams", "remove", "infra", db_url=db_url, cwd=tmp_path,
                  env={"ARTIFACT_BOT_CONFIG": str(tmp_path / "org.yaml")})
    assert refused.returncode == 2 and "remove it there first" in refused.stderr
    assert "Infra" in board("2026-11")

    res = cli("teams", "remove", "infra", db_url=db_url, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "team Infra removed from the board (1 member(s), 0 manager(s))" in res.stdout
    assert "Infra" not in board("2026-11") and "Growth" in board("2026-11")
    assert "Infra" in board("2026-10")  # the closed month keeps its frozen board
    listed = cli("teams", "list", "--format", "json", db_url=db_url, cwd=tmp_path)
    names = [t["name"] for t in json.loads(listed.stdout)]
    assert names == ["Growth"]
    audit = json.loads(cli("audit", "--format", "json", db_url=db_url, cwd=tmp_path).stdout)
    removed = [e for e in audit if e["action"] == "team_removed"]
    assert len(removed) == 1 and removed[0]["detail"]["members"] == ["carol@example.com"]
    again = cli("teams", "remove", "Infra", db_url=db_url, cwd=tmp_path)
    assert again.returncode == 2 and "no team named 'Infra'" in again.stderr


def test_a_provider_that_fails_is_exit_1_not_2(db_url, tmp_path):
    import http.server
    import threading

    class Broken(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # every report answers with a shape the connector refuses
            body = b'{"data": "not a list", "has_more": false}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Broken)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {"ANTHROPIC_ADMIN_KEY": "sk-ant-admin-test", "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{server.server_port}"}
        res = cli("usage", "sync", "anthropic", "--since", "2026-10-01", db_url=db_url, cwd=tmp_path, env=env)
    finally:
        server.shutdown()
    assert res.returncode == 1, (res.stdout, res.stderr)
    assert "error: Anthropic" in res.stderr and "not a list" in res.stderr


def _on_a_terminal(args: list[str], *, db_url: str, cwd: Path, env: dict[str, str]) -> str:
    """Run the CLI with its standard output on a pseudo-terminal; what it wrote there."""
    import os
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "ARTIFACT_BOT_CONFIG", "FORCE_COLOR")}
    full_env.update(DATABASE_URL=db_url, TERM="xterm-256color", **env)
    proc = subprocess.Popen([sys.executable, "-m", "bot", *args], stdout=slave, stderr=subprocess.PIPE,
                            env=full_env, cwd=cwd)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    return b"".join(chunks).decode()


def test_colour_on_a_terminal_and_none_with_no_color(db_url, tmp_path):
    usage_csv(tmp_path / "a.csv", "2026-10-03,alice@example.com,,acme,acme-secret-model,100,10,")
    (tmp_path / "b.csv").write_text((tmp_path / "a.csv").read_text().replace("100,10", "200,20"))
    args = ["--on-unknown", "unattributed"]
    coloured = _on_a_terminal(["usage", "import", "a.csv", *args], db_url=db_url, cwd=tmp_path, env={})
    plain = _on_a_terminal(["usage", "import", "b.csv", *args], db_url=db_url, cwd=tmp_path, env={"NO_COLOR": "1"})
    assert "no cost" in coloured and "no cost" in plain
    assert "\x1b[33m" in coloured  # yellow on a terminal
    assert not re.search(r"\x1b\[(3[0-9]|9[0-7]|38;)", plain)  # NO_COLOR: no colour at all
