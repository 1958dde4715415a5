"""Receiving a customer message: dedupe, thread, reopen, store, notify — one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.addresses import InboundAddress, inbound_address
from core.automation.cascade import Event, Facts
from core.automation.contract import Trigger
from core.effects import fetch_media
from core.errors import InvalidInput
from core.inbound import InboundMessage, InboundResult
from core.model import (
    Actor,
    Channel,
    Contact,
    Conversation,
    Direction,
    Message,
    MessageKind,
    Status,
)
from core.ports import Link, UnitOfWork
from core.rules import on_customer_message
from core.subjects import base_subject, is_reply_subject
from core.usecases.analysis import analyze_message, worth_analysing
from core.usecases.base import UseCaseBase

# A WhatsApp message shortly after a conversation was resolved continues it (the customer
# is usually answering the last reply); after this long it starts a fresh conversation.
REOPEN_RESOLVED_WITHIN = timedelta(days=7)
SUBJECT_FALLBACK_WITHIN = timedelta(days=30)
MAX_CHAT_ID = 200  # the conversations.provider_thread_id column
BATCH_ATTEMPTS = 3  # a lost race is seen by the next attempt; more would be a bug
# Messages per transaction in receive_many: each holds its senders' locks (PostgreSQL's
# lock table is bounded) and a 3 MB delivery can carry thousands of messages.
MAX_BATCH = 100


def thread_surface(provider: str) -> str:
    return f"{provider}:thread"


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def contact_lock(channel: Channel, address: str) -> str:
    return f"contact:{channel.value}:{address}"


@dataclass(frozen=True, slots=True)
class _Checked:
    msg: InboundMessage
    address: InboundAddress
    at: datetime

    @property
    def locks(self) -> set[str]:
        return {contact_lock(self.msg.channel, a) for a in self.address.all}


class InboundUseCases(UseCaseBase):
    async def receive(self, msg: InboundMessage) -> InboundResult:
        checked = self._check(msg)
        async with self.ctx.uow_factory() as uow:
            await self._lock(uow, checked.locks)
            result = await self._store(uow, checked)
            if result is None:
                # Another delivery of the same message won the race: keep its result.
                await uow.rollback()
                return await self._duplicate(msg)
            await uow.commit()
        return result

    async def receive_many(
        self, messages: Sequence[InboundMessage]
    ) -> list[InboundResult | InvalidInput]:
        """`receive` for each message in order, in one transaction per MAX_BATCH messages
        (one delivery of a provider). A message the core refuses gets its InvalidInput in
        its place and the others go on; any other failure rolls the transaction back and
        is raised (the provider retries; dedupe makes that harmless)."""
        out: list = [None] * len(messages)
        batch: list[tuple[int, _Checked]] = []
        for i, msg in enumerate(messages):
            try:
                batch.append((i, self._check(msg)))
            except InvalidInput as exc:
                out[i] = exc
        for start in range(0, len(batch), MAX_BATCH):
            chunk = batch[start:start + MAX_BATCH]
            for _ in range(BATCH_ATTEMPTS):
                if await self._store_batch(chunk, out):
                    break
            else:
                raise RuntimeError("inbound messages kept losing provider-id races")
        return out

    async def _store_batch(self, batch: list[tuple[int, _Checked]], out: list) -> bool:
        """One transaction. Links are looked up first, under all the batch's contact
        locks, so duplicates (stored before or earlier in the batch) write nothing and
        need no rollback. False, rolled back: a claim was lost anyway, to a concurrent
        delivery of the same id under another sender's lock; running again finds it."""
        async with self.ctx.uow_factory() as uow:
            await self._lock(uow, set().union(*(c.locks for _, c in batch)))
            known: dict[tuple[str, str], Link] = {}
            for provider in {c.msg.provider for _, c in batch}:
                ids = [c.msg.provider_message_id for _, c in batch if c.msg.provider == provider]
                for link in await uow.links.find_many(provider, ids):
                    known[(provider, link.external_id)] = link
            for i, checked in batch:
                key = (checked.msg.provider, checked.msg.provider_message_id)
                if key in known:
                    link = known[key]
                    out[i] = InboundResult(link.conversation_id, link.message_id, duplicate=True)
                    continue
                result = await self._store(uow, checked)
                if result is None:
                    return False
                out[i] = result
                known[key] = Link(*key, result.conversation_id, result.message_id)
            await uow.commit()
        return True

    async def _duplicate(self, msg: InboundMessage) -> InboundResult:
        async with self.ctx.uow_factory() as uow:
            link = await uow.links.find(msg.provider, msg.provider_message_id)
        if link is None:  # pragma: no cover - the claim failed, so the link exists
            raise InvalidInput("duplicate message vanished during dedupe")
        return InboundResult(link.conversation_id, link.message_id, duplicate=True)

    def _check(self, msg: InboundMessage) -> _Checked:
        account = self.ctx.account(msg.account)
        if account.channel is not msg.channel:
            raise InvalidInput(
                f"account {account.id!r} is a {account.channel} account, not {msg.channel}"
            )
        if not (msg.provider_message_id or "").strip():
            raise InvalidInput("an inbound message needs its provider message id")
        return _Checked(msg, inbound_address(msg.channel, msg.sender), _aware(msg.received_at))

    @staticmethod
    async def _lock(uow: UnitOfWork, keys: set[str]) -> None:
        # One person's deliveries take turns from here to commit: two first messages at
        # once would otherwise both find no contact (a unique violation) or no open
        # conversation (two opened). Sorted, so two holders never wait on each other.
        for key in sorted(keys):
            await uow.lock(key)

    async def _store(self, uow: UnitOfWork, checked: _Checked) -> InboundResult | None:
        """Thread, reopen, store and notify one message in `uow` (its contact locks
        held); None when its provider id turns out to be taken (then roll back)."""
        msg, at = checked.msg, checked.at
        contact = await self._contact(uow, msg, checked.address)
        conv, created = await self._thread(uow, msg, contact, at)
        reopened = False
        chat = msg.sender.strip()
        if msg.channel is Channel.WHATSAPP and len(chat) <= MAX_CHAT_ID:
            # The chat as the provider names it (wa_id), which the E.164 address may
            # not be (Mexico's 521, Brazil's missing ninth digit): replies go there.
            conv.provider_thread_id = chat
        if created:
            conv.last_customer_message_at = at
            conv.last_activity_at = at
            conv = await uow.conversations.add(conv)
        else:
            previous = conv.status
            reopened = on_customer_message(conv, at, automated=msg.automated)
            await uow.conversations.save(conv)
            if reopened:
                action = "woken" if previous is Status.SNOOZED else "reopened"
                await self._audit(uow, conv.id, action, Actor.contact(contact.id))
        assert conv.id is not None
        joined = (not created and contact.id != conv.contact_id
                  and contact.id not in await uow.messages.contact_authors(conv.id))
        if joined:  # someone new writes in it: a contact of the conversation from now on
            await self._audit(uow, conv.id, "participant_added", Actor.contact(contact.id),
                              address=contact.address)
        message = await uow.messages.add(
            Message(
                conversation_id=conv.id,
                direction=Direction.IN,
                kind=MessageKind.MESSAGE,
                author=Actor.contact(contact.id),
                body=msg.body or "",
                created_at=at,
                body_html=msg.body_html,
                subject=msg.subject,
                attachments=list(msg.attachments),
                meta={**msg.meta, "automated": msg.automated} if msg.automated else msg.meta,
            )
        )
        link = Link(msg.provider, msg.provider_message_id, conv.id, message.id)
        if not await uow.links.claim(link):
            return None
        if created and msg.provider_thread_id:
            await uow.links.claim(
                Link(thread_surface(msg.provider), msg.provider_thread_id, conv.id, None)
            )
        if created:
            await self._notify(uow, "conversation_opened", conv.id)
        elif reopened or joined:
            await self._notify(uow, "conversation_changed", conv.id,
                               action="reopened" if reopened else "participant_added")
        await self._notify(uow, "message_added", conv.id, message_id=message.id)
        # Files the bridge could not fetch inside the webhook's ack: queued with the
        # message, so a crash after the 200 cannot lose them.
        await self._emit(uow, [
            fetch_media(msg.provider, conv.id, message.id, i)
            for i, attachment in enumerate(message.attachments)
            if attachment.pending_ref is not None
        ])
        if msg.account in self.ctx.ai_accounts and worth_analysing(message):
            await self._emit(uow, [analyze_message(conv.id, message.id)])
        await self._automate(uow, conv, self._events(checked, contact, created, reopened),
                             self._inbound_facts(checked, conv))
        return InboundResult(conv.id, message.id, False, created, reopened)

    @staticmethod
    def _events(checked: _Checked, contact: Contact, created: bool,
                reopened: bool) -> list[Event]:
        msg, actor = checked.msg, Actor.contact(contact.id)
        kind = msg.meta.get("type") if msg.channel is Channel.WHATSAPP else None
        said = {"text": msg.body or "", "automated": msg.automated,
                "message_type": kind if isinstance(kind, str) else None}
        events = [Event(Trigger.CONVERSATION_OPENED, actor, **said)] if created else []
        events.append(Event(Trigger.MESSAGE_RECEIVED, actor, **said))
        if reopened:
            events.append(Event(Trigger.STATUS_CHANGED, actor, status_to=Status.OPEN))
        return events

    def _inbound_facts(self, checked: _Checked, conv: Conversation) -> Facts:
        own = self.ctx.own_addresses
        channel = checked.msg.channel
        return Facts(now=checked.at, contact_is_customer=conv.customer_id is not None,
                     from_us=any((channel, a) in own for a in checked.address.all))

    async def _contact(
        self, uow: UnitOfWork, msg: InboundMessage, address: InboundAddress
    ) -> Contact:
        """Find or create the sender's contact; contacts stored under an alias of the
        address are the same person: the first found takes the address, others merge."""
        contact = await uow.contacts.by_address(msg.channel, address.address)
        for alias in address.aliases:
            found = await uow.contacts.by_address(msg.channel, alias)
            if found is None:
                continue
            if contact is None:
                previous, found.address = found.address, address.address
                await uow.contacts.save(found)
                await self._audit(uow, None, "contact_readdressed", Actor.system(),
                                  contact_id=found.id, previous=previous, address=found.address)
                contact = found
            else:
                await self._merge(uow, found, contact)
        if contact is None:
            return await uow.contacts.add(
                Contact(msg.channel, address.address, msg.sender_name or "")
            )
        if msg.sender_name and not contact.name:
            contact.name = msg.sender_name
            await uow.contacts.save(contact)
        return contact

    async def _merge(self, uow: UnitOfWork, duplicate: Contact, kept: Contact) -> None:
        """Everything of `duplicate` moves to `kept`, in the caller's transaction; what
        `kept` already has (name, customer) wins, so a merge never overwrites a choice."""
        assert duplicate.id is not None and kept.id is not None
        moved = await uow.conversations.reassign_contact(duplicate.id, kept.id)
        kept.name = kept.name or duplicate.name
        if kept.customer_id is None:
            kept.customer_id = duplicate.customer_id
        await uow.contacts.merge(duplicate.id, kept)
        detail = {"from_contact": duplicate.id, "from_address": duplicate.address,
                  "into_contact": kept.id, "into_address": kept.address,
                  "from_customer": duplicate.customer_id}
        for conv_id in moved:
            await self._audit(uow, conv_id, "contact_merged", Actor.system(), **detail)
            await self._notify(uow, "conversation_changed", conv_id, action="contact_merged")
        if not moved:
            await self._audit(uow, None, "contact_merged", Actor.system(), **detail)

    async def _thread(
        self, uow: UnitOfWork, msg: InboundMessage, contact: Contact, at: datetime
    ) -> tuple[Conversation, bool]:
        """Find the conversation this message belongs to, or a new one (not yet stored)."""
        assert contact.id is not None
        conv = None
        if msg.channel.value == "email":
            conv = await self._email_thread(uow, msg)
            if conv is None:
                conv = await self._subject_fallback(uow, msg, contact, at)
        else:
            latest = await uow.conversations.latest_for_contact(msg.account, contact.id)
            if latest is not None and (
                latest.status is not Status.RESOLVED
                or (latest.resolved_at and at - latest.resolved_at <= REOPEN_RESOLVED_WITHIN)
            ):
                conv = latest
        if conv is not None:
            return conv, False
        return (
            Conversation(
                channel=msg.channel,
                account=msg.account,
                contact_id=contact.id,
                created_at=at,
                subject=msg.subject,
                customer_id=contact.customer_id,
                provider_thread_id=msg.provider_thread_id,
            ),
            True,
        )

    async def _subject_fallback(
        self, uow: UnitOfWork, msg: InboundMessage, contact: Contact, at: datetime
    ) -> Conversation | None:
        """Last resort for replies whose headers were lost (some clients, forwards): a
        "Re:" subject matching the same contact's latest conversation on this account,
        recently active. Careful on purpose: a wrong merge is worse than a new thread."""
        if not is_reply_subject(msg.subject) or not base_subject(msg.subject):
            return None
        assert contact.id is not None
        latest = await uow.conversations.latest_for_contact(msg.account, contact.id)
        if latest is None or base_subject(latest.subject) != base_subject(msg.subject):
            return None
        last = latest.last_activity_at or latest.created_at
        return latest if at - last <= SUBJECT_FALLBACK_WITHIN else None

    async def _email_thread(self, uow: UnitOfWork, msg: InboundMessage) -> Conversation | None:
        # In-Reply-To first, then References from the newest back, then the provider thread.
        candidates = [i for i in [msg.in_reply_to, *reversed(msg.references)] if i]
        links = []
        if candidates:
            links.append(await uow.links.find_any(msg.provider, candidates))
        if msg.provider_thread_id:
            links.append(await uow.links.find(thread_surface(msg.provider), msg.provider_thread_id))
        for link in links:
            if link is None or link.conversation_id is None:
                continue
            conv = await uow.conversations.get(link.conversation_id)
            if conv is not None and conv.account == msg.account:
                return conv
        return None
