"""Customer files in Slack: shared in the same post as the message they came with.

A message whose files are stored when it is mirrored becomes one file post (its text and
labels as blocks, its files attached), so a caption sits with its photo and a burst keeps
the order the customer sent it in. A file that lands after its message was posted (a slow
download) follows in a post of its own that names the message it belongs to.

Slack's file share answers with file ids, not with the post's ts, and lists the post in
the file's `shares` asynchronously. Every step leaves a trace first, so a retry finds the
post instead of sharing the files again: the intent before the upload, the file ids as
soon as Slack answers, then the post found by file id (or, when the answer was lost, by
file name and size in the thread).
"""

from __future__ import annotations

import logging

from bot.slack.gateway import SlackGateway
from core.delivery import TransientError
from core.model import Message
from core.ports import FileStore, Link
from core.usecases import Inbox

log = logging.getLogger("threadline.slack.files")

INTENT = "slack:intent"  # the mirror's surface: "<post key>" claimed before a post
FILE = "slack:file"  # "<message id>:<n>" once an attachment is in Slack (or refused)
SHARED = "slack:shared"  # "<file id>" Slack gave a file shared for a message -> message

MAX_FILES_PER_POST = 10  # as many as Slack's own upload dialog puts in one message
# How long a customer message waits for its files before it is posted without them (with
# "Downloading…"): a fetch that takes longer must not hold the conversation back.
MEDIA_WAIT_SECONDS = 20.0
MEDIA_POLL_SECONDS = 2.0


def stored_files(message: Message) -> list[int]:
    """Indexes of the attachments whose bytes are in the file store."""
    return [n for n, a in enumerate(message.attachments) if a.storage_key is not None]


def has_pending_files(message: Message) -> bool:
    return any(a.pending_ref is not None for a in message.attachments)


class FilePosts:
    def __init__(self, inbox: Inbox, gateway: SlackGateway, files: FileStore) -> None:
        self.inbox, self.slack, self.files = inbox, gateway, files

    async def post(self, channel: str, thread_ts: str, message: Message,
                   blocks: list[dict]) -> tuple[str, list[int]]:
        """Share the message's stored files (up to MAX_FILES_PER_POST) in one thread post
        showing `blocks`. Returns (its ts, the attachment indexes it carries)."""
        assert message.id is not None
        indexes = stored_files(message)[:MAX_FILES_PER_POST]
        conv_id = message.conversation_id
        if not await self.inbox.claim_link(INTENT, f"share:{message.id}", conv_id, message.id):
            ts = await self._earlier_post(channel, thread_ts, message, indexes)
            if ts is not None:
                log.info("found the file post of message %s from an earlier attempt; not "
                         "sharing its files again", message.id)
                return ts, indexes
        blobs = [(await self.files.get(message.attachments[n].storage_key or ""),
                  message.attachments[n].filename) for n in indexes]
        file_ids = await self.slack.share(channel, thread_ts, blobs, blocks)
        await self.inbox.claim_links([Link(SHARED, i, conv_id, message.id) for i in file_ids])
        return await self._listed(channel, thread_ts, file_ids), indexes

    async def refused(self, message: Message, exc: Exception) -> None:
        """Slack answered for good that it will not take the message's files (posted as text
        instead): they stay in the file store and are not offered again."""
        log.warning("Slack will not take the files of message %s: %s", message.id, exc)
        await self.inbox.claim_links([Link(FILE, f"{message.id}:{n}", message.conversation_id,
                                           message.id) for n in stored_files(message)])

    async def due(self, message: Message) -> list[int]:
        """Stored attachments of the message that are not in Slack yet."""
        return [n for n in stored_files(message)
                if not await self.inbox.find_link(FILE, f"{message.id}:{n}")]

    async def follow_up(self, channel: str, thread_ts: str, message: Message,
                        blocks: list[dict]) -> None:
        """Files of an already posted message that are not in Slack yet: each in a post of
        its own, showing `blocks` (whose message it belongs to)."""
        for n in await self.due(message):
            attachment, key = message.attachments[n], f"{message.id}:{n}"
            data = await self.files.get(attachment.storage_key or "")
            first_try = await self.inbox.claim_link(INTENT, f"file:{key}",
                                                    message.conversation_id, message.id)
            if not first_try and await self.slack.find_file_post(
                    channel, thread_ts, filename=attachment.filename, size=len(data)):
                log.info("found the file %s of an earlier attempt; not uploading again", key)
            else:
                await self.slack.share(channel, thread_ts, [(data, attachment.filename)], blocks)
            await self.inbox.claim_link(FILE, key, message.conversation_id, message.id)

    async def _earlier_post(self, channel: str, thread_ts: str, message: Message,
                            indexes: list[int]) -> str | None:
        """The post an earlier attempt shared, or None when it shared nothing."""
        file_ids = [link.external_id
                    for link in await self.inbox.links_of(message.conversation_id, SHARED)
                    if link.message_id == message.id]
        if file_ids:  # Slack answered that attempt: the post exists
            return await self._listed(channel, thread_ts, file_ids)
        if not indexes:
            return None
        first = message.attachments[indexes[0]]
        size = len(await self.files.get(first.storage_key or ""))
        found = await self.slack.find_file_post(channel, thread_ts, filename=first.filename,
                                                size=size)
        return str(found["ts"]) if found else None

    async def _listed(self, channel: str, thread_ts: str, file_ids: list[str]) -> str:
        ts = await self.slack.share_ts(channel, thread_ts, file_ids[0]) if file_ids else None
        if ts is None and file_ids:
            found = await self.slack.find_file_post(channel, thread_ts, file_ids=file_ids)
            ts = str(found["ts"]) if found else None
        if ts is None:  # shared, not listed yet: the retry finds it by the ids kept
            raise TransientError("Slack has not listed the file post yet", "share_pending")
        return ts
