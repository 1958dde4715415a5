"""View models: everything a builder needs, already resolved (names, Slack ids, times).

The listeners and mirror handlers fill these from core objects; builders turn them into
Block Kit JSON without touching anything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class TagView:
    name: str
    colour: str = "#9e9e9e"


@dataclass(frozen=True)
class CardView:
    """The parent message of a conversation's thread."""

    conversation_id: int
    channel: str  # "email" | "whatsapp"
    account_name: str
    contact_name: str
    contact_address: str
    status: str  # open | pending | snoozed | resolved
    now: datetime
    subject: str | None = None
    preview: str = ""  # first line of the first customer message
    customer_name: str | None = None
    assignee_slack_id: str | None = None
    assignee_name: str | None = None
    team_name: str | None = None
    tags: tuple[TagView, ...] = ()
    snoozed_until: datetime | None = None
    window_closes_at: datetime | None = None  # WhatsApp 24 h window; None for email
    last_activity_at: datetime | None = None
    urgent: bool = False
    participants: tuple[str, ...] = ()  # everyone else who wrote in it ("Name <address>")


@dataclass(frozen=True)
class AttachmentView:
    filename: str
    content_type: str
    size: int
    stored: bool = True  # False: too large or failed download (the note says why)
    pending: bool = False  # still being downloaded from the provider


@dataclass(frozen=True)
class MessageView:
    """One message mirrored into the thread."""

    message_id: int
    kind: str  # message | note | system | ai_analysis
    direction: str  # in | out
    author_name: str
    body: str
    created_at: datetime
    author_slack_id: str | None = None
    subject: str | None = None
    attachments: tuple[AttachmentView, ...] = ()
    quoted: str | None = None  # the message this one replies to, shortened
    reactions: tuple[str, ...] = ()
    channel: str = ""  # email | whatsapp; "" = unknown (outbound_message: "replied by …")
    automatic: str | None = None  # written by an automation: the rule or auto-reply name
    auto_reply: bool = False  # an auto-reply (not a rule's reply action)
    machine_sent: bool = False  # inbound mail written by a machine (out-of-office, list, bounce)
    edited_from: str | None = None  # the customer edited it: the text it first had
    revoked: bool = False  # the customer deleted it (its text is kept, shown struck)
    media_kind: str | None = None  # WhatsApp media type (voice, image, sticker...): its label
    referral: str | None = None  # the ad or post the customer clicked through from
    media_duration: str | None = None  # a voice note's or audio's length, "0:14"


@dataclass(frozen=True)
class SendStatusView:
    """The bot's line under a staff reply: sending (with undo), sent, delivered, read, failed."""

    message_id: int
    status: str  # queued | sent | delivered | read | failed | withdrawn | deleted | note | held
    now: datetime
    send_at: datetime | None = None  # undo window end, while queued
    error_code: str | None = None
    error_text: str | None = None
    channel: str = "email"
    reactions: tuple[str, ...] = ()  # the customer's reactions to this reply
    hold_reason: str | None = None  # held: why it was kept from the customer (a phrase)
    send_label: str | None = None  # held: the button that sends it after all (None: no button)
    maybe_twice: bool = False  # a crash mid-send: the customer may have it twice
    conversation_id: int | None = None  # failed outside the WhatsApp window: its template button
    window_closed: bool = False  # the provider refused it: the 24 h window was closed


@dataclass(frozen=True)
class OptionView:
    value: str  # <= 150 chars (Slack's option value limit)
    label: str


@dataclass(frozen=True)
class TemplateView:
    name: str
    body: str
    variables: tuple[str, ...] = ()
    language: str | None = None


@dataclass(frozen=True)
class ConversationRow:
    """A row of /inbox and App Home lists."""

    conversation_id: int
    channel: str
    status: str
    contact_name: str
    subject_or_preview: str
    waiting_since: datetime | None
    permalink: str | None = None
    assignee_name: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatsView:
    label: str  # "last 7 days"
    created: int
    resolved: int
    first_response_avg_s: float | None
    response_avg_s: float | None
    resolution_avg_s: float | None
    resolution_rate: float | None
    backlog: int
    by_channel: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CustomerProfileView:
    customer_id: int
    name: str
    email: str | None
    phone: str | None
    company: str | None
    notes: str | None
    conversations: tuple[ConversationRow, ...] = ()


@dataclass(frozen=True)
class HomeView:
    tab: str  # mine | unassigned | all
    counts: dict[str, int]  # per tab
    rows: tuple[ConversationRow, ...]
    now: datetime
    status_filter: str | None = None
    channel_filter: str | None = None
    tag_filter: str | None = None
    tag_options: tuple[str, ...] = ()
    stats: StatsView | None = None
    available: bool | None = None  # the viewer's availability; None: no toggle shown


@dataclass(frozen=True)
class AiActionView:
    kind: str  # assign_team | add_tag | send_template | lookup
    value: str  # the team, tag or template name, or the reference
    label: str
    url: str | None = None  # lookup only


@dataclass(frozen=True)
class AiNoteView:
    """The AI triage of one customer message, as its private note in the thread."""

    message_id: int
    conversation_id: int
    summary: str
    sentiment: str  # positive | neutral | frustrated | urgent
    urgent: bool
    urgent_reason: str
    references: tuple[tuple[str, str], ...]  # (kind, value as written)
    applied_tags: tuple[str, ...]  # what the analysis tagged (urgent included)
    actions: tuple[AiActionView, ...]
    engine: str
