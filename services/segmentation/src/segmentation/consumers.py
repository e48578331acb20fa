"""Segmentation's subscriptions: which events move an account's segment."""

from recaudo_common.bus.consumer import Subscriptions
from recaudo_common.client_copy import client_copy_handlers
from recaudo_common.events import (
    AccountPlaced,
    AccountRecalled,
    AccountSettled,
    AccountUpdated,
    PaymentApplied,
    PaymentReversed,
)
from segmentation import handlers
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
    },
)
