"""The account search's route (#23): a client company's accounts found by reference, id number, name or phone, a
page at a time. The debtor's name and id number are answered to whoever may see the client company's accounts
(its operators and its own users need the whole id number to tell people apart); they are never logged."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict
from pydantic.config import JsonDict

from ingest.account_search import handlers
from ingest.account_search.domain import MAX_QUERY_CHARS, FoundAccount
from ingest.uploads_runtime import ClientOfCaller
from recaudo_common.dependencies import PlatformDep
from recaudo_common.pagination import Page, PageRequest, cursor_str, page_request
from recaudo_common.routing import AuthorisedFirstRoute

FOUND_ACCOUNT_EXAMPLE: JsonDict = {
    "account_ref": "CR-2024-000187", "debtor_name": "María Gómez Restrepo", "id_number": "1020304050",
    "id_type": "CC", "status": "active", "balance": "600000.00", "days_past_due": 74,
    "placed_at": "2026-09-01T08:16:47-05:00"}


class FoundAccountOut(BaseModel):
    """v1: an account a search found; the debtor's name and id number are null once the person is erased."""

    model_config = ConfigDict(json_schema_extra={"examples": [FOUND_ACCOUNT_EXAMPLE]})
    account_ref: str
    debtor_name: str | None
    id_number: str | None
    id_type: str | None
    status: Literal["active", "recalled"]
    balance: Decimal
    days_past_due: int
    placed_at: dt.datetime

    @classmethod
    def of(cls, found: FoundAccount) -> FoundAccountOut:
        return cls.model_validate(found, from_attributes=True)


class FoundAccountList(Page[FoundAccountOut]):
    """v1: a page of the accounts a search found, by account reference; `next` links the following page."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [FOUND_ACCOUNT_EXAMPLE],
        "next": "/v1/clients/banco-andino/accounts?q=gomez&cursor=WyJDUi0yMDI0LTAwMDE4NyJd&limit=20"}]})


SearchPaging = Annotated[PageRequest, page_request(default=20, maximum=100)]

# Mounted under ingest.api.router (prefix /v1, tag ingest).
router = APIRouter(route_class=AuthorisedFirstRoute)


@router.get("/clients/{slug}/accounts", response_model=FoundAccountList)
async def search_accounts(
    client: ClientOfCaller, platform: PlatformDep, paging: SearchPaging, response: Response,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, description=(
        "an account reference (or its beginning), an id number as typed (1.020.304.050), a phone (national or "
        "+57...) or words of the debtor's name in any order, without minding accents or case"),
        examples=["1.020.304.050"])],
) -> FoundAccountList:
    """The client company's accounts the text finds, by account reference: by reference, its debtor's id number,
    phone or name (every word typed begins one of the name's words). 404 for a client company the caller may not
    see; follow `next`."""
    key = paging.key(1)
    after = None if key is None else cursor_str(key[0])
    found = await handlers.search(platform.db, client, q, after=after, limit=paging.limit + 1)
    page = paging.page([FoundAccountOut.of(f) for f in found], lambda f: (f.account_ref,), response)
    return FoundAccountList(items=page.items, next=page.next)
