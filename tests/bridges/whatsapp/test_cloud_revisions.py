"""Customers' edits and deletions, Flow replies, ads and unsupported messages: Meta's
documented payload shapes, signed, into the real app."""

from __future__ import annotations

import json

from tests.bridges.whatsapp.helpers import all_messages, post_meta
from tests.bridges.whatsapp.payloads import TS, change, delivery, message

LATER = str(int(TS) + 60)


def edit(original: str, new_text: str, *, wamid: str, ts: str = LATER) -> dict:
    """Meta's `edit` webhook: the edited message whole, under edit.message."""
    return message("edit", {"original_message_id": original, "message": {
        "context": {"id": original}, "type": "text", "text": {"body": new_text}}},
        wamid=wamid, ts=ts)


def revoke(original: str, *, wamid: str, ts: str = LATER) -> dict:
    return message("revoke", {"original_message_id": original}, wamid=wamid, ts=ts)


async def test_an_edit_changes_the_text_and_keeps_what_it_said_first(client, runtime):
    await post_meta(client, delivery(change([message(
        "text", {"body": "I need 4 hinges"}, wamid="wamid.E1")])))
    r = await post_meta(client, delivery(change([edit("wamid.E1", "I need 6 hinges",
                                                      wamid="wamid.E2")])))
    assert r.status_code == 200 and r.json()["revisions"] == 1, r.text
    [msg] = await all_messages(runtime.inbox)  # an edit is no new message
    assert msg.body == "I need 6 hinges"
    assert [e["body"] for e in msg.meta["edits"]] == ["I need 4 hinges"]
    # Meta redelivers the same edit: nothing changes twice.
    again = await post_meta(client, delivery(change([edit("wamid.E1", "I need 6 hinges",
                                                          wamid="wamid.E2")])))
    assert again.json()["revisions"] == 0
    [msg] = await all_messages(runtime.inbox)
    assert len(msg.meta["edits"]) == 1


async def test_an_older_edit_arriving_late_does_not_undo_a_newer_one(client, runtime):
    await post_meta(client, delivery(change([message(
        "text", {"body": "v1"}, wamid="wamid.O1")])))
    await post_meta(client, delivery(change([edit("wamid.O1", "v3", wamid="wamid.O3",
                                                  ts=str(int(TS) + 120))])))
    await post_meta(client, delivery(change([edit("wamid.O1", "v2", wamid="wamid.O2",
                                                  ts=str(int(TS) + 60))])))
    [msg] = await all_messages(runtime.inbox)
    assert msg.body == "v3"


async def test_a_revoke_marks_the_message_deleted_and_keeps_its_text(client, runtime):
    await post_meta(client, delivery(change([message(
        "text", {"body": "my card is 4111"}, wamid="wamid.R1")])))
    r = await post_meta(client, delivery(change([revoke("wamid.R1", wamid="wamid.R2")])))
    assert r.json()["revisions"] == 1
    [msg] = await all_messages(runtime.inbox)
    assert msg.meta["revoked"] is True and msg.body == "my card is 4111"
    # An edit after the deletion changes nothing; a revoke of an unknown message neither.
    await post_meta(client, delivery(change([edit("wamid.R1", "x", wamid="wamid.R3",
                                                  ts=str(int(TS) + 600))])))
    unknown = await post_meta(client, delivery(change([revoke("wamid.nope", wamid="wamid.R4")])))
    assert unknown.status_code == 200 and unknown.json()["revisions"] == 0
    [msg] = await all_messages(runtime.inbox)
    assert msg.body == "my card is 4111"


async def test_flow_replies_read_as_fields_without_the_flow_token(client, runtime):
    answers = {"flow_token": "AQAAAAACS5FpgQ_cAAAAAD0QI3s.", "delivery_date": "2025-03-10",
               "quantity": 4, "finishes": ["black", "satin"]}
    await post_meta(client, delivery(change([message("interactive", {
        "type": "nfm_reply", "nfm_reply": {"name": "flow", "body": "Sent",
                                           "response_json": json.dumps(answers)}},
        wamid="wamid.F1")])))
    [msg] = await all_messages(runtime.inbox)
    assert "flow_token" not in msg.body and "AQAAAAACS5Fpg" not in msg.body
    assert "• Delivery date: 2025-03-10" in msg.body
    assert "• Quantity: 4" in msg.body and "• Finishes: black, satin" in msg.body


async def test_an_unsupported_message_keeps_its_inner_type_and_the_ad_is_kept(client, runtime):
    referral = {"source_url": "https://fb.me/2ZulEu42P", "source_id": "120201",
                "source_type": "ad", "headline": "Hinges -20%", "body": "Soft-close hinges",
                "media_type": "image", "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ"}
    await post_meta(client, delivery(change([
        message("unsupported", {"type": "video_note"}, wamid="wamid.U1", errors=[{
            "code": 131051, "title": "Message type unknown",
            "message": "Message type unknown",
            "error_data": {"details": "Message type is currently not supported."}}]),
        {**message("text", {"body": "Do you have these?"}, wamid="wamid.AD1"),
         "referral": referral}])))
    by_id = {m.meta.get("type"): m for m in await all_messages(runtime.inbox)}
    assert by_id["unsupported"].body.startswith("[unsupported WhatsApp message: video_note]")
    assert by_id["unsupported"].meta["unsupported_type"] == "video_note"
    assert by_id["text"].meta["referral"]["headline"] == "Hinges -20%"


def changed_number(new: str, *, wamid: str, sender: str = "16505551234") -> dict:
    """Meta's system notice, from the old number."""
    return message("system", {"body": f"User A changed from {sender} to {new}",
                              "new_wa_id": new, "type": "user_changed_number"},
                   wamid=wamid, sender=sender)


async def test_a_changed_number_moves_the_contact_and_its_conversation(client, runtime):
    await post_meta(client, delivery(change([message(
        "text", {"body": "pedido 45821?"}, wamid="wamid.N1")])))
    await post_meta(client, delivery(change([changed_number("16505559999",
                                                            wamid="wamid.N2")])))
    await post_meta(client, delivery(change([message(
        "text", {"body": "soy yo, nuevo número"}, wamid="wamid.N3", sender="16505559999")],
        sender="16505559999")))
    stored = await all_messages(runtime.inbox)
    assert len({m.conversation_id for m in stored}) == 1  # one person, one conversation
    details = await runtime.inbox.conversation(stored[0].conversation_id)
    assert details.contact.address == "+16505559999"
    assert details.conversation.provider_thread_id == "16505559999"  # replies go there
    assert "contact_changed_number" in [a.action for a in details.activity]


async def test_when_the_new_number_wrote_first_the_two_contacts_become_one(client, runtime):
    await post_meta(client, delivery(change([message(
        "text", {"body": "old phone"}, wamid="wamid.M1")])))
    await post_meta(client, delivery(change([message(
        "text", {"body": "new phone"}, wamid="wamid.M2", sender="16505558888")],
        sender="16505558888")))
    await post_meta(client, delivery(change([changed_number("16505558888",
                                                            wamid="wamid.M3")])))
    stored = await all_messages(runtime.inbox)
    contacts = {(await runtime.inbox.conversation(m.conversation_id)).contact.address
                for m in stored}
    assert contacts == {"+16505558888"}
    authors = {m.author.id for m in stored}
    assert len(authors) == 1  # the old number's messages are the kept contact's now


async def test_a_changed_number_that_is_no_number_is_stored_and_changes_nothing(client,
                                                                               runtime):
    await post_meta(client, delivery(change([message(
        "text", {"body": "hola"}, wamid="wamid.Z1")])))
    r = await post_meta(client, delivery(change([changed_number("not-a-number",
                                                                wamid="wamid.Z2")])))
    assert r.status_code == 200, r.text
    stored = await all_messages(runtime.inbox)
    assert len(stored) == 2  # the notice itself is kept, as a message
    details = await runtime.inbox.conversation(stored[0].conversation_id)
    assert details.contact.address == "+16505551234"
