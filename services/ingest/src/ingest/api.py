"""Ingest's HTTP API: client companies and portfolio uploads (thin: validates, calls handlers)."""


import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ingest import handlers, store
from ingest.domain.clients import client_errors
from ingest.domain.portfolio import RECOGNISED
from ingest.issues_export import issues_csv
from ingest.uploads_runtime import ClientOfCaller, ClientOfOperator, IngestRuntime, Runtime, upload_limited
from recaudo_common.db import Database
from recaudo_common.dependencies import CurrentPrincipal, PlatformDep
from recaudo_common.errors import ProblemError, not_found
from recaudo_common.events import CHANNELS, Channel
from recaudo_common.files import FileFormatError, text_encoding
from recaudo_common.money import MARKS
from recaudo_common.multipart import StreamedForm
from recaudo_common.promises import DEFAULT_PROMISE_WINDOW_DAYS, MAX_PROMISE_WINDOW_DAYS
from recaudo_common.runtime import Platform


class ClientIn(BaseModel):
    """v1: a client company (creditor) as an operator creates it."""

    model_config = ConfigDict(extra="forbid")
    slug: str = Field(examples=["banco-andino"])
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(examples=["CO"])
    currency: str = Field(examples=["COP"])
    timezone: str = Field(examples=["America/Bogota"])
    locale: str = Field("es-CO")
    default_authorised_channels: list[Channel] = Field(default_factory=lambda: list(CHANNELS))
    max_discount_pct: Decimal = Field(Decimal("40"), ge=0, le=100,
                                      description="the largest settlement discount this client company allows")
    promise_window_days: int = Field(DEFAULT_PROMISE_WINDOW_DAYS, ge=1, le=MAX_PROMISE_WINDOW_DAYS,
                                     description="how many days after its today a promise to pay may fall due")
    max_upload_bytes: int | None = Field(None, gt=0, description="this client company's own cap on a portfolio "
                                         "file; it may only lower the platform's (RECAUDO_INGEST_MAX_UPLOAD_BYTES)")


class UploadCapIn(BaseModel):
    """v1: a client company's own cap on a portfolio file (null: the platform's)."""

    model_config = ConfigDict(extra="forbid")
    max_upload_bytes: int | None = Field(gt=0)


class UploadForm(BaseModel):
    """v1: the fields sent beside a portfolio's `file` (multipart/form-data), before or after it."""

    model_config = ConfigDict(extra="forbid")
    mapping: str | None = Field(None, max_length=20_000, description="JSON object: canonical field -> column")
    mapping_profile: str | None = Field(None, max_length=200, description="a saved mapping profile's name")
    locale: str | None = Field(None, max_length=20)
    as_of: dt.date | None = None
    encoding: str | None = Field(None, max_length=40)
    delimiter: str | None = Field(None, max_length=4)
    sheet: str | None = Field(None, max_length=200, description="XLSX sheet name; the first sheet by default")


# The form is read as a stream (recaudo_common.multipart), so FastAPI cannot describe it from parameters.
UPLOAD_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"},
                   **{name: {"type": "string", **({"format": "date"} if name == "as_of" else {})}
                      for name in UploadForm.model_fields}}}}}}}


class ClientOut(BaseModel):
    """v1"""

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


class ClientList(BaseModel):
    items: list[ClientOut]


class PortfolioOut(BaseModel):
    """v1: an upload and what became of its rows."""

    id: uuid.UUID
    client: str
    status: Literal["queued", "processing", "completed", "failed"]
    filename: str | None
    size_bytes: int
    as_of: dt.date
    progress: float
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    rows_with_warnings: int
    counts_by_code: dict[str, int]
    error_code: str | None = None
    error_detail: dict[str, Any] | None = None
    created_at: dt.datetime
    finished_at: dt.datetime | None = None


class MappingProfileIn(BaseModel):
    """v1: canonical field -> column header of the client company's files."""

    model_config = ConfigDict(extra="forbid")
    mapping: dict[str, str] = Field(min_length=1)


class MappingProfileOut(BaseModel):
    name: str
    mapping: dict[str, str]
    updated_at: dt.datetime


class RecallIn(BaseModel):
    """v1"""

    model_config = ConfigDict(extra="forbid")
    account_refs: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(min_length=1, max_length=100_000)
    reason: str | None = Field(None, max_length=500)


class RecallOut(BaseModel):
    """v1"""

    id: uuid.UUID
    accounts_recalled: int
    already_recalled: int
    unknown_account_refs: list[str]
    requested_at: dt.datetime


class PlacementOut(BaseModel):
    """v1: an account as placed and last stated by the client company."""

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


class RowIssueOut(BaseModel):
    id: int
    row: int
    field: str
    code: str
    message: str
    raw: dict[str, str]


class RowIssueList(BaseModel):
    items: list[RowIssueOut]
    next: int | None = None


def _portfolio_out(p: dict[str, Any]) -> PortfolioOut:
    return PortfolioOut(
        id=p["id"], client=p["client_slug"], status=p["status"], filename=p["filename"],
        size_bytes=p["size_bytes"], as_of=p["as_of"], progress=float(p["progress"]), rows_total=p["rows_total"],
        rows_accepted=p["rows_accepted"], rows_rejected=p["rows_rejected"],
        rows_with_warnings=p["rows_with_warnings"], counts_by_code=p["counts_by_code"],
        error_code=p["error_code"], error_detail=p["error_detail"], created_at=p["created_at"],
        finished_at=p["finished_at"])


# A route with a second path parameter names `{slug}` first too (the client dependency checks it), so the OpenAPI
# lists the path's parameters in the path's order.
router = APIRouter(prefix="/v1", tags=["ingest"])


@router.post("/clients", status_code=201, response_model=ClientOut)
async def create_client(body: ClientIn, principal: CurrentPrincipal, platform: PlatformDep,
                        runtime: Runtime) -> ClientOut:
    principal.require_role("operator")
    errors = client_errors(slug=body.slug, country=body.country, currency=body.currency,
                           timezone=body.timezone, locale=body.locale,
                           channels=list(body.default_authorised_channels))
    if errors:
        raise handlers.problem_from_client_errors(errors)
    if body.max_upload_bytes is not None and body.max_upload_bytes > runtime.max_upload_bytes:
        raise _cap_too_high(runtime.max_upload_bytes)
    created = await handlers.register_client(platform.db, body.model_dump(), now=platform.clock())
    return ClientOut(**created)


@router.get("/clients", response_model=ClientList)
async def list_clients(principal: CurrentPrincipal, platform: PlatformDep) -> ClientList:
    principal.require_role("operator", "client")
    scope: tuple[str, ...] | None = principal.client_scope
    if principal.role == "client":
        scope = (principal.client_slug or "",)
    async with platform.db.transaction() as s:
        rows = await store.list_clients(s, scope)
    return ClientList(items=[ClientOut(**r) for r in rows])


@router.get("/clients/{slug}", response_model=ClientOut)
async def get_client(client: ClientOfCaller) -> ClientOut:
    return ClientOut(**client)


@router.put("/clients/{slug}/upload-cap", response_model=ClientOut)
async def put_upload_cap(body: UploadCapIn, client: ClientOfOperator, platform: PlatformDep,
                         runtime: Runtime) -> ClientOut:
    """An operator lowers (or restores) the largest portfolio file this client company may send."""
    if body.max_upload_bytes is not None and body.max_upload_bytes > runtime.max_upload_bytes:
        raise _cap_too_high(runtime.max_upload_bytes)
    async with platform.db.transaction() as s:
        await store.set_upload_cap(s, client["slug"], body.max_upload_bytes, platform.clock())
        changed = await store.get_client(s, client["slug"])
    assert changed is not None
    return ClientOut(**changed)


@router.post("/clients/{slug}/portfolios", status_code=202, response_model=PortfolioOut,
             openapi_extra=UPLOAD_BODY, dependencies=[Depends(upload_limited)],
             responses={429: {"description": "too many uploads for this key and client company"},
                        200: {"model": PortfolioOut, "description": "the same upload already exists"},
                        413: {"description": "the file is larger than the limit"},
                        415: {"description": "the body is not multipart/form-data"},
                        503: {"description": "this server is receiving as many uploads as it may"},
                        422: {"description": "the file cannot be a portfolio (format, encoding, header, "
                                             "mapping); `instance` is its record"}})
async def upload_portfolio(client: ClientOfCaller, request: Request, platform: PlatformDep,
                           runtime: Runtime) -> JSONResponse:
    """The file is read as it arrives and written to storage chunk by chunk; the other fields may come
    before or after it."""
    if runtime.receiving.locked():  # each upload in flight holds a copy on /tmp: their number bounds the disk
        raise ProblemError(503, "uploads_busy", "Uploads busy",
                           f"this server is receiving {runtime.max_concurrent_uploads} uploads; retry shortly",
                           headers={"Retry-After": "5"})
    async with runtime.receiving:
        return await _receive_upload(client, request, platform, runtime)


async def _receive_upload(client: dict[str, Any], request: Request, platform: Platform,
                          runtime: IngestRuntime) -> JSONResponse:
    slug, db, max_upload_bytes = client["slug"], platform.db, runtime.max_upload_bytes
    form = StreamedForm(request.stream(), request.headers.get("content-type", ""), file_field="file")
    cap = min(max_upload_bytes, client.get("max_upload_bytes") or max_upload_bytes)
    try:
        portfolio_id, created = await handlers.submit_portfolio(
            db, client=client, chunks=form.file_chunks(), filename=lambda: form.filename,
            read_params=lambda: _upload_params(db, slug, form.fields), max_bytes=cap, now=platform.clock(),
            limits=runtime.file_limits)
    except handlers.UploadTooLargeError as exc:
        raise ProblemError(413, "file_too_large", "File too large", str(exc),
                           instance=f"/v1/portfolios/{exc.portfolio_id}") from exc
    except handlers.UploadRefusedError as exc:
        raise ProblemError(422, exc.code, "The file cannot be read as a portfolio", exc.detail,
                           instance=f"/v1/portfolios/{exc.portfolio_id}") from exc
    async with db.transaction() as s:
        portfolio = await store.get_portfolio(s, portfolio_id)
    assert portfolio is not None
    return JSONResponse(_portfolio_out(portfolio).model_dump(mode="json"), status_code=202 if created else 200)


async def _upload_params(db: Database, slug: str, fields: dict[str, str]) -> dict[str, Any]:
    """The upload's parameters from its form fields, each checked; a bad one refuses the upload (422)."""
    try:
        # An empty field is an absent one, as browsers send every input of a form.
        form = UploadForm.model_validate({k: v for k, v in fields.items() if v != ""})
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc
    mapping, mapping_profile, locale, as_of = form.mapping, form.mapping_profile, form.locale, form.as_of
    encoding, delimiter, sheet = form.encoding, form.delimiter, form.sheet
    params: dict[str, Any] = {}
    if mapping:
        params["mapping"] = _parse_mapping(mapping)
    if mapping_profile:
        async with db.transaction() as s:
            if await store.get_mapping_profile(s, slug, mapping_profile) is None:
                raise ProblemError(422, "unknown_mapping_profile", "Unknown mapping profile",
                                   f"no mapping profile {mapping_profile!r} for this client company")
        params["mapping_profile"] = mapping_profile
    if locale:
        if locale not in MARKS:
            raise ProblemError(422, "invalid_locale", "Invalid locale", f"supported: {sorted(MARKS)}")
        params["locale"] = locale
    if as_of:
        params["as_of"] = as_of.isoformat()
    if encoding:
        try:
            text_encoding(encoding)
        except FileFormatError as exc:
            raise ProblemError(422, exc.code, "Invalid encoding", exc.detail) from exc
        params["encoding"] = encoding
    if delimiter:
        if delimiter not in (",", ";", "|", "\t"):
            raise ProblemError(422, "invalid_delimiter", "Invalid delimiter", "one of , ; | or tab")
        params["delimiter"] = delimiter
    if sheet:
        params["sheet"] = sheet
    return params


@router.put("/clients/{slug}/mappings/{name}", response_model=MappingProfileOut)
async def put_mapping_profile(slug: str, name: str, body: MappingProfileIn, client: ClientOfCaller,
                              platform: PlatformDep) -> MappingProfileOut:
    unknown = [f for f in body.mapping if f not in RECOGNISED]
    if unknown:
        raise ProblemError(422, "invalid_mapping", "Invalid mapping", f"unknown fields: {', '.join(unknown)}")
    async with platform.db.transaction() as s:
        await store.put_mapping_profile(s, client["slug"], name, body.mapping, platform.clock())
        saved = await store.get_mapping_profile(s, client["slug"], name)
    assert saved is not None
    return MappingProfileOut(**saved)


@router.get("/clients/{slug}/mappings/{name}", response_model=MappingProfileOut)
async def get_mapping_profile(slug: str, name: str, client: ClientOfCaller, platform: PlatformDep
                              ) -> MappingProfileOut:
    async with platform.db.transaction() as s:
        saved = await store.get_mapping_profile(s, client["slug"], name)
    if saved is None:
        raise not_found(f"mapping profile {name!r}")
    return MappingProfileOut(**saved)


@router.post("/clients/{slug}/recalls", response_model=RecallOut)
async def recall_accounts(body: RecallIn, client: ClientOfCaller, platform: PlatformDep) -> RecallOut:
    result = await handlers.recall(platform.db, client=client["slug"], account_refs=body.account_refs,
                                   reason=body.reason, now=platform.clock())
    return RecallOut(**result)


@router.post("/clients/{slug}/recalls/file", response_model=RecallOut)
async def recall_accounts_from_file(client: ClientOfCaller, platform: PlatformDep,
                                    file: Annotated[UploadFile, File()],
                                    reason: Annotated[str | None, Form()] = None) -> RecallOut:
    content = await file.read(64 * 1024 * 1024 + 1)
    if len(content) > 64 * 1024 * 1024:
        raise ProblemError(413, "file_too_large", "File too large", "a recall file is at most 64 MiB")
    try:
        refs = handlers.account_refs_from_file(content)
    except FileFormatError as exc:
        raise ProblemError(422, exc.code, "Unreadable recall file", exc.detail) from exc
    if not refs:
        raise ProblemError(422, "empty_file", "Empty recall file", "the file names no account")
    result = await handlers.recall(platform.db, client=client["slug"], account_refs=refs, reason=reason,
                                   now=platform.clock())
    return RecallOut(**result)


@router.get("/clients/{slug}/placements/{account_ref}", response_model=PlacementOut)
async def placement(slug: str, account_ref: str, client: ClientOfCaller, platform: PlatformDep) -> PlacementOut:
    """The account as the client company placed and last stated it (status: active or recalled)."""
    async with platform.db.transaction() as s:
        account = await store.get_account(s, client["slug"], account_ref)
    if account is None:
        raise not_found(f"account {account_ref!r}")
    return PlacementOut(**account)


async def visible_portfolio(portfolio_id: uuid.UUID, principal: CurrentPrincipal,
                            platform: PlatformDep) -> dict[str, Any]:
    """The path's portfolio, if the caller may see its client company's; else 404, as if it did not exist."""
    async with platform.db.transaction() as s:
        portfolio = await store.get_portfolio(s, portfolio_id)
    if portfolio is None or not principal.can_see_client(portfolio["client_slug"]):
        raise not_found("portfolio")
    return portfolio


VisiblePortfolio = Annotated[dict[str, Any], Depends(visible_portfolio)]


@router.get("/portfolios/{portfolio_id}", response_model=PortfolioOut)
async def get_portfolio(portfolio: VisiblePortfolio) -> PortfolioOut:
    return _portfolio_out(portfolio)


async def _issues(kind: str, portfolio_id: uuid.UUID, db: Database, fmt: str, after: int, limit: int) -> Response:
    if fmt == "csv":
        return StreamingResponse(
            issues_csv(db, portfolio_id, kind), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{kind}s-{portfolio_id}.csv"'})
    async with db.transaction() as s:
        rows = await store.list_issues(s, portfolio_id, kind, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    body = RowIssueList(items=[RowIssueOut(**r) for r in rows], next=rows[-1]["id"] if more else None)
    return JSONResponse(body.model_dump(mode="json"))


@router.get("/portfolios/{portfolio_id}/rejections", response_model=RowIssueList)
async def rejections(portfolio: VisiblePortfolio, platform: PlatformDep,
                     format: Literal["json", "csv"] = "json", after: int = 0,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
    return await _issues("rejection", portfolio["id"], platform.db, format, after, limit)


@router.get("/portfolios/{portfolio_id}/warnings", response_model=RowIssueList)
async def warnings(portfolio: VisiblePortfolio, platform: PlatformDep,
                   format: Literal["json", "csv"] = "json", after: int = 0,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
    return await _issues("warning", portfolio["id"], platform.db, format, after, limit)


def _cap_too_high(platform_cap: int) -> ProblemError:
    return ProblemError(422, "upload_cap_too_high", "Upload cap too high",
                        f"a client company's cap may only lower the platform's ({platform_cap} bytes)")


def _parse_mapping(mapping: str) -> dict[str, str]:
    try:
        parsed = json.loads(mapping)
    except json.JSONDecodeError as exc:
        raise ProblemError(422, "invalid_mapping", "Invalid mapping", "mapping is not JSON") from exc
    if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
        raise ProblemError(422, "invalid_mapping", "Invalid mapping", "mapping must be an object of field -> column")
    return parsed

