"""billing: plans, subscriptions, Stripe events, usage counters, invoices

Reserved at the start of the work so that work in parallel keeps one linear chain; the tables arrive with
the work that needs them.

Revision ID: 0019
Revises: 0018
"""

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
