"""The log, its Merkle tree, checkpoints and invites.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: ``Frontier.empty().to_bytes()``: canonical MessagePack ``{"hashes": [], "size": 0}``.
#: Spelled out so this migration never changes when the code does.
EMPTY_FRONTIER = b"\x82\xa6hashes\x90\xa4size\x00"


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "records",
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("id", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "tree_nodes",
        sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
    )
    head = op.create_table(
        "tree_head",
        sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("frontier", sa.LargeBinary, nullable=False),
        sa.CheckConstraint("id = 1", name="tree_head_one_row"),
    )
    op.bulk_insert(head, [{"id": 1, "size": 0, "frontier": EMPTY_FRONTIER}])
    op.create_table(
        "checkpoints",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root", sa.LargeBinary, nullable=False),
        sa.Column("note", sa.LargeBinary, nullable=False),
        sa.Column("signed_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "invites",
        sa.Column("token_hash", sa.LargeBinary, primary_key=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("expires_ms", sa.BigInteger, nullable=False),
        sa.Column("used_by", sa.Text, nullable=True),
        sa.Column("used_at", sa.BigInteger, nullable=True),
        sa.Column("admit_id", sa.LargeBinary, nullable=True),
    )


def downgrade() -> None:
    for name in ("invites", "checkpoints", "tree_head", "tree_nodes", "records", "meta"):
        op.drop_table(name)
