"""Outbox reliability: lease expiries (poison rows), unexpected-error count, the kind of the
last failure (success wakes rows waiting on a transient one) and the operator retry time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.tables import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch_alter_table: SQLite cannot drop columns in place (downgrade), so keep both ways
    # symmetric through the batch API.
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("crashes", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("unexpected_errors", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("last_failure", sa.String(20), nullable=True))
        batch.add_column(sa.Column("retried_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("retried_at")
        batch.drop_column("last_failure")
        batch.drop_column("unexpected_errors")
        batch.drop_column("crashes")
