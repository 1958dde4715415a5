"""Email integration: one IMAP sync worker per email account (leader only) and the
`send:email` outbox handler. Per-account settings come from the accounts file."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bridges.email.bridge import EmailBridge
from bridges.email.config import MailboxConfig
from bridges.email.oauth import OAuthConfig, TokenSource
from bridges.email.sync import MailboxSync
from core.delivery import CANNOT_TELL, PermanentError
from core.model import Account
from core.usecases import OutboundContext
from threadline.config import settings_for_account
from threadline.integrations import Integration
from threadline.integrations._sending import send_handlers
from threadline.settings import Settings

if TYPE_CHECKING:
    from threadline.runtime import Runtime

log = logging.getLogger("threadline.integrations.email")

KIND = "send:email"


@dataclass
class Mailbox:
    config: MailboxConfig
    bridge: EmailBridge
    sync: MailboxSync


@dataclass
class EmailIntegration(Integration):
    mailboxes: dict[str, Mailbox] = field(default_factory=dict)


def mailbox_config(account: Account, s: Settings) -> MailboxConfig | None:
    """The mailbox of one account from its effective settings; None (logged) if incomplete."""
    missing = [name for name, value in (("EMAIL_IMAP_HOST", s.email_imap_host),
                                        ("EMAIL_IMAP_USER", s.email_imap_user)) if not value]
    oauth = None
    if s.email_auth == "password":
        if not s.email_imap_password:
            missing.append("EMAIL_IMAP_PASSWORD")
    else:
        if not s.email_oauth_client_id:
            missing.append("EMAIL_OAUTH_CLIENT_ID")
        if not s.email_oauth_refresh_token:
            missing.append("EMAIL_OAUTH_REFRESH_TOKEN")
        if not missing:
            oauth = OAuthConfig(s.email_auth, s.email_oauth_client_id or "",
                                s.email_oauth_client_secret, s.email_oauth_refresh_token or "",
                                s.email_oauth_token_url)
    address = account.address or (s.email_address or "").lower()
    if not address:
        missing.append("EMAIL_ADDRESS (or the account's address)")
    if missing:
        log.warning("email account %s is off: set %s", account.id, ", ".join(missing))
        return None
    sent = s.email_sent_folder
    return MailboxConfig(
        account=account.id, address=address.lower(),
        imap_host=s.email_imap_host or "", imap_port=s.email_imap_port,
        imap_user=s.email_imap_user or "", imap_password=s.email_imap_password,
        imap_ssl=s.email_imap_ssl, smtp_host=s.email_smtp_host, smtp_port=s.email_smtp_port,
        smtp_user=s.email_smtp_user, smtp_password=s.email_smtp_password,
        smtp_starttls=s.email_smtp_starttls, folder=s.email_imap_folder,
        from_name=s.email_from_name or account.name, from_style=s.email_from_style,
        reply_all=s.email_reply_all,
        auth=s.email_auth, oauth=oauth,
        poll_seconds=s.email_poll_seconds, lookback_days=s.email_lookback_days,
        sent_folder="" if sent and sent.lower() == "none" else sent,
        max_attachment_bytes=int(s.email_max_attachment_mb * 1024 * 1024),
        max_message_bytes=int(s.email_max_message_mb * 1024 * 1024),
        use_idle=s.email_imap_idle,
    )


def build(runtime: Runtime) -> EmailIntegration | None:
    accounts = [a for a in runtime.accounts.values() if a.provider == "email"]
    own = frozenset(a.address.lower() for a in accounts if a.address)
    mailboxes: dict[str, Mailbox] = {}
    for account in accounts:
        cfg = mailbox_config(account, settings_for_account(runtime.config, runtime.settings,
                                                           account.id))
        if cfg is None:
            continue
        tokens = TokenSource(cfg.oauth) if cfg.oauth is not None else None
        bridge = EmailBridge(cfg, runtime.inbox, runtime.receive, runtime.files, own, tokens)
        sync = MailboxSync(cfg, bridge.handle_fetched, runtime.inbox,
                           lambda: runtime.leader.is_leader, tokens,
                           known=bridge.known_message_ids)
        mailboxes[account.id] = Mailbox(cfg, bridge, sync)
    if not mailboxes:
        return None

    async def send(ctx: OutboundContext) -> str:
        mailbox = mailboxes.get(ctx.account.id)
        if mailbox is None:
            raise PermanentError(f"email account {ctx.account.id!r} has no mailbox settings",
                                 "config")
        return await mailbox.bridge.send(ctx)

    async def lookup(ctx: OutboundContext) -> str | None:
        mailbox = mailboxes.get(ctx.account.id)
        return await mailbox.bridge.lookup(ctx) if mailbox is not None else CANNOT_TELL

    # The lookup asks the Sent folder whether a send a crash left unknown went out.
    handle, on_failure = send_handlers(runtime.inbox, "email", send, lookup=lookup)
    stop_event = asyncio.Event()
    tasks: list[asyncio.Task] = []

    async def start() -> None:
        stop_event.clear()
        if tasks:
            return
        for account_id, mailbox in mailboxes.items():
            tasks.append(asyncio.create_task(mailbox.sync.run(stop_event),
                                             name=f"email-sync-{account_id}"))

    async def stop() -> None:
        stop_event.set()
        running = list(tasks)
        tasks.clear()
        if running:
            await asyncio.gather(*running, return_exceptions=True)

    return EmailIntegration(name="email", handlers={KIND: handle},
                            failure_hooks={KIND: on_failure}, start=start, stop=stop,
                            mailboxes=mailboxes)
