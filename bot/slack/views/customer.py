"""A customer's message in the thread: its text, labels, reactions and revisions, and
the line that goes with a file that came after its message was posted."""

from __future__ import annotations

from bot.slack.views import ids
from bot.slack.views.blocks import button as _button
from bot.slack.views.blocks import context as _context
from bot.slack.views.blocks import section as _section
from bot.slack.views.models import MessageView
from bot.slack.views.text import escape_mrkdwn, split_text, truncate
from bot.slack.views.thread import (
    MAX_BODY_SECTIONS,
    SECTION_CHUNK,
    _display_name,
    _fallback,
    _missing_attachments,
    _reaction_line,
    _unescape,
)


def customer_message(view: MessageView, max_chars: int = 12_000, *,
                     sender_line: bool = False) -> dict:
    """A customer's message, posted in the thread under the contact's name. `sender_line`:
    the post also shares the message's files, and Slack shows a file post under the bot
    whatever name is asked for, so the sender is named in the post itself."""
    max_chars = max(1, min(max_chars, SECTION_CHUNK * MAX_BODY_SECTIONS))
    mid = str(view.message_id)
    author = truncate(_display_name(view.author_name) or "Customer", 80)
    blocks: list[dict] = [_context(f":bust_in_silhouette: *{escape_mrkdwn(author)}*")
                          ] if sender_line else []
    if view.referral:
        blocks.append(_context(f":mega: {escape_mrkdwn(truncate(view.referral, 500))}"))
    if view.machine_sent:
        blocks.append(_context("⚙️ _Automatic mail (an auto-reply, a mailing list or a delivery "
                               "report): it reopens nothing and needs no answer_"))
    if view.subject:
        blocks.append(_section(f"*{escape_mrkdwn(truncate(view.subject, 500))}*"))
    if view.quoted:
        quoted = escape_mrkdwn(truncate(" ".join(view.quoted.split()), 500))
        blocks.append(_context(f":leftwards_arrow_with_hook: _In reply to:_ {quoted}"))
    body = view.body or ""
    cut = len(body) > max_chars
    chunks = split_text(escape_mrkdwn(truncate(body, max_chars) if cut else body), SECTION_CHUNK)
    if len(chunks) > MAX_BODY_SECTIONS:
        chunks, cut = chunks[:MAX_BODY_SECTIONS], True
    if view.revoked:
        chunks = [_struck(c) for c in chunks]
        blocks.append(_context(":no_entry_sign: _The customer deleted this message_"))
    blocks.extend([_section(c) for c in chunks] or [_context(_no_text(view))])
    if view.edited_from is not None and not view.revoked:
        was = escape_mrkdwn(truncate(" ".join(view.edited_from.split()), 300)) or "(no text)"
        blocks.append(_context(f":pencil2: _Edited by the customer_ · it first said: {was}"))
    if view.reactions:
        blocks.append(_context(_reaction_line(view.reactions)))
    missing = _missing_attachments(view.attachments)
    if missing:
        blocks.append(_context(missing))
    if cut:
        shown = len(_unescape("".join(chunks)))
        blocks.append(
            _context(
                f":scissors: Long message: showing about {shown:,} of {len(body):,} characters."
            )
        )
        blocks.append(
            {
                "type": "actions",
                "block_id": f"msg:{mid}:full",
                "elements": [_button(":page_facing_up: Show full message", ids.SHOW_FULL, mid)],
            }
        )
    return {
        "text": _fallback(f"{escape_mrkdwn(author)}: ", view.subject or view.body or ""),
        "blocks": blocks,
        "username": author,
        "icon_emoji": ":bust_in_silhouette:" if view.direction == "in" else ":outbox_tray:",
    }


def _struck(escaped: str) -> str:
    """Slack strikes through within a line: each line is struck on its own."""
    return "\n".join(f"~{line}~" if line.strip() else line for line in escaped.split("\n"))


MEDIA_LABELS = {"voice": "🎤 Voice note", "audio": "🎵 Audio", "image": "📷 Photo",
                "sticker": "🏷️ Sticker", "video": "🎬 Video", "document": "📄 Document"}


def _no_text(view: MessageView) -> str:
    """A message without text says what it is: a voice note, a photo, a sticker..."""
    if view.media_kind in MEDIA_LABELS:
        label = MEDIA_LABELS[view.media_kind]
        names = [escape_mrkdwn(truncate(a.filename, 100)) for a in view.attachments
                 if a.filename and view.media_kind == "document"]
        length = f" {view.media_duration}" if view.media_duration else ""
        return f"{label}{length}{': ' + names[0] if names else ''}"
    if view.attachments:
        return f"📎 {len(view.attachments)} file(s)"
    return "_(no text)_"


def file_follow_up(view: MessageView) -> dict:
    """The line on a file that landed after its message was posted (a slow download):
    whose it is and which message it goes with, since it cannot join that post."""
    author = escape_mrkdwn(truncate(_display_name(view.author_name) or "Customer", 80))
    said = " ".join((view.subject or view.body or "").split())
    if said:
        return _context(f":paperclip: *{author}* · the file sent with: "
                        f"{escape_mrkdwn(truncate(said, 150))}")
    return _context(f":paperclip: *{author}* · {_no_text(view)}")


def files_refused(reason: str, conversation_id: int) -> dict:
    """Under a message whose files Slack would not take: why, and that none is lost."""
    why = escape_mrkdwn(truncate(" ".join((reason or "no reason given").split()), 300))
    text = (f":warning: Slack would not take the file(s) of the message above ({why}). They "
            f"are kept in Threadline: `threadline conversations show {conversation_id}` "
            "lists them.")
    return {"text": truncate(text, 3_000), "blocks": [_context(text)]}
