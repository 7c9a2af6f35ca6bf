"""consent records (notice version, method, hashed IP, the account signing up), the breach register, editable public
pages (privacy policy, sub-processors, DPA, agents' privacy notices) and the platform's operators

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("notice_version", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("method", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("ip_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_consent_records_user_id"), ["user_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_consent_records_user_id_users", "users", ["user_id"], ["id"], ondelete="CASCADE"
        )

    op.create_table(
        "platform_operators",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        _at("granted_at", False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )

    op.create_table(
        "legal_pages",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=True),
        sa.Column("agent_id", sa.String(length=40), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _at("effective_at", False),
        sa.Column("published_by", sa.String(length=40), nullable=True),
        _at("created_at", False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["published_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "scope", "version", "language", name="uq_legal_pages_version"),
    )
    with op.batch_alter_table("legal_pages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legal_pages_scope"), ["scope"], unique=False)

    op.create_table(
        "breaches",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        _at("detected_at", False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("data_categories", sa.JSON(), nullable=False),
        sa.Column("records_estimate", sa.Integer(), nullable=True),
        sa.Column("subjects_estimate", sa.Integer(), nullable=True),
        sa.Column("consequences", sa.Text(), nullable=False),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _at("authority_notified_at"),
        sa.Column("authority_reference", sa.String(length=200), nullable=True),
        _at("updated_at"),
        _at("created_at", False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("breaches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_breaches_detected_at"), ["detected_at"], unique=False)

    op.create_table(
        "breach_organizations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("breach_id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("contacts_affected", sa.Integer(), nullable=True),
        sa.Column("notice_language", sa.String(length=8), nullable=False),
        sa.Column("notice_subject", sa.String(length=250), nullable=False),
        sa.Column("notice_body", sa.Text(), nullable=False),
        sa.Column("notice_status", sa.String(length=16), nullable=False),
        _at("notice_sent_at"),
        sa.Column("email_id", sa.String(length=40), nullable=True),
        _at("created_at", False),
        sa.ForeignKeyConstraint(["breach_id"], ["breaches.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("breach_id", "org_id", name="uq_breach_organizations"),
    )
    with op.batch_alter_table("breach_organizations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_breach_organizations_breach_id"), ["breach_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_breach_organizations_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    op.drop_table("breach_organizations")
    op.drop_table("breaches")
    op.drop_table("legal_pages")
    op.drop_table("platform_operators")
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.drop_constraint("fk_consent_records_user_id_users", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_consent_records_user_id"))
        batch_op.drop_column("ip_hash")
        batch_op.drop_column("method")
        batch_op.drop_column("notice_version")
        batch_op.drop_column("user_id")
