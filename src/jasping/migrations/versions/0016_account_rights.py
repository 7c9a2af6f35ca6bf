"""accounts: privacy rights of users — the 30-day soft delete of an account, users' marketing consent history, and
the tracker of data-subject requests (GDPR art. 15-22) of users and contacts

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "account_deletions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        _at("requested_at", False),
        _at("erase_after", False),
        _at("restored_at"),
        sa.Column("request_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("account_deletions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_deletions_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_account_deletions_erase_after"), ["erase_after"], unique=False)

    op.create_table(
        "account_consents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("notice_version", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("ip_hash", sa.String(length=64), nullable=True),
        _at("created_at", False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("account_consents", schema=None) as batch_op:
        batch_op.create_index("ix_account_consents_user_purpose", ["user_id", "purpose", "created_at"], unique=False)

    op.create_table(
        "data_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=True),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("right", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _at("received_at", False),
        _at("due_at", False),
        _at("extended_until"),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        _at("closed_at"),
        sa.Column("notes", sa.Text(), nullable=True),
        _at("reminded_7_at"),
        _at("reminded_1_at"),
        _at("overdue_at"),
        _at("completes_at"),
        _at("updated_at", False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("data_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_requests_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_data_requests_subject_id"), ["subject_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_data_requests_status"), ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("data_requests")
    op.drop_table("account_consents")
    op.drop_table("account_deletions")
