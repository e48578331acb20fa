"""The debtor's personal data as account events carry it (sealed, #19): opened with the vault for the account's
contact points, or nobody's when the person is erased, so the account is kept without any and nothing is sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import sql
from recaudo_common.personal_data import PersonalData, Sealed, Vault, personal_of_many


@dataclass(frozen=True)
class Contact:
    """What outreach keeps of a person for an account: who to greet and ask for their id, and where to reach them.
    Blank (no id, no name, no contact point) for a person who is erased or whose data does not open."""

    debtor_id: str
    full_name: str
    phones: tuple[str, ...]
    email: str | None
    address: str | None  # the street address as the file gives it; the city and region are kept apart

    @classmethod
    def of(cls, personal: PersonalData | None) -> Contact:
        if personal is None:
            return NOBODY
        return cls(personal.id_number, personal.full_name, personal.phones, personal.email, personal.address)


NOBODY = Contact("", "", (), None, None)


def postal_address(address: str | None, city: str | None, region: str | None) -> str | None:
    """Where a letter goes: the street address, city and region as one line."""
    return ", ".join(p for p in (address, city, region) if p) or None


async def erased_here(s: AsyncSession, client: str, refs: Sequence[UUID]) -> set[UUID]:
    """Which of these people outreach already erased: an event about them that comes later (a late consumer,
    a restatement in flight) must not bring their data back before their key is shredded."""
    if not refs:
        return set()
    rows = await s.execute(sql("SELECT debtor_ref FROM outreach.erased_debtors WHERE client_slug = :c "
                               "AND debtor_ref = ANY(:refs)"), {"c": client, "refs": list(set(refs))})
    return {r[0] for r in rows}


async def contacts_of(vault: Vault, s: AsyncSession, client: str, statements: Sequence[Sealed]) -> list[Contact]:
    """Each statement's person as outreach keeps them, in order; one key read for the batch (one client's)."""
    opened = await personal_of_many(vault, s, client, statements)
    erased = await erased_here(s, client, [st.debtor_ref for st in statements if st.debtor_ref is not None])
    return [NOBODY if st.debtor_ref in erased else Contact.of(p) for st, p in zip(statements, opened, strict=True)]
