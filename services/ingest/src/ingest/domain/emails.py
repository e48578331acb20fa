"""The entries of a portfolio's e-mail cell: addresses as mail programs and CRMs export them, with a display name or
none, and bare ones between the usual separators (the name is dropped: personal data nobody needs)."""

from __future__ import annotations

import re
import unicodedata
from email.utils import parseaddr


def without_invisible(text: str) -> str:
    """The text without Unicode's format characters (zero-width space, soft hyphen, direction marks, byte-order
    mark), which text copied from a web page, a chat or a PDF carries and no one sees: no part of an address."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


# Between two e-mail addresses of one cell ("ana@correo.co; ana.gomez@empresa.co"): none is inside an address.
BETWEEN_EMAILS = re.compile(r"[\s;,/|]+")
# An address as a mail program or a CRM exports it, with a display name or none ("Ana Gómez <ana@x.co>",
# '"Gómez, Ana" <ana@x.co>', "<ana@x.co>"), where the cell or a separator before it starts it. The name holds no
# '@' outside quotes (so "ana@x.co, Luis <luis@x.co>" is two entries) and may hold separators ("Gómez, Ana <...>",
# as Outlook writes it unquoted): they are the name's. It is the pattern
#   (?:^|(?<=[\s;,/|]))(?:"(?:[^"\\]|\\.)*"|[^<>@"])*(<[^<>;,/|]*>)
# read in one pass: as a backtracking pattern, every start after a separator read the rest of the cell again, so a
# cell of quotes, words and commas cost its length squared. email.utils reads what the brackets hold; it cannot
# find the entries of a cell (getaddresses splits at commas only and reads "Gómez, Ana <ana@x.co>" as 'Gómez' and
# 'ana@x.co', "sin correo" as 'sin', "Ana <ana@x.co" as closed; the fix of CVE-2023-27043 changed its answers).
_SEPARATOR = re.compile(r"[\s;,/|]")
_BRACKETS = re.compile(r"<[^<>;,/|]*>")


def _name_ends(text: str) -> list[int]:
    """For each place a name may start, where it ends: at the first '<', '>' or '@' outside quotes, the cell's end,
    or a quote never closed ('\\' escapes the character after it inside quotes, a line break excepted). Read from the
    end, each place once."""
    n = len(text)
    closes = [-1] * (n + 2)  # inside quotes from here: where the closing quote is (-1: never closed)
    for k in range(n - 1, -1, -1):
        if text[k] == '"':
            closes[k] = k
        elif text[k] == "\\":
            closes[k] = closes[k + 2] if k + 1 < n and text[k + 1] != "\n" else -1
        else:
            closes[k] = closes[k + 1]
    ends = list(range(n + 1))
    for i in range(n - 1, -1, -1):
        if text[i] == '"':
            ends[i] = ends[closes[i + 1] + 1] if closes[i + 1] != -1 else i
        elif text[i] not in '<>@':
            ends[i] = ends[i + 1]
    return ends


def email_entries(text: str) -> list[str]:
    """The cell's entries in the order written: the address of each written with a display name or angle brackets
    (the name dropped: personal data nobody needs), and each other part between the usual separators."""
    entries: list[str] = []
    ends = _name_ends(text)
    unclosed: set[int] = set()  # brackets read once and found never closed (many names may end at one)
    end = start = 0
    while start < len(text):
        bracket = ends[start]
        if (start == 0 or _SEPARATOR.match(text, start - 1)) and text[bracket:bracket + 1] == "<" \
                and bracket not in unclosed:
            if (named := _BRACKETS.match(text, bracket)) is None:
                unclosed.add(bracket)
                start += 1
                continue
            entries.extend(BETWEEN_EMAILS.split(text[end:start]))
            _, address = parseaddr(named[0])  # what the brackets hold: "< ana@x.co >" is ana@x.co, "<>" nothing
            entries.append(address or named[0])
            end = start = named.end()
            continue
        start += 1
    entries.extend(BETWEEN_EMAILS.split(text[end:]))
    return entries
