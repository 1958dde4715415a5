"""Parsing what staff type: `/inbox` arguments, in-thread bot mentions, Slack mrkdwn."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from core.model import Channel, Status
from core.reply_policy import StaffText
from core.snooze import SnoozePreset

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]+))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_SUBTEAM = re.compile(r"<!subteam\^([A-Z0-9]+)(?:\|([^>]*))?>")


class UsageError(ValueError):
    """What was typed cannot be understood; the message says what is wrong."""


def slack_to_plain(text: str, user_names: dict[str, str] | None = None) -> str:
    """Slack mrkdwn as staff typed it -> the plain text a customer should receive."""
    names = user_names or {}
    out = _USER.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), text or "")
    out = _LINK.sub(
        lambda m: m.group(1).removeprefix("mailto:")
        if not m.group(2) or m.group(2) == m.group(1).removeprefix("mailto:")
        else f"{m.group(2)} ({m.group(1)})",
        out,
    )
    out = _SPECIAL.sub(lambda m: "@" + m.group(1), out)
    out = _SUBTEAM.sub(lambda m: m.group(2) or "@team", out)
    out = _CHANNEL.sub(lambda m: "#" + (m.group(2) or m.group(1)), out)
    return html.unescape(out).strip()


def mentioned_users(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(1) for m in _USER.finditer(text or "")))


def staff_text(text: str, *, bot_user_id: str | None, names: dict[str, str] | None = None,
               broadcast: bool = False, has_files: bool = False) -> StaffText:
    """What the reply policy needs to know about a message staff wrote in Slack. When the
    bot's own id is unknown, every user mention counts as a colleague's (kept internal)."""
    users = mentioned_users(text)
    return StaffText(
        text=slack_to_plain(text, names),
        addresses_bot=bool(bot_user_id) and bot_user_id in users,
        mentions_people=any(u != bot_user_id for u in users)
        or bool(_SPECIAL.search(text or "") or _SUBTEAM.search(text or "")),
        broadcast=broadcast,
        has_files=has_files,
    )


@dataclass(frozen=True)
class InboxCommand:
    action: str  # list | new | search | stats | help | away | back
    view: str = "all"
    statuses: tuple[Status, ...] = ()
    channel: Channel | None = None
    account: str | None = None
    tags: tuple[str, ...] = ()
    query: str = ""
    days: int = 7


def parse_inbox(text: str) -> InboxCommand:
    words = (text or "").split()
    if not words:
        return InboxCommand("list", view="mine")
    head, rest = words[0].lower(), words[1:]
    if head == "help":
        return InboxCommand("help")
    if head == "new":
        return InboxCommand("new")
    if head in ("away", "back"):
        if rest:
            raise UsageError(f"`/inbox {head}` takes no arguments")
        return InboxCommand(head)
    if head == "search":
        query = " ".join(rest).strip()
        if not query:
            raise UsageError("`/inbox search` needs some text to look for")
        return InboxCommand("search", query=query)
    if head == "stats":
        period = rest[0].lower() if rest else "7d"
        if period not in ("7d", "30d") or len(rest) > 1:
            raise UsageError(f"`/inbox stats` takes 7d or 30d, not {' '.join(rest)!r}")
        return InboxCommand("stats", days=int(period[:-1]))
    view = "mine"
    if head in ("mine", "unassigned", "all"):
        view, filters = head, rest
    else:
        filters = words
    statuses: list[Status] = []
    tags: list[str] = []
    channel = account = None
    for word in filters:
        key, sep, value = word.partition(":")
        if not sep or not value:
            raise UsageError(f"I don't understand {word!r}")
        key = key.lower()
        if key == "status":
            try:
                statuses.append(Status(value.lower()))
            except ValueError:
                raise UsageError(
                    f"unknown status {value!r}: use open, pending, snoozed or resolved"
                ) from None
        elif key == "channel":
            try:
                channel = Channel(value.lower())
            except ValueError:
                raise UsageError(f"unknown channel {value!r}: use email or whatsapp") from None
        elif key == "account":
            account = value
        elif key == "tag":
            tags.append(value.lower())
        else:
            raise UsageError(f"unknown filter {key!r}: use status:, channel:, account: or tag:")
    return InboxCommand("list", view=view, statuses=tuple(statuses), channel=channel,
                        account=account, tags=tuple(tags))


@dataclass(frozen=True)
class MentionCommand:
    verb: str  # snooze | assign | unassign | tag | untag | resolve | reopen | note | help
    preset: SnoozePreset | None = None
    user_id: str | None = None  # assign target; None with verb assign = "me"
    tags: tuple[str, ...] = ()
    text: str = ""
    extra: dict = field(default_factory=dict)


_VERBS = ("snooze", "assign", "unassign", "tag", "untag", "resolve", "reopen", "note", "help")


def parse_mention(text: str, bot_user_id: str | None = None) -> MentionCommand:
    body = text or ""
    if bot_user_id:
        body = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", body)
    else:
        body = _USER.sub(" ", body, count=1)
    words = body.split()
    if not words:
        return MentionCommand("help")
    verb, rest = words[0].lower(), words[1:]
    if verb not in _VERBS:
        raise UsageError(f"I don't know {verb!r}: try {', '.join(_VERBS)}")
    if verb == "snooze":
        if len(rest) != 1:
            raise UsageError("snooze takes one of 1h, 2h, 4h, tomorrow, monday")
        try:
            return MentionCommand(verb, preset=SnoozePreset(rest[0].lower()))
        except ValueError:
            raise UsageError(
                f"unknown snooze {rest[0]!r}: use 1h, 2h, 4h, tomorrow or monday"
            ) from None
    if verb == "assign":
        if not rest or rest[0].lower() == "me":
            return MentionCommand(verb)
        match = _USER.fullmatch(rest[0])
        if not match:
            raise UsageError("assign takes `me` or a mention like @ana")
        return MentionCommand(verb, user_id=match.group(1))
    if verb in ("tag", "untag"):
        tags = tuple(t.lstrip("#").lower() for t in rest if t.strip("#"))
        if not tags:
            raise UsageError(f"{verb} needs at least one tag name")
        return MentionCommand(verb, tags=tags)
    if verb == "note":
        note = " ".join(rest).strip()
        if not note:
            raise UsageError("note needs some text")
        return MentionCommand(verb, text=note)
    if rest:
        raise UsageError(f"{verb} takes no arguments")
    return MentionCommand(verb)
