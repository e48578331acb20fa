"""Receiving a portfolio upload: its parameters checked, its file stored in chunks as it arrives and checked at the
door (`preflight`), then queued for the worker (ingest.handlers); reading an upload's record and its issues."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from ingest import store
from ingest.clients import store as clients_store
from ingest.domain.portfolio import MappingError
from ingest.reading import FileLimits, preflight
from ingest.records import ClientCompany, Portfolio, RowIssue, Tally, UploadFailure, UploadParams
from recaudo_common.clock import local_today
from recaudo_common.db import Database
from recaudo_common.domain_errors import Invalid, NotFound
from recaudo_common.files import MAX_COLUMNS, FileFormatError, text_encoding
from recaudo_common.money import MARKS

DELIMITERS = (",", ";", "|", "\t")


class UploadTooLargeError(Exception):
    """The file passed its cap while it arrived; what was stored of it is gone, its refusal is on the record."""

    portfolio_id: uuid.UUID | None = None


def upload_cap(client: ClientCompany, platform_cap: int) -> int:
    """The largest file this client company may send: its own cap, which may only lower the platform's."""
    return min(platform_cap, client.max_upload_bytes or platform_cap)


async def upload_params(db: Database, client: ClientCompany, *, mapping: str | None, mapping_profile: str | None,
                        locale: str | None, as_of: dt.date | None, encoding: str | None, delimiter: str | None,
                        sheet: str | None) -> UploadParams:
    """The upload's parameters from its form fields, each checked; a bad one refuses the upload (Invalid)."""
    parsed = _parse_mapping(mapping) if mapping else None
    if mapping_profile:
        async with db.transaction() as s:
            if await clients_store.get_mapping_profile(s, client.slug, mapping_profile) is None:
                raise Invalid("unknown_mapping_profile", f"no mapping profile {mapping_profile!r} for this client "
                              "company", title="Unknown mapping profile")
    if locale and locale not in MARKS:
        raise Invalid("invalid_locale", f"supported: {sorted(MARKS)}", title="Invalid locale")
    if encoding:
        try:
            text_encoding(encoding)
        except FileFormatError as exc:
            raise Invalid(exc.code, exc.detail, title="Invalid encoding") from exc
    if delimiter and delimiter not in DELIMITERS:
        raise Invalid("invalid_delimiter", "one of , ; | or tab", title="Invalid delimiter")
    return UploadParams(mapping=parsed, mapping_profile=mapping_profile or None, locale=locale or None,
                        as_of=as_of or None, encoding=encoding or None, delimiter=delimiter or None,
                        sheet=sheet or None)


def _parse_mapping(mapping: str) -> dict[str, str]:
    try:
        parsed = json.loads(mapping)
    except (ValueError, RecursionError) as exc:  # not JSON; nested too deep; an integer of too many digits
        raise Invalid("invalid_mapping", "mapping is not JSON an upload's mapping can be", title="Invalid mapping"
                      ) from exc
    if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
        raise Invalid("invalid_mapping", "mapping must be an object of field -> column", title="Invalid mapping")
    return {str(k): v for k, v in parsed.items()}


async def submit_portfolio(db: Database, *, client: ClientCompany, chunks: AsyncIterator[bytes],
                           filename: Callable[[], str | None], read_params: Callable[[], Awaitable[UploadParams]],
                           max_bytes: int, now: dt.datetime, limits: FileLimits | None = None,
                           ) -> tuple[Portfolio, bool]:
    """`_store_upload`, and the upload's record; a file over its cap leaves a failed upload on the record that
    says so (`instance`)."""
    try:
        portfolio_id, created = await _store_upload(db, client=client, chunks=chunks, filename=filename,
                                                    read_params=read_params, max_bytes=max_bytes, now=now,
                                                    limits=limits)
    except UploadTooLargeError as exc:
        refused_id = uuid.uuid4()
        async with db.transaction() as s:
            await store.insert_portfolio(
                s, portfolio_id=refused_id, client=client.slug, filename=filename(), content_sha="refused",
                params=UploadParams(), params_sha="refused", size_bytes=0,
                as_of=local_today(client.timezone, now), now=now)
            await store.finish_portfolio(s, refused_id, status="failed", counts=Tally(), now=now,
                                         failure=UploadFailure("file_too_large", str(exc)))
        exc.portfolio_id = refused_id
        raise
    return await portfolio(db, portfolio_id), created


async def _store_upload(db: Database, *, client: ClientCompany, chunks: AsyncIterator[bytes],
                        filename: Callable[[], str | None], read_params: Callable[[], Awaitable[UploadParams]],
                        max_bytes: int, now: dt.datetime, limits: FileLimits | None = None,
                        ) -> tuple[uuid.UUID, bool]:
    """Stores the upload in chunks as it arrives (never whole in memory), checks what can be checked before
    its rows (`preflight`) and queues it. The file's name and the upload's parameters are asked for once the
    file has been read (a form may send its fields after the file). The same bytes with the same parameters
    return the existing upload (created=False); a failed upload can be sent again. A file that cannot be a
    portfolio is kept on the record as failed, with its reason, and an Invalid naming that record says so."""
    portfolio_id = uuid.uuid4()
    digest = hashlib.sha256()
    size = 0
    async with db.transaction() as s:
        await store.insert_portfolio(
            s, portfolio_id=portfolio_id, client=client.slug, filename=None, content_sha="pending",
            params=UploadParams(), params_sha="pending", size_bytes=0, as_of=local_today(client.timezone, now),
            now=now)
        seq = 0
        with tempfile.NamedTemporaryFile(prefix="recaudo-upload-") as copy:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise UploadTooLargeError(f"the limit is {max_bytes} bytes")
                digest.update(chunk)
                copy.write(chunk)
                await store.insert_chunk(s, portfolio_id, seq, chunk)
                seq += 1
            copy.flush()
            if size == 0:
                raise Invalid("empty_file", "the uploaded file is empty", title="Empty file")
            params = await read_params()
            params_sha = hashlib.sha256(store.params_json(params).encode()).hexdigest()
            as_of = params.as_of or local_today(client.timezone, now)
            content_sha = digest.hexdigest()
            existing = await store.find_same_upload(s, client.slug, content_sha, params_sha)
            if existing is not None:
                await s.rollback()  # nothing of this copy is kept
                return existing, False
            name = filename()
            await store.describe_upload(s, portfolio_id, filename=name, content_sha=content_sha,
                                        size_bytes=size, params=params, params_sha=params_sha, as_of=as_of)
            checked = params
            if params.mapping_profile:
                checked = params.with_profile(
                    await clients_store.get_mapping_profile(s, client.slug, params.mapping_profile))
            try:
                await asyncio.to_thread(preflight, Path(copy.name), filename=name, params=checked,
                                        limits=limits or FileLimits())
                refused = None
            except (MappingError, FileFormatError) as exc:
                refused = exc
                await store.finish_portfolio(s, portfolio_id, status="failed", counts=Tally(), now=now,
                                             failure=refusal(exc, headers_kept=MAX_COLUMNS))
                await store.drop_chunks(s, portfolio_id)
    if refused is not None:
        raise Invalid(refused.code, refused.detail, title="The file cannot be read as a portfolio",
                      instance=f"/v1/portfolios/{portfolio_id}")
    return portfolio_id, True


def refusal(exc: MappingError | FileFormatError, *, headers_kept: int | None = None) -> UploadFailure:
    """Why a file cannot be a portfolio: the reason and, for a mapping, what was missing."""
    if isinstance(exc, MappingError):
        return UploadFailure(exc.code, exc.detail, missing=exc.missing, headers=exc.headers[:headers_kept],
                             ambiguous=exc.ambiguous)
    return UploadFailure(exc.code, exc.detail)


async def portfolio(db: Database, portfolio_id: uuid.UUID) -> Portfolio:
    async with db.transaction() as s:
        found = await store.get_portfolio(s, portfolio_id)
    if found is None:
        raise NotFound("portfolio")
    return found


async def client_portfolios(db: Database, client: str, *, before: tuple[dt.datetime, uuid.UUID] | None,
                            limit: int) -> list[Portfolio]:
    async with db.transaction() as s:
        return await store.client_portfolios(s, client, before=before, limit=limit)


async def issues_page(db: Database, portfolio_id: uuid.UUID, kind: str, *, after: int, limit: int
                      ) -> list[RowIssue]:
    """Up to `limit` of the upload's rejections or warnings after the id `after`, in order."""
    async with db.transaction() as s:
        return await store.list_issues(s, portfolio_id, kind, after=after, limit=limit)
