"""What a failed HTTP request to a provider means for a send: never sent, or maybe sent."""

from __future__ import annotations

import httpx

from core.delivery import OutcomeUnknown, TransientError

# Failures before any byte of the request left: the provider cannot have it.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def transport_error(exc: httpx.HTTPError, provider: str) -> TransientError:
    """A connect failure is an ordinary transient error; a request that broke after it was
    sent (no answer, a read timeout, a dropped connection) may have been carried out."""
    if isinstance(exc, NOT_SENT):
        return TransientError(f"{provider} unreachable: {exc!r}")
    return OutcomeUnknown(f"{provider} gave no answer ({exc!r}); the request may have arrived")
