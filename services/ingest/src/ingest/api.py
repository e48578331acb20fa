"""Ingest's HTTP API: client companies and portfolio uploads (thin: validates, calls handlers)."""


import csv
import datetime as dt
import io
import json
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ingest import handlers, store
from ingest.domain.clients import client_errors
from ingest.domain.money import MARKS
from recaudo_common.auth import Principal
from recaudo_common.errors import ProblemError, not_found
from recaudo_common.events import CHANNELS, Channel
from recaudo_common.exports import neutralise
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


class ClientOut(BaseModel):
    """v1"""

    slug: str
    name: str
    country: str
    currency: str
    timezone: str
    locale: str
    default_authorised_channels: list[str]
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


def build_router(platform: Platform, *, max_upload_bytes: int) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["ingest"])
    db, auth, clock = platform.db, platform.auth, platform.clock
    Auth = Annotated[Principal, Depends(auth)]

    async def visible_client(principal: Principal, slug: str) -> dict[str, Any]:
        principal.require_client(slug)
        async with db.transaction() as s:
            client = await store.get_client(s, slug)
        if client is None:
            raise not_found(f"client company {slug!r}")
        return client

    @router.post("/clients", status_code=201, response_model=ClientOut)
    async def create_client(body: ClientIn, principal: Auth) -> ClientOut:
        principal.require_role("operator")
        errors = client_errors(slug=body.slug, country=body.country, currency=body.currency,
                               timezone=body.timezone, locale=body.locale,
                               channels=list(body.default_authorised_channels))
        if errors:
            raise handlers.problem_from_client_errors(errors)
        created = await handlers.register_client(db, body.model_dump(), now=clock())
        return ClientOut(**created)

    @router.get("/clients", response_model=ClientList)
    async def list_clients(principal: Auth) -> ClientList:
        principal.require_role("operator", "client")
        scope: tuple[str, ...] | None = principal.client_scope
        if principal.role == "client":
            scope = (principal.client_slug or "",)
        async with db.transaction() as s:
            rows = await store.list_clients(s, scope)
        return ClientList(items=[ClientOut(**r) for r in rows])

    @router.get("/clients/{slug}", response_model=ClientOut)
    async def get_client(slug: str, principal: Auth) -> ClientOut:
        return ClientOut(**await visible_client(principal, slug))

    @router.post("/clients/{slug}/portfolios", status_code=202, response_model=PortfolioOut,
                 responses={200: {"model": PortfolioOut, "description": "the same upload already exists"}})
    async def upload_portfolio(
        slug: str, principal: Auth, file: Annotated[UploadFile, File()],
        mapping: Annotated[str | None, Form(description="JSON object: canonical field -> column")] = None,
        locale: Annotated[str | None, Form()] = None,
        as_of: Annotated[dt.date | None, Form()] = None,
        encoding: Annotated[str | None, Form()] = None,
        delimiter: Annotated[str | None, Form()] = None,
    ) -> JSONResponse:
        client = await visible_client(principal, slug)
        content = await file.read(max_upload_bytes + 1)
        if len(content) > max_upload_bytes:
            raise ProblemError(413, "file_too_large", "File too large",
                               f"the limit is {max_upload_bytes} bytes")
        params: dict[str, Any] = {}
        if mapping:
            try:
                parsed = json.loads(mapping)
            except json.JSONDecodeError as exc:
                raise ProblemError(422, "invalid_mapping", "Invalid mapping", "mapping is not JSON") from exc
            if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
                raise ProblemError(422, "invalid_mapping", "Invalid mapping",
                                   "mapping must be an object of field -> column name")
            params["mapping"] = parsed
        if locale:
            if locale not in MARKS:
                raise ProblemError(422, "invalid_locale", "Invalid locale", f"supported: {sorted(MARKS)}")
            params["locale"] = locale
        if as_of:
            params["as_of"] = as_of.isoformat()
        if encoding:
            params["encoding"] = encoding
        if delimiter:
            if delimiter not in (",", ";", "|", "\t"):
                raise ProblemError(422, "invalid_delimiter", "Invalid delimiter", "one of , ; | or tab")
            params["delimiter"] = delimiter
        portfolio_id, created = await handlers.submit_portfolio(
            db, client=client, content=content, filename=file.filename, params=params, now=clock())
        async with db.transaction() as s:
            portfolio = await store.get_portfolio(s, portfolio_id)
        assert portfolio is not None
        return JSONResponse(_portfolio_out(portfolio).model_dump(mode="json"), status_code=202 if created else 200)

    async def visible_portfolio(principal: Principal, portfolio_id: uuid.UUID) -> dict[str, Any]:
        async with db.transaction() as s:
            portfolio = await store.get_portfolio(s, portfolio_id)
        if portfolio is None or not principal.can_see_client(portfolio["client_slug"]):
            raise not_found("portfolio")
        return portfolio

    @router.get("/portfolios/{portfolio_id}", response_model=PortfolioOut)
    async def get_portfolio(portfolio_id: uuid.UUID, principal: Auth) -> PortfolioOut:
        return _portfolio_out(await visible_portfolio(principal, portfolio_id))

    async def issues(kind: str, portfolio_id: uuid.UUID, principal: Principal, fmt: str, after: int,
                     limit: int) -> Response:
        await visible_portfolio(principal, portfolio_id)
        if fmt == "csv":
            async with db.transaction() as s:
                rows = await store.list_issues(s, portfolio_id, kind, after=0, limit=10_000_000)
            return Response(_issues_csv(rows), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{kind}s-{portfolio_id}.csv"'})
        async with db.transaction() as s:
            rows = await store.list_issues(s, portfolio_id, kind, after=after, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        body = RowIssueList(items=[RowIssueOut(**r) for r in rows], next=rows[-1]["id"] if more else None)
        return JSONResponse(body.model_dump(mode="json"))

    @router.get("/portfolios/{portfolio_id}/rejections", response_model=RowIssueList)
    async def rejections(portfolio_id: uuid.UUID, principal: Auth,
                         format: Literal["json", "csv"] = "json", after: int = 0,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
        return await issues("rejection", portfolio_id, principal, format, after, limit)

    @router.get("/portfolios/{portfolio_id}/warnings", response_model=RowIssueList)
    async def warnings(portfolio_id: uuid.UUID, principal: Auth,
                       format: Literal["json", "csv"] = "json", after: int = 0,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
        return await issues("warning", portfolio_id, principal, format, after, limit)

    return router


def _issues_csv(rows: list[dict[str, Any]]) -> str:
    raw_headers: list[str] = []
    for r in rows:
        for h in r["raw"]:
            if h not in raw_headers:
                raw_headers.append(h)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "field", "code", "message", *raw_headers])
    for r in rows:
        writer.writerow([r["row"], r["field"], r["code"], neutralise(r["message"]),
                         *[neutralise(r["raw"].get(h, "")) for h in raw_headers]])
    return "\ufeff" + out.getvalue()  # a BOM so Excel opens UTF-8 accents right
