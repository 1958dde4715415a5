"""Hypothesis explores sequences of commands and checks the status invariants after each."""

from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from core import rules
from core.errors import InvalidTransition, SnoozeInPast
from core.model import Channel, Conversation, Status

T0 = datetime(2026, 1, 1, tzinfo=UTC)
minutes = st.integers(min_value=-120, max_value=600)


class ConversationStatus(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.now = T0
        self.conv = Conversation(Channel.EMAIL, "mail", 1, T0, id=1)
        self.expected = Status.OPEN

    @rule(step=st.integers(min_value=0, max_value=300))
    def time_passes(self, step):
        self.now += timedelta(minutes=step)

    @rule()
    def customer_writes(self):
        changed = rules.on_customer_message(self.conv, self.now)
        assert changed == (self.expected is not Status.OPEN)
        self.expected = Status.OPEN

    @rule()
    def staff_replies(self):
        rules.on_staff_reply(self.conv, self.now)
        if self.expected is Status.OPEN:
            self.expected = Status.PENDING

    @rule(offset=minutes)
    def snooze(self, offset):
        until = self.now + timedelta(minutes=offset)
        try:
            rules.snooze(self.conv, until, self.now)
        except SnoozeInPast:
            assert offset <= 0 and self.expected is not Status.RESOLVED
        except InvalidTransition:
            assert self.expected is Status.RESOLVED
        else:
            assert offset > 0 and self.expected is not Status.RESOLVED
            self.expected = Status.SNOOZED

    @rule()
    def wake(self):
        due = self.conv.snoozed_until is not None and self.conv.snoozed_until <= self.now
        woke = rules.wake(self.conv, self.now)
        assert woke == (self.expected is Status.SNOOZED and due)
        if woke:
            self.expected = Status.OPEN

    @rule()
    def resolve(self):
        try:
            rules.resolve(self.conv, self.now)
        except InvalidTransition:
            assert self.expected is Status.RESOLVED
        else:
            self.expected = Status.RESOLVED

    @rule()
    def reopen(self):
        try:
            rules.reopen(self.conv)
        except InvalidTransition:
            assert self.expected is Status.OPEN
        else:
            self.expected = Status.OPEN

    @invariant()
    def status_matches_model(self):
        assert self.conv.status is self.expected

    @invariant()
    def fields_agree_with_status(self):
        c = self.conv
        assert (c.snoozed_until is not None) == (c.status is Status.SNOOZED)
        assert (c.resolved_at is not None) == (c.status is Status.RESOLVED)


ConversationStatus.TestCase.settings = settings(max_examples=300, stateful_step_count=40)
TestConversationStatus = ConversationStatus.TestCase
