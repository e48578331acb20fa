"""Payments' subscriptions: placements open ledgers, restatements adjust them, recalls mark them, promises
are kept or broken here, and the debtor page's arrangement requests are made or declined."""

from payments import handlers
from payments.promises import handlers as promises
from payments.store import SCHEMA
from recaudo_common.bus.consumer import Subscriptions
from recaudo_common.client_copy import client_copy_handlers
from recaudo_common.events import AccountPlaced, AccountRecalled, AccountUpdated, ArrangementRequested, PromiseMade

SUBSCRIPTIONS = Subscriptions(
    consumer="payments", schema=SCHEMA,
    handlers={
        **client_copy_handlers(SCHEMA),
        AccountPlaced: handlers.on_account_placed,
        AccountUpdated: handlers.on_account_updated,
        AccountRecalled: handlers.on_account_recalled,
        PromiseMade: promises.on_promise_made,
        ArrangementRequested: promises.on_arrangement_requested,
    },
    batch_handlers={AccountPlaced: handlers.on_accounts_placed},
)
