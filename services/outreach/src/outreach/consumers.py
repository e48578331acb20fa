"""Outreach's subscriptions: contact data, treatments and everything that must stop contact (planning), and
the answers to the debtor page's arrangement requests (debtor_page)."""

from outreach.debtor_page.handlers import on_arrangement_answer
from outreach.planning.handlers import (
    on_account_stated,
    on_accounts_stated,
    on_payment,
    on_recalled,
    on_segmented,
    on_segmented_many,
    on_settled,
)
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
        AccountPlaced: on_account_stated,
        AccountUpdated: on_account_stated,
        AccountSegmented: on_segmented,
        AccountRecalled: on_recalled,
        AccountSettled: on_settled,
        PaymentApplied: on_payment,
        PaymentReversed: on_payment,
        ArrangementMade: on_arrangement_answer,
        ArrangementDeclined: on_arrangement_answer,
    },
    batch_handlers={
        AccountPlaced: on_accounts_stated,
        AccountUpdated: on_accounts_stated,
        AccountSegmented: on_segmented_many,
    },
)
