"""Who and what the inbox knows: agents, teams, tags, templates (from config or Slack)."""

from __future__ import annotations

from core.errors import InvalidInput, NotFound
from core.model import Actor, Agent, Tag, Team, Template
from core.permissions import Permission
from core.templates import variables_in
from core.usecases.base import UseCaseBase
from core.usecases.triage import normalize_tag


class DirectoryUseCases(UseCaseBase):
    async def upsert_agent(self, agent: Agent, actor: Actor) -> Agent:
        """Match by Slack user id, then email; update in place or create."""
        if not agent.name.strip():
            raise InvalidInput("an agent needs a name")
        async with self.ctx.uow_factory() as uow:
            existing = None
            if agent.slack_user_id:
                existing = await uow.agents.by_slack_id(agent.slack_user_id)
            if existing is None and agent.email:
                existing = await uow.agents.by_email(agent.email)
            if existing is None:
                result = await uow.agents.add(agent)
            else:
                agent.id = existing.id
                agent.slack_user_id = agent.slack_user_id or existing.slack_user_id
                agent.telegram_user_id = agent.telegram_user_id or existing.telegram_user_id
                agent.available = existing.available  # set by the agent, not the file
                await uow.agents.save(agent)
                result = agent
            await self._audit(uow, None, "agent_saved", actor, agent_id=result.id)
            await uow.commit()
        return result

    async def provision_slack_agent(
        self, slack_user_id: str, name: str, email: str | None
    ) -> Agent:
        """A Slack user acting for the first time: link to the configured agent with that
        email (keeping its role), or create a plain agent."""
        async with self.ctx.uow_factory() as uow:
            agent = await uow.agents.by_slack_id(slack_user_id)
            if agent is None and email:
                agent = await uow.agents.by_email(email)
            if agent is None:
                agent = await uow.agents.add(
                    Agent(name=name or slack_user_id, email=email, slack_user_id=slack_user_id)
                )
            elif agent.slack_user_id != slack_user_id:
                agent.slack_user_id = slack_user_id
                await uow.agents.save(agent)
            await self._audit(uow, None, "agent_provisioned", Actor.system(), agent_id=agent.id)
            await uow.commit()
        return agent

    async def set_availability(self, agent_id: int, available: bool, actor: Actor) -> Agent:
        """Away (False) or back (True): automatic assignment skips agents who are away.
        Staff set their own; managers and admins may set a colleague's."""
        async with self.ctx.uow_factory() as uow:
            agent = await uow.agents.get(agent_id)
            if agent is None or not agent.active:
                raise NotFound("agent", agent_id)
            if actor != Actor.agent(agent_id):
                await self._require(uow, actor, Permission.REASSIGN,
                                    "mark a colleague away or back")
            if agent.available != available:
                agent.available = available
                await uow.agents.save(agent)
                await self._audit(uow, None, "agent_available" if available else "agent_away",
                                  actor, agent_id=agent_id)
            await uow.commit()
        return agent

    async def agent_by_slack_id(self, slack_user_id: str) -> Agent | None:
        async with self.ctx.uow_factory() as uow:
            return await uow.agents.by_slack_id(slack_user_id)

    async def agents(self) -> list[Agent]:
        async with self.ctx.uow_factory() as uow:
            return await uow.agents.all()

    async def upsert_team(self, name: str, member_ids: list[int], actor: Actor) -> Team:
        if not name.strip():
            raise InvalidInput("a team needs a name")
        async with self.ctx.uow_factory() as uow:
            for agent_id in member_ids:
                if await uow.agents.get(agent_id) is None:
                    raise NotFound("agent", agent_id)
            team = await uow.teams.by_name(name.strip())
            if team is None:
                team = await uow.teams.add(Team(name.strip(), sorted(set(member_ids))))
            else:
                team.member_ids = sorted(set(member_ids))
                await uow.teams.save(team)
            await self._audit(uow, None, "team_saved", actor, team_id=team.id)
            await uow.commit()
        return team

    async def teams(self) -> list[Team]:
        async with self.ctx.uow_factory() as uow:
            return await uow.teams.all()

    async def upsert_tag(self, name: str, colour: str, actor: Actor) -> Tag:
        tag_name = normalize_tag(name)
        async with self.ctx.uow_factory() as uow:
            found = await uow.tags.by_names([tag_name])
            if found:
                tag = found[0]
                tag.colour = colour
                await uow.tags.save(tag)
            else:
                tag = await uow.tags.add(Tag(tag_name, colour))
            await uow.commit()
        return tag

    async def tags(self) -> list[Tag]:
        async with self.ctx.uow_factory() as uow:
            return await uow.tags.all()

    async def upsert_template(self, template: Template, actor: Actor) -> Template:
        if not template.name.strip() or not template.body.strip():
            raise InvalidInput("a template needs a name and a body")
        if not template.variables:
            template.variables = variables_in(template.body)
        async with self.ctx.uow_factory() as uow:
            existing = await uow.templates.find(template.name, template.channel, template.account)
            if existing is not None and existing.account == template.account:
                template.id = existing.id
                await uow.templates.save(template)
            else:
                template = await uow.templates.add(template)
            await self._audit(uow, None, "template_saved", actor, template=template.name)
            await uow.commit()
        return template

    async def templates(self, channel=None) -> list[Template]:
        async with self.ctx.uow_factory() as uow:
            return await uow.templates.all(channel)
