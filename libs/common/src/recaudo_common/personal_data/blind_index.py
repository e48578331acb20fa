"""Blind indexes: a person found by id number, phone or e-mail through a keyed digest, the value never stored."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from typing import Literal, get_args

LookupKind = Literal["id_number", "phone", "email"]
LOOKUP_KINDS: tuple[LookupKind, ...] = get_args(LookupKind)
E164 = re.compile(r"\+[1-9][0-9]{1,14}")


class NotIndexable(ValueError):
    """A value that normalises to nothing a lookup can use; the message names the kind, never the value."""


def normalised(kind: LookupKind, value: str) -> str:
    """The one spelling a value is indexed under, so `1.020.304-5` and `10203045` find the same person."""
    if kind == "id_number":
        # Separators and case vary between a client's files; letters stay (passports, NIT check digits as given).
        text = "".join(c for c in unicodedata.normalize("NFKC", value).upper() if c.isalnum())
    elif kind == "phone":
        text = value.strip()  # E.164 as given: the platform stores phones already normalised to it
        if not E164.fullmatch(text):
            raise NotIndexable("a phone lookup takes an E.164 number (+ and up to 15 digits)")
    elif kind == "email":
        text = unicodedata.normalize("NFKC", value).strip().lower()
    else:
        raise NotIndexable(f"no lookup of kind {kind!r}")
    if not text:
        raise NotIndexable(f"the {kind} is empty once normalised")
    return text


def blind_index(index_key: bytes, client: str, kind: LookupKind, value: str) -> bytes:
    """HMAC-SHA256 of `client|kind|value` (value normalised): the same person of another client company, or the
    same text as another kind, gives an unrelated digest, so digests cannot be joined across clients."""
    if "|" in client:
        raise NotIndexable("a client company's slug has no '|'")
    message = f"{client}|{kind}|{normalised(kind, value)}".encode()
    return hmac.new(index_key, message, hashlib.sha256).digest()
