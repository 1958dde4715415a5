"""Each customer message is shown under its own sender: a colleague of the contact who
answers in the same thread is named, and their message is not folded into the contact's
post."""

from __future__ import annotations

from core.inbound import InboundMessage
from core.model import Channel
from tests.bot.slack.harness import INBOX


def mail(h, mid: str, sender: str, name: str, body: str, **kw) -> InboundMessage:
    return InboundMessage(channel=Channel.EMAIL, account="mail", provider="email",
                          provider_message_id=mid, sender=sender, sender_name=name, body=body,
                          received_at=h.clock.now(), subject="Pedido 77", **kw)


async def test_a_colleague_answering_is_shown_under_their_name(h):
    h.slack.set_down(True)  # both arrive before Slack is back: coalescing is tried
    first = await h.runtime.receive(mail(h, "<c1@customer.example>", "carla@customer.example",
                                         "Carla Gómez", "¿Dónde está el pedido 77?"))
    await h.runtime.receive(mail(h, "<l1@customer.example>", "luis@customer.example",
                                 "Luis Pardo", "Lo necesitamos el lunes.",
                                 in_reply_to="<c1@customer.example>"))
    h.slack.set_down(False)
    for _ in range(5):
        h.advance(60)
        await h.drain()
    posts = h.slack.thread_replies(INBOX, h.card(first.conversation_id).ts)
    by_name = {p.username: p for p in posts}
    assert set(by_name) == {"Carla Gómez", "Luis Pardo"}, [p.username for p in posts]
    assert "Lo necesitamos el lunes." in str(by_name["Luis Pardo"].blocks)
    assert "Lo necesitamos" not in str(by_name["Carla Gómez"].blocks)


async def test_the_card_names_everyone_else_who_writes_in_the_conversation(h):
    first = await h.runtime.receive(mail(h, "<j1@customer.example>", "carla@customer.example",
                                         "Carla Gómez", "¿Dónde está el pedido 77?"))
    await h.drain()
    card = h.card(first.conversation_id)
    assert "Also writing" not in str(card.blocks)
    await h.runtime.receive(mail(h, "<j2@customer.example>", "luis@customer.example",
                                 "Luis Pardo", "Lo necesitamos el lunes.",
                                 in_reply_to="<j1@customer.example>"))
    await h.drain()
    shown = str(h.slack.message(INBOX, card.ts).blocks)
    assert "Also writing: Luis Pardo &lt;luis@customer.example&gt;" in shown
    assert "*Carla Gómez*" in shown  # the conversation is still Carla's
