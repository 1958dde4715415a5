"""The reply policy: one pure function decides what staff text in a thread becomes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.reply_policy import (
    Change,
    Disposition,
    HoldReason,
    Recorded,
    StaffText,
    ThreadReplies,
    decide,
    note_body,
)

SEND, EXPLICIT, OFF = ThreadReplies.SEND, ThreadReplies.EXPLICIT, ThreadReplies.OFF


@pytest.mark.parametrize("text", [
    "note: customer is a known fraudster",
    "Note: x", "NOTE : x", "*note:* refund denied", "*note: refund denied*", "_note_: x",
    "~note:~ x", "`note:` x", "> note: quoted", ">> note: still a note", "nota: es un fraude",
    "Interno: no devolver", ":lock: secret", "🔒 secret", "[note] x", "(note) x",
    "note - x", "note — x", "  *NOTE*:  x",
])
def test_note_markers_in_any_formatting(text):
    decision = decide(StaffText(text), SEND)
    assert decision.disposition is Disposition.NOTE
    assert "note" not in decision.body.lower() or "still a note" in decision.body
    assert not decision.body.startswith(("*", "_", "~", "`", ":"))


@pytest.mark.parametrize(("text", "body"), [
    ("*note: refund denied*", "refund denied"),
    ("_note:_ he is lying", "he is lying"),
    ("note:x", "x"),
])
def test_note_body_drops_the_wrapping(text, body):
    assert note_body(text) == body


@pytest.mark.parametrize("text", [
    "Note that your order shipped yesterday", "Notebook in stock", "notes are attached",
    "Your internal order number is 5", "Hola, tu pedido sale hoy",
])
def test_words_that_only_look_like_markers_are_replies(text):
    assert decide(StaffText(text), SEND).disposition is Disposition.REPLY


def test_bot_mentions_are_commands_never_replies():
    for mode in ThreadReplies:
        d = decide(StaffText("@Threadline note fraudster", addresses_bot=True), mode)
        assert d.disposition is Disposition.COMMAND and not d.is_reply


def test_colleague_mentions_and_broadcasts_are_held():
    d = decide(StaffText("@Ben can you check the refund policy?", mentions_people=True), SEND)
    assert d.disposition is Disposition.INTERNAL and d.hold is HoldReason.MENTION
    assert d.can_send_anyway
    b = decide(StaffText("shipping today", broadcast=True), SEND)
    assert b.disposition is Disposition.INTERNAL and b.hold is HoldReason.BROADCAST


def test_modes():
    plain = StaffText("Your parcel left today")
    assert decide(plain, SEND).is_reply
    held = decide(plain, EXPLICIT)
    assert held.disposition is Disposition.INTERNAL and held.hold is HoldReason.EXPLICIT
    assert held.can_send_anyway
    off = decide(plain, OFF)
    assert off.disposition is Disposition.INTERNAL and not off.can_send_anyway
    explicit = decide(StaffText(">> Your parcel left today"), EXPLICIT)
    assert explicit.is_reply and explicit.body == "Your parcel left today"
    assert not decide(StaffText(">> Your parcel left today"), OFF).is_reply
    assert decide(StaffText(">>   "), SEND).disposition is Disposition.IGNORE
    assert decide(StaffText("  "), SEND).disposition is Disposition.IGNORE
    assert decide(StaffText("", has_files=True), SEND).is_reply


def test_edits():
    to_note = decide(StaffText("note: refund denied, he is lying"), SEND,
                     Recorded.QUEUED_REPLY)
    assert to_note.change is Change.TO_NOTE and to_note.body == "refund denied, he is lying"
    assert decide(StaffText("better words"), SEND, Recorded.QUEUED_REPLY).change \
        is Change.EDIT_REPLY
    held = decide(StaffText("ask @Ben", mentions_people=True), SEND, Recorded.QUEUED_REPLY)
    assert held.change is Change.TO_NOTE and held.hold is HoldReason.MENTION
    late = decide(StaffText("note: oops"), SEND, Recorded.SENT_REPLY)
    assert late.change is Change.TOO_LATE
    note = decide(StaffText("now it reads like a reply"), SEND, Recorded.NOTE)
    assert note.change is Change.EDIT_NOTE and note.disposition is Disposition.NOTE
    assert note.body == "now it reads like a reply"
    assert decide(StaffText("note: fixed typo"), SEND, Recorded.NOTE).body == "fixed typo"
    # a held message stays sendable on request only while it is not marked as a note
    still = decide(StaffText("ask @Ana too", mentions_people=True), SEND, Recorded.HELD)
    assert still.change is Change.EDIT_HELD and still.hold is HoldReason.MENTION
    assert decide(StaffText("no mention now"), SEND, Recorded.HELD).change is Change.EDIT_HELD
    marked = decide(StaffText("note: he is lying"), SEND, Recorded.HELD)
    assert marked.change is Change.EDIT_NOTE and marked.body == "he is lying"
    cmd = decide(StaffText("@Threadline resolve", addresses_bot=True), SEND, Recorded.HELD)
    assert cmd.change is Change.EDIT_NOTE


texts = st.builds(
    StaffText,
    text=st.one_of(st.text(max_size=40),
                   st.sampled_from(["note: x", ">> hi", "*note:* y", "hola", ">>", ""])),
    addresses_bot=st.booleans(), mentions_people=st.booleans(), broadcast=st.booleans(),
    has_files=st.booleans(),
)


@given(texts, st.sampled_from(list(ThreadReplies)), st.sampled_from([None, *Recorded]))
def test_invariants(text, mode, recorded):
    d = decide(text, mode, recorded)
    if d.is_reply:  # only these conditions ever let text out
        assert mode is not OFF and not text.addresses_bot and recorded in (
            None, Recorded.QUEUED_REPLY)
        assert note_body(text.text) is None
        if recorded is None and not text.text.strip().startswith(">>"):
            assert not text.mentions_people and not text.broadcast and mode is SEND
    if recorded is Recorded.NOTE:
        assert d.change is Change.EDIT_NOTE and not d.is_reply
    if recorded is Recorded.HELD:
        assert not d.is_reply
        if d.change is Change.EDIT_HELD:  # may still be sent on request: not a note
            assert note_body(text.text) is None and not text.addresses_bot
    if recorded is Recorded.SENT_REPLY:
        assert d.change is Change.TOO_LATE
