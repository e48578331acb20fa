"""ETag and If-Match for the documents people edit (a strategy, a template, a client company's settings): the ETag
names the state a caller read; a write that sends `If-Match` is refused with 412 when that state is no longer the
current one, so two people editing the same thing in the console cannot silently overwrite each other (the "lost
update" RFC 9110 §13.1.1 describes). `If-Match` stays optional: a write without it behaves as it always did.

The comparison runs inside the writer's transaction, against the row it is about to change (read under its
lock), never against a value read earlier by the route."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel

from recaudo_common.domain_errors import PreconditionFailed
from recaudo_common.errors import ProblemError

MAX_IF_MATCH_CHARS = 2048
_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e]*)"\s*')  # RFC 9110 entity-tag: optional W/, quoted etagc


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, (Decimal, uuid.UUID, dt.date, dt.datetime, dt.time)):
        return str(value)
    return value


def etag_of(*state: object) -> str:
    """A strong ETag for a document's state (dataclasses, pydantic models, plain values): the same state always
    gives the same tag, in any process."""
    canonical = json.dumps([_plain(s) for s in state], sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class IfMatch:
    """A parsed If-Match: `*` (any current state) or the entity tags the caller read."""

    any: bool
    tags: frozenset[str]

    def check(self, current: str | None, what: str) -> None:
        """Refuses the write unless the current state is one the caller read (strong comparison: a weak tag never
        matches, RFC 9110 §13.1.1); `current` None means the document does not exist yet."""
        if current is not None and (self.any or current in self.tags):
            return
        raise PreconditionFailed(
            "precondition_failed",
            f"{what} changed since it was read (it is {current or 'not there'} now): read it again, then apply your "
            "change to what is current")


def parse_if_match(raw: str) -> IfMatch:
    if raw.strip() == "*":
        return IfMatch(any=True, tags=frozenset())
    tags: set[str] = set()
    for part in raw.split(","):
        found = _TAG.fullmatch(part)
        if not found:
            raise ProblemError(400, "invalid_if_match", "Invalid If-Match",
                               'If-Match takes "*" or entity tags as ETag gave them, e.g. "3f2a..."')
        if not found.group(1):  # weak tags are kept out: they never match a strong comparison
            tags.add(f'"{found.group(2)}"')
    return IfMatch(any=False, tags=frozenset(tags))


async def _if_match(request: Request) -> IfMatch | None:
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    if len(raw) > MAX_IF_MATCH_CHARS:
        raise ProblemError(400, "invalid_if_match", "Invalid If-Match", f"at most {MAX_IF_MATCH_CHARS} characters")
    return parse_if_match(raw)


IfMatchHeader = Annotated[IfMatch | None, Depends(_if_match)]


def check_if_match(if_match: IfMatch | None, current: str | None, what: str) -> None:
    """For handlers: nothing to check without If-Match; else the current state must be one the caller read."""
    if if_match is not None:
        if_match.check(current, what)
