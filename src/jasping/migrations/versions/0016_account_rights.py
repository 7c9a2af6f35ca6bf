"""accounts: privacy rights of users (soft deletion, data requests, marketing consent)

Reserved at the start of a session so that work in parallel keeps one linear chain; the tables arrive with
the work that needs them.

Revision ID: 0016
Revises: 0015
"""

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
