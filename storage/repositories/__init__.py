"""Repositories implementing core.ports against one AsyncConnection (SQLAlchemy Core)."""

from storage.repositories.bridge_state import SqlEarlyReports, SqlSyncState
from storage.repositories.catalog import SqlTagRepository, SqlTemplateRepository
from storage.repositories.conversations import SqlConversationRepository, UnknownTags
from storage.repositories.links import SqlLinkRepository
from storage.repositories.messages import SqlMessageRepository, fts5_query
from storage.repositories.metrics import SqlMetricsSource
from storage.repositories.people import (
    SqlAgentRepository,
    SqlContactRepository,
    SqlCustomerRepository,
    SqlTeamRepository,
)
from storage.repositories.records import SqlActivityLog, SqlOutbox
from storage.repositories.timers import SqlRuleTimers
from storage.repositories.unreadable import SqlUnreadableInbound

__all__ = [
    "SqlActivityLog",
    "SqlAgentRepository",
    "SqlContactRepository",
    "SqlConversationRepository",
    "SqlCustomerRepository",
    "SqlEarlyReports",
    "SqlLinkRepository",
    "SqlMessageRepository",
    "SqlMetricsSource",
    "SqlOutbox",
    "SqlRuleTimers",
    "SqlSyncState",
    "SqlTagRepository",
    "SqlTeamRepository",
    "SqlTemplateRepository",
    "SqlUnreadableInbound",
    "UnknownTags",
    "fts5_query",
]
