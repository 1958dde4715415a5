"""Modals opened from the card, shortcuts and /inbox new.

Every modal carries JSON private_metadata with at least {"conversation_id": …} (the profile
modal carries {"customer_id": …}) and the callback id from `ids`.
"""

from __future__ import annotations

from bot.slack.views import ids
from bot.slack.views.blocks import context as _context
from bot.slack.views.blocks import section as _section
from bot.slack.views.modal_parts import (
    MAX_OPTIONS,
    OPTION_VALUE,
    VIEW_BLOCKS,
    option,
)
from bot.slack.views.modal_parts import (
    input_block as _input,
)
from bot.slack.views.modal_parts import (
    metadata as _metadata,
)
from bot.slack.views.modal_parts import (
    modal as _modal,
)
from bot.slack.views.modal_parts import (
    select as _select,
)
from bot.slack.views.modal_parts import (
    usable_options as _usable,
)
from bot.slack.views.models import CustomerProfileView, OptionView, TemplateView
from bot.slack.views.text import (
    channel_icon,
    escape_mrkdwn,
    link,
    mention,
    mrkdwn,
    plain_text,
    slack_date,
    split_text,
    status_label,
    truncate,
)


def assign_modal(conversation_id: int, teams: list[OptionView], current_user: str | None) -> dict:
    user = {"type": "users_select", "placeholder": plain_text("Pick a teammate")}
    if current_user and mention(current_user):
        user["initial_user"] = current_user
    blocks = [
        _input(
            ids.ASSIGN_USER,
            "Assign to",
            user,
            optional=True,
            hint="Leave empty to unassign (or to assign only a team).",
        )
    ]
    if _usable(teams):
        blocks.append(_input(ids.ASSIGN_TEAM, "Team", _select(teams, "Pick a team"), optional=True))
    return _modal(
        ids.ASSIGN_MODAL,
        "Assign conversation",
        blocks,
        _metadata(conversation_id=conversation_id),
        submit="Assign",
    )


# -- tags ----------------------------------------------------------------------------------
def tags_modal(conversation_id: int, all_tags: list[OptionView], current: list[str],
               can_create: bool = True) -> dict:
    """`all_tags` is expected most recently used first; beyond 100, the current tags are kept
    and the rest filled with the first (most recent) of the others. `can_create`: the person
    may create tags (admins), so the free-text field says new names are created."""
    tags = _usable(all_tags)
    known = {t.value for t in tags}
    current_set = [c for c in dict.fromkeys(current) if c and len(c) <= OPTION_VALUE]
    tags += [OptionView(value=c, label=c) for c in current_set if c not in known]
    if len(tags) > MAX_OPTIONS:
        keep = set(current_set[:MAX_OPTIONS])
        room = MAX_OPTIONS - len(keep)
        for t in tags:
            if room <= 0:
                break
            if t.value not in keep:
                keep.add(t.value)
                room -= 1
        tags = [t for t in tags if t.value in keep]
    blocks: list[dict] = []
    if tags:
        element = {
            "type": "multi_static_select",
            "placeholder": plain_text("Choose tags"),
            "options": [option(t.value, t.label) for t in tags],
        }
        chosen = [o for o in element["options"] if o["value"] in set(current_set)]
        if chosen:
            element["initial_options"] = chosen
        hint = None
        if len(_usable(all_tags)) > MAX_OPTIONS:
            hint = (
                f"Showing {len(tags)} of {len(_usable(all_tags))} tags (the current ones and "
                "the most recent). Type a name below to add any other tag."
            )
        blocks.append(_input(ids.TAGS_SELECT, "Tags", element, optional=True, hint=hint))
    blocks.append(
        _input(
            ids.TAGS_NEW,
            "New tags" if can_create else "More tags",
            {
                "type": "plain_text_input",
                "placeholder": plain_text("tag names, comma separated"),
                "max_length": 500,
            },
            optional=True,
            hint="Created if they do not exist yet, e.g. urgent, billing" if can_create
            else "Names of existing tags, comma separated (only admins create new tags)",
        )
    )
    return _modal(
        ids.TAGS_MODAL, "Tags", blocks, _metadata(conversation_id=conversation_id), submit="Save"
    )


# -- snooze --------------------------------------------------------------------------------
def snooze_modal(conversation_id: int, initial_epoch: int) -> dict:
    element = {"type": "datetimepicker", "initial_date_time": int(initial_epoch)}
    blocks = [
        _input(
            ids.SNOOZE_AT,
            "Snooze until",
            element,
            hint="In your Slack time zone. The conversation comes back when it is due, "
            "or earlier if the customer writes.",
        ),
    ]
    return _modal(
        ids.SNOOZE_MODAL,
        "Snooze",
        blocks,
        _metadata(conversation_id=conversation_id),
        submit="Snooze",
    )


# -- templates -----------------------------------------------------------------------------
def _template_label(t: TemplateView) -> str:
    return f"{t.name} ({t.language})" if t.language else t.name


def template_modal(
    conversation_id: int,
    templates: list[TemplateView],
    selected: TemplateView | None,
    values: dict[str, str],
    preview: str | None,
    outside_window: bool,
) -> dict:
    blocks: list[dict] = []
    if outside_window:
        blocks.append(
            _section(
                ":no_entry: *The WhatsApp 24-hour window is closed.* Only an approved template "
                "can be sent until the customer writes again."
            )
        )
    options = [OptionView(value=t.name, label=_template_label(t)) for t in templates]
    if not _usable(options):
        blocks.append(
            _section(":information_source: No templates are configured for this account yet.")
        )
        return _modal(
            ids.TEMPLATE_MODAL,
            "Send template",
            blocks,
            _metadata(conversation_id=conversation_id),
            close="Close",
        )
    picker = _select(
        options, "Pick a template", initial=selected.name if selected is not None else None
    )
    blocks.append(
        _input(
            ids.TEMPLATE_PICK,
            "Template",
            picker,
            dispatch_action=True,
            hint="Picking a template shows its fields and a preview.",
        )
    )
    if selected is not None:
        variables = [
            v
            for v in dict.fromkeys(selected.variables)
            if v and len(ids.TEMPLATE_VAR_PREFIX + v) <= 255
        ]
        budget = VIEW_BLOCKS - len(blocks) - 6
        for name in variables[:budget]:
            element = {"type": "plain_text_input", "max_length": 1_000}
            value = (values or {}).get(name)
            if value:
                element["initial_value"] = value[:1_000]
            blocks.append(
                {
                    "type": "input",
                    "block_id": ids.TEMPLATE_VAR_PREFIX + name,
                    "label": plain_text(name, 2_000),
                    "element": {**element, "action_id": "value"},
                }
            )
        shown = preview if preview is not None else selected.body
        chunks = split_text(escape_mrkdwn(shown), 2_900) or ["_(empty template)_"]
        blocks.append({"type": "divider"})
        blocks.append(_section(f"*Preview*\n{chunks[0]}", "template_preview"))
        rest, room = chunks[1:], VIEW_BLOCKS - len(blocks)
        if len(rest) <= room:
            blocks.extend(_section(c) for c in rest)
        else:
            blocks.extend(_section(c) for c in rest[: room - 1])
            blocks.append(_context(":scissors: Preview truncated."))
    metadata = _metadata(
        conversation_id=conversation_id, template=selected.name if selected is not None else None
    )
    return _modal(ids.TEMPLATE_MODAL, "Send template", blocks, metadata, submit="Send")


# -- note ----------------------------------------------------------------------------------
def note_modal(conversation_id: int) -> dict:
    blocks = [
        _input(
            ids.NOTE_TEXT,
            "Note",
            {
                "type": "plain_text_input",
                "multiline": True,
                "max_length": 3_000,
                "placeholder": plain_text("Write something for your teammates…"),
            },
        ),
        _context(":lock: Private notes stay in Slack and are never sent to the customer."),
    ]
    return _modal(
        ids.NOTE_MODAL,
        "Private note",
        blocks,
        _metadata(conversation_id=conversation_id),
        submit="Save note",
    )


# -- customers -----------------------------------------------------------------------------
def link_customer_modal(conversation_id: int) -> dict:
    element = {
        "type": "external_select",
        "min_query_length": 1,
        "placeholder": plain_text("Search by name, email, phone or company"),
    }
    blocks = [
        _input(
            ids.CUSTOMER_SEARCH, "Customer", element, hint="Start typing to search your customers."
        )
    ]
    return _modal(
        ids.LINK_CUSTOMER_MODAL,
        "Link customer",
        blocks,
        _metadata(conversation_id=conversation_id),
        submit="Link",
    )


def customer_options(options: list[OptionView]) -> dict:
    """The response to a block_suggestion request for CUSTOMER_SEARCH (at most 100)."""
    return {"options": [option(o.value, o.label) for o in _usable(options)[:MAX_OPTIONS]]}


def profile_row(row) -> str:
    subject = escape_mrkdwn(truncate(row.subject_or_preview, 150)) or "_(no subject)_"
    title = link(row.permalink, truncate(row.subject_or_preview, 150) or "(no subject)")
    line = f"{channel_icon(row.channel)} {title if row.permalink else subject}"
    meta = [status_label(row.status)]
    if row.waiting_since is not None:
        meta.append(f"since {slack_date(row.waiting_since, '{date_short}')}")
    if row.assignee_name:
        meta.append(escape_mrkdwn(truncate(row.assignee_name, 80)))
    return f"{line}\n{' · '.join(meta)}"


def profile_modal(view: CustomerProfileView) -> dict:
    blocks: list[dict] = [
        {"type": "header", "text": plain_text(view.name or "Customer", 150)},
    ]
    fields = []
    for label, value in (("Email", view.email), ("Phone", view.phone), ("Company", view.company)):
        if value:
            fields.append(
                mrkdwn(f"*{label}*\n{escape_mrkdwn(truncate(value, 500))}", verbatim=True)
            )
    if fields:
        blocks.append({"type": "section", "fields": fields})
    if view.notes:
        blocks.append(_section(f"*Notes*\n{escape_mrkdwn(truncate(view.notes, 2_000))}"))
    blocks.append({"type": "divider"})
    rows = list(view.conversations)
    blocks.append(
        _section(
            f"*Conversations* ({len(rows)})" if rows else "*Conversations*\n_No conversations yet._"
        )
    )
    room = VIEW_BLOCKS - len(blocks) - 1
    shown = rows if len(rows) <= room + 1 else rows[:room]
    blocks.extend(_section(profile_row(r), f"profile_row:{i}") for i, r in enumerate(shown))
    if len(shown) < len(rows):
        blocks.append(_context(f"…and {len(rows) - len(shown)} more."))
    return _modal(
        ids.PROFILE_MODAL,
        "Customer profile",
        blocks,
        _metadata(customer_id=view.customer_id),
        close="Close",
    )


# -- new conversation ----------------------------------------------------------------------
def new_conversation_modal(accounts: list[OptionView], templates: list[TemplateView]) -> dict:
    blocks: list[dict] = []
    if not _usable(accounts):
        blocks.append(
            _section(
                ":information_source: No accounts are configured yet: add an "
                "email or WhatsApp account first."
            )
        )
        return _modal(
            ids.NEW_CONVERSATION_MODAL, "New conversation", blocks, _metadata(), close="Close"
        )
    blocks.append(_input(ids.NEW_ACCOUNT, "From account", _select(accounts, "Pick an account")))
    blocks.append(
        _input(
            ids.NEW_RECIPIENT,
            "To",
            {
                "type": "plain_text_input",
                "max_length": 320,
                "placeholder": plain_text("name@example.com or +34 600 000 000"),
            },
            hint="An email address for email accounts, a phone number in international format "
            "for WhatsApp.",
        )
    )
    blocks.append(
        _input(
            ids.NEW_SUBJECT,
            "Subject (email)",
            {"type": "plain_text_input", "max_length": 500},
            optional=True,
        )
    )
    blocks.append(
        _input(
            ids.NEW_BODY,
            "Message",
            {"type": "plain_text_input", "multiline": True, "max_length": 3_000},
            optional=True,
        )
    )
    tpl_options = [OptionView(value=t.name, label=_template_label(t)) for t in templates]
    if _usable(tpl_options):
        blocks.append(
            _input(
                ids.NEW_TEMPLATE,
                "Or a template",
                _select(tpl_options, "Pick a template"),
                optional=True,
            )
        )
    blocks.append(
        _context(
            ":speech_balloon: WhatsApp conversations must start with an approved template "
            "(the 24-hour rule). Email can use a message or a template."
        )
    )
    return _modal(
        ids.NEW_CONVERSATION_MODAL, "New conversation", blocks, _metadata(), submit="Start"
    )
