"""Random rule sets over random event sequences: the cascade terminates, fires each rule at
most once per event, never for its own action's event, never past the depth limit, and no
automated mail is ever a candidate for an auto-reply."""

from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.automation import state
from core.automation.cascade import (
    Cascade,
    Event,
    Facts,
    auto_reply_candidates,
)
from core.automation.contract import (
    AddTags,
    Assign,
    Automations,
    AutoReply,
    Conditions,
    RemoveTags,
    ReplyWhen,
    Rule,
    SetStatus,
    Snooze,
    Trigger,
)
from core.errors import InvalidTransition
from core.model import Actor, Channel, Conversation, Status

NOW = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # the autumn DST night in Madrid
TAGS = ["a", "b", "c"]
EVENT_TRIGGERS = [Trigger.CONVERSATION_OPENED, Trigger.MESSAGE_RECEIVED, Trigger.TAG_ADDED,
                  Trigger.TAG_REMOVED, Trigger.STATUS_CHANGED, Trigger.ASSIGNED]

tags = st.lists(st.sampled_from(TAGS), min_size=1, max_size=2, unique=True).map(tuple)
actions = st.one_of(
    tags.map(AddTags), tags.map(RemoveTags),
    st.sampled_from([Status.OPEN, Status.PENDING, Status.RESOLVED]).map(SetStatus),
    st.just(Snooze(duration=timedelta(hours=1))), st.just(Assign(team="T")))
conditions = st.builds(
    Conditions,
    tags_any=st.frozensets(st.sampled_from(TAGS), max_size=2),
    tags_none=st.frozensets(st.sampled_from(TAGS), max_size=1),
    tag=st.none() | st.frozensets(st.sampled_from(TAGS), min_size=1, max_size=2),
    status=st.none() | st.frozensets(st.sampled_from(list(Status)), min_size=1),
    assigned=st.none() | st.booleans())
rules = st.lists(st.builds(
    lambda i, triggers, c, acts: Rule(f"r{i}", frozenset(triggers), tuple(acts), c),
    st.integers(0, 10**6), st.sets(st.sampled_from(EVENT_TRIGGERS), min_size=1, max_size=3),
    conditions, st.lists(actions, min_size=1, max_size=3)), max_size=8,
    unique_by=lambda r: r.name)
events = st.lists(st.one_of(
    st.builds(lambda t: Event(Trigger.TAG_ADDED, Actor.system(), tag=t), st.sampled_from(TAGS)),
    st.builds(lambda auto: Event(Trigger.MESSAGE_RECEIVED, Actor.contact(1), text="hola",
                                 automated=auto), st.booleans()),
    st.just(Event(Trigger.STATUS_CHANGED, Actor.agent(1), status_to=Status.RESOLVED)),
), min_size=1, max_size=5)


def apply(conv: Conversation, action, actor: Actor) -> list[Event]:
    """The state part of each action, as the use cases apply it."""
    if isinstance(action, AddTags):
        return state.add_tags(conv, action.tags, actor)
    if isinstance(action, RemoveTags):
        return state.remove_tags(conv, action.tags, actor)
    if isinstance(action, SetStatus):
        return state.set_status(conv, action.status, NOW, actor)
    if isinstance(action, Snooze):
        try:
            return state.snooze(conv, NOW + timedelta(hours=1), NOW, actor)
        except InvalidTransition:
            return []
    conv.assignee_id = 7
    return [Event(Trigger.ASSIGNED, actor)]


PING_PONG = [  # two rules feeding each other forever, were it not for the depth limit
    Rule("ping", frozenset({Trigger.TAG_ADDED}), (RemoveTags(("a",)), AddTags(("b",))),
         Conditions(tag=frozenset({"a"}))),
    Rule("pong", frozenset({Trigger.TAG_ADDED}), (RemoveTags(("b",)), AddTags(("a",))),
         Conditions(tag=frozenset({"b"}))),
]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(rules, events, st.integers(1, 4))
@example(PING_PONG, [Event(Trigger.TAG_ADDED, Actor.system(), tag="a")], 3)
def test_cascades_terminate_and_fire_each_rule_once_per_event(rule_set, sequence, depth):
    automations = Automations(tuple(rule_set), (
        AutoReply("ack", "t", when=ReplyWhen.ALWAYS),), max_depth=depth)
    conv = Conversation(Channel.EMAIL, "mail", 1, NOW, subject="Pedido", id=1)
    facts = Facts(now=NOW)
    for initial in sequence:
        cascade = Cascade(automations)
        cascade.push([initial])
        seen: set[tuple[str, int]] = set()
        alive: list[Event] = []  # so no two events share an id()
        firings = 0
        for rule, event in cascade.firings(conv, facts):
            firings += 1
            assert firings <= len(rule_set) * 200, "the cascade does not end"
            assert (rule.name, id(event)) not in seen, "a rule fired twice for one event"
            seen.add((rule.name, id(event)))
            alive.append(event)
            assert event.by_rule != rule.name, "a rule fired for its own action"
            assert event.depth <= depth
            caused = []
            for action in rule.actions:
                caused += apply(conv, action, Actor.automation(rule.name))
            cascade.caused(rule, event, caused)
            if initial.automated:
                assert event.automated  # the chain remembers what started it
        candidates = auto_reply_candidates(automations, initial, conv, facts)
        if initial.automated or initial.trigger is not Trigger.MESSAGE_RECEIVED:
            assert candidates == []
        elif conv.status is not Status.RESOLVED:
            assert [c.name for c in candidates] == ["ack"]
