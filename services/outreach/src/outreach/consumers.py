"""Outreach's subscriptions: contact data, treatments, everything that must stop contact, and the answers to
the debtor page's arrangement requests."""

from outreach import handlers
from outreach.store import SCHEMA
from recaudo_common.bus.consumer import Subscriptions
from recaudo_common.client_copy import client_copy_handlers
from recaudo_common.events import (
    AccountPlaced,
    AccountRecalled,
    AccountSegmented,
    AccountSettled,
    AccountUpdated,
    ArrangementDeclined,
    ArrangementMade,
    PaymentApplied,
    PaymentReversed,
)

SUBSCRIPTIONS = Subscriptions(
    consumer="outreach", schema=SCHEMA,
    handlers={
        **client_copy_handlers(SCHEMA),
        AccountPlaced: handlers.on_account_stated,
        AccountUpdated: handlers.on_account_stated,
        AccountSegmented: handlers.on_segmented,
        AccountRecalled: handlers.on_recalled,
        AccountSettled: handlers.on_settled,
        PaymentApplied: handlers.on_payment,
        PaymentReversed: handlers.on_payment,
        ArrangementMade: handlers.on_arrangement_answer,
        ArrangementDeclined: handlers.on_arrangement_answer,
    },
    batch_handlers={
        AccountPlaced: handlers.on_accounts_stated,
        AccountUpdated: handlers.on_accounts_stated,
        AccountSegmented: handlers.on_segmented_many,
    },
)
