"""deliveries cheaper to write: no per-row checks of their circular and batch, one index fewer

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 09:00:00

A release writes one delivery per resident (100,000 in one INSERT … SELECT), and on PostgreSQL
the per-row checks of `circular_id` and `batch_id` cost more than writing the rows. That
statement is the only writer of deliveries: it takes each batch id from the batches it has just
made for the same circular, in the same transaction; a batch's own foreign key holds its
circular, so a circular with deliveries still cannot be deleted. The resident's key stays. The
unique constraint now starts with the resident, so it also serves the lookups by resident that
`ix_deliveries_resident` served, and that index goes.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("fk_deliveries_batch_id_delivery_batches", type_="foreignkey")
        batch_op.drop_constraint("fk_deliveries_circular_id_circulars", type_="foreignkey")
        batch_op.drop_constraint("uq_deliveries_circular_id_resident_id_slot", type_="unique")
        batch_op.create_unique_constraint(
            "uq_deliveries_resident_id_circular_id_slot", ["resident_id", "circular_id", "slot"]
        )
        batch_op.drop_index("ix_deliveries_resident")


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_resident", ["resident_id"], unique=False)
        batch_op.drop_constraint("uq_deliveries_resident_id_circular_id_slot", type_="unique")
        batch_op.create_unique_constraint(
            "uq_deliveries_circular_id_resident_id_slot", ["circular_id", "resident_id", "slot"]
        )
        batch_op.create_foreign_key(
            "fk_deliveries_circular_id_circulars", "circulars", ["circular_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_deliveries_batch_id_delivery_batches", "delivery_batches", ["batch_id"], ["id"]
        )
