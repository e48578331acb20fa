"""The debtor behind an account event: their pseudonymous id and, while they are not erased, their id number,
opened from the event's sealed personal data (events carry no plaintext since #19)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.events import AccountStated
from recaudo_common.personal_data import Vault, personal_of_many


@dataclass(frozen=True)
class Debtor:
    """Who an account's statement names: `id_number` is None once the person is erased (their key shredded) or
    when the sealed data does not open; the account is then kept without it, never refused."""

    debtor_ref: UUID | None
    id_number: str | None


async def debtors_of(s: AsyncSession, vault: Vault, statements: Sequence[tuple[str, AccountStated]]
                     ) -> list[Debtor]:
    """The debtor of each (client, statement), in order: one read of the keys per client company."""
    by_client: dict[str, list[int]] = {}
    for i, (client, _) in enumerate(statements):
        by_client.setdefault(client, []).append(i)
    found: list[Debtor | None] = [None] * len(statements)
    for client, positions in by_client.items():
        opened = await personal_of_many(vault, s, client, [statements[i][1] for i in positions])
        for i, personal in zip(positions, opened, strict=True):
            found[i] = Debtor(statements[i][1].debtor_ref, None if personal is None else personal.id_number)
    return [d for d in found if d is not None]
