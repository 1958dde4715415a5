"""Typed domain errors. Each message says what went wrong and, where possible, what to do."""

from __future__ import annotations


class DomainError(Exception):
    """Base class for every rule the core refuses to break."""

    code = "domain_error"


class NotFound(DomainError):
    code = "not_found"

    def __init__(self, what: str, key: object) -> None:
        self.what, self.key = what, key
        super().__init__(f"{what} {key!r} does not exist")


class InvalidInput(DomainError):
    code = "invalid_input"


class InvalidPhoneNumber(InvalidInput):
    code = "invalid_phone"

    def __init__(self, raw: str, detail: str | None = None) -> None:
        self.raw = raw
        why = f" ({detail})" if detail else ""
        super().__init__(
            f"{raw!r} is not a valid phone number{why}; "
            "write it in international E.164 form, e.g. +34600111222"
        )


class InvalidEmailAddress(InvalidInput):
    code = "invalid_email"

    def __init__(self, raw: str) -> None:
        self.raw = raw
        super().__init__(f"{raw!r} is not a valid email address")


class SnoozeInPast(InvalidInput):
    code = "snooze_in_past"

    def __init__(self, until: object, now: object) -> None:
        super().__init__(f"cannot snooze until {until}: that is not after now ({now})")


class InvalidTransition(DomainError):
    code = "invalid_transition"

    def __init__(self, conversation_id: int, status: str, action: str) -> None:
        self.conversation_id, self.status, self.action = conversation_id, status, action
        super().__init__(f"conversation {conversation_id} is {status}: cannot {action}")


# Provider error codes that mean the same thing, on send or in a later status report:
# Meta's 131047 ("re-engagement message") and Twilio's 63016 (outside the 24 h window).
WINDOW_CLOSED_CODES = frozenset({"131047", "63016"})


class WhatsAppWindowClosed(DomainError):
    """Free-form WhatsApp messages are only allowed within 24 h of the customer's last one."""

    code = "whatsapp_window_closed"

    def __init__(self, conversation_id: int, last_customer_message_at: object) -> None:
        self.conversation_id = conversation_id
        super().__init__(
            f"conversation {conversation_id}: the WhatsApp 24 h window is closed "
            f"(last customer message: {last_customer_message_at or 'never'}); "
            "send an approved template instead"
        )


class TemplateRequired(DomainError):
    code = "template_required"

    def __init__(self, reason: str) -> None:
        super().__init__(f"{reason}: start it with an approved template")


class TemplateVariablesMissing(InvalidInput):
    code = "template_variables_missing"

    def __init__(self, template: str, missing: list[str]) -> None:
        self.missing = missing
        super().__init__(f"template {template!r} needs values for: {', '.join(missing)}")


class UnknownAccount(NotFound):
    code = "unknown_account"

    def __init__(self, account: str) -> None:
        super().__init__("account", account)


class AccountCannotSend(DomainError):
    """The account's channel is not connected in this Threadline: a reply would wait
    forever, so it is refused with the reason instead."""

    code = "account_cannot_send"

    def __init__(self, account: str, provider: str) -> None:
        self.account, self.provider = account, provider
        super().__init__(
            f"account {account!r} cannot send: its {provider} connection is not configured "
            "(`threadline check-config` says which settings are missing)")


class TooLateToChange(DomainError):
    code = "too_late"

    def __init__(self, message_id: int, reason: str) -> None:
        self.message_id = message_id
        super().__init__(f"message {message_id} {reason}: it can no longer be changed")


class AlreadyRecorded(DomainError):
    """The same external message (e.g. a redelivered Slack event) was already recorded."""

    code = "already_recorded"

    def __init__(self, surface: str, external_id: str) -> None:
        self.surface, self.external_id = surface, external_id
        super().__init__(f"{surface} {external_id} was already recorded")


class PermissionDenied(DomainError):
    """The acting person's role does not allow this."""

    code = "permission_denied"

    def __init__(self, what: str, who: str) -> None:
        self.what, self.who = what, who
        super().__init__(f"only {who} may {what}")
