"""One pagination style for every list: an opaque `cursor` and a `limit` in; `items` and a `next` link out (also
sent as an RFC 8288 `Link: <...>; rel="next"` header), `next` null on the last page.

The cursor is the sort key of the last item shown, base64url-encoded JSON: opaque to callers (they follow `next`),
stable while rows are added (keyset pagination, never OFFSET, so a page never repeats or skips a row because a
newer one arrived), and checked on the way in (a cursor that does not decode is a `422 invalid_cursor`, never a
500)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, Field

from recaudo_common.errors import ProblemError

T = TypeVar("T")
CursorValue = str | int | None
MAX_CURSOR_CHARS = 512


class Page(BaseModel, Generic[T]):
    """v1: a page of a list; `next` is the URL (path and query) of the following page, null on the last."""

    items: list[T]
    next: str | None = Field(None, examples=["/v1/clients/banco-andino/portfolios?limit=50&cursor=WyIyMDI2Il0"])

    def link_headers(self) -> dict[str, str]:
        """The RFC 8288 `Link` header of the next page (none on the last)."""
        return {"Link": f'<{self.next}>; rel="next"'} if self.next else {}


def encode_cursor(key: Sequence[CursorValue]) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, length: int) -> list[CursorValue]:
    """The sort key a cursor carries, `length` values of str/int/null; anything else is a 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if (not isinstance(key, list) or len(key) != length
            or not all(v is None or (isinstance(v, (str, int)) and not isinstance(v, bool)) for v in key)):
        raise invalid_cursor()
    return key


def invalid_cursor() -> ProblemError:
    """The answer to a cursor this list never gave (also for one that decodes but names no valid position)."""
    return ProblemError(422, "invalid_cursor", "Invalid cursor",
                        "the cursor is not one this list gave: follow the `next` link of the previous page")


def cursor_time(value: CursorValue) -> dt.datetime:
    """A cursor's instant: ISO 8601 with its UTC offset, as `key_of` wrote it; anything else is `invalid_cursor`."""
    try:
        found = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        found = None
    if found is None or found.tzinfo is None:
        raise invalid_cursor()
    return found


def cursor_uuid(value: CursorValue) -> uuid.UUID:
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise invalid_cursor()


def cursor_int(value: CursorValue, *, minimum: int = 0) -> int:
    if not isinstance(value, int) or not minimum <= value < 2**63:
        raise invalid_cursor()
    return value


def cursor_str(value: CursorValue) -> str:
    if not isinstance(value, str):
        raise invalid_cursor()
    return value


@dataclass(frozen=True)
class PageRequest:
    """What the caller asked of a list: where to start (None: the first page) and how many items at most."""

    cursor: str | None
    limit: int
    request: Request

    def key(self, length: int) -> list[CursorValue] | None:
        return None if self.cursor is None else decode_cursor(self.cursor, length=length)

    def page(self, rows: Sequence[T], key_of: Callable[[T], Sequence[CursorValue]],
             response: Response | None = None) -> Page[T]:
        """The page from up to `limit + 1` rows fetched in order (the extra row only says there is a next page);
        `key_of` gives an item's sort key as the list's query orders them. Sets the `Link` header on `response`
        when given."""
        shown = list(rows[: self.limit])
        link = None
        if len(rows) > self.limit and shown:
            url = self.request.url.include_query_params(cursor=encode_cursor(key_of(shown[-1])), limit=self.limit)
            link = url.path + "?" + url.query
        page = Page[T](items=shown, next=link)
        if response is not None:
            response.headers.update(page.link_headers())
        return page


def page_request(default: int = 50, maximum: int = 500) -> object:
    """A dependency reading `cursor` and `limit` (1..maximum, `default` when absent) for a list route."""

    # Defaults rather than Annotated: the module's postponed annotations could not see this closure's values.
    async def read(request: Request,
                   cursor: str | None = Query(None, max_length=MAX_CURSOR_CHARS,
                                              description="the `next` link's cursor; absent for the first page"),
                   limit: int = Query(default, ge=1, le=maximum, description="items on a page")) -> PageRequest:
        return PageRequest(cursor=cursor, limit=limit, request=request)

    return Depends(read)


Paging = Annotated[PageRequest, page_request()]
