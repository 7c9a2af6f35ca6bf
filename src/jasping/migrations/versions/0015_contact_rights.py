"""contacts: privacy rights of contacts (restriction, erasure records, per-contact data keys)

Reserved at the start of a session so that work in parallel keeps one linear chain; the tables arrive with
the work that needs them.

Revision ID: 0015
Revises: 0014
"""

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
