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

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import Database, sql
from recaudo_common.events import REGISTRY, AccountStated, AccountStatedV1, Envelope
from recaudo_common.personal_data.blind_index import NotIndexable, normalised
from recaudo_common.personal_data.sealing import seal
from recaudo_common.personal_data.vault import Vault

log = logging.getLogger("recaudo.personal_data")
MARKER = "account-events-v2"
_STATED = ("account.placed", "account.updated")
# What version 1 carried in clear and version 2 does not (the debtor's data, and `extra`, free text)
_PLAINTEXT = frozenset(AccountStatedV1.model_fields) - frozenset(AccountStated.model_fields)


def stated_in_clear(envelope: Envelope) -> bool:
    """Whether the envelope is a version 1 account.placed or account.updated (the debtor in clear)."""
    return envelope.type in _STATED and envelope.version == 1


def _indexable(id_number: str) -> bool:
    try:
        normalised("id_number", id_number)
    except NotIndexable:
        return False
    return True


async def resealed(s: AsyncSession, vault: Vault, envelopes: Sequence[Envelope], now: dt.datetime, *,
                   erased: Mapping[tuple[str, str], UUID] | None = None) -> list[Envelope]:
    """Each version 1 account event (`stated_in_clear`) as version 2, in order, same envelope and event_id: the
    debtor sealed with their own key (found, or given one, in the vault in a batch per client company), or the
    sealed copy it already carried. An account in `erased` ((client, account_ref) -> debtor_ref, from
    debtor.erased) belongs to someone whose erasure completed: no person is created for it again, its event
    keeps the pseudonym and no personal data; so does, with no pseudonym, one whose id number has nothing to
    find a person by. One whose payload is not valid (the dead letter of a malformed
    event) cannot be read, now or later: it stays version 1, without the fields that carried plaintext."""
    erased = erased or {}
    by_client: dict[str, list[AccountStatedV1]] = defaultdict(list)
    events: list[tuple[Envelope, AccountStatedV1 | None]] = []
    for envelope in envelopes:
        try:
            parsed = REGISTRY[(envelope.type, 1)].model_validate(envelope.payload)
        except ValidationError:
            events.append((envelope, None))
            continue
        assert isinstance(parsed, AccountStatedV1)
        events.append((envelope, parsed))
        if (parsed.debtor_ref is None or parsed.personal is None) and \
                (envelope.client, parsed.account_ref) not in erased and _indexable(parsed.debtor_id):
            by_client[envelope.client].append(parsed)
    people = {client: await vault.people_for(s, client, [e.debtor_id for e in batch], now)
              for client, batch in by_client.items()}
    out: list[Envelope] = []
    for envelope, event in events:
        if event is None:
            out.append(envelope.model_copy(update={
                "payload": {k: v for k, v in envelope.payload.items() if k not in _PLAINTEXT}}))
            continue
        fields = event.stated_fields()
        if event.debtor_ref is None or event.personal is None:
            gone = erased.get((envelope.client, event.account_ref))
            person = people.get(envelope.client, {}).get(event.debtor_id)
            if gone is not None or person is None:
                fields["debtor_ref"], fields["personal"] = gone, None
            else:
                fields["debtor_ref"] = person.debtor_ref
                fields["personal"] = seal(person.key, envelope.client, person.debtor_ref, event.plaintext())
        current = REGISTRY[(envelope.type, 2)].model_validate(fields)
        out.append(envelope.model_copy(update={"version": 2, "payload": current.model_dump(mode="json")}))
    return out


async def reseal_event_log(db: Database, vault: Vault, now: dt.datetime, *, batch_rows: int = 500) -> int:
    """Rewrites the log's version 1 account events as version 2; returns how many. A no-op once done."""
    async with db.transaction() as s:
        if await s.scalar(sql("SELECT 1 FROM bus.migrations_done WHERE name = :n"), {"n": MARKER}):
            return 0
    rewritten, after = 0, -1
    while True:
        async with db.transaction() as s:
            rows = (await s.execute(sql(
                "SELECT position, envelope FROM bus.log WHERE position > :after"
                " AND envelope->>'type' = ANY(:types) AND envelope->>'version' = '1'"
                " ORDER BY position LIMIT :n FOR UPDATE"),
                {"after": after, "types": list(_STATED), "n": batch_rows})).all()
            if not rows:
                await s.execute(sql("INSERT INTO bus.migrations_done (name, done_at) VALUES (:n, :at)"
                                    " ON CONFLICT DO NOTHING"), {"n": MARKER, "at": now})
                break
            old = [Envelope.model_validate(row.envelope) for row in rows]
            for row, new in zip(rows, await resealed(s, vault, old, now), strict=True):
                await s.execute(sql("UPDATE bus.log SET envelope = CAST(:env AS jsonb) WHERE position = :p"),
                                {"env": json.dumps(new.model_dump(mode="json")), "p": row.position})
            rewritten += len(rows)
            after = rows[-1].position
    if rewritten:
        log.info("event log resealed", extra={"fields": {"events": rewritten}})
    return rewritten
