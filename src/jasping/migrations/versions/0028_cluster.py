"""scale-out: cluster-wide locks (reserved for issue 15's work; filled in when its tables land)

Revision ID: 0028
Revises: 0027
"""

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
