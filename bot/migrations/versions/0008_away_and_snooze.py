"""away and snooze: a person's Slack status and "away until" date; a check-in's "remind me tomorrow"

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("status_text", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("away_until", sa.Date(), nullable=True))
    with op.batch_alter_table("checkin") as batch:
        batch.add_column(sa.Column("snoozed_until", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("checkin") as batch:
        batch.drop_column("snoozed_until")
    with op.batch_alter_table("person") as batch:
        batch.drop_column("away_until")
        batch.drop_column("status_text")
