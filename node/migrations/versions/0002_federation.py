"""Federation: followed co-ops' logs, their checkpoints, witnessing, equivocations, refusals.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "peers",
        sa.Column("did", sa.Text, primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("mirrors", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("pinned_at", sa.BigInteger, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("last_code", sa.Text, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("last_sync", sa.BigInteger, nullable=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("next_try", sa.BigInteger, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("frontier", sa.LargeBinary, nullable=False),
        sa.Column("checkpoint", sa.BigInteger, nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'refused', 'invalid', 'equivocated')", name="peers_status"
        ),
    )
    op.create_table(
        "peer_records",
        sa.Column("coop", sa.Text, primary_key=True),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("id", sa.LargeBinary, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("coop", "id", name="peer_records_id"),
    )
    op.create_table(
        "peer_nodes",
        sa.Column("coop", sa.Text, primary_key=True),
        sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "peer_checkpoints",
        sa.Column("coop", sa.Text, primary_key=True),
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root", sa.LargeBinary, nullable=False),
        sa.Column("note", sa.LargeBinary, nullable=False),
        sa.Column("seen_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "equivocations",
        sa.Column("id", sa.LargeBinary, primary_key=True),
        sa.Column("coop", sa.Text, nullable=False, index=True),
        sa.Column("proof", sa.LargeBinary, nullable=False),
        sa.Column("found_at", sa.BigInteger, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
    )
    op.create_table(
        "witness_state",
        sa.Column("origin", sa.Text, primary_key=True),
        sa.Column("coop", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary, nullable=False),
        sa.Column("note", sa.LargeBinary, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "cosignatures",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("witness", sa.Text, primary_key=True),
        sa.Column("line", sa.LargeBinary, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "refusals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("coop", sa.Text, nullable=False, index=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("first_idx", sa.BigInteger, nullable=True),
        sa.Column("end_idx", sa.BigInteger, nullable=True),
    )


def downgrade() -> None:
    for name in (
        "refusals",
        "cosignatures",
        "witness_state",
        "equivocations",
        "peer_checkpoints",
        "peer_nodes",
        "peer_records",
        "peers",
    ):
        op.drop_table(name)
