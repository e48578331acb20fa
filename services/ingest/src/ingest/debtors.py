"""The vault's part in a batch of accounts: each debtor found or created once, their phones and e-mail made to find
them, and their personal data sealed with their own key for the account's event (#19, crypto-shredding)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from ingest.domain.portfolio import Account
from recaudo_common.personal_data import LookupKind, Person, PersonalData, Vault, seal

# The fields of an Account that are the person's data: sealed in events, erased with the person.
PERSONAL_FIELDS = frozenset({"debtor_id", "debtor_id_type", "full_name", "phones", "email", "address"})


async def people_of(s: AsyncSession, vault: Vault, client: str, accounts: Sequence[Account], now: dt.datetime
                    ) -> dict[str, Person]:
    """The person behind each account, by id number as stated: the same person for the same id number within a
    batch, across batches and across uploads, created in the batch's transaction when new. A few statements
    for the whole batch, never one per row."""
    people = await vault.people_for(s, client, [a.debtor_id for a in accounts], now)
    contact_points: list[tuple[UUID, LookupKind, str]] = []
    for account in accounts:
        debtor_ref = people[account.debtor_id].debtor_ref
        contact_points += [(debtor_ref, "phone", phone) for phone in account.phones]
        if account.email:
            contact_points.append((debtor_ref, "email", account.email))
    await vault.index_many(s, client, contact_points)
    return people


def sealed(person: Person, account: Account) -> str:
    """What the account's file says of the person, sealed for them: unreadable once they are erased."""
    return seal(person.key, person.client, person.debtor_ref, PersonalData(
        full_name=account.full_name, id_number=account.debtor_id, id_type=account.debtor_id_type,
        phones=tuple(account.phones), email=account.email, address=account.address))

