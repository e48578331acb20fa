"""Safe spreadsheet exports: text that a spreadsheet would run as a formula is neutralised."""

from __future__ import annotations

import re

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)*$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def neutralise(value: str) -> str:
    """Prefixes a quote to a cell that starts like a formula, unless it is a plain number or E.164 phone."""
    if value.startswith(_FORMULA_START) and not (_PLAIN_NUMBER.match(value) or _E164.match(value)):
        return "'" + value
    return value
