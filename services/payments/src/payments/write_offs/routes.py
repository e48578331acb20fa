"""The write-off routes: an operator writes an account off with a reason, or reverses its write-off (#22)."""

from __future__ import annotations

from fastapi import APIRouter

from payments.api import ClientOfOperator, IdempotencyKey, VaultDep
from payments.write_offs import handlers
from payments.write_offs.schemas import WriteOffIn, WriteOffOut, WriteOffReversalIn, WriteOffReversalOut
from recaudo_common.dependencies import PlatformDep
from recaudo_common.routing import AuthorisedFirstRoute

router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1", tags=["payments"])


@router.post("/clients/{slug}/accounts/{account_ref}/write-off", response_model=WriteOffOut,
             responses={409: {"description": "account_not_open, account_recalled, arrangement_active or "
                                             "idempotency_key_reused"},
                        422: {"description": "invalid_amount, amount_not_in_minor_units (more decimals than the "
                                             "currency has), write_off_exceeds_balance, or a reason not in the set"}})
async def write_off(account_ref: str, body: WriteOffIn, client: ClientOfOperator, platform: PlatformDep,
                    idempotency_key: IdempotencyKey, vault: VaultDep) -> WriteOffOut:
    """Writes off `amount` (all that is left to pay when absent) with a `write_off` ledger entry: the account is
    `written_off` once nothing is left to pay. A payment after it is still applied, and recovers written-off money
    before any credit."""
    return await handlers.write_off_by_operator(platform.db, keys=vault.keyring.all, client=client.slug,
                                                account_ref=account_ref, idempotency_key=idempotency_key,
                                                request=body, now=platform.clock())


@router.post("/clients/{slug}/accounts/{account_ref}/write-off/reversal", response_model=WriteOffReversalOut,
             responses={409: {"description": "nothing_written_off, account_not_open or idempotency_key_reused"}})
async def reverse_write_off(account_ref: str, body: WriteOffReversalIn, client: ClientOfOperator,
                            platform: PlatformDep, idempotency_key: IdempotencyKey,
                            vault: VaultDep) -> WriteOffReversalOut:
    """The written-off money not recovered is owed again and the account open again (what was recovered stays
    paid)."""
    return await handlers.reverse_by_operator(platform.db, keys=vault.keyring.all, client=client.slug,
                                              account_ref=account_ref, idempotency_key=idempotency_key,
                                              reason=body.reason, now=platform.clock())
