"""analytics: daily roll-up (conversations, handoffs; replies, declines, reply-time histogram) and its indexes

Revision ID: 0026
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def _keyed(name: str, *columns: sa.Column, key: tuple[str, ...]) -> None:
    op.create_table(
        name,
        *columns,
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(*key),
    )
    with op.batch_alter_table(name) as batch:
        batch.create_index(f"ix_{name}_org_id", ["org_id"])


def _agent() -> list[sa.Column]:
    return [
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.String(length=40), sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
    ]


def upgrade() -> None:
    _keyed(
        "analytics_days",
        *_agent(),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.Column("handoffs", sa.Integer(), nullable=False),
        key=("org_id", "day", "agent_id", "channel"),
    )
    _keyed(
        "analytics_reply_times",
        *_agent(),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.Column("declines", sa.Integer(), nullable=False),
        sa.Column("histogram", sa.JSON(), nullable=False),
        key=("org_id", "day", "agent_id", "channel"),
    )
    for name in ("analytics_days", "analytics_reply_times"):
        with op.batch_alter_table(name) as batch:
            batch.create_index(f"ix_{name}_agent_id", ["agent_id"])
    _keyed(
        "analytics_rollups",
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        key=("org_id",),
    )
    with op.batch_alter_table("conversations") as batch:
        batch.create_index("ix_conversations_org_created", ["org_id", "created_at"])
        batch.create_index("ix_conversations_org_resolution", ["org_id", "resolution", "created_at"])
    with op.batch_alter_table("messages") as batch:
        batch.create_index("ix_messages_org_role_created", ["org_id", "role", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_org_role_created")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index("ix_conversations_org_resolution")
        batch.drop_index("ix_conversations_org_created")
    for name in ("analytics_rollups", "analytics_reply_times", "analytics_days"):
        op.drop_table(name)
