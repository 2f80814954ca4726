"""Followed co-ops' records carry the requester they are about, indexed.

A follower no longer keeps every followed record in memory (``CoopState(keep_all=False)``):
requester profiles across the federation read a co-op's ratings, flags, appeals and
replies about a requester from here.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ABOUT = ("rating", "flag", "appeal", "reply")
_BATCH = 1000


def upgrade() -> None:
    from coopfed.protocol.records import Record

    op.add_column("peer_records", sa.Column("requester", sa.Text, nullable=True))
    op.create_index("peer_records_requester", "peer_records", ["coop", "requester"])
    table = sa.table(
        "peer_records",
        sa.column("coop", sa.Text),
        sa.column("idx", sa.BigInteger),
        sa.column("type", sa.Text),
        sa.column("raw", sa.LargeBinary),
        sa.column("requester", sa.Text),
    )
    conn = op.get_bind()
    after: tuple[str, int] = ("", -1)
    while True:
        rows = conn.execute(
            sa.select(table.c.coop, table.c.idx, table.c.raw)
            .where(
                table.c.type.in_(_ABOUT),
                sa.tuple_(table.c.coop, table.c.idx) > sa.tuple_(*after),
            )
            .order_by(table.c.coop, table.c.idx)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        conn.execute(
            table.update()
            .where(table.c.coop == sa.bindparam("c"), table.c.idx == sa.bindparam("i"))
            .values(requester=sa.bindparam("r")),
            [
                {
                    "c": coop,
                    "i": idx,
                    "r": str(Record.from_bytes(bytes(raw), verify=False).body.requester),  # type: ignore[attr-defined]
                }
                for coop, idx, raw in rows
            ],
        )
        after = (rows[-1].coop, int(rows[-1].idx))


def downgrade() -> None:
    op.drop_index("peer_records_requester", table_name="peer_records")
    op.drop_column("peer_records", "requester")
