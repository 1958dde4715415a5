"""Modals: opening them with the right data, and turning submissions into core calls.

Validation problems go back to the modal as field errors (response_action "errors"), so
staff never lose what they typed.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.listeners.common import staff_agent
from bot.slack.services import SlackServices
from bot.slack.views import ids
from bot.slack.views import modals as modal_views
from bot.slack.views.models import CustomerProfileView, OptionView, TemplateView
from core.errors import DomainError
from core.model import Channel, Role
from core.permissions import Permission, allows
from core.rules import whatsapp_window_open
from core.templates import render

log = logging.getLogger("threadline.slack.modals")


def _meta(view: dict) -> dict:
    try:
        return json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}


def _value(view: dict, pair: tuple[str, str]) -> dict:
    return (view.get("state", {}).get("values", {}).get(pair[0], {}) or {}).get(pair[1]) or {}


def _template_views(templates) -> list[TemplateView]:
    return [TemplateView(t.name, t.body, tuple(t.variables), t.language) for t in templates]


async def open_modal(s: SlackServices, client: AsyncWebClient, trigger_id: str, kind: str,
                     conv_id: int, user: str, role: Role | None = None) -> None:
    await client.views_open(trigger_id=trigger_id,
                            view=await build_modal(s, kind, conv_id, user, role=role))


async def build_modal(s: SlackServices, kind: str, conv_id: int, user: str,
                      selected: str | None = None, values: dict | None = None,
                      role: Role | None = None) -> dict:
    details = await s.inbox.conversation(conv_id)  # also proves the conversation exists
    conv = details.conversation
    if kind == "assign":
        teams = [OptionView(str(t.id), t.name) for t in await s.inbox.teams()]
        return modal_views.assign_modal(conv_id, teams, details.assignee.slack_user_id
                                        if details.assignee else None)
    if kind == "tags":
        options = [OptionView(t.name, t.name) for t in await s.inbox.tags()]
        return modal_views.tags_modal(conv_id, options, list(conv.tags),
                                      can_create=allows(role, Permission.MANAGE_TAGS))
    if kind == "snooze":
        start = int((s.clock.now() + timedelta(hours=1)).timestamp())
        return modal_views.snooze_modal(conv_id, start)
    if kind == "note":
        return modal_views.note_modal(conv_id)
    if kind == "link_customer":
        return modal_views.link_customer_modal(conv_id)
    if kind == "profile":
        if details.customer is None:
            raise DomainError("no customer is linked to this conversation yet")
        return await profile_modal(s, details.customer.id)
    templates = [t for t in await s.inbox.templates(conv.channel)
                 if t.account in (None, conv.account)]
    chosen = next((t for t in templates if t.name == selected), None)
    values = values or {}
    preview = render(chosen.body, values) if chosen else None
    outside = conv.channel is Channel.WHATSAPP and not whatsapp_window_open(conv, s.clock.now())
    return modal_views.template_modal(
        conv_id, _template_views(templates), _template_views([chosen])[0] if chosen else None,
        values, preview, outside)


async def profile_modal(s: SlackServices, customer_id: int) -> dict:
    from bot.slack.listeners.home import rows_for

    customer, conversations = await s.inbox.customer_history(customer_id)
    return modal_views.profile_modal(CustomerProfileView(
        customer.id, customer.name, customer.email, customer.phone, customer.company,
        customer.notes, tuple(await rows_for(s, conversations[:20]))))


def register(app: AsyncApp, s: SlackServices) -> None:
    async def submit(ack, body: dict, view: dict, client: AsyncWebClient, run) -> None:
        meta = _meta(view)
        user = body["user"]["id"]  # the gate has checked this submission again
        try:
            actor = await s.identity.actor(client, user)
            await run(meta, actor, user)
        except DomainError as exc:
            await ack(response_action="errors", errors=_first_block_error(view, str(exc)))
            return
        await ack()

    def on_submit(callback_id: str):
        def decorator(run):
            @app.view(callback_id)
            async def handler(ack, body: dict, view: dict, client: AsyncWebClient) -> None:
                await submit(ack, body, view, client, lambda m, a, u: run(view, m, a, u, client))
            return run
        return decorator

    @on_submit(ids.ASSIGN_MODAL)
    async def assign(view, meta, actor, user, client):
        target = _value(view, ids.ASSIGN_USER).get("selected_user")
        team = (_value(view, ids.ASSIGN_TEAM).get("selected_option") or {}).get("value")
        if not target and not team:
            raise DomainError("choose someone or a team to assign")
        agent_id = (await staff_agent(s, client, target)).id if target else None
        await s.inbox.assign(meta["conversation_id"], actor, agent_id=agent_id,
                             team_id=int(team) if team else None)

    @on_submit(ids.TAGS_MODAL)
    async def tags(view, meta, actor, user, client):
        chosen = {o["value"] for o in _value(view, ids.TAGS_SELECT).get("selected_options") or []}
        new = _value(view, ids.TAGS_NEW).get("value") or ""
        chosen |= {t.strip() for t in new.split(",") if t.strip()}
        conv_id = meta["conversation_id"]
        current = set((await s.inbox.conversation(conv_id)).conversation.tags)
        if chosen - current:
            await s.inbox.add_tags(conv_id, sorted(chosen - current), actor)
        if current - chosen:
            await s.inbox.remove_tags(conv_id, sorted(current - chosen), actor)

    @on_submit(ids.SNOOZE_MODAL)
    async def snooze(view, meta, actor, user, client):
        epoch = _value(view, ids.SNOOZE_AT).get("selected_date_time")
        if not epoch:
            raise DomainError("pick a date and time")
        until = datetime.fromtimestamp(int(epoch), tz=UTC)
        await s.inbox.snooze(meta["conversation_id"], actor, until=until)

    @on_submit(ids.NOTE_MODAL)
    async def note(view, meta, actor, user, client):
        await s.inbox.add_note(meta["conversation_id"], _value(view, ids.NOTE_TEXT).get("value")
                               or "", actor)

    @on_submit(ids.LINK_CUSTOMER_MODAL)
    async def link_customer(view, meta, actor, user, client):
        option = _value(view, ids.CUSTOMER_SEARCH).get("selected_option")
        if not option:
            raise DomainError("search for a customer and pick one")
        await s.inbox.link_customer(meta["conversation_id"], int(option["value"]), actor)

    @on_submit(ids.TEMPLATE_MODAL)
    async def template(view, meta, actor, user, client):
        name = (_value(view, ids.TEMPLATE_PICK).get("selected_option") or {}).get("value")
        if not name:
            raise DomainError("pick a template")
        values = _template_values(view)
        await s.inbox.send_template(meta["conversation_id"], name, values, actor)

    @on_submit(ids.NEW_CONVERSATION_MODAL)
    async def new_conversation(view, meta, actor, user, client):
        account = (_value(view, ids.NEW_ACCOUNT).get("selected_option") or {}).get("value")
        if not account:
            raise DomainError("choose the account to write from")
        template = (_value(view, ids.NEW_TEMPLATE).get("selected_option") or {}).get("value")
        await s.inbox.start_conversation(
            account, _value(view, ids.NEW_RECIPIENT).get("value") or "", actor,
            body=_value(view, ids.NEW_BODY).get("value"),
            subject=_value(view, ids.NEW_SUBJECT).get("value"),
            template_name=template, values=_template_values(view))

    @app.action(ids.TEMPLATE_PICK[1])
    async def template_picked(ack, body: dict, action: dict, client: AsyncWebClient) -> None:
        await ack()
        view = body["view"]
        meta = _meta(view)
        if "conversation_id" not in meta:
            return
        updated = await build_modal(s, "template", meta["conversation_id"], body["user"]["id"],
                                    selected=action["selected_option"]["value"],
                                    values=_template_values(view))
        try:
            await client.views_update(view_id=view["id"], hash=view.get("hash"), view=updated)
        except SlackApiError as exc:  # closed meanwhile, or a newer pick won (hash_conflict)
            log.info("template modal not refreshed: %s", exc.response.get("error"))

    @app.options(ids.CUSTOMER_SEARCH[1])
    async def customer_options(ack, payload: dict) -> None:
        text = (payload.get("value") or "").strip()
        customers = await s.inbox.search_customers(text, 50) if text else []
        options = [OptionView(str(c.id), _customer_label(c)) for c in customers]
        await ack(**modal_views.customer_options(options))


def _customer_label(c) -> str:
    extra = c.email or c.phone or c.company
    return f"{c.name} ({extra})" if extra else c.name


def _template_values(view: dict) -> dict[str, str]:
    out = {}
    for block_id, actions in (view.get("state", {}).get("values", {}) or {}).items():
        if block_id.startswith(ids.TEMPLATE_VAR_PREFIX):
            value = (actions.get("value") or {}).get("value")
            if value:
                out[block_id[len(ids.TEMPLATE_VAR_PREFIX):]] = value
    return out


def _first_block_error(view: dict, message: str) -> dict:
    """Slack shows errors on input blocks: attach the message to the first one."""
    for block in view.get("blocks", []):
        if block.get("type") == "input" and block.get("block_id"):
            return {block["block_id"]: message[:2000]}
    return {"_": message[:2000]}

