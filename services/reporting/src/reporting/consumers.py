"""Reporting's subscriptions: everything that moves a number in a report, each handler under the event types
its signature takes; what an access request shows (privacy.copies); and reporting's part in an erasure
(privacy.handlers.ErasureSaga), which shreds with the process's vault."""

from __future__ import annotations

import types
import typing

from recaudo_common.bus.consumer import Handler, Subscriptions
from recaudo_common.client_copy import client_copy_handlers
from recaudo_common.events import (
    AccountPlaced,
    AccountRecalled,
    AccountSegmented,
    AccountUpdated,
    ContactAttempted,
    ContactConsentRecorded,
    ContactConsentsRecorded,
    ContactDelivered,
    ContactFailed,
    ContactLogged,
    ContactWithdrawn,
    Event,
    PaymentApplied,
)
from recaudo_common.personal_data import MasterKeyring, Vault
from recaudo_common.settings import DEV_VAULT_MASTER_KEY
from reporting import handlers
from reporting.best_times.handlers import on_best_times_learned
from reporting.privacy import copies
from reporting.privacy.access import on_access_answered
from reporting.privacy.handlers import ErasureSaga
from reporting.store import SCHEMA
from reporting.write_offs import on_write_off_recovered, on_written_off


def by_event_type(*event_handlers: Handler) -> dict[type[Event], Handler]:
    """Each handler registered for the event type its `event` parameter names, or each type of a union."""
    registered: dict[type[Event], Handler] = {}
    for handler in event_handlers:
        taken = typing.get_type_hints(handler)["event"]
        for event_type in typing.get_args(taken) if isinstance(taken, types.UnionType) else (taken,):
            registered[event_type] = handler
    return registered


CONTACTS = (ContactAttempted, ContactDelivered, ContactFailed, ContactLogged, ContactWithdrawn)


def subscriptions(vault: Vault) -> Subscriptions:
    """Reporting's consumer, its erasure saga shredding with `vault` (main.build gives the process's one)."""
    saga = ErasureSaga(vault)
    return Subscriptions(
        consumer="reporting", schema=SCHEMA,
        handlers={
            **client_copy_handlers(SCHEMA, after=handlers.on_client),
            **by_event_type(handlers.on_placed, handlers.on_segmented, handlers.on_recalled,
                            handlers.on_payment_applied, handlers.on_payment_reversed, handlers.on_payment_adjusted,
                            handlers.on_contact, handlers.on_promise, handlers.on_arrangement, copies.on_updated,
                            copies.on_rectified,
                            copies.on_pseudonymised, copies.on_hold, copies.on_consent, copies.on_account_consents,
                            saga.on_confirmed, saga.on_refused, saga.on_erased, on_access_answered,
                            on_best_times_learned, on_written_off, on_write_off_recovered),
        },
        batch_handlers={
            AccountPlaced: handlers.on_placed_many,
            AccountSegmented: handlers.on_segmented_many,
            AccountRecalled: handlers.on_recalled_many,
            AccountUpdated: copies.on_updated_many,
            PaymentApplied: handlers.on_payments_applied_many,
            ContactConsentRecorded: copies.on_consents,
            ContactConsentsRecorded: copies.on_account_consents_many,
            **dict.fromkeys(CONTACTS, handlers.on_contacts_many),
        },
        # Contacts: one statement per event, pipelined (an attempt and its delivery in one run). Payments: each
        # account's latest in the run is its word (store.record_payments), so an account's payments share one.
        in_order=frozenset({*CONTACTS, PaymentApplied}),
        # Payments in a group of their own: a payment reaches the report within a second while a bulk upload's
        # account events wait in the other group (#24). The two groups meet only on an account's balance and
        # status, which both write under the client company's lock (store.hold_ledger). Contacts too: each placed
        # account makes outreach record its consents (one event) and its campaign two more, tens of thousands during
        # a large upload, and another company's new accounts must not wait behind them.
        lanes={"payments": frozenset({PaymentApplied.family}), "contacts": frozenset({ContactAttempted.family})},
    )


# What reporting consumes, for the event catalogue and for tests that drive the read models. Its saga only
# shreds, which needs no master key; the running service's subscriptions come from main.build.
SUBSCRIPTIONS = subscriptions(Vault(MasterKeyring.from_text(DEV_VAULT_MASTER_KEY)))
