"""Shared plumbing for use cases: one unit of work per call, effects and audit in the same
transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from zoneinfo import ZoneInfo

from core.automation.contract import Automations
from core.clock import Clock
from core.effects import Effect, frontend_event
from core.errors import AccountCannotSend, NotFound, UnknownAccount
from core.model import Account, Activity, Actor, ActorType, Channel, Conversation, Message
from core.permissions import Permission, require
from core.ports import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class InboxContext:
    uow_factory: UnitOfWorkFactory
    clock: Clock
    accounts: Mapping[str, Account]
    timezone: ZoneInfo
    frontends: tuple[str, ...] = ()
    # Whether a provider's sends can go out from here (its bridge is configured); None:
    # assume they can (tests, tools). Replies to an account that cannot send are refused.
    can_send: Callable[[str], bool] | None = None
    # Rules and auto-replies (the config file's); without one, the built-in rules.
    automations: Automations = field(default_factory=Automations.default)
    # Accounts whose customer messages get an AI triage job (AI can be off per account).
    ai_accounts: frozenset[str] = frozenset()

    @cached_property
    def own_addresses(self) -> frozenset[tuple[Channel, str]]:
        """(channel, address) of our accounts: mail from them is a loop, never answered."""
        return frozenset((a.channel, a.address.lower()) for a in self.accounts.values()
                         if a.address)

    def account(self, account_id: str) -> Account:
        try:
            return self.accounts[account_id]
        except KeyError:
            raise UnknownAccount(account_id) from None

    def sending_account(self, account_id: str) -> Account:
        """The account, when its messages can be sent now."""
        account = self.account(account_id)
        if self.can_send is not None and not self.can_send(account.provider):
            raise AccountCannotSend(account.id, account.provider)
        return account


class UseCaseBase:
    """Mixins of Inbox share this state and these helpers."""

    def __init__(self, ctx: InboxContext) -> None:
        self.ctx = ctx

    @property
    def clock(self) -> Clock:
        return self.ctx.clock

    async def _conversation(self, uow: UnitOfWork, conversation_id: int) -> Conversation:
        conv = await uow.conversations.get(conversation_id)
        if conv is None:
            raise NotFound("conversation", conversation_id)
        return conv

    async def _message(self, uow: UnitOfWork, message_id: int, *, lock: bool = False
                       ) -> Message:
        """`lock`: the use case changes the message; concurrent changers wait their turn."""
        msg = await uow.messages.get(message_id, for_update=lock)
        if msg is None:
            raise NotFound("message", message_id)
        return msg

    async def _linked_message(self, uow: UnitOfWork, surface: str, external_id: str, *,
                              lock: bool = False) -> Message | None:
        """The stored message a provider id points at; None for one from before Threadline
        (or a link to a whole conversation)."""
        link = await uow.links.find(surface, external_id)
        if link is None or link.message_id is None:
            return None
        return await self._message(uow, link.message_id, lock=lock)

    async def _require(
        self, uow: UnitOfWork, actor: Actor, permission: Permission, what: str
    ) -> None:
        """Staff act within their role; automations and the system act for the admins who
        configured them."""
        if actor.type is not ActorType.AGENT:
            return
        agent = await uow.agents.get(actor.id) if isinstance(actor.id, int) else None
        require(agent.role if agent is not None and agent.active else None, permission, what)

    async def _automate(self, uow: UnitOfWork, conv: Conversation, events, facts=None) -> None:
        """Run the automations for these conversation events (AutomationUseCases)."""
        raise NotImplementedError

    async def _emit(self, uow: UnitOfWork, effects: list[Effect]) -> None:
        now = self.clock.now()
        for effect in effects:
            await uow.outbox.add(effect, now)

    async def _notify(self, uow: UnitOfWork, event: str, conversation_id: int, **data) -> None:
        await self._emit(uow, frontend_event(self.ctx.frontends, event, conversation_id, **data))

    async def _audit(
        self, uow: UnitOfWork, conv_id: int | None, action: str, actor: Actor, **detail
    ) -> None:
        await uow.activity.add(Activity(conv_id, action, actor, self.clock.now(), detail))

    async def _changed(
        self, uow: UnitOfWork, conv: Conversation, action: str, actor: Actor, **detail
    ) -> None:
        """Persist a state change, audit it and tell the front ends to refresh the card."""
        assert conv.id is not None
        await uow.conversations.save(conv)
        await self._audit(uow, conv.id, action, actor, **detail)
        await self._notify(uow, "conversation_changed", conv.id, action=action)
