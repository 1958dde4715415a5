"""What people who may not do something see instead: an ephemeral answer, a field error in
a modal, or a Home tab that shows nothing of the inbox."""

from __future__ import annotations

from bot.slack.views.blocks import section as _section
from bot.slack.views.text import escape_mrkdwn, truncate

NOT_STAFF = (
    "Threadline shows customer conversations only to the support team. You are not on it: "
    "ask a Slack admin to add you to the inbox channel (or to the agents in Threadline's "
    "configuration)."
)


def refusal_message(text: str) -> dict:
    """For response_url, the ack body of a slash command or chat.postEphemeral."""
    body = escape_mrkdwn(truncate(text, 2_900))
    return {"response_type": "ephemeral", "replace_original": False, "text": body,
            "blocks": [_section(f":no_entry: {body}")]}


def refusal_modal(text: str) -> dict:
    """Replaces a modal in which someone clicked what they may not use."""
    return {"type": "modal", "title": {"type": "plain_text", "text": "Threadline"},
            "close": {"type": "plain_text", "text": "Close"},
            "blocks": [_section(f":no_entry: {escape_mrkdwn(truncate(text, 2_900))}")]}


def outsider_home(text: str = NOT_STAFF) -> dict:
    return {"type": "home", "blocks": [
        _section(":lock: *Threadline*"),
        _section(escape_mrkdwn(truncate(text, 2_900))),
    ]}
