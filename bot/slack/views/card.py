"""The card: the parent message of a conversation's Slack thread, updated on every change."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime

from bot.slack.views import ids
from bot.slack.views.blocks import button as _button
from bot.slack.views.models import CardView
from bot.slack.views.text import (
    channel_icon,
    escape_mrkdwn,
    format_relative,
    join_limited,
    mention,
    mrkdwn,
    plain_text,
    slack_date,
    status_label,
    tag_emoji,
    truncate,
)

SNOOZE_PRESETS = (
    ("1h", "1 hour"),
    ("2h", "2 hours"),
    ("4h", "4 hours"),
    ("tomorrow", "Tomorrow 09:00"),
    ("monday", "Next Monday 09:00"),
    ("pick", "Pick a date and time…"),
)


def snooze_menu(conversation_id: int) -> dict:
    """Static select (an overflow holds only 5 options; we need 6)."""
    cid = str(conversation_id)
    return {
        "type": "static_select",
        "action_id": ids.SNOOZE_MENU,
        "placeholder": plain_text(":zzz: Snooze…"),
        "options": [
            {"text": plain_text(label, 75), "value": f"{cid}:{preset}"}
            for preset, label in SNOOZE_PRESETS
        ],
    }


def _window_line(view: CardView) -> str | None:
    if view.channel != "whatsapp":
        return None
    closes = view.window_closes_at
    if closes is not None and closes > view.now:
        # Relative text goes stale between card updates; the date token stays right.
        return (
            f":stopwatch: window closes {format_relative(closes, view.now)} "
            f"({slack_date(closes, '{time}')})"
        )
    return ":no_entry: window closed: templates only"


def _assignee(view: CardView) -> str:
    who = mention(view.assignee_slack_id) or (
        escape_mrkdwn(truncate(view.assignee_name, 80)) if view.assignee_name else None
    )
    team = escape_mrkdwn(truncate(view.team_name, 80)) if view.team_name else None
    if who and team:
        return f"{who} ({team})"
    return who or (f":busts_in_silhouette: {team}" if team else "_Unassigned_")


def _tags(view: CardView) -> str:
    parts = [f"{tag_emoji(t.colour)} {escape_mrkdwn(truncate(t.name, 60))}" for t in view.tags]
    return join_limited(parts, 1_900) if parts else "_none_"


def _state_digest(view: CardView) -> str:
    state = replace(view, now=datetime.min, last_activity_at=None)
    return hashlib.sha1(repr(state).encode()).hexdigest()[:8]


MAX_PARTICIPANTS_SHOWN = 5


def card_message(view: CardView) -> dict:
    cid = str(view.conversation_id)
    icon = channel_icon(view.channel)
    name = escape_mrkdwn(truncate(view.contact_name or "Unknown contact", 150))
    address = escape_mrkdwn(truncate(view.contact_address, 200))
    headline = f"{icon} *{name}*"
    if address and view.contact_address != view.contact_name:
        headline += f"  {address}"
    if view.urgent:
        headline = ":rotating_light: *URGENT*  " + headline
    if view.customer_name:
        headline += (
            f"\n:bust_in_silhouette: Customer: *{escape_mrkdwn(truncate(view.customer_name, 150))}*"
        )
    if view.participants:
        named = ", ".join(escape_mrkdwn(truncate(p, 120))
                          for p in view.participants[:MAX_PARTICIPANTS_SHOWN])
        more = len(view.participants) - MAX_PARTICIPANTS_SHOWN
        headline += f"\n:busts_in_silhouette: Also writing: {named}" + (
            f" and {more} more" if more > 0 else "")
    if view.subject:
        about = f"*{escape_mrkdwn(truncate(view.subject, 300))}*"
        if view.preview:
            about += f"\n{escape_mrkdwn(truncate(view.preview, 500))}"
    else:
        about = escape_mrkdwn(truncate(view.preview, 500)) or "_(no text)_"
    main_text = truncate(headline + "\n" + about, 3_000)

    fields = [
        mrkdwn(f"*Status*\n{status_label(view.status)}"),
        mrkdwn(f"*Assignee*\n{_assignee(view)}"),
        mrkdwn(f"*Tags*\n{_tags(view)}"),
    ]
    window = _window_line(view)
    if window:
        fields.append(mrkdwn(f"*WhatsApp*\n{window}"))
    if view.status == "snoozed" and view.snoozed_until is not None:
        fields.append(
            mrkdwn(
                f"*Snoozed until*\n{slack_date(view.snoozed_until)} "
                f"({format_relative(view.snoozed_until, view.now)})"
            )
        )
    if view.last_activity_at is not None:
        fields.append(mrkdwn(f"*Last activity*\n{slack_date(view.last_activity_at)}"))

    resolved = view.status == "resolved"
    primary = [
        _button(
            ":raising_hand: Assign to me",
            ids.ASSIGN_ME,
            cid,
            "primary" if not view.assignee_slack_id and not resolved else None,
        ),
        _button("Assign…", ids.ASSIGN_OPEN, cid),
        snooze_menu(view.conversation_id),
        _button(":arrows_counterclockwise: Reopen", ids.REOPEN, cid)
        if resolved
        else _button(":white_check_mark: Resolve", ids.RESOLVE, cid),
    ]
    secondary = [
        _button(":label: Tags", ids.TAGS_OPEN, cid),
        _button(":page_facing_up: Template", ids.TEMPLATE_OPEN, cid),
        _button(":lock: Note", ids.NOTE_OPEN, cid),
        _button(
            ":link: Link customer" if not view.customer_name else ":link: Change customer",
            ids.LINK_CUSTOMER_OPEN,
            cid,
        ),
    ]
    if view.customer_name:
        secondary.append(_button(":bust_in_silhouette: Profile", ids.PROFILE_OPEN, cid))

    context = f"{escape_mrkdwn(truncate(view.account_name, 150))} · #{cid}"
    blocks = [
        {"type": "section", "block_id": f"card:{cid}", "text": mrkdwn(main_text, verbatim=True)},
        {"type": "section", "block_id": f"card:{cid}:fields", "fields": fields},
        # A new block_id per state makes clients drop a stale menu selection after updates.
        {
            "type": "actions",
            "block_id": f"card:{cid}:actions:{_state_digest(view)}",
            "elements": primary,
        },
        {"type": "actions", "block_id": f"card:{cid}:more", "elements": secondary},
        {
            "type": "context",
            "block_id": f"card:{cid}:context",
            "elements": [mrkdwn(context, verbatim=True)],
        },
    ]
    fallback = f"{'URGENT: ' if view.urgent else ''}{name}: " + (
        escape_mrkdwn(truncate(view.subject or view.preview or "new conversation", 300))
    )
    return {"text": truncate(fallback, 3_000), "blocks": blocks}
