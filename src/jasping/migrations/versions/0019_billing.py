"""billing: subscriptions (billing_accounts), Stripe events received once, monthly usage counters, invoices kept
10 years (their org_id set to NULL when the organization is erased)

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "billing_accounts",
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("stripe_customer_id", sa.String(length=64), nullable=True),
        sa.Column("subscription_id", sa.String(length=64), nullable=True),
        sa.Column("subscription_created", sa.BigInteger(), nullable=True),
        sa.Column("plan", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("period_start", TS, nullable=True),
        sa.Column("period_end", TS, nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("state_at", sa.BigInteger(), nullable=False),
        sa.Column("payment_failed_at", TS, nullable=True),
        sa.Column("grace_ends_at", TS, nullable=True),
        sa.Column("downgraded_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("org_id"),
        sa.UniqueConstraint("stripe_customer_id"),
    )
    with op.batch_alter_table("billing_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_billing_accounts_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_billing_accounts_subscription_id"), ["subscription_id"], unique=False)

    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("type", sa.String(length=80), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("object_id", sa.String(length=80), nullable=True),
        sa.Column("org_id", sa.String(length=40), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stripe_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stripe_events_org_id"), ["org_id"], unique=False)

    op.create_table(
        "usage_counters",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("warned_80_at", TS, nullable=True),
        sa.Column("warned_100_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("month", "org_id"),
    )
    with op.batch_alter_table("usage_counters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_usage_counters_org_id"), ["org_id"], unique=False)

    op.create_table(
        "invoices",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=True),
        sa.Column("stripe_customer_id", sa.String(length=64), nullable=True),
        sa.Column("subscription_id", sa.String(length=64), nullable=True),
        sa.Column("number", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal", sa.BigInteger(), nullable=False),
        sa.Column("tax", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("amount_paid", sa.BigInteger(), nullable=False),
        sa.Column("hosted_invoice_url", sa.Text(), nullable=True),
        sa.Column("invoice_pdf", sa.Text(), nullable=True),
        sa.Column("customer_name", sa.Text(), nullable=True),
        sa.Column("customer_email", sa.Text(), nullable=True),
        sa.Column("period_start", TS, nullable=True),
        sa.Column("period_end", TS, nullable=True),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("paid_at", TS, nullable=True),
        sa.Column("state_at", sa.BigInteger(), nullable=False),
        sa.Column("receipt_sent_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoices_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_stripe_customer_id"), ["stripe_customer_id"], unique=False)


def downgrade() -> None:
    op.drop_table("invoices")
    op.drop_table("usage_counters")
    op.drop_table("stripe_events")
    op.drop_table("billing_accounts")
