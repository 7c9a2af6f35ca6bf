"""security: MFA, login sessions metadata, risk assessment

Reserved at the start of a session so that work in parallel keeps one linear chain; the tables arrive with
the work that needs them.

Revision ID: 0017
Revises: 0016
"""

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
