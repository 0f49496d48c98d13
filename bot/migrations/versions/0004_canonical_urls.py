"""canonical URLs: recompute stored normalised links with the one canonical form; index URL then period

The meaning of ``artifact.primary_url`` and ``artifact_link.normalized_url`` changed: known hosts'
sub-pages (a pull request's tabs, a Google Doc's /edit, a Notion slug...) and more tracking
parameters now collapse to one form. Stored values are recomputed here from the links as people
wrote them (``artifact_link.url``), so old and new artifacts compare alike. The new index serves
the carry-over rule (was this URL claimed in an earlier period?). Roll-ups are marked stale.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from bot.artifacts.links import canonical_url

    with op.batch_alter_table("artifact", schema=None) as batch_op:
        batch_op.create_index("ix_artifact_url_period", ["primary_url", "period"], unique=False)

    bind = op.get_bind()
    links = bind.execute(
        sa.text("SELECT id, artifact_id, url, normalized_url FROM artifact_link ORDER BY artifact_id, position, id")
    ).all()
    first: dict[int, str] = {}
    seen: set[tuple[int, str]] = set()
    for link_id, artifact_id, url, normalized in links:
        canon = canonical_url(url)
        first.setdefault(artifact_id, canon)
        if (artifact_id, canon) in seen:
            # Two links of one artifact that are now the same link: keep the first.
            bind.execute(sa.text("DELETE FROM artifact_link WHERE id = :id"), {"id": link_id})
            continue
        seen.add((artifact_id, canon))
        if canon != normalized:
            bind.execute(
                sa.text("UPDATE artifact_link SET normalized_url = :u WHERE id = :id"), {"u": canon, "id": link_id}
            )
    for artifact_id, primary in bind.execute(sa.text("SELECT id, primary_url FROM artifact")).all():
        canon = first.get(artifact_id) or canonical_url(primary)
        if canon != primary:
            bind.execute(
                sa.text("UPDATE artifact SET primary_url = :u WHERE id = :id"), {"u": canon, "id": artifact_id}
            )
    # Every period's counted artifacts may change: recomputed on the next read.
    bind.execute(sa.text("UPDATE rollup_period SET weights_key = '', generation = generation + 1"))


def downgrade() -> None:
    with op.batch_alter_table("artifact", schema=None) as batch_op:
        batch_op.drop_index("ix_artifact_url_period")
