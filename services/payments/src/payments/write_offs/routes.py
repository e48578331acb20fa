"""The write-off route: an operator writes an account off with a reason (#22)."""

from __future__ import annotations

from fastapi import APIRouter

from payments.api import ClientOfOperator, IdempotencyKey
from payments.write_offs import handlers
from payments.write_offs.schemas import WriteOffIn, WriteOffOut
from recaudo_common.dependencies import PlatformDep

router = APIRouter(prefix="/v1", tags=["payments"])


@router.post("/clients/{slug}/accounts/{account_ref}/write-off", response_model=WriteOffOut,
             responses={409: {"description": "account_not_open, account_recalled, arrangement_active or "
                                             "idempotency_key_reused"},
                        422: {"description": "invalid_amount, write_off_exceeds_balance, or a reason not in the set"}})
async def write_off(account_ref: str, body: WriteOffIn, client: ClientOfOperator, platform: PlatformDep,
                    idempotency_key: IdempotencyKey) -> WriteOffOut:
    """Writes off `amount` (all that is left to pay when absent) with a `write_off` ledger entry: the account is
    `written_off` once nothing is left to pay. A payment after it is still applied, and recovers written-off money
    before any credit."""
    return await handlers.write_off_by_operator(platform.db, client=client.slug, account_ref=account_ref,
                                                idempotency_key=idempotency_key, request=body, now=platform.clock())
