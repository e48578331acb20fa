"""The privacy routes (operators only, within their client scope): a person's access request, their erasure and
its progress, and a client company's retention. The id number is in the path; telemetry records the route's
template, never the value."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from recaudo_common.dependencies import CurrentPrincipal, PlatformDep, from_app_state
from recaudo_common.pagination import PageRequest, cursor_time, cursor_uuid, page_request
from recaudo_common.personal_data import Vault
from recaudo_common.routing import AuthorisedFirstRoute
from reporting.privacy import access, handlers
from reporting.privacy.handlers import Caller
from reporting.privacy.schemas import (
    AccessRequestAccepted,
    AccessRequestOut,
    AccessRequestStatusOut,
    ErasureAccepted,
    ErasureIn,
    ErasureOut,
    ErasuresOut,
    PersonalDataOut,
    RetentionIn,
    RetentionOut,
)
from reporting.state import ClientOfOperator

VAULT = "reporting_vault"  # the process's one vault (main.build), shared with the erasure saga's consumer
VaultDep = Annotated[Vault, Depends(from_app_state(VAULT, Vault))]
ErasurePaging = Annotated[PageRequest, page_request(default=100, maximum=1000)]

router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1/clients/{slug}", tags=["privacy"],
                   responses={404: {"description": "no such client company for this key, or nothing held about "
                                                   "that person"}})


@router.get("/debtors/{id_number}/personal-data", response_model=PersonalDataOut)
async def personal_data(id_number: str, client: ClientOfOperator, principal: CurrentPrincipal,
                        platform: PlatformDep, vault: VaultDep) -> PersonalDataOut:
    """Everything held about the person with this id number: identity, contact points with their consent
    evidence, accounts, contacts, payments, promises, arrangements, holds, and who read it when (this read
    included)."""
    found = await handlers.personal_data(platform.db, vault, client=client.slug, id_number=id_number,
                                         caller=Caller(principal.key_id, principal.role), now=platform.clock())
    return PersonalDataOut.of(client.slug, found)


@router.post("/debtors/{id_number}/access-requests", response_model=AccessRequestAccepted, status_code=202)
async def request_access(id_number: str, client: ClientOfOperator, principal: CurrentPrincipal,
                         platform: PlatformDep, vault: VaultDep) -> AccessRequestAccepted:
    """Asks every service holding the person's data for all of it (replies, opt-outs, operators' notes, rejected
    rows of uploads naming them, ...): the whole answer to an access request, read at /access-requests/{id}."""
    found = await access.request_access(platform.db, vault, client=client.slug, id_number=id_number,
                                        caller=Caller(principal.key_id, principal.role), now=platform.clock())
    return AccessRequestAccepted(id=found.id, status="completed" if found.completed_at else "in_progress")


@router.get("/access-requests/{access_id}", response_model=AccessRequestOut)
async def access_request(access_id: uuid.UUID, client: ClientOfOperator, principal: CurrentPrincipal,
                         platform: PlatformDep, vault: VaultDep) -> AccessRequestOut:
    """Everything held about the person: what reporting holds and each service's part, complete once `status`
    is completed; the read is logged. 404 for a request the client company never made, or once the person is
    erased."""
    answer = await access.access_answer(platform.db, vault, client=client.slug, access_id=access_id,
                                        caller=Caller(principal.key_id, principal.role), now=platform.clock())
    return AccessRequestOut.of(client.slug, answer)


@router.get("/access-requests/{access_id}/status", response_model=AccessRequestStatusOut)
async def access_request_status(access_id: uuid.UUID, client: ClientOfOperator,
                                platform: PlatformDep) -> AccessRequestStatusOut:
    """How far the access request is (which services answered, whether all did), without the person's data and
    so not logged as a read of it: what a page asks while it waits, before reading the answer once. 404 as the
    answer's."""
    return AccessRequestStatusOut.of(await access.access_status(platform.db, client=client.slug,
                                                                access_id=access_id))


ERASURE_EXAMPLE = {"requestBody": {"content": {"application/json": {"examples": {"requested": {
    "summary": "the person's request, by its filing number (no personal data)",
    "value": {"reason": "Solicitud de supresión del titular, radicado SUP-2026-0341 (Ley 1581 de 2012)"}}}}}}}


@router.post("/debtors/{id_number}/erasure", response_model=ErasureAccepted, status_code=202,
             responses={409: {"description": "an account of the person is an active obligation "
                                             "(code obligation_active)"}}, openapi_extra=ERASURE_EXAMPLE)
async def request_erasure(id_number: str, client: ClientOfOperator, principal: CurrentPrincipal,
                          platform: PlatformDep, vault: VaultDep, body: ErasureIn | None = None) -> ErasureAccepted:
    """Erases the person's data everywhere (crypto-shredding once every service has erased its copy); the
    erasure already running for them when there is one."""
    erasure = await handlers.request_erasure(platform.db, vault, client=client.slug, id_number=id_number,
                                             note=body.reason if body else None,
                                             caller=Caller(principal.key_id, principal.role), now=platform.clock())
    return ErasureAccepted(id=erasure.id, status=erasure.status)


@router.get("/erasures/{erasure_id}", response_model=ErasureOut)
async def erasure(erasure_id: uuid.UUID, client: ClientOfOperator, platform: PlatformDep) -> ErasureOut:
    """An erasure of the client company's (operators only), without any personal data: why it started (a request
    or retention's end), its accounts, the services that confirmed they erased their copy, when it completed;
    404 for one it never had."""
    return ErasureOut.of(await handlers.erasure(platform.db, client=client.slug, erasure_id=erasure_id))


@router.get("/erasures", response_model=ErasuresOut)
async def erasures(client: ClientOfOperator, platform: PlatformDep, paging: ErasurePaging,
                   response: Response) -> ErasuresOut:
    """The client company's erasures, newest first: on request and by retention; follow `next`."""
    key = paging.key(2)
    after = None if key is None else (cursor_time(key[0]), cursor_uuid(key[1]))
    found = await handlers.erasures(platform.db, client=client.slug, after=after, limit=paging.limit + 1)
    page = paging.page([ErasureOut.of(e) for e in found], lambda e: (e.requested_at.isoformat(), str(e.id)),
                       response)
    return ErasuresOut(items=page.items, next=page.next)


@router.get("/retention", response_model=RetentionOut)
async def get_retention(client: ClientOfOperator, platform: PlatformDep) -> RetentionOut:
    """How many days after a person's last account was recalled or closed the client company's data about them
    is erased (null: kept until requested); operators only."""
    return RetentionOut(client=client.slug, days_after_closure=await handlers.retention(platform.db,
                                                                                        client=client.slug))


@router.put("/retention", response_model=RetentionOut)
async def put_retention(body: RetentionIn, client: ClientOfOperator, platform: PlatformDep) -> RetentionOut:
    """Sets how many days after a person's last account was recalled or closed their data is erased (null: kept
    until requested)."""
    await handlers.set_retention(platform.db, client=client.slug, days_after_closure=body.days_after_closure,
                                 now=platform.clock())
    return RetentionOut(client=client.slug, days_after_closure=body.days_after_closure)
