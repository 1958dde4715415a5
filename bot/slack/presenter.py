"""Core objects -> Slack view models (names, Slack ids and times resolved here)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.slack.views.models import (
    AiActionView,
    AiNoteView,
    AttachmentView,
    CardView,
    ConversationRow,
    MessageView,
    SendStatusView,
    TagView,
)
from bot.slack.views.text import clock
from core.analysis import Analysis
from core.clock import Clock
from core.errors import WINDOW_CLOSED_CODES
from core.model import Account, ActorType, Agent, Contact, Conversation, Message, MessageKind
from core.reply_policy import HOLD_EXPLANATIONS, HoldReason
from core.rules import whatsapp_window_closes_at
from core.usecases import ConversationSummary, Inbox
from core.usecases.staff_messages import held_reason

URGENT_TAG = "urgent"


def first_line(text: str, limit: int = 200) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:limit]
    return ""


def reactions_of(message: Message) -> tuple[str, ...]:
    """meta['reactions'] maps who reacted to their emoji (WhatsApp keeps one per person)."""
    reactions = message.meta.get("reactions") or {}
    values = reactions.values() if isinstance(reactions, dict) else reactions
    return tuple(str(v) for v in values if v)


def _duration(message: Message) -> str | None:
    durations = message.meta.get("durations")
    seconds = durations.get("0") if isinstance(durations, dict) else None
    return clock(float(seconds)) if isinstance(seconds, int | float) else None


def _referral(message: Message) -> str | None:
    """Meta's `referral` (a click-to-WhatsApp ad or post) as one line: what and where."""
    ref = message.meta.get("referral")
    if not isinstance(ref, dict):  # Twilio passes the same as Referral* form fields
        meta = message.meta
        ref = {"headline": meta.get("ReferralHeadline"), "body": meta.get("ReferralBody"),
               "source_url": meta.get("ReferralSourceUrl")}
        if not any(ref.values()):
            return None
    what = "an ad" if str(ref.get("source_type") or "ad") == "ad" else "a post"
    parts = [str(ref.get(k) or "").strip() for k in ("headline", "body", "source_url")]
    return f"Came from {what}: " + " · ".join(p for p in parts if p) if any(parts) else (
        f"Came from {what}")


def _media_kind(message: Message) -> str | None:
    """WhatsApp's own type for a media message (a voice note is "audio" with voice set)."""
    if message.direction.value != "in" or not message.attachments:
        return None
    if message.meta.get("voice"):
        return "voice"
    kind = str(message.meta.get("type") or "")
    if kind in ("image", "video", "audio", "sticker", "document"):
        return kind
    ctype = message.attachments[0].content_type  # Twilio says only the file's type
    if ctype == "image/webp":
        return "sticker"
    return next((k for k in ("image", "video", "audio") if ctype.startswith(k + "/")),
                "document")


def _first_text(message: Message) -> str | None:
    """What an edited customer message said first (meta.edits, oldest first)."""
    edits = message.meta.get("edits")
    if isinstance(edits, list) and edits and isinstance(edits[0], dict):
        return str(edits[0].get("body") or "")
    return None


def _named(contact: Contact) -> str:
    if contact.name and contact.name != contact.address:
        return f"{contact.name} <{contact.address}>"
    return contact.address


def contact_name(contact: Contact | None) -> str:
    if contact is None:
        return "Unknown contact"
    return contact.name or contact.address


class Presenter:
    def __init__(self, inbox: Inbox, accounts: Mapping[str, Account], clock: Clock) -> None:
        self.inbox, self.accounts, self.clock = inbox, accounts, clock

    async def card(self, details: ConversationSummary) -> CardView:
        conv, contact = details.conversation, details.contact
        colours = {t.name: t.colour for t in await self.inbox.tags()}
        first_in = details.first_inbound
        account = self.accounts.get(conv.account)
        return CardView(
            conversation_id=conv.id,
            channel=conv.channel.value,
            account_name=account.name if account else conv.account,
            contact_name=contact_name(contact),
            contact_address=contact.address if contact else "",
            status=conv.status.value,
            now=self.clock.now(),
            subject=conv.subject,
            preview=first_line(first_in.body) if first_in else "",
            customer_name=details.customer.name if details.customer else None,
            assignee_slack_id=details.assignee.slack_user_id if details.assignee else None,
            assignee_name=details.assignee.name if details.assignee else None,
            team_name=await self._team_name(conv.team_id),
            tags=tuple(TagView(t, colours.get(t, "#9e9e9e")) for t in conv.tags),
            snoozed_until=conv.snoozed_until,
            window_closes_at=whatsapp_window_closes_at(conv),
            last_activity_at=conv.last_activity_at,
            urgent=URGENT_TAG in conv.tags,
            participants=tuple(_named(c) for c in details.participants),
        )

    async def _team_name(self, team_id: int | None) -> str | None:
        if team_id is None:
            return None
        return next((t.name for t in await self.inbox.teams() if t.id == team_id), None)

    def message(
        self, message: Message, contact: Contact | None, agents: Mapping[int, Agent],
        channel: str = "",
    ) -> MessageView:
        author = message.author
        slack_id = automatic = None
        if author.type is ActorType.CONTACT:
            name = contact_name(contact)
        elif author.type is ActorType.AGENT and isinstance(author.id, int) and author.id in agents:
            agent = agents[author.id]
            name, slack_id = agent.name, agent.slack_user_id
        elif author.type is ActorType.AUTOMATION:
            automatic = str(message.meta.get("automatic") or author.id or "")
            name = f"Automation {automatic}" if automatic else "Automation"
        else:
            name = "Threadline"
        return MessageView(
            message_id=message.id,
            kind=message.kind.value,
            direction=message.direction.value,
            author_name=name,
            body=message.body,
            created_at=message.created_at,
            author_slack_id=slack_id,
            subject=message.subject if message.direction.value == "in" else None,
            attachments=tuple(
                AttachmentView(a.filename, a.content_type, a.size, a.storage_key is not None,
                               a.pending_ref is not None)
                for a in message.attachments
            ),
            quoted=message.meta.get("quoted"),
            channel=channel,
            reactions=reactions_of(message),
            automatic=automatic,
            auto_reply=automatic is not None and bool(message.meta.get("auto_reply")),
            machine_sent=message.direction.value == "in" and bool(message.meta.get("automated")),
            edited_from=_first_text(message),
            revoked=bool(message.meta.get("revoked")),
            media_kind=_media_kind(message),
            referral=_referral(message),
            media_duration=_duration(message),
        )

    @staticmethod
    def ai_note(message: Message) -> AiNoteView | None:
        """The stored analysis of an `ai_analysis` message; None when it has none (a note
        from before analyses were stored whole), which is shown as a plain note."""
        raw = message.meta.get("analysis")
        if not isinstance(raw, dict):
            return None
        try:
            analysis = Analysis.from_dict(raw)
        except (KeyError, ValueError, TypeError):
            return None
        return AiNoteView(
            message_id=message.id or 0, conversation_id=message.conversation_id,
            summary=analysis.summary, sentiment=analysis.sentiment.value,
            urgent=analysis.urgent, urgent_reason=analysis.urgent_reason,
            references=tuple((r.kind.value, r.value) for r in analysis.references),
            applied_tags=tuple(str(t) for t in message.meta.get("applied_tags") or ()),
            actions=tuple(AiActionView(a.kind.value, a.value, a.text, a.url)
                          for a in analysis.actions),
            engine=analysis.engine)

    def send_status(self, message: Message, channel: str) -> SendStatusView:
        hold_reason = send_label = None
        if message.kind is MessageKind.NOTE:
            held = held_reason(message)
            if message.meta.get("withdrawn"):
                status = "withdrawn"
            elif message.meta.get("deleted"):
                status = "deleted"
            elif held is not None or message.meta.get("hold") == HoldReason.OFF.value:
                status = "held"
                reason = held or HoldReason.OFF
                hold_reason = HOLD_EXPLANATIONS[reason]
                if held is HoldReason.EXPLICIT:
                    send_label = "Send to customer"
                elif held is not None:
                    send_label = "Send to customer anyway"
            else:
                status = "note"
        else:
            status = (message.delivery_status.value if message.delivery_status else "queued")
        # An automation's message has no undo window: never a countdown or Undo on it.
        automatic = message.author.type is ActorType.AUTOMATION
        send_at = None if automatic else message.meta.get("send_at")
        return SendStatusView(
            message_id=message.id,
            status=status,
            now=self.clock.now(),
            send_at=datetime.fromisoformat(send_at) if send_at else None,
            error_code=message.error_code,
            error_text=message.error_text,
            channel=channel,
            reactions=reactions_of(message),
            hold_reason=hold_reason,
            send_label=send_label,
            maybe_twice=bool(message.meta.get("maybe_sent_twice")),
            conversation_id=message.conversation_id,
            window_closed=status == "failed" and message.error_code in WINDOW_CLOSED_CODES,
        )

    def row(self, conv: Conversation, contact: Contact | None, permalink: str | None,
            assignee: Agent | None = None) -> ConversationRow:
        return ConversationRow(
            conversation_id=conv.id,
            channel=conv.channel.value,
            status=conv.status.value,
            contact_name=contact_name(contact),
            subject_or_preview=conv.subject or "",
            waiting_since=conv.last_customer_message_at,
            permalink=permalink,
            assignee_name=assignee.name if assignee else None,
            tags=tuple(conv.tags),
        )
