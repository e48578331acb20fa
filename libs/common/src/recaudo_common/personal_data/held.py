"""What one service holds about one person, as it answers an access request (debtor.access_requested): records of
personal data, each saying what it is, the account it belongs to, when, and its values as held. It travels sealed
with the person's key, on a topic kept forever: shredding the key erases every answer with the rest."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from recaudo_common.personal_data.sealing import seal_model, unseal_model


class HeldRecord(BaseModel):
    """One record holding the person's data: a reply's words, an opt-out, an operator's note, a rejected row..."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = Field(description="what the record is (reply, opt_out, write_off_note, rejected_row, ...)")
    account_ref: str | None = Field(None, description="the account it belongs to, when it belongs to one")
    at: dt.datetime | None = Field(None, description="when it was made or received, when known")
    where: str | None = Field(None, description="where it is held, when that says more (an upload and its row)")
    values: dict[str, str] = Field(description="the personal data it holds, by field, exactly as held")


class HeldPart(BaseModel):
    """Everything one service holds about the person, in its own order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    records: tuple[HeldRecord, ...] = ()


def _bound_to(client: str, debtor_ref: UUID) -> bytes:
    # Not a PersonalData's associated data: a sealed part cannot be passed off as the person's identity, nor back.
    return f"{client}/{debtor_ref}/held".encode()


def seal_part(key: bytes, client: str, debtor_ref: UUID, part: HeldPart) -> str:
    return seal_model(key, _bound_to(client, debtor_ref), part)


def open_part(key: bytes, client: str, debtor_ref: UUID, sealed: str) -> HeldPart:
    """The part in `sealed`; SealBroken on a wrong or shredded key, tampering, another person's part or bad text."""
    return unseal_model(key, _bound_to(client, debtor_ref), sealed, HeldPart, "a held part")
