"""Contacts, customers, agents and teams."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import Row

from core.model import ActorType, Agent, Channel, Contact, Customer, Role, Team
from storage.repositories._base import Repository
from storage.tables import (
    agents,
    contacts,
    conversations,
    customers,
    messages,
    team_members,
    teams,
)


def _utcnow() -> datetime:
    # Only for the audit column created_at, which the core entities do not carry.
    return datetime.now(UTC)


# -- contacts ---------------------------------------------------------------------------


def contact_values(contact: Contact) -> dict:
    return {
        "channel": contact.channel.value,
        "address": contact.address,
        "name": contact.name or "",
        "customer_id": contact.customer_id,
    }


def contact_from_row(row: Row) -> Contact:
    return Contact(
        id=row.id,
        channel=Channel(row.channel),
        address=row.address,
        name=row.name,
        customer_id=row.customer_id,
    )


_CONTACT_BY_ADDRESS = select(contacts).where(
    contacts.c.channel == bindparam("_channel"), contacts.c.address == bindparam("_address")
)


class SqlContactRepository(Repository):
    async def add(self, contact: Contact) -> Contact:
        stmt = insert(contacts).values(contact_values(contact)).returning(contacts.c.id)
        contact.id = (await self.conn.execute(stmt)).scalar_one()
        return contact

    async def get(self, contact_id: int) -> Contact | None:
        row = (await self.conn.execute(select(contacts).where(contacts.c.id == contact_id))).first()
        return contact_from_row(row) if row else None

    async def get_many(self, ids: Sequence[int]) -> dict[int, Contact]:
        if not ids:
            return {}
        stmt = select(contacts).where(contacts.c.id.in_(set(ids)))
        return {row.id: contact_from_row(row) for row in await self.conn.execute(stmt)}

    async def by_address(self, channel: Channel, address: str) -> Contact | None:
        params = {"_channel": Channel(channel).value, "_address": address}
        row = (await self.conn.execute(_CONTACT_BY_ADDRESS, params)).first()
        return contact_from_row(row) if row else None

    async def save(self, contact: Contact) -> None:
        await self.conn.execute(
            update(contacts).where(contacts.c.id == contact.id).values(contact_values(contact))
        )

    async def merge(self, duplicate_id: int, kept: Contact) -> None:
        if kept.id is None or kept.id == duplicate_id:
            raise ValueError("merge() needs two different stored contacts")
        m = messages.c
        # The duplicate's messages are in its conversations, now `kept`'s: searching only
        # those uses the conversation index instead of scanning every message.
        await self.conn.execute(
            update(messages)
            .where(
                m.conversation_id.in_(
                    select(conversations.c.id).where(conversations.c.contact_id == kept.id)
                ),
                m.author_type == ActorType.CONTACT.value,
                m.author_id == str(duplicate_id),
            )
            .values(author_id=str(kept.id))
        )
        await self.save(kept)
        await self.conn.execute(delete(contacts).where(contacts.c.id == duplicate_id))


# -- customers --------------------------------------------------------------------------


def customer_values(customer: Customer) -> dict:
    return {
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "company": customer.company,
        "external_ref": customer.external_ref,
        "notes": customer.notes,
    }


def customer_from_row(row: Row) -> Customer:
    return Customer(
        id=row.id,
        name=row.name,
        email=row.email,
        phone=row.phone,
        company=row.company,
        external_ref=row.external_ref,
        notes=row.notes,
    )


class SqlCustomerRepository(Repository):
    async def add(self, customer: Customer) -> Customer:
        values = customer_values(customer) | {"created_at": _utcnow()}
        stmt = insert(customers).values(values).returning(customers.c.id)
        customer.id = (await self.conn.execute(stmt)).scalar_one()
        return customer

    async def get(self, customer_id: int) -> Customer | None:
        return await self._one(select(customers).where(customers.c.id == customer_id))

    async def by_external_ref(self, ref: str) -> Customer | None:
        return await self._one(select(customers).where(customers.c.external_ref == ref))

    async def save(self, customer: Customer) -> None:
        await self.conn.execute(
            update(customers).where(customers.c.id == customer.id).values(customer_values(customer))
        )

    async def search(self, text: str, limit: int) -> list[Customer]:
        """Case-insensitive substring match on name, email, phone or company."""
        needle = text.strip()
        if not needle:
            return []
        c = customers.c
        # icontains: ILIKE on PostgreSQL, lower() LIKE lower() elsewhere; % and _ escaped.
        columns = (c.name, c.email, c.phone, c.company)
        stmt = (
            select(customers)
            .where(or_(*(col.icontains(needle, autoescape=True) for col in columns)))
            .order_by(c.name, c.id)
            .limit(limit)
        )
        return [customer_from_row(row) for row in await self.conn.execute(stmt)]

    async def _one(self, stmt) -> Customer | None:
        row = (await self.conn.execute(stmt)).first()
        return customer_from_row(row) if row else None


# -- agents -----------------------------------------------------------------------------


def agent_values(agent: Agent) -> dict:
    return {
        "name": agent.name,
        "email": agent.email,
        "role": Role(agent.role).value,
        "slack_user_id": agent.slack_user_id,
        "telegram_user_id": agent.telegram_user_id,
        "active": agent.active,
        "available": agent.available,
    }


def agent_from_row(row: Row) -> Agent:
    return Agent(
        id=row.id,
        name=row.name,
        email=row.email,
        role=Role(row.role),
        slack_user_id=row.slack_user_id,
        telegram_user_id=row.telegram_user_id,
        active=bool(row.active),
        available=bool(row.available),
    )


class SqlAgentRepository(Repository):
    async def add(self, agent: Agent) -> Agent:
        values = agent_values(agent) | {"created_at": _utcnow()}
        agent.id = (
            await self.conn.execute(insert(agents).values(values).returning(agents.c.id))
        ).scalar_one()
        return agent

    async def get(self, agent_id: int) -> Agent | None:
        return await self._one(select(agents).where(agents.c.id == agent_id))

    async def by_slack_id(self, slack_user_id: str) -> Agent | None:
        return await self._one(select(agents).where(agents.c.slack_user_id == slack_user_id))

    async def by_email(self, email: str) -> Agent | None:
        stmt = select(agents).where(func.lower(agents.c.email) == email.strip().lower())
        return await self._one(stmt.order_by(agents.c.id).limit(1))

    async def save(self, agent: Agent) -> None:
        await self.conn.execute(
            update(agents).where(agents.c.id == agent.id).values(agent_values(agent))
        )

    async def all(self) -> list[Agent]:
        rows = await self.conn.execute(select(agents).order_by(agents.c.id))
        return [agent_from_row(row) for row in rows]

    async def _one(self, stmt) -> Agent | None:
        row = (await self.conn.execute(stmt)).first()
        return agent_from_row(row) if row else None


# -- teams ------------------------------------------------------------------------------


class SqlTeamRepository(Repository):
    async def add(self, team: Team) -> Team:
        stmt = insert(teams).values(name=team.name).returning(teams.c.id)
        team.id = (await self.conn.execute(stmt)).scalar_one()
        await self._insert_members(team.id, team.member_ids)
        return team

    async def get(self, team_id: int) -> Team | None:
        return await self._one(select(teams).where(teams.c.id == team_id))

    async def by_name(self, name: str) -> Team | None:
        stmt = select(teams).where(func.lower(teams.c.name) == name.strip().lower())
        return await self._one(stmt.order_by(teams.c.id).limit(1))

    async def all(self) -> list[Team]:
        rows = (await self.conn.execute(select(teams).order_by(teams.c.name))).all()
        members = await self.conn.execute(
            select(team_members.c.team_id, team_members.c.agent_id).order_by(
                team_members.c.agent_id))
        by_team: dict[int, list[int]] = {}
        for team_id, agent_id in members:
            by_team.setdefault(team_id, []).append(agent_id)
        return [Team(id=r.id, name=r.name, member_ids=by_team.get(r.id, [])) for r in rows]

    async def save(self, team: Team) -> None:
        await self.conn.execute(update(teams).where(teams.c.id == team.id).values(name=team.name))
        # Teams are small and rarely edited: replacing the member rows is simplest.
        await self.conn.execute(delete(team_members).where(team_members.c.team_id == team.id))
        await self._insert_members(team.id, team.member_ids)

    async def _insert_members(self, team_id: int, member_ids: Sequence[int]) -> None:
        unique_ids = list(dict.fromkeys(member_ids))
        if unique_ids:
            await self.conn.execute(
                insert(team_members),
                [{"team_id": team_id, "agent_id": agent_id} for agent_id in unique_ids],
            )

    async def _one(self, stmt) -> Team | None:
        row = (await self.conn.execute(stmt)).first()
        if row is None:
            return None
        members = await self.conn.execute(
            select(team_members.c.agent_id)
            .where(team_members.c.team_id == row.id)
            .order_by(team_members.c.agent_id)
        )
        return Team(id=row.id, name=row.name, member_ids=list(members.scalars()))
