"""roll-up marks carry versions: refreshes running beside writers never clear a newer mark

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("rollup_dirty", sa.Column("version", sa.Integer(), server_default="0", nullable=False))
    op.add_column("rollup_period", sa.Column("generation", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("rollup_period") as batch_op:
        batch_op.drop_column("generation")
    with op.batch_alter_table("rollup_dirty") as batch_op:
        batch_op.drop_column("version")
