"""`/inbox`: lists (Mine / Unassigned / All with filters), new, search, stats, help, and
away / back (one's own availability for automatic assignment)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.listeners.home import rows_for, set_available, stats_view
from bot.slack.parsing import InboxCommand, UsageError, parse_inbox
from bot.slack.services import SlackServices
from bot.slack.views import lists as list_views
from bot.slack.views import modals as modal_views
from bot.slack.views.models import OptionView, TemplateView
from core.errors import DomainError
from core.model import Channel
from core.ports import ViewQuery

LIST_ROWS = 20
TITLES = {"mine": "Mine", "unassigned": "Unassigned", "all": "All conversations"}


def register(app: AsyncApp, s: SlackServices) -> None:
    @app.command("/inbox")
    async def inbox_command(ack, command: dict, client: AsyncWebClient, respond) -> None:
        # Answers go in the ack body or through response_url: both work in any channel or
        # DM, also where the bot is not a member (chat.postEphemeral would fail there).
        user = command["user_id"]
        try:
            cmd = parse_inbox(command.get("text", ""))
        except UsageError as exc:
            await ack(**list_views.usage_error(str(exc)))
            return
        if cmd.action == "help":
            await ack(**list_views.help_message())
            return
        if cmd.action == "new":
            await ack()
            await client.views_open(trigger_id=command["trigger_id"], view=await _new_modal(s))
            return
        await ack()  # the work below may take longer than Slack's 3 s
        try:
            if cmd.action == "search":
                payload = await _search(s, cmd)
            elif cmd.action == "stats":
                payload = list_views.stats_message(await stats_view(s, cmd.days))
            elif cmd.action in ("away", "back"):
                agent, changed = await set_available(s, client, user, cmd.action == "back")
                payload = list_views.availability_message(agent.available, changed)
            else:
                payload = await _list(s, client, user, cmd)
        except DomainError as exc:
            payload = list_views.usage_error(str(exc))
        await respond(**payload)


async def _list(s: SlackServices, client: AsyncWebClient, user: str, cmd: InboxCommand) -> dict:
    agent = await s.identity.agent(client, user)
    query = ViewQuery(cmd.view, agent_id=agent.id, statuses=cmd.statuses, channel=cmd.channel,
                      account=cmd.account, tags=cmd.tags, limit=LIST_ROWS)
    conversations = await s.inbox.list_conversations(query)
    total = await s.inbox.count_conversations(query)
    return list_views.inbox_list_message(TITLES[cmd.view], await rows_for(s, conversations),
                                         total, s.clock.now())


async def _search(s: SlackServices, cmd: InboxCommand) -> dict:
    hits = await s.inbox.search(cmd.query, include_resolved=True, limit=20)
    rows = []
    for hit in hits:
        details = await s.inbox.conversation(hit.conversation_id)
        (row,) = await rows_for(s, [details.conversation])
        rows.append((row, hit.body))
    return list_views.search_results_message(cmd.query, rows, s.clock.now())


async def _new_modal(s: SlackServices) -> dict:
    accounts = [OptionView(a.id, f"{a.name or a.id} ({a.channel.value})")
                for a in s.accounts.values()]
    templates = [TemplateView(t.name, t.body, tuple(t.variables), t.language)
                 for t in await s.inbox.templates(Channel.WHATSAPP)]
    templates += [TemplateView(t.name, t.body, tuple(t.variables), t.language)
                  for t in await s.inbox.templates(Channel.EMAIL)]
    return modal_views.new_conversation_modal(accounts, templates)
