"""What payments keeps to tell a redelivery or a retry from another request is keyed: a row's fingerprint does not
give back the payer's id number to someone with the table, yet a redelivery is still a duplicate and another request
under the same id or Idempotency-Key still a conflict, after a master key rotation and for rows recorded before
fingerprints were keyed."""

import base64
import contextlib
import hashlib
import os
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from payments.domain.fingerprints import canonical
from payments.main import build
from payments.schemas import ManualPaymentIn
from payments.settings import PaymentsSettings
from recaudo_common.runtime import build_app, make_platform
from recaudo_common.settings import DEV_VAULT_MASTER_KEY
from recaudo_common.testing import settings_for_test

from .conftest import NOW, Gateway, payment

pytestmark = pytest.mark.integration

ID_NUMBER = "1020304050"
BY_ID = {"debtor_id": ID_NUMBER, "amount": "3000.00", "paid_at": NOW.isoformat()}


def new_master_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@contextlib.asynccontextmanager
async def payments_under(database_url: str, settings: PaymentsSettings, *, master_key: str,
                         previous: tuple[str, ...]) -> AsyncIterator[Gateway]:
    """Payments' API on the same database under another keyring (a rotation, or an old key retired)."""
    platform_settings = settings_for_test(database_url).model_copy(update={
        "vault_master_key": master_key, "vault_previous_master_keys": previous})
    platform = make_platform(platform_settings, pool_size=4, clock=lambda: NOW)
    app = build_app(platform, [build(platform, settings)])
    _, operator = await platform.keys.create(role="operator", now=NOW)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            yield Gateway(platform, http, operator)
    finally:
        await platform.db.dispose()


async def column(gateway: Gateway, query: str, **params: Any) -> Any:
    async with gateway.platform.db.transaction() as s:
        return await s.scalar(text(query), params)


async def statuses(gateway: Gateway, *sent: dict[str, Any]) -> list[Any]:
    answers = [await gateway.send(body) for body in sent]
    return [a.json()["code"] if a.is_error else a.json()["status"] for a in answers]


def plain_sha256(content: object) -> str:
    return hashlib.sha256(canonical(content)).hexdigest()


def said_by(body: dict[str, Any]) -> dict[str, Any]:
    """What webhooks.content_of fingerprints of a notification body."""
    return {"type": body.get("type", "payment"), "client": body["client"], "amount": body["amount"],
            "currency": body["currency"], "account_ref": body.get("account_ref"),
            "link_token": body.get("link_token"), "debtor_id": body.get("debtor_id"), "refers_to": None}


async def test_a_payment_naming_its_payer_keeps_a_keyed_fingerprint_and_redeliveries_still_compare(
        gateway: Gateway) -> None:
    sent = payment("k-1", debtor_id=ID_NUMBER, amount="30000.00")
    assert await statuses(gateway, sent) == ["applied"]
    kept = await column(gateway, "SELECT content_sha256 FROM payments.payments WHERE external_id = 'k-1'")
    assert re.fullmatch(r"k1:[0-9a-f]{16}:[0-9a-f]{64}", kept)
    # Trying every id number with SHA-256 over what the row says does not find it.
    assert plain_sha256(said_by(sent)) not in kept
    assert await statuses(gateway, sent, {**sent, "amount": "31000.00"}) == ["duplicate", "gateway_id_reused"]

    answer = await gateway.manual("key-by-id-1", BY_ID)
    kept = await column(gateway, "SELECT request_sha256 FROM payments.idempotency_keys WHERE key = 'key-by-id-1'")
    assert re.fullmatch(r"k1:[0-9a-f]{16}:[0-9a-f]{64}", kept)
    assert plain_sha256(ManualPaymentIn.model_validate(BY_ID).model_dump(mode="json")) != kept
    assert (await gateway.manual("key-by-id-1", BY_ID)).json() == answer.json()
    other = await gateway.manual("key-by-id-1", {**BY_ID, "debtor_id": "1020304051"})
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")


async def test_rows_recorded_before_fingerprints_were_keyed_still_tell_a_redelivery_from_another(
        gateway: Gateway) -> None:
    sent = payment("old-1", debtor_id=ID_NUMBER, amount="30000.00")
    assert await statuses(gateway, sent) == ["applied"]
    answer = await gateway.manual("old-key-1", BY_ID)
    async with gateway.platform.db.transaction() as s:  # as a row recorded by the code before this change
        await s.execute(text("UPDATE payments.payments SET content_sha256 = :h WHERE external_id = 'old-1'"),
                        {"h": plain_sha256(said_by(sent))})
        await s.execute(text("UPDATE payments.idempotency_keys SET request_sha256 = :h WHERE key = 'old-key-1'"),
                        {"h": plain_sha256(ManualPaymentIn.model_validate(BY_ID).model_dump(mode="json"))})
    assert await statuses(gateway, sent, {**sent, "amount": "1.00"}) == ["duplicate", "gateway_id_reused"]
    assert (await gateway.manual("old-key-1", BY_ID)).json() == answer.json()
    other = await gateway.manual("old-key-1", {**BY_ID, "amount": "3001.00"})
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")


async def test_after_a_master_key_rotation_redeliveries_and_retries_still_compare(
        gateway: Gateway, database_url: str, payments_settings: PaymentsSettings) -> None:
    sent = payment("rot-1", debtor_id=ID_NUMBER, amount="30000.00")
    assert await statuses(gateway, sent) == ["applied"]
    answer = await gateway.manual("rot-key-1", BY_ID)
    new = new_master_key()
    async with payments_under(database_url, payments_settings, master_key=new,
                              previous=(DEV_VAULT_MASTER_KEY,)) as rotated:
        assert await statuses(rotated, sent, {**sent, "amount": "1.00"}) == ["duplicate", "gateway_id_reused"]
        assert (await rotated.manual("rot-key-1", BY_ID)).json() == answer.json()
        other = await rotated.manual("rot-key-1", {**BY_ID, "amount": "3001.00"})
        assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
        # New rows are recorded under the new key.
        assert await statuses(rotated, payment("rot-2", debtor_id=ID_NUMBER, amount="100.00")) == ["applied"]
        kept = await column(rotated, "SELECT content_sha256 FROM payments.payments WHERE external_id = 'rot-2'")
        old = await column(rotated, "SELECT content_sha256 FROM payments.payments WHERE external_id = 'rot-1'")
        assert kept.split(":")[1] != old.split(":")[1]
    # Once the old key is retired, a row recorded under it tells nothing. A gateway's notification is decided by
    # its id alone, as for rows recorded before contents were fingerprinted at all: nothing is applied twice. An
    # Idempotency-Key is refused (answering as it answered could tell a client that another payment was booked).
    async with payments_under(database_url, payments_settings, master_key=new, previous=()) as retired:
        assert await statuses(retired, sent, {**sent, "amount": "1.00"}) == ["duplicate", "duplicate"]
        for body in (BY_ID, {**BY_ID, "amount": "3001.00"}):
            refused = await retired.manual("rot-key-1", body)
            assert (refused.status_code, refused.json()["code"]) == (409, "idempotency_key_unverifiable")
    assert await column(gateway, "SELECT count(*) FROM payments.payments WHERE external_id LIKE 'rot-%'") == 2
