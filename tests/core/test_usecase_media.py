"""Media fetched after the message: the inbound use case queues one job per pending file
in its own transaction; the outcome (stored file or reason) is recorded once."""

from core.model import Attachment
from core.usecases.media import ERRORS_META, PENDING_META
from tests.core.conftest import wa_msg


def pending(ref: str, name: str = "photo.jpg") -> Attachment:
    return Attachment(name, "image/jpeg", 0, pending_ref=ref)


def marker(*refs: str) -> dict:
    return {PENDING_META: [{"index": i, "ref": r, "kind": "image"} for i, r in enumerate(refs)]}


async def rows(outbox) -> list[dict]:
    return await outbox.rows()


async def test_pending_attachments_queue_one_fetch_each_with_the_message(inbox, outbox):
    kept = Attachment("kept.pdf", "application/pdf", 4, storage_key="k/1")
    r = await inbox.receive(wa_msg(mid="wamid.m1", attachments=[pending("m1"), kept,
                                                               pending("m3")],
                                   meta=marker("m1", "ignored", "m3")))
    fetches = [row for row in await rows(outbox) if row["kind"].startswith("fetch_media:")]
    assert [(row["kind"], row["payload"]) for row in fetches] == [
        ("fetch_media:whatsapp_cloud", {"conversation_id": r.conversation_id,
                                        "message_id": r.message_id, "index": i})
        for i in (0, 2)]
    assert {row["order_key"] for row in fetches} == {f"fetch_media:{r.conversation_id}"}
    again = await inbox.receive(wa_msg(mid="wamid.m1", attachments=[pending("m1")]))
    assert again.duplicate
    assert len([row for row in await rows(outbox) if row["kind"].startswith("fetch_")]) == 2


async def test_a_message_without_pending_files_queues_no_fetch(inbox, outbox):
    await inbox.receive(wa_msg(attachments=[Attachment("a.pdf", "application/pdf", 4, "k/2")]))
    assert not [row for row in await rows(outbox) if row["kind"].startswith("fetch_media")]


async def test_a_fetched_file_is_attached_once_and_announced(inbox, outbox):
    r = await inbox.receive(wa_msg(body="look", attachments=[pending("m1"), pending("m2")],
                                   meta=marker("m1", "m2")))
    found = await inbox.pending_media(r.message_id, 1)
    assert found.account == "wa" and found.conversation_id == r.conversation_id
    assert found.attachment.pending_ref == "m2" and found.hints["kind"] == "image"

    assert await inbox.attach_fetched_media(r.message_id, 1, "k/9", 1234, "image/png")
    msg = await inbox.message(r.message_id)
    second = msg.attachments[1]
    assert (second.storage_key, second.size, second.pending_ref, second.content_type) == (
        "k/9", 1234, None, "image/png")
    assert msg.attachments[0].pending_ref == "m1"  # the other file is still coming
    assert msg.meta[PENDING_META] == [{"index": 0, "ref": "m1", "kind": "image"}]
    assert msg.body == "look"
    changed = [row for row in await rows(outbox) if row["kind"] == "slack:message_changed"]
    assert [row["payload"] for row in changed] == [{
        "conversation_id": r.conversation_id, "message_id": r.message_id, "change": "media",
        "index": 1}]

    assert not await inbox.attach_fetched_media(r.message_id, 1, "k/other", 1)  # a retry
    assert not await inbox.media_unavailable(r.message_id, 1, "late")
    assert (await inbox.message(r.message_id)).attachments[1].storage_key == "k/9"
    assert await inbox.pending_media(r.message_id, 1) is None
    assert len([row for row in await rows(outbox)
                if row["kind"] == "slack:message_changed"]) == 1


async def test_an_unavailable_file_is_explained_in_the_body(inbox, outbox):
    r = await inbox.receive(wa_msg(body="my receipt", attachments=[pending("m1")],
                                   meta=marker("m1")))
    note = "[image 'photo.jpg' not stored: 9.0 MB is over WhatsApp's 5.0 MB limit]"
    assert await inbox.media_unavailable(r.message_id, 0, note, size=9 * 2**20)
    msg = await inbox.message(r.message_id)
    assert msg.body == f"my receipt\n{note}"
    [attachment] = msg.attachments
    assert attachment.pending_ref is None and attachment.storage_key is None
    assert attachment.size == 9 * 2**20
    assert PENDING_META not in msg.meta and msg.meta[ERRORS_META] == [{"index": 0,
                                                                       "reason": note}]
    assert not await inbox.media_unavailable(r.message_id, 0, note)  # said once
    assert (await inbox.message(r.message_id)).body == f"my receipt\n{note}"
    changed = [row["payload"]["change"] for row in await rows(outbox)
               if row["kind"] == "slack:message_changed"]
    assert changed == ["media_unavailable"]


async def test_unknown_messages_and_indexes_have_nothing_pending(inbox):
    r = await inbox.receive(wa_msg(attachments=[pending("m1")], meta=marker("m1")))
    assert await inbox.pending_media(r.message_id, 5) is None
    assert await inbox.pending_media(r.message_id, -1) is None
    assert await inbox.pending_media(r.message_id + 1000, 0) is None
    assert not await inbox.attach_fetched_media(r.message_id, 3, "k", 1)


def test_attachment_dicts_stay_compatible():
    old = {"filename": "a.pdf", "content_type": "application/pdf", "size": 3,
           "storage_key": "k/1", "content_id": None}
    assert Attachment.from_dict(old).pending_ref is None
    assert Attachment.from_dict(old).to_dict() == old  # no new key for settled files
    waiting = Attachment("b.jpg", "image/jpeg", 0, pending_ref="media-7")
    assert waiting.to_dict()["pending_ref"] == "media-7"
    assert Attachment.from_dict(waiting.to_dict()) == waiting
