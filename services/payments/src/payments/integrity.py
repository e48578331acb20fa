"""Telling a true duplicate from any other refusal by the database: only the unique indexes that say "this gateway
payment, refund or bank file was already recorded" mean duplicate; a passing failure is retried; anything else
fails loudly (NotRecorded, a 5xx problem, so a gateway delivers again), and the payment is never silently dropped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError

from recaudo_common.db import exception_chain, is_transient
from recaudo_common.domain_errors import NotRecorded

log = logging.getLogger("recaudo.payments")
T = TypeVar("T")

# The unique indexes whose violation means another delivery of the same thing committed first: running the
# transaction again finds it and answers `duplicate` (same content) or a conflict (another content).
RACE_LOST = frozenset({"payments_gateway_once", "reversals_gateway_once", "bank_files_client_slug_content_sha256_key"})
ATTEMPTS = 3


def violated_constraint(exc: BaseException) -> str | None:
    for current in exception_chain(exc):
        name = getattr(current, "constraint_name", None)
        if isinstance(name, str):
            return name
    return None


def not_recorded(exc: BaseException) -> NotRecorded:
    """The answer to a payment the database refused for a reason that is not a duplicate. Only the constraint's
    name and SQLSTATE are logged: the driver's message quotes the row, which carries personal data."""
    constraint = violated_constraint(exc)
    state = next((str(code) for c in exception_chain(exc) if (code := getattr(c, "sqlstate", None))), None)
    log.error("payment refused by the database", extra={"fields": {"constraint": constraint, "sqlstate": state}})
    return NotRecorded("payment_not_recorded",
                       f"the database refused it ({constraint or state or 'integrity error'}); nothing was applied, "
                       "and sending it again is safe", title="Payment not recorded")


async def recorded_once(transaction: Callable[[], Awaitable[T]]) -> T:
    """Runs `transaction` (one database transaction that records a payment), again when it lost a race to a
    concurrent delivery of the same payment or met a passing failure; any other integrity error is raised as
    `payment_not_recorded`."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await transaction()
        except IntegrityError as exc:
            if violated_constraint(exc) not in RACE_LOST or attempt == ATTEMPTS:
                raise not_recorded(exc) from exc
        except Exception as exc:
            if not is_transient(exc) or attempt == ATTEMPTS:
                raise
            await asyncio.sleep(0.05 * attempt)  # a serialization failure or deadlock: back off a little
    raise AssertionError("unreachable")  # pragma: no cover
