"""Outreach's subscriptions: contact data, treatments and everything that must stop contact (planning), the
answers to the debtor page's arrangement requests and the client companies' ways to pay (debtor_page), the promises
and arrangements that hold an account's collection contacts while they stand (holds), the
checkouts' outcomes confirmed to the debtor (confirmations), and a person's erasure, requested and completed,
their access request, and the pseudonyms of accounts placed before #19 (erasure). Account events carry the
debtor's data sealed: their handlers open it with the vault main.py builds once per process."""

import secrets
from functools import partial

from outreach.confirmations import on_checkout_updated
from outreach.debtor_page.checkout import on_methods_available
from outreach.debtor_page.handlers import on_arrangement_answer
from outreach.debtor_page.plans import on_arrangement_decided
from outreach.erasure.access import on_access_requested
from outreach.erasure.handlers import on_erased, on_erasure_requested, on_pseudonymised
from outreach.holds import on_promise
from outreach.planning.handlers import (
    on_accounts_stated,
    on_contact_rectified,
    on_payment,
    on_payments,
    on_recalled,
    on_recalls,
    on_segmented,
    on_segmented_many,
    on_settled,
)
from outreach.store import SCHEMA
from recaudo_common.bus.consumer import HandlerContext, Subscriptions
from recaudo_common.client_copy import client_copy_handlers
from recaudo_common.events import (
    AccountContactRectified,
    AccountPlaced,
    AccountPseudonymised,
    AccountRecalled,
    AccountSegmented,
    AccountSettled,
    AccountUpdated,
    ArrangementBroken,
    ArrangementDeclined,
    ArrangementKept,
    ArrangementMade,
    CheckoutUpdated,
    DebtorAccessRequested,
    DebtorErased,
    DebtorErasureRequested,
    PaymentAdjusted,
    PaymentApplied,
    PaymentMethodsAvailable,
    PaymentReversed,
    PaymentWriteOffReversed,
    PaymentWrittenOff,
    PromiseBroken,
    PromiseCancelled,
    PromiseKept,
    PromiseMade,
    PromiseReopened,
)
from recaudo_common.personal_data import MasterKeyring, Vault


def subscriptions(vault: Vault) -> Subscriptions:
    """Outreach's consumer, opening personal data with `vault`."""

    async def on_account_stated(event: AccountPlaced | AccountUpdated, ctx: HandlerContext) -> None:
        await on_accounts_stated([(event, ctx)], vault=vault)

    async def on_accounts_stated_many(events: list[tuple[AccountPlaced | AccountUpdated, HandlerContext]]) -> None:
        await on_accounts_stated(events, vault=vault)

    async def on_rectified(event: AccountContactRectified, ctx: HandlerContext) -> None:
        await on_contact_rectified(event, ctx, vault=vault)

    return Subscriptions(
        consumer="outreach", schema=SCHEMA,
        handlers={
            **client_copy_handlers(SCHEMA),
            AccountPlaced: on_account_stated,
            AccountUpdated: on_account_stated,
            AccountContactRectified: on_rectified,
            AccountSegmented: on_segmented,
            AccountRecalled: on_recalled,
            AccountSettled: on_settled,
            PaymentApplied: on_payment,
            PaymentReversed: on_payment,
            PaymentWrittenOff: on_payment,
            PaymentWriteOffReversed: on_payment,
            PaymentAdjusted: on_payment,  # a restated balance: the ledger's status and balance after its adjustment
            PaymentMethodsAvailable: on_methods_available,
            CheckoutUpdated: on_checkout_updated,
            ArrangementMade: on_arrangement_answer,
            ArrangementDeclined: on_arrangement_answer,
            ArrangementKept: on_arrangement_decided,
            ArrangementBroken: on_arrangement_decided,
            PromiseMade: on_promise,  # a pending promise holds its account's collection contacts (holds.py)
            PromiseKept: on_promise,
            PromiseBroken: on_promise,
            PromiseCancelled: on_promise,
            PromiseReopened: on_promise,
            DebtorErasureRequested: on_erasure_requested,
            DebtorErased: on_erased,
            DebtorAccessRequested: partial(on_access_requested, vault=vault),
            AccountPseudonymised: on_pseudonymised,
        },
        batch_handlers={
            AccountPlaced: on_accounts_stated_many,
            AccountUpdated: on_accounts_stated_many,
            AccountSegmented: on_segmented_many,
            PaymentApplied: on_payments,
            PaymentReversed: on_payments,
            PaymentWrittenOff: on_payments,
            PaymentWriteOffReversed: on_payments,
            PaymentAdjusted: on_payments,
            AccountRecalled: on_recalls,
        },
    )


# What outreach consumes, for the event catalogue. Its vault holds a throwaway master key that unwraps no one's
# key (a placement through it fails loudly): main.build wires subscriptions() with the platform's vault.
SUBSCRIPTIONS = subscriptions(Vault(MasterKeyring(secrets.token_bytes(32))))
