"""Portfolio uploads' routes: a file sent (streamed, capped, the door's checks), its record, its rejections and
warnings (JSON pages or a CSV download)."""

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.config import JsonDict

from ingest.clients import store as client_store
from ingest.issues_export import issues_csv
from ingest.records import ClientCompany, Portfolio, UploadParams
from ingest.uploads import handlers
from ingest.uploads_runtime import ClientOfCaller, IngestRuntime, Runtime, upload_limited
from recaudo_common.db import Database
from recaudo_common.dependencies import CurrentPrincipal, PlatformDep
from recaudo_common.errors import ProblemError, not_found
from recaudo_common.exports import csv_style
from recaudo_common.multipart import StreamedForm, form_request_body
from recaudo_common.pagination import Page, PageRequest, Paging, invalid_cursor, page_request
from recaudo_common.routing import AuthorisedFirstRoute
from recaudo_common.runtime import Platform


class UploadForm(BaseModel):
    """v1: the fields sent beside a portfolio's `file` (multipart/form-data), before or after it."""

    model_config = ConfigDict(extra="forbid")
    mapping: str | None = Field(None, max_length=20_000, description="JSON object: canonical field -> column")
    mapping_profile: str | None = Field(None, max_length=200, description="a saved mapping profile's name")
    locale: str | None = Field(None, max_length=20,
                               description="how the file writes amounts (es-CO, es-MX, ...); the client "
                                           "company's by default")
    as_of: dt.date | None = Field(None, description="the day the file's balances and days past due are stated "
                                                    "at; today in the client company's time zone by default")
    encoding: str | None = Field(None, max_length=40, description="a CSV's text encoding; detected by default")
    delimiter: str | None = Field(None, max_length=4, description="a CSV's delimiter (, ; | or tab); detected "
                                                                  "by default")
    sheet: str | None = Field(None, max_length=200, description="XLSX sheet name; the first sheet by default")


# The form is read as a stream (recaudo_common.multipart), so FastAPI cannot describe it from parameters.
UPLOAD_BODY = form_request_body(UploadForm, {"portfolio": {
    "summary": "a monthly portfolio by a saved profile", "value": {
        "file": "cartera-banco-andino-diciembre.xlsx", "mapping_profile": "cartera-mensual", "locale": "es-CO",
        "as_of": "2026-12-01", "sheet": "Cartera"}}})


PORTFOLIO_EXAMPLE: JsonDict = {
    "id": "3f6b2c1e-8d4a-4f0b-9c2e-5a7d1e9b4c36", "client": "banco-andino", "status": "completed",
    "filename": "cartera-banco-andino-diciembre.xlsx", "size_bytes": 1843200, "as_of": "2026-12-01",
    "progress": 1.0, "rows_total": 12480, "rows_accepted": 12391, "rows_rejected": 61, "rows_with_warnings": 28,
    "counts_by_code": {"missing_debtor_id": 37, "invalid_balance": 24, "invalid_phone": 28},
    "created_at": "2026-12-01T08:15:02-05:00", "finished_at": "2026-12-01T08:16:47-05:00"}


class UploadPauseOut(BaseModel):
    """v1: a large upload waiting between batches (the bulk lane, #24): the services reading the events of its
    accounts already written (`account`), or the contact events those accounts caused (`contact`), are far enough
    behind that other client companies' work would queue behind its next batch. It goes on by itself once they catch
    up; nothing needs doing unless the wait lasts (docs/runbooks)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"waiting_for": "account",
                                                               "since": "2026-12-01T08:16:02-05:00"}]})
    waiting_for: str = Field(description="the topic family whose readers it waits for: account or contact")
    since: dt.datetime

    @classmethod
    def of(cls, family: str | None, since: dt.datetime | None) -> "UploadPauseOut | None":
        return None if family is None or since is None else cls(waiting_for=family, since=since)


class PortfolioOut(BaseModel):
    """v1: an upload and what became of its rows."""

    model_config = ConfigDict(json_schema_extra={"examples": [PORTFOLIO_EXAMPLE]})
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
    paused: UploadPauseOut | None = Field(None, description="while a large upload waits between batches: why")

    @classmethod
    def of(cls, p: Portfolio) -> "PortfolioOut":
        return cls(
            id=p.id, client=p.client_slug, status=p.status, filename=p.filename, size_bytes=p.size_bytes,
            as_of=p.as_of, progress=p.progress, rows_total=p.rows_total, rows_accepted=p.rows_accepted,
            rows_rejected=p.rows_rejected, rows_with_warnings=p.rows_with_warnings, counts_by_code=p.counts_by_code,
            error_code=p.error_code, error_detail=p.error_detail, created_at=p.created_at,
            finished_at=p.finished_at, paused=UploadPauseOut.of(p.paused_for, p.paused_since))


class RowIssueOut(BaseModel):
    id: int
    row: int
    field: str
    code: str
    message: str
    raw: dict[str, str] = Field(description="the row's cells as the file had them; empty once erased")
    raw_erased: Literal["request", "retention"] | None = Field(None, description=(
        "why the raw cells are gone: the person they named asked for erasure, or their retention ended"))


class PortfolioList(Page[PortfolioOut]):
    """v1: a page of a client company's uploads, newest first; `next` links the following page."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [PORTFOLIO_EXAMPLE],
        "next": "/v1/clients/banco-andino/portfolios?cursor=WyIyMDI2LTEyLTAxVDEzOjE1OjAyKzAwOjAwIiwiM2Y2YjJjMWUtOGQ0YS0"
                "0ZjBiLTljMmUtNWE3ZDFlOWI0YzM2Il0&limit=50"}]})


class RowIssueList(Page[RowIssueOut]):
    """v1: a page of an upload's rejections or warnings, in row order; `next` links the following page."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"items": [{"id": 918, "row": 1207, "field": "balance", "code": "invalid_balance",
                    "message": "the balance is not a number in es-CO",
                    "raw": {"Nro Obligacion": "CR-2024-004518", "Nombre Cliente": "Ana María Pérez",
                            "Saldo Total": "1.2OO.000", "Dias Mora": "45"}}],
         "next": "/v1/portfolios/3f6b2c1e-8d4a-4f0b-9c2e-5a7d1e9b4c36/rejections?cursor=WzkxOF0&limit=100"},
        {"items": [{"id": 921, "row": 1312, "field": "phones", "code": "invalid_phone",
                    "message": "a phone is not valid for the country; dropped", "raw": {},
                    "raw_erased": "retention"}],
         "next": None}]})


IssuePaging = Annotated[PageRequest, page_request(default=100, maximum=1000)]


# Mounted under ingest.api.router (prefix /v1, tag ingest).
router = APIRouter(route_class=AuthorisedFirstRoute)


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


async def _receive_upload(client: ClientCompany, request: Request, platform: Platform,
                          runtime: IngestRuntime) -> JSONResponse:
    db = platform.db
    form = StreamedForm(request.stream(), request.headers.get("content-type", ""), file_field="file")
    try:
        portfolio, created = await handlers.submit_portfolio(
            db, client=client, chunks=form.file_chunks(), filename=lambda: form.filename,
            read_params=lambda: _upload_params(db, client, form.fields),
            max_bytes=handlers.upload_cap(client, runtime.max_upload_bytes), now=platform.clock(),
            limits=runtime.file_limits)
    except handlers.UploadTooLargeError as exc:
        raise ProblemError(413, "file_too_large", "File too large", str(exc),
                           instance=f"/v1/portfolios/{exc.portfolio_id}") from exc
    return JSONResponse(PortfolioOut.of(portfolio).model_dump(mode="json"), status_code=202 if created else 200)


async def _upload_params(db: Database, client: ClientCompany, fields: dict[str, str]) -> UploadParams:
    """The upload's parameters from its form fields: the form's shape here (422 validation_error), each value's
    sense in the handler."""
    try:
        # An empty field is an absent one, as browsers send every input of a form.
        form = UploadForm.model_validate({k: v for k, v in fields.items() if v != ""})
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc
    return await handlers.upload_params(db, client, mapping=form.mapping, mapping_profile=form.mapping_profile,
                                        locale=form.locale, as_of=form.as_of, encoding=form.encoding,
                                        delimiter=form.delimiter, sheet=form.sheet)


async def visible_portfolio(portfolio_id: uuid.UUID, principal: CurrentPrincipal,
                            platform: PlatformDep) -> Portfolio:
    """The path's portfolio, if the caller may see its client company's; else 404, as if it did not exist. Only
    an operator or the client company itself: its rejected rows carry debtors' data, which an agent (who works the
    agent desk) and an SRE have no business reading (403)."""
    principal.require_role("operator", "client")
    portfolio = await handlers.portfolio(platform.db, portfolio_id)
    if not principal.can_see_client(portfolio.client_slug):
        raise not_found("portfolio")
    return portfolio


VisiblePortfolio = Annotated[Portfolio, Depends(visible_portfolio)]


@router.get("/clients/{slug}/portfolios", response_model=PortfolioList)
async def client_portfolios(client: ClientOfCaller, platform: PlatformDep, paging: Paging,
                            response: Response) -> PortfolioList:
    """A client company's uploads, newest first, each as `GET /v1/portfolios/{id}` answers it; follow `next`."""
    key = paging.key(2)
    try:
        before = None if key is None else (dt.datetime.fromisoformat(str(key[0])), uuid.UUID(str(key[1])))
    except ValueError:
        raise invalid_cursor() from None
    if before is not None and before[0].tzinfo is None:
        raise invalid_cursor()
    found = await handlers.client_portfolios(platform.db, client.slug, before=before, limit=paging.limit + 1)
    page = paging.page([PortfolioOut.of(p) for p in found], lambda p: (p.created_at.isoformat(), str(p.id)),
                       response)
    return PortfolioList(items=page.items, next=page.next)


@router.get("/portfolios/{portfolio_id}", response_model=PortfolioOut)
async def get_portfolio(portfolio: VisiblePortfolio) -> PortfolioOut:
    """An upload's record: its status and progress while it runs, then its total, accepted, rejected and warning
    counts and the count of each code; 404 when the caller may not see its client company's uploads."""
    return PortfolioOut.of(portfolio)


async def _issues(kind: str, portfolio: Portfolio, db: Database, fmt: str, paging: PageRequest) -> Response:
    portfolio_id = portfolio.id
    if fmt == "csv":
        locale = portfolio.params.locale
        if locale is None:
            async with db.transaction() as s:
                client = await client_store.get_client(s, portfolio.client_slug)
            locale = client.locale if client else None
        return StreamingResponse(
            issues_csv(db, portfolio_id, kind, csv_style(locale), spanish=(locale or "").startswith("es")),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{kind}s-{portfolio_id}.csv"'})
    key = paging.key(1)
    after = 0 if key is None else key[0]
    if not isinstance(after, int) or after < 0:
        raise invalid_cursor()
    rows = await handlers.issues_page(db, portfolio_id, kind, after=after, limit=paging.limit + 1)
    page = paging.page([RowIssueOut.model_validate(r, from_attributes=True) for r in rows], lambda r: (r.id,))
    return JSONResponse(RowIssueList(items=page.items, next=page.next).model_dump(mode="json"),
                        headers=page.link_headers())


@router.get("/portfolios/{portfolio_id}/rejections", response_model=RowIssueList)
async def rejections(portfolio: VisiblePortfolio, platform: PlatformDep, paging: IssuePaging,
                     format: Literal["json", "csv"] = "json") -> Response:
    """The upload's rejected rows in row order (each with its code, message and raw cells), paged by `next`;
    `format=csv` gives them all as a spreadsheet in the upload's locale."""
    return await _issues("rejection", portfolio, platform.db, format, paging)


@router.get("/portfolios/{portfolio_id}/warnings", response_model=RowIssueList)
async def warnings(portfolio: VisiblePortfolio, platform: PlatformDep, paging: IssuePaging,
                   format: Literal["json", "csv"] = "json") -> Response:
    """The upload's rows accepted with a warning, in row order, paged by `next`; `format=csv` gives them all."""
    return await _issues("warning", portfolio, platform.db, format, paging)
