"""Reporting's subscriptions: everything that moves a number in a report, each handler under the event types
its signature takes."""

from __future__ import annotations

import types
import typing

from recaudo_common.bus.consumer import Handler, Subscriptions
from recaudo_common.client_copy import client_copy_handlers
from recaudo_common.events import AccountPlaced, AccountSegmented, Event
from reporting import handlers
from reporting.store import SCHEMA


def by_event_type(*event_handlers: Handler) -> dict[type[Event], Handler]:
    """Each handler registered for the event type its `event` parameter names, or each type of a union."""
    registered: dict[type[Event], Handler] = {}
    for handler in event_handlers:
        taken = typing.get_type_hints(handler)["event"]
        for event_type in typing.get_args(taken) if isinstance(taken, types.UnionType) else (taken,):
            registered[event_type] = handler
    return registered


SUBSCRIPTIONS = Subscriptions(
    consumer="reporting", schema=SCHEMA,
    handlers={
        **client_copy_handlers(SCHEMA),
        **by_event_type(handlers.on_placed, handlers.on_segmented, handlers.on_recalled, handlers.on_payment_applied,
                        handlers.on_payment_reversed, handlers.on_contact, handlers.on_promise,
                        handlers.on_arrangement),
    },
    batch_handlers={
        AccountPlaced: handlers.on_placed_many,
        AccountSegmented: handlers.on_segmented_many,
    },
)
