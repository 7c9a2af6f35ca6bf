"""consent records (notice version, method, hashed IP), breach register, editable public pages

Reserved at the start of the work so that work in parallel keeps one linear chain; the tables arrive with
the work that needs them.

Revision ID: 0018
Revises: 0017
"""

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
