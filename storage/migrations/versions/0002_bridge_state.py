"""Early delivery reports and per-account sync state for the channel bridges.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from storage.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "early_delivery_reports",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("surface", sa.String(50), nullable=False),
        sa.Column("provider_message_id", sa.String(500), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error_code", sa.String(100), nullable=True),
        sa.Column("error_text", sa.Text(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_early_delivery_reports"),
        sa.UniqueConstraint(
            "surface", "provider_message_id", "status",
            name="uq_early_delivery_reports_surface_provider_message_id_status",
        ),
    )
    op.create_table(
        "sync_state",
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("value", JsonDoc, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account", "key", name="pk_sync_state"),
    )


def downgrade() -> None:
    op.drop_table("sync_state")
    op.drop_table("early_delivery_reports")
