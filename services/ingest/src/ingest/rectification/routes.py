"""Rectification's route: an operator corrects a debtor's contact points at the debtor's request."""

import uuid
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ingest.domain.rectification import ContactField
from ingest.rectification import handlers
from ingest.uploads_runtime import ClientOfOperator, VaultDep
from recaudo_common.auth import Principal
from recaudo_common.dependencies import CurrentPrincipal, PlatformDep
from recaudo_common.routing import AuthorisedFirstRoute


class ContactPointsIn(BaseModel):
    """v1: the corrected contact points (only those given change; `email` or `address` null removes it) and the
    debtor's request that justifies it."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{
        "phones": ["+573104567890"], "email": "maria.gonzalez@correo.com.co",
        "reason": "La deudora pidió por escrito corregir su celular y su correo (radicado 2026-1187)"}]})
    phones: list[Annotated[str, Field(max_length=40)]] | None = Field(
        None, max_length=20, description="the debtor's phones, replacing those held; normalised to E.164 for the "
        "client company's country as a portfolio file's are")
    email: str | None = Field(None, max_length=254)
    address: str | None = Field(None, max_length=500)
    reason: str = Field(min_length=1, max_length=500, description="why: the debtor's request, as the operator "
                        "records it (kept in the audit record; say what was asked, not the values)")


class RectifiedOut(BaseModel):
    """v1"""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "debtor_ref": "c7d1e3f5-2a4b-4c6d-8e0f-1a2b3c4d5e6f", "accounts": ["CR-2024-000187", "TC-2023-118204"],
        "fields": ["phones", "email"]}]})
    debtor_ref: uuid.UUID
    accounts: list[str] = Field(description="the person's accounts, each corrected")
    fields: list[ContactField] = Field(description="the contact points that changed (empty: nothing did)")


def _by(principal: Principal) -> str:
    """Who rectified, as the event and the record carry it: the key's id, or the signed-in person's user id (their
    e-mail is personal data, and events reach dead letters; GET /v1/users/{id} names them)."""
    return f"user:{principal.key_id}" if principal.user_email is not None else f"key:{principal.key_id}"


# Mounted under ingest.api.router (prefix /v1, tag ingest).
router = APIRouter(route_class=AuthorisedFirstRoute)


@router.patch("/clients/{slug}/debtors/{id_number}/contact-points", response_model=RectifiedOut,
              responses={404: {"description": "the client company holds no debtor with that id number"},
                         422: {"description": "a value cannot be taken; `errors` says which and why"}})
async def rectify_contact_points(slug: str, id_number: str, body: ContactPointsIn, client: ClientOfOperator,
                                 principal: CurrentPrincipal, platform: PlatformDep, vault: VaultDep
                                 ) -> RectifiedOut:
    """Corrects the debtor's contact points on every account of theirs with the client company, at the debtor's
    request (rectification): who (the caller's key, or the signed-in user) and why are recorded, never the values."""
    request = handlers.RectificationRequest(given=set(body.model_fields_set), phones=body.phones, email=body.email,
                                            address=body.address, reason=body.reason)
    done = await handlers.rectify(platform.db, vault, client=client, id_number=id_number, request=request,
                                  by=_by(principal), now=platform.clock())
    return RectifiedOut(debtor_ref=done.debtor_ref, accounts=done.accounts, fields=done.fields)
