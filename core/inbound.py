"""The channel-neutral shape every bridge turns a customer message into."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.model import Attachment, Channel


@dataclass(slots=True)
class InboundMessage:
    channel: Channel
    account: str
    provider: str  # surface of the provider id: "email", "whatsapp_cloud", "twilio"
    provider_message_id: str
    sender: str  # raw address or number; the core normalises it
    body: str
    received_at: datetime
    sender_name: str = ""
    subject: str | None = None
    body_html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    provider_thread_id: str | None = None  # e.g. Gmail X-GM-THRID
    automated: bool = False  # auto-replies, bulk and list mail: recorded, never answered
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InboundResult:
    conversation_id: int | None
    message_id: int | None
    duplicate: bool = False
    created_conversation: bool = False
    reopened: bool = False
