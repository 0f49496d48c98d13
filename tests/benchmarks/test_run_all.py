"""The benchmark table shows only what this run measured: a failed benchmark says so and fails the run."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.run_all import _fresh, _result, table


def test_a_result_file_left_by_an_earlier_run_is_never_read(tmp_path: Path) -> None:
    stale = tmp_path / "serve-sqlite.json"
    stale.write_text(json.dumps({"patterns": {"sustained": {"http_200": {"p99_ms": 12.0}}}}))
    path = _fresh(stale)
    assert not path.exists()  # removed before the benchmark runs
    stale.write_text("{}")  # even if something wrote it, a failed process's file is not read
    out: dict = {"db": "sqlite"}
    assert _result(path, {"returncode": 1}, "serve", out) is None
    assert out["failed"] == ["serve"]
    assert _result(path, {"returncode": 0}, "serve", out) == {}


def test_the_table_marks_a_failed_benchmark_instead_of_showing_figures() -> None:
    results = {
        "databases": {
            "sqlite": {
                "db": "sqlite",
                "failed": ["serve"],
                "queries": None,
                "import": {"bare": {"rows_per_s": 100}, "import": {"rows_per_s": 60, "first_board_after_s": 0.2},
                           "ratio": 0.6, "same_rows": True},
            }
        }
    }
    md = table(results)
    serve_rows = [line for line in md.splitlines() if line.startswith("| 3 |")]
    assert serve_rows and all("**failed**" in line for line in serve_rows)
    assert "| 4 | ratio import ÷ bare | ≥ 0.5 | **0.6** |" in md
