"""What a search for an account means (#23): the words a person typed read as an account reference, an id number,
a phone and a name at once, each in the one spelling the accounts are compared in. Pure: no I/O."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

import phonenumbers

from ingest.domain.identifiers import MIN_PHONE_DIGITS, id_spelling, plain

MAX_QUERY_CHARS = 100
# An id number shorter than this would find too many accounts by chance ("12"): it is then only a reference.
MIN_ID_CHARS = 4
# Each word of a name narrows the search (as the beginning of one of the name's words); more would not narrow it.
MAX_NAME_WORDS = 6
# Accented letters as the database folds them (translate, before lower case, which a database in the C locale
# applies to ASCII letters only), the same as `plain` does in Python.
_SMALL = "áàäâãéèëêíìïîóòöôõúùüûñç"
ACCENTED = _SMALL + _SMALL.upper()
UNACCENTED = "aaaaaeeeeiiiiooooouuuunc" * 2


@dataclass(frozen=True)
class AccountQuery:
    """A typed search, read every way it may be meant; a way it cannot be meant is None (or no words)."""

    reference: str
    id_number: str | None
    phone: str | None
    name_words: tuple[str, ...]


def read_query(typed: str, *, country: str) -> AccountQuery:
    """"1.020.304.050" -> id number 1020304050; "300 123 4567" or "+57 300..." -> phone +573001234567 (national
    numbers read in the client company's country); "gomez maria" -> the name's words, in any order, without
    accents or case. The whole text, trimmed, is also an account reference (or its beginning)."""
    # Control characters are nobody's reference or name (and PostgreSQL refuses a NUL in text).
    text = " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in typed).split())[:MAX_QUERY_CHARS]
    spelled = id_spelling(text)
    has_digit = any(c.isdigit() for c in text)
    return AccountQuery(
        reference=text,
        id_number=spelled if has_digit and len(spelled) >= MIN_ID_CHARS else None,
        phone=phone_of(text, country=country),
        # Digits say it is a reference, an id number or a phone: "CR-2024" is not a name starting with "cr".
        name_words=() if has_digit else tuple(dict.fromkeys(plain(text).split()))[:MAX_NAME_WORDS])


def phone_of(text: str, *, country: str) -> str | None:
    """The phone a text may be, in E.164 as ingest keeps phones; None when it is no possible number."""
    digits = sum(c.isdigit() for c in text)
    if digits < MIN_PHONE_DIGITS or any(c.isalpha() for c in text):
        return None
    try:
        number = phonenumbers.parse(text, country.upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)



@dataclass(frozen=True)
class FoundAccount:
    """An account a search found, with what tells it apart at a glance (its debtor's name and id number, None once
    the person is erased)."""

    account_ref: str
    debtor_name: str | None
    id_number: str | None
    id_type: str | None
    status: str
    balance: Decimal
    days_past_due: int
    placed_at: dt.datetime
