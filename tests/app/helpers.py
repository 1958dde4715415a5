"""Helpers shared by the composition-root tests."""

from __future__ import annotations

from datetime import UTC, datetime

from core.effects import Effect

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


async def add_rows(uow_factory, effects: list[Effect], now: datetime = T0) -> None:
    async with uow_factory() as uow:
        for effect in effects:
            await uow.outbox.add(effect, now)
        await uow.commit()


def effect(kind: str, order_key: str, **payload) -> Effect:
    return Effect(kind, order_key, payload)
