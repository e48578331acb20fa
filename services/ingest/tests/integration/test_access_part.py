"""Ingest's part of an access request (debtor.access_requested): every record of the person's data it holds, the
same rows an erasure reaches (their accounts as the file stated them, the rejected rows and warnings whose cells
name them in any spelling, the first row of a file sent without its header row), sealed with their key; another
person's rows stay out (real HTTP API for the uploads, real PostgreSQL, ingest's consumer)."""

import uuid

import pytest
from sqlalchemy import text

from ingest.consumers import subscriptions
from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import DebtorAccessAnswered, DebtorAccessRequested, Envelope, decode
from recaudo_common.personal_data import open_part

from .test_personal_data_erasure import ANA, FILE, LUIS, NOW, Ingest, ingest  # noqa: F401 (the fixture)

pytestmark = pytest.mark.integration


async def test_ingest_answers_every_record_of_the_person_sealed(ingest: Ingest) -> None:  # noqa: F811 (the fixture)
    done = await ingest.upload(FILE)
    assert (done["rows_accepted"], done["rows_rejected"], done["rows_with_warnings"]) == (4, 4, 1), done
    headless = await ingest.http.post("/v1/clients/banco/portfolios", files={"file": ("c.csv", "\n".join(
        FILE.splitlines()[1:3]).encode())})
    assert headless.status_code == 422, headless.text
    held_here = await ingest.dump()
    ana = await ingest.debtor_ref("A-1")

    request = DebtorAccessRequested(access_id=uuid.uuid4(), debtor_ref=ana, account_refs=["A-1", "A-2", "A-6"],
                                    requested_at=NOW)
    envelope = request.envelope(client="banco", occurred_at=NOW)
    platform = ingest.platform
    runtime = ConsumerRuntime(platform.db, platform.transport, subscriptions(ingest.vault), "t", lambda: NOW)
    assert await runtime.handle_batch([Message("t.debtor", envelope.key, envelope, {})]) == ["processed"]

    async with platform.db.transaction() as s:
        [answered] = [decode(Envelope.model_validate(r[0])) for r in await s.execute(text(
            "SELECT envelope FROM ingest.outbox WHERE envelope->>'type' = 'debtor.access_answered'"))]
        key = await ingest.vault.key_of(s, "banco", ana)
    assert isinstance(answered, DebtorAccessAnswered) and answered.part is not None and key is not None
    assert (answered.access_id, answered.service) == (request.access_id, "ingest")
    assert "Ana" not in answered.part and "1020304050" not in answered.part  # sealed on the topic
    records = open_part(key, "banco", ana, answered.part).records
    assert answered.records == len(records)
    assert sorted((r.kind, r.account_ref) for r in records) == [
        ("account", "A-1"), ("account", "A-2"), ("account", "A-6"),
        ("refused_upload_first_row", None), ("rejected_row", None), ("rejected_row", None),
        ("row_with_warning", None), ("row_with_warning", None)]  # A-6's two warnings, each with her row
    [a1] = [r for r in records if r.account_ref == "A-1"]
    assert a1.values["full_name"] == "Ana Pérez" and a1.values["extra: Asesor"] == "Marta"
    assert all(r.where and r.where.startswith("upload ") for r in records if r.kind != "account")
    shown = " ".join(v for r in records for v in r.values.values())
    for spelling in ANA:  # every spelling of her that ingest holds, the answer shows
        assert spelling not in held_here or spelling in shown, spelling
    for spelling in LUIS:
        assert spelling not in shown, spelling
