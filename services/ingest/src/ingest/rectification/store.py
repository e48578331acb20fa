"""Rectification's tables: the person's accounts corrected in ingest.accounts, and ingest.rectifications, the
append-only record of who corrected which contact points of whom, when and why (never the values)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from ingest.domain.rectification import ContactField, Correction
from recaudo_common.db import sql


async def correct_accounts(s: AsyncSession, client: str, account_refs: Sequence[str], correction: Correction) -> None:
    """Each account's stated data keeps the corrected contact points until a later file states them again."""
    patch = {f: list(correction.phones) if f == "phones" else getattr(correction, f) for f in correction.given}
    await s.execute(sql(
        "UPDATE ingest.accounts SET stated = stated || CAST(:patch AS jsonb)"
        " WHERE client_slug = :c AND account_ref = ANY(:refs)"),
        {"c": client, "refs": list(account_refs), "patch": json.dumps(patch)})


async def record(s: AsyncSession, *, client: str, debtor_ref: uuid.UUID, account_refs: Sequence[str],
                 fields: Sequence[ContactField], by: str, reason: str, now: dt.datetime) -> uuid.UUID:
    rectification_id = uuid.uuid4()
    await s.execute(sql(
        "INSERT INTO ingest.rectifications (id, client_slug, debtor_ref, account_refs, fields, rectified_by, reason,"
        " rectified_at) VALUES (:id, :c, :ref, :accounts, :fields, :by, :reason, :now)"),
        {"id": rectification_id, "c": client, "ref": debtor_ref, "accounts": list(account_refs),
         "fields": list(fields), "by": by, "reason": reason, "now": now})
    return rectification_id
