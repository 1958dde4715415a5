"""Outbox handlers that mirror conversations into Slack: one card per conversation, one
thread reply per message, the card updated on every change, delivery shown under replies.

Mappings live in the link table (surfaces below), so a restart or a retry never loses or
duplicates a thread. Rows arrive in per-conversation order (the outbox guarantees it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.slack.countdown import Countdown
from bot.slack.file_posts import (
    FILE,
    INTENT,
    MEDIA_POLL_SECONDS,
    MEDIA_WAIT_SECONDS,
    FilePosts,
    has_pending_files,
    stored_files,
)
from bot.slack.gateway import POST_EVENT, SlackGateway, post_payload
from bot.slack.presenter import Presenter, contact_name
from bot.slack.views import blocks as block_views
from bot.slack.views import card as card_views
from bot.slack.views import customer as customer_views
from bot.slack.views import thread as thread_views
from bot.slack.views.ai_note import ai_note_message
from bot.slack.workspace import AUTH_ERRORS
from core.delivery import PermanentError, RetryAfter
from core.model import ActorType, Agent, Direction, Message, MessageKind, Role
from core.ports import FileStore, Link
from core.usecases import Inbox

log = logging.getLogger("threadline.slack.mirror")

CARD = "slack:card"  # "<channel>:<ts>" of the parent message -> conversation
MSG = "slack:msg"  # "<channel>:<ts>" of a thread message -> message (mirrored or staff-written)
STATUS = "slack:status"  # "<channel>:<ts>" of the bot's delivery line under a reply -> message
FILE_POST = "slack:file_post"  # "<channel>:<ts>" of a post that also shares its files

COALESCE_MAX = 5  # customer messages per thread post at most
MAX_BLOCKS = 50  # Slack's limit per message
MAX_TEXT = 39_000

DELIVERY_REACTIONS = {"sent": "outbox_tray", "delivered": "white_check_mark", "read": "eyes",
                      "failed": "x"}


def ref(channel: str, ts: str) -> str:
    return f"{channel}:{ts}"


def split_ref(external_id: str) -> tuple[str, str]:
    channel, ts = external_id.split(":", 1)
    return channel, ts


def _joined(payloads: list[dict]) -> dict:
    """text and blocks of one thread post carrying these customer messages, in order."""
    blocks = [b for p in payloads for b in p["blocks"]]
    if len(blocks) > MAX_BLOCKS:  # grown since it was posted (a reaction, a failure note)
        blocks = blocks[:MAX_BLOCKS - 1] + [block_views.context(
            ":scissors: Slack shows no more of these messages in one post.")]
    return {"text": "\n".join(p["text"] for p in payloads)[:MAX_TEXT], "blocks": blocks}


class SlackMirror:
    def __init__(
        self,
        inbox: Inbox,
        gateway: SlackGateway,
        presenter: Presenter,
        files: FileStore,
        channel_for_account: Callable[[str], str | None],
        countdown_seconds: float = 0,
    ) -> None:
        self.inbox, self.slack, self.presenter = inbox, gateway, presenter
        self.files, self.channel_for_account = files, channel_for_account
        self.countdown = Countdown(inbox, gateway, presenter, presenter.clock, countdown_seconds)
        self.file_posts = FilePosts(inbox, gateway, files)

    def handlers(self) -> dict:
        return {
            "slack:conversation_opened": self.conversation_opened,
            "slack:message_added": self.message_added,
            "slack:conversation_changed": self.conversation_changed,
            "slack:snooze_ended": self.snooze_ended,
            "slack:delivery_status": self.delivery_status,
            "slack:message_changed": self.message_changed,
            "slack:notify": self.notify,
        }

    # -- handlers --------------------------------------------------------------------------

    async def conversation_opened(self, row) -> None:
        await self.ensure_card(int(row.payload["conversation_id"]))

    async def message_added(self, row) -> None:
        conv_id = int(row.payload["conversation_id"])
        message = await self.inbox.message(int(row.payload["message_id"]))
        channel, thread_ts = await self.ensure_card(conv_id)
        if message.meta.get("origin") == MSG:
            # Written in this thread by staff: Slack already shows it; add the marker that
            # says where it goes (to the customer, with Undo) or that it stays internal.
            await self._post_status(channel, thread_ts, message)
            return
        mirrored = {link.message_id for link in await self.inbox.links_of(conv_id, MSG)}
        if message.id in mirrored:  # before a crash or retry, or coalesced into another post:
            await self._follow_up_files(conv_id, channel, thread_ts, message)  # files still due
            return
        if message.direction is Direction.IN:
            waited = (self.presenter.clock.now() - row.created_at).total_seconds()
            if has_pending_files(message) and waited < MEDIA_WAIT_SECONDS:
                # Its file is being fetched: posted together it sits with its caption, and
                # the conversation's later messages keep the order the customer sent.
                raise RetryAfter(min(MEDIA_POLL_SECONDS, MEDIA_WAIT_SECONDS - waited),
                                 "waiting for the customer's file", "media_pending")
            details = await self.inbox.conversation(conv_id)
            await self._post_customer_messages(channel, thread_ts, details, message, mirrored)
            return
        details = await self.inbox.conversation(conv_id)
        agents = {a.id: a for a in await self.inbox.agents()}
        view = self.presenter.message(message, details.contact, agents,
                                      details.conversation.channel.value)
        if message.kind is MessageKind.NOTE:
            payload = thread_views.note_message(view)
        elif message.kind is MessageKind.SYSTEM:
            payload = thread_views.system_message(view)
        elif message.kind is MessageKind.AI_ANALYSIS:
            note = self.presenter.ai_note(message)
            payload = (ai_note_message(note) if note is not None
                       else thread_views.ai_analysis_message(view))
        else:
            payload = thread_views.outbound_message(view)
        _, ts, _ = await self._post_once(f"msg:{message.id}", conv_id, message.id, channel,
                                         thread_ts=thread_ts, **payload)
        await self.inbox.claim_link(MSG, ref(channel, ts), conv_id, message.id)
        await self._follow_up_files(conv_id, channel, thread_ts, message)
        if message.leaves_inbox:
            await self._post_status(channel, thread_ts, message)

    async def conversation_changed(self, row) -> None:
        conv_id = int(row.payload["conversation_id"])
        channel, ts = await self.ensure_card(conv_id)
        details = await self.inbox.conversation_summary(conv_id)
        view = await self.presenter.card(details)
        # The urgent ping is the core's built-in rule (a `notify` row), not the card's job.
        await self.slack.update(channel, ts, **card_views.card_message(view))

    async def notify(self, row) -> None:
        """An automation's notify action: one thread reply mentioning the recipients, who
        are resolved now (roles and Slack ids may have changed since the rule fired)."""
        conv_id = int(row.payload["conversation_id"])
        rule = str(row.payload.get("rule") or "automation")
        channel, ts = await self.ensure_card(conv_id)
        details = await self.inbox.conversation_summary(conv_id)
        audience, slack_ids = _recipients(await self.inbox.agents(), row.payload)
        if not slack_ids:
            log.warning("rule %r on conversation %s: nobody to notify (%s without a Slack "
                        "user id)", rule, conv_id, audience)
        permalink = await self.slack.permalink(channel, ts) if slack_ids else None
        await self._post_once(f"notify:{row.id}", conv_id, None, channel, thread_ts=ts,
                              **thread_views.notify_message(
                                  rule, slack_ids, contact_name(details.contact), permalink,
                                  audience))

    async def snooze_ended(self, row) -> None:
        conv_id = int(row.payload["conversation_id"])
        channel, ts = await self.ensure_card(conv_id)
        details = await self.inbox.conversation_summary(conv_id)
        slack_id = details.assignee.slack_user_id if details.assignee else None
        await self._post_once(f"snooze:{row.id}", conv_id, None, channel, thread_ts=ts,
                              **thread_views.snooze_ended_message(slack_id))

    async def delivery_status(self, row) -> None:
        conv_id = int(row.payload["conversation_id"])
        message = await self.inbox.message(int(row.payload["message_id"]))
        await self._refresh_status(conv_id, message)
        reaction = DELIVERY_REACTIONS.get(row.payload.get("status", ""))
        staff_written = await self._link_for(conv_id, MSG, message.id)
        if reaction and staff_written and message.meta.get("origin") == MSG:
            channel, ts = split_ref(staff_written)
            await self.slack.react(channel, ts, reaction)

    async def message_changed(self, row) -> None:
        conv_id = int(row.payload["conversation_id"])
        message = await self.inbox.message(int(row.payload["message_id"]))
        if await self._refresh_status(conv_id, message):
            return
        mirrored = await self._link_for(conv_id, MSG, message.id)
        if not mirrored or message.direction is not Direction.IN:
            return
        if message.attachments:
            # a file fetched after the message was mirrored (media off the webhook's ack)
            channel, thread_ts = await self.ensure_card(conv_id)
            await self._follow_up_files(conv_id, channel, thread_ts, message)
        # The post may carry the messages coalesced with this one ("<ref>#n" links): it is
        # redrawn whole, from each one's current state, so a "Downloading" line (or a
        # reaction) is refreshed wherever the message sits and no neighbour is dropped.
        await self._redraw_customer_post(conv_id, mirrored.split("#", 1)[0])

    # -- helpers ---------------------------------------------------------------------------

    async def ensure_card(self, conv_id: int) -> tuple[str, str]:
        """The (channel, ts) of the conversation's card, posting it first if needed."""
        links = await self.inbox.links_of(conv_id, CARD)
        if links:
            return split_ref(links[0].external_id)
        details = await self.inbox.conversation_summary(conv_id)
        channel = self.channel_for_account(details.conversation.account)
        if not channel:
            raise PermanentError(
                f"no Slack channel for account {details.conversation.account!r}: set "
                "SLACK_CHANNEL or the account's slack_channel", "no_channel")
        view = await self.presenter.card(details)
        channel, ts, _ = await self._post_once(f"card:{conv_id}", conv_id, None, channel,
                                               **card_views.card_message(view))
        await self.inbox.claim_link(CARD, ref(channel, ts), conv_id, None)
        return channel, ts

    async def _post_customer_messages(self, channel: str, thread_ts: str, details,
                                      first: Message, mirrored: set) -> None:
        """Post a customer message, coalescing the ones right behind it that are not
        mirrored yet: a burst then costs fewer posts against Slack's per-channel limit.
        A message with files is a post of its own that shares them."""
        later = [m for m in details.messages if m.id >= first.id]
        authors = await self._authors(details.contact, later)
        refused = None
        if stored_files(first) and not await self.inbox.find_link(INTENT, f"msg:{first.id}"):
            try:
                return await self._post_with_files(channel, thread_ts, first,
                                                   authors.get(first.id, details.contact))
            except PermanentError as exc:  # Slack will not take the files: the text still shows
                if exc.code in AUTH_ERRORS:
                    raise
                refused = exc
        batch, blocks = [], 0
        for message in later:
            if message.id != first.id and (
                message.direction is not Direction.IN or message.kind is not MessageKind.MESSAGE
                or message.id in mirrored or len(batch) >= COALESCE_MAX
                or message.author != first.author  # one post, one sender's name on it
                or message.attachments or first.attachments  # files: a post of their own
            ):
                break
            payload = customer_views.customer_message(
                self.presenter.message(message, authors.get(message.id, details.contact), {}))
            if batch and blocks + len(payload["blocks"]) > MAX_BLOCKS:
                break
            batch.append((message, payload))
            blocks += len(payload["blocks"])
        head = batch[0][1]
        _, ts, posted = await self._post_once(
            f"msg:{first.id}", first.conversation_id, first.id, channel, thread_ts=thread_ts,
            carried=[m.id for m, _ in batch], **_joined([p for _, p in batch]),
            username=head.get("username"), icon_emoji=head.get("icon_emoji"))
        if posted is not None:  # an earlier attempt's post: link what that one carried
            carried = set(posted)
            batch = [(m, p) for m, p in batch if m.id in carried] or batch[:1]
        await self.inbox.claim_links([
            Link(MSG, ref(channel, ts) if n == 0 else f"{ref(channel, ts)}#{n}",
                 message.conversation_id, message.id)
            for n, (message, _) in enumerate(batch)])
        if refused is not None:
            await self.file_posts.refused(first, refused)
            conv_id = first.conversation_id
            await self._post_once(f"refused:{first.id}", conv_id, first.id, channel,
                                  thread_ts=thread_ts,
                                  **customer_views.files_refused(refused.text, conv_id))
        for message, _ in batch:
            await self._follow_up_files(first.conversation_id, channel, thread_ts, message)

    async def _post_with_files(self, channel: str, thread_ts: str, message: Message,
                               author) -> None:
        payload = _joined([customer_views.customer_message(
            self.presenter.message(message, author, {}), sender_line=True)])
        ts, indexes = await self.file_posts.post(channel, thread_ts, message,
                                                 payload["blocks"])
        post = ref(channel, ts)
        conv_id = message.conversation_id
        await self.inbox.claim_links(
            [Link(MSG, post, conv_id, message.id), Link(FILE_POST, post, conv_id, message.id)]
            + [Link(FILE, f"{message.id}:{n}", conv_id, message.id) for n in indexes])
        await self._follow_up_files(conv_id, channel, thread_ts, message)  # past the tenth

    async def _follow_up_files(self, conv_id: int, channel: str, thread_ts: str,
                               message: Message) -> None:
        """Files of a posted message that are not in Slack yet, each in a post of its own."""
        if not await self.file_posts.due(message):
            return
        details = await self.inbox.conversation_summary(conv_id)
        authors = await self._authors(details.contact, [message])
        agents = ({a.id: a for a in await self.inbox.agents()}
                  if message.author.type is ActorType.AGENT else {})
        view = self.presenter.message(message, authors.get(message.id, details.contact), agents)
        await self.file_posts.follow_up(channel, thread_ts, message,
                                        [customer_views.file_follow_up(view)])

    async def _redraw_customer_post(self, conv_id: int, post_ref: str) -> None:
        """Update a customer post with every message it carries, in their posted order."""
        parts = []
        for link in await self.inbox.links_of(conv_id, MSG):
            base, _, n = link.external_id.partition("#")
            if base == post_ref and link.message_id is not None:
                parts.append((int(n or 0), link.message_id))
        contact = (await self.inbox.conversation_summary(conv_id)).contact
        messages = [await self.inbox.message(message_id) for _, message_id in sorted(parts)]
        authors = await self._authors(contact, messages)
        file_post = await self.inbox.find_link(FILE_POST, post_ref) is not None
        payloads = [customer_views.customer_message(
            self.presenter.message(message, authors.get(message.id, contact), {}),
            sender_line=file_post) for message in messages]
        if payloads:
            channel, ts = split_ref(post_ref)
            await self.slack.update(channel, ts, **_joined(payloads))

    async def _authors(self, contact, messages) -> dict[int, object]:
        """Each message's own sender (a colleague in Cc who answers, the customer's
        assistant, MAILER-DAEMON), where it is not the conversation's contact."""
        others = {m.author.id for m in messages if m.author.type is ActorType.CONTACT
                  and isinstance(m.author.id, int)
                  and (contact is None or m.author.id != contact.id)}
        if not others:
            return {}
        found = await self.inbox.contacts(sorted(others))
        return {m.id: found[m.author.id] for m in messages if m.author.id in found
                and m.author.type is ActorType.CONTACT}

    async def _post_once(self, key: str, conv_id: int, message_id: int | None, channel: str,
                         *, thread_ts: str | None = None, carried: list[int] | None = None,
                         **payload) -> tuple[str, str, list[int] | None]:
        """Post at most once per key. The intent is recorded before the post and the post
        carries the key in its metadata: when an earlier attempt's answer never came back
        (a crash between the post and its link, a timeout), the post is found again
        instead of repeated. Returns (channel, ts, the message ids an earlier post carried
        or None when posted now)."""
        if not await self.inbox.claim_link(INTENT, key, conv_id, message_id):
            found = await self.slack.find_posted(channel, key, thread_ts)
            if found is not None:
                log.info("found the post %s of an earlier attempt; not posting again", key)
                carried_then = post_payload(found).get("carried") or [message_id]
                return channel, found["ts"], list(carried_then)
        event_payload: dict = {"key": key}
        if carried:
            event_payload["carried"] = carried
        channel, ts = await self.slack.post_where(
            channel, thread_ts=thread_ts,
            metadata={"event_type": POST_EVENT, "event_payload": event_payload}, **payload)
        return channel, ts, None

    async def _link_for(self, conv_id: int, surface: str, message_id: int) -> str | None:
        for link in await self.inbox.links_of(conv_id, surface):
            if link.message_id == message_id:
                return link.external_id
        return None

    async def _post_status(self, channel: str, thread_ts: str, message: Message) -> None:
        if await self._link_for(message.conversation_id, STATUS, message.id):
            return
        conv = (await self.inbox.conversation_summary(message.conversation_id)).conversation
        view = self.presenter.send_status(message, conv.channel.value)
        _, ts, _ = await self._post_once(f"status:{message.id}", message.conversation_id,
                                         message.id, channel, thread_ts=thread_ts,
                                         **thread_views.send_status_message(view))
        await self.inbox.claim_link(STATUS, ref(channel, ts), message.conversation_id, message.id)
        if view.status == "queued" and view.send_at is not None:
            self.countdown.track(message.id, channel, ts, view.send_at, conv.channel.value)

    async def _refresh_status(self, conv_id: int, message: Message) -> bool:
        status_ref = await self._link_for(conv_id, STATUS, message.id)
        if not status_ref:
            return False
        conv = (await self.inbox.conversation_summary(conv_id)).conversation
        channel, ts = split_ref(status_ref)
        async with self.countdown.lock(message.id):
            message = await self.inbox.message(message.id)  # the newest state, under the lock
            view = self.presenter.send_status(message, conv.channel.value)
            await self.slack.update(channel, ts, **thread_views.send_status_message(view))
            if view.status == "queued" and view.send_at is not None:
                self.countdown.track(message.id, channel, ts, view.send_at, conv.channel.value)
            else:
                self.countdown.forget(message.id)
        return True


def _recipients(agents: list[Agent], payload: dict) -> tuple[str, list[str]]:
    """(who the rule meant, in words; the Slack ids of those who can be pinged)."""
    reachable = [a for a in agents if a.active and a.slack_user_id]
    agent_id = payload.get("agent_id")
    if agent_id is not None:
        named = next((a for a in agents if a.id == int(agent_id)), None)
        who = named.name if named else f"agent {agent_id}"
        return who, [a.slack_user_id for a in reachable if a.id == int(agent_id)]
    if payload.get("role") == Role.ADMIN.value:
        return "the admins", [a.slack_user_id for a in reachable if a.role is Role.ADMIN]
    return "the managers", [a.slack_user_id for a in reachable
                            if a.role in (Role.MANAGER, Role.ADMIN)]
