"""contacts: privacy rights of contacts — restriction and objection on the contact, the erasure record and its
remote deletions, the sheet ranges a lead sync wrote (so erasure can clear it), and the contact of each message
(whose data key encrypts it: crypto-shredding)

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("restricted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("objected_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_id", sa.String(length=40), nullable=True))
    with op.batch_alter_table("lead_syncs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remote_refs", sa.JSON(), nullable=True))
    op.create_table(
        "contact_erasures",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("removed", sa.JSON(), nullable=False),
        sa.Column("not_removed", sa.JSON(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("contact_erasures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_erasures_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_erasures_org_id"), ["org_id"], unique=False)
    op.create_table(
        "erasure_tasks",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("erasure_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("integration_id", sa.String(length=40), nullable=True),
        sa.Column("ref", sa.String(length=1000), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["erasure_id"], ["contact_erasures.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["integration_id"], ["integrations.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("erasure_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_erasure_tasks_state_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_erasure_tasks_erasure_id"), ["erasure_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_erasure_tasks_integration_id"), ["integration_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_erasure_tasks_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("erasure_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasure_tasks_org_id"))
        batch_op.drop_index(batch_op.f("ix_erasure_tasks_integration_id"))
        batch_op.drop_index(batch_op.f("ix_erasure_tasks_erasure_id"))
        batch_op.drop_index("ix_erasure_tasks_state_due")
    op.drop_table("erasure_tasks")
    with op.batch_alter_table("contact_erasures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_erasures_org_id"))
        batch_op.drop_index(batch_op.f("ix_contact_erasures_contact_id"))
    op.drop_table("contact_erasures")
    with op.batch_alter_table("lead_syncs", schema=None) as batch_op:
        batch_op.drop_column("remote_refs")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("contact_id")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("objected_at")
        batch_op.drop_column("restricted_at")
