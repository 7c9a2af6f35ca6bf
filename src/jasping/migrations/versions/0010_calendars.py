"""appointments: email, time zone, external calendar and its sync state, reminder

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("tz", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("calendar_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("external_id", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("sync_state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("sync_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("sync_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch_op.add_column(sa.Column("sync_next_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            "fk_appointments_calendar_id_integrations", "integrations", ["calendar_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index(batch_op.f("ix_appointments_calendar_id"), ["calendar_id"], unique=False)
        batch_op.create_index("ix_appointments_sync_state", ["sync_state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_sync_state")
        batch_op.drop_index(batch_op.f("ix_appointments_calendar_id"))
        batch_op.drop_constraint("fk_appointments_calendar_id_integrations", type_="foreignkey")
        for column in (
            "reminded_at",
            "sync_next_at",
            "sync_attempts",
            "sync_error",
            "sync_state",
            "external_id",
            "calendar_id",
        ):
            batch_op.drop_column(column)
        batch_op.drop_column("tz")
        batch_op.drop_column("email")
