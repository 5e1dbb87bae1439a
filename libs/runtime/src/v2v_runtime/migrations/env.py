"""Alembic environment: always handed a connection by v2v_runtime.db.migrate."""

from __future__ import annotations

from alembic import context

from v2v_runtime.db.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through v2v_runtime.db.migrate.upgrade()")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
