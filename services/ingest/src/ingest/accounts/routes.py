"""Placed accounts' routes: a client company recalls accounts (listed, or in a file), and reads one as placed."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ingest.accounts import handlers
from ingest.accounts.handlers import MAX_RECALLED
from ingest.uploads_runtime import ClientOfCaller, Runtime
from recaudo_common.dependencies import PlatformDep
from recaudo_common.multipart import form_request_body, read_small_upload
from recaudo_common.routing import AuthorisedFirstRoute


class RecallIn(BaseModel):
    """v1"""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "account_refs": ["CR-2024-000187", "CR-2024-000342"], "reason": "Acuerdo de pago directo con el banco"}]})
    account_refs: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(min_length=1,
                                                                                    max_length=MAX_RECALLED)
    reason: str | None = Field(None, max_length=500)


class RecallOut(BaseModel):
    """v1"""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "b1d4e7a2-3c5f-4e8a-9b0c-6d2f8a1e4c57", "accounts_recalled": 2, "already_recalled": 0,
        "unknown_account_refs": [], "requested_at": "2026-12-03T11:02:18-05:00"}]})
    id: uuid.UUID
    accounts_recalled: int
    already_recalled: int
    unknown_account_refs: list[str]
    requested_at: dt.datetime


class PlacementOut(BaseModel):
    """v1: an account as placed and last stated by the client company."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "account_ref": "CR-2024-000187", "status": "recalled", "balance": "600000.00", "days_past_due": 74,
        "as_of": "2026-12-01", "placed_at": "2026-09-01T08:16:47-05:00", "updated_at": "2026-12-01T08:16:47-05:00",
        "recalled_at": "2026-12-03T11:02:18-05:00", "placed_portfolio_id": "8e2d4a6c-1f3b-4c5d-9e7f-0a1b2c3d4e5f",
        "last_portfolio_id": "3f6b2c1e-8d4a-4f0b-9c2e-5a7d1e9b4c36"}]})
    account_ref: str
    status: Literal["active", "recalled"]
    balance: Decimal
    days_past_due: int
    as_of: dt.date
    placed_at: dt.datetime
    updated_at: dt.datetime
    recalled_at: dt.datetime | None
    placed_portfolio_id: uuid.UUID
    last_portfolio_id: uuid.UUID


# Mounted under ingest.api.router (prefix /v1, tag ingest).
router = APIRouter(route_class=AuthorisedFirstRoute)


@router.post("/clients/{slug}/recalls", response_model=RecallOut)
async def recall_accounts(body: RecallIn, client: ClientOfCaller, platform: PlatformDep) -> RecallOut:
    """The client company withdraws accounts from collection: account.recalled for each active one stops all
    contact downstream; those already recalled and refs it never placed are counted and listed, not refused."""
    result = await handlers.recall(platform.db, client=client.slug, account_refs=body.account_refs,
                                   reason=body.reason, now=platform.clock())
    return RecallOut.model_validate(result, from_attributes=True)


RECALL_FILE_BODY = form_request_body({"reason": "why the client company withdraws them (kept with the recall)"}, {
    "recall_file": {"summary": "the accounts a CSV or XLSX file names", "value": {
        "file": "retiros-banco-andino-2026-12-03.csv", "reason": "Cartera vendida a un tercero"}}})


@router.post("/clients/{slug}/recalls/file", response_model=RecallOut, openapi_extra=RECALL_FILE_BODY)
async def recall_accounts_from_file(client: ClientOfCaller, platform: PlatformDep, runtime: Runtime,
                                    request: Request) -> RecallOut:
    """As POST /recalls, for the accounts the account column of a CSV or XLSX file names (the form's `file`, and
    an optional `reason`). Refused 413 past RECAUDO_INGEST_MAX_RECALL_FILE_BYTES (16 MiB), 422 empty_file or an
    unreadable file's code."""
    upload = await read_small_upload(request, max_bytes=runtime.max_recall_file_bytes, what="a recall file")
    result = await handlers.recall_from_file(platform.db, client=client.slug, content=upload.content,
                                             reason=upload.fields.get("reason") or None, now=platform.clock())
    return RecallOut.model_validate(result, from_attributes=True)


@router.get("/clients/{slug}/placements/{account_ref}", response_model=PlacementOut)
async def placement(slug: str, account_ref: str, client: ClientOfCaller, platform: PlatformDep) -> PlacementOut:
    """The account as the client company placed and last stated it (status: active or recalled)."""
    return PlacementOut.model_validate(await handlers.placement(platform.db, client, account_ref),
                                       from_attributes=True)
