"""The one-off migration of the embedded event log to events without plaintext: every version 1 account.placed
and account.updated written before #19 (live or dead-lettered) is rewritten in place as version 2, its debtor
sealed with their own key, so that erasing the person later reaches the log too.

It runs when the platform migrates (before any consumer starts), once: a marker row says it is done. Kafka topics
cannot be rewritten in place: `recaudo kafka reseal` copies them to a new prefix with the same `resealed`
(libs/cli/src/recaudo/kafka_reseal.py, docs/data-protection.md)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import Database
from recaudo_common.events import REGISTRY, AccountStatedV1, Envelope
from recaudo_common.personal_data.sealing import seal
from recaudo_common.personal_data.vault import Vault

log = logging.getLogger("recaudo.personal_data")
MARKER = "account-events-v2"
_STATED = ("account.placed", "account.updated")


def stated_in_clear(envelope: Envelope) -> bool:
    """Whether the envelope is a version 1 account.placed or account.updated (the debtor in clear)."""
    return envelope.type in _STATED and envelope.version == 1


async def resealed(s: AsyncSession, vault: Vault, envelopes: Sequence[Envelope], now: dt.datetime, *,
                   erased: Mapping[tuple[str, str], UUID] | None = None) -> list[Envelope]:
    """Each version 1 account event (`stated_in_clear`) as version 2, in order, same envelope and event_id: the
    debtor sealed with their own key (found, or given one, in the vault in a batch per client company), or the
    sealed copy it already carried. An account in `erased` ((client, account_ref) -> debtor_ref, from
    debtor.erased) belongs to someone whose erasure completed: no person is created for it again, its event
    keeps the pseudonym and no personal data."""
    by_client: dict[str, list[AccountStatedV1]] = defaultdict(list)
    events: list[tuple[Envelope, AccountStatedV1]] = []
    for envelope in envelopes:
        event = REGISTRY[(envelope.type, 1)].model_validate(envelope.payload)
        assert isinstance(event, AccountStatedV1)
        events.append((envelope, event))
        if (event.debtor_ref is None or event.personal is None) and \
                (envelope.client, event.account_ref) not in (erased or {}):
            by_client[envelope.client].append(event)
    people = {client: await vault.people_for(s, client, [e.debtor_id for e in stated], now)
              for client, stated in by_client.items()}
    out: list[Envelope] = []
    for envelope, event in events:
        fields = event.stated_fields()
        if event.debtor_ref is None or event.personal is None:
            gone = (erased or {}).get((envelope.client, event.account_ref))
            if gone is not None:
                fields["debtor_ref"], fields["personal"] = gone, None
            else:
                person = people[envelope.client][event.debtor_id]
                fields["debtor_ref"] = person.debtor_ref
                fields["personal"] = seal(person.key, envelope.client, person.debtor_ref, event.plaintext())
        current = REGISTRY[(envelope.type, 2)].model_validate(fields)
        out.append(envelope.model_copy(update={"version": 2, "payload": current.model_dump(mode="json")}))
    return out


async def reseal_event_log(db: Database, vault: Vault, now: dt.datetime, *, batch_rows: int = 500) -> int:
    """Rewrites the log's version 1 account events as version 2; returns how many. A no-op once done."""
    async with db.transaction() as s:
        if await s.scalar(text("SELECT 1 FROM bus.migrations_done WHERE name = :n"), {"n": MARKER}):
            return 0
    rewritten, after = 0, -1
    while True:
        async with db.transaction() as s:
            rows = (await s.execute(text(
                "SELECT position, envelope FROM bus.log WHERE position > :after"
                " AND envelope->>'type' = ANY(:types) AND envelope->>'version' = '1'"
                " ORDER BY position LIMIT :n FOR UPDATE"),
                {"after": after, "types": list(_STATED), "n": batch_rows})).all()
            if not rows:
                await s.execute(text("INSERT INTO bus.migrations_done (name, done_at) VALUES (:n, :at)"
                                     " ON CONFLICT DO NOTHING"), {"n": MARKER, "at": now})
                break
            old = [Envelope.model_validate(row.envelope) for row in rows]
            for row, new in zip(rows, await resealed(s, vault, old, now), strict=True):
                await s.execute(text("UPDATE bus.log SET envelope = CAST(:env AS jsonb) WHERE position = :p"),
                                {"env": json.dumps(new.model_dump(mode="json")), "p": row.position})
            rewritten += len(rows)
            after = rows[-1].position
    if rewritten:
        log.info("event log resealed", extra={"fields": {"events": rewritten}})
    return rewritten
