"""Automations: agents' availability (away agents are skipped by automatic assignment) and
the due times of timer rules.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.tables import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("available", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
    op.create_table(
        "rule_timers",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("conversation_id", Id, nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("trigger", sa.String(40), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_rule_timers"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE",
                                name="fk_rule_timers_conversation_id_conversations"),
    )
    op.create_index("ix_rule_timers_status_due_at", "rule_timers", ["status", "due_at"])
    op.create_index("ix_rule_timers_conversation_id_rule", "rule_timers",
                    ["conversation_id", "rule"])


def downgrade() -> None:
    op.drop_index("ix_rule_timers_conversation_id_rule", table_name="rule_timers")
    op.drop_index("ix_rule_timers_status_due_at", table_name="rule_timers")
    op.drop_table("rule_timers")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("available")
