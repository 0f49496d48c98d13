"""workspaces: an org-wide install's workspaces, people's memberships, the outbox row's workspace, send paces

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workspace",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("synced_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("team_id"),
    )
    op.create_table(
        "person_workspace",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("home", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("person_id", "team_id"),
    )
    op.create_index("ix_person_workspace_team_id", "person_workspace", ["team_id"], unique=False)
    op.create_table(
        "send_pace",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("rate_per_second", sa.Float(), nullable=False),
        sa.Column("ceiling", sa.Float(), nullable=True),
        sa.Column("next_slot", sa.DateTime(), nullable=False),
        sa.Column("cut_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("team_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("team_id")
    op.drop_table("send_pace")
    op.drop_index("ix_person_workspace_team_id", table_name="person_workspace")
    op.drop_table("person_workspace")
    op.drop_table("workspace")
