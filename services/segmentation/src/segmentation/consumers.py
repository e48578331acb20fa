"""Segmentation's subscriptions: which events move an account's segment, and which it keeps as the account's history."""

from recaudo_common.bus.consumer import Subscriptions
from recaudo_common.client_copy import client_copy_handlers
from recaudo_common.events import (
    AccountLegalHoldLifted,
    AccountLegalHoldSet,
    AccountPlaced,
    AccountRecalled,
    AccountSettled,
    AccountUpdated,
    ArrangementBroken,
    ArrangementKept,
    ArrangementMade,
    ContactDelivered,
    ContactFailed,
    ContactLogged,
    ContactOptedOut,
    ContactReplied,
    PaymentAdjusted,
    PaymentApplied,
    PaymentReversed,
    PaymentWriteOffReversed,
    PaymentWrittenOff,
    PromiseBroken,
    PromiseKept,
    PromiseMade,
    PromiseReopened,
)
from segmentation import account_locks, handlers, modelling
from segmentation.store import SCHEMA

SUBSCRIPTIONS = Subscriptions(
    consumer="segmentation", schema=SCHEMA,
    handlers={
        **client_copy_handlers(SCHEMA, after=handlers.on_client),
        AccountPlaced: handlers.on_account_stated,
        AccountUpdated: handlers.on_account_stated,
        AccountRecalled: handlers.on_recalled,
        AccountSettled: handlers.on_settled,
        PaymentApplied: handlers.on_payment,
        PaymentReversed: handlers.on_payment,
        PaymentWrittenOff: handlers.on_payment,
        PaymentWriteOffReversed: handlers.on_payment,
        PaymentAdjusted: handlers.on_payment,  # a restated balance: the ledger's word after its adjustment
        PromiseMade: handlers.on_promise,
        PromiseBroken: handlers.on_promise,
        # The history the propensity model and the indicators read (#22): kept, not segmented on arrival.
        PromiseKept: modelling.on_history_fact,
        PromiseReopened: modelling.on_history_fact,  # undoes its promise.kept in the history
        ContactDelivered: modelling.on_history_fact,
        ContactFailed: modelling.on_history_fact,
        ContactLogged: modelling.on_history_fact,
        ContactOptedOut: modelling.on_history_fact,
        ContactReplied: modelling.on_history_fact,
        ArrangementMade: handlers.on_arrangement,
        ArrangementKept: handlers.on_arrangement,
        ArrangementBroken: handlers.on_arrangement,
        AccountLegalHoldSet: handlers.on_legal_hold,
        AccountLegalHoldLifted: handlers.on_legal_hold,
    },
    batch_handlers={
        AccountPlaced: handlers.on_accounts_stated,
        AccountUpdated: handlers.on_accounts_stated,
        PaymentApplied: handlers.on_payments,
        PaymentReversed: handlers.on_payments,
        PaymentWrittenOff: handlers.on_payments,
        PaymentWriteOffReversed: handlers.on_payments,
        PaymentAdjusted: handlers.on_payments,
        AccountRecalled: handlers.on_recalls,
        PromiseKept: modelling.on_history_facts,
        PromiseReopened: modelling.on_history_facts,
        ContactDelivered: modelling.on_history_facts,
        ContactFailed: modelling.on_history_facts,
        ContactLogged: modelling.on_history_facts,
        ContactOptedOut: modelling.on_history_facts,
        ContactReplied: modelling.on_history_facts,
    },
    # Histories keep their run's facts in order, so an account's delivery and its reply may share a run.
    in_order=frozenset({PromiseKept, PromiseReopened, ContactDelivered, ContactFailed, ContactLogged, ContactOptedOut,
                        ContactReplied}),
    # Contacts in a consumer group of their own (#24): a large portfolio makes tens of thousands of contact events
    # (consents recorded at placement, then its campaign's), and another company's new accounts must not wait
    # behind them to be segmented.
    lanes={"contacts": frozenset({ContactDelivered.family})},
    batch_locks=account_locks.lock_batch,
)
