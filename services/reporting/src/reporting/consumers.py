"""Reporting's subscriptions: everything that moves a number in a report."""

from recaudo_common.bus.consumer import Subscriptions
from recaudo_common.client_copy import client_copy_handlers
from recaudo_common.events import (
    AccountPlaced,
    AccountRecalled,
    AccountSegmented,
    ArrangementBroken,
    ArrangementKept,
    ArrangementMade,
    ContactAttempted,
    ContactDelivered,
    ContactFailed,
    ContactLogged,
    PaymentApplied,
    PaymentReversed,
    PromiseBroken,
    PromiseCancelled,
    PromiseKept,
    PromiseMade,
)
from reporting import handlers
from reporting.store import SCHEMA

SUBSCRIPTIONS = Subscriptions(
    consumer="reporting", schema=SCHEMA,
    handlers={
        **client_copy_handlers(SCHEMA),
        AccountPlaced: handlers.on_placed,
        AccountSegmented: handlers.on_segmented,
        AccountRecalled: handlers.on_recalled,
        PaymentApplied: handlers.on_payment_applied,
        PaymentReversed: handlers.on_payment_reversed,
        ContactAttempted: handlers.on_contact,
        ContactDelivered: handlers.on_contact,
        ContactFailed: handlers.on_contact,
        ContactLogged: handlers.on_contact,
        PromiseMade: handlers.on_promise,
        PromiseKept: handlers.on_promise,
        PromiseBroken: handlers.on_promise,
        PromiseCancelled: handlers.on_promise,
        ArrangementMade: handlers.on_arrangement,
        ArrangementKept: handlers.on_arrangement,
        ArrangementBroken: handlers.on_arrangement,
    },
    batch_handlers={
        AccountPlaced: handlers.on_placed_many,
        AccountSegmented: handlers.on_segmented_many,
    },
)
