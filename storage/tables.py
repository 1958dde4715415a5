"""Table definitions (SQLAlchemy Core). Kept apart from core entities; repositories map rows.

The initial Alembic migration spells the same schema out explicitly; a test compares the
migrated database with this metadata so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# BIGINT ids on PostgreSQL; on SQLite only "INTEGER PRIMARY KEY" aliases the rowid.
Id = BigInteger().with_variant(Integer(), "sqlite")
JsonDoc = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator):
    """Stores naive UTC (SQLite has no time zones) and hands back aware UTC datetimes."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def _pk() -> Column:
    return Column("id", Id, primary_key=True, autoincrement=True)


def _fk(
    name: str, target: str, nullable: bool, ondelete: str | None = None, primary_key: bool = False
) -> Column:
    return Column(
        name, Id, ForeignKey(target, ondelete=ondelete), nullable=nullable, primary_key=primary_key
    )


agents = Table(
    "agents",
    metadata,
    _pk(),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=True, unique=True),
    Column("role", String(20), nullable=False),
    Column("slack_user_id", String(64), nullable=True, unique=True),
    Column("telegram_user_id", String(64), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # False while the agent is away: automatic assignment skips them.
    Column("available", Boolean, nullable=False, default=True, server_default=true()),
)

teams = Table(
    "teams",
    metadata,
    _pk(),
    Column("name", String(200), nullable=False, unique=True),
)

team_members = Table(
    "team_members",
    metadata,
    _fk("team_id", "teams.id", False, "CASCADE", primary_key=True),
    _fk("agent_id", "agents.id", False, "CASCADE", primary_key=True),
)

tags = Table(
    "tags",
    metadata,
    _pk(),
    Column("name", String(100), nullable=False, unique=True),
    Column("colour", String(20), nullable=False),
)

customers = Table(
    "customers",
    metadata,
    _pk(),
    Column("name", String(300), nullable=False),
    Column("email", String(320), nullable=True),
    Column("phone", String(40), nullable=True),
    Column("company", String(300), nullable=True),
    Column("external_ref", String(200), nullable=True, unique=True),
    Column("notes", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

contacts = Table(
    "contacts",
    metadata,
    _pk(),
    Column("channel", String(20), nullable=False),
    Column("address", String(320), nullable=False),
    Column("name", String(300), nullable=False),
    _fk("customer_id", "customers.id", True, "SET NULL"),
    UniqueConstraint("channel", "address"),
)

conversations = Table(
    "conversations",
    metadata,
    _pk(),
    Column("channel", String(20), nullable=False),
    Column("account", String(100), nullable=False),
    _fk("contact_id", "contacts.id", False),
    Column("subject", Text, nullable=True),
    Column("status", String(20), nullable=False),
    _fk("assignee_id", "agents.id", True, "SET NULL"),
    _fk("team_id", "teams.id", True, "SET NULL"),
    Column("snoozed_until", UTCDateTime, nullable=True),
    _fk("customer_id", "customers.id", True, "SET NULL"),
    Column("last_customer_message_at", UTCDateTime, nullable=True),
    Column("last_activity_at", UTCDateTime, nullable=True),
    Column("first_response_at", UTCDateTime, nullable=True),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("provider_thread_id", String(200), nullable=True),
    Index(None, "status"),
    Index(None, "account", "contact_id"),
    Index(None, "snoozed_until"),
    Index(None, "assignee_id"),
    Index(None, "customer_id"),
    # timer rules scan for what fell due: no_first_response and no_reply
    Index(None, "created_at"),
    Index(None, "last_customer_message_at"),
)

conversation_tags = Table(
    "conversation_tags",
    metadata,
    _fk("conversation_id", "conversations.id", False, "CASCADE", primary_key=True),
    _fk("tag_id", "tags.id", False, "CASCADE", primary_key=True),
)

messages = Table(
    "messages",
    metadata,
    _pk(),
    _fk("conversation_id", "conversations.id", False, "CASCADE"),
    Column("direction", String(10), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("author_type", String(20), nullable=False),
    Column("author_id", String(200), nullable=True),
    Column("body", Text, nullable=False),
    Column("body_html", Text, nullable=True),
    Column("subject", Text, nullable=True),
    Column("attachments", JsonDoc, nullable=False),
    Column("delivery_status", String(20), nullable=True),
    Column("error_code", String(100), nullable=True),
    Column("error_text", Text, nullable=True),
    Column("template_name", String(200), nullable=True),
    Column("template_values", JsonDoc, nullable=False),
    Column("meta", JsonDoc, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "conversation_id", "id"),
    Index(None, "created_at"),
)

links = Table(
    "links",
    metadata,
    _pk(),
    Column("surface", String(50), nullable=False),
    Column("external_id", String(500), nullable=False),
    Column("conversation_id", Id, nullable=True),
    Column("message_id", Id, nullable=True),
    UniqueConstraint("surface", "external_id"),
    Index(None, "conversation_id"),
)

templates = Table(
    "templates",
    metadata,
    _pk(),
    Column("name", String(200), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("body", Text, nullable=False),
    Column("variables", JsonDoc, nullable=False),
    Column("provider_name", String(200), nullable=True),
    Column("language", String(20), nullable=True),
    Column("account", String(100), nullable=True),
    Index(None, "name", "channel"),
)

outbox = Table(
    "outbox",
    metadata,
    _pk(),
    Column("kind", String(100), nullable=False),
    Column("order_key", String(200), nullable=False),
    Column("payload", JsonDoc, nullable=False),
    Column("status", String(20), nullable=False),  # pending | processing | done | failed
    Column("attempts", Integer, nullable=False),  # failures that grow the backoff
    Column("available_at", UTCDateTime, nullable=False),
    Column("locked_by", String(200), nullable=True),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    # Leases that expired under a handler (its worker died): poison rows are failed.
    Column("crashes", Integer, nullable=False, default=0, server_default="0"),
    # Exceptions that are neither delivery errors nor rate limits (bugs): capped.
    Column("unexpected_errors", Integer, nullable=False, default=0, server_default="0"),
    # transient | retry_after | unexpected | crash | permanent: success wakes "transient".
    Column("last_failure", String(20), nullable=True),
    # Set when an operator sends a failed row back: its retry horizon starts again there.
    Column("retried_at", UTCDateTime, nullable=True),
    Index(None, "status", "available_at"),
    Index(None, "order_key", "id"),
)

activity = Table(
    "activity",
    metadata,
    _pk(),
    Column("conversation_id", Id, nullable=True),
    Column("action", String(100), nullable=False),
    Column("actor_type", String(20), nullable=False),
    Column("actor_id", String(200), nullable=True),
    Column("detail", JsonDoc, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index(None, "conversation_id", "id"),
)

# Delivery reports that arrived before the send that they describe was recorded (providers
# may report "delivered" before our own commit of the provider id); applied by mark_sent.
early_delivery_reports = Table(
    "early_delivery_reports",
    metadata,
    _pk(),
    Column("surface", String(50), nullable=False),
    Column("provider_message_id", String(500), nullable=False),
    Column("status", String(20), nullable=False),
    Column("error_code", String(100), nullable=True),
    Column("error_text", Text, nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint("surface", "provider_message_id", "status"),
)

# Per-account cursors of the channel bridges (e.g. IMAP folder, UIDVALIDITY, last UID).
sync_state = Table(
    "sync_state",
    metadata,
    Column("account", String(100), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("value", JsonDoc, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Parts of signed deliveries the bridges could not read, kept raw (the rest of the delivery
# is processed); the digest identifies a part, so redeliveries store it once.
unreadable_inbound = Table(
    "unreadable_inbound",
    metadata,
    _pk(),
    Column("surface", String(50), nullable=False),
    Column("path", String(500), nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint("surface", "digest"),
    Index(None, "received_at"),
)

# Timer rules that fell due: claimed (one row per conversation, rule, trigger and due
# time) in the transaction of the rule's actions, so a timer fires once. The due times
# themselves come from the conversations (created_at, last_customer_message_at).
rule_timers = Table(
    "rule_timers",
    metadata,
    _pk(),
    _fk("conversation_id", "conversations.id", False, "CASCADE"),
    Column("rule", String(200), nullable=False),
    Column("trigger", String(40), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False),  # fired | skipped
    Column("outcome", Text, nullable=True),
    Column("settled_at", UTCDateTime, nullable=False),
    UniqueConstraint("conversation_id", "rule", "trigger", "due_at"),
)
