"""Migration 0004 recomputes the stored normalised links with the one canonical form."""

from __future__ import annotations

from sqlalchemy import text

from bot.db import make_engine, upgrade


def test_stored_links_are_recomputed(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO person (id, name, is_active, is_guest, forgotten, created_at, updated_at) "
                "VALUES (1, 'Ada', 1, 0, 0, '2026-10-01', '2026-10-01')"
            )
        )
        # Stored before: the old form kept a pull request's tab, and one artifact had two forms of one link.
        conn.execute(
            text(
                "INSERT INTO artifact (id, person_id, period, title, kind, status, source, primary_url, created_at, "
                "updated_at, removed) VALUES (1, 1, '2026-10', 'PR', 'other', 'kept', 'dm', "
                "'https://github.com/acme/app/pull/17/files', '2026-10-01', '2026-10-01', 0)"
            )
        )
        for i, (url, norm) in enumerate(
            [
                ("https://github.com/acme/app/pull/17/files", "https://github.com/acme/app/pull/17/files"),
                ("https://github.com/Acme/app/pull/17", "https://github.com/Acme/app/pull/17"),
                ("https://docs.google.com/document/d/1X/edit", "https://docs.google.com/document/d/1X/edit"),
            ]
        ):
            conn.execute(
                text("INSERT INTO artifact_link (artifact_id, position, url, normalized_url) VALUES (1, :i, :u, :n)"),
                {"i": i, "u": url, "n": norm},
            )
        conn.execute(
            text(
                "INSERT INTO rollup_period (period, weights_key, computed_at, generation) "
                "VALUES ('2026-10', 'old', '2026-10-01', 0)"
            )
        )
    upgrade(engine)
    with engine.connect() as conn:
        primary = conn.execute(text("SELECT primary_url FROM artifact WHERE id = 1")).scalar_one()
        links = conn.execute(text("SELECT url, normalized_url FROM artifact_link ORDER BY position")).all()
        key = conn.execute(text("SELECT weights_key FROM rollup_period")).scalar_one()
    assert primary == "https://github.com/acme/app/pull/17"
    assert links == [
        ("https://github.com/acme/app/pull/17/files", "https://github.com/acme/app/pull/17"),  # shown as written
        ("https://docs.google.com/document/d/1X/edit", "https://docs.google.com/document/d/1X"),
    ]
    assert key == ""  # stale: recomputed on the next read
    engine.dispose()
