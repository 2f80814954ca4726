"""Applications to join by vote wait outside the log until a member sponsors them.

Before this revision an application without an invite went into the log at once, with an
admit proposal the co-op signed: anyone could grow the permanent log. Now the node holds
it here, bounded in number and time, and a member's admit proposal brings it into the log.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("id", sa.LargeBinary, primary_key=True),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("received_ms", sa.BigInteger, nullable=False),
        sa.Column("expires_ms", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("author", name="applications_author"),
    )


def downgrade() -> None:
    op.drop_table("applications")
