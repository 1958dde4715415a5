"""Everything one mailbox needs, independent of how the process reads its settings."""

from __future__ import annotations

from dataclasses import dataclass

from bridges.email.oauth import OAuthConfig

MB = 1024 * 1024
ROUND_MESSAGES = 100  # messages per FETCH round at most, and per cursor save


@dataclass
class MailboxConfig:
    account: str
    address: str
    imap_host: str
    imap_user: str
    smtp_host: str | None = None
    imap_port: int = 993
    imap_password: str | None = None
    imap_ssl: bool = True
    smtp_port: int = 587
    smtp_user: str | None = None  # None: the IMAP user
    smtp_password: str | None = None  # None: the IMAP password
    smtp_starttls: bool = True
    folder: str = "INBOX"
    from_name: str = ""
    from_style: str = "account"  # "agent": "Ana at Support" for replies staff wrote
    reply_all: bool = True  # replies copy the others the customer's last mail went to
    auth: str = "password"
    oauth: OAuthConfig | None = None
    poll_seconds: float = 60.0
    lookback_days: int = 14
    sent_folder: str | None = None  # None: find the \Sent folder; "" : never append
    # The SMTP server files a copy in Sent itself (Gmail's does); None: tell by the hosts.
    sent_by_provider: bool | None = None
    # How long a provider may take to show a sent mail in Sent, before "absent" means unsent.
    sent_settle_seconds: float = 10.0
    max_attachment_bytes: int = 25 * MB
    max_message_bytes: int = 50 * MB  # larger mail is imported as its headers and a note
    fetch_round_bytes: int = 20 * MB  # bodies per FETCH round, by their RFC822.SIZE
    fetch_round_messages: int = ROUND_MESSAGES
    idle_renew_seconds: float = 540.0  # RFC 2177: re-issue IDLE before 29 min; servers cut ~10
    wait_slice_seconds: float = 15.0  # how often the worker re-checks leadership while idle
    use_idle: bool = True  # False forces polling even where the server has IDLE
    timeout_seconds: float = 60.0
    backoff_max_seconds: float = 300.0

    @property
    def smtp_login(self) -> str:
        return self.smtp_user or self.imap_user

    @property
    def smtp_secret(self) -> str | None:
        return self.smtp_password if self.smtp_password is not None else self.imap_password

    @property
    def is_gmail(self) -> bool:
        host = self.imap_host.lower()
        return self.auth == "xoauth2_google" or host.endswith(("gmail.com", "googlemail.com"))

    @property
    def sent_copies(self) -> str:
        """Who keeps the Sent copy: "provider", "own" (we APPEND it) or "none"."""
        if self.sent_folder == "":
            return "none"
        provider = self.sent_by_provider
        if provider is None:  # smtp.gmail.com files what it sends; a relay (smtp-relay.) not
            smtp = (self.smtp_host or "").lower()
            provider = self.is_gmail and smtp in ("smtp.gmail.com", "smtp.googlemail.com")
        if provider:
            return "provider"
        return "none" if self.is_gmail else "own"  # Gmail's IMAP, another SMTP: as before
