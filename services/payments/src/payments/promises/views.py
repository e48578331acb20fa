"""An account's arrangements as the API shows them: each instalment a promise with what the payments toward the
plan, applied in order, give it, its verdict, and its own signed payment link while it can still be paid."""

from __future__ import annotations

import datetime as dt

from payments.domain.arrangements import allocate
from payments.promises import store
from payments.schemas import ArrangementView, PlanInstalmentOut
from recaudo_common.client_copy import ClientCopy
from recaudo_common.db import Database
from recaudo_common.payment_links import make_token
from recaudo_common.promises import deadline

LINK_DAYS_AFTER_DEADLINE = 30  # an instalment's link still pays it, late, this long after its grace day ends
FAR_FUTURE = dt.timedelta(days=36500)


def instalment_link(*, client: ClientCopy, account_ref: str, due_date: dt.date, secret: str, public_url: str) -> str:
    """The instalment's own link to the debtor page: signed like every payment link, for the account (a payment
    through it is the account's, allocated to the plan in order), expiring a while after the instalment's
    deadline. The same instalment always gets the same link."""
    expires = deadline(due_date, client.timezone) + dt.timedelta(days=LINK_DAYS_AFTER_DEADLINE)
    token = make_token(client=client.slug, account_ref=account_ref, expires_at=expires, secret=secret)
    return f"{public_url.rstrip('/')}/pay/{token}"


async def arrangements_of(db: Database, *, client: ClientCopy, account_ref: str, secret: str,
                          public_url: str) -> list[ArrangementView]:
    views: list[ArrangementView] = []
    async with db.transaction() as s:
        for arrangement, promises in await store.account_arrangements(s, client.slug, account_ref):
            # What was paid while the arrangement stood, up to and including the moment it was decided, counts
            # toward it; after its end, the account's alone.
            ends = arrangement.made_at + FAR_FUTURE if arrangement.decided_at is None else \
                arrangement.decided_at + dt.timedelta(microseconds=1)
            paid = await store.paid_between(s, client.slug, account_ref, arrangement.made_at, ends)
            shares = allocate(paid, [p.amount for p in promises])
            open_for_payment = arrangement.status == "active"
            views.append(ArrangementView(
                id=arrangement.id, kind=arrangement.kind, status=arrangement.status, source=arrangement.source,
                total_amount=arrangement.total_amount, paid_amount=min(paid, arrangement.total_amount),
                made_at=arrangement.made_at, decided_at=arrangement.decided_at,
                instalments=[PlanInstalmentOut(
                    number=n, promise_id=p.promise_id, due_date=p.due_date, amount=p.amount, paid=share,
                    status=p.status, payment_url=instalment_link(
                        client=client, account_ref=account_ref, due_date=p.due_date, secret=secret,
                        public_url=public_url) if open_for_payment and share < p.amount else None)
                    for n, (p, share) in enumerate(zip(promises, shares, strict=True), start=1)]))
    return views
