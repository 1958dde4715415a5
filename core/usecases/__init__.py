"""The inbox's use cases. Each public method is one transaction through a unit of work."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

from core.automation.contract import Automations
from core.clock import Clock
from core.model import Account
from core.ports import UnitOfWorkFactory
from core.usecases.analysis import AnalysisUseCases
from core.usecases.automations import AutomationUseCases
from core.usecases.base import InboxContext
from core.usecases.contact_numbers import ContactNumberUseCases
from core.usecases.customers import CustomerUseCases, ImportReport
from core.usecases.delivery import DeliveryUseCases, OutboundContext
from core.usecases.directory import DirectoryUseCases
from core.usecases.inbound import InboundUseCases
from core.usecases.links import LinkUseCases
from core.usecases.media import MediaUseCases, PendingMedia
from core.usecases.outbound import OutboundUseCases
from core.usecases.queries import ConversationDetails, ConversationSummary, QueryUseCases
from core.usecases.reactions import ReactionUseCases
from core.usecases.revisions import RevisionUseCases
from core.usecases.staff_messages import StaffMessageUseCases, StaffOutcome
from core.usecases.triage import TriageUseCases
from core.usecases.undo_send import UndoSendUseCases
from core.usecases.unreadable import UnreadableUseCases

__all__ = [
    "ConversationDetails",
    "ConversationSummary",
    "ImportReport",
    "Inbox",
    "InboxContext",
    "OutboundContext",
    "PendingMedia",
    "StaffOutcome",
]


class Inbox(
    InboundUseCases,
    OutboundUseCases,
    TriageUseCases,
    QueryUseCases,
    CustomerUseCases,
    DirectoryUseCases,
    DeliveryUseCases,
    LinkUseCases,
    MediaUseCases,
    UndoSendUseCases,
    ReactionUseCases,
    RevisionUseCases,
    ContactNumberUseCases,
    StaffMessageUseCases,
    UnreadableUseCases,
    AutomationUseCases,
    AnalysisUseCases,
):
    """The single entry point adapters call: bridges, front ends, CLI and workers."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        accounts: Mapping[str, Account],
        timezone: ZoneInfo,
        frontends: tuple[str, ...] = (),
        can_send: Callable[[str], bool] | None = None,
        automations: Automations | None = None,
        ai_accounts: Iterable[str] = (),
    ) -> None:
        super().__init__(InboxContext(uow_factory, clock, dict(accounts), timezone, frontends,
                                      can_send, automations or Automations.default(),
                                      frozenset(ai_accounts)))
