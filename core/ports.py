"""What the core needs from the outside world. Storage implements these; tests may too."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from core.effects import Effect
from core.model import (
    Activity,
    Agent,
    Channel,
    Contact,
    Conversation,
    Customer,
    DeliveryStatus,
    Message,
    Status,
    Tag,
    Team,
    Template,
)


@dataclass(frozen=True, slots=True)
class ViewQuery:
    view: str = "all"  # "mine" | "unassigned" | "all"
    agent_id: int | None = None
    statuses: tuple[Status, ...] = ()
    channel: Channel | None = None
    account: str | None = None
    tags: tuple[str, ...] = ()
    include_resolved: bool = False
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class SearchHit:
    conversation_id: int
    message_id: int
    body: str
    status: Status


@dataclass(frozen=True, slots=True)
class Link:
    surface: str
    external_id: str
    conversation_id: int | None
    message_id: int | None


@dataclass(frozen=True, slots=True)
class EarlyReport:
    """A delivery report that arrived before the send it describes was recorded."""

    surface: str
    provider_message_id: str
    status: DeliveryStatus
    error_code: str | None = None
    error_text: str | None = None


@dataclass(frozen=True, slots=True)
class UnreadableInbound:
    """A part of a signed delivery that could not be read, kept as received so nothing a
    provider gave us is silently lost (the rest of its delivery is processed)."""

    surface: str
    path: str  # where in the delivery, e.g. "entry[0].changes[1].value.messages[2]"
    reason: str
    raw: str  # the part as JSON text, cleaned and bounded by the bridge
    digest: str  # identifies the whole part: a redelivery is stored once
    received_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class RuleTimer:
    """A timer rule falling due on one conversation (see core.usecases.automations)."""

    conversation_id: int
    rule: str
    trigger: str
    due_at: datetime
    id: int | None = None


@dataclass(slots=True)
class MetricsFacts:
    conversations: list[Conversation] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    backlog: int = 0


class ConversationRepository(Protocol):
    async def add(self, conv: Conversation) -> Conversation: ...
    async def get(self, conversation_id: int) -> Conversation | None: ...
    async def save(self, conv: Conversation) -> None: ...
    async def latest_for_contact(self, account: str, contact_id: int) -> Conversation | None: ...
    async def due_snoozes(self, now: datetime, limit: int) -> list[Conversation]: ...
    async def customer_wrote_between(
        self, channel: Channel, start: datetime, end: datetime, limit: int
    ) -> list[Conversation]:
        """Unresolved conversations whose last customer message is in [start, end)."""
        ...
    async def list_view(self, query: ViewQuery) -> list[Conversation]: ...
    async def count_view(self, query: ViewQuery) -> int: ...
    async def for_customer(self, customer_id: int) -> list[Conversation]: ...
    async def timer_candidates(self, anchor: str, after: tuple[datetime, int],
                               until: datetime, limit: int) -> list[Conversation]:
        """Conversations a timer rule may be due on, by `anchor` in ((after), until],
        oldest first: "created_at" (no first response, not resolved) or
        "last_customer_message_at" (open or snoozed: nobody has answered)."""
        ...
    async def open_counts(self, agent_ids: Sequence[int]) -> dict[int, int]:
        """How many open or pending conversations each agent has (absent: none)."""
        ...
    async def reassign_contact(self, from_contact_id: int, to_contact_id: int) -> list[int]:
        """Move every conversation of one contact to another (a merge); their ids."""
        ...


class MessageRepository(Protocol):
    async def add(self, message: Message) -> Message: ...
    async def get(self, message_id: int, *, for_update: bool = False) -> Message | None:
        """`for_update`: lock the row until the transaction ends (use cases that change a
        message read it this way, so concurrent changes queue instead of overwriting)."""
        ...

    async def save(self, message: Message) -> None: ...
    async def thread(self, conversation_id: int) -> list[Message]: ...
    async def first_inbound(self, conversation_id: int) -> Message | None: ...
    async def contact_authors(self, conversation_id: int) -> list[int]:
        """The contacts who wrote in the conversation, in the order they first did."""
        ...

    async def last_inbound_before(self, conversation_id: int,
                                  message_id: int | None) -> Message | None: ...
    async def search(self, text: str, include_resolved: bool, limit: int) -> list[SearchHit]: ...


class ContactRepository(Protocol):
    async def add(self, contact: Contact) -> Contact: ...
    async def get(self, contact_id: int) -> Contact | None: ...
    async def get_many(self, ids: Sequence[int]) -> dict[int, Contact]: ...
    async def by_address(self, channel: Channel, address: str) -> Contact | None: ...
    async def save(self, contact: Contact) -> None: ...
    async def merge(self, duplicate_id: int, kept: Contact) -> None:
        """Save `kept` and delete the duplicate, whose conversations were moved already;
        messages it wrote are attributed to `kept`."""
        ...


class CustomerRepository(Protocol):
    async def add(self, customer: Customer) -> Customer: ...
    async def get(self, customer_id: int) -> Customer | None: ...
    async def by_external_ref(self, ref: str) -> Customer | None: ...
    async def save(self, customer: Customer) -> None: ...
    async def search(self, text: str, limit: int) -> list[Customer]: ...


class AgentRepository(Protocol):
    async def add(self, agent: Agent) -> Agent: ...
    async def get(self, agent_id: int) -> Agent | None: ...
    async def by_slack_id(self, slack_user_id: str) -> Agent | None: ...
    async def by_email(self, email: str) -> Agent | None: ...
    async def save(self, agent: Agent) -> None: ...
    async def all(self) -> list[Agent]: ...


class TeamRepository(Protocol):
    async def add(self, team: Team) -> Team: ...
    async def get(self, team_id: int) -> Team | None: ...
    async def by_name(self, name: str) -> Team | None: ...
    async def save(self, team: Team) -> None: ...
    async def all(self) -> list[Team]: ...


class TagRepository(Protocol):
    async def by_names(self, names: Sequence[str]) -> list[Tag]: ...
    async def ensure(self, names: Sequence[str], colour: str) -> None:
        """Create those that do not exist yet."""
        ...
    async def add(self, tag: Tag) -> Tag: ...
    async def save(self, tag: Tag) -> None: ...
    async def all(self) -> list[Tag]: ...


class TemplateRepository(Protocol):
    async def find(self, name: str, channel: Channel, account: str | None) -> Template | None: ...
    async def add(self, template: Template) -> Template: ...
    async def save(self, template: Template) -> None: ...
    async def all(self, channel: Channel | None = None) -> list[Template]: ...


class LinkRepository(Protocol):
    async def claim(self, link: Link) -> bool:
        """Insert the link; False if (surface, external_id) is already taken."""
        ...

    async def find(self, surface: str, external_id: str) -> Link | None: ...
    async def find_many(self, surface: str, external_ids: Sequence[str]) -> list[Link]:
        """The links of those ids that have one, in no particular order."""
        ...

    async def find_any(self, surface: str, external_ids: Sequence[str]) -> Link | None: ...
    async def for_conversation(self, conversation_id: int, surface: str) -> list[Link]: ...


class Outbox(Protocol):
    async def add(self, effect: Effect, now: datetime) -> None: ...


class ActivityLog(Protocol):
    async def add(self, activity: Activity) -> None: ...
    async def for_conversation(self, conversation_id: int) -> list[Activity]: ...
    async def last_at(self, conversation_id: int, action: str) -> datetime | None:
        """When `action` was last recorded on the conversation (this transaction included)."""
        ...


class RuleTimers(Protocol):
    async def claim(self, timer: RuleTimer, now: datetime) -> bool:
        """Record that this timer fell due; False if it was claimed before (it fired)."""
        ...

    async def settle(self, timer: RuleTimer, status: str, outcome: str, now: datetime) -> None:
        """What became of a claimed timer: "fired" or "skipped", with why in words."""
        ...

    async def for_conversation(self, conversation_id: int) -> list[tuple[RuleTimer, str, str]]:
        """(timer, status, outcome) of the timers that fell due, oldest first."""
        ...


class EarlyReports(Protocol):
    async def add(self, report: EarlyReport, at: datetime) -> None: ...
    async def take(self, surface: str, provider_message_id: str) -> list[EarlyReport]:
        """Return and forget the reports waiting for this provider message id."""
        ...


class UnreadableInboundLog(Protocol):
    async def add(self, part: UnreadableInbound, at: datetime) -> bool:
        """Store the part; False if (surface, digest) is stored already."""
        ...

    async def recent(self, surface: str | None, limit: int) -> list[UnreadableInbound]:
        """Newest first."""
        ...


class SyncState(Protocol):
    """Small per-account cursors of the channel bridges (JSON-able dicts)."""

    async def get(self, account: str, key: str) -> dict | None: ...
    async def put(self, account: str, key: str, value: dict, at: datetime) -> None: ...


class MetricsSource(Protocol):
    async def facts(self, start: datetime, end: datetime) -> MetricsFacts: ...


class FileStore(Protocol):
    """Bytes of attachments (customer media, staff uploads), addressed by an opaque key."""

    async def put(self, data: bytes, filename: str, content_type: str) -> str: ...
    async def get(self, key: str) -> bytes: ...


class UnitOfWork(Protocol):
    conversations: ConversationRepository
    messages: MessageRepository
    contacts: ContactRepository
    customers: CustomerRepository
    agents: AgentRepository
    teams: TeamRepository
    tags: TagRepository
    templates: TemplateRepository
    links: LinkRepository
    outbox: Outbox
    activity: ActivityLog
    metrics: MetricsSource
    early_reports: EarlyReports
    sync_state: SyncState
    unreadable: UnreadableInboundLog
    timers: RuleTimers

    async def __aenter__(self) -> UnitOfWork: ...
    async def __aexit__(self, *exc: object) -> None:
        """Roll back whatever was not committed."""
        ...

    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def lock(self, key: str) -> None:
        """Wait for, then hold until this transaction ends, the lock named `key`: units
        of work locking the same key run one after another. Take several in sorted order."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
