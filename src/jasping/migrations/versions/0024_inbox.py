"""inbox: a conversation's assignee, resolution label, and when the team was told a customer asked for a person

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("assignee_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("resolution", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("human_notified_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_conversations_assignee_id", ["assignee_id"])


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index("ix_conversations_assignee_id")
        batch.drop_column("human_notified_at")
        batch.drop_column("resolution")
        batch.drop_column("assignee_id")
