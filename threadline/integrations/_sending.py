"""The send path every channel bridge shares: load what to send, send it once, record it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from core.delivery import CANNOT_TELL, OutcomeUnknown, PermanentError, TransientError
from core.model import DeliveryStatus
from core.usecases import Inbox, OutboundContext

# Sends the message and returns the provider's message id, or the ids of all its parts
# (first part first) when it went out as several. Raises core.delivery errors.
SendFunction = Callable[[OutboundContext], Awaitable[str | list[str]]]


class PartProgress:
    """Handed to multi-part senders: the parts already sent (skip them on a retry) and a
    callback recording each part as soon as the provider accepted it."""

    def __init__(self, inbox: Inbox, message_id: int, surface: str, sent: list[str]) -> None:
        self.inbox, self.message_id, self.surface = inbox, message_id, surface
        self.sent = list(sent)

    async def part_sent(self, provider_id: str) -> None:
        await self.inbox.record_sent_part(self.message_id, self.surface, provider_id)
        self.sent.append(provider_id)


# Asks the provider whether an attempt whose outcome is unknown (the worker stopped during
# it) did send the message: its provider id, None when it certainly did not, or CANNOT_TELL.
# Without a lookup (or when it cannot tell) the message is sent again, marked "maybe twice".
LookupFunction = Callable[[OutboundContext], Awaitable[str | None]]


def send_handlers(
    inbox: Inbox, surface: str, send: SendFunction, *, multipart: bool = False,
    lookup: LookupFunction | None = None,
) -> tuple[Callable[[Any], Awaitable[None]], Callable[[Any, PermanentError], Awaitable[None]]]:
    """`multipart`: `send(ctx, progress)` sends parts one by one (WhatsApp carries one
    attachment per message) and reports each through `progress.part_sent`."""

    async def handle(row) -> None:
        # The intent is committed before the provider is called, so a crash at any point
        # leaves either "not begun" or "begun, outcome unknown" behind, never a silent gap.
        ctx = await inbox.begin_send(int(row.payload["message_id"]))
        if ctx is None:  # withdrawn (undo), made a note, or already recorded as sent
            return
        maybe_twice = False
        if ctx.unsure:
            found = await lookup(ctx) if lookup is not None else CANNOT_TELL
            if found not in (None, CANNOT_TELL):
                await inbox.mark_sent(ctx.message.id, surface, found)
                return
            maybe_twice = found == CANNOT_TELL
        try:
            if multipart:
                progress = PartProgress(inbox, ctx.message.id, surface,
                                        ctx.message.meta.get("sent_parts", []))
                await send(ctx, progress)
                ids = progress.sent
            else:
                sent = await send(ctx)
                ids = [sent] if isinstance(sent, str) else list(sent)
        except OutcomeUnknown:
            raise  # it may have gone: the attempt stays begun, the next one checks
        except (TransientError, PermanentError):  # RetryAfter is a TransientError
            await inbox.send_attempt_failed(ctx.message.id)  # the provider said no
            raise
        await inbox.mark_sent(ctx.message.id, surface, ids[0], tuple(ids[1:]),
                              maybe_twice=maybe_twice)

    async def on_permanent_failure(row, error: PermanentError) -> None:
        await inbox.record_delivery(
            int(row.payload["message_id"]), DeliveryStatus.FAILED, error.code, error.text
        )

    return handle, on_permanent_failure
