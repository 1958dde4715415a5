"""Automations: agents' availability (away agents are skipped by automatic assignment),
the timer rules that fell due (one row each: a timer fires once), and the indexes their
scans use.

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
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("settled_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rule_timers"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE",
                                name="fk_rule_timers_conversation_id_conversations"),
        sa.UniqueConstraint("conversation_id", "rule", "trigger", "due_at",
                            name="uq_rule_timers_conversation_id_rule_trigger_due_at"),
    )
    op.create_index("ix_conversations_created_at", "conversations", ["created_at"])
    op.create_index("ix_conversations_last_customer_message_at", "conversations",
                    ["last_customer_message_at"])


def downgrade() -> None:
    op.drop_index("ix_conversations_last_customer_message_at", table_name="conversations")
    op.drop_index("ix_conversations_created_at", table_name="conversations")
    op.drop_table("rule_timers")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("available")
