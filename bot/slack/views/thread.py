"""Messages posted inside a conversation's thread: customer messages, notes, statuses."""

from __future__ import annotations

import json
import math

from bot.slack.views import ids
from bot.slack.views.blocks import button as _button
from bot.slack.views.blocks import context as _context
from bot.slack.views.blocks import section as _section
from bot.slack.views.models import AttachmentView, MessageView, SendStatusView
from bot.slack.views.text import (
    channel_icon,
    channel_name,
    escape_mrkdwn,
    format_relative,
    join_limited,
    link,
    mention,
    mrkdwn,
    plain_text,
    seconds_between,
    split_text,
    truncate,
)
from core.automation.contract import URGENT_RULE  # its ping keeps the urgent look

SECTION_CHUNK = 2_900
MAX_BODY_SECTIONS = 40  # leaves room for header/context/action blocks under Slack's 50
MODAL_BLOCKS = 100


def _body_sections(escaped: str, max_sections: int = MAX_BODY_SECTIONS) -> list[dict]:
    """Sections of at most SECTION_CHUNK chars; past max_sections a note says what was cut."""
    chunks = split_text(escaped, SECTION_CHUNK)
    if len(chunks) <= max_sections:
        return [_section(chunk) for chunk in chunks]
    hidden = sum(len(c) for c in chunks[max_sections - 1 :])
    return [_section(chunk) for chunk in chunks[: max_sections - 1]] + [
        _context(f":scissors: Truncated: about {hidden:,} more characters not shown.")
    ]


def _size(n: int) -> str:
    size = float(max(n, 0))
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _missing_attachments(attachments: tuple[AttachmentView, ...]) -> str | None:
    pending = [a for a in attachments if a.pending]
    missing = [a for a in attachments if not a.stored and not a.pending]
    lines = []
    for group, prefix in ((pending, ":hourglass_flowing_sand: Downloading: "),
                          (missing, ":warning: Not attached (see the message for why): ")):
        if group:
            parts = [
                f"*{escape_mrkdwn(truncate(a.filename or 'unnamed', 100))}* ({_size(a.size)})"
                for a in group
            ]
            lines.append(prefix + join_limited(parts, 1_400 - len(prefix), sep=", "))
    return "\n".join(lines) or None


def _display_name(name: str | None) -> str:
    """usernames are not parsed, but keep Slack-looking markup out of them anyway."""
    return (name or "").replace("<", "‹").replace(">", "›").strip()


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _fallback(prefix: str, body: str) -> str:
    return truncate(f"{prefix}{escape_mrkdwn(truncate(body, 300))}", 3_000)


def _internal(view: MessageView, title: str) -> dict:
    author = escape_mrkdwn(truncate(view.author_name or "Someone", 80))
    blocks = [_context(f"{title} · {author} · _internal, never sent to the customer_")]
    blocks.extend(
        _body_sections(escape_mrkdwn(view.body), MAX_BODY_SECTIONS + 5) or [_context("_(empty)_")]
    )
    return {"text": _fallback(f"{title} ({author}): ", view.body), "blocks": blocks}


def note_message(view: MessageView) -> dict:
    return _internal(view, ":lock: *Private note*")


def ai_analysis_message(view: MessageView) -> dict:
    return _internal(view, ":robot_face: *AI triage*")


def system_message(view: MessageView) -> dict:
    """A small line (context block). Automation lines name contacts, teams and agents, so
    the body is escaped and verbatim like any customer text."""
    chunks = split_text(escape_mrkdwn(view.body), SECTION_CHUNK) or ["(no details)"]
    if view.automatic is not None:  # "⚙️ <rule>: …" already says who did it
        icon = "" if chunks[0].startswith("⚙") else "⚙️ "
    else:
        icon = ":information_source: "
    elements = [mrkdwn(f"{icon}{chunks[0]}", verbatim=True)]
    elements += [mrkdwn(c, verbatim=True) for c in chunks[1:10]]
    return {"text": _fallback("", view.body), "blocks": [{"type": "context", "elements": elements}]}


def outbound_message(view: MessageView) -> dict:
    """A reply sent outside the thread (template modal, CLI, API), mirrored for the record."""
    author = escape_mrkdwn(truncate(view.author_name or "Someone", 80))
    known = view.channel in ("email", "whatsapp")
    icon = channel_icon(view.channel) if known else ":outbox_tray:"
    if view.automatic is not None:  # no person wrote it: say which automation did
        what = "Automatic reply" if view.auto_reply else "Automatic message"
        name = escape_mrkdwn(truncate(view.automatic or "automation", 80))
        author = f"⚙️ {what} · {name}"
        how = f"sent by {channel_name(view.channel)}" if known else "sent"
        blocks = [_context(f"{icon} ↪ *⚙️ {what}* · {name} — {how}")]
    else:
        how = f"replied by {channel_name(view.channel)}" if known else "replied"
        blocks = [_context(f"{icon} ↪ *{author}* {how}")]
    if view.subject:
        blocks.append(_section(f"*{escape_mrkdwn(truncate(view.subject, 500))}*"))
    escaped = escape_mrkdwn(view.body)
    blocks.extend(_body_sections(escaped) or [_context("_(no text)_")])
    missing = _missing_attachments(view.attachments)
    if missing:
        blocks.append(_context(missing))
    return {"text": _fallback(f"{author} {how}: ", view.body), "blocks": blocks}


def _reaction_line(reactions: tuple[str, ...]) -> str:
    """Customer reactions (unicode emoji from WhatsApp), escaped like any customer text."""
    shown = escape_mrkdwn(truncate(" ".join(r for r in reactions if r), 200))
    return f"Customer reacted {shown}"


def send_status_message(view: SendStatusView) -> dict:
    """The bot's marker under a staff message written in the thread: where it is going
    (to the customer, with a countdown and Undo) or that it stays internal."""
    mid = str(view.message_id)
    blocks: list[dict] = []
    status = view.status
    counting = status == "queued" and view.send_at is not None and view.send_at > view.now
    if status == "queued":
        if counting:
            secs = max(1, math.ceil(seconds_between(view.now, view.send_at)))
            line = f":arrow_right: *To the customer in {secs} s*"
        else:
            line = ":arrow_right: Sending to the customer…"
    elif status == "sent":
        line = ":outbox_tray: Sent"
    elif status == "delivered":
        line = ":white_check_mark: Delivered"
    elif status == "read":
        line = ":eyes: Read"
    elif status == "failed":
        detail = " ".join(p for p in (view.error_code, view.error_text) if p)
        line = f":x: Not delivered: {escape_mrkdwn(truncate(detail or 'unknown error', 2_500))}"
    elif status == "withdrawn":
        line = ":leftwards_arrow_with_hook: Withdrawn — not sent"
    elif status == "deleted":
        line = ":wastebasket: Deleted — not sent to the customer"
    elif status == "note":
        line = ":lock: *Internal note* — not sent to the customer"
    elif status == "held":
        why = escape_mrkdwn(truncate(view.hold_reason or "it stays in the team", 300))
        line = f":lock: *Internal* — not sent to the customer: {why}"
    else:
        line = f":grey_question: {escape_mrkdwn(truncate(status, 100))}"
    if view.maybe_twice:
        line += (" · :warning: may have reached the customer twice (Threadline stopped while "
                 "sending and the provider cannot be asked)")
    if view.reactions:
        line += " · " + _reaction_line(view.reactions)
    blocks.append(_context(line, f"send:{mid}"))
    if view.window_closed and view.conversation_id is not None:
        # The same hint and button as when the window is closed at send time.
        cid = str(view.conversation_id)
        blocks.append(_context("The WhatsApp 24-hour window had closed: send an approved "
                               "template instead; once the customer answers, normal replies "
                               "work again."))
        blocks.append({"type": "actions", "block_id": f"send:{mid}:window",
                       "elements": [_button(":page_facing_up: Send a template",
                                            ids.TEMPLATE_OPEN, cid, "primary")]})
    if counting:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"send:{mid}:actions",
                "elements": [
                    _button(":leftwards_arrow_with_hook: Undo", ids.UNDO_SEND, mid, "danger"),
                    _button(":lock: Make it a note", ids.MAKE_NOTE, mid),
                ],
            }
        )
    elif status == "failed":
        blocks.append(
            {
                "type": "actions",
                "block_id": f"send:{mid}:actions",
                "elements": [_button(":repeat: Retry", ids.RETRY_SEND, mid)],
            }
        )
    elif status == "held" and view.send_label:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"send:{mid}:actions",
                "elements": [_button(f":arrow_right: {view.send_label}", ids.SEND_HELD, mid)],
            }
        )
    return {"text": truncate(line, 3_000), "blocks": blocks}


def window_closed_message(conversation_id: int, last_customer_at, now) -> dict:
    cid = str(conversation_id)
    when = (
        f"The customer last wrote {format_relative(last_customer_at, now)}."
        if last_customer_at is not None
        else "The customer has not written in this conversation yet."
    )
    text = (
        ":no_entry: *Not sent: the WhatsApp 24-hour window is closed.*\n"
        "WhatsApp only allows free-form replies within 24 hours of the customer's last "
        f"message. {when} Send an approved template instead; once the customer answers, "
        "normal replies work again."
    )
    return {
        "text": "Not sent: the WhatsApp 24-hour window is closed. Send a template instead.",
        "blocks": [
            _section(text, f"window:{cid}"),
            {
                "type": "actions",
                "block_id": f"window:{cid}:actions",
                "elements": [
                    _button(":page_facing_up: Send a template", ids.TEMPLATE_OPEN, cid, "primary"),
                ],
            },
        ],
    }


def snooze_ended_message(assignee_slack_id: str | None) -> dict:
    who = mention(assignee_slack_id)
    text = (
        f":alarm_clock: Snooze is over — {who}, this conversation is back in your queue."
        if who
        else ":alarm_clock: Snooze is over — this conversation is back in the inbox."
    )
    return {"text": text, "blocks": [_section(text)]}


def notify_message(rule: str, slack_ids, contact_name: str, permalink: str | None,
                   audience: str = "the managers") -> dict:
    """An automation's `notify`: one thread reply mentioning the recipients, naming the rule
    and the contact. Without a recipient it says so, so staff see nobody was pinged."""
    name = escape_mrkdwn(truncate(contact_name or "a customer", 150))
    rule_name = escape_mrkdwn(truncate(rule or "automation", 150))
    mentions = [m for m in (mention(i) for i in slack_ids or ()) if m]
    who = escape_mrkdwn(truncate(audience or "someone", 150))
    if not mentions:
        text = (f":warning: Rule *{rule_name}* wanted to notify {who} about *{name}*, but "
                "nobody with a Slack account linked to Threadline could be pinged.")
        text = truncate(text, 3_000)
        return {"text": text, "blocks": [_section(text, "notify")]}
    if rule == URGENT_RULE:
        text, short = f":rotating_light: *Urgent conversation* with *{name}*", "Urgent conversation"
    else:
        text = f":bell: *{rule_name}*: conversation with *{name}*"
        short = f"{rule_name}: conversation"
    if permalink:
        text += f" — {link(permalink, 'open the thread')}"
    blocks = [_section(truncate(text, 3_000), "notify")]
    who_line = join_limited(mentions, 2_900, sep=" ")
    blocks.append(_section(who_line, "notify:who"))
    blocks.append(_context(f"⚙️ Rule: {rule_name}", "notify:rule"))
    if permalink and len(permalink) <= 3_000:
        blocks.append(
            {
                "type": "actions",
                "block_id": "notify:actions",
                "elements": [
                    {
                        "type": "button",
                        "text": plain_text("Open thread"),
                        "action_id": ids.OPEN_THREAD,
                        "url": permalink,
                        "style": "danger" if rule == URGENT_RULE else "primary",
                    }
                ],
            }
        )
    # Mobile notifications show only `text`: the mentions go there as well.
    fallback = truncate(f"{who_line} {short} with {name}", 3_000)
    return {"text": fallback, "blocks": blocks}


def full_message_modal(title: str, body: str, message_id: int) -> dict:
    chunks = split_text(escape_mrkdwn(body), SECTION_CHUNK) or ["_(no text)_"]
    blocks = [_section(c) for c in chunks[:MODAL_BLOCKS]]
    if len(chunks) > MODAL_BLOCKS:
        blocks = blocks[: MODAL_BLOCKS - 1]
        hidden = sum(len(c) for c in chunks[MODAL_BLOCKS - 1 :])
        blocks.append(
            _context(
                f":scissors: Truncated: about {hidden:,} more characters "
                "are stored but do not fit in Slack."
            )
        )
    return {
        "type": "modal",
        "callback_id": ids.FULL_MESSAGE_MODAL,
        "title": plain_text(title or "Message", 24),
        "close": plain_text("Close"),
        "private_metadata": json.dumps({"message_id": message_id}),
        "blocks": blocks,
    }


def error_message(text: str) -> dict:
    """An ephemeral-friendly error (works with respond(), chat.postEphemeral, response_url)."""
    body = escape_mrkdwn(truncate(text or "Something went wrong.", 2_900))
    return {
        "response_type": "ephemeral",
        "text": truncate(body, 3_000),
        "blocks": [_section(f":warning: {body}")],
    }
