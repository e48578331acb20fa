"""Reporting's subscriptions: everything that moves a number in a report."""

from recaudo_common.bus.consumer import Subscriptions
from recaudo_common.client_copy import client_copy_handlers
from recaudo_common.events import AccountPlaced, AccountRecalled, AccountSegmented, PaymentApplied, PaymentReversed
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
    },
)
