"""Errors an outbox handler raises, so the dispatcher knows whether to retry.

Like python-telegram-bot's RetryAfter: the type says what to do, the text says why.
"""

from __future__ import annotations


class DeliveryError(Exception):
    def __init__(self, text: str, code: str | None = None) -> None:
        self.text, self.code = text, code
        super().__init__(f"[{code}] {text}" if code else text)


class TransientError(DeliveryError):
    """Worth retrying later with backoff (network trouble, 5xx, timeouts)."""


class RetryAfter(TransientError):
    """The provider said when to come back (HTTP 429 Retry-After, throughput limits)."""

    def __init__(self, seconds: float, text: str = "rate limited", code: str | None = None) -> None:
        self.seconds = max(0.0, float(seconds))
        super().__init__(f"{text}; retry after {self.seconds:g}s", code)


class OutcomeUnknown(TransientError):
    """The request may have reached the provider: the connection broke after it was sent,
    or the answer never came. Retried like any transient error, but the attempt stays
    "begun": the next one looks the send up where the provider lets us, or marks it "may
    have been sent twice", instead of sending it again as if nothing had happened."""


class PermanentError(DeliveryError):
    """Retrying cannot help (bad request, window closed, invalid token): record and show it."""


# A provider asked whether an attempt whose outcome a crash left unknown did send: "it
# cannot tell" (as opposed to an id, or None for "it did not").
CANNOT_TELL = "\x00cannot tell"
