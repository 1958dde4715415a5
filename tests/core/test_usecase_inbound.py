import pytest

from core.errors import InvalidEmailAddress, InvalidInput, UnknownAccount
from core.model import Actor, Agent, Channel, Status
from tests.core.conftest import T0, H, email_msg, wa_msg


async def kinds(outbox):
    return [r["kind"] for r in await outbox.rows()]


async def test_first_message_opens_a_conversation_and_queues_the_mirror(inbox, outbox):
    r = await inbox.receive(wa_msg("hola, ¿mi pedido?", sender="34600111222"))
    assert r.created_conversation and not r.duplicate
    details = await inbox.conversation(r.conversation_id)
    assert details.contact.address == "+34600111222" and details.contact.name == "Ana"
    assert details.conversation.status is Status.OPEN
    assert details.conversation.last_customer_message_at == T0
    assert [m.body for m in details.messages] == ["hola, ¿mi pedido?"]
    assert await kinds(outbox) == ["slack:conversation_opened", "slack:message_added"]


async def test_duplicate_provider_id_gives_one_message(inbox, outbox):
    first = await inbox.receive(wa_msg(mid="wamid.dup"))
    again = await inbox.receive(wa_msg(mid="wamid.dup", body="changed"))
    assert again.duplicate and again.message_id == first.message_id
    assert len(await inbox.thread(first.conversation_id)) == 1
    assert len(await kinds(outbox)) == 2  # the duplicate caused no side effect


async def test_whatsapp_threads_by_number_and_account(inbox):
    a = await inbox.receive(wa_msg())
    b = await inbox.receive(wa_msg(at=T0 + H))
    other = await inbox.receive(wa_msg(sender="+34600999888"))
    assert a.conversation_id == b.conversation_id != other.conversation_id
    conv = (await inbox.conversation(a.conversation_id)).conversation
    assert conv.last_customer_message_at == T0 + H  # the WhatsApp window moved


async def test_message_reopens_resolved_and_wakes_snoozed(inbox, clock):
    r = await inbox.receive(wa_msg())
    await inbox.resolve(r.conversation_id, Actor.system())
    again = await inbox.receive(wa_msg(at=T0 + H))
    assert again.reopened and again.conversation_id == r.conversation_id
    await inbox.snooze(r.conversation_id, Actor.system(), until=T0 + 5 * H)
    woken = await inbox.receive(wa_msg(at=T0 + 2 * H))
    assert woken.reopened
    details = await inbox.conversation(r.conversation_id)
    assert details.conversation.status is Status.OPEN
    assert details.conversation.snoozed_until is None
    assert [a.action for a in details.activity][-2:] == ["snoozed", "woken"]


async def test_long_resolved_whatsapp_conversation_starts_a_new_one(inbox, clock):
    r = await inbox.receive(wa_msg())
    await inbox.resolve(r.conversation_id, Actor.system())
    later = await inbox.receive(wa_msg(at=T0 + 8 * 24 * H))
    assert later.created_conversation and later.conversation_id != r.conversation_id


async def test_email_threads_by_in_reply_to_references_and_thread_id(inbox):
    root = await inbox.receive(email_msg(mid="<root@x>", provider_thread_id="gm-1"))
    by_irt = await inbox.receive(email_msg(mid="<r1@x>", in_reply_to="<root@x>"))
    by_refs = await inbox.receive(email_msg(mid="<r2@x>", references=["<zzz@x>", "<r1@x>"]))
    by_thread = await inbox.receive(email_msg(mid="<r3@x>", provider_thread_id="gm-1"))
    fresh = await inbox.receive(email_msg(mid="<new@x>", in_reply_to="<unknown@x>"))
    ids = {r.conversation_id for r in (root, by_irt, by_refs, by_thread)}
    assert ids == {root.conversation_id}
    assert fresh.created_conversation and fresh.conversation_id != root.conversation_id


async def test_automated_mail_is_recorded_and_flagged(inbox):
    r = await inbox.receive(email_msg(automated=True, body="Out of office"))
    (message,) = await inbox.thread(r.conversation_id)
    assert message.meta["automated"] is True


@pytest.mark.parametrize(
    "bad, error",
    [
        (dict(sender="  "), InvalidInput),
        (dict(provider_message_id=" "), InvalidInput),
        (dict(channel=Channel.EMAIL, account="mail", sender="ana at example"),
         InvalidEmailAddress),
    ],
)
async def test_bad_inbound_is_refused_without_writes(inbox, outbox, bad, error):
    msg = wa_msg()
    for name, value in bad.items():
        setattr(msg, name, value)
    with pytest.raises(error):
        await inbox.receive(msg)
    assert await outbox.rows() == []


async def test_unknown_or_mismatched_account(inbox):
    msg = wa_msg()
    msg.account = "nope"
    with pytest.raises(UnknownAccount, match="'nope'"):
        await inbox.receive(msg)
    msg.account = "mail"
    with pytest.raises(InvalidInput, match="email account"):
        await inbox.receive(msg)


async def test_reply_without_headers_threads_by_subject_and_contact_carefully(inbox):
    root = await inbox.receive(email_msg(mid="<s0@x>", subject="Pedido 42 retrasado"))
    same = await inbox.receive(email_msg(mid="<s1@x>", subject="RE: Re:  pedido 42 retrasado"))
    assert same.conversation_id == root.conversation_id and not same.created_conversation
    other_contact = await inbox.receive(email_msg(mid="<s2@x>", sender="bob@example.com",
                                                  subject="Re: Pedido 42 retrasado"))
    assert other_contact.created_conversation  # never merges different people
    no_prefix = await inbox.receive(email_msg(mid="<s3@x>", subject="Pedido 42 retrasado"))
    assert no_prefix.created_conversation  # a new mail with the same subject is new
    stale = await inbox.receive(email_msg(mid="<s4@x>", subject="Re: Pedido 42 retrasado",
                                          at=T0 + 40 * 24 * H))
    assert stale.created_conversation  # too long ago


def test_base_subject():
    from core.subjects import base_subject, is_reply_subject

    assert base_subject("Re: AW: Fwd: RE[2]:  Hello   World") == "hello world"
    assert is_reply_subject("Aw: x") and not is_reply_subject("Fwd: x")
    assert not is_reply_subject("Reunión mañana")


@pytest.mark.parametrize("state", ["resolved", "snoozed", "pending"])
async def test_automated_mail_changes_no_status_and_is_no_customer_answer(inbox, clock, state):
    first = await inbox.receive(email_msg("where is my order?", mid="<q1@example.com>"))
    conv_id = first.conversation_id
    if state == "resolved":
        await inbox.resolve(conv_id, Actor.system())
    elif state == "snoozed":
        await inbox.snooze(conv_id, Actor.system(), until=T0 + 5 * H)
    else:
        ana = await inbox.upsert_agent(Agent("Ana", "ana@shop.test"), Actor.system())
        await inbox.reply(conv_id, "It left today", Actor.agent(ana.id))
    before = (await inbox.conversation(conv_id)).conversation
    ooo = await inbox.receive(email_msg("I am out of the office until Monday", at=T0 + H,
                                        in_reply_to="<q1@example.com>",
                                        references=["<q1@example.com>"], automated=True))
    assert ooo.conversation_id == conv_id and not ooo.reopened
    after = (await inbox.conversation(conv_id)).conversation
    assert after.status is before.status
    assert after.last_customer_message_at == before.last_customer_message_at
    stored = (await inbox.conversation(conv_id)).messages[-1]
    assert stored.meta.get("automated") is True
    # The customer's own answer still reopens it.
    real = await inbox.receive(email_msg("back now, any news?", at=T0 + 2 * H,
                                         in_reply_to="<q1@example.com>"))
    assert (await inbox.conversation(conv_id)).conversation.status is Status.OPEN
    assert real.reopened


async def test_someone_new_writing_in_a_thread_becomes_a_contact_of_it(inbox, outbox):
    first = await inbox.receive(email_msg("¿Y el pedido?", mid="<p1@x>", sender="carla@x.es"))
    luis = email_msg("Lo necesitamos el lunes.", mid="<p2@x>", sender="luis@x.es",
                     in_reply_to="<p1@x>")
    luis.sender_name = "Luis Pardo"
    await inbox.receive(luis)
    await inbox.receive(email_msg("Y otra cosa.", mid="<p3@x>", sender="luis@x.es",
                                  in_reply_to="<p2@x>"))
    await inbox.receive(email_msg("Gracias.", mid="<p4@x>", sender="carla@x.es",
                                  in_reply_to="<p3@x>"))
    conv_id = first.conversation_id
    summary = await inbox.conversation_summary(conv_id)
    assert summary.contact.address == "carla@x.es"  # still Carla's conversation
    assert [(c.address, c.name) for c in summary.participants] == [("luis@x.es", "Luis Pardo")]
    details = await inbox.conversation(conv_id)
    joined = [a for a in details.activity if a.action == "participant_added"]
    assert [(a.actor.id, a.detail["address"]) for a in joined] == [
        (summary.participants[0].id, "luis@x.es")]  # once, when Luis first wrote
    changed = [r["payload"].get("action") for r in await outbox.rows()
               if r["kind"] == "slack:conversation_changed"]
    assert changed == ["participant_added"]  # the card is redrawn to show him
