"""Alembic environment: migrates the connection that `kairan db …` hands it."""

from alembic import context

from models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run migrations through `kairan db upgrade` / `kairan db revision`.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite alters tables by copying them; batch mode does that and is a no-op elsewhere.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
