"""Initial schema: inbox entities, links, templates, outbox, activity and full-text search.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from storage.tables import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _pk(table: str) -> tuple[sa.Column, sa.PrimaryKeyConstraint]:
    return (
        sa.Column("id", Id, primary_key=False, autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    )


def _fk(table: str, column: str, target: str, ondelete: str | None = None):
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "agents",
        *_pk("agents"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("slack_user_id", sa.String(64), nullable=True),
        sa.Column("telegram_user_id", sa.String(64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("email", name="uq_agents_email"),
        sa.UniqueConstraint("slack_user_id", name="uq_agents_slack_user_id"),
    )
    op.create_table(
        "teams",
        *_pk("teams"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.UniqueConstraint("name", name="uq_teams_name"),
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", Id, nullable=False),
        sa.Column("agent_id", Id, nullable=False),
        sa.PrimaryKeyConstraint("team_id", "agent_id", name="pk_team_members"),
        _fk("team_members", "team_id", "teams", "CASCADE"),
        _fk("team_members", "agent_id", "agents", "CASCADE"),
    )
    op.create_table(
        "tags",
        *_pk("tags"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("colour", sa.String(20), nullable=False),
        sa.UniqueConstraint("name", name="uq_tags_name"),
    )
    op.create_table(
        "customers",
        *_pk("customers"),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("phone", sa.String(40), nullable=True),
        sa.Column("company", sa.String(300), nullable=True),
        sa.Column("external_ref", sa.String(200), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("external_ref", name="uq_customers_external_ref"),
    )
    op.create_table(
        "contacts",
        *_pk("contacts"),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("customer_id", Id, nullable=True),
        _fk("contacts", "customer_id", "customers", "SET NULL"),
        sa.UniqueConstraint("channel", "address", name="uq_contacts_channel_address"),
    )
    op.create_table(
        "conversations",
        *_pk("conversations"),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("contact_id", Id, nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("assignee_id", Id, nullable=True),
        sa.Column("team_id", Id, nullable=True),
        sa.Column("snoozed_until", UTCDateTime(), nullable=True),
        sa.Column("customer_id", Id, nullable=True),
        sa.Column("last_customer_message_at", UTCDateTime(), nullable=True),
        sa.Column("last_activity_at", UTCDateTime(), nullable=True),
        sa.Column("first_response_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("provider_thread_id", sa.String(200), nullable=True),
        _fk("conversations", "contact_id", "contacts"),
        _fk("conversations", "assignee_id", "agents", "SET NULL"),
        _fk("conversations", "team_id", "teams", "SET NULL"),
        _fk("conversations", "customer_id", "customers", "SET NULL"),
    )
    op.create_index("ix_conversations_status", "conversations", ["status"])
    op.create_index(
        "ix_conversations_account_contact_id", "conversations", ["account", "contact_id"]
    )
    op.create_index("ix_conversations_snoozed_until", "conversations", ["snoozed_until"])
    op.create_index("ix_conversations_assignee_id", "conversations", ["assignee_id"])
    op.create_index("ix_conversations_customer_id", "conversations", ["customer_id"])
    op.create_table(
        "conversation_tags",
        sa.Column("conversation_id", Id, nullable=False),
        sa.Column("tag_id", Id, nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", "tag_id", name="pk_conversation_tags"),
        _fk("conversation_tags", "conversation_id", "conversations", "CASCADE"),
        _fk("conversation_tags", "tag_id", "tags", "CASCADE"),
    )
    op.create_table(
        "messages",
        *_pk("messages"),
        sa.Column("conversation_id", Id, nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("author_type", sa.String(20), nullable=False),
        sa.Column("author_id", sa.String(200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("attachments", JsonDoc, nullable=False),
        sa.Column("delivery_status", sa.String(20), nullable=True),
        sa.Column("error_code", sa.String(100), nullable=True),
        sa.Column("error_text", sa.Text(), nullable=True),
        sa.Column("template_name", sa.String(200), nullable=True),
        sa.Column("template_values", JsonDoc, nullable=False),
        sa.Column("meta", JsonDoc, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk("messages", "conversation_id", "conversations", "CASCADE"),
    )
    op.create_index("ix_messages_conversation_id_id", "messages", ["conversation_id", "id"])
    op.create_index("ix_messages_created_at", "messages", ["created_at"])
    op.create_table(
        "links",
        *_pk("links"),
        sa.Column("surface", sa.String(50), nullable=False),
        sa.Column("external_id", sa.String(500), nullable=False),
        sa.Column("conversation_id", Id, nullable=True),
        sa.Column("message_id", Id, nullable=True),
        sa.UniqueConstraint("surface", "external_id", name="uq_links_surface_external_id"),
    )
    op.create_index("ix_links_conversation_id", "links", ["conversation_id"])
    op.create_table(
        "templates",
        *_pk("templates"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("variables", JsonDoc, nullable=False),
        sa.Column("provider_name", sa.String(200), nullable=True),
        sa.Column("language", sa.String(20), nullable=True),
        sa.Column("account", sa.String(100), nullable=True),
    )
    op.create_index("ix_templates_name_channel", "templates", ["name", "channel"])
    op.create_table(
        "outbox",
        *_pk("outbox"),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("order_key", sa.String(200), nullable=False),
        sa.Column("payload", JsonDoc, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", UTCDateTime(), nullable=False),
        sa.Column("locked_by", sa.String(200), nullable=True),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_outbox_status_available_at", "outbox", ["status", "available_at"])
    op.create_index("ix_outbox_order_key_id", "outbox", ["order_key", "id"])
    op.create_table(
        "activity",
        *_pk("activity"),
        sa.Column("conversation_id", Id, nullable=True),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("actor_type", sa.String(20), nullable=False),
        sa.Column("actor_id", sa.String(200), nullable=True),
        sa.Column("detail", JsonDoc, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_activity_conversation_id_id", "activity", ["conversation_id", "id"])
    _create_full_text_search()


def downgrade() -> None:
    _drop_full_text_search()
    for table in (
        "activity",
        "outbox",
        "templates",
        "links",
        "messages",
        "conversation_tags",
        "conversations",
        "contacts",
        "customers",
        "tags",
        "team_members",
        "teams",
        "agents",
    ):
        op.drop_table(table)  # indexes go with their table


# Full-text search over message bodies. 'simple' on PostgreSQL because mail arrives in
# Spanish and English: no stemming beats the wrong language's stemming.
_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE messages_fts USING fts5("
    "body, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.id, old.body); "
    "END",
    # Only body changes touch the index, so delivery-status updates stay cheap.
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body); END",
]
_POSTGRES_FTS = [
    "ALTER TABLE messages ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', coalesce(body, ''))) STORED",
    "CREATE INDEX ix_messages_search_vector ON messages USING gin (search_vector)",
]


def _dialect() -> str:
    return op.get_context().dialect.name


def _create_full_text_search() -> None:
    statements = {"sqlite": _SQLITE_FTS, "postgresql": _POSTGRES_FTS}.get(_dialect(), [])
    for statement in statements:
        op.execute(statement)


def _drop_full_text_search() -> None:
    if _dialect() == "sqlite":
        for trigger in ("messages_fts_insert", "messages_fts_delete", "messages_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS messages_fts")
    elif _dialect() == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_messages_search_vector")
        op.execute("ALTER TABLE messages DROP COLUMN IF EXISTS search_vector")
