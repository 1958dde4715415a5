"""Conditions that the database tests cannot reach yet: the AI ones (nothing emits
ai_analyzed until AI triage lands), and the trigger-specific ones on their own."""

from datetime import UTC, datetime

from core.automation.cascade import AiFacts, Event, Facts, matches
from core.automation.contract import AddTags, Trigger
from core.model import Actor, Channel, Conversation, Status
from tests.core.automation_helpers import rule

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CONV = Conversation(Channel.EMAIL, "mail", 1, NOW, subject="Pedido", id=1)


def ai_event(**ai) -> Event:
    return Event(Trigger.AI_ANALYZED, Actor.system(), ai=AiFacts(**ai))


def test_ai_conditions():
    r = rule("angry", "ai_analyzed", AddTags(("x",)), ai_urgent=True,
             sentiment=["frustrated", "urgent"], ai_tags_any=["refund"])
    facts = Facts(now=NOW)
    assert matches(r, ai_event(sentiment="frustrated", urgent=True,
                               tags=frozenset({"refund", "late"})), CONV, facts, None)
    assert not matches(r, ai_event(sentiment="positive", urgent=True,
                                   tags=frozenset({"refund"})), CONV, facts, None)
    assert not matches(r, ai_event(sentiment="urgent", urgent=False,
                                   tags=frozenset({"refund"})), CONV, facts, None)
    assert not matches(r, ai_event(sentiment="urgent", urgent=True), CONV, facts, None)
    assert not matches(r, Event(Trigger.AI_ANALYZED, Actor.system()), CONV, facts, None)


def test_trigger_conditions_and_own_events():
    tagged = rule("t", "tag_added", AddTags(("x",)), tag=["urgent", "vip"])
    moved = rule("s", "status_changed", AddTags(("x",)), to="resolved")
    facts = Facts(now=NOW)
    assert matches(tagged, Event(Trigger.TAG_ADDED, Actor.system(), tag="vip"), CONV, facts,
                   None)
    assert not matches(tagged, Event(Trigger.TAG_ADDED, Actor.system(), tag="spam"), CONV,
                       facts, None)
    assert not matches(tagged, Event(Trigger.TAG_REMOVED, Actor.system(), tag="vip"), CONV,
                       facts, None)
    assert not matches(tagged, Event(Trigger.TAG_ADDED, Actor.automation("t"), tag="vip"),
                       CONV, facts, None)  # its own action
    assert matches(moved, Event(Trigger.STATUS_CHANGED, Actor.agent(1),
                                status_to=Status.RESOLVED), CONV, facts, None)
    assert not matches(moved, Event(Trigger.STATUS_CHANGED, Actor.agent(1),
                                    status_to=Status.OPEN), CONV, facts, None)
