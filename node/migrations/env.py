"""Alembic environment: coopfed runs migrations itself, on a connection it already holds.

There is no alembic.ini: :func:`coopfed.node.storage.migrate` passes the connection (inside
its transaction) and the PostgreSQL schema in ``config.attributes``.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "coopfed's migrations run from the node (coopfed.node.storage.migrate), "
        "not from the alembic command line"
    )
context.configure(
    connection=connection,
    target_metadata=None,
    version_table_schema=context.config.attributes.get("schema"),
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
