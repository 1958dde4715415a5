"""App Home: the agent's inbox with tabs, filters, the oldest waiting first and metrics.

Tab buttons share one actions block, and Slack requires action_ids to be unique within a
block, so each tab button's action_id is f"{ids.HOME_TAB}:{tab}" (value = tab). Listeners
match them with `re.compile(ids.HOME_TAB_PATTERN)`.
"""

from __future__ import annotations

from bot.slack.views import ids
from bot.slack.views.lists import by_channel_text, open_button, row_text, stats_fields
from bot.slack.views.models import HomeView
from bot.slack.views.text import escape_mrkdwn, mrkdwn, plain_text, truncate

VIEW_BLOCKS = 100
TABS = (("mine", "Mine"), ("unassigned", "Unassigned"), ("all", "All"))
ANY = "any"
STATUSES = (
    ("open", "Open"),
    ("pending", "Pending"),
    ("snoozed", "Snoozed"),
    ("resolved", "Resolved"),
)
CHANNELS = (("email", "Email"), ("whatsapp", "WhatsApp"))


def _option(value: str, label: str) -> dict:
    return {"text": plain_text(label, 75), "value": value}


def _filter(action_id: str, label_any: str, choices, current: str | None) -> dict:
    options = [_option(ANY, label_any)] + [_option(v, label) for v, label in choices]
    selected = next((o for o in options if o["value"] == current), options[0])
    return {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": plain_text(label_any),
        "options": options,
        "initial_option": selected,
    }


def _availability(available: bool) -> dict:
    """The viewer's own state and the button that flips it (value: the state asked for)."""
    if available:
        text = ":large_green_circle: *Available* — automatic assignment may give you conversations."
        button = {"type": "button", "text": plain_text(":palm_tree: I'm away"),
                  "action_id": ids.HOME_AVAILABILITY, "value": "away"}
    else:
        text = ":palm_tree: *You're away* — automatic assignment skips you."
        button = {"type": "button", "text": plain_text(":wave: I'm back"),
                  "action_id": ids.HOME_AVAILABILITY, "value": "back", "style": "primary"}
    return {"type": "section", "block_id": "home:availability", "text": mrkdwn(text),
            "accessory": button}


def home_view(view: HomeView) -> dict:
    blocks: list[dict] = [{"type": "header", "text": plain_text(":inbox_tray: Inbox")}]
    tabs = []
    for value, label in TABS:
        count = view.counts.get(value)
        text = f"{label} ({count:,})" if count is not None else label
        button = {
            "type": "button",
            "text": plain_text(text, 75),
            "action_id": f"{ids.HOME_TAB}:{value}",
            "value": value,
        }
        if value == view.tab:
            button["style"] = "primary"
        tabs.append(button)
    blocks.append({"type": "actions", "block_id": "home:tabs", "elements": tabs})
    if view.available is not None:
        blocks.append(_availability(view.available))

    tag_choices, seen = [], set()
    current_tag = view.tag_filter if view.tag_filter and view.tag_filter != ANY else None
    for tag in ((current_tag,) if current_tag else ()) + tuple(view.tag_options):
        if tag and len(tag) <= 150 and tag != ANY and tag not in seen and len(tag_choices) < 99:
            seen.add(tag)
            tag_choices.append((tag, tag))
    blocks.append(
        {
            "type": "actions",
            "block_id": "home:filters",
            "elements": [
                _filter(ids.HOME_FILTER_STATUS, "Any status", STATUSES, view.status_filter),
                _filter(ids.HOME_FILTER_CHANNEL, "Any channel", CHANNELS, view.channel_filter),
                _filter(ids.HOME_FILTER_TAG, "Any tag", tag_choices, view.tag_filter),
            ],
        }
    )
    blocks.append({"type": "divider"})

    tail: list[dict] = []
    if view.stats is not None:
        tail.append({"type": "divider"})
        tail.append(
            {
                "type": "section",
                "block_id": "home:stats",
                "text": mrkdwn(f"*:bar_chart: {escape_mrkdwn(truncate(view.stats.label, 100))}*"),
                "fields": stats_fields(view.stats),
            }
        )
        channels = by_channel_text(view.stats)
        if channels:
            tail.append({"type": "context", "elements": [mrkdwn(channels)]})

    rows, seen_ids = [], set()
    for row in view.rows:
        if row.conversation_id not in seen_ids:
            seen_ids.add(row.conversation_id)
            rows.append(row)
    if not rows:
        blocks.append({"type": "section", "text": mrkdwn(":tada: Nothing waiting here.")})
    room = VIEW_BLOCKS - len(blocks) - len(tail) - 1
    shown = rows[:room]
    for row in shown:
        block = {
            "type": "section",
            "block_id": f"home:row:{row.conversation_id}",
            "text": mrkdwn(truncate(row_text(row, view.now), 3_000), verbatim=True),
        }
        button = open_button(row.permalink)
        if button:
            block["accessory"] = button
        blocks.append(block)
    total = view.counts.get(view.tab, len(rows))
    if max(total, len(rows)) > len(shown):
        blocks.append(
            {
                "type": "context",
                "elements": [
                    mrkdwn(
                        f"Showing the {len(shown)} oldest waiting of {max(total, len(rows)):,}. "
                        "Use `/inbox` with filters for the rest."
                    )
                ],
            }
        )
    blocks.extend(tail)
    return {"type": "home", "blocks": blocks}
