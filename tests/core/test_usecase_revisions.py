"""The revise use case: customers' edits and deletions, once each, in time order."""

from __future__ import annotations

from core.model import Actor, Direction
from tests.core.conftest import T0, H, wa_msg


async def kinds(outbox):
    return [r["kind"] for r in await outbox.rows()]


async def test_edit_then_delete_notifies_once_each_and_keeps_the_record(inbox, outbox):
    r = await inbox.receive(wa_msg("4 bisagras", mid="wamid.x1"))
    before = len(await kinds(outbox))
    assert await inbox.revise("whatsapp_cloud", "wamid.x1", "6 bisagras", T0 + H)
    assert not await inbox.revise("whatsapp_cloud", "wamid.x1", "6 bisagras", T0 + H)
    assert not await inbox.revise("whatsapp_cloud", "wamid.x1", "5 bisagras", T0)  # older
    assert await inbox.revise("whatsapp_cloud", "wamid.x1", None, T0 + 2 * H)
    assert not await inbox.revise("whatsapp_cloud", "wamid.x1", "7", T0 + 3 * H)  # final
    details = await inbox.conversation(r.conversation_id)
    [msg] = [m for m in details.messages if m.direction is Direction.IN]
    assert msg.body == "6 bisagras" and msg.meta["revoked"] is True
    assert msg.meta["edits"] == [{"body": "4 bisagras", "until": (T0 + H).isoformat()}]
    assert (await kinds(outbox))[before:] == ["slack:message_changed"] * 2
    assert [a.action for a in details.activity][-2:] == ["customer_edited", "customer_deleted"]


async def test_only_customer_messages_can_be_revised(inbox):
    r = await inbox.receive(wa_msg("hola", mid="wamid.y1"))
    assert not await inbox.revise("whatsapp_cloud", "wamid.unknown", "x", T0 + H)
    note = await inbox.add_note(r.conversation_id, "internal", Actor.system())
    await inbox.claim_link("whatsapp_cloud", "wamid.fake-out", r.conversation_id, note.id)
    assert not await inbox.revise("whatsapp_cloud", "wamid.fake-out", "changed", T0 + H)
