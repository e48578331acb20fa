"""The strategy's versions over HTTP (#22): every version a client company's strategy has had, and the operator's
promote (the challenger becomes the champion) and restore (an old version, whole), each kept as a new version."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from recaudo_common.dependencies import CurrentPrincipal, PlatformDep
from recaudo_common.pagination import Page, PageRequest, cursor_int, invalid_cursor, page_request
from recaudo_common.routing import AuthorisedFirstRoute
from segmentation import strategy_versions
from segmentation.api import ClientOfCaller, ClientOfOperator, caller_of
from segmentation.schemas import StrategyIn, example_strategy
from segmentation.strategy_versions_store import KeptVersion

router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1", tags=["strategy"])
VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1, description="a kept version (1 is the first PUT)")]


def version_example() -> JsonDict:
    """Version 7, in force: version 4 (the example strategy, with its challenger) restored by an operator."""
    document = example_strategy()
    return document.model_dump(mode="json") | {
        "version": 7, "created_at": "2026-12-02T16:45:10-05:00", "created_by": "user carolina.diaz@agencia.co",
        "origin": "restore", "origin_version": 4, "current": True, "rules_count": len(document.rules),
        "challenger_rules_count": len(document.challenger.rules) if document.challenger else None}


class StrategyVersionOut(StrategyIn):
    """v1: one version of the strategy, whole (the champion's tiers and rules, the challenger with its share, or
    null), so that a console can show what changed between two; with who made it and how."""

    model_config = ConfigDict(json_schema_extra=lambda schema, model: _examples(schema, model, version_example()))
    version: int
    created_at: dt.datetime
    created_by: str | None = Field(description='the caller that made it: "user <e-mail>" for a person signed in on '
                                   'the console, "key <key id>" for an API key (never the key); null for versions '
                                   "made before it was recorded")
    origin: Literal["put", "buckets", "promote", "restore"] | None = Field(
        description="put: PUT .../strategy; buckets: with PUT .../buckets; promote: its challenger made champion; "
                    "restore: an old version made current again; null for versions made before it was recorded")
    origin_version: int | None = Field(description="the version a promote or a restore came from")
    current: bool = Field(description="the version in force")
    rules_count: int
    challenger_rules_count: int | None

    @classmethod
    def of(cls, kept: KeptVersion, *, current: int) -> StrategyVersionOut:
        d = kept.document
        return cls(**d.model_dump(), version=kept.version, created_at=kept.created_at, created_by=kept.created_by,
                   origin=kept.origin, origin_version=kept.origin_version, current=kept.version == current,
                   rules_count=len(d.rules), challenger_rules_count=len(d.challenger.rules) if d.challenger else None)


class PromoteIn(BaseModel):
    """v1, optional: the version whose challenger the operator judged (as the experiment showed it)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"version": 7}]})
    version: int | None = Field(None, ge=0, le=2**31 - 1, description="refused with 409 version_changed when another "
                                "version is in force by then")


class StrategyVersionsOut(Page[StrategyVersionOut]):
    """v1: a page of the versions, newest first; `next` links the older ones. Version 0, the platform's default
    laid over the buckets, is never kept: the list is empty until the first PUT."""

    model_config = ConfigDict(json_schema_extra=lambda schema, model: _examples(schema, model, {
        "items": [version_example()], "next": "/v1/clients/banco-andino/strategy/versions?cursor=Wzdd&limit=20"}))


def _examples(schema: JsonDict, model: type[Any], example: JsonDict) -> None:
    """Built when the schema is, not at import: the example strategy is the platform's default matrix."""
    if model in (StrategyVersionOut, StrategyVersionsOut):
        schema["examples"] = [example]


VersionPaging = Annotated[PageRequest, page_request(default=20, maximum=100)]


@router.get("/clients/{slug}/strategy/versions", response_model=StrategyVersionsOut)
async def list_versions(client: ClientOfCaller, platform: PlatformDep, paging: VersionPaging,
                        response: Response) -> StrategyVersionsOut:
    """Every version the client company's strategy has had, newest first, whole, with who made it and how (a PUT,
    new buckets, a promote, a restore); follow `next` to the older ones."""
    key = paging.key(1)
    before = None if key is None else cursor_int(key[0], minimum=1)
    if before is not None and before > 2**31 - 1:
        raise invalid_cursor()
    kept, current = await strategy_versions.list_versions(platform.db, client=client.slug, before=before,
                                                          limit=paging.limit + 1)
    page = paging.page([StrategyVersionOut.of(k, current=current) for k in kept], lambda v: (v.version,), response)
    return StrategyVersionsOut(items=page.items, next=page.next)


@router.get("/clients/{slug}/strategy/versions/{version}", response_model=StrategyVersionOut)
async def get_version(version: VersionNumber, client: ClientOfCaller, platform: PlatformDep) -> StrategyVersionOut:
    """One kept version of the strategy, whole, to compare with another or restore; 404 for a version the client
    company never had."""
    kept, current = await strategy_versions.get_version(platform.db, client=client.slug, number=version)
    return StrategyVersionOut.of(kept, current=current)


@router.post("/clients/{slug}/strategy/promote", response_model=StrategyVersionOut, status_code=201, openapi_extra={
    "requestBody": {"content": {"application/json": {"examples": {"judged_version": {
        "summary": "promote the challenger of version 7, the one the experiment read out",
        "value": {"version": 7}}}}}}}, responses={
    403: {"description": "not an operator"},
    409: {"description": "no_challenger: the strategy in force has none; version_changed: the body's version is "
                         "not in force; strategy_does_not_fit: the challenger no longer fits today's buckets or the "
                         "client company's limits"}})
async def promote(client: ClientOfOperator, principal: CurrentPrincipal, platform: PlatformDep,
                  response: Response, body: PromoteIn | None = None) -> StrategyVersionOut:
    """The challenger in force becomes the champion of a new version, with no challenger; 409 no_challenger when
    there is none. The accounts are re-segmented (all on the champion arm)."""
    kept = await strategy_versions.promote_challenger(platform.db, client=client, by=caller_of(principal),
                                                      now=platform.clock(),
                                                      expected_version=body.version if body else None)
    return created(kept, client.slug, response)


@router.post("/clients/{slug}/strategy/versions/{version}/restore", response_model=StrategyVersionOut,
             status_code=201, responses={
                 403: {"description": "not an operator"},
                 404: {"description": "the client company never had that version"},
                 409: {"description": "already_current: the strategy in force is that version already; "
                                      "strategy_does_not_fit: it no longer fits today's buckets or the client "
                                      "company's limits"}})
async def restore(version: VersionNumber, client: ClientOfOperator, principal: CurrentPrincipal,
                  platform: PlatformDep, response: Response) -> StrategyVersionOut:
    """The kept version becomes current again, whole (its challenger and share included), as a new version; the
    accounts are re-segmented."""
    kept = await strategy_versions.restore_version(platform.db, client=client, number=version,
                                                   by=caller_of(principal), now=platform.clock())
    return created(kept, client.slug, response)


def created(kept: KeptVersion, slug: str, response: Response) -> StrategyVersionOut:
    response.headers["Location"] = f"/v1/clients/{slug}/strategy/versions/{kept.version}"
    return StrategyVersionOut.of(kept, current=kept.version)
