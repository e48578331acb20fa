"""What tests of consumers share: a platform on the embedded transport, and a batch applied as the consumer's fast
path applies it (a pytest plugin, with recaudo_common.testing: conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime, HandlerContext
from recaudo_common.events import AccountPlaced
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import settings_for_test


@pytest.fixture
async def platform_on_postgres(database_url: str) -> AsyncIterator[Platform]:
    """A platform on a fresh database and the embedded (postgres) transport, for one test."""
    platform = make_platform(settings_for_test(database_url), pool_size=2)
    yield platform
    await platform.db.dispose()


async def applied_together(runtime: ConsumerRuntime, messages: list[Message]) -> None:
    """The messages applied as one fetched batch in one transaction, as the consumer's fast path applies it: fails
    when the batch would have fallen back to one event at a time (which would hide a failing batch handler)."""
    assert await runtime._apply_all(messages) == ["processed"] * len(messages)


class Recorder:
    """A consumer of account.placed whose effect is a row per event it applies, in reporting.payments (so a second
    application would show), failing the first `fail_times` times it is called."""

    def __init__(self, fail_times: int = 0) -> None:
        self.fail_times = fail_times

    async def handle(self, event: AccountPlaced, ctx: HandlerContext) -> None:
        if self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("simulated handler failure")
        await ctx.session.execute(
            text("INSERT INTO reporting.payments (payment_id, client_slug, account_ref, amount, paid_at, applied_at)"
                 " VALUES (:p, :c, :r, :a, :t, :t)"),
            {"p": uuid.uuid4(), "c": ctx.envelope.client, "r": event.account_ref, "a": event.balance, "t": ctx.now})
