"""Ingest's commands: register a client company, accept an upload, process it into accounts and events."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
import zoneinfo
from collections import Counter
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from ingest import store
from ingest.domain.files import FileFormatError, read_rows
from ingest.domain.portfolio import Account, Issue, MappingError, RowContext, check_row, map_columns
from recaudo_common.db import Database
from recaudo_common.errors import ProblemError, conflict
from recaudo_common.events import AccountPlaced, AccountUpdated, ClientRegistered, Envelope
from recaudo_common.outbox import Outbox

BATCH = 1000
outbox = Outbox(store.SCHEMA)


async def register_client(db: Database, client: dict[str, Any], *, now: dt.datetime) -> dict[str, Any]:
    async with db.transaction() as s:
        if not await store.insert_client(s, client, now):
            raise conflict("client_exists", f"a client company with slug {client['slug']!r} already exists")
        event = ClientRegistered(**client)
        await outbox.add(s, [event.envelope(client=client["slug"], occurred_at=now)])
        created = await store.get_client(s, client["slug"])
    assert created is not None
    return created


def today_in(timezone: str, now: dt.datetime) -> dt.date:
    return now.astimezone(zoneinfo.ZoneInfo(timezone)).date()


async def submit_portfolio(db: Database, *, client: dict[str, Any], content: bytes, filename: str | None,
                           params: dict[str, Any], now: dt.datetime) -> tuple[uuid.UUID, bool]:
    """Queues an upload; the same bytes with the same parameters return the existing one (created=False)."""
    content_sha = hashlib.sha256(content).hexdigest()
    params_sha = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
    as_of = params.get("as_of") or today_in(client["timezone"], now).isoformat()
    async with db.transaction() as s:
        existing = await store.find_same_upload(s, client["slug"], content_sha, params_sha)
        if existing is not None:
            return existing, False
        portfolio_id = uuid.uuid4()
        await store.insert_portfolio(
            s, portfolio_id=portfolio_id, client=client["slug"], filename=filename, content=content,
            content_sha=content_sha, params=params, params_sha=params_sha, as_of=dt.date.fromisoformat(as_of),
            now=now)
    return portfolio_id, True


def _stated(account: Account, portfolio_id: uuid.UUID) -> dict[str, Any]:
    fields = asdict(account)
    fields["portfolio_id"] = portfolio_id
    return fields


def _json(value: Any) -> Any:
    if isinstance(value, Decimal | dt.date | uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


async def process_next_portfolio(db: Database, *, now: dt.datetime) -> uuid.UUID | None:
    """Processes one pending upload in one transaction: accounts, rejections, events and counts commit
    together, so a crash leaves the upload pending for the next worker and nothing half-applied."""
    async with db.transaction() as s:
        portfolio_id = await store.claim_pending_portfolio(s)
        if portfolio_id is None:
            return None
        portfolio = await store.get_portfolio(s, portfolio_id)
        assert portfolio is not None
        client = await store.get_client(s, portfolio["client_slug"])
        assert client is not None
        content = await store.portfolio_file(s, portfolio_id)
        params = portfolio["params"]
        try:
            counts = await _process(s, portfolio, client, content, params, now)
        except (MappingError, FileFormatError) as exc:
            detail: dict[str, Any] = {"detail": exc.detail}
            if isinstance(exc, MappingError):
                detail.update({"missing": exc.missing, "headers": exc.headers, "ambiguous": exc.ambiguous})
            empty = {"rows_total": 0, "rows_accepted": 0, "rows_rejected": 0, "rows_with_warnings": 0,
                     "by_code": {}}
            await store.finish_portfolio(s, portfolio_id, status="failed", counts=empty, now=now,
                                         error_code=exc.code, error_detail=detail)
            return portfolio_id
        await store.finish_portfolio(s, portfolio_id, status="completed", counts=counts, now=now)
    return portfolio_id


async def _process(s: Any, portfolio: dict[str, Any], client: dict[str, Any], content: bytes,
                   params: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    header, rows = read_rows(content, encoding=params.get("encoding"), delimiter=params.get("delimiter"),
                             filename=portfolio["filename"])
    columns = map_columns(header, params.get("mapping"))
    ctx = RowContext(locale=params.get("locale") or client["locale"], as_of=portfolio["as_of"],
                     country=client["country"], currency=client["currency"],
                     default_channels=tuple(client["default_authorised_channels"]))
    seen: set[str] = set()
    by_code: Counter[str] = Counter()
    totals = Counter[str]()
    batch: list[tuple[Account, dict[str, str]]] = []
    rejected: list[tuple[Issue, dict[str, str]]] = []
    warned: list[tuple[Issue, dict[str, str]]] = []

    async def flush() -> None:
        await _write_batch(s, portfolio, client, batch, now)
        await store.insert_issues(s, portfolio["id"], "rejection", rejected)
        await store.insert_issues(s, portfolio["id"], "warning", warned)
        batch.clear()
        rejected.clear()
        warned.clear()

    for number, fields in rows:
        totals["rows_total"] += 1
        raw = {header[i] if i < len(header) else f"column_{i + 1}": v for i, v in enumerate(fields)}
        values = {f: [fields[i] if i < len(fields) else "" for i in idx] for f, idx in columns.fields.items()}
        extras = {h: fields[i] for h, i in columns.extras.items() if i < len(fields) and fields[i].strip()}
        account, rejections, warnings = check_row(values, extras, number, ctx)
        if account is not None and account.account_ref in seen:
            account, rejections = None, [Issue(number, "account_ref", "duplicate_account_ref",
                                               "this account_ref already appeared earlier in the file")]
        if account is None:
            totals["rows_rejected"] += 1
            by_code[rejections[0].code] += 1
            rejected.append((rejections[0], raw))
        else:
            seen.add(account.account_ref)
            totals["rows_accepted"] += 1
            batch.append((account, raw))
            if warnings:
                totals["rows_with_warnings"] += 1
                for w in warnings:
                    by_code[w.code] += 1
                    warned.append((w, raw))
        if len(batch) >= BATCH or len(rejected) >= BATCH:
            await flush()
    await flush()
    return {"rows_total": totals["rows_total"], "rows_accepted": totals["rows_accepted"],
            "rows_rejected": totals["rows_rejected"], "rows_with_warnings": totals["rows_with_warnings"],
            "by_code": dict(by_code)}


async def _write_batch(s: Any, portfolio: dict[str, Any], client: dict[str, Any],
                       batch: list[tuple[Account, dict[str, str]]], now: dt.datetime) -> None:
    if not batch:
        return
    slug = client["slug"]
    existing = await store.existing_accounts(s, slug, [a.account_ref for a, _ in batch])
    rows: list[dict[str, Any]] = []
    envelopes: list[Envelope] = []
    for account, _ in batch:
        stated = _stated(account, portfolio["id"])
        rows.append({"account_ref": account.account_ref, "debtor_id": account.debtor_id,
                     "balance": account.balance, "days_past_due": account.days_past_due, "as_of": account.as_of,
                     "stated": _json(stated)})
        before = existing.get(account.account_ref)
        if before is None:
            event: AccountPlaced | AccountUpdated = AccountPlaced(**stated)
        else:
            event = AccountUpdated(**stated, previous_balance=before["balance"])
        envelopes.append(event.envelope(client=slug, occurred_at=now))
    await store.upsert_accounts(s, slug, portfolio["id"], rows, now)
    await outbox.add(s, envelopes)


def problem_from_client_errors(errors: list[str]) -> ProblemError:
    return ProblemError(422, "invalid_client", "Invalid client company", "; ".join(errors),
                        errors=[{"msg": e} for e in errors])
