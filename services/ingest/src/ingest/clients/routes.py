"""Client companies' routes: an operator registers one, edits its settings, sets its upload cap and cost table
(each change with the ETag / If-Match of its settings); a caller reads those it may see and saves or reads its
mapping profiles."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, get_args

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from ingest.clients import handlers, readiness
from ingest.records import ClientChanges, ClientCompany, ClientTerms
from ingest.uploads_runtime import ClientOfCaller, ClientOfOperator, Runtime
from recaudo_common.dependencies import Operator, OperatorOrClient, PlatformDep
from recaudo_common.errors import ProblemError
from recaudo_common.events import Channel
from recaudo_common.instalments import MAX_INSTALMENTS, MIN_INSTALMENTS, ArrangementLimits
from recaudo_common.pagination import Page, Paging, cursor_str
from recaudo_common.preconditions import IfMatchHeader
from recaudo_common.promises import DEFAULT_PROMISE_WINDOW_DAYS, MAX_PROMISE_WINDOW_DAYS
from recaudo_common.routing import AuthorisedFirstRoute


class ClientIn(BaseModel):
    """v1: a client company (creditor) as an operator creates it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "slug": "banco-andino", "name": "Banco Andino S.A.", "country": "CO", "currency": "COP",
        "timezone": "America/Bogota", "locale": "es-CO", "default_authorised_channels": ["sms", "whatsapp", "email"],
        "max_discount_pct": "35.00", "promise_window_days": 15, "instalments_min": 2, "instalments_max": 12,
        "min_instalment_amount": "50000.00"}]})
    slug: str = Field(examples=["banco-andino"])
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(examples=["CO"])
    currency: str = Field(examples=["COP"])
    timezone: str = Field(examples=["America/Bogota"])
    locale: str = Field("es-CO")
    default_authorised_channels: list[Channel] = Field(default_factory=lambda: list(get_args(Channel)))
    max_discount_pct: Decimal = Field(Decimal("40"), ge=0, le=100,
                                      description="the largest settlement discount this client company allows")
    promise_window_days: int = Field(DEFAULT_PROMISE_WINDOW_DAYS, ge=1, le=MAX_PROMISE_WINDOW_DAYS,
                                     description="how many days after its today a promise to pay may fall due")
    max_upload_bytes: int | None = Field(None, gt=0, description="this client company's own cap on a portfolio "
                                         "file; it may only lower the platform's (RECAUDO_INGEST_MAX_UPLOAD_BYTES)")
    instalments_min: int = Field(MIN_INSTALMENTS, ge=MIN_INSTALMENTS, le=MAX_INSTALMENTS,
                                 description="the fewest instalments a debtor may choose for a plan (default 2)")
    instalments_max: int = Field(MAX_INSTALMENTS, ge=MIN_INSTALMENTS, le=MAX_INSTALMENTS,
                                 description="the most instalments a debtor may choose for a plan (default 12)")
    min_instalment_amount: Decimal = Field(Decimal(0), ge=0, max_digits=16, decimal_places=2,
                                           description="the smallest instalment, in the client company's currency "
                                                       "(0, the default: none); fewer instalments are offered "
                                                       "where more would fall below it")


class ArrangementLimitsIn(BaseModel):
    """v1: what a client company lets an arrangement be (every field: the whole set is replaced)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "max_discount_pct": "30.00", "instalments_min": 2, "instalments_max": 6, "min_instalment_amount": "80000.00"}]})
    max_discount_pct: Decimal = Field(ge=0, le=100, max_digits=5, decimal_places=2,
                                      description="the largest settlement discount")
    instalments_min: int = Field(ge=MIN_INSTALMENTS, le=MAX_INSTALMENTS,
                                 description="the fewest instalments a debtor may choose for a plan")
    instalments_max: int = Field(ge=MIN_INSTALMENTS, le=MAX_INSTALMENTS,
                                 description="the most instalments a debtor may choose for a plan")
    min_instalment_amount: Decimal = Field(ge=0, max_digits=16, decimal_places=2,
                                           description="the smallest instalment in the client's currency (0: none)")


Cost = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]


class CostTableIn(BaseModel):
    """v1: the client company's own cost of one contact on each channel, in its currency (every channel: the whole
    table is replaced). Reports price the contacts made with it (docs/kpis.md, cost_ratio)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "sms": "45.00", "whatsapp": "120.00", "email": "8.50", "voice": "350.00", "agent": "2800.00"}]})
    sms: Cost = Field(description="one SMS sent, whatever its parts")
    whatsapp: Cost = Field(description="one WhatsApp message sent")
    email: Cost = Field(description="one e-mail sent")
    voice: Cost = Field(description="one call placed")
    agent: Cost = Field(description="one contact made by an agent")


class WriteOffRulesIn(BaseModel):
    """v1: when what the strategy does not pursue is written off (reason uneconomic, by payments): an account at
    treatment do_not_pursue for `after_days` days and at least `min_days_past_due` days past due. DELETE removes
    them (no automatic write-off)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"after_days": 90,
                                                                               "min_days_past_due": 360}]})
    after_days: int = Field(ge=1, le=3650, description="days at do_not_pursue before the write-off")
    min_days_past_due: int = Field(0, ge=0, le=36500, description="the fewest days past due to write off")


class UploadCapIn(BaseModel):
    """v1: a client company's own cap on a portfolio file (null: the platform's)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"max_upload_bytes": 20971520}]})
    max_upload_bytes: int | None = Field(gt=0)


CLIENT_EXAMPLE: JsonDict = {
    "slug": "banco-andino", "name": "Banco Andino S.A.", "country": "CO", "currency": "COP",
    "timezone": "America/Bogota", "locale": "es-CO", "default_authorised_channels": ["sms", "whatsapp", "email"],
    "max_discount_pct": "35.00", "promise_window_days": 15, "max_upload_bytes": 20971520,
    "created_at": "2026-11-02T14:05:31-05:00", "instalments_min": 2, "instalments_max": 12,
    "min_instalment_amount": "50000.00", "write_off_rules": {"after_days": 90, "min_days_past_due": 360},
    "cost_table": {"sms": "45.00", "whatsapp": "120.00", "email": "8.50", "voice": "350.00", "agent": "2800.00"}}


class ClientOut(BaseModel):
    """v1"""

    model_config = ConfigDict(json_schema_extra={"examples": [CLIENT_EXAMPLE]})
    slug: str
    name: str
    country: str
    currency: str
    timezone: str
    locale: str
    default_authorised_channels: list[str]
    max_discount_pct: Decimal
    promise_window_days: int = DEFAULT_PROMISE_WINDOW_DAYS
    max_upload_bytes: int | None = None
    created_at: dt.datetime
    instalments_min: int = MIN_INSTALMENTS
    instalments_max: int = MAX_INSTALMENTS
    min_instalment_amount: Decimal = Decimal(0)
    write_off_rules: dict[str, int] | None = Field(None, description="when what the strategy does not pursue is "
                                                                     "written off (null: never automatically)")
    cost_table: dict[str, Decimal] | None = Field(None, description="the cost of one contact per channel (null: "
                                                                    "none set, providers' costs)")


class ClientPatch(BaseModel):
    """v1: the settings of a client company to change (only those given; null or absent: unchanged). `slug`,
    `country` and `currency` cannot change (its accounts were placed in them): giving another value is a 422."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Banco Andino S.A. BIC", "default_authorised_channels": ["sms", "whatsapp"],
        "promise_window_days": 10}]})
    name: str | None = Field(None, min_length=1, max_length=200)
    timezone: str | None = Field(None, examples=["America/Bogota"])
    locale: str | None = Field(None, examples=["es-CO"])
    default_authorised_channels: list[Channel] | None = Field(None, min_length=1)
    promise_window_days: int | None = Field(None, ge=1, le=MAX_PROMISE_WINDOW_DAYS)
    slug: str | None = None
    country: str | None = None
    currency: str | None = None


class ClientList(Page[ClientOut]):
    """v1: a page of the client companies, by slug; `next` links the following page."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [CLIENT_EXAMPLE], "next": "/v1/clients?cursor=WyJiYW5jby1hbmRpbm8iXQ&limit=50"}]})


class MappingProfileIn(BaseModel):
    """v1: canonical field -> column header of the client company's files."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"mapping": {
        "account_ref": "Nro Obligacion", "debtor_id": "Cedula", "full_name": "Nombre Cliente",
        "phones": "Celular", "balance": "Saldo Total", "days_past_due": "Dias Mora"}}]})
    mapping: dict[str, str] = Field(min_length=1)


MAPPING_PROFILE_EXAMPLE: JsonDict = {
    "name": "cartera-mensual", "mapping": {"account_ref": "Nro Obligacion", "debtor_id": "Cedula",
                                           "full_name": "Nombre Cliente", "balance": "Saldo Total"},
    "updated_at": "2026-12-01T09:12:44-05:00"}


class MappingProfileOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [MAPPING_PROFILE_EXAMPLE]})
    name: str
    mapping: dict[str, str]
    updated_at: dt.datetime


class MappingProfileList(Page[MappingProfileOut]):
    """v1: a page of the client company's mapping profiles, by name; `next` links the following page."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [MAPPING_PROFILE_EXAMPLE],
        "next": "/v1/clients/banco-andino/mappings?cursor=WyJjYXJ0ZXJhLW1lbnN1YWwiXQ&limit=50"}]})


class ClientCreatedOut(ClientOut):
    """v1: the client company as registered, and the services that did not yet hold it when the answer was given."""

    model_config = ConfigDict(json_schema_extra={"examples": [{**CLIENT_EXAMPLE, "services_pending": []}]})
    services_pending: list[str] = Field(
        [], description="services that did not hold the new client company within the wait "
                        "(RECAUDO_INGEST_CLIENT_READY_WAIT_S): empty when it is usable everywhere; otherwise those "
                        "answer 404 for it until they catch up")


# Mounted under ingest.api.router (prefix /v1, tag ingest).
router = APIRouter(route_class=AuthorisedFirstRoute)


@router.post("/clients", status_code=201, response_model=ClientCreatedOut)
async def create_client(body: ClientIn, _operator: Operator, platform: PlatformDep,
                        runtime: Runtime, response: Response) -> ClientCreatedOut:
    """An operator registers a client company (creditor) with its country, currency, time zone and terms; every
    service learns of it by client.registered. The answer waits (at most RECAUDO_INGEST_CLIENT_READY_WAIT_S) until
    every service holds it, so its strategy, contact rules and reports answer at once; `services_pending` names
    any that did not in time. Refused 409 client_exists for a slug taken, 422 invalid_client or
    upload_cap_too_high for settings it cannot take, 403 for a caller who is not an operator."""
    expected = await readiness.expected_services(platform.db, runtime.client_ready_services)
    created = await handlers.register_client(platform.db, ClientTerms(**body.model_dump()),
                                             platform_cap=runtime.max_upload_bytes, now=platform.clock())
    pending = await readiness.services_pending(platform.db, created.slug, expected,
                                               wait_s=runtime.client_ready_wait_s)
    response.headers["Location"] = f"/v1/clients/{created.slug}"
    return ClientCreatedOut.model_validate({**ClientOut.model_validate(created, from_attributes=True).model_dump(),
                                            "services_pending": pending})


@router.get("/clients", response_model=ClientList)
async def list_clients(principal: OperatorOrClient, platform: PlatformDep, paging: Paging,
                       response: Response) -> ClientList:
    """The client companies the caller may see, by slug: every one for an operator, its own for a client
    company's key or user; follow `next`."""
    scope: tuple[str, ...] | None = principal.client_scope
    if principal.role == "client":
        scope = (principal.client_slug or "",)
    key = paging.key(1)
    after = None if key is None else cursor_str(key[0])
    clients = await handlers.client_companies(platform.db, scope, after=after, limit=paging.limit + 1)
    page = paging.page([ClientOut.model_validate(c, from_attributes=True) for c in clients], lambda c: (c.slug,),
                       response)
    return ClientList(items=page.items, next=page.next)


def _settings_out(client: ClientCompany, response: Response) -> ClientOut:
    """The client company as answered, its settings' ETag in the header (to send back as If-Match)."""
    response.headers["ETag"] = handlers.settings_etag(client)
    return ClientOut.model_validate(client, from_attributes=True)


STALE: dict[int | str, dict[str, str]] = {
    412: {"description": "precondition_failed: If-Match names settings that have changed since"}}


@router.get("/clients/{slug}", response_model=ClientOut)
async def get_client(client: ClientOfCaller, response: Response) -> ClientOut:
    """The client company's settings, with the ETag every change may send back as `If-Match`."""
    return _settings_out(client, response)


@router.patch("/clients/{slug}", response_model=ClientOut, responses=STALE)
async def patch_client(body: ClientPatch, client: ClientOfOperator, platform: PlatformDep, if_match: IfMatchHeader,
                       response: Response) -> ClientOut:
    """An operator edits what was set at creation (name, time zone, locale, default channels, promise window);
    client.updated carries it to every service. Arrangement limits, cost table, write-off rules and upload cap
    have their own routes below."""
    fixed = {f: v for f, v in (("slug", body.slug), ("country", body.country), ("currency", body.currency))
             if v is not None and v != getattr(client, f)}
    if fixed:
        raise ProblemError(422, "immutable_setting", "Setting cannot change",
                           f"{', '.join(sorted(fixed))} cannot change once accounts are placed under them")
    changes = ClientChanges(name=body.name, timezone=body.timezone, locale=body.locale,
                                     default_authorised_channels=None if body.default_authorised_channels is None
                                     else list(body.default_authorised_channels),
                                     promise_window_days=body.promise_window_days)
    changed = await handlers.update_client(platform.db, client, changes, now=platform.clock(), if_match=if_match)
    return _settings_out(changed, response)


@router.put("/clients/{slug}/upload-cap", response_model=ClientOut, responses=STALE)
async def put_upload_cap(body: UploadCapIn, client: ClientOfOperator, platform: PlatformDep,
                         runtime: Runtime, if_match: IfMatchHeader, response: Response) -> ClientOut:
    """An operator lowers (or restores) the largest portfolio file this client company may send."""
    changed = await handlers.set_upload_cap(platform.db, client, body.max_upload_bytes,
                                            platform_cap=runtime.max_upload_bytes, now=platform.clock(),
                                            if_match=if_match)
    return _settings_out(changed, response)


@router.put("/clients/{slug}/arrangement-limits", response_model=ClientOut, responses=STALE)
async def put_arrangement_limits(body: ArrangementLimitsIn, client: ClientOfOperator,
                                 platform: PlatformDep, if_match: IfMatchHeader, response: Response) -> ClientOut:
    """An operator changes the client company's largest discount and instalment limits (client.updated); the
    debtor page offers, and payments accepts, arrangements within them from then on."""
    changed = await handlers.set_arrangement_limits(platform.db, client, ArrangementLimits(**body.model_dump()),
                                                    now=platform.clock(), if_match=if_match)
    return _settings_out(changed, response)


@router.put("/clients/{slug}/cost-table", response_model=ClientOut, responses=STALE)
async def put_cost_table(body: CostTableIn, client: ClientOfOperator, platform: PlatformDep,
                         if_match: IfMatchHeader, response: Response) -> ClientOut:
    """An operator sets the client company's own cost of a contact on each channel (client.updated); reporting
    prices the contacts made with it, and its cost ratio follows."""
    changed = await handlers.set_cost_table(platform.db, client, body.model_dump(), now=platform.clock(),
                                            if_match=if_match)
    return _settings_out(changed, response)


@router.put("/clients/{slug}/write-off-rules", response_model=ClientOut, responses=STALE)
async def put_write_off_rules(body: WriteOffRulesIn, client: ClientOfOperator, platform: PlatformDep,
                              if_match: IfMatchHeader, response: Response) -> ClientOut:
    """An operator sets when what the strategy does not pursue is written off (client.updated carries it)."""
    changed = await handlers.set_write_off_rules(platform.db, client, body.model_dump(), now=platform.clock(),
                                                 if_match=if_match)
    return _settings_out(changed, response)


@router.delete("/clients/{slug}/write-off-rules", response_model=ClientOut, responses=STALE)
async def delete_write_off_rules(client: ClientOfOperator, platform: PlatformDep, if_match: IfMatchHeader,
                                 response: Response) -> ClientOut:
    """No automatic write-off from now on (an operator's write-off still is possible)."""
    changed = await handlers.set_write_off_rules(platform.db, client, None, now=platform.clock(), if_match=if_match)
    return _settings_out(changed, response)


@router.get("/clients/{slug}/mappings", response_model=MappingProfileList)
async def list_mapping_profiles(client: ClientOfCaller, platform: PlatformDep, paging: Paging,
                                response: Response) -> MappingProfileList:
    """The client company's saved mapping profiles, by name, each as `GET .../mappings/{name}` answers it;
    follow `next`."""
    key = paging.key(1)
    after = None if key is None else cursor_str(key[0])
    found = await handlers.mapping_profiles(platform.db, client, after=after, limit=paging.limit + 1)
    page = paging.page([MappingProfileOut.model_validate(m, from_attributes=True) for m in found],
                       lambda m: (m.name,), response)
    return MappingProfileList(items=page.items, next=page.next)


@router.put("/clients/{slug}/mappings/{name}", response_model=MappingProfileOut)
async def put_mapping_profile(slug: str, name: str, body: MappingProfileIn, client: ClientOfCaller,
                              platform: PlatformDep) -> MappingProfileOut:
    """Saves (or replaces) a named mapping of the client company's column headers to the platform's fields, for
    its uploads to name with `mapping_profile`. Refused 422 invalid_mapping when it names a field the platform
    does not know."""
    saved = await handlers.save_mapping_profile(platform.db, client, name, body.mapping, now=platform.clock())
    return MappingProfileOut.model_validate(saved, from_attributes=True)


@router.get("/clients/{slug}/mappings/{name}", response_model=MappingProfileOut)
async def get_mapping_profile(slug: str, name: str, client: ClientOfCaller, platform: PlatformDep
                              ) -> MappingProfileOut:
    """A saved mapping profile of the client company; 404 when it has none by that name."""
    return MappingProfileOut.model_validate(await handlers.mapping_profile(platform.db, client, name),
                                            from_attributes=True)
