# Benchmarks (see BENCHMARKS.md). Run with the project's virtualenv active, or pass PYTHON=/path/to/venv/bin/python.
# PostgreSQL: BENCH_PG_ADMIN is a URL allowed to CREATE/DROP DATABASE; bench_* databases are made and dropped.
PYTHON ?= python
BENCH_DIR ?= /tmp/artifact-bot-bench
BENCH_PG_ADMIN ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
BENCH_DB ?= sqlite,postgresql
SERVE_WORKERS ?= 1

.PHONY: bench bench-quick bench-startup

bench:  ## headline size: 100k people, 1k teams, 10M usage rows, 200k artifacts, on SQLite and PostgreSQL
	$(PYTHON) -m benchmarks.run_all --size headline --db $(BENCH_DB) --workdir $(BENCH_DIR) --pg-admin $(BENCH_PG_ADMIN) --serve-workers $(SERVE_WORKERS)

bench-quick:  ## small size, under a minute: checks that every benchmark runs
	$(PYTHON) -m benchmarks.run_all --size quick --db $(BENCH_DB) --workdir $(BENCH_DIR) --pg-admin $(BENCH_PG_ADMIN) --serve-workers $(SERVE_WORKERS)

bench-startup:  ## CLI start-up against `python -c "import sqlmodel"`: median of 7, exits 1 when a target is missed
	$(PYTHON) -m benchmarks.startup
