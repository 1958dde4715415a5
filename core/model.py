"""Entities of the inbox. Plain dataclasses: storage maps them to tables, never the reverse."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from core.reply_policy import ThreadReplies


class Channel(StrEnum):
    EMAIL = "email"
    WHATSAPP = "whatsapp"


class Status(StrEnum):
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer after a staff reply
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class MessageKind(StrEnum):
    MESSAGE = "message"
    NOTE = "note"
    SYSTEM = "system"
    AI_ANALYSIS = "ai_analysis"


class ActorType(StrEnum):
    CONTACT = "contact"
    AGENT = "agent"
    AUTOMATION = "automation"
    SYSTEM = "system"


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


class Role(StrEnum):
    AGENT = "agent"
    MANAGER = "manager"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who performed a command; automations carry it so they never trigger themselves."""

    type: ActorType
    id: int | str | None = None

    @classmethod
    def agent(cls, agent_id: int) -> Actor:
        return cls(ActorType.AGENT, agent_id)

    @classmethod
    def automation(cls, rule: str) -> Actor:
        return cls(ActorType.AUTOMATION, rule)

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorType.SYSTEM, None)

    @classmethod
    def contact(cls, contact_id: int | None) -> Actor:
        return cls(ActorType.CONTACT, contact_id)


@dataclass(frozen=True, slots=True)
class Account:
    """A customer-facing inbox: one mailbox or one WhatsApp number."""

    id: str
    channel: Channel
    provider: str  # "email", "whatsapp_cloud", "twilio"
    address: str = ""
    name: str = ""
    slack_channel: str | None = None
    thread_replies: ThreadReplies = ThreadReplies.SEND  # what staff messages in threads do


@dataclass(slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    storage_key: str | None = None  # where the bytes live (file store key or provider media id)
    content_id: str | None = None  # inline images (cid:)
    # The provider's reference (media id, URL) while the bytes are still to be fetched.
    pending_ref: str | None = None

    def to_dict(self) -> dict:
        d = {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "storage_key": self.storage_key,
            "content_id": self.content_id,
        }
        if self.pending_ref is not None:  # absent otherwise: stored rows keep their shape
            d["pending_ref"] = self.pending_ref
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Attachment:
        return cls(
            filename=d["filename"],
            content_type=d.get("content_type", "application/octet-stream"),
            size=int(d.get("size", 0)),
            storage_key=d.get("storage_key"),
            content_id=d.get("content_id"),
            pending_ref=d.get("pending_ref"),
        )


@dataclass(slots=True)
class Contact:
    channel: Channel
    address: str  # lower-case email or E.164 phone
    name: str = ""
    customer_id: int | None = None
    id: int | None = None


@dataclass(slots=True)
class Customer:
    name: str
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    external_ref: str | None = None
    notes: str | None = None
    id: int | None = None


@dataclass(slots=True)
class Agent:
    name: str
    email: str | None = None
    role: Role = Role.AGENT
    slack_user_id: str | None = None
    telegram_user_id: str | None = None
    active: bool = True
    available: bool = True  # False: away; automatic assignment skips them
    id: int | None = None


@dataclass(slots=True)
class Team:
    name: str
    member_ids: list[int] = field(default_factory=list)
    id: int | None = None


@dataclass(slots=True)
class Tag:
    name: str
    colour: str = "#9e9e9e"
    id: int | None = None


@dataclass(slots=True)
class Template:
    """A reusable reply. WhatsApp templates also carry what the provider needs to send them."""

    name: str
    channel: Channel
    body: str
    variables: list[str] = field(default_factory=list)
    provider_name: str | None = None  # Meta template name or Twilio content SID
    language: str | None = None
    account: str | None = None  # None: usable on every account of the channel
    id: int | None = None


@dataclass(slots=True)
class Message:
    conversation_id: int
    direction: Direction
    kind: MessageKind
    author: Actor
    body: str
    created_at: datetime
    body_html: str | None = None
    subject: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    delivery_status: DeliveryStatus | None = None
    error_code: str | None = None
    error_text: str | None = None
    template_name: str | None = None
    template_values: dict[str, str] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    id: int | None = None

    @property
    def leaves_inbox(self) -> bool:
        """Only outbound customer messages are ever sent; notes, system and AI stay inside."""
        return self.direction is Direction.OUT and self.kind is MessageKind.MESSAGE


@dataclass(slots=True)
class Conversation:
    channel: Channel
    account: str
    contact_id: int
    created_at: datetime
    subject: str | None = None
    status: Status = Status.OPEN
    assignee_id: int | None = None
    team_id: int | None = None
    tags: list[str] = field(default_factory=list)
    snoozed_until: datetime | None = None
    customer_id: int | None = None
    last_customer_message_at: datetime | None = None
    last_activity_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    provider_thread_id: str | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Activity:
    """Audit trail: one row per command, naming who did it."""

    conversation_id: int | None
    action: str
    actor: Actor
    at: datetime
    detail: dict = field(default_factory=dict)
