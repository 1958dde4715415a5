"""AI triage in the core: which messages get a job, and recording an analysis once, with
its tags, the urgent tag (and so the managers' ping) and ai_analyzed rules — through the
real storage on SQLite and PostgreSQL."""

from zoneinfo import ZoneInfo

from core.analysis import ActionKind, Analysis, QuickAction, Reference, ReferenceKind, Sentiment
from core.automation.contract import AddTags, Note
from core.model import Actor, Direction, MessageKind
from core.usecases import Inbox
from tests.core.automation_helpers import automations, rule
from tests.core.conftest import ACCOUNTS, email_msg, wa_msg

SYS = Actor.system()


def _inbox(uow_factory, clock, ai=("mail", "wa"), autos=None) -> Inbox:
    return Inbox(uow_factory, clock, ACCOUNTS, ZoneInfo("Europe/Madrid"), frontends=("slack",),
                 automations=autos, ai_accounts=ai)


def _analysis(**kw) -> Analysis:
    base = dict(sentiment=Sentiment.NEUTRAL, urgent=False, summary="Order question",
                engine="offline")
    return Analysis(**(base | kw))


async def _jobs(outbox) -> list[dict]:
    return [r["payload"] for r in await outbox.rows() if r["kind"] == "analyze:message"]


async def test_customer_messages_with_text_get_one_job_each(uow_factory, clock, outbox):
    inbox = _inbox(uow_factory, clock)
    a = await inbox.receive(wa_msg("hola, mi pedido 45821 no llega"))
    b = await inbox.receive(email_msg("Where is my order?"))
    await inbox.receive(wa_msg(""))  # a photo without caption: nothing to read
    await inbox.receive(email_msg("I am out of the office", automated=True))
    assert await _jobs(outbox) == [
        {"conversation_id": a.conversation_id, "message_id": a.message_id},
        {"conversation_id": b.conversation_id, "message_id": b.message_id}]
    job = await inbox.analysis_job(a.message_id)
    assert (job.request.text, job.request.channel, job.account) == (
        "hola, mi pedido 45821 no llega", "whatsapp", "wa")
    assert (await inbox.analysis_job(b.message_id)).request.subject == "Order question"


async def test_ai_off_for_an_account_queues_nothing(uow_factory, clock, outbox):
    inbox = _inbox(uow_factory, clock, ai=("mail",))
    await inbox.receive(wa_msg("hola"))
    assert await _jobs(outbox) == []
    await inbox.receive(email_msg("hello"))
    assert len(await _jobs(outbox)) == 1


async def test_recording_stores_one_private_note_and_applies_existing_tags(uow_factory, clock):
    inbox = _inbox(uow_factory, clock)
    await inbox.upsert_tag("billing", "#1e88e5", SYS)
    r = await inbox.receive(email_msg("The invoice FAC-2024/0388 is charged twice"))
    analysis = _analysis(
        sentiment=Sentiment.FRUSTRATED, suggested_tags=("billing", "nonexistent"),
        references=(Reference(ReferenceKind.INVOICE, "FAC-2024/0388"),),
        actions=(QuickAction(ActionKind.ADD_TAG, "billing"),), summary="Invoice charged twice")
    note = await inbox.record_analysis(r.message_id, analysis)
    assert note is not None and note.kind is MessageKind.AI_ANALYSIS
    assert not note.leaves_inbox and note.direction is Direction.OUT
    assert note.author == Actor.automation("ai")
    assert note.meta["analysis"] == analysis.to_dict()
    assert note.meta["message_id"] == r.message_id
    assert note.meta["applied_tags"] == ["billing"]
    assert "invoice FAC-2024/0388" in note.body and "tagged: billing" in note.body
    conv = (await inbox.conversation(r.conversation_id)).conversation
    assert conv.tags == ["billing"]  # the AI never creates a tag
    assert {t.name for t in await inbox.tags()} == {"billing"}
    # A retried job (after a crash between the model's answer and the ack) records nothing.
    assert await inbox.record_analysis(r.message_id, analysis) is None
    assert await inbox.analysis_job(r.message_id) is None
    thread = await inbox.thread(r.conversation_id)
    assert [m.kind for m in thread].count(MessageKind.AI_ANALYSIS) == 1
    details = await inbox.conversation(r.conversation_id)
    tagged = [a for a in details.activity if a.action == "tagged"]
    assert [(a.actor, a.detail["added"]) for a in tagged] == [(Actor.automation("ai"),
                                                               ["billing"])]


async def test_urgent_tags_urgent_and_the_builtin_rule_pings_managers(uow_factory, clock,
                                                                      outbox):
    inbox = _inbox(uow_factory, clock)
    r = await inbox.receive(wa_msg("la linea esta parada, necesito la pieza hoy"))
    await inbox.record_analysis(r.message_id, _analysis(
        sentiment=Sentiment.URGENT, urgent=True, urgent_reason="work stopped"))
    conv = (await inbox.conversation(r.conversation_id)).conversation
    assert conv.tags == ["urgent"]
    pings = [row["payload"] for row in await outbox.rows() if row["kind"] == "slack:notify"]
    assert pings == [{"conversation_id": r.conversation_id, "rule": "urgent ping",
                      "role": "manager", "agent_id": None}]


async def test_not_urgent_adds_no_urgent_tag(uow_factory, clock, outbox):
    inbox = _inbox(uow_factory, clock)
    r = await inbox.receive(wa_msg("URGENTE!!! oferta exclusiva, haz clic"))
    await inbox.record_analysis(r.message_id, _analysis())
    assert (await inbox.conversation(r.conversation_id)).conversation.tags == []
    assert not [row for row in await outbox.rows() if row["kind"] == "slack:notify"]


async def test_ai_analyzed_rules_see_the_analysis(uow_factory, clock):
    autos = automations(
        rule("angry to lead", "ai_analyzed", Note("frustrated customer"),
             sentiment=["frustrated"]),
        rule("ai says billing", "ai_analyzed", AddTags(("finance",)), ai_tags_any=["billing"]),
        rule("urgent ai", "ai_analyzed", Note("urgent!"), ai_urgent=True))
    inbox = _inbox(uow_factory, clock, autos=autos)
    r = await inbox.receive(email_msg("Third time I write about invoice 55120"))
    await inbox.record_analysis(r.message_id, _analysis(
        sentiment=Sentiment.FRUSTRATED, suggested_tags=("billing",)))
    notes = [m.body for m in await inbox.thread(r.conversation_id)
             if m.kind is MessageKind.NOTE]
    assert notes == ["frustrated customer"]
    conv = (await inbox.conversation(r.conversation_id)).conversation
    assert conv.tags == ["finance"]  # "billing" doesn't exist, so only the rule's tag


async def test_jobs_for_staff_and_system_messages_are_refused(uow_factory, clock):
    inbox = _inbox(uow_factory, clock)
    r = await inbox.receive(wa_msg("hola"))
    note = await inbox.record_analysis(r.message_id, _analysis())
    assert await inbox.analysis_job(note.id) is None  # an AI note is never analysed
    assert await inbox.analysis_job(10**9) is None
    assert await inbox.record_analysis(10**9, _analysis()) is None
