"""Payments' subscriptions: placements open ledgers, restatements adjust them, recalls mark them, promises
are kept or broken here, the debtor page's arrangement requests are made or declined, what the strategy does not
pursue is remembered for the client company's write-off rules (write_offs.strategy), an account placed before
#19 trades the id number it kept for its debtor's pseudonym, and a person's erasure (proposed, checked against the
ledger first; and again once completed) erases their data here; an access request gets what it holds of them. The
vault main.build wires finds people by their id number."""

import secrets
from functools import partial

from payments import handlers
from payments.erasure import access
from payments.erasure import handlers as erasure
from payments.promises import handlers as promises
from payments.store import SCHEMA
from payments.write_offs import strategy as write_offs
from recaudo_common.bus.consumer import Subscriptions
from recaudo_common.client_copy import client_copy_handlers
from recaudo_common.events import (
    AccountPlaced,
    AccountPseudonymised,
    AccountRecalled,
    AccountSegmented,
    AccountUpdated,
    ArrangementRequested,
    DebtorAccessRequested,
    DebtorErased,
    DebtorErasureProposed,
    DebtorErasureRequested,
    PromiseMade,
)
from recaudo_common.personal_data import MasterKeyring, Vault


def subscriptions(vault: Vault) -> Subscriptions:
    """Payments' consumer, finding people (and opening an old event's debtor) with `vault`."""
    return Subscriptions(
        consumer="payments", schema=SCHEMA,
        handlers={
            **client_copy_handlers(SCHEMA, after=write_offs.on_client),
            AccountSegmented: write_offs.on_segmented,
            AccountPlaced: partial(handlers.on_account_placed, vault=vault),
            AccountUpdated: partial(handlers.on_account_updated, vault=vault),
            AccountRecalled: handlers.on_account_recalled,
            PromiseMade: promises.on_promise_made,
            ArrangementRequested: promises.on_arrangement_requested,
            DebtorErasureProposed: partial(erasure.on_erasure_proposed, vault=vault),
            DebtorErasureRequested: partial(erasure.on_erasure_proposed, vault=vault),
            DebtorErased: partial(erasure.on_erased, vault=vault),
            DebtorAccessRequested: partial(access.on_access_requested, vault=vault),
            AccountPseudonymised: handlers.on_account_pseudonymised,
        },
        batch_handlers={AccountPlaced: partial(handlers.on_accounts_placed, vault=vault),
                        AccountUpdated: partial(handlers.on_accounts_updated, vault=vault),
                        AccountRecalled: handlers.on_accounts_recalled,
                        AccountSegmented: write_offs.on_segmented_many},
    )


# What payments consumes, for readers of its wiring (the event catalogue), never to run: its vault's master key
# is a throwaway of its own, so it opens no one's data (reading a person's key fails loudly). main.build runs
# subscriptions() with the platform's vault.
SUBSCRIPTIONS = subscriptions(Vault(MasterKeyring(secrets.token_bytes(32))))
