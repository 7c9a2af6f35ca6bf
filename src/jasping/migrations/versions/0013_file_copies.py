"""files customers send, copied into a connected Google Drive folder: the file_copies table (each file's copy
state with each Drive integration, and Drive's id of the copy for erasure)

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "file_copies",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("file_id", sa.String(length=40), nullable=False),
        sa.Column("integration_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("copied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remote_id", sa.String(length=200), nullable=True),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["conversation_files.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["integration_id"], ["integrations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("file_id", "integration_id", name="uq_file_copies_file_integration"),
    )
    with op.batch_alter_table("file_copies", schema=None) as batch_op:
        batch_op.create_index("ix_file_copies_state_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_file_copies_file_id"), ["file_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_file_copies_integration_id"), ["integration_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_file_copies_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("file_copies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_file_copies_org_id"))
        batch_op.drop_index(batch_op.f("ix_file_copies_integration_id"))
        batch_op.drop_index(batch_op.f("ix_file_copies_file_id"))
        batch_op.drop_index("ix_file_copies_state_due")
    op.drop_table("file_copies")
