"""Slack users -> agents (auto-provisioned from users.info), and who may act where."""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from core.model import Actor, Agent
from core.usecases import Inbox

log = logging.getLogger("threadline.slack.identity")


class SlackIdentity:
    def __init__(self, inbox: Inbox, allowed_users: set[str], inbox_channels: set[str]) -> None:
        self.inbox = inbox
        self.allowed_users = allowed_users
        self.inbox_channels = inbox_channels
        self._agents: dict[str, Agent] = {}

    def refusal(self, user_id: str, channel_id: str | None = None) -> str | None:
        """Why this user may not act here, or None when allowed."""
        if self.allowed_users and user_id not in self.allowed_users:
            return ("You are not on Threadline's list of agents (SLACK_ALLOWED_USERS): "
                    "ask a Slack admin to add you.")
        if channel_id and self.inbox_channels and channel_id not in self.inbox_channels \
                and not channel_id.startswith("D"):
            return "Threadline actions only work in the inbox channels."
        return None

    async def agent(self, client: AsyncWebClient, user_id: str) -> Agent:
        cached = self._agents.get(user_id)
        if cached is not None:
            return cached
        agent = await self.inbox.agent_by_slack_id(user_id)
        if agent is None:
            agent = await self._provision(client, user_id)
        self._agents[user_id] = agent
        return agent

    async def actor(self, client: AsyncWebClient, user_id: str) -> Actor:
        agent = await self.agent(client, user_id)
        assert agent.id is not None
        return Actor.agent(agent.id)

    async def names(self, client: AsyncWebClient, user_ids: list[str]) -> dict[str, str]:
        return {u: (await self.agent(client, u)).name for u in user_ids}

    async def _provision(self, client: AsyncWebClient, user_id: str) -> Agent:
        name, email = user_id, None
        try:
            info = (await client.users_info(user=user_id))["user"]
            profile = info.get("profile", {})
            name = profile.get("real_name") or info.get("real_name") or info.get("name") or name
            email = (profile.get("email") or "").lower() or None
        except Exception:  # users:read missing or Slack down: still let them work
            log.warning("users.info failed for %s; provisioning with the id as name", user_id,
                        exc_info=True)
        agent = await self.inbox.provision_slack_agent(user_id, name, email)
        log.info("provisioned agent %s for Slack user %s", agent.id, user_id)
        return agent
