"""Personal data out of error text: what logs, traces and dead letters may say about an exception.

A database error carries the failing row (`DETAIL: Key (email)=(...)`, `Failing row contains (...)`), the
statement with its literals and the bound parameters; a validation error carries the input values. None of
that may leave the process. What does: the exception's class, its SQLSTATE, constraint, table and column, and
its message with every value taken out.
"""

from __future__ import annotations

import re
import traceback

from pydantic import ValidationError

from recaudo_common.db import exception_chain

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_DIGITS = re.compile(r"\+?\d[\d\s-]{5,}\d")
# An id number with its thousands' dots (Colombia's 1.020.304.050, Argentina's 20.123.456, a Chilean RUT
# 12.345.678-K) or a phone with dots between its groups (300.123.4567): three or more groups joined by dots.
# Two groups (an amount, 150000.00) and one-digit groups (a version, an address 127.0.0.1) stay readable.
_DOTTED = re.compile(r"(?<![\w.])\d{1,4}(?:\.\d{2,4}){2,}(?:-[\dkK])?(?![\w.])")
# SQLAlchemy appends the statement, its parameters and a link to the message: everything from the first of
# them to the link (or the end) is dropped, since a statement's literals or a parameter may themselves
# contain "]" or newlines.
_STATEMENT_TAIL = re.compile(r"\n?\[(?:SQL|parameters|generated in)[: ].*?(?:\(Background on this error at: "
                             r"[^)]*\)|\Z)", re.DOTALL)
_BACKGROUND = re.compile(r"\(Background on this error at: [^)]*\)")
_DETAIL_LINE = re.compile(r"^\s*(DETAIL|HINT|CONTEXT|WHERE|QUERY):.*$", re.MULTILINE)
_KEY_VALUES = re.compile(r"\)=\(.*?\)(?= already exists| is not present| is still referenced|\.|$)",
                         re.MULTILINE)
_FAILING_ROW = re.compile(r"(Failing row contains) .*$", re.MULTILINE)
_SINGLE_QUOTED = re.compile(r"(?<!<class )'(?:[^'\\\n]|\\.)*'")  # a class's name in repr stays
_DOUBLE_QUOTED = re.compile(r"(\b[\w-]+\s)?\"([^\"\n]*)\"")
# A double-quoted word after one of these is a database object's name, which helps and names nobody.
_IDENTIFIER_WORDS = frozenset({"constraint", "relation", "column", "table", "index", "schema", "type", "function",
                               "sequence", "view", "database", "role", "operator", "trigger", "extension",
                               "field",  # a record's field, a setting pydantic-settings could not parse
                               "file"})  # a traceback's File "path"
REDACTED = "[redacted]"


# A UUID (an event's, an erasure's, an attempt's id) holds no one's data, and is what an SRE searches and replays
# by: its digits and hyphens would otherwise read as a phone number and lose pieces ("01a25208-[redacted]f4-...").
_UUID = re.compile(r"(?<![\w-])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])")


def _masked(text: str) -> str:
    return _DIGITS.sub(REDACTED, _DOTTED.sub(REDACTED, _EMAIL.sub("[email]", text)))


def mask_text(text: str) -> str:
    """Masks e-mail addresses, long digit runs and digit groups joined by dots (IDs, phones) in free text; UUIDs
    are kept whole."""
    if "-" not in text or not (ids := list(_UUID.finditer(text))):
        return _masked(text)
    parts, at = [], 0
    for found in ids:
        parts += [_masked(text[at:found.start()]), found.group()]
        at = found.end()
    return "".join([*parts, _masked(text[at:])])


def _double_quoted(match: re.Match[str]) -> str:
    word = (match.group(1) or "").strip().lower()
    if word in _IDENTIFIER_WORDS:
        return match.group(0)
    return f'{match.group(1) or ""}"{REDACTED}"'


def scrub_text(text: str) -> str:
    """Error text with the values taken out: the statement and its parameters, DETAIL lines, key values,
    failing rows, quoted literals (an object's quoted name stays), e-mails and long digit runs."""
    text = _STATEMENT_TAIL.sub("", text)
    text = _BACKGROUND.sub("", text)
    text = _DETAIL_LINE.sub(lambda m: f"{m.group(1)}: {REDACTED}", text)
    text = _KEY_VALUES.sub(f")=({REDACTED})", text)
    text = _FAILING_ROW.sub(rf"\1 {REDACTED}", text)
    text = _SINGLE_QUOTED.sub(f"'{REDACTED}'", text)
    text = _DOUBLE_QUOTED.sub(_double_quoted, text)
    return mask_text(text).strip()


def _database_facts(exc: BaseException) -> tuple[str, ...]:
    """SQLSTATE, constraint, table and column of the database error in exc's chain (SQLAlchemy's adapter has
    the SQLSTATE, asyncpg's own error under it the names)."""
    found: dict[str, str] = {}
    for current in exception_chain(exc):
        for name in ("sqlstate", "constraint_name", "table_name", "column_name"):
            value = getattr(current, name, None)
            if isinstance(value, str) and value and name not in found:
                found[name] = value
    if "sqlstate" not in found:
        return ()
    return tuple(f"{name.removesuffix('_name')} {found[name]}"
                 for name in ("sqlstate", "constraint_name", "table_name", "column_name") if name in found)


def error_code(exc: BaseException) -> str:
    """A short code for the failure that names no one: the class, and the SQLSTATE of a database error."""
    facts = _database_facts(exc)
    return f"{type(exc).__name__}/{facts[0].removeprefix('sqlstate ')}" if facts else type(exc).__name__


def describe_error(exc: BaseException) -> str:
    """One line about exc that may be logged, traced or dead-lettered."""
    name = type(exc).__name__
    if isinstance(exc, ValidationError):
        # pydantic's own text quotes every input value; its locations and error types name nobody.
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'} {e['type']}" for e in exc.errors())
        return f"{name}: {exc.error_count()} validation error(s): {problems}"[:1000]
    facts = _database_facts(exc)
    message = scrub_text(str(exc)).replace("\n", " ")
    label = f"{name} ({', '.join(facts)})" if facts else name
    return f"{label}: {message}"[:1000] if message else label


def scrubbed_traceback(exc: BaseException) -> str:
    """exc's traceback, each exception of the chain described by describe_error instead of its own text."""
    parts: list[str] = []
    for current in reversed(list(exception_chain(exc))):
        if parts:
            parts.append("\nDuring handling of the above exception, another exception occurred:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(current.__traceback__))
        parts.append(describe_error(current) + "\n")
    return "".join(parts).rstrip("\n")
