"""Customer records: create, update, bulk import."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from core.addresses import normalize_email, normalize_phone
from core.errors import DomainError, InvalidInput
from core.model import Actor, Customer
from core.ports import UnitOfWork
from core.usecases.base import UseCaseBase

IMPORT_BATCH = 500


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def customer_from_row(row: dict[str, str]) -> Customer:
    """Validate one import row. Raises InvalidInput naming the bad field."""

    def value(key: str) -> str | None:
        text = (row.get(key) or "").strip()
        return text or None

    name = value("name")
    if not name:
        raise InvalidInput("name is required")
    email = value("email")
    phone = value("phone")
    return Customer(
        name=name,
        email=normalize_email(email) if email else None,
        phone=normalize_phone(phone) if phone else None,
        company=value("company"),
        external_ref=value("external_ref"),
        notes=value("notes"),
    )


class CustomerUseCases(UseCaseBase):
    async def create_customer(self, customer: Customer, actor: Actor) -> Customer:
        if not customer.name.strip():
            raise InvalidInput("a customer needs a name")
        async with self.ctx.uow_factory() as uow:
            created = await uow.customers.add(customer)
            await self._audit(uow, None, "customer_created", actor, customer_id=created.id)
            await uow.commit()
        return created

    async def search_customers(self, text: str, limit: int = 20) -> list[Customer]:
        async with self.ctx.uow_factory() as uow:
            return await uow.customers.search(text.strip(), limit)

    async def import_customers(
        self,
        rows: Iterable[tuple[int, dict[str, str]]],
        actor: Actor,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Import (line number, row) pairs; bad rows are reported, good rows kept.

        Upserts by external_ref, then email. Commits in batches so a large file does not
        hold one huge transaction, and a bad row never undoes good ones.
        """
        report = ImportReport()
        batch: list[tuple[int, Customer]] = []
        for line, row in rows:
            try:
                batch.append((line, customer_from_row(row)))
            except DomainError as exc:
                report.errors.append((line, str(exc)))
            if len(batch) >= IMPORT_BATCH:
                await self._import_batch(batch, report, actor)
                if progress:
                    progress(len(batch))
                batch = []
        if batch:
            await self._import_batch(batch, report, actor)
            if progress:
                progress(len(batch))
        return report

    async def _import_batch(
        self, batch: list[tuple[int, Customer]], report: ImportReport, actor: Actor
    ) -> None:
        async with self.ctx.uow_factory() as uow:
            for _line, incoming in batch:
                existing = await self._match(uow, incoming)
                if existing is None:
                    await uow.customers.add(incoming)
                    report.created += 1
                else:
                    for attr in ("name", "email", "phone", "company", "external_ref", "notes"):
                        new = getattr(incoming, attr)
                        if new is not None:
                            setattr(existing, attr, new)
                    await uow.customers.save(existing)
                    report.updated += 1
            await self._audit(uow, None, "customers_imported", actor, rows=len(batch))
            await uow.commit()

    @staticmethod
    async def _match(uow: UnitOfWork, customer: Customer) -> Customer | None:
        if customer.external_ref:
            found = await uow.customers.by_external_ref(customer.external_ref)
            if found:
                return found
        if customer.email:
            for candidate in await uow.customers.search(customer.email, 5):
                if candidate.email == customer.email:
                    return candidate
        return None
