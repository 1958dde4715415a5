"""The reply policy: what a staff message written in a front end's conversation thread
becomes. It is the only place that decides whether staff text may reach a customer.

Front ends (Slack threads, Telegram topics) describe what they saw in a `StaffText`
(plain text plus who it addresses) and ask `decide`, for new messages and for edits; the
use cases apply the decision. When in doubt the answer is internal: a reply held back can
still be sent with one click, a note that reached a customer cannot be taken back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class ThreadReplies(StrEnum):
    """THREADLINE_THREAD_REPLIES: what a plain staff message in a thread does."""

    SEND = "send"  # it is a reply to the customer (after the undo window), with the guards
    EXPLICIT = "explicit"  # internal unless sent with ">>" or the "Send to customer" button
    OFF = "off"  # alerts only: nothing written in the thread reaches the customer


class Disposition(StrEnum):
    REPLY = "reply"  # queued for the customer, withdrawable until its send time
    NOTE = "note"  # a private note, asked for with a `note:` prefix
    INTERNAL = "internal"  # kept as an internal note (colleague chatter, explicit/off mode)
    COMMAND = "command"  # addressed to the bot: the front end runs it, nothing is stored
    IGNORE = "ignore"  # nothing to store (no text, no files)


class Change(StrEnum):
    """What an edit of an already recorded staff message does."""

    EDIT_REPLY = "edit_reply"  # the queued reply goes out with the new text
    TO_NOTE = "to_note"  # the queued reply is withdrawn and kept as a note (new text)
    EDIT_NOTE = "edit_note"  # a plain note with the new text (no longer sendable on request)
    EDIT_HELD = "edit_held"  # still held back, sendable on request, with the new text
    TOO_LATE = "too_late"  # the reply already left: the customer has the original text


class Recorded(StrEnum):
    """What the edited message is now, as the use case found it."""

    QUEUED_REPLY = "queued_reply"  # a reply still inside its undo window
    SENT_REPLY = "sent_reply"  # a reply on its way or delivered (or failed)
    HELD = "held"  # kept internal by the policy, staff may still send it on request
    NOTE = "note"  # any other internal message: note, withdrawn reply


class HoldReason(StrEnum):
    MENTION = "mention"  # it mentions someone in the workspace: talk among colleagues
    BROADCAST = "broadcast"  # also posted to the channel: meant for the team
    EXPLICIT = "explicit"  # explicit mode: thread messages are internal by default
    OFF = "off"  # off mode: nothing is sent from the thread


HOLD_EXPLANATIONS = {
    HoldReason.MENTION: "it mentions a colleague",
    HoldReason.BROADCAST: "it was also sent to the channel",
    HoldReason.EXPLICIT: "replies in this inbox are sent only on request",
    HoldReason.OFF: "this inbox does not send replies written in the thread",
}


@dataclass(frozen=True, slots=True)
class StaffText:
    """One staff message as a front end saw it."""

    text: str  # plain text as typed (front-end links and mentions already made readable)
    addresses_bot: bool = False  # mentions the bot / is a bot command
    mentions_people: bool = False  # mentions a user, a user group, @here or @channel
    broadcast: bool = False  # also posted to the whole channel
    has_files: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    disposition: Disposition
    body: str  # what to store: markers such as `note:` or `>>` removed
    hold: HoldReason | None = None  # why an INTERNAL message was kept back
    change: Change | None = None  # set when deciding about an edit

    @property
    def can_send_anyway(self) -> bool:
        """Held messages may still be sent by an explicit click, except in off mode."""
        return self.disposition is Disposition.INTERNAL and self.hold not in (None, HoldReason.OFF)

    @property
    def is_reply(self) -> bool:
        return self.disposition is Disposition.REPLY


# Formatting staff may wrap a marker in: bold, italics, strike, code, quotes, spaces.
_MARKUP = r"[\s*_~`>]*"
_NOTE_WORD = r"(?:note|nota|internal|interno|interna)"
_NOTE = re.compile(
    rf"^{_MARKUP}(?:{_NOTE_WORD}{_MARKUP}[:：\-–—]|:lock:|🔒|\[note\]|\(note\)){_MARKUP}",
    re.IGNORECASE,
)
_SEND = re.compile(r"^\s*>>(?!>)\s*")


def note_body(text: str) -> str | None:
    """The note's text when `text` starts with a note marker, else None."""
    match = _NOTE.match(text or "")
    if match is None:
        return None
    body = text[match.end():].strip()
    # `*note: refund denied*`: the emphasis opened before the marker closes after the text.
    opened = set(match.group(0)) & set("*_~`")
    return body.rstrip("".join(opened)).strip() if opened else body


def decide(
    message: StaffText, mode: ThreadReplies, recorded: Recorded | None = None
) -> Decision:
    """For a new message (`recorded` None) or an edit of one recorded as `recorded`."""
    decision = _classify(message, mode)
    if recorded is None:
        return decision
    if recorded is Recorded.SENT_REPLY:
        # Nothing of the edit reaches the customer: they have what was sent.
        return Decision(Disposition.IGNORE, decision.body, decision.hold, Change.TOO_LATE)
    body = decision.body or (message.text or "").strip()
    if recorded is Recorded.NOTE:
        # An edit never lets a note out: whatever the new text says, it stays internal.
        return Decision(Disposition.NOTE, body, None, Change.EDIT_NOTE)
    if recorded is Recorded.HELD:
        # Still sendable on request only while the text is not marked as a note.
        if decision.can_send_anyway:
            return Decision(Disposition.INTERNAL, body, decision.hold, Change.EDIT_HELD)
        if decision.is_reply:
            return Decision(Disposition.INTERNAL, body, None, Change.EDIT_HELD)
        return Decision(Disposition.NOTE, body, None, Change.EDIT_NOTE)
    if decision.is_reply:
        return Decision(Disposition.REPLY, decision.body, None, Change.EDIT_REPLY)
    return Decision(Disposition.NOTE, body, decision.hold, Change.TO_NOTE)


def _classify(message: StaffText, mode: ThreadReplies) -> Decision:
    text = (message.text or "").strip()
    if message.addresses_bot:
        return Decision(Disposition.COMMAND, text)
    note = note_body(text)
    if note is not None:
        return Decision(Disposition.NOTE, note)
    if not text and not message.has_files:
        return Decision(Disposition.IGNORE, "")
    if mode is ThreadReplies.OFF:
        return Decision(Disposition.INTERNAL, text, HoldReason.OFF)
    explicit = _SEND.match(text)
    if explicit is not None:
        body = text[explicit.end():].strip()
        if not body and not message.has_files:
            return Decision(Disposition.IGNORE, "")
        return Decision(Disposition.REPLY, body)
    if message.mentions_people:
        return Decision(Disposition.INTERNAL, text, HoldReason.MENTION)
    if message.broadcast:
        return Decision(Disposition.INTERNAL, text, HoldReason.BROADCAST)
    if mode is ThreadReplies.EXPLICIT:
        return Decision(Disposition.INTERNAL, text, HoldReason.EXPLICIT)
    return Decision(Disposition.REPLY, text)
