"""Tags and reply templates."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row

from core.model import Channel, Tag, Template
from storage.repositories._base import Repository
from storage.tables import tags, templates


def tag_from_row(row: Row) -> Tag:
    return Tag(id=row.id, name=row.name, colour=row.colour)


class SqlTagRepository(Repository):
    async def by_names(self, names: Sequence[str]) -> list[Tag]:
        """The tags that exist, in the order the names were given."""
        if not names:
            return []
        rows = await self.conn.execute(select(tags).where(tags.c.name.in_(set(names))))
        found = {row.name: tag_from_row(row) for row in rows}
        return [found[name] for name in dict.fromkeys(names) if name in found]

    async def ensure(self, names: Sequence[str], colour: str) -> None:
        """Create the tags of these names that do not exist yet (one statement)."""
        if not names:
            return
        dialect = postgresql if self.is_postgres else sqlite
        stmt = dialect.insert(tags).values([{"name": n, "colour": colour} for n in set(names)])
        await self.conn.execute(stmt.on_conflict_do_nothing(index_elements=[tags.c.name]))

    async def add(self, tag: Tag) -> Tag:
        stmt = insert(tags).values(name=tag.name, colour=tag.colour).returning(tags.c.id)
        tag.id = (await self.conn.execute(stmt)).scalar_one()
        return tag

    async def save(self, tag: Tag) -> None:
        await self.conn.execute(
            update(tags).where(tags.c.id == tag.id).values(name=tag.name, colour=tag.colour)
        )

    async def all(self) -> list[Tag]:
        rows = await self.conn.execute(select(tags).order_by(tags.c.name))
        return [tag_from_row(row) for row in rows]


def template_values(template: Template) -> dict:
    return {
        "name": template.name,
        "channel": Channel(template.channel).value,
        "body": template.body,
        "variables": list(template.variables),
        "provider_name": template.provider_name,
        "language": template.language,
        "account": template.account,
    }


def template_from_row(row: Row) -> Template:
    return Template(
        id=row.id,
        name=row.name,
        channel=Channel(row.channel),
        body=row.body,
        variables=list(row.variables or []),
        provider_name=row.provider_name,
        language=row.language,
        account=row.account,
    )


class SqlTemplateRepository(Repository):
    async def find(self, name: str, channel: Channel, account: str | None) -> Template | None:
        """The account's own template wins over a shared one (account NULL) of the same name.

        Without an account, a shared template is preferred, then any account's.
        """
        t = templates.c
        stmt = select(templates).where(t.name == name, t.channel == Channel(channel).value)
        if account is None:
            preference = case((t.account.is_(None), 0), else_=1)
        else:
            stmt = stmt.where(or_(t.account == account, t.account.is_(None)))
            preference = case((t.account == account, 0), else_=1)
        row = (await self.conn.execute(stmt.order_by(preference, t.id).limit(1))).first()
        return template_from_row(row) if row else None

    async def add(self, template: Template) -> Template:
        stmt = insert(templates).values(template_values(template)).returning(templates.c.id)
        template.id = (await self.conn.execute(stmt)).scalar_one()
        return template

    async def save(self, template: Template) -> None:
        await self.conn.execute(
            update(templates).where(templates.c.id == template.id).values(template_values(template))
        )

    async def all(self, channel: Channel | None = None) -> list[Template]:
        stmt = select(templates).order_by(templates.c.name, templates.c.id)
        if channel is not None:
            stmt = stmt.where(templates.c.channel == Channel(channel).value)
        return [template_from_row(row) for row in await self.conn.execute(stmt)]
