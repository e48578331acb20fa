"""Payments' part of an access request (debtor.access_requested): every record of the person's data it holds, the
same rows an erasure would blank, sealed with their key on the debtor topic; another person's data stays out
(real PostgreSQL, payments' consumer)."""

import uuid

import pytest
from sqlalchemy import text

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import DebtorAccessRequested, Envelope, decode
from recaudo_common.events.privacy import DebtorAccessAnswered
from recaudo_common.personal_data import Vault, open_part

from .conftest import NOW, Gateway, consumer
from .test_erasure import ANA, BOB, fill

pytestmark = pytest.mark.integration


async def test_payments_answers_every_record_of_the_person_sealed(gateway: Gateway) -> None:
    platform = gateway.platform
    await fill(gateway)
    async with platform.db.transaction() as s:
        ana = await s.scalar(text("SELECT debtor_ref FROM payments.accounts WHERE account_ref = 'ANA-1'"))
    request = DebtorAccessRequested(access_id=uuid.uuid4(), debtor_ref=ana, account_refs=["ANA-1", "ANA-2", "ANA-OLD"],
                                    requested_at=NOW)
    envelope = request.envelope(client="banco", occurred_at=NOW)
    runtime = ConsumerRuntime(platform.db, platform.transport, consumer(platform), "t", lambda: NOW)
    assert await runtime.handle_batch([Message("t.debtor", envelope.key, envelope, {})]) == ["processed"]

    async with platform.db.transaction() as s:
        [answered] = [decode(Envelope.model_validate(r[0])) for r in await s.execute(text(
            "SELECT envelope FROM payments.outbox WHERE envelope->>'type' = 'debtor.access_answered'"))]
        key = await Vault.from_settings(platform.settings).key_of(s, "banco", ana)
    assert isinstance(answered, DebtorAccessAnswered) and answered.part is not None and key is not None
    assert (answered.access_id, answered.service) == (request.access_id, "payments")
    assert ANA["name"] not in answered.part and ANA["id"] not in answered.part  # sealed on the topic
    held = open_part(key, "banco", ana, answered.part).records
    assert answered.records == len(held)
    found = sorted((r.kind, r.account_ref, tuple(sorted(r.values.items()))) for r in held)
    assert found == sorted([
        # ANA-OLD, placed before #19, keeps her id number (reporting names it once announced as hers).
        ("account", "ANA-OLD", (("id_number", ANA["id"]),)),
        # What she paid by her id number and waits in suspense (before and after she was placed).
        ("payment", None, (("payer_id_number", ANA["id"]),)),
        ("payment", None, (("payer_id_number", "1.020.304.050"),)),
        ("reversal_reason", "ANA-2", (("reason", f"devuelto a {ANA['name']}, cédula {ANA['id']}"),)),
        ("write_off_note", "ANA-1", (("note", f"{ANA['name']} sin empleo, llamar al {ANA['phone']}"),
                                     ("reversal_reason", f"{ANA['name']} (cédula {ANA['id']}) retomó los pagos"))),
    ])
    assert not any(BOB["name"] in v or BOB["id"] in v for r in held for v in r.values.values())
