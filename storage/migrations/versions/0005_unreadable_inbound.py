"""Unreadable inbound parts: what a signed delivery held that the bridge could not read.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "unreadable_inbound",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("surface", sa.String(50), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_unreadable_inbound"),
        sa.UniqueConstraint("surface", "digest", name="uq_unreadable_inbound_surface_digest"),
    )
    op.create_index("ix_unreadable_inbound_received_at", "unreadable_inbound", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_unreadable_inbound_received_at", table_name="unreadable_inbound")
    op.drop_table("unreadable_inbound")
