"""Everything the Slack listeners need, built once by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.slack.gateway import SlackGateway
from bot.slack.identity import SlackIdentity
from bot.slack.mirror import SlackMirror
from bot.slack.presenter import Presenter
from core.clock import Clock
from core.model import Account
from core.ports import FileStore
from core.usecases import Inbox

if TYPE_CHECKING:
    from bot.slack.access import Gate


@dataclass
class SlackServices:
    inbox: Inbox
    clock: Clock
    timezone: ZoneInfo
    accounts: dict[str, Account]
    identity: SlackIdentity
    presenter: Presenter
    gateway: SlackGateway
    mirror: SlackMirror
    files: FileStore
    undo_window: timedelta
    file_hosts: set[str]  # hosts Slack file URLs may come from (bot token goes there)
    channel_for_account: Callable[[str], str | None]
    workspace_url: str | None = None  # from auth.test, for thread permalinks
    gate: Gate | None = None  # set by build_bolt_app
    home_state: dict[str, dict] = field(default_factory=dict)  # per user: tab and filters
    unknown_threads: set[str] = field(default_factory=set)  # threads known not to be cards

    def permalink(self, channel: str, ts: str, thread_ts: str | None = None) -> str | None:
        if not self.workspace_url:
            return None
        url = f"{self.workspace_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
        return f"{url}?thread_ts={thread_ts}&cid={channel}" if thread_ts else url
