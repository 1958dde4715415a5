"""App Home: the agent's own inbox with tabs Mine / Unassigned / All, filters and counts."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.mirror import CARD, split_ref
from bot.slack.services import SlackServices
from bot.slack.views import home as home_views
from bot.slack.views.models import HomeView, StatsView
from core.model import Actor, Agent, Channel, Role, Status
from core.permissions import Permission, allows
from core.ports import ViewQuery

ROWS = 30


async def permalink_for(s: SlackServices, conv_id: int) -> str | None:
    links = await s.inbox.links_of(conv_id, CARD)
    if not links:
        return None
    channel, ts = split_ref(links[0].external_id)
    return s.permalink(channel, ts)


async def rows_for(s: SlackServices, conversations) -> list:
    contacts = await s.inbox.contacts([c.contact_id for c in conversations])
    agents = {a.id: a for a in await s.inbox.agents()} if conversations else {}
    return [
        s.presenter.row(c, contacts.get(c.contact_id), await permalink_for(s, c.id),
                        agents.get(c.assignee_id))
        for c in conversations
    ]


async def stats_view(s: SlackServices, days: int) -> StatsView:
    now = s.clock.now()
    m = await s.inbox.metrics(now - timedelta(days=days), now)
    return StatsView(
        label=f"last {days} days", created=m.conversations_created,
        resolved=m.conversations_resolved, first_response_avg_s=m.first_response_avg_s,
        response_avg_s=m.response_avg_s, resolution_avg_s=m.resolution_avg_s,
        resolution_rate=m.resolution_rate, backlog=m.backlog, by_channel=m.by_channel,
    )


async def publish_home(s: SlackServices, client: AsyncWebClient, user: str,
                       role: Role | None) -> None:
    """Only staff get here (the gate shows everyone else an empty Home tab); the team's
    numbers only for those whose role may see them."""
    state = s.home_state.setdefault(user, {"tab": "mine"})
    agent = await s.identity.agent(client, user)
    filters = dict(
        statuses=(Status(state["status"]),) if state.get("status") else (),
        channel=Channel(state["channel"]) if state.get("channel") else None,
        tags=(state["tag"],) if state.get("tag") else (),
    )
    counts = {
        tab: await s.inbox.count_conversations(ViewQuery(tab, agent_id=agent.id, **filters))
        for tab in ("mine", "unassigned", "all")
    }
    conversations = await s.inbox.list_conversations(
        ViewQuery(state["tab"], agent_id=agent.id, limit=ROWS, **filters))
    # Read fresh: another front end, the CLI or a manager may have changed it.
    current = await s.inbox.agent_by_slack_id(user) or agent
    view = HomeView(
        tab=state["tab"], counts=counts, rows=tuple(await rows_for(s, conversations)),
        now=s.clock.now(), status_filter=state.get("status"),
        channel_filter=state.get("channel"), tag_filter=state.get("tag"),
        tag_options=tuple(t.name for t in await s.inbox.tags()),
        stats=await stats_view(s, 7) if allows(role, Permission.TEAM_STATS) else None,
        available=current.available,
    )
    await client.views_publish(user_id=user, view=home_views.home_view(view))


async def set_available(s: SlackServices, client: AsyncWebClient, user: str,
                        available: bool) -> tuple[Agent, bool]:
    """Mark the acting agent away or back; returns (the agent, whether it changed)."""
    agent = await s.identity.agent(client, user)
    assert agent.id is not None
    before = (await s.inbox.agent_by_slack_id(user) or agent).available
    updated = await s.inbox.set_availability(agent.id, available, Actor.agent(agent.id))
    s.identity.remember(updated)
    return updated, before != updated.available
