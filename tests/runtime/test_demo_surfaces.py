"""``artifact-bot demo --out DIR`` writes every message type and an index.html that shows them all."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys


def test_demo_writes_every_surface_and_an_index(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "ANTHROPIC_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'unused.db'}"
    res = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--out", str(tmp_path / "out")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    out = tmp_path / "out"
    assert f"Open {out / 'index.html'}" in res.stdout  # the newcomer is pointed at the page
    assert re.search(r"Team leaderboard, [A-Z][a-z]+ 20\d\d: artifacts per \$100", res.stdout)  # not "2026-11"
    page = (out / "index.html").read_text()
    for surface in (
        "Month-end DM",
        "Reminder",
        "Answer to a reply with links",
        "Answer to a reply without a link",
        "Review queue",
        "Author notice (kept)",
        "Author notice (killed)",
        "App Home",
        "Leaderboard (final post)",
        "Artifact report",
        "Weekly summary",
        "Weekly summary thread",
    ):
        assert f"<h2>{surface}</h2>" in page, surface
    assert '<img src="home-chart.png"' in page and (out / "home-chart.png").read_bytes()[:4] == b"\x89PNG"
    assert "()" not in page  # before: the review queue read "• *Launch campaign* () <…>"
    assert not re.search(r">[^<]*\b20\d\d-\d\d\b[^<]*<", page)  # months read "November 2026" in the text
    assert "show me the artifact" in page and "reply by" in page and '<img src="weekly-summary.png"' in page
    files = sorted((out / "surfaces").glob("*.json"))
    assert len(files) == 12
    assert all("text" in json.loads(f.read_text()) for f in files)
    head = json.loads((out / "weekly-summary.json").read_text())
    thread = json.loads((out / "weekly-summary-thread.json").read_text())
    assert "Top teams" in json.dumps(head["blocks"]) and "New artifacts this week" not in json.dumps(head["blocks"])
    assert "New artifacts this week" in json.dumps(thread["blocks"])
    final = json.dumps(json.loads((out / "leaderboard.json").read_text())["blocks"])
    assert "Top team:" in final and "logged no artifact" not in final  # the final post carries its narrative
