"""Slack users -> staff: who counts as staff (configured agents and members of the inbox
channels, narrowed by SLACK_ALLOWED_USERS), their role, and their agent record
(auto-provisioned from users.info the first time a member of staff acts)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.members import ChannelMembers
from core.model import Actor, Agent, Role
from core.usecases import Inbox

log = logging.getLogger("threadline.slack.identity")


@dataclass(frozen=True)
class ConfiguredAgents:
    """The config file's agents: staff wherever they are, with their configured role."""

    emails: frozenset[str] = frozenset()
    slack_ids: frozenset[str] = frozenset()

    @classmethod
    def of(cls, agents: Iterable) -> ConfiguredAgents:
        agents = list(agents)
        return cls(frozenset(a.email.lower() for a in agents if a.email),
                   frozenset(a.slack_user_id for a in agents if a.slack_user_id))

    def includes(self, agent: Agent) -> bool:
        return (agent.slack_user_id in self.slack_ids
                or (agent.email or "").lower() in self.emails)


@dataclass(frozen=True)
class Profile:
    name: str
    email: str | None


class SlackIdentity:
    def __init__(self, inbox: Inbox, allowed_users: set[str], members: ChannelMembers,
                 configured: ConfiguredAgents = ConfiguredAgents()) -> None:
        self.inbox = inbox
        self.allowed_users = allowed_users
        self.members = members
        self.configured = configured
        self.bot_user_id: str | None = None  # set once auth.test answered
        self._agents: dict[str, Agent] = {}
        self._profiles: dict[str, Profile] = {}

    async def role_of(self, client: AsyncWebClient, user_id: str | None) -> Role | None:
        """The user's role, or None when they are not staff (default deny)."""
        if not user_id or user_id == self.bot_user_id:
            return None
        if self.allowed_users and user_id not in self.allowed_users:
            return None
        agent = await self._stored(user_id)
        if agent is not None and not agent.active:
            return None
        if agent is not None and self.configured.includes(agent):
            return agent.role
        if await self.members.is_member(user_id):
            return (agent or await self.agent(client, user_id)).role
        if agent is None and self.configured.emails:
            profile = await self.profile(client, user_id)
            if profile.email and profile.email in self.configured.emails:
                return (await self.agent(client, user_id)).role
        return None

    async def agent(self, client: AsyncWebClient, user_id: str) -> Agent:
        """The agent record of a member of staff, created on first use."""
        agent = await self._stored(user_id)
        if agent is None:
            profile = await self.profile(client, user_id)
            agent = await self.inbox.provision_slack_agent(user_id, profile.name, profile.email)
            log.info("provisioned agent %s for Slack user %s", agent.id, user_id)
            self._agents[user_id] = agent
        return agent

    def remember(self, agent: Agent) -> None:
        """An agent record changed here (availability): keep the cached copy current."""
        if agent.slack_user_id:
            self._agents[agent.slack_user_id] = agent

    async def actor(self, client: AsyncWebClient, user_id: str) -> Actor:
        agent = await self.agent(client, user_id)
        assert agent.id is not None
        return Actor.agent(agent.id)

    async def names(self, client: AsyncWebClient, user_ids: Iterable[str]) -> dict[str, str]:
        """Display names for mentions (no agent record is created for the people named)."""
        out = {}
        for user_id in dict.fromkeys(user_ids):
            agent = await self._stored(user_id)
            out[user_id] = agent.name if agent else (await self.profile(client, user_id)).name
        return out

    async def profile(self, client: AsyncWebClient, user_id: str) -> Profile:
        cached = self._profiles.get(user_id)
        if cached is not None:
            return cached
        name, email = user_id, None
        try:
            info = (await client.users_info(user=user_id))["user"]
            profile = info.get("profile", {})
            name = profile.get("real_name") or info.get("real_name") or info.get("name") or name
            email = (profile.get("email") or "").lower() or None
        except Exception:  # users:read missing or Slack down: the id stands in for the name
            log.warning("users.info failed for %s", user_id, exc_info=True)
            return Profile(name, email)
        self._profiles[user_id] = Profile(name, email)
        return self._profiles[user_id]

    async def _stored(self, user_id: str) -> Agent | None:
        cached = self._agents.get(user_id)
        if cached is not None:
            return cached
        agent = await self.inbox.agent_by_slack_id(user_id)
        if agent is not None:
            self._agents[user_id] = agent
        return agent
