"""Opening the sealed personal data that an account event carries: what every consumer of account.placed,
account.updated and account.contact_rectified calls instead of reading plaintext fields, which events no longer
have."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.personal_data.sealing import PersonalData, SealBroken, unseal
from recaudo_common.personal_data.vault import Vault


class Sealed(Protocol):
    """An event (or row) with a pseudonymous debtor and their sealed data."""

    @property
    def debtor_ref(self) -> UUID | None: ...

    @property
    def personal(self) -> str | None: ...


def _legacy(statement: Sealed) -> PersonalData | None:
    legacy = getattr(statement, "legacy_personal", None)
    return legacy if isinstance(legacy, PersonalData) else None


async def personal_of(vault: Vault, s: AsyncSession, client: str, statement: Sealed) -> PersonalData | None:
    """The person's data, or None once they are erased (their key shredded) or when the sealed value does not
    open (tampered with, or copied from another person): the caller then keeps the account without personal data,
    so totals and pseudonymous history stay. A version 1 event read from an old log gives its plaintext."""
    if statement.debtor_ref is None or statement.personal is None:
        return _legacy(statement)
    key = await vault.key_of(s, client, statement.debtor_ref)
    if key is None:
        return None
    try:
        return unseal(key, client, statement.debtor_ref, statement.personal)
    except SealBroken:
        return None


async def personal_of_many(vault: Vault, s: AsyncSession, client: str, statements: Sequence[Sealed]
                           ) -> list[PersonalData | None]:
    """personal_of for a batch of one client company's events, reading the keys in one statement."""
    refs = {st.debtor_ref for st in statements if st.debtor_ref is not None and st.personal is not None}
    keys = await vault.keys_of(s, client, refs)
    opened: list[PersonalData | None] = []
    for st in statements:
        if st.debtor_ref is None or st.personal is None:
            opened.append(_legacy(st))
            continue
        key = keys.get(st.debtor_ref)
        try:
            opened.append(None if key is None else unseal(key, client, st.debtor_ref, st.personal))
        except SealBroken:
            opened.append(None)
    return opened
