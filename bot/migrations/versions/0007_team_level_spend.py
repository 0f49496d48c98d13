"""team-level spend: usage rows the config assigns to a team (no person), and their per-team roll-up

``usage_row.team_id`` is set at import/sync time for rows whose identity maps to a team and to no
person; ``team_level_total`` keeps their per-(team, period) sums, as ``person_period_total`` does for
people. Existing rows keep no team until their days are synced or imported again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain nullable column (no foreign key): SQLite adds it without rebuilding the table; rows of a
    # team that was removed since are read as unattributed (queries join the team table).
    op.add_column("usage_row", sa.Column("team_id", sa.Integer(), nullable=True))
    op.create_index("ix_usage_team_period", "usage_row", ["team_id", "period"])
    op.create_table(
        "team_level_total",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("usage_rows", sa.Integer(), nullable=False),
        sa.Column("unpriced_rows", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("team_id", "period"),
    )


def downgrade() -> None:
    op.drop_table("team_level_total")
    op.drop_index("ix_usage_team_period", table_name="usage_row")
    with op.batch_alter_table("usage_row") as batch:
        batch.drop_column("team_id")
