"""leads leave JasPing: keyed hashes of a lead's email and phone (one lead per person and agent), the lead's
last update, and the lead_syncs table (each lead's state with each sink)

Revision ID: 0012
Revises: 0011

Leads saved before this revision have no hashes: a returning customer matches only leads saved from now on.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("phone_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_leads_email_hash"), ["email_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_leads_phone_hash"), ["phone_hash"], unique=False)

    op.create_table(
        "lead_syncs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("lead_id", sa.String(length=40), nullable=False),
        sa.Column("integration_id", sa.String(length=40), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["integration_id"], ["integrations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lead_id", "integration_id", name="uq_lead_syncs_lead_integration"),
    )
    with op.batch_alter_table("lead_syncs", schema=None) as batch_op:
        batch_op.create_index("ix_lead_syncs_state_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_syncs_integration_id"), ["integration_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_syncs_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_syncs_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lead_syncs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_syncs_org_id"))
        batch_op.drop_index(batch_op.f("ix_lead_syncs_lead_id"))
        batch_op.drop_index(batch_op.f("ix_lead_syncs_integration_id"))
        batch_op.drop_index("ix_lead_syncs_state_due")
    op.drop_table("lead_syncs")

    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leads_phone_hash"))
        batch_op.drop_index(batch_op.f("ix_leads_email_hash"))
        batch_op.drop_column("updated_at")
        batch_op.drop_column("phone_hash")
        batch_op.drop_column("email_hash")
