"""Debtors without their data (#19): an account's debtor is their pseudonym from its event, and a payer who gives
an id number is found through the vault's blind index, so payments keeps no id number to match by."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from payments import store
from recaudo_common.events import AccountStated
from recaudo_common.personal_data import NotIndexable, Vault, personal_of_many


@dataclass(frozen=True)
class Debtor:
    """Who an account's statement names. `id_number` only for an event written before #19 that has no pseudonym
    (upcast from version 1, its plaintext kept off the wire): nothing else could find its account by the debtor."""

    debtor_ref: UUID | None
    id_number: str | None


async def debtors_of(s: AsyncSession, vault: Vault, statements: Sequence[tuple[str, AccountStated]]
                     ) -> list[Debtor]:
    """The debtor of each (client, statement), in order. A statement with a pseudonym is not opened: payments
    needs none of the sealed data (an erased person's account is the same as anyone's); one without is an old
    event, whose plaintext personal_of_many gives without reading a key."""
    found: list[Debtor] = [Debtor(st.debtor_ref, None) for _, st in statements]
    legacy: dict[str, list[int]] = {}
    for i, (client, statement) in enumerate(statements):
        if statement.debtor_ref is None:
            legacy.setdefault(client, []).append(i)
    for client, positions in legacy.items():
        opened = await personal_of_many(vault, s, client, [statements[i][1] for i in positions])
        for i, personal in zip(positions, opened, strict=True):
            found[i] = Debtor(None, None if personal is None else personal.id_number)
    return found


@dataclass(frozen=True)
class Payer:
    """Who a payer's id number finds: the person (None when the vault holds nobody with it: never placed, erased,
    or not an id number at all) and their open accounts, which a payment by id number may match."""

    debtor_ref: UUID | None
    open_accounts: list[str]


async def payer_of(s: AsyncSession, vault: Vault, client: str, id_number: str) -> Payer:
    """The payer by their id number as they wrote it (`1.020.304.050` finds `1020304050`), through the vault's
    blind index; accounts placed before #19 and not restated since are still found by their stored id number."""
    try:
        debtor_ref = await vault.find(s, client, "id_number", id_number)
    except NotIndexable:  # no letter or digit: no one's id number
        debtor_ref = None
    return Payer(debtor_ref, await store.open_accounts_of_debtor(s, client, debtor_ref, id_number))
