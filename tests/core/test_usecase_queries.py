from datetime import timedelta

import pytest

from core.errors import InvalidInput, NotFound
from core.model import Actor, Agent, Status
from tests.core.conftest import T0, H, email_msg, wa_msg

SYS = Actor.system()


async def test_full_text_search_hides_resolved_by_default(inbox):
    a = await inbox.receive(email_msg("The invoice INV-2231 is wrong"))
    b = await inbox.receive(wa_msg("¿Dónde está mi factura? invoice please"))
    await inbox.resolve(b.conversation_id, SYS)
    hits = await inbox.search("invoice")
    assert [h.conversation_id for h in hits] == [a.conversation_id]
    hits = await inbox.search("invoice", include_resolved=True)
    assert {h.conversation_id for h in hits} == {a.conversation_id, b.conversation_id}
    assert {h.status for h in hits} == {Status.OPEN, Status.RESOLVED}
    for hostile in ['"', "AND(", "*", "NEAR(a b", "invoice OR"]:
        await inbox.search(hostile, include_resolved=True)  # never a syntax error
    with pytest.raises(InvalidInput):
        await inbox.search("  ")


async def test_customers_import_reports_bad_rows_and_upserts(inbox):
    rows = [
        (2, {"name": "ACME", "email": "Buy@Acme.test", "external_ref": "C-1"}),
        (3, {"name": "", "email": "x@y.test"}),
        (4, {"name": "Globex", "phone": "not a phone"}),
        (5, {"name": "Initech", "phone": "+34 600 123 456"}),
    ]
    seen = []
    report = await inbox.import_customers(rows, SYS, progress=seen.append)
    assert (report.created, report.updated) == (2, 0)
    assert [line for line, _ in report.errors] == [3, 4]
    assert "name is required" in report.errors[0][1]
    assert sum(seen) == 2
    again = await inbox.import_customers([(2, {"name": "ACME Corp", "external_ref": "C-1"})], SYS)
    assert (again.created, again.updated) == (0, 1)
    (acme,) = await inbox.search_customers("acme")
    assert acme.name == "ACME Corp" and acme.email == "buy@acme.test"


async def test_metrics_through_storage(inbox, clock):
    ana = await inbox.upsert_agent(Agent("Ana", "ana@shop.test"), SYS)
    r = await inbox.receive(wa_msg(at=T0))
    clock.set(T0 + H)
    await inbox.reply(r.conversation_id, "hi", Actor.agent(ana.id))
    clock.set(T0 + 3 * H)
    await inbox.resolve(r.conversation_id, SYS)
    await inbox.receive(email_msg(at=T0 + 2 * H))
    m = await inbox.metrics(T0 - H, T0 + 24 * H)
    assert m.conversations_created == 2 and m.conversations_resolved == 1
    assert m.first_response_avg_s == 3600
    assert m.response_avg_s == 3600
    assert m.resolution_avg_s == 3 * 3600
    assert m.resolution_rate == 0.5
    assert m.by_channel == {"whatsapp": 1, "email": 1}
    assert m.replies_by_agent == {str(ana.id): 1}
    assert m.backlog == 1
    with pytest.raises(InvalidInput, match="before it starts"):
        await inbox.metrics(T0, T0 - timedelta(days=1))


async def test_search_ignores_accents_on_both_databases(inbox):
    r = await inbox.receive(email_msg("Quiero cancelar la canción número 3"))
    for query in ("cancion", "canción", "CANCIÓN numero"):
        hits = await inbox.search(query)
        assert [h.conversation_id for h in hits] == [r.conversation_id], query


async def test_conversation_summary_has_the_first_customer_message_only(inbox):
    r = await inbox.receive(email_msg("first words"))
    await inbox.add_note(r.conversation_id, "internal", SYS)
    await inbox.receive(email_msg("second", in_reply_to=None, mid="<x2@x>",
                                  subject="Re: Order question"))
    summary = await inbox.conversation_summary(r.conversation_id)
    assert summary.first_inbound.body == "first words"
    assert summary.contact.address == "ana@example.com" and summary.assignee is None
    with pytest.raises(NotFound):
        await inbox.conversation_summary(404)
