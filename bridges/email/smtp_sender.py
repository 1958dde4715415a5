"""Sending one message over SMTP (smtplib, blocking: call it in a thread).

Maps SMTP outcomes onto core.delivery errors: 4xx and lost connections are worth a retry,
5xx is final (with the code and the server's text, shown in the thread).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage

from bridges.email.config import MailboxConfig
from core.delivery import OutcomeUnknown, PermanentError, TransientError

log = logging.getLogger("threadline.email")


class SmtpAuthError(TransientError):
    """Login refused: with OAuth the token is refreshed and the send retried."""


def _error_for(code: int, text: bytes | str, what: str) -> TransientError | PermanentError:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    message = f"{what}: {' '.join(message.split())}"
    if 400 <= code < 500:
        return TransientError(message, str(code))
    return PermanentError(message, str(code))


def _connect(cfg: MailboxConfig) -> smtplib.SMTP:
    if cfg.smtp_port == 465:  # implicit TLS (SMTPS)
        return smtplib.SMTP_SSL(cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout_seconds,
                                context=ssl.create_default_context())
    smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout_seconds)
    smtp.ehlo()
    if cfg.smtp_starttls:
        smtp.starttls(context=ssl.create_default_context())
        smtp.ehlo()
    return smtp


def _login(smtp: smtplib.SMTP, cfg: MailboxConfig, access_token: str | None) -> None:
    if access_token is not None:
        user = cfg.smtp_login
        smtp.auth("XOAUTH2", lambda challenge=None: f"user={user}\x01auth=Bearer "
                  f"{access_token}\x01\x01", initial_response_ok=True)
    elif cfg.smtp_secret and smtp.has_extn("auth"):
        smtp.login(cfg.smtp_login, cfg.smtp_secret)


def send_mail(cfg: MailboxConfig, msg: EmailMessage, recipients: list[str],
              access_token: str | None = None) -> None:
    if not cfg.smtp_host:
        raise PermanentError("no SMTP server configured (EMAIL_SMTP_HOST)", "config")
    try:
        smtp = _connect(cfg)
    except (OSError, smtplib.SMTPException) as exc:
        raise TransientError(f"cannot reach the SMTP server: {exc}", "connect") from exc
    handed_over = False
    try:
        try:
            _login(smtp, cfg, access_token)
        except smtplib.SMTPAuthenticationError as exc:
            raise SmtpAuthError(f"SMTP login refused: {exc.smtp_error!r}",
                                str(exc.smtp_code)) from exc
        handed_over = True
        refused = smtp.send_message(msg, from_addr=cfg.address, to_addrs=recipients)
        if recipients and recipients[0] in refused:  # the customer it is for: not sent
            code, text = refused[recipients[0]]
            raise _error_for(code, text, "recipient refused")
        if refused:
            # Only copies were refused: the customer has it, and a retry would send it
            # twice to everyone else. The refused Cc is logged.
            log.warning("SMTP server refused %d of %d recipients (%s); sent to the others",
                        len(refused), len(recipients), ", ".join(sorted(refused)))
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        raise _error_for(code, text, "recipient refused") from exc
    except smtplib.SMTPResponseException as exc:
        raise _error_for(exc.smtp_code, exc.smtp_error, "SMTP server refused") from exc
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        if handed_over:  # the server may have taken the mail before the line broke
            raise OutcomeUnknown(f"SMTP connection lost while sending: {exc}",
                                 "connection") from exc
        raise TransientError(f"SMTP connection lost: {exc}", "connection") from exc
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
