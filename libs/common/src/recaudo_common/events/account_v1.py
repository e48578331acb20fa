"""Version 1 of account.placed and account.updated, which carried the debtor's data in clear: read only, from
logs and topics written before #19, and upcast on decoding to version 2 with the plaintext kept off the wire."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from uuid import UUID

from pydantic import PrivateAttr

from recaudo_common.events.account import AccountPlaced, AccountStated, AccountUpdated
from recaudo_common.events.channels import Channel
from recaudo_common.events.envelope import Event, register
from recaudo_common.personal_data.sealing import PersonalData


class AccountStatedV1(Event):
    """The debtor in clear beside an optional pseudonym and sealed copy (#19 step B1)."""

    account_ref: str
    portfolio_id: UUID
    debtor_ref: UUID | None = None
    personal: str | None = None
    debtor_id: str
    debtor_id_type: str | None = None
    full_name: str
    phones: list[str] = []
    email: str | None = None
    address: str | None = None
    city: str | None = None
    region: str | None = None
    product: str | None = None
    original_amount: Decimal | None = None
    balance: Decimal
    currency: str
    due_date: dt.date | None = None
    days_past_due: int
    as_of: dt.date
    authorised_channels: list[Channel]
    last_payment_date: dt.date | None = None
    last_payment_amount: Decimal | None = None
    extra: dict[str, str] = {}

    def stated_fields(self) -> dict[str, object]:
        fields = self.model_dump(exclude={"debtor_id", "debtor_id_type", "full_name", "phones", "email", "address",
                                          "extra"})
        fields["has_phone"] = bool(self.phones)
        fields["has_email"] = bool(self.email)
        return fields

    def plaintext(self) -> PersonalData:
        return PersonalData(full_name=self.full_name, id_number=self.debtor_id, id_type=self.debtor_id_type,
                            phones=tuple(self.phones), email=self.email, address=self.address)

    def _upcast(self, stated: type[AccountStated], legacy: type[LegacyPlaced | LegacyUpdated]) -> AccountStated:
        # A version 1 event with a sealed copy opens it like any other; without one, the plaintext it carried
        # is what `personal_of` returns.
        fields = self.stated_fields()
        if fields["personal"] is not None:
            return stated.model_validate(fields)
        upcast = legacy.model_validate(fields)
        upcast._legacy_personal = self.plaintext()
        return upcast


class LegacyPlaced(AccountPlaced):
    """account.placed upcast from a version 1 event without a sealed copy: the plaintext it carried rides along,
    never serialised (legacy_personal). Only such events carry the private attribute (#24: see
    AccountStated.legacy_personal)."""

    _legacy_personal: PersonalData | None = PrivateAttr(default=None)

    @property
    def legacy_personal(self) -> PersonalData | None:
        return self._legacy_personal


class LegacyUpdated(AccountUpdated):
    """account.updated upcast likewise (LegacyPlaced)."""

    _legacy_personal: PersonalData | None = PrivateAttr(default=None)

    @property
    def legacy_personal(self) -> PersonalData | None:
        return self._legacy_personal


@register
class AccountPlacedV1(AccountStatedV1):
    type = "account.placed"
    family = "account"
    producer = "ingest"
    summary = "Version 1 (before #19), read only: upcast to version 2 on decoding."

    def upcast(self) -> Event:
        return self._upcast(AccountPlaced, LegacyPlaced)


@register
class AccountUpdatedV1(AccountStatedV1):
    type = "account.updated"
    family = "account"
    producer = "ingest"
    summary = "Version 1 (before #19), read only: upcast to version 2 on decoding."

    previous_balance: Decimal

    def upcast(self) -> Event:
        return self._upcast(AccountUpdated, LegacyUpdated)
