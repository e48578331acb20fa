"""Rectification of a debtor's contact points at their request: what an operator's correction means for the
person's data (phones normalised as a portfolio file's are, an e-mail checked the same way), and which contact
points it actually changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ingest.domain.emails import without_invisible
from ingest.domain.phones import normalise_phone
from ingest.domain.portfolio import FIELD_LIMITS, MAX_PHONES, is_email
from recaudo_common.personal_data.sealing import PersonalData

ContactField = Literal["phones", "email", "address"]
CONTACT_FIELDS: tuple[ContactField, ...] = ("phones", "email", "address")


@dataclass(frozen=True)
class Correction:
    """The corrected contact points; only those in `given` change (a given None email or address removes it)."""

    given: frozenset[ContactField]
    phones: tuple[str, ...] = ()
    email: str | None = None
    address: str | None = None

    def applied_to(self, person: PersonalData) -> PersonalData:
        return person.model_copy(update={f: getattr(self, f) for f in self.given})

    def changes(self, people: Sequence[PersonalData]) -> list[ContactField]:
        """The given fields whose value differs on at least one of the person's accounts, in a fixed order."""
        return [f for f in CONTACT_FIELDS if f in self.given
                and any(getattr(p, f) != getattr(self, f) for p in people)]


@dataclass(frozen=True)
class Refusal:
    """Why one value of a correction cannot be taken: where it is (`loc`, as validation errors say) and why."""

    loc: tuple[str | int, ...]
    code: str
    reason: str


def correction(*, given: set[str], phones: Sequence[str] | None, email: str | None, address: str | None,
               country: str) -> tuple[Correction, list[Refusal]]:
    """The correction an operator sent, with every phone in E.164 for the client company's country, or the
    reasons it cannot be taken (all of them at once)."""
    refusals: list[Refusal] = []
    fields = frozenset(f for f in CONTACT_FIELDS if f in given)
    if not fields:
        refusals.append(Refusal(("body",), "nothing_to_rectify", "give at least one of phones, email, address"))
    normalised: list[str] = []
    for i, raw in enumerate(phones or ()):
        e164 = normalise_phone(raw.strip(), country) if raw.strip() else None
        if e164 is None:
            refusals.append(Refusal(("body", "phones", i), "invalid_phone",
                                    f"not a valid phone number for the client company's country ({country})"))
        elif e164 not in normalised:
            normalised.append(e164)
    if len(normalised) > MAX_PHONES:
        refusals.append(Refusal(("body", "phones"), "too_many_phones", f"at most {MAX_PHONES} phones"))
    cleaned_email = without_invisible(email).strip() if email is not None else None  # as a file's cell
    if cleaned_email is not None and (not is_email(cleaned_email) or len(cleaned_email) > FIELD_LIMITS["email"]):
        refusals.append(Refusal(("body", "email"), "invalid_email", "not a valid e-mail address"))
    cleaned_address = (address.strip() or None) if address is not None else None
    return Correction(given=fields, phones=tuple(normalised), email=cleaned_email or None,
                      address=cleaned_address), refusals
