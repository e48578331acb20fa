"""The daily retention job: for each client company with a retention configured, an erasure (reason `retention`)
for every person none of whose accounts is active and whose last account was recalled or closed more than the
configured days ago. Idempotent: a person with an erasure (running or done) is never asked again."""

from __future__ import annotations

import datetime as dt
import logging

from recaudo_common.db import Database
from recaudo_common.domain_errors import Conflict
from reporting.domain.privacy import retention_due
from reporting.privacy import store
from reporting.privacy.handlers import ERASURES_STARTED, RETENTION_JOB, start_erasure

log = logging.getLogger("recaudo.reporting.retention")


async def erase_expired(db: Database, *, now: dt.datetime) -> int:
    """Starts the erasures that retention makes due at `now`, each client company in its own transaction; how many
    it started."""
    async with db.transaction() as s:
        configured = await store.retentions(s)
    started = 0
    for client, days in configured:
        here = 0
        async with db.transaction() as s:
            for debtor_ref, accounts in (await store.people_with_every_account_ended(s, client)).items():
                if not retention_due(accounts, days_after_closure=days, now=now):
                    continue
                try:
                    _, new = await start_erasure(s, client=client, debtor_ref=debtor_ref, reason="retention",
                                                 note=None, caller=RETENTION_JOB, now=now)
                except Conflict:  # an account became active again since it was read: kept, asked again tomorrow
                    continue
                here += new
        if here:
            ERASURES_STARTED.labels(reason="retention").inc(here)
            log.info("retention started erasures", extra={"fields": {"client": client, "erasures": here}})
        started += here
    return started
