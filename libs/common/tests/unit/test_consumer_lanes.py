"""A consumer's lanes (#24): families read by a consumer group of their own, every handler in exactly one group,
the inbox the consumer's in all of them."""

import dataclasses

import pytest

from recaudo_common.bus.consumer import HandlerContext, Subscriptions
from recaudo_common.events import AccountPlaced, AccountRecalled, PaymentApplied, PaymentReversed

pytestmark = pytest.mark.unit


async def on_account(event: AccountPlaced | AccountRecalled, ctx: HandlerContext) -> None: ...
async def on_payment(event: PaymentApplied | PaymentReversed, ctx: HandlerContext) -> None: ...
async def on_placed_many(events: list[tuple[AccountPlaced, HandlerContext]]) -> None: ...


def consumer(**lanes: frozenset[str]) -> Subscriptions:
    return Subscriptions(consumer="reports", schema="reports",
                         handlers={AccountPlaced: on_account, AccountRecalled: on_account,
                                   PaymentApplied: on_payment, PaymentReversed: on_payment},
                         batch_handlers={AccountPlaced: on_placed_many}, in_order=frozenset({AccountPlaced}),
                         lanes=dict(lanes))


def test_without_lanes_a_consumer_is_one_group_of_its_own_name() -> None:
    whole = consumer()
    assert whole.by_group() == [whole]
    assert whole.group_name == "reports"


def test_a_lane_takes_its_families_out_of_the_consumers_group() -> None:
    accounts, payments = consumer(payments=frozenset({"payment"})).by_group()
    assert (accounts.group_name, accounts.families(), set(accounts.handlers)) == (
        "reports", ["account"], {AccountPlaced, AccountRecalled})
    assert (payments.group_name, payments.families(), set(payments.handlers)) == (
        "reports-payments", ["payment"], {PaymentApplied, PaymentReversed})
    assert accounts.batch_handlers == {AccountPlaced: on_placed_many} and payments.batch_handlers == {}
    assert accounts.in_order == {AccountPlaced} and payments.in_order == frozenset()
    assert accounts.consumer == payments.consumer == "reports"  # one inbox: an event applies once in either
    assert payments.topics("recaudo") == ["recaudo.payment"]
    assert not payments.lanes and not accounts.lanes


def test_a_lane_of_a_family_the_consumer_does_not_read_is_refused() -> None:
    with pytest.raises(ValueError, match="contact"):
        consumer(contacts=frozenset({"contact"}))


def test_each_group_takes_its_batches_locks_as_the_consumer_does() -> None:
    async def locks(session: object, events: object) -> None: ...

    laned = dataclasses.replace(consumer(payments=frozenset({"payment"})), batch_locks=locks)
    assert [group.batch_locks for group in laned.by_group()] == [locks, locks]
