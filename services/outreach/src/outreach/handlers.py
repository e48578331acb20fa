"""What the send path and debtor_guard still take from here while they move to the feature packages' typed
values: the shared helpers under their former names, reading the rows of the claim query as a DebtorContext.
Every rule is in its feature's package (planning, receipts, consent, agent_desk, debtor_page, templates) or in
debtors.py."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from outreach import debtors, store
from outreach.debtor_page.handlers import DebtorView
from outreach.debtors import DebtorContext
from outreach.debtors import decision_detail as _decision_detail
from outreach.domain.contact_law import ContactRequest, PastContact
from outreach.domain.templates import TemplateError
from outreach.messages import Renderer
from outreach.receipts.handlers import apply_receipt as _apply_receipt
from outreach.store import TrailEntry, outbox
from recaudo_common.events import ContactFailed

__all__ = ["DebtorView", "Renderer", "_apply_receipt", "_decision_detail", "_trail", "contact_request",
           "fail_unrendered", "outbox", "recipient_of"]
log = logging.getLogger("recaudo.outreach")


def contact_request(row: Mapping[str, Any], channel: str, at: dt.datetime,
                    earlier_in_batch: tuple[PastContact, ...] = ()) -> ContactRequest:
    return debtors.contact_request(DebtorContext.of(row), channel, at, earlier_in_batch)


def recipient_of(row: Mapping[str, Any], channel: str) -> str | None:
    return debtors.recipient(channel, phones=tuple(row.get("phones") or ()), email=row.get("email"),
                             address=row.get("address"))


def _trail(row: Mapping[str, Any], at: dt.datetime, kind: str, *, attempt_id: uuid.UUID | None = None,
           channel: str | None = None, **detail: object) -> TrailEntry:
    return TrailEntry(row["client_slug"], row["account_ref"], at, kind, attempt_id, channel, detail)


async def fail_unrendered(s: AsyncSession, row: Mapping[str, Any], error: TemplateError, *,
                          now: dt.datetime) -> None:
    """A due attempt whose message the client's template cannot render (over its budget on this account's data,
    or failing): that attempt fails with the reason, which holds none of the account's values."""
    reason = f"{error.code}: {error.reason}"
    log.warning("template failed at send", extra={"fields": {"client": row["client_slug"],
                                                             "channel": row["channel"], "code": error.code}})
    if await store.fail_unsent(s, row["id"], now, reason):
        await store.trail(s, [_trail(row, now, "failed", attempt_id=row["id"], channel=row["channel"],
                                     reason=reason)])
        await outbox.add(s, [ContactFailed(attempt_id=row["id"], account_ref=row["account_ref"],
                                           channel=row["channel"], failed_at=now, reason=reason).envelope(
            client=row["client_slug"], occurred_at=now)])
