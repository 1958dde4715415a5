"""Side effects as data. Use cases write them to the outbox in the same transaction.

Kinds are `<target>:<event>`. Targets are the staff front ends (e.g. "slack"), the
customer channels' send paths ("send") and their media downloads ("fetch_media").
Ordering is per target and conversation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

SEND = "send"
FETCH_MEDIA = "fetch_media"


@dataclass(frozen=True, slots=True)
class Effect:
    kind: str
    order_key: str
    payload: dict = field(default_factory=dict)
    delay: timedelta = timedelta(0)

    @property
    def target(self) -> str:
        return self.kind.split(":", 1)[0]


def frontend_event(
    frontends: tuple[str, ...], event: str, conversation_id: int, **data
) -> list[Effect]:
    payload = {"conversation_id": conversation_id, **data}
    return [Effect(f"{fe}:{event}", f"{fe}:{conversation_id}", payload) for fe in frontends]


def send_message(provider: str, conversation_id: int, message_id: int, delay: timedelta) -> Effect:
    return Effect(
        f"{SEND}:{provider}",
        f"{SEND}:{conversation_id}",
        {"conversation_id": conversation_id, "message_id": message_id},
        delay,
    )


def fetch_media(provider: str, conversation_id: int, message_id: int, index: int) -> Effect:
    """Download attachment `index` of a stored customer message from its provider; the
    provider's bridge handles `fetch_media:<provider>`."""
    return Effect(
        f"{FETCH_MEDIA}:{provider}",
        f"{FETCH_MEDIA}:{conversation_id}",
        {"conversation_id": conversation_id, "message_id": message_id, "index": index},
    )
