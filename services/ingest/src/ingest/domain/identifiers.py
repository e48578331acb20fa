"""A person's identifiers as they may be written in a file's cell (an id number with its dots, a phone as the client
typed it, a name in capitals): whether a raw cell names the person, so an erasure finds every copy of them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

# A phone's national number is matched inside a cell's digits: shorter ones would match amounts and dates.
MIN_PHONE_DIGITS = 7
# An id number this long is matched inside a cell ("CC 1020304050"); a shorter one only as the whole cell.
MIN_ID_INSIDE = 6
_NOT_ID = re.compile(r"[^0-9A-Z]")
_NOT_DIGIT = re.compile(r"[^0-9]")


def plain(text: str) -> str:
    """Letters only, without accents or case, one space between words: "  PÉREZ,  Ana " -> "perez ana"."""
    stripped = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join("".join(c if c.isalpha() else " " for c in stripped.casefold()).split())


def id_spelling(text: str) -> str:
    """An id number as compared: its ASCII letters and digits, upper case ("1.020.304-5" -> "10203045")."""
    return _NOT_ID.sub("", unicodedata.normalize("NFKC", text).upper())


def national_digits(e164: str) -> str | None:
    """The digits a client types for a phone kept in E.164 ("+573001234567" -> "3001234567")."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return None
    digits = phonenumbers.national_significant_number(number)
    return digits if len(digits) >= MIN_PHONE_DIGITS else None


@dataclass(frozen=True)
class Identifiers:
    """What names a person in a raw cell: id numbers, phones' national digits, e-mails and full names, each in the
    one spelling it is compared in."""

    id_numbers: frozenset[str]
    phone_digits: frozenset[str]
    emails: frozenset[str]
    names: frozenset[str]

    @classmethod
    def of(cls, *, id_numbers: Iterable[str], phones: Iterable[str], emails: Iterable[str],
           names: Iterable[str]) -> Identifiers:
        """From the person's data as ingest keeps it (phones in E.164)."""
        return cls(
            id_numbers=frozenset(s for n in id_numbers if (s := id_spelling(n))),
            phone_digits=frozenset(d for p in phones if (d := national_digits(p))),
            emails=frozenset(e.strip().casefold() for e in emails if e.strip()),
            names=frozenset(s for n in names if (s := plain(n))))

    def __bool__(self) -> bool:
        return bool(self.id_numbers or self.phone_digits or self.emails or self.names)

    def name_spellings(self, originals: Iterable[str]) -> list[str]:
        """The ways the longest word of each of the person's names is likely written (as given, capitals, small
        letters, without accents): what the database's coarse search looks for, before each cell of the rows it
        finds is compared here (a cell names the person only if it holds every word of a name)."""
        spellings: set[str] = set()
        for name in originals:
            longest = max(name.split(), key=lambda w: len(plain(w)), default="")
            for form in (longest, longest.upper(), longest.lower(), longest.title()):
                spellings |= {form, "".join(c for c in unicodedata.normalize("NFKD", form)
                                            if not unicodedata.combining(c))}
        return sorted(s for s in spellings if s.strip())

    def named_in(self, cell: str) -> bool:
        """Whether the cell holds one of the person's identifiers (an id number, a phone in any spelling, an
        e-mail, a full name): false positives only erase more of a rejected row, never less."""
        if not cell:
            return False
        ids = id_spelling(cell)
        if ids in self.id_numbers or any(len(n) >= MIN_ID_INSIDE and n in ids for n in self.id_numbers):
            return True
        for words in re.split(r"\s+", cell):  # an id number among other words: "CC 1.020.304"
            if id_spelling(words) in self.id_numbers:
                return True
        digits = _NOT_DIGIT.sub("", cell)
        if any(d in digits for d in self.phone_digits):
            return True
        folded = cell.casefold()
        if any(e in folded for e in self.emails):
            return True
        # Every word of a name, in any order ("Pérez, Ana María"); a name of one word only as the whole cell.
        words = plain(cell).split()
        return any(set(n.split()) <= set(words) if " " in n else words == [n] for n in self.names)

    def named_in_any(self, cells: Iterable[str]) -> bool:
        return any(self.named_in(c) for c in cells)
