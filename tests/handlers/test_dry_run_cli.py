"""Issue 16, case 3: ``jobs run … --dry-run`` previews who would receive what; ``people forget`` asks first."""

from __future__ import annotations

import json
import shutil

from tests.handlers.conftest import running_bot


def test_dry_run_previews_and_forget_asks(sqlite_template, tmp_path) -> None:
    shutil.copy(sqlite_template, tmp_path / "p.db")
    with running_bot(f"sqlite:///{tmp_path / 'p.db'}", tmp_path) as bot:
        assert bot.cli("people", "sync").returncode == 0
        res = bot.cli("jobs", "run", "checkin", "--period", "2026-11", "--dry-run", "--out", "preview")
        assert res.returncode == 0, res.stderr
        said = res.stdout + res.stderr
        assert "would send 6 messages to 6 recipients; nothing sent, nothing marked" in said
        files = sorted((bot.cwd / "preview").glob("*.json"))
        assert len(files) == 5 and "reply by Monday 7 December" in json.loads(files[0].read_text())["text"]
        assert bot.emu.call_count("chat.postMessage") == 0
        res = bot.cli("jobs", "run", "weekly-summary", "--dry-run", "--out", "weekly")
        assert res.returncode == 0 and "(dry run)" in res.stdout + res.stderr
        assert bot.emu.call_count("chat.postMessage") == 0
        previews = [json.loads(f.read_text()) for f in sorted((bot.cwd / "weekly").glob("*.json"))]
        head = next(p for p in previews if p["kind"] == "summary")
        thread = next(p for p in previews if p["kind"] == "summary_thread")
        assert "thread_of" not in head and thread["thread_of"].startswith("summary:")  # details go in its thread
        # The real run afterwards sends all six: the preview marked nobody as asked.
        assert bot.cli("jobs", "run", "checkin", "--period", "2026-11").returncode == 0
        assert bot.emu.call_count("chat.postMessage") == 6

        res = bot.cli("people", "forget", "U0BOB")  # no terminal to answer, no --yes: refused
        assert res.returncode == 2 and "--yes" in res.stdout + res.stderr
        export = bot.cli("people", "export", "U0BOB")
        assert export.returncode == 0 and "bob@example.com" in export.stdout  # still there
        assert bot.cli("people", "forget", "U0BOB", "--yes").returncode == 0
