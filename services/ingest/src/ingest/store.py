"""Ingest's uploads and the accounts they place: tables and queries (schema `ingest`); the client companies' own
tables are ingest.clients.store's, the recalls' ingest.accounts.store's."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic_core import to_json
from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.domain.portfolio import Account, Issue
from ingest.records import Portfolio, RowIssue, Tally, UploadFailure, UploadParams
from recaudo_common.db import copy_records, sql
from recaudo_common.outbox import Outbox, cause_headers
from recaudo_common.telemetry import inject_headers

SCHEMA = "ingest"
outbox = Outbox(SCHEMA)  # ingest's events, written in the transaction of the change they announce
PORTFOLIO_COLUMNS = (
    "id, client_slug, status, filename, size_bytes, as_of, rows_total, rows_accepted, rows_rejected, "
    "rows_with_warnings, counts_by_code, progress, error_code, error_detail, params, created_at, started_at, "
    "finished_at, rows_done, paused_for, paused_since"
)


async def find_same_upload(s: AsyncSession, client: str, content_sha: str, params_sha: str) -> uuid.UUID | None:
    same: uuid.UUID | None = await s.scalar(sql(
        "SELECT id FROM ingest.portfolios WHERE client_slug = :c AND content_sha256 = :h AND params_sha256 = :p "
        "AND status <> 'failed'"), {"c": client, "h": content_sha, "p": params_sha})
    return same


async def insert_portfolio(s: AsyncSession, *, portfolio_id: uuid.UUID, client: str, filename: str | None,
                           content_sha: str, params: UploadParams, params_sha: str, size_bytes: int,
                           as_of: dt.date, now: dt.datetime) -> None:
    await s.execute(sql(
        "INSERT INTO ingest.portfolios (id, client_slug, status, filename, content_sha256, params_sha256, params, "
        "size_bytes, as_of, created_at, trace_context) VALUES (:id, :c, 'queued', :f, :h, :ps, CAST(:p AS jsonb), "
        ":n, :as_of, :now, CAST(:tc AS jsonb))"),
        {"id": portfolio_id, "c": client, "f": filename, "h": content_sha, "ps": params_sha,
         "p": params_json(params), "n": size_bytes, "as_of": as_of, "now": now,
         "tc": json.dumps({**inject_headers(), **cause_headers()})})  # the worker carries on both


async def describe_upload(s: AsyncSession, portfolio_id: uuid.UUID, *, filename: str | None, content_sha: str,
                          size_bytes: int, params: UploadParams, params_sha: str, as_of: dt.date) -> None:
    """What is known of an upload once its file has been read."""
    await s.execute(sql(
        "UPDATE ingest.portfolios SET filename = :f, content_sha256 = :h, size_bytes = :n, params = CAST(:p AS jsonb), "
        "params_sha256 = :ps, as_of = :as_of WHERE id = :id"),
        {"id": portfolio_id, "f": filename, "h": content_sha, "n": size_bytes, "p": params_json(params),
         "ps": params_sha, "as_of": as_of})


async def insert_chunk(s: AsyncSession, portfolio_id: uuid.UUID, seq: int, data: bytes) -> None:
    await s.execute(sql("INSERT INTO ingest.portfolio_chunks (portfolio_id, seq, data) VALUES (:p, :n, :d)"),
                    {"p": portfolio_id, "n": seq, "d": data})


async def read_chunk(s: AsyncSession, portfolio_id: uuid.UUID, seq: int) -> bytes | None:
    data = await s.scalar(sql("SELECT data FROM ingest.portfolio_chunks WHERE portfolio_id = :p AND seq = :n"),
                          {"p": portfolio_id, "n": seq})
    return bytes(data) if data is not None else None


def params_json(params: UploadParams) -> str:
    """The parameters as kept (and hashed, to know the same upload again): only those given, keys in order."""
    return json.dumps(params.model_dump(mode="json", exclude_none=True), sort_keys=True)


async def get_portfolio(s: AsyncSession, portfolio_id: uuid.UUID) -> Portfolio | None:
    row = (await s.execute(sql(f"SELECT {PORTFOLIO_COLUMNS} FROM ingest.portfolios WHERE id = :id"),
                           {"id": portfolio_id})).mappings().first()
    return None if row is None else _portfolio(row)


async def client_portfolios(s: AsyncSession, client: str, *, before: tuple[dt.datetime, uuid.UUID] | None,
                            limit: int) -> list[Portfolio]:
    """A client company's uploads, newest first, those after `before` (the last one of the previous page)."""
    after_clause = "AND (created_at, id) < (:t, :id)" if before else ""
    rows = (await s.execute(sql(
        f"SELECT {PORTFOLIO_COLUMNS} FROM ingest.portfolios WHERE client_slug = :c {after_clause} "
        "ORDER BY created_at DESC, id DESC LIMIT :n"),
        {"c": client, "n": limit, **({"t": before[0], "id": before[1]} if before else {})})).mappings().all()
    return [_portfolio(r) for r in rows]


def _portfolio(row: RowMapping) -> Portfolio:
    return Portfolio(
        id=row["id"], client_slug=row["client_slug"], status=row["status"], filename=row["filename"],
        size_bytes=row["size_bytes"], as_of=row["as_of"], rows_total=row["rows_total"],
        rows_accepted=row["rows_accepted"], rows_rejected=row["rows_rejected"],
        rows_with_warnings=row["rows_with_warnings"], counts_by_code=dict(row["counts_by_code"]),
        progress=float(row["progress"]), error_code=row["error_code"], error_detail=row["error_detail"],
        params=UploadParams.model_validate(row["params"]), created_at=row["created_at"],
        started_at=row["started_at"], finished_at=row["finished_at"], rows_done=row["rows_done"],
        paused_for=row["paused_for"], paused_since=row["paused_since"])


async def trace_context(s: AsyncSession, portfolio_id: uuid.UUID) -> dict[str, str]:
    row = (await s.execute(sql("SELECT trace_context FROM ingest.portfolios WHERE id = :id"),
                           {"id": portfolio_id})).first()
    value = row[0] if row else {}
    return dict(json.loads(value) if isinstance(value, str) else value)


async def pending_portfolios(s: AsyncSession, limit: int = 20) -> list[tuple[uuid.UUID, str]]:
    """The uploads that may be processed now, oldest first, with their client company: each company's oldest
    waiting one only, so a company's uploads apply in the order they came (a later file may restate an account an
    earlier one placed), whichever worker or replica takes them."""
    rows = await s.execute(sql(
        "SELECT id, client_slug FROM (SELECT DISTINCT ON (client_slug) id, client_slug, created_at "
        "FROM ingest.portfolios WHERE status IN ('queued', 'processing') ORDER BY client_slug, created_at, id) p "
        "ORDER BY created_at, id LIMIT :n"), {"n": limit})
    return [(r[0], r[1]) for r in rows]


async def mark_processing(s: AsyncSession, portfolio_id: uuid.UUID, now: dt.datetime) -> tuple[int, str | None]:
    """Counts one more start of the upload; returns the starts since it last made progress, and the last
    unexpected error of one of them (None if none raised: a worker killed while reading it). A start is not
    paused, whatever a worker stopped during a pause left on the record."""
    row = (await s.execute(sql(
        "UPDATE ingest.portfolios SET status = 'processing', started_at = coalesce(started_at, :now), "
        "attempts = attempts + 1, paused_for = NULL, paused_since = NULL "
        "WHERE id = :id AND status IN ('queued', 'processing') RETURNING attempts, last_error"),
        {"id": portfolio_id, "now": now})).first()
    return (row[0], row[1]) if row else (0, None)


async def note_failed_attempt(s: AsyncSession, portfolio_id: uuid.UUID, error: str) -> None:
    await s.execute(sql("UPDATE ingest.portfolios SET last_error = :e WHERE id = :id"),
                    {"id": portfolio_id, "e": error})


async def forgive_attempt(s: AsyncSession, portfolio_id: uuid.UUID) -> None:
    """The infrastructure failed, not the upload: that start does not count against it."""
    await s.execute(sql("UPDATE ingest.portfolios SET attempts = greatest(attempts - 1, 0) WHERE id = :id"),
                    {"id": portfolio_id})


async def save_progress(s: AsyncSession, portfolio_id: uuid.UUID, *, counts: Tally, rows_done: int,
                        progress: float) -> None:
    """A committed batch is progress: the start that made it is counted as the first since (see mark_processing)."""
    await s.execute(sql(
        "UPDATE ingest.portfolios SET rows_total = :t, rows_accepted = :a, rows_rejected = :r, "
        "rows_with_warnings = :w, counts_by_code = CAST(:bc AS jsonb), rows_done = :done, progress = :pr, "
        "attempts = 1, last_error = NULL WHERE id = :id"),
        {"id": portfolio_id, "t": counts.rows_total, "a": counts.rows_accepted, "r": counts.rows_rejected,
         "w": counts.rows_with_warnings, "bc": json.dumps(dict(counts.by_code)), "done": rows_done,
         "pr": min(progress, 0.999)})


async def accepted_refs(s: AsyncSession, client: str, portfolio_id: uuid.UUID) -> set[str]:
    """The account refs this upload has already accepted (to resume its duplicate check after a crash)."""
    rows = await s.execute(sql(
        "SELECT account_ref FROM ingest.accounts WHERE client_slug = :c AND last_portfolio_id = :p"),
        {"c": client, "p": portfolio_id})
    return {r[0] for r in rows}


async def drop_chunks(s: AsyncSession, portfolio_id: uuid.UUID) -> None:
    """A finished upload keeps its results, not its bytes."""
    await s.execute(sql("DELETE FROM ingest.portfolio_chunks WHERE portfolio_id = :p"), {"p": portfolio_id})


async def finish_portfolio(s: AsyncSession, portfolio_id: uuid.UUID, *, status: str, counts: Tally,
                           now: dt.datetime, failure: UploadFailure | None = None) -> None:
    await s.execute(sql(
        "UPDATE ingest.portfolios SET status = :st, rows_total = :t, rows_accepted = :a, rows_rejected = :r, "
        "rows_with_warnings = :w, counts_by_code = CAST(:bc AS jsonb), progress = 1, error_code = :ec, "
        "error_detail = CAST(:ed AS jsonb), started_at = coalesce(started_at, :now), finished_at = :now, "
        "paused_for = NULL, paused_since = NULL WHERE id = :id"),
        {"id": portfolio_id, "st": status, "t": counts.rows_total, "a": counts.rows_accepted,
         "r": counts.rows_rejected, "w": counts.rows_with_warnings, "bc": json.dumps(dict(counts.by_code)),
         "ec": failure.code if failure else None, "ed": failure.detail_json() if failure else None, "now": now})


async def set_pause(s: AsyncSession, portfolio_id: uuid.UUID, *, paused_for: str | None,
                    since: dt.datetime | None) -> None:
    """Says on the upload's record that it waits between batches for the readers of `paused_for` (a family of
    events) since `since`, or (None) that it does not; only while it is processing (a finished upload waits for
    nothing)."""
    await s.execute(sql("UPDATE ingest.portfolios SET paused_for = :f, paused_since = :since "
                        "WHERE id = :id AND (status = 'processing' OR CAST(:f AS text) IS NULL)"),
                    {"id": portfolio_id, "f": paused_for, "since": since})


async def balances_before(s: AsyncSession, client: str, refs: Sequence[str]) -> dict[str, Decimal]:
    """The balance each of these accounts had, for those already placed (locked until the batch commits)."""
    rows = (await s.execute(sql(
        "SELECT account_ref, balance FROM ingest.accounts WHERE client_slug = :c "
        "AND account_ref = ANY(:refs) FOR UPDATE"), {"c": client, "refs": list(refs)})).all()
    return {r[0]: r[1] for r in rows}


# An upload's batch of accounts arrives by binary COPY into this table of the session (emptied at each commit),
# then goes into ingest.accounts in one statement: COPY is the fastest way PostgreSQL takes rows (#24).
_ACCOUNTS_IN = "ingest_accounts_in"
_ACCOUNTS_IN_COLUMNS = ("account_ref", "debtor_id", "debtor_ref", "balance", "days_past_due", "as_of", "stated")


def stated_json(account: Account, portfolio_id: uuid.UUID) -> str:
    """What an upload stated of an account, as it is kept: every field, its dates, amounts and ids as their text.
    vars, shallow (asdict's deep copy cost 0.2 ms a row), through pydantic's serializer, which writes them as str()
    does, several times faster than json.dumps calling str for each (test_stated_json)."""
    return to_json({**vars(account), "portfolio_id": portfolio_id}).decode()


async def upsert_accounts(s: AsyncSession, client: str, portfolio_id: uuid.UUID, accounts: Sequence[Account],
                          now: dt.datetime, *, debtor_refs: Mapping[str, uuid.UUID]) -> None:
    """Places the accounts, or states them again: each keeps what its last upload said of it (`stated`) and
    its debtor's pseudonymous id (`debtor_refs`, by id number as stated). Their events (version 2, written with
    them) announce the pseudonym downstream, so the backfill of account.pseudonymised passes over them."""
    if not accounts:
        return
    rows = [(a.account_ref, a.debtor_id, debtor_refs[a.debtor_id], a.balance, a.days_past_due, a.as_of,
             stated_json(a, portfolio_id)) for a in accounts]
    await s.execute(sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {_ACCOUNTS_IN} (account_ref text, debtor_id text, debtor_ref uuid, "
        "balance numeric, days_past_due int, as_of date, stated jsonb) ON COMMIT DELETE ROWS"))
    await copy_records(s, _ACCOUNTS_IN, columns=_ACCOUNTS_IN_COLUMNS, records=rows)
    await s.execute(sql(
        f"""INSERT INTO ingest.accounts (client_slug, account_ref, debtor_id, debtor_ref, balance, days_past_due,
               as_of, stated, placed_portfolio_id, last_portfolio_id, placed_at, updated_at, pseudonym_announced_at)
           SELECT :c, a.account_ref, a.debtor_id, a.debtor_ref, a.balance, a.days_past_due, a.as_of, a.stated, :p, :p,
               :now, :now, :now
           FROM {_ACCOUNTS_IN} a
           ON CONFLICT (client_slug, account_ref) DO UPDATE SET debtor_id = excluded.debtor_id,
               debtor_ref = excluded.debtor_ref, pseudonym_announced_at = excluded.pseudonym_announced_at,
               balance = excluded.balance, days_past_due = excluded.days_past_due, as_of = excluded.as_of,
               stated = excluded.stated, last_portfolio_id = excluded.last_portfolio_id,
               updated_at = excluded.updated_at"""),
        {"c": client, "p": portfolio_id, "now": now})
    await s.execute(sql(f"DELETE FROM {_ACCOUNTS_IN}"))  # a second batch in the same transaction starts empty


async def insert_issues(s: AsyncSession, portfolio_id: uuid.UUID, kind: str,
                        issues: list[tuple[Issue, dict[str, str]]]) -> None:
    if not issues:
        return
    await s.execute(sql(
        "INSERT INTO ingest.row_issues (portfolio_id, kind, row_number, field, code, message, params, raw) "
        "VALUES (:p, :k, :r, :f, :c, :m, CAST(:params AS jsonb), CAST(:raw AS jsonb))"),
        [{"p": portfolio_id, "k": kind, "r": i.row, "f": i.field, "c": i.code, "m": i.message,
          "params": json.dumps(i.params), "raw": json.dumps(raw)} for i, raw in issues])


async def list_issues(s: AsyncSession, portfolio_id: uuid.UUID, kind: str, *, after: int, limit: int
                      ) -> list[RowIssue]:
    rows = (await s.execute(sql(
        "SELECT id, row_number AS row, field, code, message, params, raw FROM ingest.row_issues "
        "WHERE portfolio_id = :p AND kind = :k AND id > :after ORDER BY id LIMIT :n"),
        {"p": portfolio_id, "k": kind, "after": after, "n": limit})).mappings().all()
    return [_row_issue(**r) for r in rows]


def _row_issue(*, raw: dict[str, str | bool], **fields: Any) -> RowIssue:
    # Erased raw cells are a marker, {"erased": true, "why": ...}: a JSON true is never a cell, kept as text.
    if raw.get("erased") is True:
        return RowIssue(**fields, raw={}, raw_erased="retention" if raw.get("why") == "retention" else "request")
    return RowIssue(**fields, raw={k: str(v) for k, v in raw.items()})
