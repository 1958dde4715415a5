"""/inbox outputs: conversation lists, search results, stats, help and usage errors.

Slash-command replies carry "response_type": "ephemeral" (what respond() and response_url
expect); pop it before chat.postEphemeral/postMessage if you prefer.
"""

from __future__ import annotations

from datetime import datetime

from bot.slack.views import ids
from bot.slack.views.blocks import context as _context
from bot.slack.views.blocks import header as _header
from bot.slack.views.blocks import section as _section
from bot.slack.views.models import ConversationRow, StatsView
from bot.slack.views.text import (
    channel_icon,
    channel_name,
    escape_mrkdwn,
    format_duration,
    join_limited,
    link,
    mrkdwn,
    plain_text,
    seconds_between,
    status_label,
    truncate,
)

MESSAGE_BLOCKS = 50

USAGE = (
    "*Usage*\n"
    "`/inbox [mine|unassigned|all] [status:open|pending|snoozed|resolved] "
    "[channel:email|whatsapp] [account:ID] [tag:NAME]` — list conversations\n"
    "`/inbox new` — start a conversation (email or WhatsApp template)\n"
    "`/inbox search TEXT` — search messages and contacts\n"
    "`/inbox stats [7d|30d]` — response and resolution metrics\n"
    "`/inbox away` · `/inbox back` — pause or resume automatic assignment to you\n"
    "`/inbox help` — this help"
)
MENTIONS = (
    "*In a conversation thread* (slash commands do not work in threads), mention the bot:\n"
    "`@Threadline snooze 2h|tomorrow|monday` · `@Threadline assign @user|me` · "
    "`@Threadline tag NAME…` · `@Threadline untag NAME` · `@Threadline resolve` · "
    "`@Threadline reopen` · `@Threadline note TEXT`"
)


def open_button(permalink: str | None) -> dict | None:
    if not permalink or len(permalink) > 3_000:
        return None
    return {
        "type": "button",
        "text": plain_text("Open"),
        "action_id": ids.OPEN_THREAD,
        "url": permalink,
    }


def row_text(row: ConversationRow, now: datetime | None) -> str:
    """Two lines: icon, contact (linked to the thread), subject; then status, wait, who, tags."""
    name = truncate(row.contact_name or "Unknown contact", 80)
    title = f"*{link(row.permalink, name)}*" if row.permalink else f"*{escape_mrkdwn(name)}*"
    subject = escape_mrkdwn(truncate(" ".join((row.subject_or_preview or "").split()), 150))
    first = f"{channel_icon(row.channel)} {title}" + (f" — {subject}" if subject else "")
    meta = [status_label(row.status)]
    if row.waiting_since is not None and now is not None:
        meta.append(
            f":hourglass: waiting {format_duration(seconds_between(row.waiting_since, now))}"
        )
    meta.append(
        escape_mrkdwn(truncate(row.assignee_name, 60)) if row.assignee_name else "_unassigned_"
    )
    if row.tags:
        meta.append(
            join_limited([f"`{escape_mrkdwn(truncate(t, 40))}`" for t in row.tags], 400, sep=" ")
        )
    return f"{first}\n{' · '.join(meta)}"


def row_block(row: ConversationRow, now: datetime | None, prefix: str = "row") -> dict:
    return _section(
        row_text(row, now), f"{prefix}:{row.conversation_id}", open_button(row.permalink)
    )


def _dedupe(rows):
    seen: set[int] = set()
    for item in rows:
        row = item[0] if isinstance(item, tuple) else item
        if row.conversation_id not in seen:
            seen.add(row.conversation_id)
            yield item


def inbox_list_message(title: str, rows: list[ConversationRow], total: int, now) -> dict:
    rows = list(_dedupe(rows))
    total = max(total, len(rows))
    blocks: list[dict] = [
        _header(title),
        _context(f"{total:,} conversation{'' if total == 1 else 's'}"),
    ]
    if not rows:
        blocks.append(_section(":tada: Nothing here. Inbox zero!"))
    room = MESSAGE_BLOCKS - len(blocks) - 1
    shown = rows[:room]
    blocks.extend(row_block(r, now) for r in shown)
    if total > len(shown):
        blocks.append(
            _context(
                f"…and {total - len(shown):,} more. Narrow it down with filters, "
                "e.g. `status:open tag:billing`."
            )
        )
    return {
        "response_type": "ephemeral",
        "text": truncate(f"{escape_mrkdwn(title)}: {total} conversations", 3_000),
        "blocks": blocks,
    }


def search_results_message(query: str, hits: list[tuple[ConversationRow, str]], now) -> dict:
    hits = list(_dedupe(hits))
    q = truncate(" ".join((query or "").split()), 100)
    blocks: list[dict] = [_header(f"Search: {q}")]
    if not hits:
        blocks.append(_section(f"No conversations match *{escape_mrkdwn(q)}*."))
    room = (MESSAGE_BLOCKS - len(blocks) - 1) // 2
    shown = hits[:room]
    for row, snippet in shown:
        blocks.append(row_block(row, now, "hit"))
        snip = escape_mrkdwn(truncate(" ".join((snippet or "").split()), 300))
        if snip:
            blocks.append(_context(f"“{snip}”"))
    if len(hits) > len(shown):
        blocks.append(
            _context(f"…and {len(hits) - len(shown)} more matches. Try a more specific search.")
        )
    return {
        "response_type": "ephemeral",
        "text": f"{len(hits)} results for {escape_mrkdwn(q)}",
        "blocks": blocks,
    }


def _percent(rate: float | None) -> str:
    if rate is None:
        return "—"
    return f"{rate * 100:.0f} %" if rate <= 1 else f"{rate:.0f} %"


def _dur(seconds: float | None) -> str:
    return "—" if seconds is None else format_duration(seconds)


def stats_fields(view: StatsView) -> list[dict]:
    return [
        mrkdwn(f"*Created*\n{view.created:,}"),
        mrkdwn(f"*Resolved*\n{view.resolved:,} ({_percent(view.resolution_rate)})"),
        mrkdwn(f"*First response (avg)*\n{_dur(view.first_response_avg_s)}"),
        mrkdwn(f"*Response (avg)*\n{_dur(view.response_avg_s)}"),
        mrkdwn(f"*Resolution (avg)*\n{_dur(view.resolution_avg_s)}"),
        mrkdwn(f"*Backlog*\n{view.backlog:,} open"),
    ]


def by_channel_text(view: StatsView) -> str | None:
    if not view.by_channel:
        return None
    parts = [
        f"{channel_icon(k)} {channel_name(k)}: {v:,}" for k, v in sorted(view.by_channel.items())
    ]
    return join_limited(parts, 2_900, sep=" · ")


def stats_message(view: StatsView) -> dict:
    label = truncate(view.label, 100)
    blocks: list[dict] = [
        _header(f":bar_chart: Inbox stats — {label}"),
        {"type": "section", "block_id": "stats", "fields": stats_fields(view)},
    ]
    channels = by_channel_text(view)
    if channels:
        blocks.append(_context(f"New conversations by channel: {channels}"))
    return {
        "response_type": "ephemeral",
        "text": f"Inbox stats ({escape_mrkdwn(label)}): {view.created} created, "
        f"{view.resolved} resolved, {view.backlog} open",
        "blocks": blocks,
    }


def help_message() -> dict:
    return {
        "response_type": "ephemeral",
        "text": "How to use /inbox",
        "blocks": [
            _header(":incoming_envelope: Threadline"),
            _section(USAGE, "help:usage"),
            _section(MENTIONS, "help:mentions"),
            _context(
                "Every conversation is a thread: reply in it to answer the customer, "
                "start with `note:` for a private note."
            ),
        ],
    }


def usage_error(problem: str) -> dict:
    text = escape_mrkdwn(truncate(problem or "That did not work.", 1_000))
    return {
        "response_type": "ephemeral",
        "text": f"{text} — try /inbox help",
        "blocks": [_section(f":warning: {text}", "usage:problem"), _section(USAGE, "help:usage")],
    }


def availability_message(available: bool, changed: bool = True) -> dict:
    """The answer to `/inbox away` and `/inbox back`."""
    if available:
        text = (":wave: You're back: automatic assignment includes you again."
                if changed else ":wave: You were not away: automatic assignment includes you.")
        text += " `/inbox away` pauses it."
    else:
        text = (":palm_tree: You're away" if changed else ":palm_tree: You were already away")
        text += ": automatic assignment skips you until `/inbox back`."
    return {"response_type": "ephemeral", "text": text,
            "blocks": [_section(text, "availability")]}
