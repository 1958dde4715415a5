"""Contacts, customers, agents, teams, tags and templates."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from core.model import Actor, Agent, Channel, Contact, Customer, Role, Tag, Team, Template
from tests.storage.helpers import new_conversation, new_message


async def test_contacts(uow_factory):
    async with uow_factory() as uow:
        customer = await uow.customers.add(Customer(name="Acme"))
        email = await uow.contacts.add(Contact(Channel.EMAIL, "ana@example.com", "Ana"))
        phone = await uow.contacts.add(Contact(Channel.WHATSAPP, "+34600111222"))
        assert await uow.contacts.get(email.id) == email
        assert await uow.contacts.by_address(Channel.WHATSAPP, "+34600111222") == phone
        assert await uow.contacts.by_address(Channel.EMAIL, "+34600111222") is None
        assert await uow.contacts.get_many([phone.id, email.id, 999]) == {
            phone.id: phone,
            email.id: email,
        }
        assert await uow.contacts.get_many([]) == {}
        email.customer_id, email.name = customer.id, "Ana López"
        await uow.contacts.save(email)
        assert await uow.contacts.get(email.id) == email


async def test_contact_address_is_unique_per_channel(uow_factory):
    async with uow_factory() as uow:
        await uow.contacts.add(Contact(Channel.EMAIL, "dup@example.com"))
        with pytest.raises(IntegrityError):
            await uow.contacts.add(Contact(Channel.EMAIL, "dup@example.com"))


async def test_merge_deletes_the_duplicate_and_moves_its_messages(uow_factory):
    async with uow_factory() as uow:
        customer = await uow.customers.add(Customer(name="Acme"))
        dup = await uow.contacts.add(Contact(Channel.WHATSAPP, "+5215512345678", "Ana"))
        kept = await uow.contacts.add(Contact(Channel.WHATSAPP, "+525512345678"))
        conv = await new_conversation(uow, dup)
        by_dup = await new_message(uow, conv.id, author=Actor.contact(dup.id))
        by_agent = await new_message(uow, conv.id, author=Actor.agent(dup.id))  # same id
        elsewhere = await new_message(uow, (await new_conversation(uow, dup)).id,
                                      author=Actor.contact(dup.id))
        await uow.conversations.reassign_contact(dup.id, kept.id)
        kept.name, kept.customer_id = "Ana", customer.id
        await uow.contacts.merge(dup.id, kept)
        assert await uow.contacts.get(dup.id) is None
        assert await uow.contacts.get(kept.id) == kept
        assert (await uow.messages.get(by_dup.id)).author == Actor.contact(kept.id)
        assert (await uow.messages.get(elsewhere.id)).author == Actor.contact(kept.id)
        assert (await uow.messages.get(by_agent.id)).author == Actor.agent(dup.id)
        with pytest.raises(ValueError):
            await uow.contacts.merge(kept.id, kept)


async def test_customers_and_search(uow_factory):
    async with uow_factory() as uow:
        acme = await uow.customers.add(
            Customer("Acme Corp", email="ops@acme.test", external_ref="crm-1", notes="big")
        )
        pepa = await uow.customers.add(Customer("Pepa", phone="+34600111222", company="100%_Real"))
        assert await uow.customers.get(acme.id) == acme
        assert await uow.customers.by_external_ref("crm-1") == acme
        assert await uow.customers.by_external_ref("crm-2") is None

        async def names(text: str) -> list[str]:
            return [c.name for c in await uow.customers.search(text, 10)]

        assert await names("ACME") == ["Acme Corp"]
        assert await names("OPS@") == ["Acme Corp"]
        assert await names("600111") == ["Pepa"]
        assert await names("0%_r") == ["Pepa"]  # LIKE wildcards are literal
        assert await names("%") == ["Pepa"]
        assert await names("") == []
        assert len(await uow.customers.search("a", 1)) == 1
        pepa.company = "Pepa SL"
        await uow.customers.save(pepa)
        assert (await uow.customers.get(pepa.id)).company == "Pepa SL"


async def test_agents(uow_factory):
    async with uow_factory() as uow:
        ana = await uow.agents.add(
            Agent("Ana", email="Ana@Example.com", role=Role.MANAGER, slack_user_id="U1")
        )
        bob = await uow.agents.add(Agent("Bob", telegram_user_id="42", active=False))
        assert await uow.agents.get(ana.id) == ana
        assert await uow.agents.by_slack_id("U1") == ana
        assert await uow.agents.by_slack_id("U2") is None
        assert await uow.agents.by_email("ana@example.COM") == ana
        assert await uow.agents.all() == [ana, bob]
        bob.active, bob.role = True, Role.ADMIN
        await uow.agents.save(bob)
        assert await uow.agents.get(bob.id) == bob


async def test_teams(uow_factory):
    async with uow_factory() as uow:
        ana = await uow.agents.add(Agent("Ana"))
        bob = await uow.agents.add(Agent("Bob"))
        team = await uow.teams.add(Team("Billing", member_ids=[bob.id, ana.id, bob.id]))
        assert (await uow.teams.get(team.id)).member_ids == sorted([ana.id, bob.id])
        team.name, team.member_ids = "Finance", [ana.id]
        await uow.teams.save(team)
        assert await uow.teams.by_name("Finance") == Team("Finance", [ana.id], team.id)
        assert await uow.teams.by_name("Billing") is None


async def test_tags(uow_factory):
    async with uow_factory() as uow:
        vip = await uow.tags.add(Tag("vip", "#ff0000"))
        bug = await uow.tags.add(Tag("bug"))
        assert await uow.tags.by_names(["vip", "nope", "bug"]) == [vip, bug]
        assert await uow.tags.by_names([]) == []
        bug.colour = "#00ff00"
        await uow.tags.save(bug)
        assert await uow.tags.all() == [bug, vip]


async def test_templates_prefer_the_accounts_own(uow_factory):
    async with uow_factory() as uow:
        shared = await uow.templates.add(
            Template("welcome", Channel.WHATSAPP, "Hola {{1}}", ["name"], "welcome_v2", "es")
        )
        own = await uow.templates.add(
            Template("welcome", Channel.WHATSAPP, "Hi {{1}}", ["name"], account="wa-uk")
        )
        mail = await uow.templates.add(Template("welcome", Channel.EMAIL, "Dear {name}"))
        assert await uow.templates.find("welcome", Channel.WHATSAPP, "wa-uk") == own
        assert await uow.templates.find("welcome", Channel.WHATSAPP, "wa-es") == shared
        assert await uow.templates.find("welcome", Channel.WHATSAPP, None) == shared
        assert await uow.templates.find("bye", Channel.WHATSAPP, None) is None
        assert await uow.templates.all(Channel.EMAIL) == [mail]
        assert len(await uow.templates.all()) == 3
        mail.body = "Hello {name}"
        await uow.templates.save(mail)
        assert await uow.templates.find("welcome", Channel.EMAIL, "any") == mail
