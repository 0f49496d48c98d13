"""one artifact per person, period and canonical link: a unique index (live artifacts only)

Concurrent replies carrying the same link each passed the "already logged?" check before either
wrote, so one link could be stored several times. Existing duplicates are marked removed (the
earliest stays), then the index makes the database refuse a second one.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE artifact SET removed = :yes WHERE removed = :no AND EXISTS ("
            " SELECT 1 FROM artifact first WHERE first.person_id = artifact.person_id"
            " AND first.period = artifact.period AND first.primary_url = artifact.primary_url"
            " AND first.removed = :no AND first.id < artifact.id)"
        ).bindparams(yes=True, no=False)
    )
    op.create_index(
        "uq_artifact_person_period_url",
        "artifact",
        ["person_id", "period", "primary_url"],
        unique=True,
        sqlite_where=sa.text("removed = 0"),
        postgresql_where=sa.text("NOT removed"),
    )


def downgrade() -> None:
    op.drop_index("uq_artifact_person_period_url", table_name="artifact")
